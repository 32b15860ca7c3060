"""Specs of a3 / 07_deeper_networks: the references pass, plausible mistakes fail, and the network agrees
with PyTorch."""
from __future__ import annotations

import copy
import json
import linecache
from pathlib import Path

import numpy as np
import pytest

from autograder import cells, release
from autograder.specs import Spec
from autograder.course import Course
from autograder.judge import check_locally

A3 = Course.at(Path(__file__).resolve().parents[1]).assignment("a3")
NOTEBOOK = A3.source_dir / "07_deeper_networks.ipynb"
NAMES = ["deep_net_loss", "train_net", "layer_activation_stats", "count_params", "width_for_budget"]


@pytest.mark.parametrize("salt", [0, 1, 29])
@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_spec(name, salt):
    check_locally(A3, name, A3.reference(name), salt=salt)


def test_the_assignment_validates_and_every_graded_function_has_a_spec():
    assert release.validate(A3) == []
    functions = {name for name, spec in A3.specs.specs.items()
                 if isinstance(spec, Spec) and A3.specs.files[name].name.startswith("07_")}
    assert functions == set(NAMES)
    assert A3.spec("deep_net").cell == "deep_net_accuracy"


def test_accuracy_thresholds_are_stated_for_every_dataset():
    from course_utils.data import DATASET_NAMES

    source = NOTEBOOK.read_text(encoding="utf-8")
    graded = [cell for cell in json.loads(source)["cells"] if cells.grade_id(cell) == "deep_net_accuracy"]
    assert len(graded) == 1
    for name in DATASET_NAMES:
        assert f'\\"{name}\\"' in json.dumps(cells.source(graded[0])), f"no threshold for {name}"
        assert f"`{name}`" in source, f"the notebook does not state the target for {name}"


def reference_namespace():
    """The namespace of the solution notebook's definitions (numpy, the given layers, `layers` from 06)."""
    return A3.reference("deep_net_loss").__globals__


def student(source: str, name: str):
    namespace = dict(reference_namespace())
    path = f"<student-{name}-{abs(hash(source))}>"
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace[name]


def assert_fails(name, fn, salt=0, match=None):
    with pytest.raises(AssertionError, match=match):
        check_locally(A3, name, fn, salt=salt)


# --- the network ------------------------------------------------------------------------------

def test_net_with_the_graph_version_of_the_batchnorm_backward_is_fine():
    ref = A3.reference("deep_net_loss")
    namespace = reference_namespace()
    layers = namespace["layers"]

    class GraphLayers:
        def __getattr__(self, name):
            if name == "batchnorm_backward_simple":
                return layers.batchnorm_backward_graph
            return getattr(layers, name)

    def deep_net_loss(*args, **kwargs):
        original = namespace["layers"]
        namespace["layers"] = GraphLayers()
        try:
            return ref(*args, **kwargs)
        finally:
            namespace["layers"] = original
    check_locally(A3, "deep_net_loss", deep_net_loss)


def test_net_that_does_not_store_the_running_averages_fails():
    ref = A3.reference("deep_net_loss")

    def deep_net_loss(params, X, y=None, **kwargs):
        return ref(copy.deepcopy(params), X, y, **kwargs)
    assert_fails("deep_net_loss", deep_net_loss, match="running averages")


def test_net_that_regularises_gamma_fails():
    ref = A3.reference("deep_net_loss")

    def deep_net_loss(params, X, y=None, reg=0.0, **kwargs):
        result = ref(params, X, y, reg=reg, **kwargs)
        if y is None:
            return result
        loss, grads = result
        for key in grads:
            if key.startswith("gamma"):
                loss += reg * np.sum(params[key] ** 2)
                grads[key] = grads[key] + 2 * reg * params[key]
        return loss, grads
    assert_fails("deep_net_loss", deep_net_loss, match="batchnorm, four layers")


def test_net_with_other_dropout_seeds_fails():
    ref = A3.reference("deep_net_loss")

    def deep_net_loss(params, X, y=None, seed=None, **kwargs):
        return ref(params, X, y, seed=None if seed is None else seed - 1, **kwargs)
    assert_fails("deep_net_loss", deep_net_loss, match="dropout")


def test_net_that_returns_gradients_for_running_averages_fails():
    ref = A3.reference("deep_net_loss")

    def deep_net_loss(params, X, y=None, **kwargs):
        result = ref(params, X, y, **kwargs)
        if y is None:
            return result
        loss, grads = result
        grads.update({key: np.zeros_like(value) for key, value in params.items() if key.startswith("running")})
        return loss, grads
    assert_fails("deep_net_loss", deep_net_loss, match="grads")


def test_net_ignoring_the_mode_fails():
    ref = A3.reference("deep_net_loss")

    def deep_net_loss(params, X, y=None, mode="train", **kwargs):
        return ref(params, X, y, mode="train", **kwargs)
    assert_fails("deep_net_loss", deep_net_loss, match="test mode")


def test_net_without_relu_after_normalisation_fails():
    source = Path(NOTEBOOK).read_text(encoding="utf-8")
    body = next(cells.source(cell) for cell in json.loads(source)["cells"] if cells.grade_id(cell) == "deep_net_loss")
    body = body.replace("h, relu_cache = relu_forward(h)", "relu_cache = h")
    body = body.replace("dh = relu_backward(dh, relu_cache)", "pass")
    assert_fails("deep_net_loss", student(body, "deep_net_loss"), match="plain, three layers")


# --- the solver -------------------------------------------------------------------------------

def make_solver(keep_last=False, at_least=False, shared_config=False, in_place=False, decay_every_step=False,
                rng_per_epoch=False, keep_remainder=False):
    """A solver following the notebook's rules, with one of them broken on request."""
    def train_net(params, loss_fn, predict_fn, data, update, config=None, epochs=10, batch_size=100,
                  lr_decay=1.0, train_check=1000, seed=0, verbose=False):
        X, y = data["X_train"], data["y_train"]
        rng = np.random.default_rng(seed)
        params = params if in_place else dict(params)
        shared = dict(config or {})
        configs = {}
        history = {"loss": [], "train_acc": [], "val_acc": [], "best_val_acc": -1.0, "best_epoch": 0}
        best = dict(params)
        steps = max(len(X) // batch_size + (1 if keep_remainder and len(X) % batch_size else 0), 1)
        for epoch in range(1, epochs + 1):
            if rng_per_epoch:
                rng = np.random.default_rng(seed + epoch)
            order = rng.permutation(len(X))
            for k in range(steps):
                batch = order[k * batch_size:(k + 1) * batch_size]
                loss, grads = loss_fn(params, X[batch], y[batch])
                history["loss"].append(float(loss))
                for key, grad in grads.items():
                    configs.setdefault(key, shared if shared_config else dict(config or {}))
                    params[key], configs[key] = update(params[key], grad, configs[key])
                    if decay_every_step:
                        configs[key]["learning_rate"] *= lr_decay
            if not decay_every_step:
                for key in configs:
                    configs[key]["learning_rate"] *= lr_decay
            history["train_acc"].append(float(np.mean(predict_fn(params, X[:train_check]) == y[:train_check])))
            history["val_acc"].append(float(np.mean(predict_fn(params, data["X_val"]) == data["y_val"])))
            better = history["val_acc"][-1] >= history["best_val_acc"] if at_least else \
                history["val_acc"][-1] > history["best_val_acc"]
            if better or keep_last:
                history["best_val_acc"], history["best_epoch"] = history["val_acc"][-1], epoch
                best = dict(params)
        return best, history
    return train_net


def test_solver_written_independently_is_fine():
    check_locally(A3, "train_net", make_solver())


@pytest.mark.parametrize("mistake", ["keep_last", "at_least", "shared_config", "in_place", "decay_every_step",
                                     "rng_per_epoch", "keep_remainder"])
def test_solver_mistakes_fail(mistake):
    assert_fails("train_net", make_solver(**{mistake: True}))


def test_solver_history_without_best_epoch_fails():
    ref = A3.reference("train_net")

    def train_net(*args, **kwargs):
        best, history = ref(*args, **kwargs)
        del history["best_epoch"]
        return best, history
    assert_fails("train_net", train_net, match="best_epoch")


def test_solver_cases_exercise_early_stopping():
    """In every salt, some case's best epoch is not the last one and some case has a tie for the best."""
    spec, ref = A3.spec("train_net"), A3.reference("train_net")
    from autograder.checks import run_case
    for salt in range(5):
        outputs = [run_case(spec, ref, copy.deepcopy(case)) for case in spec.cases(spec.rng(salt))]
        assert any(out[5] < len(out[3]) for out in outputs), salt
        assert any(sum(acc == max(out[3]) for acc in out[3]) > 1 for out in outputs), salt


# --- activation statistics and sizes ----------------------------------------------------------

def test_stats_of_pre_activations_fail():
    fn = student('''
def layer_activation_stats(X, weights):
    means, stds, h = [], [], X
    for W in weights:
        z = h @ W
        means.append(z.mean()); stds.append(z.std())
        h = np.maximum(z, 0)
    return np.array(means), np.array(stds)
''', "layer_activation_stats")
    assert_fails("layer_activation_stats", fn, match="means")


def test_stats_per_unit_instead_of_per_layer_fail():
    fn = student('''
def layer_activation_stats(X, weights):
    means, stds, h = [], [], X
    for W in weights:
        h = np.maximum(h @ W, 0)
        means.append(h.mean(axis=0).mean()); stds.append(h.std(axis=0).mean())
    return np.array(means), np.array(stds)
''', "layer_activation_stats")
    assert_fails("layer_activation_stats", fn, match="stds")


def test_count_with_running_averages_fails():
    fn = student('''
def count_params(dims, norm=None):
    total = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    return total + (4 * sum(dims[1:-1]) if norm else 0)
''', "count_params")
    assert_fails("count_params", fn, match="batchnorm")


def test_count_without_biases_fails():
    fn = student('''
def count_params(dims, norm=None):
    return sum(a * b for a, b in zip(dims[:-1], dims[1:])) + (2 * sum(dims[1:-1]) if norm else 0)
''', "count_params")
    assert_fails("count_params", fn)


def test_width_by_quadratic_formula_is_fine():
    fn = student('''
def width_for_budget(D, C, num_hidden, max_params, norm=None):
    a = num_hidden - 1
    b = D + C + num_hidden + (2 * num_hidden if norm else 0)
    c = C - max_params
    h = int(-c / b) if a == 0 else int((-b + (b * b - 4 * a * c) ** 0.5) / (2 * a))
    h = max(h, 0)
    while count_params([D] + [h + 1] * num_hidden + [C], norm) <= max_params:
        h += 1
    while h > 0 and count_params([D] + [h] * num_hidden + [C], norm) > max_params:
        h -= 1
    return h
''', "width_for_budget")
    check_locally(A3, "width_for_budget", fn)


def test_width_one_too_many_fails():
    ref = A3.reference("width_for_budget")
    assert_fails("width_for_budget", lambda *args, **kwargs: ref(*args, **kwargs) + 1)


def test_width_ignoring_norm_fails():
    ref = A3.reference("width_for_budget")
    assert_fails("width_for_budget", lambda D, C, num_hidden, max_params, norm=None: ref(D, C, num_hidden, max_params),
                 match="norm")


# --- PyTorch oracle of the whole network (float64, 1e-10) ------------------------------------

@pytest.mark.torch
@pytest.mark.parametrize("norm", [None, "batchnorm", "layernorm"])
def test_deep_net_matches_torch(norm):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    dims, reg, momentum = [12, 9, 8, 7, 4], 0.03, 0.9
    params = A3.reference("deep_net_loss").__globals__["init_deep_net"](dims, weight_scale=0.6, norm=norm, seed=2)
    for key in params:
        if not key.startswith("running"):
            params[key] = params[key] + 0.1 * rng.normal(size=params[key].shape)
    X, y = rng.normal(size=(10, 3, 2, 2)), rng.integers(0, 4, size=10)
    tensors = {key: torch.tensor(value, dtype=torch.float64, requires_grad=not key.startswith("running"))
               for key, value in params.items()}
    running = {key: value.detach().clone() for key, value in tensors.items() if key.startswith("running")}
    h = torch.tensor(X, dtype=torch.float64).reshape(10, -1)
    depth = len(dims) - 1
    for i in range(1, depth):
        h = h @ tensors[f"W{i}"] + tensors[f"b{i}"]
        if norm == "batchnorm":
            h = F.batch_norm(h, running[f"running_mean{i}"], running[f"running_var{i}"], tensors[f"gamma{i}"],
                             tensors[f"beta{i}"], training=True, momentum=1 - momentum, eps=1e-5)
        elif norm == "layernorm":
            h = F.layer_norm(h, (dims[i],), tensors[f"gamma{i}"], tensors[f"beta{i}"], eps=1e-5)
        h = F.relu(h)
    scores = h @ tensors[f"W{depth}"] + tensors[f"b{depth}"]
    loss = F.cross_entropy(scores, torch.tensor(y)) + reg * sum((tensors[f"W{i}"] ** 2).sum()
                                                                 for i in range(1, depth + 1))
    loss.backward()

    mine = copy.deepcopy(params)
    got_loss, grads = A3.reference("deep_net_loss")(mine, X, y, reg=reg, norm=norm)
    np.testing.assert_allclose(got_loss, loss.item(), rtol=1e-10, atol=1e-10)
    expected_keys = {key for key in params if not key.startswith("running")}
    assert set(grads) == expected_keys
    for key in expected_keys:
        np.testing.assert_allclose(grads[key], tensors[key].grad.numpy(), rtol=1e-10, atol=1e-10, err_msg=key)
    if norm == "batchnorm":
        for i in range(1, depth):
            np.testing.assert_allclose(mine[f"running_mean{i}"], running[f"running_mean{i}"].numpy(), rtol=1e-10,
                                       atol=1e-10)
