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
