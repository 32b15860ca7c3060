"""Specs of a3 / 06_normalization_dropout: the references pass, plausible mistakes fail, and the layers
agree with PyTorch."""
from __future__ import annotations

import json
import linecache
from pathlib import Path

import numpy as np
import pytest

from autograder import cells
from autograder.course import Course
from autograder.judge import check_locally

A3 = Course.at(Path(__file__).resolve().parents[1]).assignment("a3")
NOTEBOOK = A3.source_dir / "06_normalization_dropout.ipynb"
NAMES = ["batchnorm_forward", "batchnorm_backward_graph", "batchnorm_backward_simple", "layernorm_forward",
         "layernorm_backward", "dropout_forward", "dropout_backward"]


@pytest.mark.parametrize("salt", [0, 1, 29])
@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_spec(name, salt):
    check_locally(A3, name, A3.reference(name), salt=salt)


def test_every_hidden_check_has_a_spec_and_every_spec_is_checked():
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    checked = {}
    for cell in notebook["cells"]:
        for name in cells.CHECK_CALL.findall(cells.source(cell)):
            checked[name] = cells.grade_id(cell)
    specified = {name for name in A3.specs.names() if A3.specs.files[name].name.startswith("06_")}
    assert set(checked) == specified == set(NAMES)
    for name, grade_id in checked.items():
        assert A3.spec(name).cell == grade_id, f"{name} is checked in {grade_id}, its spec says {A3.spec(name).cell}"


def reference_namespace():
    """The namespace the solution notebook's definitions run in (numpy, the layers)."""
    return dict(A3.reference("batchnorm_forward").__globals__)


def student(source: str, name: str):
    """Define ``name`` from source as an answer cell would: its source is readable, and the reference's
    other definitions (the companions a spec's run needs) are in its namespace."""
    namespace = reference_namespace()
    path = f"<student-{name}-{abs(hash(source))}>"
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace[name]


def assert_fails(name, fn, match=None):
    with pytest.raises(AssertionError, match=match):
        check_locally(A3, name, fn)


# --- batch normalisation, forward ------------------------------------------------------------

BN_FORWARD = '''
def batchnorm_forward(x, gamma, beta, state, mode="train"):
    eps = state.get("eps", 1e-5)
    momentum = state.get("momentum", 0.9)
    running_mean = state.get("running_mean", np.zeros(x.shape[1]))
    running_var = state.get("running_var", np.ones(x.shape[1]))
    cache = None
    if mode == "train":
        mu, var = x.mean(axis={axis}), x.var(axis={axis})
        std = {std}
        x_hat = (x - mu) / std
        out = gamma * x_hat + beta
        running_mean = {runmean}
        running_var = momentum * running_var + (1 - momentum) * {runvar}
        cache = (x_hat, x - mu, std, gamma)
    else:
        out = gamma * (x - {tmean}) / np.sqrt({tvar} + eps) + beta
    state["running_mean"], state["running_var"] = running_mean, running_var
    return out, cache
'''


def bn_forward(axis="0", std="np.sqrt(var + eps)", runmean="momentum * running_mean + (1 - momentum) * mu",
               runvar="var", tmean="running_mean", tvar="running_var"):
    source = BN_FORWARD.format(axis=axis, std=std, runmean=runmean, runvar=runvar, tmean=tmean, tvar=tvar)
    return student(source, "batchnorm_forward")


def test_batchnorm_forward_written_with_np_var_is_fine():
    check_locally(A3, "batchnorm_forward", bn_forward())


def test_batchnorm_forward_over_the_wrong_axis_fails():
    fn = bn_forward(axis="1, keepdims=True", runmean="momentum * running_mean + (1 - momentum) * mu.mean()",
                    runvar="var.mean()")
    assert_fails("batchnorm_forward", fn, match="out")


def test_batchnorm_forward_with_unbiased_running_variance_fails():
    assert_fails("batchnorm_forward", bn_forward(runvar="var * len(x) / (len(x) - 1)"), match="running_var")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_batchnorm_forward_without_eps_fails():
    assert_fails("batchnorm_forward", bn_forward(std="np.sqrt(var)"))


def test_batchnorm_test_mode_with_batch_statistics_fails():
    assert_fails("batchnorm_forward", bn_forward(tmean="x.mean(axis=0)", tvar="x.var(axis=0)"), match="out")


def test_batchnorm_forward_with_swapped_momentum_fails():
    fn = bn_forward(runmean="(1 - momentum) * running_mean + momentum * mu")
    assert_fails("batchnorm_forward", fn, match="running_mean")


# --- batch normalisation, backward -----------------------------------------------------------

def test_batchnorm_graph_missing_the_variance_path_fails():
    fn = student('''
def batchnorm_backward_graph(dout, cache):
    x_hat, x_centred, std, gamma = cache
    dxc = dout * gamma / std
    return dxc - dxc.mean(axis=0), np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''', "batchnorm_backward_graph")
    assert_fails("batchnorm_backward_graph", fn, match="dx")


def test_batchnorm_graph_missing_the_mean_path_fails():
    fn = student('''
def batchnorm_backward_graph(dout, cache):
    x_hat, x_centred, std, gamma = cache
    n = dout.shape[0]
    dx_hat = dout * gamma
    dvar = -np.sum(dx_hat * x_centred, axis=0) / (2 * std ** 3)
    dx = dx_hat / std + 2 * x_centred * dvar / n
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''', "batchnorm_backward_graph")
    assert_fails("batchnorm_backward_graph", fn, match="dx")


def test_batchnorm_simple_written_differently_is_fine():
    fn = student('''
def batchnorm_backward_simple(dout, cache):
    x_hat, x_centred, std, gamma = cache
    n = dout.shape[0]
    dgamma = (dout * x_hat).sum(0)
    dbeta = dout.sum(0)
    dx = gamma / (n * std) * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta
''', "batchnorm_backward_simple")
    check_locally(A3, "batchnorm_backward_simple", fn)


def test_batchnorm_simple_missing_the_projection_term_fails():
    fn = student('''
def batchnorm_backward_simple(dout, cache):
    x_hat, x_centred, std, gamma = cache
    g = dout * gamma
    return (g - g.mean(axis=0)) / std, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''', "batchnorm_backward_simple")
    assert_fails("batchnorm_backward_simple", fn, match="dx")


def test_batchnorm_dgamma_not_summed_over_the_batch_fails():
    fn = student('''
def batchnorm_backward_simple(dout, cache):
    x_hat, x_centred, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0)) / std
    return dx, dout * x_hat, dout.sum(axis=0)
''', "batchnorm_backward_simple")
    assert_fails("batchnorm_backward_simple", fn, match="dgamma has shape")


def test_batchnorm_simple_with_a_loop_over_features_fails():
    fn = student('''
def batchnorm_backward_simple(dout, cache):
    x_hat, x_centred, std, gamma = cache
    dx = np.empty_like(dout)
    for j in range(dout.shape[1]):
        g = dout[:, j] * gamma[j]
        dx[:, j] = (g - g.mean() - x_hat[:, j] * np.mean(g * x_hat[:, j])) / std[j]
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''', "batchnorm_backward_simple")
    assert_fails("batchnorm_backward_simple", fn, match="vectorised")


# --- layer normalisation ---------------------------------------------------------------------

def test_layernorm_over_the_batch_axis_fails():
    fn = student('''
def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, x - mu, std, gamma)
''', "layernorm_forward")
    assert_fails("layernorm_forward", fn, match="out")


def test_layernorm_ignoring_eps_argument_fails():
    fn = student('''
def layernorm_forward(x, gamma, beta, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + 1e-5)
    x_hat = (x - mu) / std
    return gamma * x_hat + beta, (x_hat, x - mu, std, gamma)
''', "layernorm_forward")
    assert_fails("layernorm_forward", fn, match="eps = 0.1")


def test_layernorm_backward_with_batch_means_fails():
    fn = student('''
def layernorm_backward(dout, cache):
    x_hat, x_centred, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0)) / std
    return dx, np.sum(dout * x_hat, axis=0), dout.sum(axis=0)
''', "layernorm_backward")
    assert_fails("layernorm_backward", fn, match="dx")


def test_layernorm_backward_summing_dbeta_over_features_fails():
    fn = student('''
def layernorm_backward(dout, cache):
    x_hat, x_centred, std, gamma = cache
    g = dout * gamma
    dx = (g - g.mean(axis=1, keepdims=True) - x_hat * np.mean(g * x_hat, axis=1, keepdims=True)) / std
    return dx, np.sum(dout * x_hat, axis=1), dout.sum(axis=1)
''', "layernorm_backward")
    assert_fails("layernorm_backward", fn)


# --- dropout ---------------------------------------------------------------------------------

DROPOUT = '''
def dropout_forward(x, p, mode="train", seed=None):
    if mode == "train":
        keep = np.random.default_rng(seed).random(x.shape) >= p
        mask = TRAIN
        out = x * mask
    else:
        mask = None
        out = TEST
    return out, (mask, mode)
'''


def dropout(train="keep / (1.0 - p)", test="x"):
    return student(DROPOUT.replace("TRAIN", train).replace("TEST", test), "dropout_forward")


def test_dropout_with_where_is_fine():
    fn = student('''
def dropout_forward(x, p, mode="train", seed=None):
    if mode != "train":
        return x, (None, mode)
    keep = np.random.default_rng(seed).random(x.shape) >= p
    return np.where(keep, x / (1 - p), 0.0), (keep / (1 - p), mode)
''', "dropout_forward")
    check_locally(A3, "dropout_forward", fn)


def test_dropout_without_scaling_fails():
    assert_fails("dropout_forward", dropout(train="keep.astype(float)"), match="p = 0.5")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_dropout_scaled_by_p_fails():
    assert_fails("dropout_forward", dropout(train="keep / p"))


def test_dropout_scaling_at_test_time_fails():
    assert_fails("dropout_forward", dropout(train="keep.astype(float)", test="x * (1 - p)"))


def test_dropout_with_its_own_mask_rule_fails():
    assert_fails("dropout_forward", dropout(train="(np.random.default_rng(seed).random(x.shape) < 1 - p) / (1 - p)"))


def test_dropout_backward_ignoring_the_mask_fails():
    fn = student('''
def dropout_backward(dout, cache):
    mask, mode = cache
    return dout / 0.5 if mode == "train" else dout
''', "dropout_backward")
    assert_fails("dropout_backward", fn, match="dx")


def test_dropout_backward_without_scale_fails():
    fn = student('''
def dropout_backward(dout, cache):
    mask, mode = cache
    return dout * (mask != 0) if mode == "train" else dout
''', "dropout_backward")
    assert_fails("dropout_backward", fn, match="dx")


# --- PyTorch oracles (float64, 1e-10) ---------------------------------------------------------

TOL = dict(rtol=1e-10, atol=1e-10)


def _torch():
    return pytest.importorskip("torch")


def _columns(rng, n, d):
    return rng.normal(size=d) * 3 + rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, size=d)


def _autograd(torch, fn, arrays, dout):
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


@pytest.mark.torch
@pytest.mark.parametrize("n, d, momentum, eps", [(16, 5, 0.9, 1e-5), (3, 7, 0.5, 1e-3), (40, 1, 0.99, 1e-5)])
def test_batchnorm_train_matches_torch(n, d, momentum, eps):
    torch = _torch()
    rng = np.random.default_rng(n)
    x, gamma, beta, dout = _columns(rng, n, d), rng.normal(size=d), rng.normal(size=d), rng.normal(size=(n, d))
    mean0, var0 = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
    run_mean, run_var = torch.tensor(mean0), torch.tensor(var0)
    expected, (dx, dgamma, dbeta) = _autograd(
        torch, lambda x, g, b: torch.nn.functional.batch_norm(x, run_mean, run_var, g, b, training=True,
                                                              momentum=1 - momentum, eps=eps),
        [x, gamma, beta], dout)
    state = {"running_mean": mean0.copy(), "running_var": var0.copy(), "momentum": momentum, "eps": eps}
    out, cache = A3.reference("batchnorm_forward")(x, gamma, beta, state, "train")
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_allclose(state["running_mean"], run_mean.numpy(), **TOL)
    # PyTorch feeds the unbiased batch variance into its running average; the notebook the biased one.
    biased_from_torch = (run_var.numpy() - momentum * var0) / (1 - momentum) * (n - 1) / n
    np.testing.assert_allclose(state["running_var"], momentum * var0 + (1 - momentum) * biased_from_torch, **TOL)
    for name in ("batchnorm_backward_graph", "batchnorm_backward_simple"):
        got = A3.reference(name)(dout, cache)
        for part, want in zip(got, (dx, dgamma, dbeta)):
            np.testing.assert_allclose(part, want, **TOL, err_msg=name)


@pytest.mark.torch
def test_batchnorm_test_mode_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    x, gamma, beta, dout = _columns(rng, 5, 6), rng.normal(size=6), rng.normal(size=6), rng.normal(size=(5, 6))
    mean, var = rng.normal(size=6), rng.uniform(0.1, 3.0, size=6)
    expected, _ = _autograd(
        torch, lambda x, g, b: torch.nn.functional.batch_norm(x, torch.tensor(mean), torch.tensor(var), g, b,
                                                              training=False, eps=1e-5),
        [x, gamma, beta], dout)
    state = {"running_mean": mean.copy(), "running_var": var.copy()}
    out, _ = A3.reference("batchnorm_forward")(x, gamma, beta, state, "test")
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_array_equal(state["running_mean"], mean)
    np.testing.assert_array_equal(state["running_var"], var)


@pytest.mark.torch
@pytest.mark.parametrize("n, d, eps", [(4, 9, 1e-5), (1, 3, 1e-5), (6, 2, 0.1)])
def test_layernorm_matches_torch(n, d, eps):
    torch = _torch()
    rng = np.random.default_rng(d)
    x = rng.normal(size=(n, 1)) * 2 + rng.normal(size=(n, d)) * rng.uniform(0.3, 3.0, size=(n, 1))
    gamma, beta, dout = rng.normal(size=d), rng.normal(size=d), rng.normal(size=(n, d))
    expected, (dx, dgamma, dbeta) = _autograd(
        torch, lambda x, g, b: torch.nn.functional.layer_norm(x, (d,), g, b, eps=eps), [x, gamma, beta], dout)
    out, cache = A3.reference("layernorm_forward")(x, gamma, beta, eps=eps)
    np.testing.assert_allclose(out, expected, **TOL)
    for part, want in zip(A3.reference("layernorm_backward")(dout, cache), (dx, dgamma, dbeta)):
        np.testing.assert_allclose(part, want, **TOL)


class _FixedMask:
    """Stands in for np.random.default_rng(seed): its random() returns 1 where a unit is kept, 0 elsewhere."""

    def __init__(self, keep):
        self.keep = keep

    def random(self, shape):
        assert tuple(shape) == self.keep.shape
        return self.keep.astype(float)


@pytest.mark.torch
@pytest.mark.parametrize("p, shape", [(0.5, (30, 40)), (0.2, (4, 3, 5, 5)), (0.9, (50, 20))])
def test_dropout_with_a_fixed_mask_matches_torch(monkeypatch, p, shape):
    torch = _torch()
    rng = np.random.default_rng(3)
    x = rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)   # no zeros: the mask is visible
    dout = rng.normal(size=shape)
    torch.manual_seed(0)
    expected, (dx,) = _autograd(torch, lambda t: torch.nn.functional.dropout(t, p, training=True), [x], dout)
    keep = expected != 0
    monkeypatch.setattr(np.random, "default_rng", lambda seed=None: _FixedMask(keep))
    out, cache = A3.reference("dropout_forward")(x, p, "train", seed=0)
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_allclose(A3.reference("dropout_backward")(dout, cache), dx, **TOL)
    monkeypatch.undo()
    expected, (dx,) = _autograd(torch, lambda t: torch.nn.functional.dropout(t, p, training=False), [x], dout)
    out, cache = A3.reference("dropout_forward")(x, p, "test")
    np.testing.assert_allclose(out, expected, **TOL)
    np.testing.assert_allclose(A3.reference("dropout_backward")(dout, cache), dx, **TOL)
