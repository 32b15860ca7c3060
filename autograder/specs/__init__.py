"""How each graded function is exercised: the input configurations and the tolerances.

A spec module per notebook (``a1_features.py``, ...) registers one :class:`Spec` per graded
function with :func:`register`. Specs hold inputs and tolerances only, never expected outputs:
those come from the reference solution at grading time.

A check has two halves so that the verdict can be reached outside the student's kernel:
``run`` calls a function (the student's or the reference) on one case and returns plain data
(numbers, arrays, and tuples, lists or dicts of them); ``judge`` (by default a comparison with
the spec's tolerances) compares the student's data with the reference's.
"""
from __future__ import annotations

import importlib
import pkgutil
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np


@dataclass(frozen=True)
class Case:
    """One call of a graded function: a label for messages, positional and keyword arguments."""

    label: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """How to check one graded function against its reference.

    Attributes:
        name: the function's name, as defined in the answer cell.
        cases: ``cases(rng) -> iterable of Case``; ``rng`` is seeded from the name.
        rtol, atol: an output entry passes when ``|got - ref| <= atol + rtol * |ref|``.
        outputs: names of the returned values, for messages (e.g. ``("loss", "dW")``).
        vectorised: the function must contain no Python loop (checked on its syntax tree).
        exact: compare exactly (integer outputs such as labels or bin indices).
        may_modify_inputs: the function is allowed to change its array arguments in place.
        run: ``run(fn, case) -> data`` calls ``fn`` on one case when a plain call
            ``fn(*case.args, **case.kwargs)`` is not enough, e.g. a backward pass that needs the
            forward pass of the same notebook first (fetch it with :func:`companion`), or a
            training loop whose behaviour is summarised. It must return plain data.
        judge: ``judge(got, expected, case)`` replaces the numeric comparison for functions
            judged by behaviour; it raises AssertionError with a message for the student.
    """

    name: str
    cases: Callable[[np.random.Generator], Iterable[Case]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-8
    outputs: tuple[str, ...] = ()
    vectorised: bool = False
    exact: bool = False
    may_modify_inputs: bool = False
    run: Callable[[Callable, Case], Any] | None = None
    judge: Callable[[Any, Any, Case], None] | None = None

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator seeded from the spec's name and ``salt``: the same inputs for the same pair.

        The grader picks the salt of a grading run, so the inputs are not known in advance.
        """
        return np.random.default_rng([zlib.crc32(self.name.encode()), salt])


def companion(fn: Callable, name: str) -> Callable:
    """Return the function ``name`` defined beside ``fn`` (in the same notebook or module).

    Raises:
        AssertionError: there is no such function; the message tells the student what to define.
    """
    namespace: Mapping[str, Any] = getattr(fn, "__globals__", {})
    found = namespace.get(name)
    if not callable(found):
        raise AssertionError(f"{getattr(fn, '__name__', 'this function')} is checked together with {name}, "
                             f"which is not defined in the same notebook; run its cell first.")
    return found


_REGISTRY: dict[str, Spec] = {}
_IMPORTED = False


def register(spec: Spec) -> Spec:
    """Add ``spec`` to the registry; a second spec for the same name is an error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"A spec for {spec.name!r} is already registered.")
    if spec.cases is None:
        raise ValueError(f"Spec {spec.name!r} needs cases=.")
    _REGISTRY[spec.name] = spec
    return spec


def _import_all() -> None:
    """Import every spec module of this package once, which registers their specs."""
    global _IMPORTED
    if not _IMPORTED:
        _IMPORTED = True
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")


def get(name: str) -> Spec:
    """Return the spec of ``name``."""
    _import_all()
    if name not in _REGISTRY:
        raise KeyError(f"No spec registered for {name!r}; add one in autograder/specs/.")
    return _REGISTRY[name]


def names() -> list[str]:
    """Names of all registered specs."""
    _import_all()
    return sorted(_REGISTRY)
