"""Specs of a2 / 05_convnets: the references pass, plausible mistakes fail, and the reference
layers agree with PyTorch (float64, when torch is installed)."""
from __future__ import annotations

import linecache

import numpy as np
import pytest

from autograder.judge import check_locally
from course_under_test import COURSE

A2 = COURSE.assignment("a2")

NAMES = ["fc_layer_param_count", "conv_output_size", "conv_forward_naive", "conv_backward_naive",
         "max_pool_forward_naive", "max_pool_backward_naive", "avg_pool_forward_naive",
         "avg_pool_backward_naive", "three_layer_convnet_loss"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_spec(name):
    check_locally(A2, name, A2.reference(name))


def _define(source: str, name: str, extra: dict | None = None):
    """Define functions from source as a notebook cell would; return ``name`` (helpers share its globals)."""
    namespace = {"np": np, **(extra or {})}
    path = f"<test-cell-{abs(hash(source))}>"
    linecache.cache[path] = (len(source), None, source.splitlines(True), path)
    exec(compile(source, path, "exec"), namespace)
    return namespace[name]


def _fails(name: str, fn) -> None:
    with pytest.raises(AssertionError):
        check_locally(A2, name, fn)


# --------------------------------------------------------------------------- sizes
def test_fc_count_without_bias_fails():
    _fails("fc_layer_param_count", _define(
        "def fc_layer_param_count(input_shape, num_outputs, bias=True):\n"
        "    return int(np.prod(input_shape)) * num_outputs\n", "fc_layer_param_count"))


def test_conv_output_size_that_floors_instead_of_raising_fails():
    _fails("conv_output_size", _define(
        "def conv_output_size(size, kernel, stride=1, pad=0):\n"
        "    return (size + 2 * pad - kernel) // stride + 1\n", "conv_output_size"))


def test_conv_output_size_with_one_sided_padding_fails():
    _fails("conv_output_size", _define(
        "def conv_output_size(size, kernel, stride=1, pad=0):\n"
        "    span = size + pad - kernel\n"
        "    if span < 0 or span % stride:\n        raise ValueError('bad')\n"
        "    return span // stride + 1\n", "conv_output_size"))


# --------------------------------------------------------------------------- convolution
FORWARD_TEMPLATE = '''
def conv_forward_naive(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kernel = {kernel}
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            win = xp[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(win, kernel, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, stride, pad)
'''


def test_true_convolution_with_flipped_kernel_fails():
    """Deep-learning 'convolution' is cross-correlation: flipping the kernel is wrong."""
    _fails("conv_forward_naive", _define(FORWARD_TEMPLATE.format(kernel="w[:, :, ::-1, ::-1]"),
                                         "conv_forward_naive"))


def test_forward_template_with_unflipped_kernel_passes():
    """Guards the template above: the only mistake in the failing variant is the flip."""
    check_locally(A2, "conv_forward_naive", _define(FORWARD_TEMPLATE.format(kernel="w"),
                                                                 "conv_forward_naive"))


def test_conv_forward_without_bias_fails():
    _fails("conv_forward_naive", _define(FORWARD_TEMPLATE.format(kernel="w").replace(") + b", ")"),
                                         "conv_forward_naive"))


BACKWARD_IGNORING_PAD = FORWARD_TEMPLATE.format(kernel="w") + '''
def conv_backward_naive(dout, cache):
    x, w, b, stride, pad = cache
    F, _, HH, WW = w.shape
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            # forgets the padding: windows are taken from the unpadded input
            r = slice(i * stride, i * stride + HH)
            c = slice(j * stride, j * stride + WW)
            win = x[:, :, r, c]
            g = dout[:, :, i, j]
            if win.shape[2:] == (HH, WW):
                dw += np.tensordot(g, win, axes=([0], [0]))
                dx[:, :, r, c] += np.tensordot(g, w, axes=([1], [0]))
    return dx, dw, dout.sum(axis=(0, 2, 3))
'''


def test_conv_backward_ignoring_pad_fails():
    _fails("conv_backward_naive", _define(BACKWARD_IGNORING_PAD, "conv_backward_naive"))


def test_conv_backward_with_db_averaged_fails():
    fn = _define("def conv_backward_naive(dout, cache):\n"
                 "    dx, dw, db = reference_backward(dout, cache)\n"
                 "    return dx, dw, db / dout.shape[0]\n", "conv_backward_naive",
                 {"reference_backward": A2.reference("conv_backward_naive"),
                  "conv_forward_naive": A2.reference("conv_forward_naive")})
    _fails("conv_backward_naive", fn)


# --------------------------------------------------------------------------- pooling
POOL_ALL_MAXIMA = '''
def max_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out, W_out = (H - pool_height) // stride + 1, (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + pool_height,
                                j * stride:j * stride + pool_width].max(axis=(2, 3))
    return out, (x, pool_height, pool_width, stride)

def max_pool_backward_naive(dout, cache):
    x, ph, pw, s = cache
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            mask = win == win.max(axis=(2, 3), keepdims=True)   # every maximum, not just the first
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += mask * dout[:, :, i, j][:, :, None, None]
    return dx
'''


def test_max_pool_gradient_to_all_maxima_fails_on_ties():
    _fails("max_pool_backward_naive", _define(POOL_ALL_MAXIMA, "max_pool_backward_naive"))


def test_max_pool_gradient_to_last_maximum_fails():
    source = POOL_ALL_MAXIMA.replace(
        "            mask = win == win.max(axis=(2, 3), keepdims=True)   # every maximum, not just the first\n",
        "            flat = win.reshape(win.shape[0], win.shape[1], -1)[:, :, ::-1]\n"
        "            last = flat.shape[2] - 1 - np.argmax(flat, axis=2)\n"
        "            mask = (np.arange(flat.shape[2]) == last[..., None]).reshape(win.shape)\n")
    _fails("max_pool_backward_naive", _define(source, "max_pool_backward_naive"))


def test_max_pool_forward_with_mean_fails():
    _fails("max_pool_forward_naive", _define(POOL_ALL_MAXIMA.replace(".max(axis=(2, 3))", ".mean(axis=(2, 3))"),
                                             "max_pool_forward_naive"))


def test_avg_pool_backward_without_division_fails():
    source = '''
def avg_pool_forward_naive(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    H_out, W_out = (H - pool_height) // stride + 1, (W - pool_width) // stride + 1
    out = np.zeros((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + pool_height,
                                j * stride:j * stride + pool_width].mean(axis=(2, 3))
    return out, (x.shape, pool_height, pool_width, stride)

def avg_pool_backward_naive(dout, cache):
    shape, ph, pw, s = cache
    dx = np.zeros(shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j][:, :, None, None]
    return dx
'''
    _fails("avg_pool_backward_naive", _define(source, "avg_pool_backward_naive"))
    check_locally(A2, "avg_pool_forward_naive", _define(source, "avg_pool_forward_naive"))


# --------------------------------------------------------------------------- ConvNet
def _convnet_variant(transform):
    reference_fn = A2.reference("three_layer_convnet_loss")

    def three_layer_convnet_loss(params, X, y=None, reg=0.0):
        return transform(reference_fn, params, X, y, reg)
    return three_layer_convnet_loss


def test_convnet_without_reg_on_w1_fails():
    def transform(ref, params, X, y, reg):
        result = ref(params, X, y, reg)
        if y is None:
            return result
        loss, grads = result
        grads = dict(grads, W1=grads["W1"] - 2 * reg * params["W1"])
        return loss - reg * np.sum(params["W1"] ** 2), grads
    _fails("three_layer_convnet_loss", _convnet_variant(transform))


def test_convnet_with_reg_on_biases_fails():
    def transform(ref, params, X, y, reg):
        result = ref(params, X, y, reg)
        if y is None:
            return result
        loss, grads = result
        grads = dict(grads, b1=grads["b1"] + 2 * reg * params["b1"])
        return loss + reg * np.sum(params["b1"] ** 2), grads
    _fails("three_layer_convnet_loss", _convnet_variant(transform))


def test_convnet_returning_loss_only_fails():
    _fails("three_layer_convnet_loss",
           _convnet_variant(lambda ref, params, X, y, reg: ref(params, X, y, reg) if y is None
                            else ref(params, X, y, reg)[0]))


# --------------------------------------------------------------------------- oracles: PyTorch
def _assert_close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


CONV_CONFIGS = [((2, 3, 7, 7), (4, 3, 3, 3), 1, 1), ((2, 2, 9, 7), (3, 2, 3, 3), 2, 1),
                ((3, 4, 5, 6), (2, 4, 1, 1), 1, 0), ((1, 3, 6, 9), (2, 3, 5, 3), 2, 2),
                ((2, 1, 8, 8), (2, 1, 5, 5), 3, 0)]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CONFIGS)
def test_conv_matches_torch(x_shape, w_shape, stride, pad):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(x_shape) + 10 * stride + pad)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    out, cache = A2.reference("conv_forward_naive")(x, w, b, stride, pad)
    dout = rng.normal(size=out.shape)
    dx, dw, db = A2.reference("conv_backward_naive")(dout, cache)

    tx, tw, tb = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b))
    tout = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
    tout.backward(torch.tensor(dout, dtype=torch.float64))
    _assert_close(out, tout.detach().numpy())
    _assert_close(dx, tx.grad.numpy())
    _assert_close(dw, tw.grad.numpy())
    _assert_close(db, tb.grad.numpy())


POOL_CONFIGS = [((2, 3, 4, 4), 2, 2, 2, False), ((1, 2, 5, 5), 3, 3, 1, False), ((2, 2, 5, 7), 2, 3, 2, False),
                ((2, 2, 6, 6), 2, 2, 1, True), ((1, 1, 4, 4), 2, 2, 2, True)]


@pytest.mark.parametrize("shape, ph, pw, stride, ties", POOL_CONFIGS)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(shape, ph, pw, stride, ties, kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(sum(shape) + ph + 3 * pw + stride)
    x = rng.integers(0, 3, size=shape).astype(np.float64) if ties else rng.normal(size=shape)
    forward = A2.reference(f"{kind}_pool_forward_naive")
    backward = A2.reference(f"{kind}_pool_backward_naive")
    out, cache = forward(x, pool_height=ph, pool_width=pw, stride=stride)
    dout = rng.normal(size=out.shape)
    dx = backward(dout, cache)

    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    tout = pool(tx, kernel_size=(ph, pw), stride=stride)
    tout.backward(torch.tensor(dout, dtype=torch.float64))
    _assert_close(out, tout.detach().numpy())
    _assert_close(dx, tx.grad.numpy())


def test_reference_naive_layers_match_the_fast_layers():
    from course_utils.fast_layers import (conv_backward_fast, conv_forward_fast, max_pool_backward_fast,
                                          max_pool_forward_fast)
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    out, cache = A2.reference("conv_forward_naive")(x, w, b, 2, 1)
    out_fast, cache_fast = conv_forward_fast(x, w, b, 2, 1)
    dout = rng.normal(size=out.shape)
    _assert_close(out, out_fast)
    for got, expected in zip(A2.reference("conv_backward_naive")(dout, cache),
                             conv_backward_fast(dout, cache_fast)):
        _assert_close(got, expected)
    x = rng.integers(0, 3, size=(2, 3, 6, 6)).astype(np.float64)
    out, cache = A2.reference("max_pool_forward_naive")(x, 2, 2, 2)
    out_fast, cache_fast = max_pool_forward_fast(x, 2, 2, 2)
    dout = rng.normal(size=out.shape)
    _assert_close(out, out_fast)
    _assert_close(A2.reference("max_pool_backward_naive")(dout, cache), max_pool_backward_fast(dout, cache_fast))


def test_specs_are_registered():
    for name in NAMES:
        assert A2.spec(name).name == name
