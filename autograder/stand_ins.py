"""Reference helpers in place of the student's: one mistake costs its own points once.

A composite graded function (HoG features built from their helpers, a ConvNet loss built on the
layers of an earlier notebook) would lose its points again for a mistake in a helper that already
lost its own. Its spec names those helpers in ``stand_ins``: a name of the function's globals
(``"image_gradients"``) or an attribute of a module held there (``"layers.affine_forward"``).

No reference code ever enters the student's kernel. Instead, outside it, the grader runs the
reference composite on every case of the spec and records each call of those helpers: its
arguments, bound to parameter names, and what it returned (:func:`record_calls`). In the kernel,
while the student's composite runs on a case, each helper is replaced by a replayer
(:func:`replaying`): called with arguments equal (to rounding) to a recorded call of that case, it
returns a copy of what the reference returned, and changes the arguments the reference's helper
changed in place (running averages) the same way; called with anything else, it runs the student's
own helper and notes it. So a correct composite earns its points whatever its helpers do, and a wrong
one still fails.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from autograder import record, specs

FILE_SUFFIX = ".stand-ins.npz"
_MUTABLE = (dict, list, np.ndarray)  # arguments a helper may change in place
MAX_NOTES = 5
# Arguments that differ by rounding only (a grey image computed another way) still match.
_RTOL, _ATOL = 1e-6, 1e-8


@dataclass(frozen=True)
class Call:
    """One call of a stood-in helper made by the reference.

    Attributes:
        helper: the stand-in's path (``"layers.batchnorm_forward"``).
        arguments: the arguments by parameter name, as they were before the call.
        result: what it returned.
        changed: the arguments it changed in place (a running-average dict, an array), as they were after.
    """

    helper: str
    arguments: dict[str, Any]
    result: Any
    changed: dict[str, Any] = field(default_factory=dict)


CallsByCase = dict[str, list[Call]]  # case label -> the helper calls the reference made on it, in order


def _resolve(fn: Callable, path: str) -> tuple[Any, str]:
    """The object that holds helper ``path`` seen from ``fn`` (its globals dict or a module), and the name."""
    namespace: Any = getattr(fn, "__globals__", None)
    if namespace is None:
        raise LookupError(f"{getattr(fn, '__name__', fn)!r} is not a plain function")
    *owners, name = path.split(".")
    for owner in owners:
        holder = namespace.get(owner) if isinstance(namespace, dict) else getattr(namespace, owner, None)
        if not isinstance(holder, types.ModuleType):
            raise LookupError(f"{owner!r} is not a module beside {fn.__name__}")
        namespace = holder
    return namespace, name


def _get(holder: Any, name: str) -> Any:
    return holder.get(name) if isinstance(holder, dict) else getattr(holder, name, None)


def _set(holder: Any, name: str, value: Any) -> None:
    if isinstance(holder, dict):
        holder[name] = value
    else:
        setattr(holder, name, value)


@contextlib.contextmanager
def _replaced(fn: Callable, paths: tuple[str, ...], make: Callable[[str, Callable], Callable]) -> Iterator[None]:
    """Within the block, each helper ``path`` seen from ``fn`` is ``make(path, original)``; restored after.

    A helper that ``fn`` cannot see (no such name, not a function) is left alone.
    """
    restore = []
    try:
        for path in paths:
            try:
                holder, name = _resolve(fn, path)
            except LookupError:
                continue
            original = _get(holder, name)
            if callable(original):
                _set(holder, name, make(path, original))
                restore.append((holder, name, original))
        yield
    finally:
        for holder, name, original in reversed(restore):
            _set(holder, name, original)


def _bind(fn: Callable, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults included (positional indices when unbindable)."""
    try:
        bound = inspect.signature(fn).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return {**{f"#{index}": value for index, value in enumerate(args)}, **kwargs}
    bound.apply_defaults()
    return dict(bound.arguments)


def record_calls(spec: specs.Spec, reference_fn: Callable, salt: int) -> CallsByCase:
    """Run the reference on every case of ``spec`` and record its calls of the spec's stand-ins.

    Raises:
        specs.SpecError: a stand-in is not a function the reference can see, or one of its calls
            takes or returns something other than plain data (numbers, arrays, tuples, lists, dicts).
    """
    from autograder import checks

    for path in spec.stand_ins:
        try:
            holder, name = _resolve(reference_fn, path)
        except LookupError as error:
            raise specs.SpecError(f"{spec.name}: the stand-in {path!r} cannot be found ({error}).") from None
        if not callable(_get(holder, name)):
            raise specs.SpecError(f"{spec.name}: the stand-in {path!r} is not a function beside the reference.")
    calls: CallsByCase = {}
    for case in spec.cases(spec.rng(salt)):
        made: list[Call] = []

        def recorder(path: str, original: Callable) -> Callable:
            def record_call(*args: Any, **kwargs: Any) -> Any:
                bound = _bind(original, args, kwargs)
                before = copy.deepcopy(bound)
                result = original(*args, **kwargs)
                changed = {key: copy.deepcopy(value) for key, value in bound.items()
                           if isinstance(value, _MUTABLE) and not _same(value, before[key])}
                made.append(Call(path, before, copy.deepcopy(result), changed))
                return result
            return record_call

        with _replaced(reference_fn, spec.stand_ins, recorder):
            checks.run_case(spec, reference_fn, copy.deepcopy(case))
        calls[case.label] = made
    return calls


def dumps(calls: CallsByCase) -> bytes:
    """Encode recorded calls as the bytes of one ``.npz`` file (plain data only, never pickled).

    Raises:
        specs.SpecError: a call holds something that is not plain data.
    """
    arrays: dict[str, np.ndarray] = {}
    try:
        structure = {label: [{"helper": call.helper, "arguments": record.encode_value(call.arguments, arrays),
                              "result": record.encode_value(call.result, arrays),
                              "changed": record.encode_value(call.changed, arrays)} for call in made]
                     for label, made in calls.items()}
    except record.RecordError as error:
        raise specs.SpecError(f"a stand-in call cannot be recorded: it takes or returns {error}.") from None
    return record.pack(structure, arrays)


def loads(data: bytes) -> CallsByCase:
    """Inverse of :func:`dumps`; raises RecordError when the bytes are not recorded calls."""
    structure, arrays = record.unpack(data)
    try:
        return {str(label): [Call(str(entry["helper"]), record.decode_value(entry["arguments"], arrays),
                                  record.decode_value(entry["result"], arrays),
                                  record.decode_value(entry["changed"], arrays)) for entry in made]
                for label, made in structure.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise record.RecordError(f"not readable recorded calls ({error})") from error


def _same(got: Any, recorded: Any) -> bool:
    """Whether an argument equals a recorded one: arrays and numbers to rounding, containers item by item."""
    if isinstance(recorded, np.ndarray) or isinstance(got, np.ndarray):
        try:
            got_array, recorded_array = np.asarray(got), np.asarray(recorded)
        except ValueError:  # a ragged sequence is no array
            return False
        if got_array.shape != recorded_array.shape:
            return False
        if got_array.dtype.kind not in "biuf" or recorded_array.dtype.kind not in "biuf":
            return bool(np.array_equal(got_array, recorded_array))
        return bool(np.allclose(got_array, recorded_array, rtol=_RTOL, atol=_ATOL, equal_nan=True))
    if isinstance(recorded, dict):
        return (isinstance(got, Mapping) and set(got) == set(recorded)
                and all(_same(got[key], recorded[key]) for key in recorded))
    if isinstance(recorded, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(recorded)
                and all(_same(a, b) for a, b in zip(got, recorded)))
    if _is_number(recorded) and _is_number(got):
        if isinstance(recorded, float) or isinstance(got, (float, np.floating)):
            return bool(np.isclose(float(got), float(recorded), rtol=_RTOL, atol=_ATOL, equal_nan=True))
        return int(got) == int(recorded)
    if isinstance(recorded, bool):
        return isinstance(got, (bool, np.bool_)) and bool(got) == recorded
    if recorded is None or isinstance(recorded, str):
        return type(got) is type(recorded) and got == recorded
    return False


def _change_in_place(target: Any, after: Any) -> None:
    """Make the student's argument what the reference's helper left it (a dict, list or array, in place)."""
    if isinstance(target, dict) and isinstance(after, dict):
        target.clear()
        target.update(after)
    elif isinstance(target, list) and isinstance(after, list):
        target[:] = after
    elif isinstance(target, np.ndarray) and np.shape(after) == target.shape and target.flags.writeable:
        np.copyto(target, after, casting="unsafe")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _matching(calls: list[Call], path: str, arguments: dict[str, Any], start: int) -> int | None:
    """The index of a recorded call of ``path`` with these arguments, searching from ``start`` on (in call
    order, as a correct composite makes them) and then from the beginning; None when there is none."""
    for index in [*range(start, len(calls)), *range(start)]:
        call = calls[index]
        if call.helper == path and set(call.arguments) == set(arguments) and all(
                _same(arguments[key], call.arguments[key]) for key in call.arguments):
            return index
    return None


@contextlib.contextmanager
def replaying(spec: specs.Spec, student_fn: Callable, calls: list[Call], notes: list[str]) -> Iterator[None]:
    """Within the block, the spec's stand-ins seen from ``student_fn`` replay the reference's ``calls``.

    A call that matches none of them runs the student's own helper; ``notes`` then says so (once per
    helper, at most :data:`MAX_NOTES` notes).
    """
    cursor = [0]  # where the next call is expected: just after the last one matched

    def replayer(path: str, original: Callable) -> Callable:
        def replay(*args: Any, **kwargs: Any) -> Any:
            bound = _bind(original, args, kwargs)
            found = _matching(calls, path, bound, cursor[0])
            if found is not None:
                cursor[0] = found + 1
                for key, after in calls[found].changed.items():
                    _change_in_place(bound[key], copy.deepcopy(after))
                return copy.deepcopy(calls[found].result)
            note = (f"{spec.name} called {path} with arguments the reference never passes it, so your own "
                    f"{path} ran there")
            if note not in notes and len(notes) < MAX_NOTES:
                notes.append(note)
            return original(*args, **kwargs)
        return replay

    with _replaced(student_fn, spec.stand_ins, replayer):
        yield


def description(spec: specs.Spec) -> str:
    """What the feedback says about a spec graded with stand-ins."""
    helpers = ", ".join(spec.stand_ins)
    return (f"{spec.name} is graded with the reference {helpers} in place of yours, so a mistake in one of "
            f"them costs points once, in its own cell.")
