"""One student's submission of an assignment, and matching submitted files to the assignment's notebooks.

Submissions are found and imported by :mod:`autograder.importers` (nbgrader's layout and the LMS
exports); this module holds the record they produce and the matching of renamed notebooks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from autograder import cells


@dataclass
class Submission:
    """One student's files for one assignment.

    Attributes:
        student: the student's id (the roster's student id, else the LMS's id).
        files: notebook name of the assignment -> the student's (staged) file, or None when not submitted.
        support_files: other files of the submission, copied beside the notebooks.
        notes: what was repaired, refused or ignored on the way (renamed notebooks, refused files).
        name: the student's name for display ('' when unknown).
        lms_id: the id the LMS export gave the student.
        email: the student's e-mail address when the export or the roster has it.
        submitted_at: when it was submitted, None when the export does not say.
        marked_late: the LMS marked it late (Canvas's ``LATE``).
        due: the student's due date, extension included; None when there is none.
        origin: the path in the export the submission came from.
    """

    student: str
    files: dict[str, Path | None]
    support_files: tuple[Path, ...] = ()
    notes: list[str] = field(default_factory=list)
    name: str = ""
    lms_id: str = ""
    email: str = ""
    submitted_at: datetime | None = None
    marked_late: bool = False
    due: datetime | None = None
    origin: str = ""


def notebook_grade_ids(path: Path) -> set[str]:
    """The grade ids of a notebook's cells; empty when it is not a readable notebook."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError, UnicodeDecodeError, nbformat.ValidationError):
        return set()
    return {identity for identity in map(cells.grade_id, notebook.cells) if identity}


def match_notebooks(expected: dict[str, set[str]], found: list[Path]) -> tuple[dict[str, Path | None], list[str]]:
    """Match submitted files to the assignment's notebook names; renamed copies are matched by content.

    Args:
        expected: notebook name -> grade ids of its cells (from the source).
        found: the notebook files of one student's submission.
    """
    files: dict[str, Path | None] = {name: None for name in expected}
    notes = []
    rest = []
    for path in found:
        if path.name in files and files[path.name] is None:
            files[path.name] = path
        else:
            rest.append(path)
    for path in rest:
        ids = notebook_grade_ids(path)
        best = max((name for name in files if files[name] is None), key=lambda name: len(ids & expected[name]),
                   default=None)
        if best is not None and ids & expected[best]:
            files[best] = path
            notes.append(f"{path.name} was graded as {best} (it was renamed)")
        else:
            notes.append(f"{path.name} is not a notebook of this assignment and was not graded")
    return files, notes
