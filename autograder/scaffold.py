"""``course init DIR``: a new working course folder, ready for ``course release`` and ``course grade``.

It holds an nbgrader configuration, one example assignment with one graded function (its answer
cell, a visible test, a graded cell with a one-line hidden check, and the function's spec beside
the notebook), an instructor README and a ``.gitignore``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import CONFIG_FILE, CourseError

EXAMPLE_ASSIGNMENT = "example"
EXAMPLE_NOTEBOOK = "01_example.ipynb"

CONFIG = '''"""nbgrader configuration of this course, read by `nbgrader` and by `course` from this folder.

The source (`solutions/`) and release (`assignments/`) folders sit beside this file. The working
folders of grading (submitted, autograded, feedback) and the gradebook live in `course_root/`
(git-ignored), or in the folder named by the environment variable COURSE_ROOT.
"""
import os
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader provides get_config)

here = Path(__file__).resolve().parent
work = Path(os.environ.get("COURSE_ROOT", here / "course_root")).resolve()

c.CourseDirectory.root = str(here)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = str(work / "submitted")
c.CourseDirectory.autograded_directory = str(work / "autograded")
c.CourseDirectory.feedback_directory = str(work / "feedback")
c.CourseDirectory.db_url = f"sqlite:///{work / 'gradebook.db'}"
# Spec files (`<notebook>.specs.py`) stay with the instructor: never copied into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.specs.py"]

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\\n"
              "raise NotImplementedError(\\"Write this part; the text above says what it must do.\\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearOutput.enabled = True
'''

SPECS = '''"""Specs of example / 01_example: how the hidden check exercises each graded function.

Each Spec gives the inputs (seeded random cases, edge cases included) and the tolerances; the
expected outputs come from the reference solution in the notebook beside this file.
"""
from autograder.specs import Case, Spec


def _standardise_cases(rng):
    yield Case("typical", (rng.normal(3.0, 2.0, size=(20, 4)),))
    yield Case("one feature", (rng.uniform(-1, 1, size=(7, 1)),))
    yield Case("large values", (1e6 + rng.normal(size=(10, 3)),))


SPECS = [
    Spec("standardise", cases=_standardise_cases, outputs=("standardised",), vectorised=True, rtol=1e-7, atol=1e-9),
]
'''

README = '''# {name}: course folder

Made by `course init`. This folder is the instructor's: it holds the reference solutions, so keep
it in a private repository. Students receive the release (`assignments/`), never this folder.

| path | what it holds |
|---|---|
| `nbgrader_config.py` | where everything is; `nbgrader` and `course` read it |
| `solutions/<assignment>/` | solution notebooks (answers between `### BEGIN SOLUTION` / `### END SOLUTION`, hidden tests between `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`) and beside each notebook its spec file `<notebook>.specs.py` |
| `assignments/<assignment>/` | the student notebooks, made by `course release` |
| `course_root/` | submissions, graded notebooks, feedback and the gradebook (not committed) |

Everyday commands, run inside this folder:

    course release example          # validate, then write assignments/example (no solution, test or spec leaks)
    course grade example --submissions DIR_OR_ZIP
    course feedback example         # one HTML page per student
    course export example --csv grades.csv

Adding an exercise: write the function in an answer cell, a visible test below it, a graded
test cell whose hidden part is `check_against_reference("name", name)`, and one `Spec("name", ...)`
in the notebook's spec file. `course release` tells you what is missing.
'''


def _marks(grade_id: str, **values) -> dict:
    marks = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False,
             "task": False}
    marks.update(values)
    return {"nbgrader": marks}


def example_notebook() -> nbformat.NotebookNode:
    """The example assignment's solution notebook: one graded function with its tests."""
    answer = ('import numpy as np\n\n\ndef standardise(x):\n'
              '    """Scale every column of x to mean 0 and standard deviation 1.\n\n'
              '    Args:\n        x: (N, D) float array, N >= 2, no constant column.\n\n'
              '    Returns:\n        (N, D) float array: (x - column mean) / column standard deviation.\n    """\n'
              '    ### BEGIN SOLUTION\n    return (x - x.mean(axis=0)) / x.std(axis=0)\n    ### END SOLUTION')
    visible = ('z = standardise(np.array([[1.0, 10.0], [3.0, 30.0]]))\n'
               'assert z.shape == (2, 2), f"expected shape (2, 2), got {z.shape}"\n'
               'assert np.allclose(z, [[-1, -1], [1, 1]]), f"two rows become -1 and +1 in each column; got {z}"\n'
               'print("visible tests passed")')
    graded = ('assert np.allclose(standardise(np.eye(3)).mean(axis=0), 0), "every column must have mean 0"\n'
              '### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_against_reference\n'
              'check_against_reference("standardise", standardise)\n### END HIDDEN TESTS')
    return new_notebook(cells=[
        new_markdown_cell("# Example: standardising features\n\nWrite `standardise` below. The visible test under it "
                          "tells you at once whether it works; the graded cell after it is checked again when "
                          "your work is graded."),
        new_code_cell(answer, metadata=_marks("standardise", solution=True)),
        new_code_cell(visible, metadata=_marks("standardise_visible", locked=True)),
        new_code_cell(graded, metadata=_marks("standardise_tests", grade=True, locked=True, points=2)),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def init(folder: Path) -> list[Path]:
    """Make a new course in ``folder`` (new or empty); return the files written.

    Raises:
        CourseError: ``folder`` already holds a course or other files.
    """
    folder = Path(folder).expanduser().resolve()
    if (folder / CONFIG_FILE).exists():
        raise CourseError(f"{folder} already holds a course ({CONFIG_FILE}); nothing was changed.")
    if folder.exists() and any(folder.iterdir()):
        raise CourseError(f"{folder} is not empty; make the course in a new or empty folder.")
    assignment = folder / "solutions" / EXAMPLE_ASSIGNMENT
    assignment.mkdir(parents=True)
    notebook = assignment / EXAMPLE_NOTEBOOK
    nbformat.write(example_notebook(), notebook)
    files = {folder / CONFIG_FILE: CONFIG, assignment / f"{notebook.stem}.specs.py": SPECS,
             folder / "README.md": README.format(name=folder.name), folder / ".gitignore": "course_root/\ndist/\n"}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return [notebook, *files]
