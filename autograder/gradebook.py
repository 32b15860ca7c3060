"""nbgrader's gradebook, written only by the coordinating process of a grading run.

The assignment is registered with nbgrader itself (``generate_assignment`` into a scratch release
folder, against the course's gradebook), so formgrader shows the same notebooks and cells. Scores
are then written per student; scores a person already gave to written answers are kept.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

from autograder import grading
from autograder.course import Course, CourseError


REGISTERED_FILE = ".course-registered.json"  # beside the gradebook: what was registered in which gradebook file


class Registration:
    """nbgrader registering an assignment in the gradebook, in a process of its own.

    Grading goes on meanwhile (the registration is seconds of nbgrader's start-up); :meth:`wait`
    before writing the first score. A registration with nothing to do (not ``needed``, or the
    gradebook file already holds the assignment from the same source notebooks) is done at once.
    """

    def __init__(self, course: Course, assignment: str, *, needed: bool = True) -> None:
        self.course, self.assignment = course, assignment
        self._stack = contextlib.ExitStack()
        self._process: subprocess.Popen | None = None
        self._error: CourseError | None = None
        if not needed:
            return
        if course.gradebook is not None:
            course.gradebook.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = _fingerprint(course, assignment)
        if fingerprint is not None and _registered(course).get(assignment) == fingerprint:
            return
        with self._stack.pop_all() as stack:  # nbgrader not started: its scratch folder goes at once
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="course-gradebook-"))
            self._output = stack.enter_context(tempfile.TemporaryFile())
            self._process = course.start_nbgrader("generate_assignment", assignment, "--force",
                                                  f"--CourseDirectory.release_directory={scratch}",
                                                  "--log-level=ERROR", output=self._output,
                                                  gradebook_url=course.gradebook_url)
            self._stack = stack.pop_all()  # started: kept until wait() or leaving

    def wait(self) -> None:
        """Wait until the assignment is registered; at once when it is (or was already).

        Raises:
            CourseError: nbgrader could not register it; the message carries its output.
        """
        if self._error is not None:
            raise self._error
        if self._process is None:
            return
        with self._stack:
            returncode = self._process.wait()
            self._process = None
            self._output.seek(0)
            output = self._output.read().decode("utf-8", "replace")
        if returncode != 0:
            self._error = CourseError(f"nbgrader could not register {self.assignment} in the gradebook "
                                      f"{self.course.gradebook_url}:\n{output}")
            raise self._error
        fingerprint = _fingerprint(self.course, self.assignment)
        if fingerprint is not None:
            registered = _registered(self.course)
            (self.course.gradebook.parent / REGISTERED_FILE).write_text(
                json.dumps({**registered, self.assignment: fingerprint}))

    def __enter__(self) -> "Registration":
        return self

    def __exit__(self, *exc_info) -> None:
        """Leaving early (an error elsewhere): stop nbgrader and remove its scratch files."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None
        self._stack.close()


def register_assignment(course: Course, assignment: str) -> None:
    """Register ``assignment`` (notebooks, graded cells, source) in the course's gradebook, and wait.

    Registering runs nbgrader (seconds), so it is skipped when this gradebook file already holds
    the assignment from the same source notebooks.

    Raises:
        CourseError: nbgrader could not do it; the message carries its output.
    """
    with Registration(course, assignment) as registration:
        registration.wait()


def _fingerprint(course: Course, assignment: str) -> str | None:
    """The source notebooks' digest and the gradebook file's identity; None when there is no such file."""
    if course.gradebook is None or not course.gradebook.is_file():
        return None
    info = course.gradebook.stat()
    digest = hashlib.sha256(f"{info.st_dev}:{info.st_ino}".encode())
    for notebook in course.assignment(assignment).notebooks():
        digest.update(notebook.name.encode() + b"\0" + notebook.read_bytes())
    return digest.hexdigest()


def _registered(course: Course) -> dict[str, str]:
    if course.gradebook is None:
        return {}
    try:
        found = json.loads((course.gradebook.parent / REGISTERED_FILE).read_text())
    except (OSError, ValueError):  # never registered here, or a damaged file: register again
        return {}
    return found if isinstance(found, dict) else {}


def record(course: Course, result: grading.SubmissionResult, submitted_at: datetime | None = None) -> list[str]:
    """Write one student's automatic scores into the gradebook; manual scores already given are kept.

    ``submitted_at`` becomes the submission's timestamp, the one formgrader matches with the
    ``timestamp.txt`` of the student's submitted folder.

    Returns:
        The graded cells the gradebook does not know (the source changed since it was registered).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.gradebook_url) as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings that are harmless here.
        warnings.simplefilter("ignore")
        unknown = []
        gradebook.update_or_create_student(result.student)
        try:
            submission = gradebook.find_submission(result.assignment, result.student)
        except MissingEntry:
            submission = gradebook.add_submission(result.assignment, result.student)
        submission.timestamp = (submitted_at.astimezone(timezone.utc).replace(tzinfo=None)
                                if submitted_at is not None else None)
        for notebook in result.notebooks:
            for cell in notebook.cells:
                try:
                    grade = gradebook.find_grade(cell.grade_id, notebook.name.removesuffix(".ipynb"),
                                                 result.assignment, result.student)
                except MissingEntry:
                    unknown.append(f"{notebook.name}:{cell.grade_id}")
                    continue
                if cell.manual:
                    grade.auto_score = None
                    grade.needs_manual_grade = (grade.manual_score is None
                                                and notebook.status is not grading.NotebookStatus.MISSING)
                else:
                    grade.auto_score = cell.score
                    grade.needs_manual_grade = False
        gradebook.db.commit()
    return unknown


@dataclass(frozen=True)
class PersonsGrade:
    """What a person gave a cell in formgrader: a score (None when not graded yet) and a comment."""

    score: float | None = None
    comment: str = ""


def persons_grades(course: Course, assignment: str) -> dict[tuple[str, str, str], PersonsGrade]:
    """(student, notebook stem, grade id or cell name) -> the score and comment a person gave in formgrader."""
    if course.gradebook is not None and not course.gradebook.exists():
        return {}
    from nbgrader.api import Gradebook, MissingEntry

    found_grades: dict[tuple[str, str, str], PersonsGrade] = {}
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            return {}
        for submission in found.submissions:
            for notebook in submission.notebooks:
                comments = {comment.name: comment.manual_comment or "" for comment in notebook.comments}
                for grade in notebook.grades:
                    key = (submission.student.id, notebook.name, grade.name)
                    found_grades[key] = PersonsGrade(grade.manual_score, comments.pop(grade.name, ""))
                for name, comment in comments.items():
                    if comment:
                        found_grades[(submission.student.id, notebook.name, name)] = PersonsGrade(None, comment)
    return found_grades


def students_with_submission(course: Course, assignment: str) -> set[str]:
    """The students with a submission of ``assignment`` in the gradebook (none when there is no gradebook yet)."""
    if course.gradebook is not None and not course.gradebook.exists():
        return set()
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.gradebook_url) as book:
        try:
            return {submission.student.id for submission in book.find_assignment(assignment).submissions}
        except MissingEntry:
            return set()


def manual_scores(course: Course, assignment: str) -> dict[tuple[str, str, str], float]:
    """(student, notebook stem, grade id) -> the score a person gave in formgrader."""
    return {key: grade.score for key, grade in persons_grades(course, assignment).items() if grade.score is not None}
