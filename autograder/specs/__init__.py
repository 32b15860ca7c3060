"""How each graded function is exercised: the input configurations and the tolerances.

A spec module per notebook (``a1_features.py``, ...) registers one :class:`Spec` per graded
function with :func:`register`. Specs hold inputs and tolerances only, never expected outputs:
those come from the reference solution at grading time.
"""
from __future__ import annotations

import importlib
import pkgutil
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

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
        custom: ``custom(student_fn, reference_fn, rng)`` replaces the comparison of outputs
            for functions judged by behaviour (e.g. training loops); it raises AssertionError.
    """

    name: str
    cases: Callable[[np.random.Generator], Iterable[Case]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-8
    outputs: tuple[str, ...] = ()
    vectorised: bool = False
    exact: bool = False
    may_modify_inputs: bool = False
    custom: Callable[[Callable, Callable, np.random.Generator], None] | None = None

    def rng(self) -> np.random.Generator:
        """A generator seeded from the spec's name: the same inputs on every run."""
        return np.random.default_rng(zlib.crc32(self.name.encode()))


_REGISTRY: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    """Add ``spec`` to the registry; a second spec for the same name is an error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"A spec for {spec.name!r} is already registered.")
    if (spec.cases is None) == (spec.custom is None):
        raise ValueError(f"Spec {spec.name!r} needs exactly one of cases= or custom=.")
    _REGISTRY[spec.name] = spec
    return spec


def _import_all() -> None:
    """Import every spec module of this package once, which registers their specs."""
    if not _REGISTRY:
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
