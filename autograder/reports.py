"""``course export``: the grade CSV, and the results that ``course grade`` wrote.

It reads the results in the course's ``autograded/<student>/<assignment>/`` and, for written answers,
the scores a person gave in ``nbgrader formgrader`` (the gradebook). A notebook that was not graded
(missing, unreadable) is an empty cell in the CSV with its reason beside it, never a 0. The feedback
pages are :mod:`autograder.feedback`.
"""
from __future__ import annotations

import csv
import enum
from dataclasses import dataclass
from pathlib import Path

from autograder import gradebook, grading, lateness
from autograder.importers import ledger
from autograder.course import Course

def load_results(course: Course, assignment: str) -> list[grading.SubmissionResult]:
    """Every student's results of ``assignment``, sorted by student."""
    paths = sorted(course.autograded.glob(f"*/{assignment}/results.json"))
    return [grading.SubmissionResult.from_json(path.read_text(encoding="utf-8")) for path in paths]


class ExportLayout(str, enum.Enum):
    """The column layouts ``course export`` writes (see docs/submissions.md)."""

    COURSE = "course"  # everything: per-notebook scores, raw total, lateness, penalty, final score, reasons
    CANVAS = "canvas"  # Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, <assignment>
    MOODLE = "moodle"  # Moodle's offline grading worksheet: Identifier, Full name, Email address, Grade, ...


COURSE_COLUMNS = ("student", "name", "lms_id", "email")
LATENESS_COLUMNS = ("total", "max", "submitted_at", "due", "late_hours", "late_penalty_percent", "late_penalty",
                    "final", "reason")


@dataclass
class _Row:
    """One student's line of the export, whatever the layout."""

    student: str
    entry: ledger.Entry
    scores: list[str]
    total: float
    possible: float
    reasons: list[str]
    graded: bool = True


def _rows(course: Course, assignment: str) -> tuple[list[str], list[_Row]]:
    results = load_results(course, assignment)
    manual = gradebook.manual_scores(course, assignment)
    imported = ledger.read(course, assignment)
    names = [nb.name for nb in results[0].notebooks] if results else []
    rows = []
    for result in results:
        scores, total, possible, reasons = [], 0.0, 0.0, []
        for notebook in result.notebooks:
            stem = notebook.name.removesuffix(".ipynb")
            possible += sum(cell.points for cell in notebook.cells)
            score = notebook.auto_score
            if score is None:
                scores.append("")
                reasons.append(f"{stem}: {notebook.reason}")
                continue
            score += sum(manual.get((result.student, stem, cell.grade_id), 0.0) for cell in notebook.cells
                         if cell.manual)
            if any(cell.manual and (result.student, stem, cell.grade_id) not in manual for cell in notebook.cells):
                reasons.append(f"{stem}: written answers not graded yet")
            if notebook.reason:
                reasons.append(f"{stem}: {notebook.reason}")
            scores.append(f"{score:g}")
            total += score
        entry = imported.students.get(result.student, ledger.Entry())
        rows.append(_Row(result.student, entry, scores, total, possible, reasons + entry.problems))
    graded = {row.student for row in rows}
    for left in imported.left_out:
        if left.student not in graded:
            rows.append(_Row(left.student, ledger.Entry(left.name, left.lms_id, left.email), [""] * len(names), 0.0,
                             0.0, [f"not graded: {left.reason}"], graded=False))
    return names, sorted(rows, key=lambda row: row.student)


def export_csv(course: Course, assignment: str, target: Path, layout: ExportLayout = ExportLayout.COURSE) -> int:
    """Write one row per student (graded, or left out with the reason); returns the number of rows.

    Scores are the automatic plus the manual points; the late penalty (from the due date recorded at
    grading and the course's ``course.toml``) is shown apart from the raw total, and ``final`` is
    the total after it. A notebook that was not graded is an empty cell, never 0.
    """
    names, rows = _rows(course, assignment)
    policy = lateness.read_settings(course.root).policy
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(_header(layout, assignment, names))
        for row in rows:
            late = row.entry.lateness()
            percent = policy.penalty_percent(late) if row.graded else 0.0
            penalty = row.total * percent / 100
            final = f"{row.total - penalty:g}" if row.graded else ""
            if late.is_late:
                row.reasons.append(late.describe(policy))
            reason = "; ".join(row.reasons)
            if layout is ExportLayout.CANVAS:
                writer.writerow([row.entry.name, row.entry.lms_id or row.student, "", "", "", final])
            elif layout is ExportLayout.MOODLE:
                writer.writerow([f"Participant {row.entry.lms_id or row.student}", row.entry.name, row.entry.email,
                                 final, f"{row.possible:g}" if row.graded else "", reason])
            else:
                hours = f"{late.late_by.total_seconds() / 3600:.2f}" if late.late_by is not None else ""
                writer.writerow([row.student, row.entry.name, row.entry.lms_id, row.entry.email, *row.scores,
                                 f"{row.total:g}" if row.graded else "", f"{row.possible:g}" if row.graded else "",
                                 row.entry.submitted_at, row.entry.due, hours, f"{percent:g}" if row.graded else "",
                                 f"{penalty:g}" if row.graded else "", final, reason])
    return len(rows)


def _header(layout: ExportLayout, assignment: str, names: list[str]) -> list[str]:
    if layout is ExportLayout.CANVAS:
        return ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment]
    if layout is ExportLayout.MOODLE:
        return ["Identifier", "Full name", "Email address", "Grade", "Maximum Grade", "Feedback comments"]
    return [*COURSE_COLUMNS, *(name.removesuffix(".ipynb") for name in names), *LATENESS_COLUMNS]
