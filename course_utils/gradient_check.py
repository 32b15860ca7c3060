"""Numeric gradients, for checking the analytic gradients you derive by hand.

The numeric derivative of ``f`` along one entry ``x[i]`` is the central difference
``(f(x + h e_i) - f(x - h e_i)) / (2 h)``; its error shrinks like ``h**2``. Compare it with your
analytic gradient using :func:`relative_error`: in float64, values around ``1e-7`` or smaller
mean the two agree, values above ``1e-3`` almost always mean a bug. Typical use::

    loss_fn = lambda W: svm_loss(W, X_dev, y_dev, reg)[0]
    loss, dW = svm_loss(W, X_dev, y_dev, reg)
    print(relative_error(dW, numeric_gradient(loss_fn, W)))     # full check, small W only
    sparse_gradient_check(loss_fn, W, dW, num_checks=10)           # spot check, any size

For a layer ``out = layer(x)`` with upstream gradient ``dout``, the gradient of the scalar
``sum(out * dout)`` with respect to ``x`` is exactly what ``layer_backward`` returns; that is
what :func:`numeric_gradient_array` computes.

All functions perturb ``x`` in place (so ``f`` may close over it) and restore every entry to
its original value afterwards, even when ``f`` raises.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from course_utils._validation import as_array, check_dtype_kind, check_positive_int

__all__ = ["numeric_gradient", "numeric_gradient_array", "sparse_gradient_check", "relative_error"]


def numeric_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` with respect to ``x``.

    Args:
        f: called as ``f(x)``; must return a scalar (a Python number or a 0-d array).
        x: floating array of any shape; float64 is recommended (float32 triggers a warning).
            It is modified during the call and restored exactly before returning.
        h: step size, a positive float.

    Returns:
        float64 array of the same shape as ``x``: the numeric ``df/dx``.
    """
    x = _check_x(x)
    h = _check_step(h)
    return _gradient(lambda: _as_scalar(f(x)), x, h)


def numeric_gradient_array(f: Callable[[np.ndarray], Any], x: np.ndarray, dout: np.ndarray,
                           h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``, for an array-valued ``f``.

    This is the numeric counterpart of a layer's backward pass: ``dout`` plays the role of the
    upstream gradient.

    Args:
        f: called as ``f(x)``; returns a numeric array whose shape must equal ``dout.shape``.
        x: floating array of any shape (float64 recommended); restored exactly afterwards.
        dout: numeric array, the upstream gradient, same shape as ``f(x)``.
        h: step size, a positive float.

    Returns:
        float64 array of the same shape as ``x``.
    """
    x = _check_x(x)
    h = _check_step(h)
    dout = as_array(dout, "dout")
    check_dtype_kind(dout, "fiu", "dout")
    out_shape = np.shape(f(x))
    if out_shape != dout.shape:
        raise ValueError(f"dout must have the shape of f(x), {out_shape}; got {dout.shape}. "
                         "Build it with np.random.randn(*f(x).shape)")
    dout = dout.astype(np.float64)
    return _gradient(lambda: float(np.sum(np.asarray(f(x), dtype=np.float64) * dout)), x, h)


def sparse_gradient_check(f: Callable[[np.ndarray], Any], x: np.ndarray, analytic_grad: np.ndarray,
                          num_checks: int = 10, h: float = 1e-5, seed: int = 0,
                          verbose: bool = True) -> np.ndarray:
    """Compare ``analytic_grad`` with numeric derivatives of ``f`` at a few random entries of ``x``.

    Useful when ``x`` is too large for :func:`numeric_gradient`. The entries are drawn with
    ``np.random.default_rng(seed)``, without repetition while ``num_checks <= x.size``, so a
    given seed always checks the same entries.

    Args:
        f: scalar function of ``x``, as for :func:`numeric_gradient`.
        x: floating array of any shape (float64 recommended); restored exactly afterwards.
        analytic_grad: numeric array of the same shape as ``x``: your ``df/dx``.
        num_checks: how many entries to check, a positive int.
        h: step size, a positive float.
        seed: seed of the random choice of entries.
        verbose: print one line per checked entry (index, both values, relative error).

    Returns:
        float64 array of shape ``(num_checks,)``: the relative error at each checked entry.
    """
    x = _check_x(x)
    h = _check_step(h)
    analytic_grad = as_array(analytic_grad, "analytic_grad")
    check_dtype_kind(analytic_grad, "fiu", "analytic_grad")
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad must have the shape of x, {x.shape}; got {analytic_grad.shape}")
    num_checks = check_positive_int(num_checks, "num_checks")
    if x.size == 0:
        raise ValueError("x is empty; there is nothing to check")
    rng = np.random.default_rng(seed)
    positions = rng.choice(x.size, size=num_checks, replace=num_checks > x.size)
    errors = np.zeros(num_checks, dtype=np.float64)
    for i, position in enumerate(positions):
        index = np.unravel_index(position, x.shape)
        numeric = _partial_derivative(lambda: _as_scalar(f(x)), x, index, h)
        analytic = float(analytic_grad[index])
        errors[i] = relative_error(numeric, analytic)
        if verbose:
            where = tuple(int(k) for k in index)
            print(f"entry {where}: numeric {numeric:+.6e}  analytic {analytic:+.6e}  "
                  f"relative error {errors[i]:.2e}")
    return errors


def relative_error(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """Largest elementwise relative difference ``|a - b| / max(1e-8, |a| + |b|)``.

    Args:
        a, b: numeric arrays (or scalars) of the same shape, any dtype.

    Returns:
        A Python float, 0.0 for two empty arrays.
    """
    a = as_array(a, "a")
    b = as_array(b, "b")
    check_dtype_kind(a, "fiub", "a")
    check_dtype_kind(b, "fiub", "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape; got {a.shape} and {b.shape}. "
                         "Compare a gradient with the gradient of the same array")
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    ratio = np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))
    return float(np.max(ratio, initial=0.0))


def _check_x(x: object) -> np.ndarray:
    """Validate the array to differentiate; warn when its precision is too low for the check."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a NumPy array (it is perturbed in place); got {type(x).__name__}. "
                        "Pass np.asarray(x, dtype=np.float64)")
    try:
        check_dtype_kind(x, "f", "x")
    except TypeError as error:
        raise TypeError(f"{error}; use np.float64 for gradient checks") from None
    if x.dtype.itemsize < 8:
        warnings.warn(f"x has dtype {x.dtype}: its rounding error makes numeric gradients inaccurate "
                      "(relative errors around 1e-2); use x.astype(np.float64) for gradient checks",
                      stacklevel=3)
    return x


def _check_step(h: object) -> float:
    """Return ``h`` as a float, or raise unless it is a positive finite number."""
    if isinstance(h, bool) or not isinstance(h, (int, float, np.floating, np.integer)) \
            or not math.isfinite(h) or h <= 0:
        raise ValueError(f"h must be a positive finite number such as 1e-5; got {h!r}")
    return float(h)


def _as_scalar(value: object) -> float:
    """Return the output of ``f`` as a float, or explain why it is not a scalar."""
    array = np.asarray(value)
    if array.shape != ():
        raise ValueError(f"f must return a scalar, but it returned an array of shape {array.shape}. "
                         "Return the loss only (e.g. f = lambda W: loss(W)[0]), or use "
                         "numeric_gradient_array for array-valued functions")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"f must return a real number; got {type(value).__name__} ({array.dtype})")
    return float(array)


def _gradient(evaluate: Callable[[], float], x: np.ndarray, h: float) -> np.ndarray:
    """Central differences of ``evaluate()`` along every entry of ``x``, as a float64 array."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        grad[index] = _partial_derivative(evaluate, x, index, h)
    return grad


def _partial_derivative(evaluate: Callable[[], float], x: np.ndarray, index: tuple, h: float) -> float:
    """Central difference of ``evaluate()`` along ``x[index]``, restoring ``x[index]`` afterwards.

    The divisor is the step actually taken after rounding to ``x.dtype``, not ``2 h``; in float64
    the difference is negligible, in float32 this removes most of the representation error of ``x +- h``.
    """
    original = x[index]
    try:
        x[index] = original + h
        step_up = float(x[index]) - float(original)
        f_plus = evaluate()
        x[index] = original - h
        step_down = float(original) - float(x[index])
        f_minus = evaluate()
    finally:
        x[index] = original
    if step_up + step_down == 0:
        where = tuple(int(k) for k in index)
        raise ValueError(f"h={h} is too small to change x{where}={float(original)} in {x.dtype}; "
                         "use a larger h or float64")
    return (f_plus - f_minus) / (step_up + step_down)
