"""A one-notebook toy course for the grader's tests: source with its spec file, release, synthetic students."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import Course

ANSWER = ("import numpy as np\n\ndef toy_row_sums(x):\n    \"\"\"(N, D) float -> (N,) float: the sum of each row.\"\"\"\n"
          "    ### BEGIN SOLUTION\n    return np.sum(x, axis=1)\n    ### END SOLUTION")
VISIBLE = "assert toy_row_sums(np.ones((2, 3))).shape == (2,)\nprint('visible tests passed')"
GRADED = ("assert toy_row_sums(np.eye(2))[0] == 1\n### BEGIN HIDDEN TESTS\n"
          "from autograder.checks import check_against_reference\ncheck_against_reference('toy_row_sums', toy_row_sums)\n"
          "### END HIDDEN TESTS")


def _marks(grade_id, **kwargs):
    marks = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
             "task": False}
    marks.update(kwargs)
    return {"nbgrader": marks}


SPECS = Path(__file__).with_name("toy_specs.py")
REPO_CONFIG = Path(__file__).resolve().parents[1] / "nbgrader_config.py"


def make_repo(root: Path) -> Course:
    """Write a course folder with the toy assignment into ``root``; return it with its work in ``root/course_root``."""
    source = new_notebook(cells=[
        new_markdown_cell("# Toy notebook"),
        new_code_cell("rows = 3  # a plain cell the student may change"),
        new_code_cell(ANSWER, metadata=_marks("toy_row_sums", solution=True)),
        new_code_cell(VISIBLE, metadata=_marks("toy_row_sums_visible", locked=True)),
        new_code_cell(GRADED, metadata=_marks("toy_row_sums_tests", grade=True, locked=True, points=2)),
        new_markdown_cell("Why is a row sum linear?"),
        new_markdown_cell("Because sums commute with scaling.", metadata=_marks("toy_written", grade=True,
                                                                                    solution=True, points=1)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (root / "solutions" / "toy").mkdir(parents=True)
    nbformat.write(source, root / "solutions" / "toy" / "01_toy.ipynb")
    shutil.copy(SPECS, root / "solutions" / "toy" / "01_toy.specs.py")
    shutil.copy(REPO_CONFIG, root)
    return Course.at(root).with_work_folder(root / "course_root")


def student_notebook(release_notebook: Path, body: str | None = None, edit=None) -> nbformat.NotebookNode:
    """The released notebook with the answer body replaced by ``body`` and ``edit(notebook)`` applied."""
    notebook = nbformat.read(release_notebook, as_version=4)
    if body is not None:
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "toy_row_sums":
                cell.source = f"import numpy as np\n\ndef toy_row_sums(x):\n    {body}"
    if edit:
        edit(notebook)
    return notebook


# --- a second toy assignment: an accuracy target judged on held-out images -----------------------
COLOUR_ANSWER = ("def colour_histogram(images):\n"
                 "    \"\"\"(N, H, W, 3) uint8 -> (N, 64) float: the share of pixels in each of 4x4x4 colour bins.\"\"\"\n"
                 "    ### BEGIN SOLUTION\n    quantised = (images // 64).astype(np.int64)\n"
                 "    bins = quantised[..., 0] * 16 + quantised[..., 1] * 4 + quantised[..., 2]\n"
                 "    counts = np.stack([np.bincount(row.ravel(), minlength=64) for row in bins]).astype(float)\n"
                 "    return counts / counts.sum(axis=1, keepdims=True)\n    ### END SOLUTION")
COLOUR_DATA = ("import numpy as np\nfrom course_utils import data\n\ndataset = data.load_dataset()\n"
               "X_train, y_train = dataset.X_train[:3000], dataset.y_train[:3000]\n"
               "X_val, y_val = dataset.X_test[:500], dataset.y_test[:500]")
COLOUR_MODEL = ("features = colour_histogram(X_train)\nmu, sigma = features.mean(axis=0), features.std(axis=0) + 1e-6\n"
                "centres = np.stack([((features[y_train == c] - mu) / sigma).mean(axis=0) for c in range(10)])\n\n\n"
                "def predict_colour(images):\n    scaled = (colour_histogram(images) - mu) / sigma\n"
                "    return np.argmin(((scaled[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)")
COLOUR_CHECK = ("from autograder.checks import check_accuracy\n"
                "check_accuracy('colour', predict_colour, X_val, y_val, threshold=0.18)")
COLOUR_SPECS = ('from autograder.specs import AccuracySpec\n\n'
                'SPECS = [AccuracySpec("colour", thresholds={"synthetic": 0.18}, images=500)]\n')


def add_accuracy_assignment(course: Course) -> str:
    """Add the assignment ``toy_accuracy`` (one answer, one accuracy target worth 2 points); return its name."""
    folder = course.source / "toy_accuracy"
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[
        new_code_cell(COLOUR_DATA),
        new_code_cell(COLOUR_ANSWER, metadata=_marks("colour_histogram", solution=True)),
        new_code_cell(COLOUR_MODEL),
        new_code_cell(COLOUR_CHECK, metadata=_marks("colour_accuracy", grade=True, locked=True, points=2)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        folder / "01_colour.ipynb")
    (folder / "01_colour.specs.py").write_text(COLOUR_SPECS, encoding="utf-8")
    return "toy_accuracy"


# --- a third toy assignment: a composite graded with the reference helper in place of the student's --
SCALE_ANSWER = ("import numpy as np\n\ndef toy_scale(x, factor):\n    \"\"\"(N, D) float -> (N, D) float: x times factor.\"\"\"\n"
                "    ### BEGIN SOLUTION\n    return np.asarray(x, dtype=float) * factor\n    ### END SOLUTION")
SCALED_SUMS_ANSWER = ("def toy_scaled_sums(x):\n    \"\"\"(N, D) float -> (N,) float: the row sums of toy_scale(x, 2.0).\"\"\"\n"
                      "    ### BEGIN SOLUTION\n    return toy_scale(x, 2.0).sum(axis=1)\n    ### END SOLUTION")
COMPOSITE_SPECS = ('import numpy as np\n\nfrom autograder.specs import Case, Spec\n\n\n'
                   'def _cases(rng):\n    yield Case("typical", (rng.normal(size=(4, 3)),))\n'
                   '    yield Case("one row", (rng.normal(size=(1, 5)),))\n\n\n'
                   'SPECS = [Spec("toy_scale", cases=lambda rng: [Case("typical", (rng.normal(size=(3, 2)), 1.5))],\n'
                   '              vectorised=True),\n'
                   '         Spec("toy_scaled_sums", cases=_cases, vectorised=True, stand_ins=("toy_scale",))]\n')


def _graded_check(name: str) -> str:
    return (f"### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_against_reference\n"
            f"check_against_reference('{name}', {name})\n### END HIDDEN TESTS")


def add_composite_assignment(course: Course) -> str:
    """Add ``toy_composite``: ``toy_scale`` (1 point) and ``toy_scaled_sums`` built on it (2 points)."""
    folder = course.source / "toy_composite"
    folder.mkdir(parents=True)
    nbformat.write(new_notebook(cells=[
        new_code_cell(SCALE_ANSWER, metadata=_marks("toy_scale", solution=True)),
        new_code_cell(_graded_check("toy_scale"), metadata=_marks("toy_scale_tests", grade=True, locked=True, points=1)),
        new_code_cell(SCALED_SUMS_ANSWER, metadata=_marks("toy_scaled_sums", solution=True)),
        new_code_cell(_graded_check("toy_scaled_sums"),
                      metadata=_marks("toy_scaled_sums_tests", grade=True, locked=True, points=2)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}),
        folder / "01_composite.ipynb")
    (folder / "01_composite.specs.py").write_text(COMPOSITE_SPECS, encoding="utf-8")
    return "toy_composite"
