"""Tests of the hidden-test check API (autograder.checks) on a small fake solutions folder."""
from __future__ import annotations

import sys

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import checks, references, specs, verdicts

REFERENCE_SOURCE = '''
import numpy as np

def scaled_sum(x, scale):
    """(N, D) float, float -> ((N,) float, float)."""
    ### BEGIN SOLUTION
    rows = x.sum(axis=1) * scale
    return rows, float(rows.sum())
    ### END SOLUTION
'''


@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """A solutions folder with one answer cell defining scaled_sum, and its spec."""
    folder = tmp_path / "solutions" / "ax"
    folder.mkdir(parents=True)
    answer = new_code_cell(REFERENCE_SOURCE, metadata={"nbgrader": {
        "grade": False, "grade_id": "scaled_sum", "locked": False, "schema_version": 3, "solution": True}})
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1"), answer]), folder / "01_fake.ipynb")
    monkeypatch.setenv(references.SOLUTIONS_ENV, str(tmp_path / "solutions"))
    references._index.cache_clear()
    references._load.cache_clear()

    def cases(rng):
        yield specs.Case("typical", (rng.normal(size=(4, 3)), 2.0))
        yield specs.Case("one row", (rng.normal(size=(1, 5)),), {"scale": -1.0})

    spec = specs.Spec("scaled_sum", cases=cases, outputs=("rows", "total"), vectorised=True)
    monkeypatch.setitem(specs._REGISTRY, "scaled_sum", spec)
    yield spec
    references._index.cache_clear()
    references._load.cache_clear()


def define(source: str):
    """Define a function from source text, as a notebook cell would (so inspect can read it)."""
    namespace: dict = {"np": np}
    path = f"<cell-{abs(hash(source))}>"
    import linecache
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace["scaled_sum"]


def test_reference_is_loaded_from_the_answer_cell(fake_course):
    fn = references.reference("scaled_sum")
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
    with pytest.raises(AssertionError, match="is a Liar; expected a NumPy array"):
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
    with pytest.raises(KeyError, match="No spec registered"):
        specs.get("no_such_function")
    with pytest.raises(references.MissingReferenceError, match="defines 'nothing'"):
        references.reference("nothing")


def _judge_channel(folder, salt=0):
    """Read every record in ``folder`` and judge it as the grading process does."""
    outcomes = []
    for path in sorted(folder.glob("*.npz")):
        record, arrays = verdicts.read(path)
        try:
            checks.judge(checks.from_record(record, arrays), salt)
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
    monkeypatch.setenv(verdicts.DIR_ENV, str(folder))
    monkeypatch.setenv(verdicts.SALT_ENV, "12345")
    student = define(f"def scaled_sum(x, scale):\n    {body}\n")
    checks.check_against_reference("scaled_sum", student)  # never raises in the kernel
    results = _judge_channel(folder, salt=12345)
    assert len(results) == 1 and outcome in results[0]


def test_grader_detects_inputs_changed_in_the_kernel(fake_course, tmp_path, monkeypatch):
    folder = tmp_path / "verdicts"
    folder.mkdir()
    monkeypatch.setenv(verdicts.DIR_ENV, str(folder))
    student = define("def scaled_sum(x, scale):\n    r = scale * np.sum(x, axis=1)\n    return r, r.sum()\n")
    checks.check_against_reference("scaled_sum", student)  # recorded with salt 0 (none set)
    assert "inputs were changed" in _judge_channel(folder, salt=7)[0]


def test_a_forged_record_file_is_a_record_error(tmp_path):
    forged = tmp_path / "00000-1.npz"
    forged.write_bytes(b"PK not really a zip")
    with pytest.raises(verdicts.RecordError):
        verdicts.read(forged)


def test_run_and_companion_call_functions_defined_beside_the_checked_one():
    namespace: dict = {}
    exec("def forward(x):\n    return 2 * x, x\ndef backward(dout, cache):\n    return 2 * dout\n", namespace)
    spec = specs.Spec("backward", cases=lambda rng: [specs.Case("one", (np.ones(3), np.ones(3)))],
                      run=lambda fn, case: fn(case.args[1], specs.companion(fn, "forward")(case.args[0])[1]))
    assert np.array_equal(spec.run(namespace["backward"], next(iter(spec.cases(None)))), 2 * np.ones(3))
    del namespace["forward"]
    with pytest.raises(AssertionError, match="checked together with forward"):
        spec.run(namespace["backward"], next(iter(spec.cases(None))))
