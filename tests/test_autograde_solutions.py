"""nbgrader's autograde gives the solutions full marks and the untouched release zero.

One autograde run per assignment grades two students: "reference", who submits the solution
notebooks, and "untouched", who submits the release as generated. The same run shows that every
visible-test cell of the release fails on the stubs with a clear message.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from course_under_test import COURSE

ROOT = COURSE.root
ASSIGNMENTS = COURSE.assignments()
pytestmark = pytest.mark.slow


def _nbgrader(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """Autograde the two students; yield (assignment, course root, gradebook)."""
    assignment = request.param
    course_root = tmp_path_factory.mktemp(f"course-{assignment}")
    # Plain nbgrader runs hidden checks in the kernel, which finds the course through COURSE_DIR.
    env = dict(os.environ, COURSE_ROOT=str(course_root), COURSE_DIR=str(ROOT), COURSE_QUICK="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    _nbgrader(["generate_assignment", assignment, "--force",
               f"--CourseDirectory.release_directory={course_root / 'release'}"], env)
    for student, folder in (("reference", ROOT / "solutions" / assignment),
                            ("untouched", ROOT / "assignments" / assignment)):
        target = course_root / "submitted" / student / assignment
        target.mkdir(parents=True)
        for notebook in folder.glob("*.ipynb"):
            shutil.copy(notebook, target)
    _nbgrader(["autograde", assignment, "--force", "--ExecutePreprocessor.timeout=300"], env)
    gradebook = Gradebook(f"sqlite:///{course_root / 'gradebook.db'}")
    yield assignment, course_root, gradebook
    gradebook.close()


def _code_grades(gradebook: Gradebook, assignment: str, student: str) -> list:
    submission = gradebook.find_submission(assignment, student)
    return [grade for notebook in submission.notebooks for grade in notebook.grades if grade.cell.cell_type == "code"]


def test_solutions_score_full_marks(graded):
    assignment, _, gradebook = graded
    grades = _code_grades(gradebook, assignment, "reference")
    assert grades
    short = [f"{g.notebook.name}:{g.name} {g.auto_score}/{g.max_score}" for g in grades if g.auto_score != g.max_score]
    assert not short, short


def test_untouched_release_scores_zero(graded):
    assignment, _, gradebook = graded
    grades = _code_grades(gradebook, assignment, "untouched")
    assert grades
    scored = [f"{g.notebook.name}:{g.name} {g.auto_score}" for g in grades if g.auto_score != 0]
    assert not scored, scored


def test_every_visible_test_fails_on_the_stubs_with_a_clear_message(graded):
    assignment, course_root, _ = graded
    for notebook in sorted((course_root / "autograded" / "untouched" / assignment).glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
            if not grade_id.endswith("_visible"):
                continue
            errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
            assert errors, f"{notebook.name}:{grade_id} passed on the release stub"
            assert errors[0]["ename"] in ("NotImplementedError", "AssertionError"), (
                f"{notebook.name}:{grade_id} failed with {errors[0]['ename']}: {errors[0]['evalue']}")
