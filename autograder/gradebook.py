"""nbgrader's gradebook, written only by the coordinating process of a grading run.

The assignment is registered with nbgrader itself (``generate_assignment`` into a scratch release
folder, against the course's gradebook), so formgrader shows the same notebooks and cells. Scores
are then written per student; scores a person already gave to written answers are kept.
"""
from __future__ import annotations

import tempfile
import warnings

from autograder import grading
from autograder.course import Course, CourseError


def register_assignment(course: Course, assignment: str) -> None:
    """Register ``assignment`` (notebooks, graded cells, source) in the course's gradebook.

    Raises:
        CourseError: nbgrader could not do it; the message carries its output.
    """
    if course.gradebook is not None:
        course.gradebook.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-gradebook-") as scratch:
        result = course.nbgrader("generate_assignment", assignment, "--force",
                                 f"--CourseDirectory.release_directory={scratch}", "--log-level=ERROR",
                                 gradebook_url=course.gradebook_url)
    if result.returncode != 0:
        raise CourseError(f"nbgrader could not register {assignment} in the gradebook {course.gradebook_url}:\n"
                          f"{result.stdout}{result.stderr}")


def record(course: Course, result: grading.SubmissionResult) -> list[str]:
    """Write one student's automatic scores into the gradebook; manual scores already given are kept.

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
            gradebook.find_submission(result.assignment, result.student)
        except MissingEntry:
            gradebook.add_submission(result.assignment, result.student)
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


def manual_scores(course: Course, assignment: str) -> dict[tuple[str, str, str], float]:
    """(student, notebook stem, grade id) -> the score a person gave in formgrader."""
    if course.gradebook is not None and not course.gradebook.exists():
        return {}
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(course.gradebook_url) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            return {}
        for submission in found.submissions:
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.manual_score is not None:
                        scores[(submission.student.id, notebook.name, grade.name)] = grade.manual_score
    return scores
