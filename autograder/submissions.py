"""Finding the submissions of an assignment: one :class:`Submission` per student.

Two layouts are understood: nbgrader's ``DIR/<student>/<assignment>/*.ipynb``, and an LMS export,
a folder or ``.zip`` of files named ``<student>_<notebook>.ipynb``. Files that are staged on the way
(an unpacked zip, renamed LMS files) go into a ``staging`` folder that the caller owns and removes.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import cells

MAX_SUPPORT_FILE_BYTES = 10 * 2**20


class SubmissionsError(RuntimeError):
    """The submissions cannot be found where they were looked for; the message says what to pass."""


@dataclass
class Submission:
    """One student's files for one assignment.

    Attributes:
        student: the student's id.
        files: notebook name of the assignment -> the student's file, or None when not submitted.
        support_files: other files of the submission folder, copied beside the notebooks.
        notes: what was repaired or ignored on the way (renamed notebooks, stray files).
    """

    student: str
    files: dict[str, Path | None]
    support_files: tuple[Path, ...] = ()
    notes: list[str] = field(default_factory=list)


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


def _lms_student(name: str) -> str | None:
    match = re.match(r"^([A-Za-z0-9.\-]+?)_(.+\.ipynb)$", name)
    return match.group(1) if match else None


def _unpack_zip(archive_path: Path, staging: Path) -> Path:
    unpacked = staging / "unpacked"
    unpacked.mkdir()
    with zipfile.ZipFile(archive_path) as archive:
        for member in archive.namelist():
            name = Path(member).name
            if name.endswith(".ipynb") and _lms_student(name):
                (unpacked / name).write_bytes(archive.read(member))
    return unpacked


def _nbgrader_layout(student_dirs: list[Path], assignment: str, expected: dict[str, set[str]]) -> list[Submission]:
    submissions = []
    for student_dir in student_dirs:
        own = student_dir / assignment
        notebooks = sorted(p for p in own.glob("*.ipynb") if not p.name.startswith("."))
        files, notes = match_notebooks(expected, notebooks)
        support = tuple(p for p in sorted(own.iterdir()) if p.is_file() and p.suffix != ".ipynb"
                        and p.stat().st_size < MAX_SUPPORT_FILE_BYTES)
        submissions.append(Submission(student_dir.name, files, support, notes))
    return submissions


def _lms_layout(folder: Path, expected: dict[str, set[str]], staging: Path) -> list[Submission]:
    by_student: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.ipynb")):
        student = _lms_student(path.name)
        if student:
            by_student.setdefault(student, []).append(path)
    submissions = []
    for student, paths in by_student.items():
        staged = staging / f"lms-{len(submissions)}"
        staged.mkdir()
        staged_paths = []
        for path in paths:  # strip the student prefix (LMS exports add it)
            plain = path.name[len(student) + 1:]
            staged_paths.append(Path(shutil.copy(path, staged / (plain if plain in expected else path.name))))
        files, notes = match_notebooks(expected, staged_paths)
        submissions.append(Submission(student, files, (), notes))
    return submissions


def find_submissions(folder: Path, assignment: str, expected: dict[str, set[str]], staging: Path) -> list[Submission]:
    """Every submission of ``assignment`` in ``folder`` (nbgrader's layout, or an LMS folder or zip).

    Args:
        folder: the submissions folder or ``.zip``.
        assignment: the assignment's name (the folder inside each student's in nbgrader's layout).
        expected: notebook name -> grade ids of its cells, from the source.
        staging: an empty folder owned by the caller for unpacked and renamed files.

    Raises:
        SubmissionsError: the folder does not exist or holds no submission of the assignment.
    """
    if not folder.exists():
        raise SubmissionsError(f"The submissions folder {folder} does not exist; pass --submissions DIR with one "
                               f"folder per student (DIR/<student>/{assignment}/*.ipynb) or an LMS zip.")
    if folder.is_file() and folder.suffix == ".zip":
        folder = _unpack_zip(folder, staging)
    student_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / assignment).is_dir())
    submissions = (_nbgrader_layout(student_dirs, assignment, expected) if student_dirs
                   else _lms_layout(folder, expected, staging))
    if not submissions:
        raise SubmissionsError(f"No submissions of {assignment} in {folder}: expected {folder}/<student>/{assignment}/"
                               f"*.ipynb or files named <student>_<notebook>.ipynb.")
    return submissions
