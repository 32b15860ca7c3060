"""``course feedback``: one HTML page per student that a student can read.

The page is the student's own graded notebooks as nbconvert renders them (markdown and LaTeX
rendered, their outputs and plots embedded), with after every graded cell its score and every
reason points were lost (each failing case), the score and comment a person gave in formgrader,
and at the top the totals: automatic points, points from a person, the late penalty and the final
score. It never shows a hidden test (hidden regions are replaced by a placeholder, and traceback
lines that quote them are dropped), a reference output (the grader's messages never hold one) or a
solution (the graded notebooks hold the student's answers).
"""
from __future__ import annotations

import contextlib
import copy
import functools
import html
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook
from tqdm.auto import tqdm

from autograder import cells, gradebook, grading, lateness
from autograder.course import Course
from autograder.importers import ledger
from autograder.reports import load_results

HIDDEN_PLACEHOLDER = "# (the hidden tests ran here)\n"
SHOWN_OUTPUT_KINDS = ("text/plain", "image/png", "image/jpeg", "text/latex")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SCRIPT_LINK = re.compile(r"(?i)(javascript|vbscript|data):")
AWAITING = "awaiting a person's grade"


@dataclass(frozen=True)
class Totals:
    """A student's points for one assignment."""

    automatic: float
    automatic_possible: float
    by_person: float
    by_person_possible: float
    awaiting_person: int
    penalty_percent: float

    @property
    def raw(self) -> float:
        """Automatic plus a person's points, before the late penalty."""
        return self.automatic + self.by_person

    @property
    def penalty(self) -> float:
        """The points the late penalty takes."""
        return self.raw * self.penalty_percent / 100

    @property
    def final(self) -> float:
        """The score after the late penalty."""
        return self.raw - self.penalty


def _text(value: str) -> str:
    """Text for a markdown cell: HTML-escaped, one line."""
    return html.escape(" ".join(value.split()))


def _hidden_lines(notebook: nbformat.NotebookNode) -> set[str]:
    return {line.strip() for cell in notebook.cells for line in cells.hidden_text(cells.source(cell)).splitlines()
            if len(line.strip()) >= 8}


def _quotes_hidden(line: str, secret: set[str]) -> bool:
    plain = _ANSI.sub("", line)
    return "HIDDEN TESTS" in plain or any(hidden in plain for hidden in secret)


def _safe_output(output: nbformat.NotebookNode, secret: set[str]) -> nbformat.NotebookNode:
    """An output as the page may show it: no HTML, scripts or SVG the student's code made, no hidden lines."""
    if output.get("output_type") == "error":
        output["traceback"] = ["\n".join(line for line in frame.split("\n") if not _quotes_hidden(line, secret))
                               for frame in output.get("traceback", [])]
    data = output.get("data")
    if data is not None:
        for kind in [kind for kind in data if kind not in SHOWN_OUTPUT_KINDS]:
            del data[kind]
        if not data:
            data["text/plain"] = "(an output that feedback pages do not show)"
    return output


def _for_students(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a graded notebook that a page may show: no hidden tests (in sources or tracebacks),
    no raw HTML in markdown and no HTML, JavaScript or SVG outputs (a submission is hostile input)."""
    shown = copy.deepcopy(notebook)
    secret = _hidden_lines(notebook)
    for cell in shown.cells:
        cell.source = cells.HIDDEN_REGION.sub(HIDDEN_PLACEHOLDER, cells.source(cell))
        if cell.cell_type == "code":
            cell.outputs = [_safe_output(output, secret) for output in cell.get("outputs", [])]
        else:  # markdown keeps its formatting, but no tag, script link or attachment of the student's
            cell.source = _SCRIPT_LINK.sub("blocked-link:", cell.source.replace("<", "&lt;"))
            cell.pop("attachments", None)
    return shown


def _score_note(score: grading.CellScore, person: gradebook.PersonsGrade | None) -> str:
    lines = []
    if score.manual:
        given = person.score if person is not None else None
        verdict = AWAITING if given is None else f"{given:g} / {score.points:g} points, graded by a person"
        lines.append(f"**Graded cell `{_text(score.grade_id)}`: {verdict}**")
    else:
        lines.append(f"**Graded cell `{_text(score.grade_id)}`: {score.score or 0:g} / {score.points:g} points**")
        lines += [f"- {_text(reason)}" for reason in (score.failures or ([score.message] if score.message else []))]
        lines += [f"- note: {_text(note)}" for note in score.notes]
    if person is not None and person.comment:
        lines.append(f"- comment: {_text(person.comment)}")
    return "\n".join(f"> {line}" if line else ">" for line in lines)


def totals(result: grading.SubmissionResult, persons: dict, penalty_percent: float) -> Totals:
    """The student's totals from their results and what a person gave in formgrader."""
    automatic = sum(nb.auto_score or 0.0 for nb in result.notebooks)
    manual = [(nb.name.removesuffix(".ipynb"), cell) for nb in result.notebooks for cell in nb.cells if cell.manual]
    given = [persons.get((result.student, stem, cell.grade_id)) for stem, cell in manual]
    return Totals(automatic, sum(nb.auto_points for nb in result.notebooks),
                  sum(grade.score for grade in given if grade is not None and grade.score is not None),
                  sum(cell.points for _, cell in manual),
                  sum(grade is None or grade.score is None for grade in given), penalty_percent)


def _summary(assignment: str, result: grading.SubmissionResult, total: Totals, notes: list[str]) -> str:
    rows = [f"# {_text(assignment)}: feedback for {_text(result.student)}", "",
            "| | points |", "|---|---|",
            f"| automatic | {total.automatic:g} / {total.automatic_possible:g} |",
            f"| graded by a person | {total.by_person:g} / {total.by_person_possible:g}"
            + (f" ({total.awaiting_person} awaiting a person's grade)" if total.awaiting_person else "") + " |",
            f"| late penalty | {f'{total.penalty_percent:g}% = -{total.penalty:g}' if total.penalty_percent else 'none'} |",
            f"| **total** | **{total.final:g}** / {total.automatic_possible + total.by_person_possible:g} |"]
    rows += [""] + [f"- {_text(note)}" for note in notes]
    return "\n".join(rows)


def student_notebook(course: Course, assignment: str, result: grading.SubmissionResult, persons: dict,
                     total: Totals, notes: list[str]) -> nbformat.NotebookNode:
    """The one notebook a student's page is rendered from."""
    page = new_notebook(cells=[new_markdown_cell(_summary(assignment, result, total, notes))],
                        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for notebook in result.notebooks:
        stem = notebook.name.removesuffix(".ipynb")
        earned = "not graded" if notebook.auto_score is None else f"{notebook.auto_score:g}"
        header = [f"## {_text(notebook.name)}: {earned} / {notebook.auto_points:g} automatic points"]
        header += [f"- {_text(line)}" for line in ([notebook.reason] if notebook.reason else []) + notebook.notes]
        page.cells.append(new_markdown_cell("\n".join(header)))
        graded = course.autograded / result.student / assignment / notebook.name
        if notebook.auto_score is None or not graded.exists():
            continue
        scores = {cell.grade_id: cell for cell in notebook.cells}
        for cell in _for_students(nbformat.read(graded, as_version=4)).cells:
            page.cells.append(cell)
            score = scores.get(cells.grade_id(cell) or "")
            if score is not None:
                page.cells.append(new_markdown_cell(_score_note(score, persons.get((result.student, stem,
                                                                                     score.grade_id)))))
    for number, cell in enumerate(page.cells):  # cells of several notebooks: ids made unique again
        cell["id"] = f"cell-{number}"
        cell.metadata.pop("nbgrader", None)
    return page


@dataclass(frozen=True)
class _Page:
    """What one student's page is made from (plain data, so that another process can render it)."""

    course: Course
    assignment: str
    result: grading.SubmissionResult
    persons: dict  # (student, notebook stem, grade id) -> gradebook.PersonsGrade, this student's only
    total: Totals
    notes: list[str]


@functools.cache
def _exporter():
    """nbconvert's HTML exporter with JupyterLab's look, made once per process."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", embed_images=True)


def _render(page: _Page) -> str:
    """The HTML of one student's page."""
    notebook = student_notebook(page.course, page.assignment, page.result, page.persons, page.total, page.notes)
    body, _ = _exporter().from_notebook_node(notebook, resources={"metadata": {
        "name": f"{page.assignment} feedback: {page.result.student}"}})
    return body


def write(course: Course, assignment: str, target: Path, jobs: int | None = None,
          progress: bool = False) -> list[Path]:
    """Write ``target/<student>/<assignment>/feedback.html`` for every graded student; returns the files.

    Args:
        jobs: processes rendering pages side by side (default: all cores; a page takes seconds).
        progress: show a progress bar.
    """
    persons = gradebook.persons_grades(course, assignment)
    imported = ledger.read(course, assignment)
    policy = lateness.read_settings(course.root).policy
    by_student: dict[str, dict] = {}
    for key, grade in persons.items():
        by_student.setdefault(key[0], {})[key] = grade
    pages = []
    for result in load_results(course, assignment):
        late = imported.students.get(result.student, ledger.Entry()).lateness()
        own = by_student.get(result.student, {})
        pages.append(_Page(course, assignment, result, own, totals(result, own, policy.penalty_percent(late)),
                           [late.describe(policy)] if late.is_late else []))
    workers = min(len(pages), max(1, jobs or os.cpu_count() or 1))
    written = []
    with contextlib.ExitStack() as stack, tqdm(total=len(pages), desc="feedback", unit="page",
                                               disable=not progress) as bar:
        if workers > 1:
            bodies = stack.enter_context(ProcessPoolExecutor(max_workers=workers)).map(_render, pages)
        else:
            bodies = map(_render, pages)
        for page, body in zip(pages, bodies):
            path = target / page.result.student / assignment / "feedback.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
            written.append(path)
            bar.update(1)
    return written
