"""``course check`` and ``course submit`` as a student meets them: what grading will do, told truthfully.

The real release of a1's 01_features is checked untouched (no points, exit 1) and with a loop in a
function under the vectorisation rule (the grader's own message, locally). Small notebooks show the
explained asserts and the earlier failing cell named for a NameError. ``course submit`` is run on
the toy course's release.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

sys.path.insert(0, os.path.dirname(__file__))

from autograder import checks, cli, manifest as manifest_builder, release, student_check
from autograder.student import asserts, causes, check, submit
from autograder.student.manifest import MANIFEST_NAME, Manifest, ManifestError, NotebookRules
from course_under_test import COURSE
from toy_course import make_repo

HUE_LOOP = '''def hue_histogram(images, bins=10, normalize=True):
    """Saturation-weighted hue histogram, one image at a time."""
    x = images.astype(np.float64) / 255.0
    top, low = x.max(axis=-1), x.min(axis=-1)
    chroma = top - low
    saturation = np.where(top > 0, chroma / np.where(top > 0, top, 1), 0.0)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    safe = np.where(chroma > 0, chroma, 1)
    hue = np.where(top == r, ((g - b) / safe) % 6, np.where(top == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    hue = np.where(chroma > 0, hue, 0.0) % 1.0
    index = np.minimum((hue * bins).astype(np.int64), bins - 1)
    counts = np.zeros((len(images), bins))
    for i in range(len(images)):
        counts[i] = np.bincount(index[i].ravel(), weights=saturation[i].ravel(), minlength=bins)
    if normalize:
        total = counts.sum(axis=1, keepdims=True)
        counts = np.where(total > 0, counts / np.where(total > 0, total, 1), 0.0)
    return counts
'''


def _marks(grade_id: str, **values) -> dict:
    marks = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
             "task": False}
    return {"nbgrader": {**marks, **values}}


def _lines(text: str, grade_id: str) -> list[str]:
    return [line for line in text.splitlines() if f"  {grade_id}" in line]


# --- the real release ----------------------------------------------------------------------------

@pytest.mark.slow
def test_untouched_release_counts_no_points_and_fails(capsys):
    notebook = COURSE.release / "a1" / "01_features.ipynb"
    assert cli.main(["--course", str(COURSE.root), "check", str(notebook)]) == 1
    out = capsys.readouterr().out
    rules = manifest_builder.build(COURSE.assignment("a1")).rules_for("01_features.ipynb")
    assert rules.hidden and rules.loop_rule
    for grade_id in rules.hidden:
        line, = _lines(out, grade_id)
        assert "pending" in line and "hidden: checked at grading" in line, line
    assert not any(line.lstrip().startswith("pass") and "point" in line for line in out.splitlines())
    assert "graded points earned so far: none counted until grading" in out
    assert f"hidden checks at grading: {len(rules.hidden)} cells" in out
    assert "note: no course-assignment.json" not in out  # the course supplied the rules


@pytest.mark.slow
def test_a_loop_fails_locally_with_the_grading_message(tmp_path, capsys):
    folder = tmp_path / "a1"
    shutil.copytree(COURSE.release / "a1", folder)
    path = folder / "01_features.ipynb"
    notebook = nbformat.read(path, as_version=4)
    answer, = [cell for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "hue_histogram"]
    answer.source = HUE_LOOP
    nbformat.write(notebook, path)
    rules = manifest_builder.build(COURSE.assignment("a1"))
    (folder / MANIFEST_NAME).write_text(rules.to_json(), encoding="utf-8")

    assert check.check(path) == 1
    out = capsys.readouterr().out
    assert "pass  hue_histogram_visible" in out
    line, = _lines(out, "hue_histogram_tests")
    # What grading records for the same function (its kernel half), defined at the same line numbers.
    module_file = tmp_path / "student_answer.py"
    module_file.write_text(HUE_LOOP + "\nimport numpy as np\n", encoding="utf-8")
    loader = importlib.util.spec_from_file_location("student_answer", module_file)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    graded = checks.collect(COURSE.assignment("a1").spec("hue_histogram"), module.hue_histogram)
    assert graded.problems and graded.problems[0] in line
    assert line.lstrip().startswith("FAIL") and "(2 points)" in line and "no points" in line


# --- explained failures on small notebooks --------------------------------------------------------

def _small_notebook(folder: Path) -> Path:
    folder.mkdir(parents=True)
    notebook = new_notebook(cells=[
        new_markdown_cell("# A small notebook"),
        new_code_cell("import numpy as np\nscale = 2\ntable = np.arange(6.0).reshape(3, 2) * missing_factor"),
        new_code_cell("def double(x):\n    return 3 * x", metadata=_marks("double", solution=True)),
        new_code_cell("got = double(np.array([1.0, 2.0]))\nassert np.allclose(got, [2.0, 4.0])",
                      metadata=_marks("double_visible", locked=True)),
        new_code_cell("assert double(1) == 3, 'this one holds'", metadata=_marks("double_also_visible", locked=True)),
        new_code_cell("assert table.shape == (3, 2)", metadata=_marks("table_visible", locked=True)),
        new_code_cell("", metadata=_marks("double_tests", grade=True, locked=True, points=2)),
        new_markdown_cell("Why?"),
        new_markdown_cell("YOUR ANSWER HERE", metadata=_marks("why", grade=True, solution=True, points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = folder / "01_small.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.mark.slow
def test_failures_show_their_line_values_and_cause(tmp_path, capsys):
    path = _small_notebook(tmp_path / "small")
    assert check.check(path) == 1
    out = capsys.readouterr().out
    assert "note: no course-assignment.json" in out
    assert "line 2: assert np.allclose(got, [2.0, 4.0])" in out
    assert "got = array([3., 6.])  (shape (2,), dtype float64)" in out
    assert "pass  double_also_visible" in out
    table, = [line for line in out.split("FAIL")[1:] if "table_visible" in line]
    assert "NameError: name 'table' is not defined" in table
    assert ("because cell 2, line 3 `table = np.arange(6.0).reshape(3, 2) * missing_factor`, which defines table, "
            "failed earlier: NameError: name 'missing_factor' is not defined") in " ".join(table.split())
    line, = _lines(out, "double_tests")
    assert "pending" in line and "(2 points): hidden: checked at grading" in line
    assert ("visible tests: 1 of 3 passed; graded points earned so far: none counted until grading; "
            "hidden checks at grading: 1 cell, 2 points; written answers graded by a person: 1, 1 points") in out


@pytest.mark.slow
def test_exit_status_is_0_when_every_visible_test_passes(tmp_path, capsys):
    path = _small_notebook(tmp_path / "small")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells[1].source = "import numpy as np\ntable = np.zeros((3, 2))"
    notebook.cells[2].source = "def double(x):\n    return 2 * x"
    notebook.cells[4].source = "assert double(1) == 2"
    nbformat.write(notebook, path)
    assert check.check(path.parent) == 0
    assert "visible tests: 3 of 3 passed" in capsys.readouterr().out


def test_asserts_keep_their_meaning_and_evaluate_each_operand_once():
    source = ("calls = []\ndef seen(value):\n    calls.append(value)\n    return value\n"
              "assert seen(1) == seen(1)\nassert seen(True) and seen(2) > 1\nassert seen([3])\n"
              "for item in (1, 2):\n    assert seen(item) in (1, 2), 'in range'\n")
    tree = asserts._Explainer().visit(ast.parse(source))
    namespace = {asserts.HELPER_NAME: asserts}
    exec(compile(ast.fix_missing_locations(tree), "<cell>", "exec"), namespace)
    assert namespace["calls"] == [1, 1, True, 2, [3], 1, 2]
    failing = asserts._Explainer().visit(ast.parse("x = 2\nassert x + 1 == 4, f'x is {x}'"))
    with pytest.raises(AssertionError) as raised:
        exec(compile(ast.fix_missing_locations(failing), "<cell>", "exec"), {asserts.HELPER_NAME: asserts})
    assert str(raised.value) == "line 2: assert x + 1 == 4, f'x is {x}'\n  x is 2\n  x + 1 = 3"
    inside = asserts._Explainer().visit(ast.parse("def f(x):\n    assert x\n"))
    assert isinstance(inside.body[0].body[0], ast.Assert)  # functions keep their own asserts


def test_defining_line_finds_top_level_bindings_only():
    source = "%matplotlib inline\nimport numpy as np\nfor k in range(2):\n    total = k\ndef f():\n    hidden = 1"
    assert causes.defining_line(source, "total") == 4
    assert causes.defining_line(source, "np") == 2
    assert causes.defining_line(source, "hidden") is None
    assert causes.defining_line("features = (", "features") == 1  # not valid Python: the line that names it


def test_manifest_round_trip_and_damage(tmp_path):
    rules = Manifest("a9", (NotebookRules("01_x.ipynb", ("f", "f_tests"), frozenset({"f_tests"}),
                                          {"f_tests": ("f",)}),))
    assert Manifest.from_json(rules.to_json()) == rules
    (tmp_path / MANIFEST_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ManifestError, match="damaged"):
        Manifest.find(tmp_path)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"format": 99}), encoding="utf-8")
    with pytest.raises(ManifestError, match="format 99"):
        Manifest.find(tmp_path)


def test_the_manifest_names_cells_and_functions_only():
    built = manifest_builder.build(COURSE.assignment("a1"))
    features = built.rules_for("01_features.ipynb")
    assert features.loop_rule["hue_histogram_tests"] == ("hue_histogram",)
    assert "feature_accuracy" not in features.hidden  # an accuracy target, visible in the release
    text = built.to_json()
    assert "Case(" not in text and "rtol" not in text and "SOLUTION" not in text


# --- course submit ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy_release(tmp_path_factory):
    """The toy course released; returns (course, the release folder of its assignment)."""
    course = make_repo(tmp_path_factory.mktemp("toy-course"))
    release.release(course, "toy")
    return course, course.release / "toy"


def _student_folder(toy_release, tmp_path: Path) -> tuple[Path, Manifest]:
    course, released = toy_release
    folder = tmp_path / "toy"
    shutil.copytree(released, folder)
    rules = manifest_builder.build(course.assignment("toy"))
    (folder / MANIFEST_NAME).write_text(rules.to_json(), encoding="utf-8")
    return folder, rules


def test_submit_writes_only_the_notebooks_under_their_names(toy_release, tmp_path, capsys):
    folder, _ = _student_folder(toy_release, tmp_path)
    (folder / "01_toy.ipynb").rename(folder / "01_toy-Copy1.ipynb")
    (folder / "scratch.txt").write_text("notes", encoding="utf-8")
    assert submit.submit(folder, None, run_check=False) == 0
    out = capsys.readouterr().out
    assert "01_toy-Copy1.ipynb is submitted as 01_toy.ipynb" in out
    with zipfile.ZipFile(tmp_path / "toy-submission.zip") as archive:
        assert archive.namelist() == ["01_toy.ipynb"]
        assert archive.read("01_toy.ipynb") == (folder / "01_toy-Copy1.ipynb").read_bytes()


@pytest.mark.slow
def test_submit_runs_the_check_first(toy_release, tmp_path, capsys):
    folder, _ = _student_folder(toy_release, tmp_path)
    assert cli.main(["submit", str(folder), "--output", str(tmp_path / "out.zip")]) == 0
    out = capsys.readouterr().out
    assert "FAIL  toy_row_sums_visible: NotImplementedError" in out and "Some visible tests fail" in out
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist() == ["01_toy.ipynb"]


def test_submit_refuses_a_damaged_notebook_or_missing_cells(toy_release, tmp_path):
    folder, _ = _student_folder(toy_release, tmp_path)
    path = folder / "01_toy.ipynb"
    original = path.read_text(encoding="utf-8")
    path.write_text(original[:-40], encoding="utf-8")
    with pytest.raises(submit.SubmitError, match=r"01_toy.ipynb is not valid JSON .*Revert Notebook to Checkpoint"):
        submit.submit(folder, None, run_check=False)
    notebook = json.loads(original)
    notebook["cells"] = [cell for cell in notebook["cells"]
                         if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "toy_row_sums_tests"]
    path.write_text(json.dumps(notebook), encoding="utf-8")
    with pytest.raises(submit.SubmitError, match=r"lacks 1 cell\(s\) of the assignment \(toy_row_sums_tests\); "
                                                 r"copy them back"):
        submit.submit(folder, None, run_check=False)
    path.unlink()
    with pytest.raises(submit.SubmitError, match="01_toy.ipynb is not in"):
        submit.submit(folder, None, run_check=False)
    assert not (tmp_path / "toy-submission.zip").exists()


def test_submit_without_a_manifest_says_where_to_run_it(tmp_path, capsys):
    (tmp_path / "work").mkdir()
    assert cli.main(["--course", str(tmp_path), "submit", str(tmp_path / "work"), "--no-check"]) == 1
    assert "has no course-assignment.json" in capsys.readouterr().err


def test_instructor_check_builds_the_rules_from_the_course(toy_release):
    course, released = toy_release
    found = student_check.manifest_for(released / "01_toy.ipynb", course)
    assert found is not None and found.rules_for("01_toy.ipynb").hidden == {"toy_row_sums_tests"}
    assert student_check.manifest_for(released / "01_toy.ipynb", None) is None
