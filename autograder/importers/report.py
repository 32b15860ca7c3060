"""The plain-text report of an import: the student -> files table, who is left out, and every problem."""
from __future__ import annotations

from autograder import lateness
from autograder.importers.core import ImportResult

GRADE_THE_REST = "--grade-the-rest"


def _when(submission) -> tuple[str, str]:
    assessed = lateness.Lateness(submission.submitted_at, submission.due, submission.marked_late)
    when = submission.submitted_at.isoformat(sep=" ", timespec="minutes") if submission.submitted_at else "—"
    if assessed.late_by is not None:
        late = f"{assessed.late_by.total_seconds() / 3600:.1f} h"
    else:
        late = "LATE" if assessed.is_late else ""
    return when, late


def render(result: ImportResult, assignment: str) -> str:
    """The report ``course collect`` prints (and ``course grade`` prints when it stops)."""
    lines = [f"{assignment}: {len(result.submissions)} submission(s) in {result.source}, read as "
             f"{result.format.value} format"]
    rows = [("student", "name", "lms id", "submitted", "late", "files")]
    for submission in result.submissions:
        files = [f"{name}" + ("" if path is None or path.name == name else f" <- {path.name}")
                 for name, path in sorted(submission.files.items()) if path is not None]
        missing = [name for name, path in sorted(submission.files.items()) if path is None]
        files += [path.name for path in submission.support_files]
        files += [f"(missing {name})" for name in missing]
        rows.append((submission.student, submission.name, submission.lms_id, *_when(submission), ", ".join(files)))
    widths = [min(32, max(len(row[i]) for row in rows)) for i in range(5)]
    for row in rows:
        lines.append("  " + "  ".join(f"{cell[:32]:{width}s}" for cell, width in zip(row, widths)) + "  " + row[5])
    notes = [(s.student, note) for s in result.submissions for note in s.notes]
    if notes:
        lines.append(f"\nnotes ({len(notes)}):")
        lines += [f"  {student}: {note}" for student, note in notes]
    if result.left_out:
        lines.append(f"\nnot graded ({len(result.left_out)}):")
        lines += [f"  {s.student}" + (f" ({s.name})" if s.name else "") + f": {s.reason}" for s in result.left_out]
    if result.ignored:
        lines.append(f"\nignored ({len(result.ignored)}): " + "; ".join(result.ignored[:10])
                     + (" ..." if len(result.ignored) > 10 else ""))
    if result.problems:
        lines.append(f"\nproblems ({len(result.problems)}): nothing is graded until they are fixed, or pass "
                     f"{GRADE_THE_REST} to grade the rest and list these:")
        lines += [f"  [{problem.kind.value}] {problem}" for problem in result.problems]
    else:
        lines.append("\nno problems: every file is placed.")
    return "\n".join(lines)
