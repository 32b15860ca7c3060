"""Specs of a1 / 02_linear_classifier: references pass, plausible mistakes fail, gradients are right."""
from __future__ import annotations

import ast
import json
import re

import numpy as np
import pytest

from autograder.judge import check_locally
from course_under_test import COURSE

A1 = COURSE.assignment("a1")
from course_utils.gradient_check import numeric_gradient, relative_error

NAMES = ["svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive", "softmax_loss_vectorized",
         "train_linear_classifier", "predict_linear"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_own_spec(name):
    check_locally(A1, name, A1.reference(name))


# --- plausible wrong implementations (defined with def so that their source can be read) ----------


def svm_counts_correct_class(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[np.arange(n), y][:, None] + 1.0)  # correct class kept: +1 each
    coeff = (margins > 0).astype(float)
    coeff[np.arange(n), y] -= coeff.sum(axis=1)
    return float(margins.sum() / n + reg * np.sum(W * W)), X.T @ coeff / n + 2 * reg * W


def svm_forgets_the_mean(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(0.0, scores - scores[np.arange(n), y][:, None] + 1.0)
    margins[np.arange(n), y] = 0.0
    coeff = (margins > 0).astype(float)
    coeff[np.arange(n), y] = -coeff.sum(axis=1)
    return float(margins.sum() + reg * np.sum(W * W)), X.T @ coeff + 2 * reg * W


def svm_with_a_loop(W, X, y, reg):
    loss, dW = 0.0, np.zeros(W.shape)
    for i in range(X.shape[0]):
        scores = X[i] @ W
        margins = np.maximum(0.0, scores - scores[y[i]] + 1.0)
        margins[y[i]] = 0.0
        loss += margins.sum()
        active = (margins > 0).astype(float)
        active[y[i]] = -active.sum()
        dW += np.outer(X[i], active)
    n = X.shape[0]
    return float(loss / n + reg * np.sum(W * W)), dW / n + 2 * reg * W


def softmax_without_reg_gradient(W, X, y, reg):
    n = X.shape[0]
    shifted = X @ W - (X @ W).max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean() + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1.0
    return float(loss), X.T @ probs / n


def softmax_without_max_shift(W, X, y, reg):
    n = X.shape[0]
    exp = np.exp(X @ W)
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean() + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1.0
    return float(loss), X.T @ probs / n + 2 * reg * W


def softmax_with_a_loop(W, X, y, reg):
    n = X.shape[0]
    shifted = X @ W - (X @ W).max(axis=1, keepdims=True)
    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -sum(np.log(probs[i, y[i]]) for i in range(n)) / n + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1.0
    return float(loss), X.T @ probs / n + 2 * reg * W


@pytest.mark.parametrize("name, wrong, message", [
    ("svm_loss_naive", svm_counts_correct_class, "loss differs"),
    ("svm_loss_vectorized", svm_counts_correct_class, "loss differs"),
    ("svm_loss_naive", svm_forgets_the_mean, "differs"),
    ("svm_loss_vectorized", svm_with_a_loop, "for loop"),
    ("softmax_loss_naive", softmax_without_reg_gradient, "dW differs"),
    ("softmax_loss_vectorized", softmax_without_reg_gradient, "dW differs"),
    ("softmax_loss_naive", softmax_without_max_shift, "non-finite values"),
    ("softmax_loss_vectorized", softmax_with_a_loop, "generator expression"),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_wrong_losses_fail(name, wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, name, wrong)


def test_loop_version_is_correct_but_rejected_where_vectorised():
    check_locally(A1, "svm_loss_naive", svm_with_a_loop)
    with pytest.raises(AssertionError, match="must be fully vectorised"):
        check_locally(A1, "softmax_loss_vectorized", A1.reference("softmax_loss_naive"))


# --- training and prediction -------------------------------------------------------------------


@pytest.fixture
def with_reference_softmax(monkeypatch):
    """Wrong training loops below find softmax_loss_vectorized beside them, as in a notebook."""
    monkeypatch.setitem(globals(), "softmax_loss_vectorized", A1.reference("softmax_loss_vectorized"))


def train_without_replacement(X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng = np.random.default_rng(seed)
    W = 0.001 * rng.standard_normal((X.shape[1], int(y.max()) + 1))
    history = []
    for _ in range(num_iters):
        batch = rng.choice(X.shape[0], size=batch_size, replace=False)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        history.append(loss)
        W -= learning_rate * dW
    return W, history


def train_without_update(X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng = np.random.default_rng(seed)
    W = 0.001 * rng.standard_normal((X.shape[1], int(y.max()) + 1))
    history = []
    for _ in range(num_iters):
        batch = rng.choice(X.shape[0], size=batch_size)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        history.append(loss)
        W + learning_rate * dW  # forgot the assignment (and the sign)
    return W, history


def train_uphill(X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    rng = np.random.default_rng(seed)
    W = 0.001 * rng.standard_normal((X.shape[1], int(y.max()) + 1))
    history = []
    for _ in range(num_iters):
        batch = rng.choice(X.shape[0], size=batch_size)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        history.append(loss)
        W = W + learning_rate * dW
    return W, history


def train_other_sampling(X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    """A correct loop that draws its minibatches differently: it must still pass."""
    rng = np.random.default_rng(seed + 12345)
    W = np.zeros((X.shape[1], int(y.max()) + 1))
    history = []
    for _ in range(num_iters):
        batch = rng.integers(0, X.shape[0], size=batch_size)
        loss, dW = loss_fn(W, X[batch], y[batch], reg)
        history.append(loss)
        W = W - learning_rate * dW
    return W, np.array(history)


def train_half_the_iterations(X, y, loss_fn, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, seed=0):
    return train_other_sampling(X, y, loss_fn, learning_rate, reg, num_iters // 2, batch_size, seed)


@pytest.mark.parametrize("wrong, message", [
    (train_without_replacement, "raised ValueError"),
    (train_without_update, "did not go down"),
    (train_uphill, "did not go down|NaN"),
    (train_half_the_iterations, "one per iteration"),
])
def test_wrong_training_loops_fail(with_reference_softmax, wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "train_linear_classifier", wrong)


def test_a_different_sampling_order_still_passes(with_reference_softmax):
    check_locally(A1, "train_linear_classifier", train_other_sampling)


def test_training_needs_softmax_beside_it():
    namespace = {"np": np}
    exec("def train_linear_classifier(X, y, loss_fn, **kw):\n    return None\n", namespace)
    with pytest.raises(AssertionError, match="softmax_loss_vectorized, which is not defined"):
        check_locally(A1, "train_linear_classifier", namespace["train_linear_classifier"])


def predict_argmin(W, X):
    return np.argmin(X @ W, axis=1)


def predict_transposed(W, X):
    return np.argmax(X @ W, axis=0)


@pytest.mark.parametrize("wrong", [predict_argmin, predict_transposed])
def test_wrong_predictions_fail(wrong):
    with pytest.raises(AssertionError, match="labels"):
        check_locally(A1, "predict_linear", wrong)


# --- oracle: the reference gradients agree with numeric gradients ---------------------------------


@pytest.mark.parametrize("name", NAMES[:4])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_reference_gradient_matches_numeric_gradient(name, reg):
    rng = np.random.default_rng(7)
    W, X, y = rng.normal(size=(5, 4)), rng.normal(size=(12, 5)), rng.integers(0, 4, 12)
    loss_fn = A1.reference(name)
    loss, dW = loss_fn(W, X, y, reg)
    assert isinstance(loss, float) and dW.shape == W.shape and dW.dtype == np.float64
    numeric = numeric_gradient(lambda W_: loss_fn(W_, X, y, reg)[0], W)
    assert relative_error(dW, numeric) < 1e-7


def test_reference_losses_match_hand_values():
    svm = A1.reference("svm_loss_vectorized")
    softmax = A1.reference("softmax_loss_vectorized")
    X, y = np.eye(3), np.zeros(3, dtype=np.int64)
    for scores, svm_loss, softmax_loss in [([10, -2, 3], 0.0, np.log1p(np.exp(-12) + np.exp(-7))),
                                          ([10, 9, 9], 0.0, np.log1p(2 * np.exp(-1))),
                                          ([0, 0, 0], 2.0, np.log(3))]:
        W = np.tile(np.array(scores, dtype=float), (3, 1))  # every row of X @ W equals scores
        assert np.isclose(svm(W, X, y, 0.0)[0], svm_loss)
        assert np.isclose(softmax(W, X, y, 0.0)[0], softmax_loss, rtol=1e-10)


def softmax_shift_then_log_probs(W, X, y, reg):
    """The usual stable version (shift by the max, then -log of the probabilities): must pass."""
    n = X.shape[0]
    scores = X @ W
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(n), y])) + reg * np.sum(W * W)
    probs[np.arange(n), y] -= 1.0
    return float(loss), X.T.dot(probs) / n + 2 * reg * W


@pytest.mark.parametrize("name", ["softmax_loss_naive", "softmax_loss_vectorized"])
def test_the_usual_stable_softmax_passes(name):
    check_locally(A1, name, softmax_shift_then_log_probs)


# --- the random search: the sampler of hyperparameters ---------------------------------------------


@pytest.mark.parametrize("salt", [0, 1, 2])
def test_reference_sampler_passes(salt):
    check_locally(A1, "sample_linear_hyperparameters", A1.reference("sample_linear_hyperparameters"), salt)


def sampler_natural_log_other_order(rng, lr_range, reg_range):
    """Correct, with natural logarithms and the two draws in the other order: must pass."""
    reg = np.exp(rng.uniform(np.log(reg_range[0]), np.log(reg_range[1])))
    return {"reg": reg, "learning_rate": np.exp(rng.uniform(np.log(lr_range[0]), np.log(lr_range[1])))}


def sampler_one_call(rng, lr_range, reg_range):
    """Correct, both exponents from one call of the generator: must pass."""
    low, high = np.log10([lr_range[0], reg_range[0]]), np.log10([lr_range[1], reg_range[1]])
    lr, reg = 10.0 ** rng.uniform(low, high)
    return {"learning_rate": lr, "reg": reg}


@pytest.mark.parametrize("salt", [0, 1])
@pytest.mark.parametrize("correct", [sampler_natural_log_other_order, sampler_one_call])
def test_other_correct_samplers_pass(correct, salt):
    check_locally(A1, "sample_linear_hyperparameters", correct, salt)


def sampler_uniform(rng, lr_range, reg_range):
    return {"learning_rate": rng.uniform(*lr_range), "reg": rng.uniform(*reg_range)}


def sampler_global_generator(rng, lr_range, reg_range):
    return {"learning_rate": 10 ** np.random.uniform(np.log10(lr_range[0]), np.log10(lr_range[1])),
            "reg": 10 ** np.random.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]))}


def sampler_own_fixed_seed(rng, lr_range, reg_range):
    rng = np.random.default_rng(0)
    return {"learning_rate": 10 ** rng.uniform(np.log10(lr_range[0]), np.log10(lr_range[1])),
            "reg": 10 ** rng.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]))}


def sampler_a_decade_too_low(rng, lr_range, reg_range):
    return {"learning_rate": 10 ** rng.uniform(np.log10(lr_range[0]) - 1, np.log10(lr_range[1])),
            "reg": 10 ** rng.uniform(np.log10(reg_range[0]), np.log10(reg_range[1]))}


def sampler_one_draw_for_both(rng, lr_range, reg_range):
    u = rng.uniform()
    (lr_low, lr_high), (reg_low, reg_high) = np.log10(lr_range), np.log10(reg_range)
    return {"learning_rate": 10 ** (lr_low + u * (lr_high - lr_low)), "reg": 10 ** (reg_low + u * (reg_high - reg_low))}


def sampler_returns_arrays(rng, lr_range, reg_range):
    return {"learning_rate": 10 ** rng.uniform(*np.log10(lr_range), size=1),
            "reg": 10 ** rng.uniform(*np.log10(reg_range), size=1)}


def sampler_returns_a_tuple(rng, lr_range, reg_range):
    return 10 ** rng.uniform(*np.log10(lr_range)), 10 ** rng.uniform(*np.log10(reg_range))


@pytest.mark.parametrize("wrong, message", [
    (sampler_uniform, "not log-uniform"),
    (sampler_global_generator, "same seed gave different draws"),
    (sampler_own_fixed_seed, "different seeds gave the same draws"),
    (sampler_a_decade_too_low, "outside its range"),
    (sampler_one_draw_for_both, "move together"),
    (sampler_returns_arrays, "must be one number"),
    (sampler_returns_a_tuple, "must return a dict"),
])
def test_wrong_samplers_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "sample_linear_hyperparameters", wrong)


def test_the_sampler_check_leaves_the_global_generator_alone():
    np.random.seed(5)
    expected = np.random.random()
    np.random.seed(5)
    check_locally(A1, "sample_linear_hyperparameters", A1.reference("sample_linear_hyperparameters"))
    assert np.random.random() == expected


# --- the graded accuracy: the notebook states the spec's thresholds ---------------------------------


def test_the_notebook_states_the_graded_thresholds():
    notebook = A1.reference_index["sample_linear_hyperparameters"]
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    graded, = ["".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id")
               == A1.spec("softmax_pixels").cell]
    stated = ast.literal_eval(re.search(r"ACCURACY_TARGET = (\{[^}]*\})", graded).group(1))
    assert stated == dict(A1.spec("softmax_pixels").thresholds)
