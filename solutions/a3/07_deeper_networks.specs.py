"""Specs of a3 / 07_deeper_networks: the any-depth network, the solver, activation statistics and sizes."""
from __future__ import annotations

import numpy as np

from autograder.specs import AccuracySpec, Case, Spec

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec | AccuracySpec] = []

# --- the network ---------------------------------------------------------------------------


def _params(rng, dims, norm=None):
    """Parameters in the layout of init_deep_net, with every entry moved away from its initial value."""
    params = {}
    depth = len(dims) - 1
    for i in range(1, depth + 1):
        params[f"W{i}"] = rng.normal(size=(dims[i - 1], dims[i])) / np.sqrt(dims[i - 1])
        params[f"b{i}"] = 0.1 * rng.normal(size=dims[i])
        if norm is not None and i < depth:
            params[f"gamma{i}"] = 1.0 + 0.2 * rng.normal(size=dims[i])
            params[f"beta{i}"] = 0.1 * rng.normal(size=dims[i])
            if norm == "batchnorm":
                params[f"running_mean{i}"] = 0.3 * rng.normal(size=dims[i])
                params[f"running_var{i}"] = rng.uniform(0.5, 2.0, size=dims[i])
    return params


def _net_cases(rng):
    seed = int(rng.integers(1 << 20))
    labels = lambda n, c: rng.integers(0, c, size=n)  # noqa: E731
    yield Case("plain, three layers", (_params(rng, [6, 5, 4, 3]), rng.normal(size=(5, 6)), labels(5, 3)),
               {"reg": 0.1})
    yield Case("one layer (softmax classifier)", (_params(rng, [5, 4]), rng.normal(size=(3, 5)), labels(3, 4)),
               {"reg": 0.05})
    yield Case("batchnorm, four layers", (_params(rng, [7, 6, 5, 4, 3], "batchnorm"), rng.normal(size=(8, 7)),
                                          labels(8, 3)), {"reg": 0.02, "norm": "batchnorm"})
    yield Case("layernorm, image-shaped input", (_params(rng, [12, 5, 6, 2], "layernorm"),
                                                 rng.normal(size=(4, 2, 2, 3)), labels(4, 2)),
               {"reg": 0.0, "norm": "layernorm"})
    yield Case("dropout 0.4, seeded", (_params(rng, [6, 8, 8, 3]), rng.normal(size=(6, 6)), labels(6, 3)),
               {"reg": 0.01, "dropout": 0.4, "seed": seed})
    yield Case("batchnorm and dropout 0.25, seeded", (_params(rng, [5, 7, 6, 4], "batchnorm"), rng.normal(size=(9, 5)),
                                                       labels(9, 4)),
               {"reg": 0.03, "norm": "batchnorm", "dropout": 0.25, "seed": seed + 1})
    yield Case("layernorm and dropout 0.5, seeded", (_params(rng, [4, 6, 3], "layernorm"), rng.normal(size=(5, 4)),
                                                      labels(5, 3)),
               {"norm": "layernorm", "dropout": 0.5, "seed": seed + 2})
    yield Case("scores, batchnorm, test mode", (_params(rng, [6, 5, 5, 4], "batchnorm"), rng.normal(size=(3, 6))),
               {"norm": "batchnorm", "dropout": 0.5, "mode": "test"})
    yield Case("scores, batchnorm, train mode", (_params(rng, [6, 5, 4], "batchnorm"), rng.normal(size=(4, 6))),
               {"norm": "batchnorm", "mode": "train"})
    yield Case("scores, one example, layernorm", (_params(rng, [5, 6, 3], "layernorm"), rng.normal(size=(1, 5))),
               {"norm": "layernorm", "mode": "test"})


def _run_net(fn, case):
    params = case.args[0]
    result = fn(*case.args, **case.kwargs)
    running = {key: np.asarray(value, dtype=float) for key, value in params.items() if key.startswith("running")}
    if len(case.args) < 3:  # no labels: the scores
        return result, running
    loss, grads = result
    return loss, grads, running


# Graded on the reference 06 layers in place of the student's: a mistake there costs its points in 06 only.
SPECS.append(Spec("deep_net_loss", cases=_net_cases, run=_run_net, rtol=1e-6, atol=1e-9,
                  outputs=("loss (or scores without labels)", "grads", "running averages left in params"),
                  stand_ins=("layers.batchnorm_forward", "layers.batchnorm_backward_simple", "layers.layernorm_forward",
                             "layers.layernorm_backward", "layers.dropout_forward", "layers.dropout_backward")))

# --- the solver ------------------------------------------------------------------------------
# The solver is judged on a model defined here (a softmax classifier), so that only the solver's
# own logic is compared: the order of the minibatches, the per-parameter configs, the learning
# rate decay, the histories and the best-validation checkpoint.


def _linear_loss(params, X, y):
    scores = X @ params["W"] + params["b"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(probs[np.arange(n), y]).mean()
    probs[np.arange(n), y] -= 1.0
    dscores = probs / n
    return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def _linear_loss_with_counter(params, X, y):
    """Like _linear_loss, and also counts its calls in params["calls"] (a parameter without a gradient)."""
    loss, grads = _linear_loss(params, X, y)
    params["calls"] = params["calls"] + 1.0
    return loss, grads


def _linear_predict(params, X):
    return np.argmax(X @ params["W"] + params["b"], axis=1)


def _sgd(w, dw, config):
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config


def _momentum(w, dw, config):
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    velocity = config["momentum"] * config.get("velocity", np.zeros_like(w)) - config["learning_rate"] * dw
    config["velocity"] = velocity
    return w + velocity, config


_RULES = {"sgd": _sgd, "momentum": _momentum}


def _problem(rng, n_train, n_val, d=4, c=3, noise=0.25):
    """Gaussian blobs with a fraction of flipped labels, so that validation accuracy wobbles."""
    centres = 1.5 * rng.normal(size=(c, d))
    def draw(n):
        y = rng.integers(0, c, size=n)
        X = centres[y] + rng.normal(size=(n, d))
        flip = rng.random(n) < noise
        y[flip] = rng.integers(0, c, size=int(flip.sum()))
        return X, y
    (X, y), (Xv, yv) = draw(n_train), draw(n_val)
    params = {"W": 0.1 * rng.normal(size=(d, c)), "b": np.zeros(c)}
    return params, {"X_train": X, "y_train": y, "X_val": Xv, "y_val": yv}


def _solver_cases(rng):
    seed = int(rng.integers(1 << 20))
    params, data = _problem(rng, 60, 30)
    yield Case("sgd, large steps", (params, data, "sgd", {"learning_rate": 2.0}),
               {"epochs": 8, "batch_size": 16, "seed": seed})
    params, data = _problem(rng, 50, 40)
    yield Case("momentum, learning rate decay", (params, data, "momentum", {"learning_rate": 0.5, "momentum": 0.8}),
               {"epochs": 6, "batch_size": 10, "lr_decay": 0.7, "seed": seed + 1})
    params, data = _problem(rng, 40, 20)
    yield Case("batch larger than the data, default config", (params, data, "sgd", None),
               {"epochs": 3, "batch_size": 100, "seed": seed + 2})
    params, data = _problem(rng, 45, 25, noise=0.0)
    yield Case("train_check smaller than the data", (params, data, "sgd", {"learning_rate": 0.3}),
               {"epochs": 4, "batch_size": 15, "train_check": 20, "seed": seed + 3})
    params, data = _problem(rng, 30, 30)
    params["calls"] = np.zeros(1)
    yield Case("a parameter without gradient, changed by the loss", (params, data, "sgd", {"learning_rate": 1.0}),
               {"epochs": 5, "batch_size": 7, "seed": seed + 4, "loss": "counter"})


def _run_solver(fn, case):
    params, data, rule, config = case.args
    kwargs = dict(case.kwargs)
    loss_fn = _linear_loss_with_counter if kwargs.pop("loss", None) == "counter" else _linear_loss
    best, history = fn(params, loss_fn, _linear_predict, data, _RULES[rule], config, **kwargs)
    if type(history) is not dict:
        raise AssertionError(f"the history must be a dict; got {type(history).__name__}.")
    missing = [key for key in ("loss", "train_acc", "val_acc", "best_val_acc", "best_epoch") if key not in history]
    if missing:
        raise AssertionError(f"the history lacks {', '.join(missing)}.")
    return (best, history["loss"], history["train_acc"], history["val_acc"], history["best_val_acc"],
            history["best_epoch"], params)


SPECS.append(Spec("train_net", cases=_solver_cases, run=_run_solver, rtol=1e-7, atol=1e-10,
                  outputs=("best_params", "history['loss']", "history['train_acc']", "history['val_acc']",
                           "history['best_val_acc']", "history['best_epoch']", "the caller's params after the call")))

# --- activation statistics ------------------------------------------------------------------


def _stats_cases(rng):
    yield Case("three layers of 8", (rng.normal(size=(20, 6)), [rng.normal(size=(6, 8)) * 0.5,
                                                                rng.normal(size=(8, 8)) * 0.5,
                                                                rng.normal(size=(8, 8)) * 0.5]))
    yield Case("changing widths, large scale", (rng.normal(size=(10, 5)), [rng.normal(size=(5, 12)) * 3.0,
                                                                           rng.normal(size=(12, 4)) * 3.0,
                                                                           rng.normal(size=(4, 9)) * 3.0,
                                                                           rng.normal(size=(9, 2)) * 3.0]))
    yield Case("one layer", (rng.normal(size=(7, 3)), [rng.normal(size=(3, 5))]))
    yield Case("a dead layer", (np.abs(rng.normal(size=(6, 4))), [-np.abs(rng.normal(size=(4, 4))),
                                                                  rng.normal(size=(4, 3))]))


SPECS.append(Spec("layer_activation_stats", cases=_stats_cases, outputs=("means", "stds"), rtol=1e-9, atol=1e-12))

# --- sizes ---------------------------------------------------------------------------------


def _count_cases(rng):
    yield Case("linear classifier", ([3072, 10],))
    yield Case("two hidden layers", ([int(rng.integers(5, 50)), int(rng.integers(5, 50)), int(rng.integers(5, 50)), 10],))
    yield Case("batchnorm", ([20, 30, 40, 10],), {"norm": "batchnorm"})
    yield Case("layernorm, one hidden", ([int(rng.integers(5, 500)), int(rng.integers(5, 500)), 7], "layernorm"))
    yield Case("norm without hidden layers", ([8, 3], "batchnorm"))


def _width_cases(rng):
    yield Case("one hidden layer", (3072, 10, 1, int(rng.integers(500_000, 2_000_000))))
    yield Case("two hidden layers, batchnorm", (192, 10, 2, int(rng.integers(100_000, 300_000))), {"norm": "batchnorm"})
    yield Case("eight hidden layers, layernorm", (100, 5, 8, int(rng.integers(50_000, 100_000)), "layernorm"))
    yield Case("budget exactly met", (10, 3, 1, 10 * 7 + 7 + 7 * 3 + 3))
    yield Case("nothing fits", (100, 10, 2, 500))


SPECS.append(Spec("count_params", cases=_count_cases, exact=True, outputs=("number of parameters",)))
SPECS.append(Spec("width_for_budget", cases=_width_cases, exact=True, outputs=("width",), stand_ins=("count_params",)))

# --- the accuracy target ------------------------------------------------------------------------
# Judged by the grader on 1,000 held-out images it generates; thresholds for the quick budget.
SPECS.append(AccuracySpec("deep_net", thresholds={"synthetic": 0.33, "cifar10": 0.30}, cell="deep_net_accuracy"))
