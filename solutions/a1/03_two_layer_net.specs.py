"""Specs of a1 / 03_two_layer_net: linear layers collapse, the two-layer net, activations, ReLU bumps, hidden map,
the hyperparameter sampler of the random search."""
from __future__ import annotations

import numpy as np

from autograder import samplers
from autograder.specs import AccuracySpec, Case, Spec

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec | AccuracySpec] = []

# --- collapsing two linear layers -----------------------------------------------------------


def _collapse_cases(rng):
    def layers(d, h, c):
        return (rng.normal(size=(d, h)), rng.normal(size=h), rng.normal(size=(h, c)), rng.normal(size=c))
    yield Case("typical (D=5, H=4, C=3)", layers(5, 4, 3))
    yield Case("wide hidden layer (D=3, H=9, C=2)", layers(3, 9, 2))
    yield Case("one hidden unit", layers(4, 1, 3))
    yield Case("one input and one class", layers(1, 3, 1))


SPECS.append(Spec("collapse_linear_layers", cases=_collapse_cases, outputs=("W", "b"), rtol=1e-9, atol=1e-12))

# --- the two-layer net ----------------------------------------------------------------------


def _params(rng, d, h, c, scale=0.5):
    return {"W1": scale * rng.normal(size=(d, h)), "b1": 0.1 * rng.normal(size=h),
            "W2": scale * rng.normal(size=(h, c)), "b2": 0.1 * rng.normal(size=c)}


def _net_cases(rng, with_labels):
    def case(label, n, d, h, c, reg, offset=0.0):
        params, X = _params(rng, d, h, c), rng.normal(size=(n, d))
        params["b2"] = params["b2"] + offset  # a common offset: exp() overflows unless scores are shifted
        args = (params, X, rng.integers(0, c, size=n), reg) if with_labels else (params, X)
        return Case(label, args)
    yield case("typical (N=6, D=5, H=7, C=4)", 6, 5, 7, 4, 0.1)
    yield case("one example", 1, 4, 5, 3, 0.05)
    yield case("no regularisation", 8, 3, 10, 5, 0.0)
    yield case("one hidden unit, two classes", 5, 6, 1, 2, 0.2)
    yield case("large scores (numerical stability)", 4, 5, 6, 3, 0.01, offset=1000.0)


def _run_forward(fn, case):
    result = fn(*case.args, **case.kwargs)
    if type(result) is not tuple or len(result) != 2:
        raise AssertionError("two_layer_forward must return a tuple (scores, cache).")
    return result[0]


SPECS.append(Spec("two_layer_forward", cases=lambda rng: _net_cases(rng, False), run=_run_forward,
              outputs=("scores",), vectorised=True, rtol=1e-8, atol=1e-10))
SPECS.append(Spec("two_layer_loss", cases=lambda rng: _net_cases(rng, True), outputs=("loss", "grads"),
              vectorised=True, rtol=1e-6, atol=1e-9, stand_ins=("two_layer_forward",)))


def _predict_cases(rng):
    yield Case("typical", (_params(rng, 5, 8, 4), rng.normal(size=(7, 5))))
    yield Case("one example", (_params(rng, 3, 4, 6), rng.normal(size=(1, 3))))
    yield Case("many classes", (_params(rng, 4, 6, 12), rng.normal(size=(20, 4))))
    yield Case("one class", (_params(rng, 4, 3, 1), rng.normal(size=(5, 4))))


SPECS.append(Spec("predict_two_layer", cases=_predict_cases, outputs=("predicted labels",), exact=True,
                  stand_ins=("two_layer_forward",)))

# --- training -------------------------------------------------------------------------------


def _blobs(rng, n, d, c):
    centres = 2.5 * rng.normal(size=(c, d))
    y = rng.integers(0, c, size=n)
    return centres[y] + rng.normal(size=(n, d)), y


def _train_cases(rng):
    def case(label, d, h, c, n_train, **kwargs):
        X, y = _blobs(rng, n_train + 150, d, c)
        params = {"W1": 0.01 * rng.normal(size=(d, h)), "b1": np.zeros(h),
                  "W2": 0.01 * rng.normal(size=(h, c)), "b2": np.zeros(c)}
        return Case(label, (params, X[:n_train], y[:n_train], X[n_train:], y[n_train:]), kwargs)
    yield case("typical", 10, 20, 3, 300, learning_rate=0.5, num_iters=150, batch_size=50, reg=1e-3)
    yield case("strong decay, five classes", 8, 30, 5, 400, learning_rate=0.5, learning_rate_decay=0.7,
               num_iters=200, batch_size=40, reg=1e-4, seed=3)
    yield case("batch larger than the data", 6, 10, 2, 60, learning_rate=0.3, num_iters=60, batch_size=100)


def _run_train(fn, case):
    result = fn(*case.args, **case.kwargs)
    if type(result) is not tuple or len(result) != 2:
        raise AssertionError("train_two_layer_net must return a tuple (params, history).")
    params, history = result
    for key in ("loss_history", "train_acc_history", "val_acc_history"):
        if not isinstance(history, dict) or key not in history:
            raise AssertionError(f"the history dict must have the key {key!r}.")
    for key in ("W1", "b1", "W2", "b2"):
        if not isinstance(params, dict) or key not in params:
            raise AssertionError(f"the returned params must be a dict with the key {key!r}.")
    X_val, y_val = case.args[3], case.args[4]
    hidden = np.maximum(0.0, X_val @ np.asarray(params["W1"], float) + np.asarray(params["b1"], float))
    scores = hidden @ np.asarray(params["W2"], float) + np.asarray(params["b2"], float)
    return (np.asarray(history["loss_history"], dtype=np.float64).ravel(),
            float(np.mean(np.argmax(scores, axis=1) == y_val)),
            len(history["train_acc_history"]), len(history["val_acc_history"]))


def _judge_train(got, expected, case):
    losses, accuracy, n_train_acc, n_val_acc = got
    ref_losses, ref_accuracy, ref_n_train_acc, ref_n_val_acc = expected
    num_iters = case.kwargs["num_iters"]
    if losses.shape != (num_iters,):
        raise AssertionError(f"loss_history must hold one loss per iteration ({num_iters}); it holds {losses.size}.")
    if not np.all(np.isfinite(losses)):
        raise AssertionError("loss_history contains NaN or inf; is the learning rate applied with the right sign?")
    if (n_train_acc, n_val_acc) != (ref_n_train_acc, ref_n_val_acc):
        raise AssertionError(f"record the accuracies once per epoch (max(N // batch_size, 1) iterations): "
                             f"expected {ref_n_val_acc} entries, got {n_train_acc} (train) and {n_val_acc} (val).")
    window = max(num_iters // 10, 1)
    early, late = losses[:window].mean(), losses[-window:].mean()
    ref_drop = ref_losses[:window].mean() - ref_losses[-window:].mean()
    if not early - late > 0.5 * ref_drop:
        raise AssertionError(f"the loss barely falls (mean of the first {window} steps {early:.3f}, of the last "
                             f"{window} {late:.3f}); check the update step and the learning-rate decay.")
    if accuracy < ref_accuracy - 0.06:
        raise AssertionError(f"the trained net reaches only {accuracy:.2f} validation accuracy, clearly below what "
                             f"correct SGD reaches on this easy problem.")


SPECS.append(Spec("train_two_layer_net", cases=_train_cases, run=_run_train, judge=_judge_train,
                  stand_ins=("two_layer_loss", "predict_two_layer")))

# --- activations ----------------------------------------------------------------------------


def _activation_cases(rng):
    yield Case("typical", (rng.normal(scale=2.0, size=12),))
    yield Case("zeros and the kink", (np.array([0.0, -0.0, 1e-12, -1e-12]),))
    yield Case("large values (no overflow)", (np.array([-1000.0, -40.0, -5.0, 5.0, 40.0, 1000.0]),))
    yield Case("one value", (rng.normal(size=1),))


def _run_activations(fn, case):
    with np.errstate(over="ignore", invalid="ignore"):
        result = fn(*case.args, **case.kwargs)
    if type(result) is not dict:
        raise AssertionError("activations must return a dict of (value, derivative) tuples.")
    return {key: tuple(value) if type(value) in (tuple, list) else value for key, value in result.items()}


SPECS.append(Spec("activations", cases=_activation_cases, run=_run_activations, vectorised=True,
              outputs=("activations",), rtol=1e-7, atol=1e-10))

# --- ReLU bumps -----------------------------------------------------------------------------


def _bump_cases(rng):
    x = np.linspace(-2.0, 6.0, 33)
    yield Case("typical", (x, 0.0, 4.0, 2.0))
    yield Case("negative height", (rng.normal(scale=2.0, size=20), -1.0, 1.5, -0.7))
    yield Case("narrow bump", (np.linspace(0.9, 1.3, 21), 1.0, 1.2, 5.0))
    yield Case("broadcast over bumps", (x[:, None], np.array([[-1.0, 1.0, 3.0]]), np.array([[1.0, 3.0, 5.0]]),
                                       np.array([[1.0, -2.0, 0.5]])))


def _bump_sum_cases(rng):
    edges = np.linspace(0.0, 2 * np.pi, 9)
    yield Case("typical", (rng.uniform(-0.5, 7.0, size=40), edges, np.sin((edges[:-1] + edges[1:]) / 2)))
    yield Case("one bump", (np.linspace(-1.0, 3.0, 17), np.array([0.0, 2.0]), np.array([1.5])))
    yield Case("uneven edges", (rng.uniform(-1.0, 5.0, size=25), np.array([0.0, 0.5, 2.0, 2.2, 4.0]),
                                rng.normal(size=4)))
    yield Case("one point", (np.array([1.0]), np.array([0.0, 1.0, 2.0]), np.array([2.0, -1.0])))


SPECS.append(Spec("relu_bump", cases=_bump_cases, outputs=("bump",), vectorised=True, rtol=1e-9, atol=1e-12))
SPECS.append(Spec("bump_sum", cases=_bump_sum_cases, outputs=("sum of bumps",), vectorised=True, rtol=1e-9, atol=1e-12,
                  stand_ins=("relu_bump",)))

# --- the hidden layer as a map of the plane ---------------------------------------------------


def _hidden_cases(rng):
    """(params, X): the hidden ReLU activations of the two-layer net; only W1 and b1 matter."""
    yield Case("two hidden units on 2-D points",
               (_params(rng, 2, 2, 3, scale=2.0), rng.uniform(-1.0, 1.0, size=(9, 2))))
    yield Case("wider layer (D=5, H=7)", (_params(rng, 5, 7, 4), rng.normal(size=(6, 5))))
    yield Case("one example", (_params(rng, 3, 2, 2), rng.normal(size=(1, 3))))
    dead = _params(rng, 2, 3, 2)
    dead["b1"] = np.array([-50.0, 0.0, 50.0])  # one unit never active, one always
    yield Case("a dead unit and an always-active unit", (dead, rng.normal(size=(8, 2))))


SPECS.append(Spec("hidden_representation", cases=_hidden_cases, outputs=("hidden",), vectorised=True,
                  rtol=1e-9, atol=1e-12))

# --- the random search: drawing hyperparameters -------------------------------------------------
# As in 02, the sampler is judged by what it draws (autograder.samplers): ranges, log-uniform
# exponents, independence, widths drawn with equal chances, and draws decided by the generator passed in.
_SAMPLED = {"learning_rate": samplers.as_number, "reg": samplers.as_number, "hidden_size": samplers.as_int}
_WIDTH_SHARE_TOLERANCE = 0.05  # each width's share of 4000 draws, around 1 / (number of widths)


def _widths(rng, count):
    return tuple(sorted(int(w) for w in rng.choice(np.arange(8, 513), size=count, replace=False)))


def _sampler_cases(rng):
    """(seed of the generator, learning-rate range, regularisation range, widths to choose from)."""
    def seed():
        return int(rng.integers(1 << 30))
    log_range = samplers.log_range
    yield Case("ranges of several decades, two widths",
               (seed(), log_range(rng, rng.uniform(-5, -3), rng.uniform(2, 3)),
                log_range(rng, rng.uniform(-6, -4), rng.uniform(3, 5)), _widths(rng, 2)))
    yield Case("ranges within one decade, three widths",
               (seed(), log_range(rng, rng.uniform(-4, -2), rng.uniform(0.4, 0.9)),
                log_range(rng, rng.uniform(-3, -1), rng.uniform(0.4, 0.9)), _widths(rng, 3)))
    yield Case("one width only", (seed(), log_range(rng, rng.uniform(-5, -3), rng.uniform(1, 2)),
                                  log_range(rng, rng.uniform(-5, -3), rng.uniform(1, 3)), _widths(rng, 1)))
    yield Case("a fixed learning rate (low == high), four widths",
               (seed(), log_range(rng, rng.uniform(-4, -2), 0),
                log_range(rng, rng.uniform(-4, -2), rng.uniform(2, 3)), _widths(rng, 4)))


def _judge_sampler(got, expected, case):
    _, lr_range, reg_range, widths = case.args
    several = len(widths) > 1
    positions = samplers.judge_log_uniform(got, {"learning_rate": lr_range, "reg": reg_range},
                                           also_varying=("hidden_size",) if several else ())
    drawn = got[0]["hidden_size"]
    strangers = sorted(set(drawn.tolist()) - set(widths))
    if strangers:
        raise AssertionError(f"hidden_size = {strangers[0]} is not one of the widths {list(widths)}.")
    shares = np.array([np.mean(drawn == width) for width in widths])
    if np.any(np.abs(shares - 1 / len(widths)) > _WIDTH_SHARE_TOLERANCE):
        raise AssertionError(f"the widths {list(widths)} are drawn with shares {np.round(shares, 2).tolist()}; "
                             f"each should come up equally often.")
    if several:
        rank = np.searchsorted(np.array(widths), drawn).astype(np.float64)
        for key, position in positions.items():
            samplers.assert_independent(position, rank, "hidden_size", key)


SPECS.append(Spec("sample_two_layer_hyperparameters", cases=_sampler_cases,
                  run=lambda fn, case: samplers.run(fn, case, _SAMPLED), judge=_judge_sampler, outputs=tuple(_SAMPLED)))

# --- the accuracy target ------------------------------------------------------------------------
# Judged by the grader on 1,000 held-out images it generates; the thresholds are for the quick budget
# and sit well below what the reference reaches on held-out sets of several seeds.
SPECS.append(AccuracySpec("two_layer_pixels", thresholds={"synthetic": 0.35, "cifar10": 0.30}, cell="two_layer_pixels_accuracy"))
