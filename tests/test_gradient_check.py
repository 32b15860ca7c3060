"""Tests for course_utils.gradient_check on functions whose gradients are known in closed form."""
from __future__ import annotations

import numpy as np
import pytest

from course_utils.gradient_check import (
    numeric_gradient,
    numeric_gradient_array,
    relative_error,
    sparse_gradient_check,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


# ---------------------------------------------------------------- numeric_gradient

def test_sum_of_squares(rng):
    x = rng.standard_normal((4, 5))
    grad = numeric_gradient(lambda v: np.sum(v ** 2), x)
    assert grad.shape == x.shape and grad.dtype == np.float64
    assert relative_error(grad, 2 * x) < 1e-8


def test_quadratic_form(rng):
    A = rng.standard_normal((6, 6))
    b = rng.standard_normal(6)
    x = rng.standard_normal(6)
    f = lambda v: v @ A @ v + b @ v  # noqa: E731
    assert relative_error(numeric_gradient(f, x), (A + A.T) @ x + b) < 1e-8


def test_sin_on_3d_array(rng):
    x = rng.uniform(-3, 3, size=(2, 3, 4))
    grad = numeric_gradient(lambda v: np.sum(np.sin(v)), x)
    assert relative_error(grad, np.cos(x)) < 1e-7


def test_zero_dimensional_x():
    x = np.array(0.5)
    grad = numeric_gradient(lambda v: float(v) ** 3, x)
    assert grad.shape == ()
    assert grad == pytest.approx(3 * 0.25, rel=1e-8)


def test_x_is_restored_exactly(rng):
    x = rng.standard_normal((3, 7)) * 1e3 + 0.1
    before = x.copy()
    numeric_gradient(lambda v: np.sum(np.tanh(v)), x)
    np.testing.assert_array_equal(x, before)


def test_x_is_restored_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(np.sum(v))

    with pytest.raises(RuntimeError, match="boom"):
        numeric_gradient(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_f_closing_over_x_sees_the_perturbation(rng):
    x = rng.standard_normal(5)
    loss = lambda _ignored: np.sum(x ** 2)  # noqa: E731  (reads x from the enclosing scope)
    assert relative_error(numeric_gradient(loss, x), 2 * x) < 1e-8


def test_float32_input_warns_and_is_roughly_right(rng):
    x = rng.standard_normal((3, 3)).astype(np.float32)
    before = x.copy()
    with pytest.warns(UserWarning, match="float64"):
        grad = numeric_gradient(lambda v: np.sum(v.astype(np.float64) ** 2), x, h=1e-3)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(x, before)


def test_step_too_small_for_float32():
    x = np.array([1000.0], dtype=np.float32)
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="too small"):
        numeric_gradient(lambda v: float(v[0]), x, h=1e-8)


@pytest.mark.parametrize("x", [np.arange(4), np.array([True, False])])
def test_non_float_x_is_rejected(x):
    with pytest.raises(TypeError, match="float64"):
        numeric_gradient(lambda v: float(np.sum(v)), x)


def test_list_x_is_rejected():
    with pytest.raises(TypeError, match="NumPy array"):
        numeric_gradient(lambda v: 0.0, [1.0, 2.0])


def test_array_output_is_rejected():
    with pytest.raises(ValueError, match=r"scalar.*shape \(3,\).*numeric_gradient_array"):
        numeric_gradient(lambda v: v ** 2, np.ones(3))


def test_non_numeric_output_is_rejected():
    with pytest.raises(TypeError, match="real number"):
        numeric_gradient(lambda v: "loss", np.ones(2))


@pytest.mark.parametrize("h", [0, -1e-5, float("nan"), "1e-5", True])
def test_bad_step_is_rejected(h):
    with pytest.raises(ValueError, match="h must be a positive"):
        numeric_gradient(lambda v: float(np.sum(v)), np.ones(2), h=h)


# ---------------------------------------------------------------- numeric_gradient_array

def test_matrix_product_with_upstream_gradient(rng):
    x = rng.standard_normal((4, 5))
    w = rng.standard_normal((5, 3))
    dout = rng.standard_normal((4, 3))
    dx = numeric_gradient_array(lambda v: v @ w, x, dout)
    dw = numeric_gradient_array(lambda v: x @ v, w, dout)
    assert relative_error(dx, dout @ w.T) < 1e-8
    assert relative_error(dw, x.T @ dout) < 1e-8


def test_softmax_rows(rng):
    def softmax(v):
        shifted = np.exp(v - v.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    x = rng.standard_normal((3, 4))
    dout = rng.standard_normal((3, 4))
    p = softmax(x)
    expected = p * (dout - np.sum(dout * p, axis=1, keepdims=True))
    assert relative_error(numeric_gradient_array(softmax, x, dout), expected) < 1e-7


def test_elementwise_function_restores_x(rng):
    x = rng.standard_normal(6)
    before = x.copy()
    dout = rng.standard_normal(6)
    grad = numeric_gradient_array(np.sin, x, dout)
    assert relative_error(grad, np.cos(x) * dout) < 1e-7
    np.testing.assert_array_equal(x, before)


def test_dout_shape_must_match_output():
    with pytest.raises(ValueError, match=r"dout must have the shape of f\(x\), \(2, 3\); got \(3, 2\)"):
        numeric_gradient_array(lambda v: np.zeros((2, 3)), np.ones(4), np.ones((3, 2)))


# ---------------------------------------------------------------- sparse_gradient_check

def test_sparse_check_correct_gradient_prints_one_line_per_check(rng, capsys):
    x = rng.standard_normal((10, 10))
    errors = sparse_gradient_check(lambda v: np.sum(v ** 3), x, 3 * x ** 2, num_checks=7)
    assert errors.shape == (7,) and errors.dtype == np.float64
    assert np.all(errors < 1e-7)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 7
    assert all("numeric" in line and "analytic" in line and "relative error" in line for line in lines)


def test_sparse_check_detects_a_wrong_gradient(rng):
    x = rng.standard_normal(20)
    errors = sparse_gradient_check(lambda v: np.sum(v ** 2), x, 3 * x, verbose=False)
    assert np.all(errors > 0.1)


def test_sparse_check_is_reproducible_and_quiet(rng, capsys):
    x = rng.standard_normal((8, 8))
    wrong = 2 * x + rng.standard_normal(x.shape)
    first = sparse_gradient_check(lambda v: np.sum(v ** 2), x, wrong, seed=3, verbose=False)
    second = sparse_gradient_check(lambda v: np.sum(v ** 2), x, wrong, seed=3, verbose=False)
    other = sparse_gradient_check(lambda v: np.sum(v ** 2), x, wrong, seed=4, verbose=False)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    assert capsys.readouterr().out == ""


def test_sparse_check_more_checks_than_entries():
    x = np.array([1.0, -2.0])
    errors = sparse_gradient_check(lambda v: np.sum(v ** 2), x, 2 * x, num_checks=5, verbose=False)
    assert errors.shape == (5,) and np.all(errors < 1e-8)


def test_sparse_check_validation():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match=r"analytic_grad must have the shape of x, \(2, 3\)"):
        sparse_gradient_check(lambda v: 0.0, x, np.ones((3, 2)))
    with pytest.raises(ValueError, match="num_checks must be a positive integer"):
        sparse_gradient_check(lambda v: 0.0, x, np.ones((2, 3)), num_checks=0)
    with pytest.raises(ValueError, match="empty"):
        sparse_gradient_check(lambda v: 0.0, np.ones(0), np.ones(0))


# ---------------------------------------------------------------- relative_error

def test_relative_error_values():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(0.5)
    assert relative_error(1e-12, 0.0) == pytest.approx(1e-4)  # the 1e-8 floor
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0
    assert isinstance(relative_error(np.ones(3, dtype=np.float32), np.ones(3)), float)


def test_relative_error_shape_mismatch():
    with pytest.raises(ValueError, match=r"same shape; got \(3,\) and \(3, 1\)"):
        relative_error(np.ones(3), np.ones((3, 1)))


def test_relative_error_rejects_text():
    with pytest.raises(TypeError, match="a must have"):
        relative_error(np.array(["x"]), np.array([1.0]))
