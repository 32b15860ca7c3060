"""``course check`` and ``course submit`` from the instructor's installation.

The work is the student side's (:mod:`autograder.student`); this module only supplies the
assignment's manifest when no manifest file lies beside the notebooks: inside a course, a folder
named after one of its assignments (its release, or a submission) gets the manifest built from the
course's source, so the loop rule is checked there too.
"""
from __future__ import annotations

from pathlib import Path

from autograder import manifest as manifest_builder
from autograder.course import Course, CourseError
from autograder.student import check as student_check
from autograder.student import submit as student_submit
from autograder.student.manifest import Manifest

CheckError = student_check.CheckError


def manifest_for(path: Path, course: Course | None) -> Manifest | None:
    """The manifest beside ``path`` (a notebook or folder), else the one ``course`` builds for the folder's
    assignment, else None.

    Raises:
        CheckError: the manifest beside ``path`` is damaged, or the course's source cannot be read.
    """
    found = student_check.manifest_beside(path)
    folder = (path if path.is_dir() else path.parent).resolve()
    if found is not None or course is None or folder.name not in course.assignments():
        return found
    try:
        return manifest_builder.build(course.assignment(folder.name))
    except CourseError as error:
        raise CheckError(f"The rules of {folder.name} cannot be read from {course.source}: {error}") from error


def check(path: Path, course: Course | None = None, timeout_s: float = student_check.DEFAULT_TIMEOUT_S) -> int:
    """``course check PATH``: see :func:`autograder.student.check.check`; returns the exit status."""
    return student_check.check(path, manifest_for(path, course), timeout_s)


def submit(folder: Path, course: Course | None = None, output: Path | None = None, run_check: bool = True,
           timeout_s: float = student_check.DEFAULT_TIMEOUT_S) -> int:
    """``course submit FOLDER``: see :func:`autograder.student.submit.submit`; returns the exit status."""
    return student_submit.submit(folder, manifest_for(folder, course), output, run_check, timeout_s)
