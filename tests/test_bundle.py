"""The student bundle: what it holds, that it leaks nothing, and that it installs and works outside the checkout.

The install test makes a fresh virtual environment in a temporary folder, installs the bundle's
wheel (its dependencies come from the package index), and runs the student's ``course check`` and
``course submit`` there with a clean environment, as a student would after unzipping the bundle.
"""
from __future__ import annotations

import ast
import dataclasses
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from autograder import bundle, release, specs, student_wheel
from autograder.student.manifest import MANIFEST_NAME, Manifest
from course_under_test import COURSE
from toy_course import make_repo

WHEEL = student_wheel.file_name()


@pytest.fixture(scope="module")
def a1_bundle(tmp_path_factory) -> Path:
    """The bundle of this course's a1, written into a temporary course root (the release is not touched)."""
    course = dataclasses.replace(COURSE, root=tmp_path_factory.mktemp("course-root"))
    return bundle.write(course, "a1")


def _wheel(bundle_zip: Path) -> zipfile.ZipFile:
    with zipfile.ZipFile(bundle_zip) as archive:
        return zipfile.ZipFile(io.BytesIO(archive.read(f"a1-student/{WHEEL}")))


def test_the_bundle_holds_notebooks_readme_manifest_and_the_student_wheel(a1_bundle):
    names = set(zipfile.ZipFile(a1_bundle).namelist())
    notebooks = {f"a1-student/a1/{p.name}" for p in (COURSE.release / "a1").glob("*.ipynb")}
    assert names == notebooks | {"a1-student/README.md", f"a1-student/{WHEEL}", f"a1-student/a1/{MANIFEST_NAME}"}
    readme = zipfile.ZipFile(a1_bundle).read("a1-student/README.md").decode()
    for step in (f"pip install {WHEEL}", "jupyter lab a1", "course check a1", "course submit a1", "LMS"):
        assert step in readme
    manifest = Manifest.from_json(zipfile.ZipFile(a1_bundle).read(f"a1-student/a1/{MANIFEST_NAME}").decode())
    assert manifest.names() == sorted(p.name for p in (COURSE.release / "a1").glob("*.ipynb"))


def test_the_student_wheel_holds_the_student_side_only(a1_bundle):
    wheel = _wheel(a1_bundle)
    python = [name for name in wheel.namelist() if name.endswith(".py")]
    allowed = {f"autograder/{module}" for module in student_wheel.AUTOGRADER_MODULES}
    assert all(name.startswith(("course_utils/", "autograder/student/")) or name in allowed for name in python)
    assert "autograder/student/cli.py" in python and "course_utils/data.py" in python
    metadata = wheel.read(f"course_cv_student-{WHEEL.split('-')[1]}.dist-info/METADATA").decode()
    assert "nbgrader" not in metadata and "Requires-Dist: jupyterlab" in metadata
    # Every autograder module the shipped code imports is shipped, except the two that the check API imports
    # only when an instructor runs a hidden check outside grading (never in a student's notebook).
    shipped = {name[:-3].replace("/", ".").removesuffix(".__init__") for name in python}
    instructor_only = {"autograder.course", "autograder.judge"}
    for name in python:
        for node in ast.walk(ast.parse(wheel.read(name))):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module == "autograder":
                imported = [f"autograder.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                imported = [node.module or ""]
            else:
                continue
            unshipped = {module for module in imported if module.startswith("autograder.")} - shipped
            assert unshipped <= instructor_only, f"{name} imports {unshipped}, which students do not get"


def test_no_solution_hidden_test_or_spec_line_is_in_any_bundle():
    for assignment in COURSE.assignments():
        secret_lines = bundle.secrets(COURSE.assignment(assignment))
        assert secret_lines, assignment
        assert bundle.find_leaks(bundle.members(COURSE, assignment), secret_lines) == [], assignment


def test_a_leak_is_found_wherever_it_hides(a1_bundle):
    assignment = COURSE.assignment("a1")
    secret_lines = bundle.secrets(assignment)
    solution = next(line for line, origin in secret_lines.items() if "solution" in origin)
    spec_line = next(line for line, origin in secret_lines.items() if "spec file" in origin)
    copied = [line for line, origin in secret_lines.items() if origin == secret_lines[solution]][:3]
    members = bundle.members(COURSE, "a1")
    members["a1-student/README.md"] += f"\n{solution}\n### BEGIN HIDDEN TESTS\n".encode()
    members[f"a1-student/a1/01_features{specs.SPEC_SUFFIX}"] = f"{spec_line}\n".encode()
    members["a1-student/notes.py"] = ("\n".join(copied) + "\n").encode()
    leaks = "\n".join(bundle.find_leaks(members, secret_lines))
    assert "README.md: contains a solution or hidden-test line" in leaks and "'BEGIN HIDDEN TESTS'" in leaks
    assert f"01_features{specs.SPEC_SUFFIX}: a spec file" in leaks
    assert "notes.py: contains 3 consecutive lines of" in leaks


def test_release_writes_the_bundle(tmp_path):
    course = make_repo(tmp_path)
    lines = release.release(course, "toy")
    assert "wrote the student bundle dist/toy-student.zip" in lines[-1]
    names = zipfile.ZipFile(tmp_path / "dist" / "toy-student.zip").namelist()
    assert "toy-student/toy/01_toy.ipynb" in names and not any(name.endswith(specs.SPEC_SUFFIX) for name in names)


@pytest.mark.slow
def test_the_bundle_installs_and_checks_outside_the_checkout(a1_bundle, tmp_path):
    with zipfile.ZipFile(a1_bundle) as archive:
        archive.extractall(tmp_path)
    student = tmp_path / "a1-student"
    venv = student / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python, course = venv / "bin" / "python", venv / "bin" / "course"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(student / WHEEL)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stderr[-3000:]
    environment = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
                   "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}

    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(list(arguments), cwd=student, env=environment, capture_output=True, text=True,
                              timeout=900)

    checked = run(str(course), "check", "a1/01_features.ipynb")
    assert checked.returncode == 1, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert "hidden: checked at grading" in checked.stdout
    assert "graded points earned so far: none counted until grading" in checked.stdout
    assert "note: no course-assignment.json" not in checked.stdout
    submitted = run(str(course), "submit", "a1", "--no-check")
    assert submitted.returncode == 0, submitted.stderr
    assert sorted(zipfile.ZipFile(student / "a1-submission.zip").namelist()) == sorted(
        p.name for p in (COURSE.release / "a1").glob("*.ipynb"))
    internals = run(str(python), "-c", "import autograder.grading")
    assert internals.returncode != 0 and "No module named 'autograder.grading'" in internals.stderr
    assert run(str(python), "-m", "pip", "show", "nbgrader").returncode != 0
    assert (venv / student_wheel.OVERRIDES_PATH).is_file()
