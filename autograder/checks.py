"""The check API that hidden tests call, and the half of a check that runs in the student's kernel.

A hidden test is one line::

    check_against_reference("svm_loss_vectorized", svm_loss_vectorized)

In the kernel this module only *collects*: it calls the student's function on the inputs of the
function's spec (seeded random inputs over several configurations, edge cases included) and records
the outputs as plain data in a :class:`~autograder.record.CheckRecord`. Where the verdict is
reached depends on where the notebook runs:

* during grading the record goes to the grader through the channel folder, and the grading
  process judges it against the reference outside the kernel (:mod:`autograder.judge`);
* in an instructor's own run of a solution notebook (JupyterLab, nbval, plain ``nbgrader
  autograde``) the record is judged right here, against the reference solution of the course's
  source folder: the course is the one holding the working directory (or ``$COURSE_DIR``), and the
  assignment is the working directory's name.

The specs are the assignment's spec files (``*.specs.py``): in grading, those the grader copied to
the folder named by ``COURSE_SPECS_DIR``; otherwise those of the assignment's source folder.
Functions a spec marks as vectorised must contain no Python loop, which is checked on their
syntax tree, not by timing.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import functools
import hashlib
import inspect
import json
import os
import textwrap
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autograder import record, specs, stand_ins

# Calls that are Python loops in disguise.
_LOOP_CALLS = {"vectorize", "apply_along_axis", "apply_over_axes", "frompyfunc", "map", "fromiter"}
_LOOP_NODES = {ast.For: "for loop", ast.AsyncFor: "async for loop", ast.While: "while loop",
               ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
               ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}


@functools.lru_cache(maxsize=None)
def _graded_specs(folder: Path) -> specs.SpecBook:
    """The specs the grader copied for this kernel."""
    return specs.load(specs.spec_files(folder), namespace=folder.name)


@functools.lru_cache(maxsize=None)
def _local_assignment(here: Path) -> Any:
    """The assignment whose notebook runs in ``here``: the course's source folder of that name."""
    from autograder.course import Course, CourseError

    try:
        return Course.locate(cwd=here).assignment(here.name)
    except CourseError as error:
        raise AssertionError(f"This hidden check runs only in the instructor's course folder or during grading: "
                             f"{error}") from None


def check_against_reference(name: str, student_fn: Callable) -> None:
    """Check ``student_fn`` against the reference solution called ``name`` on the spec's cases.

    Raises:
        AssertionError: (judged here) an output differs, has the wrong type or shape, the function
            raised, changed its inputs, or (for vectorised functions) contains a Python loop.
    """
    salt, target, graded_specs = record.salt(), record.channel(), os.environ.get(record.SPECS_ENV)
    if target is not None and graded_specs:  # grading: the grading process judges the record outside this kernel
        book = _graded_specs(Path(graded_specs))
        if name not in book:
            raise AssertionError(f"No spec for {name!r}; the grader will report it.")
        spec = book[name]
        record.write(collect(spec, student_fn, salt, _graded_stand_ins(spec)), target)
        return
    from autograder import judge

    judge.check_locally(_local_assignment(Path.cwd().resolve()), name, student_fn, salt)


def _graded_stand_ins(spec: specs.Spec) -> stand_ins.CallsByCase | None:
    """The reference's helper calls the grader recorded for ``spec`` (None when it has no stand-ins)."""
    folder = os.environ.get(record.STAND_INS_ENV)
    if not spec.stand_ins or not folder:
        return None
    try:
        return stand_ins.loads((Path(folder) / f"{spec.name}{stand_ins.FILE_SUFFIX}").read_bytes())
    except (OSError, record.RecordError):  # nothing to replay: the student's own helpers run, as in a local check
        return None


PREDICT_BATCH = 500


def _predictions(predict: Callable, images: np.ndarray) -> np.ndarray:
    """``predict`` applied batch by batch; (N,) labels. Raises what ``predict`` raises, or TypeError."""
    if not callable(predict):
        raise TypeError(f"predict must be a function of images; got a {type(predict).__name__}")
    parts = []
    for start in range(0, len(images), PREDICT_BATCH):
        batch = images[start:start + PREDICT_BATCH]
        labels = np.asarray(predict(batch.copy()))
        if labels.shape != (len(batch),) or labels.dtype.kind not in "biu":
            raise TypeError(f"predict must return one integer label per image, shape ({len(batch)},); "
                            f"it returned {labels.dtype} values of shape {labels.shape}")
        parts.append(labels.astype(np.int64))
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def check_accuracy(name: str, predict: Callable, images: np.ndarray, labels: np.ndarray, threshold: float) -> None:
    """Check that ``predict`` classifies images well enough.

    Args:
        name: the accuracy target's name in the course.
        predict: a function of raw images, (B, 32, 32, 3) uint8, to labels, (B,) int; it must do all
            its own preprocessing (mean image, features, bias column, ...).
        images: (N, 32, 32, 3) uint8 validation images, used while you work.
        labels: (N,) int, their labels.
        threshold: the accuracy to reach on them.

    While you work, it prints the accuracy on ``images`` and raises when it is below ``threshold``.
    During grading, ``predict`` gets a fresh held-out set whose labels stay with the grader, which
    computes the accuracy and the verdict itself against the course's target. It returns nothing
    (a graded cell that ends in a number would be read as a score by plain nbgrader).

    Raises:
        AssertionError: (while you work) the accuracy is below ``threshold``.
    """
    target, heldout = record.channel(), os.environ.get(record.HELDOUT_ENV)
    if target is not None and heldout:
        collected = record.CheckRecord(name)
        result = record.CaseResult(record.HELDOUT_LABEL)
        try:
            result.output = _predictions(predict, np.load(Path(heldout) / f"{name}.npy", allow_pickle=False))
        except FileNotFoundError:
            result.error = f"{name}: the grader has no held-out set of that name; the accuracy cannot be judged."
        except Exception as error:  # the student's predict failed: recorded as this check's failure
            result.error = f"{name}: predict raised {type(error).__name__}: {error}"
        collected.results.append(result)
        record.write(collected, target)
        return
    images, labels = np.asarray(images), np.asarray(labels)
    if images.ndim != 4 or labels.shape != (len(images),):
        raise AssertionError(f"check_accuracy needs images of shape (N, H, W, C) and N labels; got {images.shape} "
                             f"and {labels.shape}")
    accuracy = float(np.mean(_predictions(predict, images) == labels))
    print(f"{name}: accuracy {accuracy:.3f} on {len(images)} validation images (target {threshold:.2f})")
    assert accuracy >= threshold, (f"{name}: accuracy {accuracy:.3f} is below the target {threshold:.2f}; check the "
                                   f"functions this model uses and its training")


def collect(spec: specs.Spec, student_fn: Callable, salt: int = 0,
            replayed: stand_ins.CallsByCase | None = None) -> record.CheckRecord:
    """Run the student's function on every case of ``spec``; return what it did.

    Args:
        replayed: for a spec with stand-ins, the reference's helper calls per case
            (:func:`autograder.stand_ins.record_calls`); the student's helpers replay them while
            the case runs. None runs the student's own helpers (a student's local check).

    Never raises because of the student's code; failures are recorded in the result.
    """
    name = spec.name
    collected = record.CheckRecord(name)
    if not callable(student_fn):
        collected.problems.append(f"{name} is not a function; it is a {type(student_fn).__name__}.")
        return collected
    if spec.vectorised:
        loops = _loops_or_message(student_fn, spec.stand_ins)
        if loops:
            collected.problems.append(f"{name} must be fully vectorised, with no Python loops; found: {loops}.")
    for case in spec.cases(spec.rng(salt)):
        args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
        result = record.CaseResult(case.label, inputs=input_digest(case))
        replay = (contextlib.nullcontext() if replayed is None or not spec.stand_ins
                  else stand_ins.replaying(spec, student_fn, replayed.get(case.label, []), collected.notes))
        try:
            with replay:
                result.output = run_case(spec, student_fn, specs.Case(case.label, args, kwargs))
        except NotImplementedError:
            result.error = f"{name} is not implemented yet (case '{case.label}')."
        except AssertionError as error:  # raised by a spec's run, e.g. a missing companion
            result.error = f"{name}, case '{case.label}': {error}"
        except Exception as error:  # the student's code raised: recorded as this case's failure
            result.error = f"{name}, case '{case.label}': raised {type(error).__name__}: {error}"
        else:
            if not spec.may_modify_inputs:
                result.error = _changed_inputs(name, case, args, kwargs)
        collected.results.append(result)
    return collected


def run_case(spec: specs.Spec, fn: Callable, case: specs.Case) -> Any:
    """Call ``fn`` on one case the way ``spec`` says (its ``run``, else a plain call)."""
    if spec.run is not None:
        return spec.run(fn, case)
    return fn(*case.args, **case.kwargs)


def input_digest(case: specs.Case) -> str:
    """A SHA-256 digest of a case's arguments (plain data), the same inside and outside the kernel."""
    arrays: dict[str, np.ndarray] = {}
    structure = record.encode_value((tuple(case.args), dict(case.kwargs)), arrays)
    digest = hashlib.sha256(json.dumps(structure, sort_keys=True).encode())
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _loops_or_message(fn: Callable, exempt: tuple[str, ...] = ()) -> str:
    try:
        return "; ".join(find_loops(fn, exempt=exempt))
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


def find_loops(fn: Callable, _seen: set | None = None, exempt: tuple[str, ...] = ()) -> list[str]:
    """Describe the Python loops in ``fn`` and in the functions of its own module that it calls.

    Args:
        exempt: names of helpers not followed (graded on their own, e.g. a spec's stand-ins).

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
            if inspect.isfunction(helper) and helper.__module__ == fn.__module__ and called not in exempt:
                found += find_loops(helper, seen, exempt)
    return found


def assert_no_loops(fn: Callable, name: str | None = None) -> None:
    """Raise AssertionError if ``fn`` (or a helper of its own module that it calls) loops in Python."""
    loops = find_loops(fn)
    if loops:
        raise AssertionError(f"{name or fn.__name__} must be fully vectorised, with no Python loops; found: "
                             + "; ".join(loops) + ".")
