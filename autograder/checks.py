"""The check API that hidden tests call.

A hidden test is one line::

    check_against_reference("svm_loss_vectorized", svm_loss_vectorized)

It runs the student's function and the reference solution (loaded by name from the solution
notebook) on the inputs of the function's spec (:mod:`autograder.specs`): seeded random inputs
over several configurations, edge cases included. It passes silently or raises an AssertionError
that names the configuration and the size of the error, never the reference's output.

Only plain numbers, NumPy arrays, and tuples, lists or dicts of them count as outputs; any other
object (one whose ``==`` always says True, say) fails. Functions a spec marks as vectorised must
contain no Python loop, which is checked on their syntax tree, not by timing.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import inspect
import json
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from autograder import references, specs, verdicts

# Calls that are Python loops in disguise.
_LOOP_CALLS = {"vectorize", "apply_along_axis", "apply_over_axes", "frompyfunc", "map", "fromiter"}
_LOOP_NODES = {ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop",
               ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
               ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}


@dataclass
class CaseResult:
    """What the student's function did on one case: its output (plain data) or why it failed."""

    label: str
    output: Any = None
    error: str | None = None
    inputs: str = ""  # digest of the case's inputs, to detect inputs changed inside the kernel


@dataclass
class Collected:
    """Everything the kernel half of a check gathers about one student function."""

    name: str
    problems: list[str] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)


def check_against_reference(name: str, student_fn: Callable) -> None:
    """Compare ``student_fn`` with the reference solution called ``name`` on the spec's cases.

    Raises:
        AssertionError: an output differs, has the wrong type or shape, the function raised,
            changed its inputs, or (for vectorised functions) contains a Python loop.
    """
    folder = verdicts.channel()
    collected = collect(name, student_fn, verdicts.salt())
    if folder is None:
        judge(collected)
    else:  # sandboxed grading: the grading process judges the record outside this kernel
        verdicts.submit(to_record(collected), folder)


def collect(name: str, student_fn: Callable, salt: int = 0) -> Collected:
    """The kernel half of a check: run the student's function on every case of the spec.

    Never raises because of the student's code; failures are recorded in the result.
    """
    spec = specs.get(name)
    collected = Collected(name)
    if not callable(student_fn):
        collected.problems.append(f"{name} is not a function; it is a {type(student_fn).__name__}.")
        return collected
    if spec.vectorised:
        loops = _loops_or_message(student_fn)
        if loops:
            collected.problems.append(f"{name} must be fully vectorised, with no Python loops; found: {loops}.")
    for case in spec.cases(spec.rng(salt)):
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        result = CaseResult(case.label, inputs=input_digest(case))
        try:
            result.output = _run(spec, student_fn, specs.Case(case.label, args, kwargs))
        except NotImplementedError:
            result.error = f"{name} is not implemented yet (case '{case.label}')."
        except AssertionError as error:  # raised by a spec's run, e.g. a missing companion
            result.error = f"{name}, case '{case.label}': {error}"
        except Exception as error:
            result.error = f"{name}, case '{case.label}': raised {type(error).__name__}: {error}"
        else:
            if not spec.may_modify_inputs:
                result.error = _changed_inputs(name, case, args, kwargs)
        collected.results.append(result)
    return collected


def judge(collected: Collected, salt: int = 0) -> None:
    """The grader half of a check: compare what was collected with the reference.

    Raises:
        AssertionError: on the first problem or failing case, with a message for the student.
    """
    if collected.problems:
        raise AssertionError(collected.problems[0])
    spec = specs.get(collected.name)
    reference_fn = references.reference(collected.name)
    cases = list(spec.cases(spec.rng(salt)))
    if [case.label for case in cases] != [result.label for result in collected.results]:
        raise AssertionError(f"{collected.name}: the recorded cases do not match the spec; the check was tampered with.")
    for case, result in zip(cases, collected.results):
        if result.error:
            raise AssertionError(result.error)
        if result.inputs != input_digest(case):
            raise AssertionError(f"{collected.name}, case '{case.label}': the check's inputs were changed inside the "
                                 f"notebook; the check was tampered with.")
        expected = _run(spec, reference_fn, copy.deepcopy(case))
        if spec.judge is not None:
            try:
                spec.judge(result.output, expected, case)
            except AssertionError as error:
                raise AssertionError(f"{collected.name}, case '{case.label}': {error}") from None
        else:
            compare_outputs(result.output, expected, spec, case.label)


def input_digest(case: specs.Case) -> str:
    """A SHA-256 digest of a case's arguments (plain data), the same inside and outside the kernel."""
    arrays: dict[str, np.ndarray] = {}
    structure = verdicts.encode((tuple(case.args), dict(case.kwargs)), arrays)
    digest = hashlib.sha256(json.dumps(structure, sort_keys=True).encode())
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def to_record(collected: Collected) -> dict[str, Any]:
    """Encode ``collected`` for :func:`autograder.verdicts.submit` (outputs as plain data only)."""
    arrays: dict[str, np.ndarray] = {}
    results = []
    for result in collected.results:
        entry = {"label": result.label, "error": result.error, "inputs": result.inputs, "output": None}
        if result.error is None:
            try:
                entry["output"] = verdicts.encode(result.output, arrays)
            except verdicts.RecordError as error:
                entry["error"] = f"{collected.name}, case '{result.label}': it returned {error}."
        results.append(entry)
    return {"name": collected.name, "problems": collected.problems, "results": results, "_arrays": arrays}


def from_record(record: dict[str, Any], arrays: Any) -> Collected:
    """Decode a record read by :func:`autograder.verdicts.read`; raises RecordError when malformed."""
    try:
        collected = Collected(str(record["name"]), [str(problem) for problem in record["problems"]])
        for entry in record["results"]:
            output = None if entry["output"] is None else verdicts.decode(entry["output"], arrays)
            collected.results.append(CaseResult(str(entry["label"]), output,
                                                None if entry["error"] is None else str(entry["error"]),
                                                str(entry["inputs"])))
    except (KeyError, TypeError) as error:
        raise verdicts.RecordError(f"malformed record ({error})") from error
    return collected


def _run(spec: specs.Spec, fn: Callable, case: specs.Case) -> Any:
    if spec.run is not None:
        return spec.run(fn, case)
    return fn(*case.args, **case.kwargs)


def _loops_or_message(fn: Callable) -> str:
    try:
        return "; ".join(find_loops(fn))
    except AssertionError as error:
        return str(error)


def _changed_inputs(name: str, case: specs.Case, args: tuple, kwargs: dict) -> str | None:
    originals = list(case.args) + list(case.kwargs.values())
    after = list(args) + list(kwargs.values())
    for position, (before, now) in enumerate(zip(originals, after)):
        if isinstance(before, np.ndarray) and not np.array_equal(before, now, equal_nan=True):
            return (f"{name}, case '{case.label}': it changed its argument #{position + 1} in place; "
                    f"work on a copy instead.")
    return None


def _as_numeric(value: Any, where: str) -> np.ndarray:
    """Return ``value`` as an array if it is a plain number, array, or list/tuple of numbers."""
    if type(value) in (bool, int, float) or isinstance(value, np.generic) or type(value) is np.ndarray:
        array = np.asarray(value)
    elif type(value) in (list, tuple):
        try:
            array = np.asarray(value)
        except Exception:
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
            raise AssertionError(f"{where}: expected {len(expected)} return values ({', '.join(names)}); "
                                 f"got {type(got).__name__}{' of length ' + str(len(got)) if type(got) in (tuple, list) else ''}.")
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


def find_loops(fn: Callable, _seen: set | None = None) -> list[str]:
    """Describe the Python loops in ``fn`` and in the functions of its own module that it calls.

    Returns:
        One entry per loop, e.g. ``"for loop in svm_loss_vectorized, line 12"``; empty when none.
    """
    seen = _seen if _seen is not None else set()
    if fn in seen:
        return []
    seen.add(fn)
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as error:
        raise AssertionError(f"The source of {getattr(fn, '__name__', fn)!r} cannot be read ({error}); define it "
                             f"with `def` in its answer cell.") from error
    name = getattr(fn, "__name__", "function")
    found = []
    for node in ast.walk(ast.parse(source)):
        if type(node) in _LOOP_NODES:
            found.append(f"{_LOOP_NODES[type(node)]} in {name}, line {node.lineno}")
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if called in _LOOP_CALLS:
                found.append(f"call of {called} (a loop in disguise) in {name}, line {node.lineno}")
            helper = getattr(fn, "__globals__", {}).get(called) if isinstance(node.func, ast.Name) else None
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
                found += find_loops(helper, seen)
    return found


def assert_no_loops(fn: Callable, name: str | None = None) -> None:
    """Raise AssertionError if ``fn`` (or a helper of its own module that it calls) loops in Python."""
    loops = find_loops(fn)
    if loops:
        raise AssertionError(f"{name or fn.__name__} must be fully vectorised, with no Python loops; found: "
                             + "; ".join(loops) + ".")
