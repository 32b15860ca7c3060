"""End to end as an instructor outside this repository: the wheel, installed into a fresh virtual
environment, runs a course of its own that `course init` made.

The package is built as a wheel and installed (not editable) into a new venv in a temporary folder;
every command runs there with a clean environment, in a course folder outside this checkout. A second
assignment with one graded function is added by hand, released, and three submissions of it are
graded (correct, untouched, wrong), then feedback and the grades CSV are written.
"""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_under_test import REPO

pytestmark = pytest.mark.slow

ANSWER = ('import numpy as np\n\n\ndef clip_scores(scores, low, high):\n'
          '    """(N,) float, float, float -> (N,) float: each score limited to [low, high]."""\n'
          '    ### BEGIN SOLUTION\n    return np.minimum(np.maximum(scores, low), high)\n    ### END SOLUTION')
SPEC = '''from autograder.specs import Case, Spec


def _cases(rng):
    yield Case("typical", (rng.normal(size=12), -0.5, 0.5))
    yield Case("nothing clipped", (rng.uniform(0, 1, size=5), -1.0, 2.0))


SPECS = [Spec("clip_scores", cases=_cases, outputs=("clipped",), vectorised=True)]
'''
BODIES = {"correct": "return np.clip(scores, low, high)", "wrong": "return np.maximum(scores, low)"}


def _marks(grade_id, **values):
    marks = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
             "task": False}
    return {"nbgrader": {**marks, **values}}


def _second_assignment(course: Path) -> None:
    folder = course / "solutions" / "second"
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# Clipping scores"),
        new_code_cell(ANSWER, metadata=_marks("clip_scores", solution=True)),
        new_code_cell("assert clip_scores(np.array([-2.0, 0.0, 2.0]), -1, 1).tolist() == [-1, 0, 1], "
                      "'values outside [low, high] move to the nearest end'",
                      metadata=_marks("clip_scores_visible", locked=True)),
        new_code_cell("### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_against_reference\n"
                      "check_against_reference('clip_scores', clip_scores)\n### END HIDDEN TESTS",
                      metadata=_marks("clip_scores_tests", grade=True, locked=True, points=3)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        folder / "01_clip.ipynb")
    (folder / "01_clip.specs.py").write_text(SPEC, encoding="utf-8")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel of this package installed into a fresh venv; returns (run, the temporary folder)."""
    base = tmp_path_factory.mktemp("instructor")
    dist, source = base / "dist", base / "package-source"
    # Build from a copy of what the distribution is made of, so the checkout gets no build/ folder.
    for name in ("pyproject.toml", "README.md"):
        source.mkdir(exist_ok=True)
        shutil.copy(REPO / name, source / name)
    for package in ("autograder", "course_utils"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(source)],
                   check=True, capture_output=True, timeout=600)
    wheel, = dist.glob("course_cv-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith(".specs.py") or n.startswith(("solutions/", "tests/"))], names
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stdout + install.stderr
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith(("COURSE_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    environment.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", COURSE_QUICK="1",
                       COURSE_DATA_DIR=str(base / "data"), HOME=str(base))

    def run(*arguments: str, cwd: Path = base) -> subprocess.CompletedProcess:
        result = subprocess.run([str(venv / "bin" / "course"), *arguments], cwd=cwd, env=environment,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"course {' '.join(arguments)}:\n{result.stdout}\n{result.stderr}"
        return result

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import autograder; print(autograder.__file__)"],
                           cwd=base, env=environment, capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)) and str(REPO) not in where
    return run, base


def test_a_course_of_its_own_is_released_graded_and_exported(installed):
    run, base = installed
    run("init", "my-course")
    course = base / "my-course"
    _second_assignment(course)
    run("release", "all", cwd=course / "solutions")  # found upward from a subfolder
    released = course / "assignments" / "second" / "01_clip.ipynb"
    assert sorted(p.name for p in released.parent.iterdir()) == ["01_clip.ipynb"]

    for student in ("correct", "untouched", "wrong"):
        notebook = nbformat.read(released, as_version=4)
        if student in BODIES:
            answer = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "clip_scores")
            answer.source = ("import numpy as np\n\n\ndef clip_scores(scores, low, high):\n"
                             f"    {BODIES[student]}\n")
        target = base / "class" / student / "second"
        target.mkdir(parents=True)
        nbformat.write(notebook, target / "01_clip.ipynb")

    graded = run("grade", "second", "--submissions", str(base / "class"), "--jobs", "2", cwd=course).stdout
    assert "correct" in graded and "wrong" in graded
    run("feedback", "second", "--course", str(course))
    run("export", "second", "--csv", str(base / "grades.csv"), "--course", str(course))
    rows = {row["student"]: row for row in csv.DictReader((base / "grades.csv").open())}
    assert (rows["correct"]["01_clip"], rows["untouched"]["01_clip"], rows["wrong"]["01_clip"]) == ("3", "0", "1.5")  # one case of two right
    assert rows["correct"]["max"] == "3"
    page = (course / "course_root" / "feedback" / "wrong" / "second" / "feedback.html").read_text()
    assert "differs from the reference" in page and "check_against_reference" not in page
    untouched = (course / "course_root" / "feedback" / "untouched" / "second" / "feedback.html").read_text()
    assert "NotImplementedError" in untouched
