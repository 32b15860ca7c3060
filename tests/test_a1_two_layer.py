"""Specs of a1 / 03_two_layer_net: references pass, plausible mistakes fail, gradients agree with numbers."""
from __future__ import annotations

import ast
import json
import linecache
import re

import numpy as np
import pytest

from autograder.judge import check_locally
from course_under_test import COURSE

A1 = COURSE.assignment("a1")
from course_utils.gradient_check import numeric_gradient, relative_error

NAMES = ["collapse_linear_layers", "two_layer_forward", "two_layer_loss", "predict_two_layer",
         "train_two_layer_net", "activations", "relu_bump", "bump_sum"]


def define(source: str, name: str, **extra):
    """Define ``name`` from source text as a notebook cell would (inspect can read it)."""
    path = f"<test-cell-{abs(hash(source))}>"
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    namespace = {"np": np, "__name__": "student_cell", **extra}
    exec(compile(source, path, "exec"), namespace)
    return namespace[name]


def reference_companions():
    """The reference functions a student notebook would define beside the one under test."""
    return {name: A1.reference(name) for name in ("two_layer_forward", "two_layer_loss", "predict_two_layer",
                                                          "relu_bump")}


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_own_spec(name):
    check_locally(A1, name, A1.reference(name))


def test_references_pass_with_other_salts():
    for name in ("two_layer_loss", "train_two_layer_net", "activations"):
        for salt in (1, 2, 3):
            check_locally(A1, name, A1.reference(name), salt)


# --- wrong implementations ------------------------------------------------------------------

LOSS_TEMPLATE = '''
def two_layer_loss(params, X, y, reg):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    h_in = X @ W1 + b1
    h = np.maximum(0, h_in)
    s = h @ W2 + b2
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    n = X.shape[0]
    loss = -np.log(p[np.arange(n), y]).mean() + reg * (np.sum(W1 * W1) + np.sum(W2 * W2)) EXTRA_LOSS
    d = p.copy()
    d[np.arange(n), y] -= 1
    d /= n
    dh = d @ W2.T
    dh_in = MASK
    grads = {"W1": X.T @ dh_in + 2 * reg * W1, "b1": dh_in.sum(axis=0) EXTRA_B1,
             "W2": h.T @ d + 2 * reg * W2, "b2": d.sum(axis=0)}
    return float(loss), grads
'''


def loss_variant(mask="dh * (h_in > 0)", extra_loss="", extra_b1=""):
    source = LOSS_TEMPLATE.replace("MASK", mask).replace("EXTRA_LOSS", extra_loss).replace("EXTRA_B1", extra_b1)
    return define(source, "two_layer_loss")


def test_the_loss_template_is_right():
    check_locally(A1, "two_layer_loss", loss_variant())


@pytest.mark.parametrize("variant", [
    dict(mask="dh"),  # no ReLU gradient mask
    dict(extra_loss="+ reg * np.sum(b1 * b1)", extra_b1="+ 2 * reg * b1"),  # biases regularised
    dict(mask="dh * (h_in > 0) * 0.5"),  # a stray factor
])
def test_wrong_losses_fail(variant):
    with pytest.raises(AssertionError, match="differs from the reference"):
        check_locally(A1, "two_layer_loss", loss_variant(**variant))


def test_looping_loss_fails():
    source = '''
def two_layer_loss(params, X, y, reg):
    loss, grads = REF(params, X, y, reg)
    total = 0.0
    for i in range(X.shape[0]):
        total += 0.0
    return loss + total, grads
'''
    student = define(source, "two_layer_loss", REF=A1.reference("two_layer_loss"))
    with pytest.raises(AssertionError, match="for loop"):
        check_locally(A1, "two_layer_loss", student)


def test_unstable_softmax_fails():
    source = LOSS_TEMPLATE.replace("    s = s - s.max(axis=1, keepdims=True)\n", "").replace(
        "MASK", "dh * (h_in > 0)").replace("EXTRA_LOSS", "").replace("EXTRA_B1", "")
    with np.errstate(all="ignore"), pytest.raises(AssertionError, match="large scores"):
        check_locally(A1, "two_layer_loss", define(source, "two_layer_loss"))


def test_forward_without_relu_fails():
    source = '''
def two_layer_forward(params, X):
    h = X @ params["W1"] + params["b1"]
    return h @ params["W2"] + params["b2"], h
'''
    with pytest.raises(AssertionError, match="scores differs"):
        check_locally(A1, "two_layer_forward", define(source, "two_layer_forward"))


def test_forward_returning_scores_only_fails():
    source = '''
def two_layer_forward(params, X):
    return np.maximum(0, X @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
'''
    with pytest.raises(AssertionError, match="tuple"):
        check_locally(A1, "two_layer_forward", define(source, "two_layer_forward"))


def test_collapse_forgetting_first_bias_fails():
    source = "def collapse_linear_layers(W1, b1, W2, b2):\n    return W1 @ W2, b2\n"
    with pytest.raises(AssertionError, match="b differs"):
        check_locally(A1, "collapse_linear_layers", define(source, "collapse_linear_layers"))


def test_predict_returning_floats_or_argmin_fails():
    forward = A1.reference("two_layer_forward")
    wrong = define("def predict_two_layer(params, X):\n    return np.argmin(two_layer_forward(params, X)[0], axis=1)\n",
                   "predict_two_layer", two_layer_forward=forward)
    with pytest.raises(AssertionError, match="differs from the reference"):
        check_locally(A1, "predict_two_layer", wrong)


TRAIN_TEMPLATE = '''
def train_two_layer_net(params, X, y, X_val, y_val, learning_rate=1e-3, learning_rate_decay=0.95,
                        reg=5e-6, num_iters=100, batch_size=200, seed=0):
    params = {k: v.copy() for k, v in params.items()}
    rng = np.random.default_rng(seed)
    per_epoch = max(X.shape[0] // batch_size, 1)
    history = {"loss_history": [], "train_acc_history": [], "val_acc_history": []}
    for it in range(num_iters):
        idx = rng.choice(X.shape[0], batch_size)
        loss, grads = two_layer_loss(params, X[idx], y[idx], reg)
        history["loss_history"].append(loss)
        for k in params:
            params[k] -= STEP * grads[k]
        if (it + 1) % per_epoch == 0:
            history["train_acc_history"].append(np.mean(predict_two_layer(params, X[idx]) == y[idx]))
            history["val_acc_history"].append(np.mean(predict_two_layer(params, X_val) == y_val))
            learning_rate *= learning_rate_decay
    return params, history
'''


def train_variant(step="learning_rate"):
    return define(TRAIN_TEMPLATE.replace("STEP", step), "train_two_layer_net", **reference_companions())


def test_the_train_template_passes():
    check_locally(A1, "train_two_layer_net", train_variant())


@pytest.mark.parametrize("step, message", [
    ("(-learning_rate)", "NaN or inf|barely falls|validation accuracy"),  # gradient ascent
    ("0.0 * learning_rate", "barely falls"),                              # no update
    ("1e-3 * learning_rate", "barely falls|validation accuracy"),         # far too small a step
])
def test_wrong_training_fails(step, message):
    with np.errstate(all="ignore"), pytest.raises(AssertionError, match=message):
        check_locally(A1, "train_two_layer_net", train_variant(step))


def test_training_recording_every_iteration_fails():
    student = define(TRAIN_TEMPLATE.replace("STEP", "learning_rate").replace("if (it + 1) % per_epoch == 0:", "if True:"),
                     "train_two_layer_net", **reference_companions())
    with pytest.raises(AssertionError, match="once per epoch"):
        check_locally(A1, "train_two_layer_net", student)


ACTIVATIONS_TEMPLATE = '''
def activations(x):
    s = 1 / (1 + np.exp(-x))
    t = np.tanh(x)
    pos = x > 0
    return {"sigmoid": (s, SIG_DERIV), "tanh": (t, 1 - t ** 2),
            "relu": (np.maximum(0, x), pos * 1.0), "leaky_relu": (np.where(pos, x, 0.01 * x), np.where(pos, 1.0, 0.01)),
            "elu": (np.where(pos, x, np.exp(np.minimum(x, 0)) - 1), np.where(pos, 1.0, ELU_DERIV))}
'''


def activations_variant(sig="s * (1 - s)", elu="np.exp(np.minimum(x, 0))"):
    return define(ACTIVATIONS_TEMPLATE.replace("SIG_DERIV", sig).replace("ELU_DERIV", elu), "activations")


def test_naive_but_correct_activations_pass():
    with np.errstate(over="ignore"):
        check_locally(A1, "activations", activations_variant())


@pytest.mark.parametrize("variant", [dict(sig="s"), dict(elu="np.minimum(x, 0) + 1.0")])
def test_wrong_activations_fail(variant):
    with np.errstate(over="ignore"), pytest.raises(AssertionError, match="differs from the reference"):
        check_locally(A1, "activations", activations_variant(**variant))


def test_relu_bump_with_inner_ramps_fails():
    source = '''
def relu_bump(x, left, right, height):
    w = (right - left) / 4
    r = lambda z: np.maximum(0, z)
    return height / w * (r(x - left) - r(x - left - w) - r(x - right + w) + r(x - right))
'''
    with pytest.raises(AssertionError, match="bump differs"):
        check_locally(A1, "relu_bump", define(source, "relu_bump"))


def test_bump_sum_with_a_loop_fails():
    source = '''
def bump_sum(x, edges, heights):
    total = np.zeros_like(x)
    for k in range(len(heights)):
        total = total + relu_bump(x, edges[k], edges[k + 1], heights[k])
    return total
'''
    student = define(source, "bump_sum", relu_bump=A1.reference("relu_bump"))
    with pytest.raises(AssertionError, match="for loop"):
        check_locally(A1, "bump_sum", student)


# --- the oracle: numeric gradients ----------------------------------------------------------

@pytest.mark.parametrize("seed, reg", [(0, 0.0), (1, 0.1), (2, 1.0)])
def test_loss_gradients_match_numeric_gradients(seed, reg):
    loss_fn = A1.reference("two_layer_loss")
    rng = np.random.default_rng(seed)
    N, D, H, C = 7, 5, 9, 4
    params = {"W1": 0.4 * rng.normal(size=(D, H)), "b1": 0.3 * rng.normal(size=H),
              "W2": 0.4 * rng.normal(size=(H, C)), "b2": 0.1 * rng.normal(size=C)}
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    _, grads = loss_fn(params, X, y, reg)
    for key in params:
        numeric = numeric_gradient(lambda _: loss_fn(params, X, y, reg)[0], params[key])
        assert relative_error(grads[key], numeric) < 1e-7, key


def test_collapse_is_exact_for_the_stack():
    collapse = A1.reference("collapse_linear_layers")
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = rng.normal(size=(6, 4)), rng.normal(size=4), rng.normal(size=(4, 3)), rng.normal(size=3)
    X = rng.normal(size=(10, 6))
    W, b = collapse(W1, b1, W2, b2)
    np.testing.assert_allclose(X @ W + b, (X @ W1 + b1) @ W2 + b2, rtol=1e-12, atol=1e-12)


def test_bump_sum_converges_to_sine():
    bump_sum = A1.reference("bump_sum")
    x = np.linspace(0, 2 * np.pi, 1000)
    errors = []
    for k in (6, 24, 96):
        edges = np.linspace(0, 2 * np.pi, k + 1)
        errors.append(np.abs(bump_sum(x, edges, np.sin((edges[:-1] + edges[1:]) / 2)) - np.sin(x)).max())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.05


# --- the random search: the sampler of hyperparameters ---------------------------------------------


@pytest.mark.parametrize("salt", [0, 1, 2])
def test_reference_sampler_passes(salt):
    check_locally(A1, "sample_two_layer_hyperparameters", A1.reference("sample_two_layer_hyperparameters"), salt)


def sampler_choice_and_natural_log(rng, lr_range, reg_range, hidden_sizes):
    """Correct, with rng.choice for the width, natural logarithms and another order: must pass."""
    hidden = rng.choice(hidden_sizes)
    reg = np.exp(rng.uniform(np.log(reg_range[0]), np.log(reg_range[1])))
    lr = np.exp(rng.uniform(np.log(lr_range[0]), np.log(lr_range[1])))
    return {"hidden_size": hidden, "reg": reg, "learning_rate": lr}


@pytest.mark.parametrize("salt", [0, 1])
def test_another_correct_sampler_passes(salt):
    check_locally(A1, "sample_two_layer_hyperparameters", sampler_choice_and_natural_log, salt)


def _log_uniform(rng, value_range):
    return 10.0 ** rng.uniform(np.log10(value_range[0]), np.log10(value_range[1]))


def sampler_uniform_rates(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": rng.uniform(*lr_range), "reg": rng.uniform(*reg_range),
            "hidden_size": int(rng.choice(hidden_sizes))}


def sampler_global_generator(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": 10 ** np.random.uniform(*np.log10(lr_range)),
            "reg": 10 ** np.random.uniform(*np.log10(reg_range)), "hidden_size": int(np.random.choice(hidden_sizes))}


def sampler_own_fixed_seed(rng, lr_range, reg_range, hidden_sizes):
    own = np.random.default_rng(1)
    return {"learning_rate": _log_uniform(own, lr_range), "reg": _log_uniform(own, reg_range),
            "hidden_size": int(own.choice(hidden_sizes))}


def sampler_regs_too_high(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": _log_uniform(rng, lr_range), "reg": 10 * _log_uniform(rng, reg_range),
            "hidden_size": int(rng.choice(hidden_sizes))}


def sampler_width_between_the_choices(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": _log_uniform(rng, lr_range), "reg": _log_uniform(rng, reg_range),
            "hidden_size": int(rng.integers(min(hidden_sizes), max(hidden_sizes) + 1))}


def sampler_width_as_float(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": _log_uniform(rng, lr_range), "reg": _log_uniform(rng, reg_range),
            "hidden_size": float(rng.choice(hidden_sizes))}


def sampler_never_the_last_width(rng, lr_range, reg_range, hidden_sizes):
    return {"learning_rate": _log_uniform(rng, lr_range), "reg": _log_uniform(rng, reg_range),
            "hidden_size": int(hidden_sizes[rng.integers(max(len(hidden_sizes) - 1, 1))])}


def sampler_width_follows_the_rate(rng, lr_range, reg_range, hidden_sizes):
    u = rng.uniform()
    lr = 10 ** (np.log10(lr_range[0]) + u * np.log10(lr_range[1] / lr_range[0]))
    return {"learning_rate": lr, "reg": _log_uniform(rng, reg_range),
            "hidden_size": int(hidden_sizes[min(int(u * len(hidden_sizes)), len(hidden_sizes) - 1)])}


@pytest.mark.parametrize("wrong, message", [
    (sampler_uniform_rates, "not log-uniform"),
    (sampler_global_generator, "same seed gave different draws"),
    (sampler_own_fixed_seed, "different seeds gave the same draws"),
    (sampler_regs_too_high, "outside its range"),
    (sampler_width_between_the_choices, "is not one of the widths"),
    (sampler_width_as_float, "must be an int"),
    (sampler_never_the_last_width, "equally often"),
    (sampler_width_follows_the_rate, "move together"),
])
def test_wrong_samplers_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "sample_two_layer_hyperparameters", wrong)


# --- the graded accuracy: the notebook states the spec's thresholds ---------------------------------


def test_the_notebook_states_the_graded_thresholds():
    notebook = A1.reference_index["sample_two_layer_hyperparameters"]
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    graded, = ["".join(c["source"]) for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id")
               == A1.spec("two_layer_pixels").cell]
    stated = ast.literal_eval(re.search(r"ACCURACY_TARGET = (\{[^}]*\})", graded).group(1))
    assert stated == dict(A1.spec("two_layer_pixels").thresholds)
