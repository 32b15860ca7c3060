"""Input checks shared by the public functions of ``course_utils``.

Each check raises ``ValueError`` or ``TypeError`` with a message that names
the argument, says what was expected and what was received, and, where it
helps, what to do about it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def as_array(value: object, name: str) -> np.ndarray:
    """Return ``value`` as a NumPy array, or raise a TypeError naming ``name``."""
    if isinstance(value, np.ndarray):
        return value
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and other unconvertible input
        raise TypeError(f"{name} must be a NumPy array; could not convert {type(value).__name__}: {error}") from error
    if array.dtype == object:
        raise TypeError(f"{name} must be a numeric NumPy array, got an object array (ragged lists?)")
    return array


def check_ndim(array: np.ndarray, ndim: int | Sequence[int], name: str, layout: str = "") -> None:
    """Raise ValueError unless ``array.ndim`` is ``ndim`` (or one of them)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if array.ndim not in allowed:
        want = " or ".join(str(n) for n in allowed)
        hint = f" laid out as {layout}" if layout else ""
        raise ValueError(f"{name} must be a {want}-D array{hint}; got shape {array.shape} ({array.ndim}-D)")


def check_shape(array: np.ndarray, shape: Sequence[int | None], name: str, layout: str = "") -> None:
    """Raise ValueError unless ``array.shape`` matches ``shape``; ``None`` matches any size."""
    check_ndim(array, len(shape), name, layout)
    for axis, (got, want) in enumerate(zip(array.shape, shape)):
        if want is not None and got != want:
            expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            hint = f" ({layout})" if layout else ""
            raise ValueError(f"{name} must have shape {expected}{hint}; got {array.shape}, axis {axis} differs")


def check_dtype_kind(array: np.ndarray, kinds: str, name: str) -> None:
    """Raise TypeError unless ``array.dtype.kind`` is in ``kinds`` (e.g. ``"f"``, ``"iu"``)."""
    if array.dtype.kind not in kinds:
        names = {"f": "floating point", "i": "signed integer", "u": "unsigned integer", "b": "boolean"}
        want = " or ".join(names.get(k, k) for k in kinds)
        raise TypeError(f"{name} must have a {want} dtype; got {array.dtype}. Convert it with .astype(...)")


def check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same first dimension."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same number of rows; got {a.shape[0]} and {b.shape[0]}")


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
