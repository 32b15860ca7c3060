"""Accuracy targets are judged by the grader on held-out images, outside the student's kernel.

A toy assignment (tests/toy_course.py) trains a nearest-centre classifier on colour histograms and
checks its accuracy (2 points). Each student below does something to the notebook; the grader must
give the accuracy it measures itself on images whose labels never enter the kernel.
"""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder import batch, release
from toy_course import add_accuracy_assignment, make_repo

pytestmark = pytest.mark.slow

HISTOGRAM = ("def colour_histogram(images):\n    quantised = (images // 64).astype(np.int64)\n"
             "    bins = quantised[..., 0] * 16 + quantised[..., 1] * 4 + quantised[..., 2]\n"
             "    counts = np.stack([np.bincount(row.ravel(), minlength=64) for row in bins]).astype(float)\n"
             "    return counts / counts.sum(axis=1, keepdims=True)\n")
STUDENTS = {
    # name: (answer source or None for the stub, cells added after the model cell, expected score, words in reason)
    "correct": (HISTOGRAM, [], 2, ""),
    "untouched": (None, [], 0, "predict_colour"),
    "sets_the_accuracy_by_hand": (None, ["accuracy = val_acc = best_val_acc = 1.0\ndef predict_colour(images):\n"
                                         "    raise NotImplementedError"], 0, "predict raised"),
    "returns_stored_labels": (HISTOGRAM, ["def predict_colour(images):\n    return y_val[:len(images)]"], 0,
                              "held-out images; the target is 0.18"),
    "replaces_the_check": (HISTOGRAM, ["import autograder.checks\nautograder.checks.check_accuracy = "
                                       "lambda *args, **kwargs: 1.0"], 0, "recorded nothing"),
    "patches_numpy": (HISTOGRAM, ["import numpy\nnumpy.mean = lambda *args, **kwargs: 1.0\n"
                                  "def predict_colour(images):\n    return numpy.zeros(len(images), int)"], 0,
                      "held-out images"),
}


def _submission(released, answer, extra):
    notebook = nbformat.read(released, as_version=4)
    cells = notebook.cells
    if answer is not None:
        next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "colour_histogram").source = answer
    model = next(i for i, c in enumerate(cells) if "def predict_colour" in c.source)
    cells[model + 1:model + 1] = [new_code_cell(source) for source in extra]
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = make_repo(root)
    assignment = add_accuracy_assignment(course)
    release.release(course, assignment)
    released = course.release / assignment / "01_colour.ipynb"
    for student, (answer, extra, _, _) in STUDENTS.items():
        folder = root / "class" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(_submission(released, answer, extra), folder / "01_colour.ipynb")
    results = batch.grade(course, assignment, root / "class", jobs=2, cell_timeout=60, notebook_timeout=120,
                          progress=False)
    return {result.student: result.notebooks[0] for result in results}


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_the_grader_measures_the_accuracy_itself(graded, student):
    notebook = graded[student]
    _, _, expected, words = STUDENTS[student]
    assert notebook.auto_score == expected, notebook
    assert words in " ".join(cell.message for cell in notebook.cells)


def test_the_notebook_never_holds_the_held_out_labels(graded, tmp_path):
    notebook = graded["correct"]
    assert notebook.status.value == "graded" and notebook.auto_score == 2
