"""The committed release is what the solutions generate, and it leaks nothing."""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import release
from autograder.course import Course
from course_under_test import COURSE

ROOT = COURSE.root
ASSIGNMENTS = COURSE.assignments()


def test_every_assignment_exists():
    assert ASSIGNMENTS[:2] == ["a1", "a2"]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_equals_a_fresh_generation(assignment):
    release.release(COURSE, assignment, check=True)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_validates(assignment):
    assert release.validate(COURSE.assignment(assignment)) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_leaks_nothing(assignment):
    assert release.find_leaks(ROOT / "assignments" / assignment, ROOT / "solutions" / assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_every_source_notebook_with_stubs(assignment):
    sources = sorted(p.name for p in (ROOT / "solutions" / assignment).glob("*.ipynb"))
    released = sorted(p.name for p in (ROOT / "assignments" / assignment).glob("*.ipynb"))
    assert released == sources
    for name in released:
        cells = json.loads((ROOT / "assignments" / assignment / name).read_text())["cells"]
        answers = [c for c in cells if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution")]
        assert answers, f"{name} has no answer cells"
        for cell in answers:
            assert "raise NotImplementedError(" in "".join(cell["source"]), cell["metadata"]["nbgrader"]["grade_id"]


def _toy_source(folder):
    answer = new_code_cell(
        "def triple_value(x):\n    ### BEGIN SOLUTION\n    result_of_tripling = 3 * x\n    return result_of_tripling\n"
        "    ### END SOLUTION",
        metadata={"nbgrader": {"grade": False, "grade_id": "triple_value", "locked": False, "schema_version": 3,
                               "solution": True, "task": False}})
    hidden = new_code_cell(
        "assert triple_value(1) == 3\n### BEGIN HIDDEN TESTS\nassert triple_value(7) == 21 and triple_value(0) == 0\n"
        "### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "grade_id": "triple_value_tests", "locked": True, "points": 1,
                               "schema_version": 3, "solution": False, "task": False}})
    written = new_markdown_cell("Tripling is linear because scaling commutes with addition.",
                                metadata={"nbgrader": {"grade": True, "grade_id": "q", "locked": False, "points": 1,
                                                       "schema_version": 3, "solution": True, "task": False}})
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[answer, hidden, written]), folder / "01_toy.ipynb")
    stub = new_notebook(cells=[
        new_code_cell("def triple_value(x):\n    raise NotImplementedError()", metadata=answer.metadata),
        new_code_cell("assert triple_value(1) == 3", metadata=hidden.metadata),
        new_markdown_cell("YOUR ANSWER HERE", metadata=written.metadata)])
    return stub


@pytest.mark.parametrize("leak, expected", [
    (lambda nb: nb.cells[0].update(source=nb.cells[0].source + "\n    result_of_tripling = 3 * x"),
     "a line of a solution"),
    (lambda nb: nb.cells[1].update(source="assert triple_value(7) == 21 and triple_value(0) == 0"),
     "a line of a solution or hidden test"),
    (lambda nb: nb.cells[1].update(source="### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS"), "BEGIN HIDDEN TESTS"),
    (lambda nb: nb.cells[2].update(source="Tripling is linear because scaling commutes with addition."),
     "a line of a solution"),
    (lambda nb: nb.cells[1].update(outputs=[nbformat.v4.new_output("stream", text="3")]), "has outputs"),
])
def test_leak_detector_finds_each_kind_of_leak(tmp_path, leak, expected):
    stub = _toy_source(tmp_path / "source")
    (tmp_path / "release").mkdir()
    nbformat.write(stub, tmp_path / "release" / "01_toy.ipynb")
    assert release.find_leaks(tmp_path / "release", tmp_path / "source") == []
    leak(stub)
    nbformat.write(stub, tmp_path / "release" / "01_toy.ipynb")
    problems = release.find_leaks(tmp_path / "release", tmp_path / "source")
    assert problems and expected in problems[0]


@pytest.mark.slow
def test_release_writes_a_clean_release_then_check_catches_a_hand_edit(tmp_path):
    fake_root = tmp_path / "repo"
    _toy_source(fake_root / "solutions" / "toy")
    shutil.copy(ROOT / "nbgrader_config.py", fake_root)
    course = Course.at(fake_root)

    release.release(course, "toy")
    released = fake_root / "assignments" / "toy" / "01_toy.ipynb"
    assert release.find_leaks(released.parent, fake_root / "solutions" / "toy") == []
    assert "raise NotImplementedError(" in nbformat.read(released, as_version=4).cells[0].source
    assert release.release(course, "toy", check=True)

    notebook = nbformat.read(released, as_version=4)
    notebook.cells[0].source += "\nAn edit made by hand."
    nbformat.write(notebook, released)
    with pytest.raises(release.ReleaseError, match="differs from a fresh generation: .*01_toy.ipynb"):
        release.release(course, "toy", check=True)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_test_cell_is_judged_outside_the_kernel(assignment):
    """Each graded test cell holds a hidden check or an accuracy check, never only asserts on the kernel's word."""
    from autograder import cells

    for path in COURSE.assignment(assignment).notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            if cells.kind(cell) is cells.CellKind.TEST:
                assert cells.hidden_checks(cell.source) or cells.accuracy_checks(cell.source), \
                    f"{path.name}:{cells.grade_id(cell)} is judged only inside the kernel"
