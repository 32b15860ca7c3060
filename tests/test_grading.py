"""End-to-end grading of a toy class: sandboxed kernels, verdicts judged outside, gradebook, hostile code.

Each student is one notebook of the toy course (tests/toy_course.py): one graded function worth 2
points, checked by a hidden check, and a written answer worth 1 point graded by a person.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from autograder import batch, release
from autograder.grading import NotebookStatus
from toy_course import make_repo, student_notebook

pytestmark = pytest.mark.slow

CORRECT = "return np.sum(x, axis=1)"
HOSTILE = {
    # name: (answer body or None, edit of the notebook, expected auto score, words expected in the reason)
    "correct": (CORRECT, None, 2, ""),
    "untouched": (None, None, 0, "NotImplementedError"),
    "wrong": ("return np.sum(x, axis=0)", None, 0, "has shape"),
    "half_right": ("return np.sum(x, axis=1) if len(x) > 1 else np.zeros(len(x) + 1)", None, 1, "case 'one row'"),
    "syntax_error": ("return np.sum(x, axis=1", None, 0, "was never defined because the cell that defines it "
                                                         "(toy_row_sums) failed: SyntaxError"),
    "loops": ("return np.array([sum(r) for r in x])", None, 0, "vectorised"),
    "liar": ("class Liar:\n        def __eq__(self, other):\n            return True\n"
             "        def __getitem__(self, index):\n            return 1\n    return Liar()", None, 0, "returned a Liar"),
    "raises": ("raise RuntimeError('boom')", None, 0, "RuntimeError: boom"),
    "infinite": ("while True:\n        pass", None, 0, "CellTimeout"),
    "exits": ("import os\n    os._exit(3)", None, 0, "kernel died"),
    "patches_check": (CORRECT + "\nimport autograder.checks\nautograder.checks.check_against_reference = "
                      "lambda *a, **k: None", None, 0, "recorded nothing"),
    "patches_numpy": ("if x.shape == (2, 2):\n        return np.ones(2)\n    return np.zeros(len(x))\n"
                      "import numpy\nnumpy.allclose = lambda *a, **k: True\n"
                      "numpy.testing.assert_allclose = lambda *a, **k: None", None, 0, "differs from the reference"),
    "reads_secrets": ("import glob, os, autograder\n    repo = os.path.dirname(os.path.dirname(autograder.__file__))\n"
                      "    found = glob.glob(repo + '/solutions/*') + glob.glob('/tmp/**/gradebook.db', recursive=True)\n"
                      "    found += list(filter(lambda k: 'SOLUTION' in k or k == 'COURSE_ROOT', os.environ))\n"
                      "    assert not found, found\n    return np.sum(x, axis=1)", None, 2, ""),
    "network": ("import socket\n    try:\n        socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
                "        return None\n    except OSError:\n        return np.sum(x, axis=1)", None, 2, ""),
    "memory_bomb": ("hog = bytearray(8 * 2**30)\n    return np.sum(x, axis=1)", None, 0, "MemoryError"),
    "fork_bomb": ("import os\n    while True:\n        os.fork()", None, 0, ""),
    "floods_output": (CORRECT + "\nprint('x' * 100_000_000)", None, 2, ""),
    "segfault": ("import ctypes\n    ctypes.string_at(0)", None, 0, "kernel died"),
    "games_history": ("graded = 'check_against_reference' in ''.join(get_ipython().user_ns['In'])\n"
                      "    return np.zeros(len(x)) if graded and x.shape != (2, 2) else np.sum(x, axis=1)",
                      None, 0, "differs"),
    "writes_outside": (CORRECT + "\nimport os, autograder\nrepo = os.path.dirname(os.path.dirname(autograder.__file__))\n"
                       "for target in (repo + '/pwned', '/etc/pwned', '/usr/pwned', '/work/pwned'):\n"
                       "    try:\n        open(target, 'w').write('x')\n    except OSError:\n        pass",
                       None, 2, ""),
    "fills_disk": ("for number in range(20):\n        open(f'big{number}', 'wb').write(b'x' * 50 * 2**20)\n"
                   "    return np.sum(x, axis=1)", None, 0, "disk quota"),
    "fills_tmp": ("for number in range(20):\n        open(f'/tmp/big{number}', 'wb').write(b'x' * 50 * 2**20)\n"
                  "    return np.sum(x, axis=1)", None, 0, "No space left"),
    "makes_many_files": ("import os\n    os.makedirs('many', exist_ok=True)\n    for number in range(15_000):\n"
                         "        open(f'many/{number}', 'w').close()\n    return np.sum(x, axis=1)", None, 0, "disk quota"),
    "forges_a_record_link": ("import os\n    channel = os.environ.get('COURSE_VERDICT_DIR', '.')\n"
                             "    if not os.path.lexists(channel + '/00000-1.npz'):\n"
                             "        os.symlink('/etc/passwd', channel + '/00000-1.npz')\n"
                             "    return np.sum(x, axis=1)", None, 0, "a regular file"),
    "xss_in_markdown": (CORRECT, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell(
        "<script>alert('x')</script><img src=x onerror=alert(1)> and $e^{i\\pi} + 1 = 0$")), 2, ""),
    "wrong_kernel": (CORRECT, lambda nb: nb.metadata.update(kernelspec={"name": "julia-1.9", "display_name": "J",
                                                                         "language": "julia"}), 2, "julia"),
    "huge_notebook": (CORRECT, lambda nb: nb.cells.append(nbformat.v4.new_markdown_cell("x" * 5_000_000)), 2, ""),
    "duplicates_tests": (CORRECT, lambda nb: nb.cells.append(nbformat.from_dict(
        dict(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "toy_row_sums_tests"),
             id="dup"))), 2, "more than once"),
    "reorders_tests": (CORRECT, lambda nb: nb.cells.insert(0, nb.cells.pop(next(
        i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "toy_row_sums_tests"))),
        2, "moved"),
    "deletes_tests": (CORRECT, lambda nb: nb.cells.__setitem__(slice(None), [
        c for c in nb.cells if "tests" not in c.metadata.get("nbgrader", {}).get("grade_id", "")]), 2, "restored"),
    "edits_tests": (CORRECT, lambda nb: [c.update(source="pass") for c in nb.cells
                                         if c.metadata.get("nbgrader", {}).get("grade_id") == "toy_row_sums_tests"],
                    2, "edited"),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("repo")
    course = make_repo(root)
    release.release(course, "toy")
    submissions = root / "submitted"
    for student, (body, edit, _, _) in HOSTILE.items():
        folder = submissions / student / "toy"
        folder.mkdir(parents=True)
        nbformat.write(student_notebook(root / "assignments" / "toy" / "01_toy.ipynb", body, edit),
                       folder / "01_toy.ipynb")
    renamed = submissions / "renamed" / "toy"
    renamed.mkdir(parents=True)
    nbformat.write(student_notebook(root / "assignments" / "toy" / "01_toy.ipynb", CORRECT), renamed / "01_toy (1).ipynb")
    nbformat.write(nbformat.v4.new_notebook(), renamed / "scratch.ipynb")
    (submissions / "missing" / "toy").mkdir(parents=True)
    corrupt = submissions / "corrupt" / "toy"
    corrupt.mkdir(parents=True)
    (corrupt / "01_toy.ipynb").write_text("{ this is not json")
    results = batch.grade(course, "toy", submissions, jobs=2, cell_timeout=5, notebook_timeout=60, progress=False)
    return course, {result.student: result for result in results}


@pytest.mark.parametrize("student", sorted(HOSTILE))
def test_each_student_gets_the_expected_score_and_reason(graded, student):
    _, results = graded
    notebook = results[student].notebooks[0]
    auto = [cell for cell in notebook.cells if not cell.manual]
    assert notebook.auto_score == HOSTILE[student][2], (notebook, auto)
    reason = " ".join([notebook.reason, *notebook.notes, *(cell.message for cell in auto)]).lower()
    assert HOSTILE[student][3].lower() in reason


def test_a_renamed_notebook_is_graded_and_an_extra_one_is_reported(graded):
    _, results = graded
    notebook = results["renamed"].notebooks[0]
    assert notebook.auto_score == 2
    assert any("renamed" in note for note in notebook.notes)
    assert any("scratch.ipynb is not a notebook of this assignment" in note for note in notebook.notes)


def test_nothing_was_written_outside_the_sandbox(graded):
    course, _ = graded
    root = course.root
    import autograder

    checkout = Path(autograder.__file__).resolve().parent.parent
    for path in (checkout / "pwned", root / "pwned", Path("/etc/pwned"), Path("/usr/pwned")):
        assert not path.exists(), path


def test_missing_and_corrupt_notebooks_have_no_score_and_a_reason(graded):
    _, results = graded
    missing, corrupt = results["missing"].notebooks[0], results["corrupt"].notebooks[0]
    assert missing.status is NotebookStatus.MISSING and missing.auto_score is None and "not submitted" in missing.reason
    assert corrupt.status is NotebookStatus.UNREADABLE and corrupt.auto_score is None and "not a readable notebook" in corrupt.reason


def test_scores_are_in_nbgraders_gradebook(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    with Gradebook(course.gradebook_url) as gradebook:
        grade = gradebook.find_grade("toy_row_sums_tests", "01_toy", "toy", "correct")
        assert grade.auto_score == 2
        assert gradebook.find_grade("toy_row_sums_tests", "01_toy", "toy", "liar").auto_score == 0
        written = gradebook.find_grade("toy_written", "01_toy", "toy", "correct")
        assert written.auto_score is None and written.needs_manual_grade


def test_feedback_shows_scores_and_reasons_but_never_hidden_tests(graded, tmp_path):
    from autograder import feedback

    from nbgrader.api import Gradebook

    course, _ = graded
    with Gradebook(course.gradebook_url) as gradebook:
        gradebook.find_grade("toy_written", "01_toy", "toy", "liar").manual_score = 1
        gradebook.find_comment("toy_written", "01_toy", "toy", "liar").manual_comment = "Clear & short <b>"
        gradebook.db.commit()
    pages = {p.parent.parent.name: p.read_text() for p in feedback.write(course, "toy", tmp_path)}
    assert "returned a Liar" in pages["liar"] and "0 / 2 points" in pages["liar"]
    assert "1 / 1 points, graded by a person" in pages["liar"] and "Clear &amp; short &lt;b&gt;" in pages["liar"]
    assert "2 / 2 points" in pages["correct"] and "awaiting a person" in pages["correct"]
    assert "1 / 2 points" in pages["half_right"] and "case 'one row'" in pages["half_right"]
    assert "SyntaxError" in pages["syntax_error"] and "was never defined because" in pages["syntax_error"]
    assert "not submitted" in pages["missing"]
    assert "<h1" in pages["correct"] and "Toy notebook" in pages["correct"]  # markdown is rendered
    assert "&lt;script&gt;alert" in pages["xss_in_markdown"]  # shown as text, never as a tag
    assert "<script>alert" not in pages["xss_in_markdown"] and "<img src=x onerror" not in pages["xss_in_markdown"]
    for page in pages.values():
        assert "check_against_reference('toy_row_sums'" not in page and "BEGIN HIDDEN" not in page


def test_feedback_pages_rendered_side_by_side_are_the_pages_rendered_one_by_one(graded, tmp_path):
    from autograder import feedback

    course, _ = graded
    alone = {p.parent.parent.name: p.read_bytes() for p in feedback.write(course, "toy", tmp_path / "one", jobs=1)}
    shared = {p.parent.parent.name: p.read_bytes() for p in feedback.write(course, "toy", tmp_path / "two", jobs=2)}
    assert len(alone) > 3 and shared == alone


def test_export_leaves_ungraded_notebooks_empty_with_a_reason(graded, tmp_path):
    import csv

    from autograder import reports

    course, _ = graded
    target = tmp_path / "grades.csv"
    reports.export_csv(course, "toy", target)
    rows = {row["student"]: row for row in csv.DictReader(target.open())}
    assert rows["correct"]["01_toy"] == "2" and "not graded yet" in rows["correct"]["reason"]
    assert rows["missing"]["01_toy"] == "" and "not submitted" in rows["missing"]["reason"]
    assert rows["corrupt"]["01_toy"] == "" and "not a readable notebook" in rows["corrupt"]["reason"]
    assert rows["untouched"]["01_toy"] == "0" and rows["correct"]["max"] == "3"


def test_cli_reports_setup_errors_clearly(graded, tmp_path, capsys):
    from autograder import cli

    course, _ = graded
    assert cli.main(["--course", str(course.root), "grade", "toy", "--submissions", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["grade", "no_such_assignment", "--course", str(course.root), "--submissions", str(tmp_path)]) == 1
    assert "Unknown assignment" in capsys.readouterr().err


def test_student_check_passes_a_correct_notebook_and_fails_a_stub(graded, tmp_path, capsys):
    from autograder import student_check

    course, _ = graded
    root = course.root
    correct = root / "submitted" / "correct" / "toy" / "01_toy.ipynb"
    assert student_check.check(correct) == 0
    assert "pass  toy_row_sums_visible" in capsys.readouterr().out
    assert student_check.check(root / "assignments" / "toy" / "01_toy.ipynb") == 1
    assert "FAIL  toy_row_sums_visible: NotImplementedError" in capsys.readouterr().out


def test_nbgrader_and_formgrader_see_the_class_that_course_grade_recorded(graded):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    course, results = graded
    config = Config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.submitted_directory = str(course.submitted)
    config.CourseDirectory.autograded_directory = str(course.autograded)
    config.CourseDirectory.db_url = course.gradebook_url
    api = NbGraderAPI(CourseDirectory(config=config), config=config)
    listed = {submission["student"] for submission in api.get_submissions("toy") if submission["autograded"]}
    assert listed == set(results)
    assert (course.submitted / "correct" / "toy" / "01_toy.ipynb").is_file()
