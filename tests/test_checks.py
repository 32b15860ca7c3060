"""Tests of the hidden-test check API (autograder.checks, autograder.judge) on a small fake assignment."""
from __future__ import annotations


import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import checks, judge, record, specs
from autograder.course import Assignment, CourseError

REFERENCE_SOURCE = '''
import numpy as np

def scaled_sum(x, scale):
    """(N, D) float, float -> ((N,) float, float)."""
    ### BEGIN SOLUTION
    rows = x.sum(axis=1) * scale
    return rows, float(rows.sum())
    ### END SOLUTION
'''


SPEC_SOURCE = '''
from autograder.specs import Case, Spec


def _cases(rng):
    yield Case("typical", (rng.normal(size=(4, 3)), 2.0))
    yield Case("one row", (rng.normal(size=(1, 5)),), {"scale": -1.0})


SPECS = [Spec("scaled_sum", cases=_cases, outputs=("rows", "total"), vectorised=True)]
'''


@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """An assignment folder with one answer cell defining scaled_sum and its spec file; the working
    directory is that folder, as for a notebook running in it."""
    folder = tmp_path / "solutions" / "ax"
    folder.mkdir(parents=True)
    answer = new_code_cell(REFERENCE_SOURCE, metadata={"nbgrader": {
        "grade": False, "grade_id": "scaled_sum", "locked": False, "schema_version": 3, "solution": True}})
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"), answer]), folder / "01_fake.ipynb")
    (folder / "01_fake.specs.py").write_text(SPEC_SOURCE, encoding="utf-8")
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.source_directory = 'solutions'\n")
    monkeypatch.chdir(folder)
    monkeypatch.delenv(record.DIR_ENV, raising=False)
    monkeypatch.delenv(record.SPECS_ENV, raising=False)
    return Assignment.from_folder(folder)


def define(source: str):
    """Define a function from source text, as a notebook cell would (so inspect can read it)."""
    namespace: dict = {"np": np}
    path = f"<cell-{abs(hash(source))}>"
    import linecache
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace["scaled_sum"]


def test_reference_is_loaded_from_the_answer_cell(fake_course):
    fn = fake_course.reference("scaled_sum")
    rows, total = fn(np.ones((2, 3)), 2.0)
    np.testing.assert_array_equal(rows, [6.0, 6.0]) and total == 12.0


def test_correct_student_passes(fake_course):
    student = define("def scaled_sum(x, scale):\n    r = scale * np.sum(x, axis=1)\n    return r, r.sum()\n")
    checks.check_against_reference("scaled_sum", student)


def test_wrong_values_fail_without_revealing_the_reference(fake_course):
    student = define("def scaled_sum(x, scale):\n    r = x.sum(axis=1)\n    return r, r.sum()\n")
    with pytest.raises(AssertionError, match="case 'typical': rows differs from the reference in 4 of 4") as info:
        checks.check_against_reference("scaled_sum", student)
    assert "[" not in str(info.value)  # no arrays printed


@pytest.mark.parametrize("body, message", [
    ("return x.sum(axis=1)", "expected 2 return values"),
    ("return x.sum(axis=0) * scale, 0.0", "has shape"),
    ("raise NotImplementedError()", "not implemented yet"),
    ("raise ValueError('bad')", "raised ValueError: bad"),
    ("x *= scale\n    r = x.sum(axis=1)\n    return r, r.sum()", "changed its argument #1 in place"),
    ("r = np.array([sum(row) for row in x]) * scale\n    return r, r.sum()", "list comprehension"),
])
def test_failures_say_what_is_wrong(fake_course, body, message):
    student = define(f"def scaled_sum(x, scale):\n    {body}\n")
    with pytest.raises(AssertionError, match=message):
        checks.check_against_reference("scaled_sum", student)


def test_objects_equal_to_everything_fail(fake_course):
    student = define(
        "class Liar:\n    def __eq__(self, other):\n        return True\n    __array_priority__ = 1000\n"
        "def scaled_sum(x, scale):\n    return Liar(), Liar()\n")
    with pytest.raises(AssertionError, match="a Liar; expected a NumPy array"):
        checks.check_against_reference("scaled_sum", student)


def test_loops_in_called_helpers_are_found(fake_course):
    source = ("def helper(x):\n    total = 0\n    for row in x:\n        total = total + row.sum()\n    return total\n"
              "def scaled_sum(x, scale):\n    return x.sum(axis=1) * scale, helper(x) * scale\n")
    namespace = {"np": np, "__name__": "cellmod"}
    import linecache
    linecache.cache["<loops>"] = (len(source), None, source.splitlines(True), "<loops>")
    exec(compile(source, "<loops>", "exec"), namespace)
    with pytest.raises(AssertionError, match="for loop in helper, line 3"):
        checks.assert_no_loops(namespace["scaled_sum"])


def test_unknown_names_are_setup_errors(fake_course):
    with pytest.raises(specs.SpecError, match="No spec for 'no_such_function'"):
        fake_course.spec("no_such_function")
    with pytest.raises(CourseError, match="defines 'nothing'"):
        fake_course.reference("nothing")
    with pytest.raises(AssertionError, match="No spec for 'nothing'"):
        checks.check_against_reference("nothing", len)


def _judge_channel(assignment, folder, salt=0):
    """Read every record in ``folder`` and judge it as the grading process does."""
    outcomes = []
    for path in sorted(folder.glob("*.npz")):
        collected = record.read(path)
        try:
            judge.judge(collected, assignment.spec(collected.name), assignment.reference(collected.name), salt)
            outcomes.append("pass")
        except AssertionError as error:
            outcomes.append(str(error))
    return outcomes


@pytest.mark.parametrize("body, outcome", [
    ("r = scale * np.sum(x, axis=1)\n    return r, r.sum()", "pass"),
    ("r = x.sum(axis=1)\n    return r, r.sum()", "rows differs from the reference"),
    ("class Liar:\n        def __eq__(self, other):\n            return True\n    return Liar(), 0.0",
     "it returned a Liar"),
])
def test_in_grading_mode_the_kernel_only_records_and_the_grader_judges(fake_course, tmp_path, monkeypatch,
                                                                        body, outcome):
    folder = tmp_path / "verdicts"
    folder.mkdir()
    monkeypatch.setenv(record.DIR_ENV, str(folder))
    monkeypatch.setenv(record.SPECS_ENV, str(fake_course.source_dir))
    monkeypatch.setenv(record.SALT_ENV, "12345")
    student = define(f"def scaled_sum(x, scale):\n    {body}\n")
    checks.check_against_reference("scaled_sum", student)  # never raises in the kernel
    results = _judge_channel(fake_course, folder, salt=12345)
    assert len(results) == 1 and outcome in results[0]


def test_grader_detects_inputs_changed_in_the_kernel(fake_course, tmp_path, monkeypatch):
    folder = tmp_path / "verdicts"
    folder.mkdir()
    monkeypatch.setenv(record.DIR_ENV, str(folder))
    monkeypatch.setenv(record.SPECS_ENV, str(fake_course.source_dir))
    student = define("def scaled_sum(x, scale):\n    r = scale * np.sum(x, axis=1)\n    return r, r.sum()\n")
    checks.check_against_reference("scaled_sum", student)  # recorded with salt 0 (none set)
    assert "inputs were changed" in _judge_channel(fake_course, folder, salt=7)[0]


def test_a_forged_record_file_is_a_record_error(tmp_path):
    forged = tmp_path / "00000-1.npz"
    forged.write_bytes(b"PK not really a zip")
    with pytest.raises(record.RecordError):
        record.read(forged)


def test_run_and_companion_call_functions_defined_beside_the_checked_one():
    namespace: dict = {}
    exec("def forward(x):\n    return 2 * x, x\ndef backward(dout, cache):\n    return 2 * dout\n", namespace)
    spec = specs.Spec("backward", cases=lambda rng: [specs.Case("one", (np.ones(3), np.ones(3)))],
                      run=lambda fn, case: fn(case.args[1], specs.companion(fn, "forward")(case.args[0])[1]))
    assert np.array_equal(spec.run(namespace["backward"], next(iter(spec.cases(None)))), 2 * np.ones(3))
    del namespace["forward"]
    with pytest.raises(AssertionError, match="checked together with forward"):
        spec.run(namespace["backward"], next(iter(spec.cases(None))))


def _images(count, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, 4, 4, 3)).astype(np.uint8), rng.integers(0, 3, size=count)


def test_check_accuracy_while_working_measures_on_the_given_images(monkeypatch, capsys):
    monkeypatch.delenv(record.DIR_ENV, raising=False)
    images, labels = _images(20)
    assert checks.check_accuracy("toy", lambda batch: labels[:len(batch)], images, labels, threshold=0.9) is None
    assert "accuracy 1.000 on 20 validation images" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="below the target 0.90"):
        checks.check_accuracy("toy", lambda batch: np.zeros(len(batch), int), images, labels + 1, threshold=0.9)
    with pytest.raises(TypeError, match="one integer label per image"):
        checks.check_accuracy("toy", lambda batch: batch.mean(axis=(1, 2, 3)), images, labels, threshold=0.1)


def test_check_accuracy_while_graded_records_predictions_and_the_grader_counts(tmp_path, monkeypatch):
    channel, heldout = tmp_path / "channel", tmp_path / "heldout"
    channel.mkdir(), heldout.mkdir()
    images, labels = _images(1200, seed=1)
    np.save(heldout / "toy.npy", images)
    monkeypatch.setenv(record.DIR_ENV, str(channel))
    monkeypatch.setenv(record.HELDOUT_ENV, str(heldout))
    spec = specs.AccuracySpec("toy", thresholds={"synthetic": 0.5}, images=1200)
    # The kernel's threshold, images and labels are ignored; the predictions are what count.
    assert checks.check_accuracy("toy", lambda batch: np.zeros(len(batch), int), images[:1], labels[:1], 0.0) is None
    collected = record.read(next(channel.glob("*.npz")))
    assert collected.results[0].output.shape == (1200,)
    failures = judge.accuracy_failures(collected, spec, labels, "synthetic")
    assert failures and "on 1200 held-out images; the target is 0.50" in failures[0]
    collected.results[0].output = labels.copy()
    assert judge.accuracy_failures(collected, spec, labels, "synthetic") == []
    collected.results[0].output = labels[:10]
    assert "not one integer label per held-out image" in judge.accuracy_failures(collected, spec, labels, "synthetic")[0]


def test_an_accuracy_spec_needs_thresholds_and_names_its_dataset():
    with pytest.raises(specs.SpecError, match="needs thresholds"):
        specs.AccuracySpec("toy")
    with pytest.raises(specs.SpecError, match="no threshold for the dataset 'cifar10'"):
        specs.AccuracySpec("toy", thresholds={"synthetic": 0.3}).threshold("cifar10")
