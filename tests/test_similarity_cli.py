"""`course similarity` end to end on a toy course: the command finds a renamed copy and a copy of the reference,
and leaves an independent answer and an untouched one alone."""
from __future__ import annotations

import csv

import nbformat
import pytest

from autograder import cli, release
from toy_course import add_accuracy_assignment, make_repo

pytestmark = pytest.mark.slow

ANSWERS = {
    "alice": ("def colour_histogram(images):\n    quantised = (images // 64).astype(np.int64)\n"
              "    bins = quantised[..., 0] * 16 + quantised[..., 1] * 4 + quantised[..., 2]\n"
              "    counts = np.stack([np.bincount(row.ravel(), minlength=64) for row in bins]).astype(float)\n"
              "    return counts / counts.sum(axis=1, keepdims=True)\n"),
    "carol": ("def colour_histogram(images):\n    levels = images.reshape(len(images), -1, 3) // 64\n"
              "    codes = levels @ np.array([16, 4, 1])\n    one_hot = codes[..., None] == np.arange(64)\n"
              "    return one_hot.mean(axis=1)\n"),
    "bob": ("def colour_histogram(pictures):\n    # quantise each channel to 4 levels\n"
            "    lv = pictures.reshape(len(pictures), -1, 3) // 64\n"
            "    code = lv @ np.array([16, 4, 1])\n    hot = code[..., None] == np.arange(64)\n"
            "    return hot.mean(axis=1)\n"),
    "erin": ("def colour_histogram(images):\n    flat = images.reshape(images.shape[0], -1, 3).astype(int)\n"
             "    result = np.zeros((images.shape[0], 64))\n    bins = (flat[:, :, 0] // 64) * 16 + (flat[:, :, 1] // 64) * 4\n"
             "    bins = bins + flat[:, :, 2] // 64\n    rows = np.repeat(np.arange(images.shape[0]), flat.shape[1])\n"
             "    np.add.at(result, (rows, bins.ravel()), 1.0)\n    return result / flat.shape[1]\n"),
    "dave": None,
}


def test_the_command_ranks_copies_and_writes_csv_and_html(tmp_path, capsys):
    course = make_repo(tmp_path / "course")
    assignment = add_accuracy_assignment(course)
    release.release(course, assignment)
    released = course.release / assignment / "01_colour.ipynb"
    for student, answer in ANSWERS.items():
        notebook = nbformat.read(released, as_version=4)
        if answer is not None:
            next(c for c in notebook.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "colour_histogram").source = answer
        folder = tmp_path / "class" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(notebook, folder / "01_colour.ipynb")
    assert cli.main(["similarity", assignment, "--course", str(course.root), "--submissions", str(tmp_path / "class"),
                     "--html", str(tmp_path / "report"), "--quiet"]) == 0
    assert "5 submissions compared" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "report" / "pairs.csv").open()))
    assert list(rows[0]) == ["student_a", "student_b", "notebook", "cell", "score"]
    pairs = {frozenset((row["student_a"], row["student_b"])) for row in rows}
    assert frozenset(("bob", "carol")) in pairs
    assert frozenset(("alice", "<reference>")) in pairs
    assert not any("dave" in pair or "erin" in pair for pair in pairs)
    page = next((tmp_path / "report").glob("*.html")).read_text()
    assert "alice" in page and "### BEGIN SOLUTION" not in page
