"""The grader's half of a check: judge what the kernel recorded against the reference, outside it.

:func:`judge` replays the spec's cases with the grader's salt, verifies that the record answers
exactly those cases on exactly those inputs, runs the reference on each, and compares. Only plain
numbers, NumPy arrays, and tuples, lists or dicts of them count as outputs; any other object (one
whose ``==`` always says True, say) never reaches this side. Messages name the case and the size of
the error, never the reference's output.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from autograder import checks, record, specs, stand_ins


@dataclass
class Verdict:
    """The grader's verdict on one check.

    Attributes:
        cases: how many cases the spec has.
        passed: how many of them the record passes.
        problems: failures of the whole function (a loop under the vectorisation rule, tampering).
        failures: one message per failing case.
    """

    cases: int
    passed: int = 0
    problems: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """Every reason, problems first."""
        return self.problems + self.failures

    def fraction(self, credit: specs.Credit) -> float:
        """The share of the points earned under ``credit``."""
        if self.problems or not self.cases:
            return 0.0
        if credit is specs.Credit.ALL_OR_NOTHING:
            return 1.0 if self.passed == self.cases else 0.0
        return self.passed / self.cases


def judge(collected: record.CheckRecord, spec: specs.Spec, reference_fn: Callable, salt: int = 0) -> None:
    """Compare what was collected for ``spec`` with ``reference_fn``.

    Raises:
        AssertionError: on the first problem or failing case, with a message for the student.
    """
    failures = failures_of(collected, spec, reference_fn, salt)
    if failures:
        raise AssertionError(failures[0])


def failures_of(collected: record.CheckRecord, spec: specs.Spec, reference_fn: Callable, salt: int = 0) -> list[str]:
    """Every reason the record fails (empty when it passes): problems first, then one per failing case."""
    return verdict(collected, spec, reference_fn, salt).messages


def verdict(collected: record.CheckRecord, spec: specs.Spec, reference_fn: Callable, salt: int = 0) -> Verdict:
    """Judge every case of the record against ``reference_fn`` on the inputs the grader regenerates."""
    cases = list(spec.cases(spec.rng(salt)))
    found = Verdict(len(cases), problems=list(collected.problems))
    if collected.name != spec.name:
        found.problems.append(f"{spec.name}: the record is about {collected.name!r}; the check was tampered with.")
        return found
    if [case.label for case in cases] != [result.label for result in collected.results]:
        found.problems.append(f"{spec.name}: the recorded cases do not match the spec; the check was tampered with.")
        return found
    for case, result in zip(cases, collected.results):
        failure = _case_failure(spec, case, result, reference_fn)
        if failure is None:
            found.passed += 1
        else:
            found.failures.append(failure)
    return found


def _case_failure(spec: specs.Spec, case: specs.Case, result: record.CaseResult, reference_fn: Callable) -> str | None:
    if result.error:
        return result.error
    if result.inputs != checks.input_digest(case):
        return (f"{spec.name}, case '{case.label}': the check's inputs were changed inside the notebook; the check "
                f"was tampered with.")
    expected = checks.run_case(spec, reference_fn, copy.deepcopy(case))
    try:
        if spec.judge is not None:
            try:
                spec.judge(result.output, expected, case)
            except AssertionError as error:
                raise AssertionError(f"{spec.name}, case '{case.label}': {error}") from None
        else:
            compare_outputs(result.output, expected, spec, case.label)
    except AssertionError as error:
        return str(error)
    return None


# In the message of a target missed by a model that ran (predictions were made and counted).
MISSED_TARGET = "held-out images; the target is"


def accuracy_verdict(collected: record.CheckRecord, spec: specs.AccuracySpec, labels: np.ndarray,
                     dataset: str) -> Verdict:
    """:func:`accuracy_failures` as a :class:`Verdict` of one case (an accuracy is reached or not)."""
    failures = accuracy_failures(collected, spec, labels, dataset)
    return Verdict(1, passed=0 if failures else 1, problems=failures)


def accuracy_failures(collected: record.CheckRecord, spec: specs.AccuracySpec, labels: np.ndarray,
                      dataset: str) -> list[str]:
    """Why the recorded predictions miss the accuracy target (empty when they reach it).

    Args:
        collected: the kernel's record: one result holding the predicted labels of the held-out images.
        spec: the accuracy target.
        labels: (N,) int, the true labels of the held-out images, known only to the grader.
        dataset: the dataset the images come from (it selects the threshold).
    """
    if collected.name != spec.name or [r.label for r in collected.results] != [record.HELDOUT_LABEL]:
        return [f"{spec.name}: the accuracy record does not match the check; the check was tampered with."]
    result = collected.results[0]
    if collected.problems or result.error:
        return [*collected.problems, *([result.error] if result.error else [])]
    predictions = result.output
    if type(predictions) is not np.ndarray or predictions.shape != labels.shape or predictions.dtype.kind not in "biu":
        return [f"{spec.name}: the predictions are not one integer label per held-out image."]
    accuracy, needed = float(np.mean(predictions == labels)), spec.threshold(dataset)
    if accuracy < needed:
        return [f"{spec.name}: accuracy {accuracy:.3f} on {len(labels)} {MISSED_TARGET} {needed:.2f}"]
    return []


def check_locally(assignment: Any, name: str, student_fn: Callable, salt: int = 0) -> None:
    """Collect and judge in this process: ``student_fn`` against ``assignment``'s reference ``name``.

    Args:
        assignment: an :class:`autograder.course.Assignment`.
        name: the graded function's name (its spec and reference).
        student_fn: the implementation to check.
        salt: the salt of the inputs (0 is what an instructor's notebook run uses).

    Raises:
        AssertionError: the implementation fails the check.
    """
    try:
        spec = assignment.spec(name)
    except specs.SpecError as error:
        raise AssertionError(str(error)) from None
    reference_fn = assignment.reference(name)
    replayed = stand_ins.record_calls(spec, reference_fn, salt) if spec.stand_ins else None
    collected = checks.collect(spec, student_fn, salt, replayed)
    # Through the codec, as in grading: what cannot travel out of a kernel fails here too.
    judge(record.loads(record.dumps(collected)), spec, reference_fn, salt)


def _as_numeric(value: Any, where: str) -> np.ndarray:
    """Return ``value`` as an array if it is a plain number, array, or list/tuple of numbers."""
    if type(value) in (bool, int, float) or isinstance(value, np.generic) or type(value) is np.ndarray:
        array = np.asarray(value)
    elif type(value) in (list, tuple):
        try:
            array = np.asarray(value)
        except ValueError:  # ragged nesting
            array = np.asarray(None)
    else:
        raise AssertionError(f"{where} is a {type(value).__name__}; expected a NumPy array or a number.")
    if array.dtype.kind not in "biuf":
        raise AssertionError(f"{where} holds {array.dtype} values; expected numbers.")
    return array


def _compare_arrays(got: Any, expected: Any, spec: specs.Spec, where: str) -> None:
    expected_array = np.asarray(expected)
    got_array = _as_numeric(got, where)
    if got_array.shape != expected_array.shape:
        raise AssertionError(f"{where} has shape {got_array.shape}; expected {expected_array.shape}.")
    if spec.exact:
        wrong = int(np.count_nonzero(got_array != expected_array))
        if wrong:
            raise AssertionError(f"{where} differs from the reference in {wrong} of {expected_array.size} entries.")
        return
    got64, ref64 = got_array.astype(np.float64), expected_array.astype(np.float64)
    error = np.abs(got64 - ref64)
    bad = ~(error <= spec.atol + spec.rtol * np.abs(ref64))  # NaN in either counts as bad
    bad &= ~(np.isnan(got64) & np.isnan(ref64))
    if bad.any():
        finite = error[np.isfinite(error)]
        largest = f"largest error {finite.max():.2e}" if finite.size else "non-finite values"
        raise AssertionError(
            f"{where} differs from the reference in {int(bad.sum())} of {ref64.size} entries ({largest}; "
            f"allowed {spec.atol:.0e} + {spec.rtol:.0e} * |reference|).")


def compare_outputs(got: Any, expected: Any, spec: specs.Spec, label: str) -> None:
    """Compare a student's return value with the reference's, structure first, then values."""
    where = f"{spec.name}, case '{label}'"
    if isinstance(expected, tuple):
        names = spec.outputs or tuple(f"output {i + 1}" for i in range(len(expected)))
        if type(got) not in (tuple, list) or len(got) != len(expected):
            length = f" of length {len(got)}" if type(got) in (tuple, list) else ""
            raise AssertionError(f"{where}: expected {len(expected)} return values ({', '.join(names)}); "
                                 f"got {type(got).__name__}{length}.")
        for part_name, got_part, expected_part in zip(names, got, expected):
            _compare_value(got_part, expected_part, spec, f"{where}: {part_name}")
    else:
        name = spec.outputs[0] if spec.outputs else "the result"
        _compare_value(got, expected, spec, f"{where}: {name}")


def _compare_value(got: Any, expected: Any, spec: specs.Spec, where: str) -> None:
    if isinstance(expected, dict):
        if type(got) is not dict:
            raise AssertionError(f"{where} is a {type(got).__name__}; expected a dict with keys {sorted(expected)}.")
        if set(got) != set(expected):
            raise AssertionError(f"{where} has keys {sorted(map(str, got))}; expected {sorted(expected)}.")
        for key in expected:
            _compare_arrays(got[key], expected[key], spec, f"{where}[{key!r}]")
    else:
        _compare_arrays(got, expected, spec, where)
