"""Specs of a1 / 02_linear_classifier: SVM and softmax losses, the SGD loop, prediction, the numeric gradient,
the hyperparameter sampler of the random search."""
from __future__ import annotations

import numpy as np

from autograder import samplers
from autograder.specs import AccuracySpec, Case, Spec, companion

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec | AccuracySpec] = []

# --- the losses -------------------------------------------------------------------------------


def _labels(rng, n, c):
    return rng.integers(0, c, size=n).astype(np.int64)


def _loss_cases(rng):
    """Inputs shared by the four loss functions: (W, X, y, reg)."""
    yield Case("typical", (0.5 * rng.normal(size=(6, 4)), rng.normal(size=(9, 6)), _labels(rng, 9, 4), 0.1))
    yield Case("one example", (rng.normal(size=(5, 3)), rng.normal(size=(1, 5)), _labels(rng, 1, 3), 0.05))
    yield Case("no regularisation, two classes",
               (rng.normal(size=(3, 2)), rng.normal(size=(20, 3)), _labels(rng, 20, 2), 0.0))
    # The correct class wins every example by far: only the regularisation term is left for the SVM.
    X = rng.normal(size=(6, 4))
    W = rng.normal(size=(4, 5))
    yield Case("correct class wins by a wide margin", (100.0 * W, X, np.argmax(X @ W, axis=1).astype(np.int64), 1e-3))
    yield Case("one feature, strong regularisation",
               (rng.normal(size=(1, 3)), rng.normal(size=(7, 1)), _labels(rng, 7, 3), 10.0))


def _stability_cases(rng):
    """Scores shifted by +-1000 for every class (a constant feature times a constant row of W)."""
    yield from _loss_cases(rng)
    for shift in (1000.0, -1000.0):
        X = np.hstack([rng.normal(size=(5, 4)), np.full((5, 1), 100.0)])
        W = np.vstack([rng.normal(size=(4, 3)), np.full((1, 3), shift / 100.0)])
        yield Case(f"all scores near {shift:+.0f}", (W, X, _labels(rng, 5, 3), 1e-4))


_LOSS = dict(outputs=("loss", "dW"), rtol=1e-6, atol=1e-8)
SPECS.append(Spec("svm_loss_naive", cases=_loss_cases, **_LOSS))
SPECS.append(Spec("svm_loss_vectorized", cases=_loss_cases, vectorised=True, **_LOSS))
SPECS.append(Spec("softmax_loss_naive", cases=_stability_cases, **_LOSS))
SPECS.append(Spec("softmax_loss_vectorized", cases=_stability_cases, vectorised=True, **_LOSS))

# --- training ---------------------------------------------------------------------------------


def _blobs(rng, n, c, d, spread=0.6):
    """A small separable-ish dataset: class centres on a sphere plus noise, with a bias column."""
    centres = rng.normal(size=(c, d))
    centres *= 2.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    y = np.arange(n) % c
    rng.shuffle(y)
    X = centres[y] + spread * rng.normal(size=(n, d))
    return np.hstack([X, np.ones((n, 1))]), y.astype(np.int64)


def _train_cases(rng):
    yield Case("typical", _blobs(rng, 120, 3, 5),
               dict(learning_rate=0.5, reg=1e-3, num_iters=60, batch_size=32, seed=0))
    yield Case("four classes, another seed", _blobs(rng, 160, 4, 6),
               dict(learning_rate=0.3, reg=1e-2, num_iters=80, batch_size=16, seed=7))
    yield Case("batch larger than the dataset (sampling with replacement)", _blobs(rng, 30, 3, 4),
               dict(learning_rate=0.5, reg=1e-3, num_iters=40, batch_size=64, seed=1))
    yield Case("default num_iters and batch_size", _blobs(rng, 90, 3, 3), dict(learning_rate=0.5))


def _run_training(fn, case):
    X, y = case.args
    loss_fn = companion(fn, "softmax_loss_vectorized")
    returned = fn(X, y, loss_fn, **case.kwargs)
    if type(returned) not in (tuple, list) or len(returned) != 2:
        raise AssertionError("it must return two values, (W, loss_history).")
    W, history = returned
    W = np.asarray(W)
    expected_shape = (X.shape[1], int(y.max()) + 1)
    if W.shape != expected_shape or W.dtype.kind not in "f":
        raise AssertionError(f"W has shape {W.shape} and dtype {W.dtype}; expected float {expected_shape}.")
    try:
        history = np.asarray(history, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise AssertionError("loss_history must be a list or array of numbers.") from None
    accuracy = float(np.mean(np.argmax(X @ W, axis=1) == y))
    return history, accuracy


def _judge_training(got, expected, case):
    history, accuracy = got
    ref_history, ref_accuracy = expected
    if history.shape != ref_history.shape:
        raise AssertionError(f"loss_history has {history.size} entries; expected one per iteration, "
                             f"{ref_history.size}.")
    if not np.all(np.isfinite(history)):
        raise AssertionError("loss_history holds NaN or infinite values.")
    start, end = history[0], history[-10:].mean()
    ref_start, ref_end = ref_history[0], ref_history[-10:].mean()
    if abs(start - ref_start) > 0.25 * ref_start:
        raise AssertionError("the first loss is far from what small random initial weights give "
                             "(about log(C)); initialise W = 0.001 * rng.standard_normal((D, C)).")
    if not end <= ref_end + 0.5 * (ref_start - ref_end):
        raise AssertionError("the loss did not go down as much as it should; check the update "
                             "W -= learning_rate * dW and the minibatch sampling.")
    if accuracy < ref_accuracy - 0.05:
        raise AssertionError(f"the trained weights reach a training accuracy of {accuracy:.2f}, clearly lower "
                             "than a correct training loop reaches on this data.")


SPECS.append(Spec("train_linear_classifier", cases=_train_cases, run=_run_training, judge=_judge_training))

# --- prediction -------------------------------------------------------------------------------


def _predict_cases(rng):
    yield Case("typical", (rng.normal(size=(5, 4)), rng.normal(size=(8, 5))))
    yield Case("one example", (rng.normal(size=(3, 6)), rng.normal(size=(1, 3))))
    yield Case("one class", (rng.normal(size=(4, 1)), rng.normal(size=(6, 4))))
    yield Case("many examples, ten classes", (rng.normal(size=(7, 10)), rng.normal(size=(200, 7))))


SPECS.append(Spec("predict_linear", cases=_predict_cases, outputs=("labels",), exact=True))

# --- the centred-difference numeric gradient ----------------------------------------------------

# Scalar functions of x (and fixed data c), picked by the case's first argument.
_SCALAR_FUNCTIONS = {
    "sum of squares": lambda x, c: np.sum(c * x ** 2),
    "cubic": lambda x, c: np.sum(c * x ** 3),
    "exp times sine": lambda x, c: np.sum(np.exp(0.5 * x) * np.sin(c * x)),
    "softmax loss": lambda W, data: _softmax_loss_value(W, *data),
}


def _softmax_loss_value(W, X, y):
    scores = X @ W
    scores = scores - scores.max(axis=1, keepdims=True)
    return np.mean(np.log(np.exp(scores).sum(axis=1)) - scores[np.arange(len(y)), y])


def _gradient_cases(rng):
    """(kind, x, data) with an optional h; x is float64 and must be unchanged after the call."""
    yield Case("sum of squares, a vector", ("sum of squares", rng.normal(size=5), rng.random(5) + 0.5))
    yield Case("cubic, a (3, 4) matrix", ("cubic", rng.normal(size=(3, 4)), rng.normal(size=(3, 4))))
    yield Case("exp times sine, a (2, 3, 2) array", ("exp times sine", rng.normal(size=(2, 3, 2)), 2.0), {"h": 1e-4})
    yield Case("large step h = 0.1 (one-sided differences are far off)",
               ("cubic", rng.normal(size=4), rng.normal(size=4)), {"h": 0.1})
    yield Case("one entry", ("exp times sine", rng.normal(size=1), 1.0), {"h": 1e-3})
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6).astype(np.int64)
    yield Case("softmax loss of small weights", ("softmax loss", 0.1 * rng.normal(size=(4, 3)), (X, y)))


def _run_gradient(fn, case):
    kind, x, data = case.args
    function = _SCALAR_FUNCTIONS[kind]
    return fn(lambda value: float(function(value, data)), x, **case.kwargs)


SPECS.append(Spec("centred_difference_gradient", cases=_gradient_cases, run=_run_gradient, outputs=("grad",),
                  rtol=1e-6, atol=1e-8))

# --- the random search: drawing hyperparameters -------------------------------------------------
# The sampler is judged by what it draws (autograder.samplers): ranges, log-uniform exponents,
# independence, and draws decided by the generator passed in. Any correct way to draw passes.
_SAMPLED = {"learning_rate": samplers.as_number, "reg": samplers.as_number}


def _sampler_cases(rng):
    """(seed of the generator, learning-rate range, regularisation range)."""
    def seed():
        return int(rng.integers(1 << 30))
    log_range = samplers.log_range
    yield Case("ranges of several decades", (seed(), log_range(rng, rng.uniform(-7, -5), rng.uniform(2, 3)),
                                             log_range(rng, rng.uniform(-1, 1), rng.uniform(3, 5))))
    yield Case("ranges within one decade", (seed(), log_range(rng, rng.uniform(-4, -2), rng.uniform(0.4, 0.9)),
                                            log_range(rng, rng.uniform(1, 3), rng.uniform(0.4, 0.9))))
    yield Case("a fixed learning rate (low == high)", (seed(), log_range(rng, rng.uniform(-6, -3), 0),
                                                       log_range(rng, rng.uniform(-2, 0), rng.uniform(2, 4))))
    yield Case("a fixed regularisation strength (low == high)",
               (seed(), log_range(rng, rng.uniform(-8, -6), rng.uniform(1, 3)), log_range(rng, rng.uniform(2, 4), 0)))


def _judge_sampler(got, expected, case):
    _, lr_range, reg_range = case.args
    samplers.judge_log_uniform(got, {"learning_rate": lr_range, "reg": reg_range})


SPECS.append(Spec("sample_linear_hyperparameters", cases=_sampler_cases,
                  run=lambda fn, case: samplers.run(fn, case, _SAMPLED), judge=_judge_sampler, outputs=tuple(_SAMPLED)))

# --- the accuracy target ------------------------------------------------------------------------
# Judged by the grader on 1,000 held-out images it generates; the thresholds are for the quick budget
# and sit well below what the reference reaches on held-out sets of several seeds.
SPECS.append(AccuracySpec("softmax_pixels", thresholds={"synthetic": 0.30, "cifar10": 0.25}, cell="linear_accuracy_threshold"))
