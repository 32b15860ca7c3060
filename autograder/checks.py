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
import inspect
import textwrap
from typing import Any, Callable

import numpy as np

from autograder import references, specs

# Calls that are Python loops in disguise.
_LOOP_CALLS = {"vectorize", "apply_along_axis", "apply_over_axes", "frompyfunc", "map", "fromiter"}
_LOOP_NODES = {ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop",
               ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
               ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}


def check_against_reference(name: str, student_fn: Callable) -> None:
    """Compare ``student_fn`` with the reference solution called ``name`` on the spec's cases.

    Raises:
        AssertionError: an output differs, has the wrong type or shape, the function raised,
            changed its inputs, or (for vectorised functions) contains a Python loop.
    """
    spec = specs.get(name)
    if not callable(student_fn):
        raise AssertionError(f"{name} is not a function; it is a {type(student_fn).__name__}.")
    reference_fn = references.reference(name)
    if spec.vectorised:
        assert_no_loops(student_fn, name)
    if spec.custom is not None:
        spec.custom(student_fn, reference_fn, spec.rng())
        return
    for case in spec.cases(spec.rng()):
        expected = reference_fn(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        got = call_student(student_fn, name, case.label, args, kwargs)
        if not spec.may_modify_inputs:
            _assert_inputs_unchanged(name, case, args, kwargs)
        compare_outputs(got, expected, spec, case.label)


def call_student(fn: Callable, name: str, label: str, args: tuple, kwargs: dict) -> Any:
    """Call ``fn``; turn any exception into an AssertionError naming the case."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as error:
        raise AssertionError(f"{name} is not implemented yet (case '{label}').") from error
    except Exception as error:
        raise AssertionError(f"{name}, case '{label}': raised {type(error).__name__}: {error}") from error


def _assert_inputs_unchanged(name: str, case: specs.Case, args: tuple, kwargs: dict) -> None:
    originals = list(case.args) + list(case.kwargs.values())
    after = list(args) + list(kwargs.values())
    for position, (before, now) in enumerate(zip(originals, after)):
        if isinstance(before, np.ndarray) and not np.array_equal(before, now, equal_nan=True):
            raise AssertionError(f"{name}, case '{case.label}': it changed its argument #{position + 1} in place; "
                                 f"work on a copy instead.")


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
