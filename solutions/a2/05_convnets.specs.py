"""Specs of a2 / 05_convnets: parameter counts, naive convolution and pooling, a three-layer ConvNet."""
from __future__ import annotations

import numpy as np

from autograder.specs import AccuracySpec, Case, Spec, companion

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec | AccuracySpec] = []


# --------------------------------------------------------------------------- #
# sizes and parameter counts
# --------------------------------------------------------------------------- #
def _fc_cases(rng):
    yield Case("256x256 image, 1024 classes, no bias", ((256, 256), 1024), {"bias": False})
    yield Case("256x256 image, 1024 classes, with bias", ((256, 256), 1024))
    yield Case("32x32x3 image, 10 classes", ((32, 32, 3), 10))
    yield Case("flat vector of 100, 1 output", ((100,), 1), {"bias": True})
    yield Case("3x5x7, 4 outputs, no bias", ((3, 5, 7), 4), {"bias": False})


def _run_fc(fn, case):
    return int(fn(*case.args, **case.kwargs))


def _conv_size_cases(rng):
    yield Case("3x3 kernel, pad 1 keeps 32", (32, 3), {"stride": 1, "pad": 1})
    yield Case("5x5 kernel, no padding", (32, 5))
    yield Case("stride 2 halves", (32, 2), {"stride": 2})
    yield Case("11x11 kernel, stride 4 on 227 (AlexNet)", (227, 11), {"stride": 4})
    yield Case("1x1 kernel", (13, 1))
    yield Case("window does not tile: must raise ValueError", (32, 3), {"stride": 2})
    yield Case("kernel larger than padded input: must raise ValueError", (4, 7), {"pad": 1})


def _run_conv_size(fn, case):
    """The size as an int, or -1 when the function raises ValueError (as it must for bad geometry)."""
    try:
        size = fn(*case.args, **case.kwargs)
    except ValueError:
        return -1
    if isinstance(size, float) and not size.is_integer():
        raise AssertionError(f"returned the non-integer {size}; raise ValueError when the size is not an integer.")
    return int(size)


SPECS.append(Spec("fc_layer_param_count", cases=_fc_cases, run=_run_fc, exact=True, outputs=("count",)))
SPECS.append(Spec("conv_output_size", cases=_conv_size_cases, run=_run_conv_size, exact=True, outputs=("size",)))


# --------------------------------------------------------------------------- #
# convolution
# --------------------------------------------------------------------------- #
def _conv_cases(rng):
    """(x, w, b, stride, pad, dout) with dout matching the floored output shape."""
    configs = [
        ("3x3, stride 1, pad 1", (2, 3, 6, 6), (4, 3, 3, 3), 1, 1),
        ("3x3, stride 2, pad 1", (2, 2, 7, 7), (3, 2, 3, 3), 2, 1),
        ("1x1 kernel, no padding", (3, 4, 5, 5), (2, 4, 1, 1), 1, 0),
        ("rectangular image and filter, pad 2", (1, 3, 5, 8), (2, 3, 3, 2), 1, 2),
        ("5x5, stride 2, window does not tile (floored)", (2, 1, 8, 8), (2, 1, 5, 5), 2, 0),
        ("one image, one filter, kernel = image", (1, 2, 4, 4), (1, 2, 4, 4), 1, 0),
    ]
    for label, x_shape, w_shape, stride, pad in configs:
        N, _, H, W = x_shape
        F, _, HH, WW = w_shape
        H_out = (H + 2 * pad - HH) // stride + 1
        W_out = (W + 2 * pad - WW) // stride + 1
        yield Case(label, (rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=(F,)), stride, pad,
                           rng.normal(size=(N, F, H_out, W_out))))


def _run_conv_forward(fn, case):
    x, w, b, stride, pad, _ = case.args
    out, _cache = fn(x, w, b, stride, pad)
    return out


def _run_conv_backward(fn, case):
    x, w, b, stride, pad, dout = case.args
    _out, cache = companion(fn, "conv_forward_naive")(x, w, b, stride, pad)
    dx, dw, db = fn(dout, cache)
    return dx, dw, db


SPECS.append(Spec("conv_forward_naive", cases=_conv_cases, run=_run_conv_forward, outputs=("out",),
              rtol=1e-7, atol=1e-9))
SPECS.append(Spec("conv_backward_naive", cases=_conv_cases, run=_run_conv_backward, outputs=("dx", "dw", "db"),
              rtol=1e-7, atol=1e-9))


# --------------------------------------------------------------------------- #
# pooling
# --------------------------------------------------------------------------- #
def _pool_cases(rng):
    """(x, pool_height, pool_width, stride, dout)."""
    configs = [
        ("2x2, stride 2", (2, 3, 4, 4), 2, 2, 2, "normal"),
        ("3x3, stride 1 (overlapping windows)", (1, 2, 5, 5), 3, 3, 1, "normal"),
        ("2x3 window, stride 2, rectangular image (floored)", (2, 2, 5, 7), 2, 3, 2, "normal"),
        ("ties: small integers, overlapping", (2, 2, 5, 5), 2, 2, 1, "ties"),
        ("ties: all equal", (1, 1, 4, 4), 2, 2, 2, "equal"),
        ("1x1 window", (1, 2, 3, 3), 1, 1, 1, "normal"),
    ]
    for label, shape, ph, pw, stride, kind in configs:
        if kind == "normal":
            x = rng.normal(size=shape)
        elif kind == "ties":
            x = rng.integers(0, 3, size=shape).astype(np.float64)
        else:
            x = np.full(shape, 0.5)
        N, C, H, W = shape
        H_out, W_out = (H - ph) // stride + 1, (W - pw) // stride + 1
        yield Case(label, (x, ph, pw, stride, rng.normal(size=(N, C, H_out, W_out))))


def _pool_forward_run(fn, case):
    x, ph, pw, stride, _ = case.args
    out, _cache = fn(x, pool_height=ph, pool_width=pw, stride=stride)
    return out


def _pool_backward_run(forward_name):
    def run(fn, case):
        x, ph, pw, stride, dout = case.args
        _out, cache = companion(fn, forward_name)(x, pool_height=ph, pool_width=pw, stride=stride)
        return fn(dout, cache)
    return run


SPECS.append(Spec("max_pool_forward_naive", cases=_pool_cases, run=_pool_forward_run, outputs=("out",)))
SPECS.append(Spec("max_pool_backward_naive", cases=_pool_cases, run=_pool_backward_run("max_pool_forward_naive"),
              outputs=("dx",)))
SPECS.append(Spec("avg_pool_forward_naive", cases=_pool_cases, run=_pool_forward_run, outputs=("out",)))
SPECS.append(Spec("avg_pool_backward_naive", cases=_pool_cases, run=_pool_backward_run("avg_pool_forward_naive"),
              outputs=("dx",)))


# --------------------------------------------------------------------------- #
# three-layer ConvNet
# --------------------------------------------------------------------------- #
def _convnet_params(rng, C, H, W, F, K, hidden, classes, scale):
    return {
        "W1": scale * rng.normal(size=(F, C, K, K)), "b1": 0.1 * rng.normal(size=(F,)),
        "W2": scale * rng.normal(size=(F * (H // 2) * (W // 2), hidden)), "b2": 0.1 * rng.normal(size=(hidden,)),
        "W3": scale * rng.normal(size=(hidden, classes)), "b3": 0.1 * rng.normal(size=(classes,)),
    }


def _convnet_cases(rng):
    params = _convnet_params(rng, 3, 8, 8, 4, 3, 10, 5, 0.3)
    X = rng.normal(size=(4, 3, 8, 8))
    yield Case("scores only (y=None)", (params, X))
    yield Case("loss and grads, no reg", (params, X, rng.integers(0, 5, size=4)), {"reg": 0.0})
    yield Case("loss and grads, reg 0.1", (params, X, rng.integers(0, 5, size=4)), {"reg": 0.1})
    params5 = _convnet_params(rng, 1, 6, 10, 2, 5, 7, 3, 0.3)
    yield Case("5x5 filters, grey rectangular images", (params5, rng.normal(size=(3, 1, 6, 10)),
                                                         rng.integers(0, 3, size=3)), {"reg": 0.05})
    yield Case("one example, large weights", (_convnet_params(rng, 2, 4, 4, 3, 3, 6, 4, 3.0),
                                              rng.normal(size=(1, 2, 4, 4)), np.array([2])), {"reg": 0.01})


def _run_convnet(fn, case):
    result = fn(*case.args, **case.kwargs)
    if len(case.args) < 3 or case.args[2] is None:
        return result
    if type(result) not in (tuple, list) or len(result) != 2:
        raise AssertionError("with labels y, return the pair (loss, grads).")
    loss, grads = result
    if type(grads) is not dict:
        raise AssertionError(f"grads is a {type(grads).__name__}; return a dict with the keys of params.")
    return float(loss), grads


# Graded on the reference 04 layers in place of the student's: a mistake there costs its points in 04 only.
SPECS.append(Spec("three_layer_convnet_loss", cases=_convnet_cases, run=_run_convnet, outputs=("loss", "grads"),
                  rtol=1e-6, atol=1e-9, stand_ins=("layers.affine_forward", "layers.relu_forward", "layers.softmax_loss",
                                                   "layers.affine_backward", "layers.relu_backward")))

# --- the accuracy target ------------------------------------------------------------------------
# Judged by the grader on 1,000 held-out images it generates; the thresholds are for the quick budget
# and sit well below what the reference reaches on held-out sets of several seeds.
SPECS.append(AccuracySpec("convnet", thresholds={"synthetic": 0.38, "cifar10": 0.35}, cell="convnet_val_accuracy"))
