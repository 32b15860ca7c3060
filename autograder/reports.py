"""``course feedback`` and ``course export``: per-student HTML feedback and the grade CSV.

Both read the results that ``course grade`` wrote (the course's ``autograded/<student>/<assignment>/``)
and, for written answers, the scores a person gave in ``nbgrader formgrader`` (the gradebook).
Feedback shows the student's own cells, the score of every graded cell and why points were lost;
the source of hidden tests never appears. A notebook that was not graded (missing, unreadable) is
an empty cell in the CSV with its reason beside it, never a 0.
"""
from __future__ import annotations

import csv
import html
from pathlib import Path

import nbformat

from autograder import cells, gradebook, grading
from autograder.course import Course

HIDDEN_PLACEHOLDER = "# (hidden tests run here)\n"


def load_results(course: Course, assignment: str) -> list[grading.SubmissionResult]:
    """Every student's results of ``assignment``, sorted by student."""
    paths = sorted(course.autograded.glob(f"*/{assignment}/results.json"))
    return [grading.SubmissionResult.from_json(path.read_text(encoding="utf-8")) for path in paths]


def export_csv(course: Course, assignment: str, target: Path) -> int:
    """Write one row per student; returns the number of rows."""
    results = load_results(course, assignment)
    manual = gradebook.manual_scores(course, assignment)
    names = [nb.name for nb in results[0].notebooks] if results else []
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *(name.removesuffix(".ipynb") for name in names), "total", "max", "reason"])
        for result in results:
            row, total, possible, reasons = [result.student], 0.0, 0.0, []
            for notebook in result.notebooks:
                stem = notebook.name.removesuffix(".ipynb")
                possible += sum(cell.points for cell in notebook.cells)
                score = notebook.auto_score
                if score is None:
                    row.append("")
                    reasons.append(f"{stem}: {notebook.reason}")
                    continue
                score += sum(manual.get((result.student, stem, cell.grade_id), 0.0) for cell in notebook.cells
                             if cell.manual)
                if any(cell.manual and (result.student, stem, cell.grade_id) not in manual for cell in notebook.cells):
                    reasons.append(f"{stem}: written answers not graded yet")
                if notebook.reason:
                    reasons.append(f"{stem}: {notebook.reason}")
                row.append(f"{score:g}")
                total += score
            writer.writerow([*row, f"{total:g}", f"{possible:g}", "; ".join(reasons)])
    return len(results)


def _cell_html(cell: nbformat.NotebookNode, score: grading.CellScore | None) -> str:
    text = cells.HIDDEN_REGION.sub(HIDDEN_PLACEHOLDER, cell.source)
    parts = [f"<pre class='{cell.cell_type}'>{html.escape(text)}</pre>"]
    if score is not None:
        verdict = ("awaiting a person's grade" if score.manual else
                   f"{score.score:g} / {score.points:g}" + (f": {score.message}" if score.message else ""))
        css = "manual" if score.manual else ("pass" if score.score == score.points else "fail")
        parts.append(f"<p class='{css}'><b>{html.escape(score.grade_id)}</b>: {html.escape(verdict)}</p>")
    return "\n".join(parts)


def feedback(course: Course, assignment: str, target: Path) -> list[Path]:
    """Write ``target/<student>/<assignment>/feedback.html`` for every graded student; returns the files."""
    written = []
    for result in load_results(course, assignment):
        sections = []
        for notebook in result.notebooks:
            scores = {cell.grade_id: cell for cell in notebook.cells}
            graded = course.autograded / result.student / assignment / notebook.name
            header = (f"<h2>{html.escape(notebook.name)}: "
                      f"{'not graded' if notebook.auto_score is None else f'{notebook.auto_score:g}'} / "
                      f"{notebook.auto_points:g} automatic points</h2>")
            notes = "".join(f"<li>{html.escape(note)}</li>" for note in
                            ([notebook.reason] if notebook.reason else []) + notebook.notes)
            body = []
            if graded.exists() and notebook.auto_score is not None:
                for cell in nbformat.read(graded, as_version=4).cells:
                    body.append(_cell_html(cell, scores.get(cells.grade_id(cell) or "")))
            sections.append(header + (f"<ul>{notes}</ul>" if notes else "") + "\n".join(body))
        page = (f"<!doctype html><meta charset='utf-8'><title>{html.escape(assignment)} feedback: "
                f"{html.escape(result.student)}</title><style>pre{{background:#f6f6f6;padding:6px}}"
                f".pass{{color:#176f2c}}.fail{{color:#a01010}}.manual{{color:#555}}</style>"
                f"<h1>{html.escape(assignment)}: feedback for {html.escape(result.student)}</h1>" + "\n".join(sections))
        path = target / result.student / assignment / "feedback.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
        written.append(path)
    return written
