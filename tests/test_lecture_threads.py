"""The threads from the lecture notes woven into 02, 03 and 04: references, oracles and plausible mistakes.

- 02: the centred-difference numeric gradient, written before the course's checker is used;
- 03: the hidden representation of a two-unit ReLU layer (the plot of the warped plane uses it);
- 04: the affine backward pass entry by entry, logistic regression on logic gates, XOR with x1*x2.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from autograder.course import Course
from autograder.judge import check_locally
from course_utils.gradient_check import numeric_gradient, relative_error

COURSE = Course.at(Path(__file__).resolve().parents[1])
A1 = COURSE.assignment("a1")
A2 = COURSE.assignment("a2")

NEW = {
    A1: ["centred_difference_gradient", "hidden_representation"],
    A2: ["affine_backward_by_index", "logistic_regression_loss", "logistic_regression_train", "xor_features"],
}
ALL = [(assignment, name) for assignment, names in NEW.items() for name in names]


@pytest.mark.parametrize("salt", [0, 1, 2])
@pytest.mark.parametrize("assignment, name", ALL, ids=[name for _, name in ALL])
def test_reference_passes_its_own_spec(assignment, name, salt):
    check_locally(assignment, name, assignment.reference(name), salt=salt)


# --- the notebooks: every new function is a complete exercise, and the stated totals add up ------------


def _cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def _marks(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


@pytest.mark.parametrize("assignment, name", ALL, ids=[name for _, name in ALL])
def test_each_new_function_is_an_exercise(assignment, name):
    """Answer cell, then its locked visible tests, then its graded cell with the one hidden check."""
    notebook = assignment.reference_index[name]
    cells = _cells(notebook)
    ids = [_marks(cell).get("grade_id") for cell in cells]
    at = ids.index(name)
    answer, visible, graded = cells[at:at + 3]
    assert _marks(answer)["solution"] and not _marks(answer)["grade"]
    assert "### BEGIN SOLUTION" in _source(answer) and "### END SOLUTION" in _source(answer)
    assert _marks(visible) == {"grade": False, "grade_id": f"{name}_visible", "locked": True, "schema_version": 3,
                               "solution": False, "task": False}
    assert "assert" in _source(visible)
    assert _marks(graded)["grade_id"] == f"{name}_tests" and _marks(graded)["grade"] and _marks(graded)["locked"]
    assert _marks(graded)["points"] >= 1
    assert f"check_against_reference('{name}', {name})" in _source(graded)
    header, _, rest = _source(graded).partition("\n")
    assert header.startswith("# graded: ") and "point" in header, header
    assert rest.startswith("### BEGIN HIDDEN TESTS") and rest.endswith("### END HIDDEN TESTS")
    assert assignment.spec(name).cell == f"{name}_tests"


@pytest.mark.parametrize("notebook", ["a1/00_knn.ipynb", "a1/02_linear_classifier.ipynb",
                                      "a1/03_two_layer_net.ipynb", "a2/04_backprop.ipynb"])
def test_the_stated_total_is_the_sum_of_the_points(notebook):
    cells = _cells(COURSE.source / notebook)
    total = sum(_marks(cell).get("points", 0) for cell in cells if _marks(cell).get("grade"))
    stated = re.search(r"Points: (\d+) in total", _source(cells[0]))
    assert stated, "the introduction states the total points"
    assert int(stated.group(1)) == total


@pytest.mark.parametrize("notebook", ["a1/00_knn.ipynb", "a1/02_linear_classifier.ipynb",
                                      "a1/03_two_layer_net.ipynb", "a2/04_backprop.ipynb"])
def test_notebooks_are_saved_clean(notebook):
    cells = _cells(COURSE.source / notebook)
    assert all(cell.get("id") for cell in cells)
    assert len({cell["id"] for cell in cells}) == len(cells)
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


def test_every_hidden_check_of_the_changed_notebooks_has_a_spec():
    for assignment in (A1, A2):
        for notebook in assignment.notebooks():
            for cell in _cells(notebook):
                for name in re.findall(r"check_against_reference\('(\w+)'", _source(cell)):
                    assert assignment.spec(name).cell == _marks(cell)["grade_id"], (notebook.name, name)
                    assert name in assignment.reference_index, (notebook.name, name)


# --- 02: the centred-difference numeric gradient ----------------------------------------------------


def test_numeric_gradient_agrees_with_the_course_checker_and_with_calculus():
    centred = A1.reference("centred_difference_gradient")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    c = rng.normal(size=(3, 4))
    f = lambda v: float(np.sum(np.sin(c * v) + v ** 3))  # noqa: E731
    analytic = c * np.cos(c * x) + 3 * x ** 2
    before = x.copy()
    got = centred(f, x)
    assert np.array_equal(x, before)
    assert relative_error(got, numeric_gradient(f, x)) < 1e-9
    assert relative_error(got, analytic) < 1e-8


def gradient_forward_difference(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    base = f(x)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        grad[index] = (f(x) - base) / h
        x[index] = original
    return grad


def gradient_divided_by_h(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        plus = f(x)
        x[index] = original - h
        minus = f(x)
        x[index] = original
        grad[index] = (plus - minus) / h
    return grad


def gradient_not_restoring(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        x[index] += h
        plus = f(x)
        x[index] -= 2 * h
        minus = f(x)
        grad[index] = (plus - minus) / (2 * h)
    return grad


def gradient_on_copies(f, x, h=1e-5):
    """Correct: perturbs copies, never x itself."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat = grad.reshape(-1)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        flat[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


@pytest.mark.parametrize("wrong, message", [
    (gradient_forward_difference, "grad differs"),
    (gradient_divided_by_h, "grad differs"),
    (gradient_not_restoring, "changed its argument #2 in place"),
])
def test_wrong_numeric_gradients_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "centred_difference_gradient", wrong)


@pytest.mark.parametrize("salt", [0, 1, 2])
def test_a_correct_numeric_gradient_on_copies_passes(salt):
    check_locally(A1, "centred_difference_gradient", gradient_on_copies, salt=salt)


def test_the_course_checker_passes_the_spec():
    """course_utils' numeric_gradient (which divides by the step actually taken) is within tolerance."""
    check_locally(A1, "centred_difference_gradient", numeric_gradient)


# --- 03: the hidden representation ----------------------------------------------------------------


def test_hidden_representation_is_the_first_half_of_the_forward_pass():
    hidden = A1.reference("hidden_representation")
    forward = A1.reference("two_layer_forward")
    rng = np.random.default_rng(1)
    params = {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
              "b2": rng.normal(size=3)}
    X = rng.normal(size=(7, 4))
    h = hidden(params, X)
    assert h.shape == (7, 5) and np.all(h >= 0)
    np.testing.assert_allclose(h @ params["W2"] + params["b2"], forward(params, X)[0], rtol=1e-12)


def hidden_without_relu(params, X):
    return X @ params["W1"] + params["b1"]


def hidden_relu_before_bias(params, X):
    return np.maximum(0.0, X @ params["W1"]) + params["b1"]


def hidden_with_a_loop(params, X):
    return np.array([np.maximum(0.0, row @ params["W1"] + params["b1"]) for row in X])


@pytest.mark.parametrize("wrong, message", [
    (hidden_without_relu, "hidden differs"),
    (hidden_relu_before_bias, "hidden differs"),
    (hidden_with_a_loop, "must be fully vectorised"),
])
def test_wrong_hidden_representations_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "hidden_representation", wrong)


# --- 04: the affine backward pass, index by index --------------------------------------------------


@pytest.fixture
def with_reference_forward(monkeypatch):
    """Backward passes below find affine_forward beside them, as in the notebook."""
    monkeypatch.setitem(globals(), "affine_forward", A2.reference("affine_forward"))


def test_affine_by_index_agrees_with_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x, w, b, dout = rng.normal(size=(3, 2, 4)), rng.normal(size=(8, 5)), rng.normal(size=5), rng.normal(size=(3, 5))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    (tx.reshape(3, -1) @ tw + tb).backward(torch.tensor(dout))
    _, cache = A2.reference("affine_forward")(x, w, b)
    dx, dw, db = A2.reference("affine_backward_by_index")(dout, cache)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10)


@pytest.mark.usefixtures("with_reference_forward")
def test_the_matrix_form_passes_the_index_spec():
    check_locally(A2, "affine_backward_by_index", A2.reference("affine_backward"))


def by_index_swapped_dw(dout, cache):
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx, dw, db = np.zeros(x_rows.shape), np.zeros(w.shape), np.zeros(w.shape[1])
    for n in range(x_rows.shape[0]):
        for m in range(w.shape[1]):
            db[m] += dout[n, m]
            for d in range(x_rows.shape[1]):
                dx[n, d] += dout[n, m] * w[d, m]
                dw[d, m] += x_rows[n, d] * dout[n, 0]  # always the first output's gradient
    return dx.reshape(x.shape), dw, db


def by_index_db_of_first_example(dout, cache):
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx, dw = np.zeros(x_rows.shape), np.zeros(w.shape)
    for n in range(x_rows.shape[0]):
        for m in range(w.shape[1]):
            for d in range(x_rows.shape[1]):
                dx[n, d] += dout[n, m] * w[d, m]
                dw[d, m] += x_rows[n, d] * dout[n, m]
    return dx.reshape(x.shape), dw, dout[0].copy()


def by_index_flat_dx(dout, cache):
    x, w, b = cache
    x_rows = x.reshape(x.shape[0], -1)
    return dout @ w.T, x_rows.T @ dout, dout.sum(axis=0)  # dx not reshaped back to x's shape


@pytest.mark.usefixtures("with_reference_forward")
@pytest.mark.parametrize("wrong, message", [
    (by_index_swapped_dw, "dw differs"),
    (by_index_db_of_first_example, "db differs"),
    (by_index_flat_dx, "dx has shape"),
])
def test_wrong_index_backward_passes_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A2, "affine_backward_by_index", wrong)


# --- 04: logistic regression and XOR ------------------------------------------------------------


def test_logistic_loss_agrees_with_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    X, y, w, b = rng.normal(size=(9, 3)), rng.integers(0, 2, size=9), 3.0 * rng.normal(size=3), 0.7
    tw, tb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True, dtype=torch.float64)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor(X) @ tw + tb,
                                                                torch.tensor(y, dtype=torch.float64))
    loss.backward()
    got, dw, db = A2.reference("logistic_regression_loss")(w, b, X, y)
    assert np.isclose(got, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-10)
    assert np.isclose(db, tb.grad.item(), rtol=1e-10)


def test_logistic_loss_agrees_with_scikit_learn_log_loss():
    from sklearn.metrics import log_loss

    rng = np.random.default_rng(4)
    X, y, w = rng.normal(size=(12, 2)), rng.integers(0, 2, size=12), rng.normal(size=2)
    p = 1 / (1 + np.exp(-(X @ w - 0.2)))
    loss, _, _ = A2.reference("logistic_regression_loss")(w, -0.2, X, y)
    assert np.isclose(loss, log_loss(y, p), rtol=1e-10)


def logistic_naive_logs(w, b, X, y):
    with np.errstate(all="ignore"):
        p = 1 / (1 + np.exp(-(X @ w + b)))
        loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return float(loss), X.T @ (p - y) / X.shape[0], float(np.mean(p - y))


def logistic_summed_not_averaged(w, b, X, y):
    z = X @ w + b
    p = np.exp(-np.logaddexp(0.0, -z))
    return float(np.sum(np.logaddexp(0.0, z) - y * z)), X.T @ (p - y), float(np.sum(p - y))


def logistic_gradient_sign(w, b, X, y):
    z = X @ w + b
    p = np.exp(-np.logaddexp(0.0, -z))
    return float(np.mean(np.logaddexp(0.0, z) - y * z)), X.T @ (y - p) / len(y), float(np.mean(y - p))


def logistic_with_a_comprehension(w, b, X, y):
    z = X @ w + b
    p = np.exp(-np.logaddexp(0.0, -z))
    loss = sum(np.logaddexp(0.0, zi) - yi * zi for zi, yi in zip(z, y)) / len(y)
    return float(loss), X.T @ (p - y) / len(y), float(np.mean(p - y))


@pytest.mark.parametrize("wrong, message", [
    (logistic_naive_logs, "confident scores"),
    (logistic_summed_not_averaged, "differs"),
    (logistic_gradient_sign, "dw differs"),
    (logistic_with_a_comprehension, "generator expression"),
])
def test_wrong_logistic_losses_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A2, "logistic_regression_loss", wrong)


def test_logistic_regression_learns_or_and_nand_not_xor():
    train = A2.reference("logistic_regression_train")
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    for labels in ([0, 1, 1, 1], [0, 0, 0, 1], [1, 1, 1, 0]):
        w, b, history = train(X, np.array(labels))
        np.testing.assert_array_equal(X @ w + b > 0, np.array(labels) == 1)
        assert np.all(np.diff(history) <= 0)
    w, b, _ = train(X, np.array([0, 1, 1, 0]))
    assert np.mean((X @ w + b > 0) == np.array([0, 1, 1, 0])) <= 0.75
    w, b, _ = train(A2.reference("xor_features")(X), np.array([0, 1, 1, 0]), num_iters=2000)
    np.testing.assert_array_equal(A2.reference("xor_features")(X) @ w + b > 0, [False, True, True, False])


@pytest.fixture
def with_reference_loss(monkeypatch):
    """Training loops below find logistic_regression_loss beside them, as in the notebook."""
    monkeypatch.setitem(globals(), "logistic_regression_loss", A2.reference("logistic_regression_loss"))


def train_ascending(X, y, learning_rate=1.0, num_iters=1000):
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        loss, dw, db = logistic_regression_loss(w, b, X, y)  # noqa: F821 (see the fixture)
        history.append(loss)
        w, b = w + learning_rate * dw, b + learning_rate * db
    return w, b, history


def train_recording_after_the_step(X, y, learning_rate=1.0, num_iters=1000):
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        _, dw, db = logistic_regression_loss(w, b, X, y)  # noqa: F821
        w, b = w - learning_rate * dw, b - learning_rate * db
        history.append(logistic_regression_loss(w, b, X, y)[0])  # noqa: F821
    return w, b, history


def train_from_random_weights(X, y, learning_rate=1.0, num_iters=1000):
    w, b, history = 0.01 * np.random.default_rng(0).normal(size=X.shape[1]), 0.0, []
    for _ in range(num_iters):
        loss, dw, db = logistic_regression_loss(w, b, X, y)  # noqa: F821
        history.append(loss)
        w, b = w - learning_rate * dw, b - learning_rate * db
    return w, b, history


def train_without_bias(X, y, learning_rate=1.0, num_iters=1000):
    w, b, history = np.zeros(X.shape[1]), 0.0, []
    for _ in range(num_iters):
        loss, dw, _ = logistic_regression_loss(w, b, X, y)  # noqa: F821
        history.append(loss)
        w = w - learning_rate * dw
    return w, b, history


@pytest.mark.usefixtures("with_reference_loss")
@pytest.mark.parametrize("wrong, message", [
    (train_ascending, "differs"),
    (train_recording_after_the_step, "loss_history differs"),
    (train_from_random_weights, "differs"),
    (train_without_bias, "differs"),
])
def test_wrong_training_loops_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A2, "logistic_regression_train", wrong)


def xor_sum_feature(X):
    return np.column_stack([X, X[:, 0] + X[:, 1]])


def xor_product_only(X):
    return (X[:, 0] * X[:, 1])[:, None]


@pytest.mark.parametrize("wrong, message", [
    (xor_sum_feature, "features differs"),
    (xor_product_only, "features has shape"),
])
def test_wrong_xor_features_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A2, "xor_features", wrong)
