"""Tests for course_utils.fast_layers.

The fast layers are checked against plain loop implementations written below
(obviously correct, slow, small sizes only), against central-difference
numeric gradients, and, when PyTorch is installed, against
``torch.nn.functional.conv2d`` / ``max_pool2d``.
"""
from __future__ import annotations

import multiprocessing
import os
import threading

import numpy as np
import pytest

from course_utils import fast_layers
from course_utils.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)


# --------------------------------------------------------------------------- #
# reference implementations: one output value at a time
# --------------------------------------------------------------------------- #
def loop_conv_forward(x, w, b, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out


def loop_conv_backward(dout, x, w, stride, pad):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dw[f] += dout[n, f, i, j] * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    db[f] += dout[n, f, i, j]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, db


def loop_pool_forward(x, ph, pw, stride):
    N, C, H, W = x.shape
    H_out = (H - ph) // stride + 1
    W_out = (W - pw) // stride + 1
    out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw].max()
    return out


def loop_pool_backward(dout, x, ph, pw, stride):
    """Each window's gradient goes to its first maximum in row-major order."""
    dx = np.zeros_like(x)
    N, C, H_out, W_out = dout.shape
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride : i * stride + ph, j * stride : j * stride + pw]
                    kh, kw = divmod(int(np.argmax(window)), pw)
                    dx[n, c, i * stride + kh, j * stride + kw] += dout[n, c, i, j]
    return dx


def numeric_gradient(f, array, h=1e-4):
    """Central differences of the scalar function f() with respect to array (changed in place, then restored)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + h
        plus = f()
        array[index] = old - h
        minus = f()
        array[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad


def relative_error(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


# (N, C, H, W), (F, HH, WW), stride, pad
CONV_CASES = [
    ((2, 3, 7, 7), (4, 3, 3), 1, 1),
    ((1, 1, 5, 5), (1, 3, 3), 1, 0),  # N = C = F = 1
    ((2, 2, 6, 9), (3, 2, 3), 1, 2),  # non-square image and filter, pad 2
    ((3, 2, 8, 7), (2, 3, 2), 2, 1),  # stride 2
    ((2, 3, 10, 11), (3, 3, 3), 3, 1),  # stride 3
    ((2, 2, 7, 8), (3, 5, 4), 2, 0),  # (H - HH) % stride != 0: floored
    ((1, 2, 6, 6), (2, 1, 1), 1, 0),  # 1x1 filter
    ((2, 1, 4, 5), (2, 4, 5), 1, 0),  # filter as large as the image: 1x1 output
    ((2, 2, 5, 5), (2, 3, 3), 3, 2),  # stride 3 with pad 2
    ((1, 3, 9, 6), (2, 2, 4), 2, 2),
    ((2, 2, 3, 4), (2, 2, 2), 2, 3),  # pad larger than the filter: some outputs read only padding
    ((2, 2, 1, 3), (2, 2, 2), 2, 2),  # some kernel offsets read no input pixel at all
    ((2, 3, 11, 11), (4, 3, 3), 2, 1),  # odd size, stride 2, pad 1: the benchmark's (N, 3, 31, 31) case in small
    ((2, 2, 7, 7), (2, 1, 1), 2, 0),  # filter smaller than the stride: some pixels are never read
    ((2, 2, 9, 8), (2, 2, 2), 3, 1),  # the same with padding
]

# (N, C, H, W), pool_height, pool_width, stride
POOL_CASES = [
    ((2, 3, 8, 8), 2, 2, 2),  # the usual case, exact tiling
    ((1, 1, 4, 6), 2, 3, 3),  # non-square, non-overlapping (3 wide): 2 x 2 output
    ((2, 2, 7, 9), 2, 2, 2),  # does not tile: last row / column ignored
    ((2, 2, 7, 7), 3, 3, 2),  # overlapping windows
    ((1, 2, 6, 5), 3, 2, 1),  # overlapping, stride 1
    ((2, 2, 9, 9), 2, 2, 3),  # gaps between windows
    ((2, 1, 8, 7), 2, 1, 3),  # gaps, non-square window
    ((1, 3, 5, 5), 5, 5, 1),  # window = image
]


def conv_case(case, rng, dtype=np.float64):
    (N, C, H, W), (F, HH, WW), stride, pad = case
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    w = rng.standard_normal((F, C, HH, WW)).astype(dtype)
    b = rng.standard_normal(F).astype(dtype)
    return x, w, b, stride, pad


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# --------------------------------------------------------------------------- #
# convolution
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_matches_loop_implementation(case, rng):
    x, w, b, stride, pad = conv_case(case, rng)
    out, cache = conv_forward_fast(x, w, b, stride=stride, pad=pad)
    expected = loop_conv_forward(x, w, b, stride, pad)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)

    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)
    dx_ref, dw_ref, db_ref = loop_conv_backward(dout, x, w, stride, pad)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(db, db_ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[3], CONV_CASES[5]], ids=str)
def test_conv_numeric_gradient(case, rng):
    x, w, b, stride, pad = conv_case(case, rng)
    dout = rng.standard_normal(conv_forward_fast(x, w, b, stride, pad)[0].shape)

    def loss():
        return np.sum(conv_forward_fast(x, w, b, stride, pad)[0] * dout)

    # the loss is linear in each argument, so the step size only has to beat round-off
    dx, dw, db = conv_backward_fast(dout, conv_forward_fast(x, w, b, stride, pad)[1])
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-8
    assert relative_error(dw, numeric_gradient(loss, w)) < 1e-8
    assert relative_error(db, numeric_gradient(loss, b)) < 1e-8


def test_conv_floors_when_the_filter_does_not_tile(rng):
    x, w, b, _, _ = conv_case(((1, 1, 6, 6), (1, 3, 3), 2, 0), rng)
    out, cache = conv_forward_fast(x, w, b, stride=2, pad=0)  # (6 - 3) % 2 == 1
    assert out.shape == (1, 1, 2, 2)
    dx, _, _ = conv_backward_fast(np.ones_like(out), cache)
    # the last row and column are never read, so they get no gradient
    assert np.all(dx[..., 5, :] == 0) and np.all(dx[..., :, 5] == 0)


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_preserves_dtype(case, dtype, rng):
    """float32 stays float32 all the way (nothing is upcast), and is as exact as float32 allows."""
    x, w, b, stride, pad = conv_case(case, rng, dtype)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv_backward_fast(dout, cache)
    assert out.dtype == dx.dtype == dw.dtype == db.dtype == cache.planes.dtype == cache.wb.dtype == dtype
    assert out.flags.c_contiguous and dx.flags.c_contiguous
    x64, w64, b64, dout64 = (a.astype(np.float64) for a in (x, w, b, dout))
    expected = (loop_conv_forward(x64, w64, b64, stride, pad), *loop_conv_backward(dout64, x64, w64, stride, pad))
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for ours, ref in zip((out, dx, dw, db), expected):
        np.testing.assert_allclose(ours, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


def test_conv_mixed_dtypes_compute_in_the_wider_one(rng):
    x, w, b, stride, pad = conv_case(CONV_CASES[0], rng)
    out, cache = conv_forward_fast(x.astype(np.float32), w, b, stride, pad)
    assert out.dtype == np.float64
    dx, dw, db = conv_backward_fast(np.ones(out.shape, dtype=np.float32), cache)
    assert (dx.dtype, dw.dtype, db.dtype) == (np.float32, np.float64, np.float64)


def test_conv_does_not_modify_its_inputs(rng):
    x, w, b, stride, pad = conv_case(CONV_CASES[3], rng)
    copies = [x.copy(), w.copy(), b.copy()]
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dout_copy = dout.copy()
    conv_backward_fast(dout, cache)
    conv_backward_fast(dout, cache)  # the cache can be used twice
    for array, copy in zip([x, w, b, dout], copies + [dout_copy]):
        np.testing.assert_array_equal(array, copy)


def test_conv_accepts_non_contiguous_input(rng):
    x, w, b, stride, pad = conv_case(CONV_CASES[2], rng)
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    view = x_nhwc.transpose(0, 3, 1, 2)  # (N, C, H, W) view of NHWC memory
    out, cache = conv_forward_fast(view, w[:, :, ::-1], b, stride, pad)
    np.testing.assert_allclose(out, loop_conv_forward(x, w[:, :, ::-1], b, stride, pad), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape[::-1]).T  # not C-contiguous either
    dx, dw, db = conv_backward_fast(dout, cache)
    for ours, ref in zip((dx, dw, db), loop_conv_backward(dout, x, w[:, :, ::-1], stride, pad)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("block_images", [1, 3])
@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[3], CONV_CASES[10], CONV_CASES[12]], ids=str)
def test_conv_blocks_of_images_give_the_same_result(case, block_images, rng, monkeypatch):
    """The batch is unfolded a block of images at a time into reused buffers; a partial last block included."""
    (_, C, H, W), (F, HH, WW), stride, pad = case
    x, w, b, _, _ = conv_case(((7, C, H, W), (F, HH, WW), stride, pad), rng)
    monkeypatch.setattr(fast_layers, "_block_size", lambda g, dtype: block_images)
    monkeypatch.setattr(fast_layers, "_thread_count", lambda: 1)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    np.testing.assert_allclose(out, loop_conv_forward(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(out.shape)
    for ours, ref in zip(conv_backward_fast(dout, cache), loop_conv_backward(dout, x, w, stride, pad)):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("N, block_images, threads", [(7, 1, 3), (7, 3, 2), (2, 1, 4), (1, 1, 3), (5, 2, 8)])
@pytest.mark.parametrize("case", [CONV_CASES[0], CONV_CASES[12], CONV_CASES[14]], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_threads_give_exactly_the_single_thread_result(case, dtype, N, block_images, threads, rng, monkeypatch):
    """Blocks shared out among threads (more threads than blocks included) change no bit of the result."""
    (_, C, H, W), (F, HH, WW), stride, pad = case
    x, w, b, _, _ = conv_case(((N, C, H, W), (F, HH, WW), stride, pad), rng, dtype)
    dout = rng.standard_normal(conv_forward_fast(x, w, b, stride, pad)[0].shape).astype(dtype)
    monkeypatch.setattr(fast_layers, "_block_size", lambda g, dtype: block_images)
    results = []
    for count in (1, threads):
        monkeypatch.setattr(fast_layers, "_thread_count", lambda: count)
        out, cache = conv_forward_fast(x, w, b, stride, pad)
        results.append((out, *conv_backward_fast(dout, cache)))
    for serial, threaded in zip(*results):
        np.testing.assert_array_equal(threaded, serial)
    if dtype == np.float64:
        reference = (loop_conv_forward(x, w, b, stride, pad), *loop_conv_backward(dout, x, w, stride, pad))
        for ours, ref in zip(results[1], reference):
            np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


def test_conv_empty_batch(rng):
    x, w, b, stride, pad = conv_case(((0, 3, 8, 8), (4, 3, 3), 1, 1), rng)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    assert out.shape == (0, 4, 8, 8)
    dx, dw, db = conv_backward_fast(out, cache)
    assert dx.shape == x.shape and np.all(dw == 0) and np.all(db == 0)


@pytest.mark.parametrize(
    "variables, cpus, expected",
    [
        ({}, 4, 4),  # nothing set: one thread per CPU this process may use
        ({"OPENBLAS_NUM_THREADS": "1"}, 4, 1),  # what make test and the autograder set
        ({"OMP_NUM_THREADS": "2"}, 4, 2),
        ({"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": "1"}, 4, 3),  # the first one set wins
        ({"MKL_NUM_THREADS": "16"}, 4, 4),  # never more threads than CPUs
        ({"OPENBLAS_NUM_THREADS": "zero", "OMP_NUM_THREADS": "4,2"}, 2, 2),  # not a plain count: ignored
        ({"OPENBLAS_NUM_THREADS": "0"}, 2, 2),
    ],
)
def test_thread_count_follows_the_blas_variables(variables, cpus, expected, monkeypatch):
    for name in fast_layers._THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(fast_layers.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(fast_layers.os, "cpu_count", lambda: cpus)
    assert fast_layers._thread_count() == expected


def test_in_threads_runs_every_block_once_and_raises_errors(monkeypatch):
    monkeypatch.setattr(fast_layers, "_thread_count", lambda: 3)
    done, made, lock = [], [], threading.Lock()

    def new_buffers():
        with lock:
            made.append(threading.get_ident())
        return []

    def work(buffers, start):
        buffers.append(start)  # buffers belong to one thread: no lock needed
        with lock:
            done.append(start)

    fast_layers._in_threads(new_buffers, work, list(range(0, 40, 4)))
    assert sorted(done) == list(range(0, 40, 4))
    assert 1 <= len(made) <= 3 and len(set(made)) == len(made)  # one set of buffers per thread

    def failing(buffers, start):
        if start == 8:
            raise RuntimeError("block 8 failed")

    with pytest.raises(RuntimeError, match="block 8 failed"):
        fast_layers._in_threads(list, failing, list(range(0, 40, 4)))


def test_conv_calls_of_other_shapes_and_dtypes_in_between_change_nothing(rng):
    """Interleaved layers (forward 1, forward 2, backward 2, backward 1) give the results of isolated calls."""
    first = conv_case(((5, 3, 9, 9), (4, 3, 3), 1, 1), rng)
    second = conv_case(((3, 2, 8, 7), (2, 2, 3), 2, 2), rng, np.float32)
    alone = []
    for x, w, b, stride, pad in (first, second):
        out, cache = conv_forward_fast(x, w, b, stride, pad)
        dout = np.linspace(-1, 1, out.size, dtype=out.dtype).reshape(out.shape)
        alone.append((out.copy(), *(a.copy() for a in conv_backward_fast(dout, cache)), dout))

    out1, cache1 = conv_forward_fast(*first)
    out2, cache2 = conv_forward_fast(*second)
    grads2 = conv_backward_fast(alone[1][-1], cache2)
    grads1 = conv_backward_fast(alone[0][-1], cache1)
    grads1_again = conv_backward_fast(alone[0][-1], cache1)
    for got, expected in zip([(out1, *grads1), (out2, *grads2), (out1, *grads1_again)], [alone[0], alone[1], alone[0]]):
        for ours, ref in zip(got, expected):
            np.testing.assert_array_equal(ours, ref)
    results = [out1, out2, *grads1, *grads2, *grads1_again]
    for i, a in enumerate(results):  # every result owns its memory
        for other in results[i + 1 :] + [cache1.planes, cache2.planes, cache1.wb, cache2.wb]:
            assert not np.shares_memory(a, other)


def test_conv_backward_uses_the_input_as_it_was_in_the_forward_pass(rng):
    x, w, b, stride, pad = conv_case(CONV_CASES[3], rng)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    expected = loop_conv_backward(dout, x, w, stride, pad)
    x[...] = 0  # changed in place after the forward pass, as a careless caller might
    w[...] = 0
    for ours, ref in zip(conv_backward_fast(dout, cache), expected):
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "args, error, match",
    [
        (dict(x=np.zeros((3, 8, 8))), ValueError, r"x must be a 4-D array laid out as \(N, C, H, W\); got shape \(3, 8, 8\)"),
        (dict(w=np.zeros((2, 3, 3))), ValueError, r"w must be a 4-D array laid out as \(F, C, HH, WW\)"),
        (dict(w=np.zeros((2, 4, 3, 3))), ValueError, r"w must have as many channels as x: .*C = 3.*C = 4.*Use filters of shape \(F, 3, HH, WW\)"),
        (dict(x=np.zeros((1, 8, 8, 3))), ValueError, r"check that x is \(N, C, H, W\), not \(N, H, W, C\)"),
        (dict(b=np.zeros(3)), ValueError, r"b must have shape \(2\).*got \(3,\)"),
        (dict(b=np.zeros((2, 1))), ValueError, r"b must be a 1-D array"),
        (dict(stride=1.5), ValueError, r"stride must be a positive integer; got 1.5.*Pass a Python int"),
        (dict(stride=0), ValueError, r"stride must be a positive integer; got 0"),
        (dict(pad=-1), ValueError, r"pad must be a non-negative integer; got -1"),
        (dict(pad=1.0), ValueError, r"pad must be a non-negative integer; got 1.0"),
        (dict(w=np.zeros((2, 3, 11, 3))), ValueError, r"w: the filter height HH = w.shape\[2\] \(11\) is larger than the padded input height \(8 \+ 2\*pad = 10\)"),
        (dict(x=np.zeros((1, 3, 8, 8), dtype=np.uint8)), TypeError, r"x must have a floating point dtype; got uint8.*astype"),
        (dict(w=np.zeros((2, 3, 3, 3), dtype=int)), TypeError, r"w must have a floating point dtype"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_conv_forward_rejects_bad_input(args, error, match):
    kwargs = dict(x=np.zeros((1, 3, 8, 8)), w=np.zeros((2, 3, 3, 3)), b=np.zeros(2), stride=1, pad=1)
    kwargs.update(args)
    with pytest.raises(error, match=match):
        conv_forward_fast(**kwargs)


def test_conv_backward_rejects_bad_input(rng):
    x, w, b, stride, pad = conv_case(CONV_CASES[0], rng)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 4, 7, 7\) \(\(N, F, H_out, W_out\)"):
        conv_backward_fast(out[:, :, :-1], cache)
    with pytest.raises(TypeError, match="dout must have a floating point dtype"):
        conv_backward_fast(out.astype(int), cache)
    with pytest.raises(TypeError, match="cache must be the second value returned by conv_forward_fast"):
        conv_backward_fast(out, (x, w, b))


def test_helper_threads_are_kept_between_calls():
    helpers = fast_layers._HelperThreads()
    pool = helpers.get(2)
    assert helpers.get(1) is pool and helpers.get(2) is pool
    bigger = helpers.get(3)
    assert bigger is not pool and helpers.get(3) is bigger
    bigger.shutdown()


def _conv_in_child(expected, x, w, b, results):
    out, cache = conv_forward_fast(x, w, b, 2, 1)
    results.put(bool(np.array_equal(out, expected)) and len(conv_backward_fast(out, cache)) == 3)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_conv_in_a_forked_child_after_threaded_calls(rng, monkeypatch):
    """The helper threads do not survive fork (as in multiprocessing and Dask workers): the child starts its own."""
    monkeypatch.setattr(fast_layers, "_thread_count", lambda: 2)
    monkeypatch.setattr(fast_layers, "_block_size", lambda g, dtype: 1)
    x, w, b, _, _ = conv_case(((4, 3, 9, 9), (2, 3, 3), 2, 1), rng)
    expected, _ = conv_forward_fast(x, w, b, 2, 1)  # the parent's helper threads are running now
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_conv_in_child, args=(expected, x, w, b, results))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the convolution hung in a forked child")
    assert child.exitcode == 0 and results.get(timeout=5)


# --------------------------------------------------------------------------- #
# max pooling
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_matches_loop_implementation(case, rng):
    shape, ph, pw, stride = case
    x = rng.standard_normal(shape)
    out, cache = max_pool_forward_fast(x, pool_height=ph, pool_width=pw, stride=stride)
    np.testing.assert_array_equal(out, loop_pool_forward(x, ph, pw, stride))
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_fast(dout, cache)
    np.testing.assert_allclose(dx, loop_pool_backward(dout, x, ph, pw, stride), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [POOL_CASES[0], POOL_CASES[3]], ids=str)
def test_pool_numeric_gradient(case, rng):
    shape, ph, pw, stride = case
    x = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape)  # distinct values, no ties
    dout = rng.standard_normal(max_pool_forward_fast(x, ph, pw, stride)[0].shape)

    def loss():
        return np.sum(max_pool_forward_fast(x, ph, pw, stride)[0] * dout)

    dx = max_pool_backward_fast(dout, max_pool_forward_fast(x, ph, pw, stride)[1])
    assert relative_error(dx, numeric_gradient(loss, x, h=1e-3)) < 1e-7


@pytest.mark.parametrize("stride", [2, 1])
def test_pool_ties_route_the_gradient_to_the_first_maximum(stride):
    # every 2x2 window holds the maximum twice: top right and bottom left
    x = np.array([[0.0, 5.0], [5.0, 1.0]])
    x = np.tile(x, (3, 3))[None, None]
    out, cache = max_pool_forward_fast(x, 2, 2, stride)
    dout = np.arange(1.0, out.size + 1).reshape(out.shape)
    dx = max_pool_backward_fast(dout, cache)
    np.testing.assert_array_equal(dx, loop_pool_backward(dout, x, 2, 2, stride))
    assert dx.sum() == dout.sum()  # nothing is split or duplicated
    if stride == 2:
        np.testing.assert_array_equal(dx[0, 0, :2, :2], [[0, 1], [0, 0]])


def test_pool_constant_input_routes_everything_to_the_top_left():
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    out, cache = max_pool_forward_fast(x, 2, 2, 2)
    dx = max_pool_backward_fast(np.ones_like(out), cache)
    expected = np.zeros((4, 4), dtype=np.float32)
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(dx[0, 1], expected)


def test_pool_propagates_nan():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 1] = np.nan
    out, _ = max_pool_forward_fast(x, 2, 2, 2)
    assert np.isnan(out[0, 0, 0, 0]) and out[0, 0, 0, 1] == 0


@pytest.mark.parametrize("case", [POOL_CASES[0], POOL_CASES[3]], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_preserves_dtype_and_inputs(case, dtype, rng):
    shape, ph, pw, stride = case
    x = rng.standard_normal(shape).astype(dtype)
    x_copy = x.copy()
    out, cache = max_pool_forward_fast(x, ph, pw, stride)
    dout = np.ones_like(out)
    dx = max_pool_backward_fast(dout, cache)
    assert out.dtype == dx.dtype == dtype
    assert out.flags.c_contiguous and dx.flags.c_contiguous
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, 1)


def test_pool_accepts_non_contiguous_input(rng):
    x = rng.standard_normal((2, 6, 6, 3)).transpose(0, 3, 1, 2)  # NHWC memory seen as NCHW
    out, cache = max_pool_forward_fast(x, 2, 2, 2)
    np.testing.assert_array_equal(out, loop_pool_forward(x, 2, 2, 2))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache), loop_pool_backward(dout, x, 2, 2, 2))


@pytest.mark.parametrize(
    "args, error, match",
    [
        (dict(x=np.zeros((8, 8))), ValueError, r"x must be a 4-D array laid out as \(N, C, H, W\); got shape \(8, 8\)"),
        (dict(x=np.zeros((1, 1, 8, 8), dtype=np.int64)), TypeError, r"x must have a floating point dtype; got int64"),
        (dict(pool_height=0), ValueError, r"pool_height must be a positive integer; got 0"),
        (dict(pool_width=2.0), ValueError, r"pool_width must be a positive integer; got 2.0.*Pass a Python int"),
        (dict(stride=None), ValueError, r"stride must be a positive integer; got None"),
        (dict(pool_height=9), ValueError, r"pool_height: the pool window height \(9\) is larger than the input height \(8\)"),
        (dict(pool_width=10), ValueError, r"pool_width: the pool window width \(10\) is larger"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_pool_forward_rejects_bad_input(args, error, match):
    kwargs = dict(x=np.zeros((1, 1, 8, 8)), pool_height=2, pool_width=2, stride=2)
    kwargs.update(args)
    with pytest.raises(error, match=match):
        max_pool_forward_fast(**kwargs)


def test_pool_backward_rejects_bad_input():
    out, cache = max_pool_forward_fast(np.zeros((1, 1, 8, 8)), 2, 2, 2)
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 1, 4, 4\)"):
        max_pool_backward_fast(np.zeros((1, 1, 4, 5)), cache)
    with pytest.raises(TypeError, match="cache must be the second value returned by max_pool_forward_fast"):
        max_pool_backward_fast(out, None)
    _, conv_cache = conv_forward_fast(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 1, 1)), np.zeros(1))
    with pytest.raises(TypeError, match="cache must be the second value returned by max_pool_forward_fast"):
        max_pool_backward_fast(out, conv_cache)


# --------------------------------------------------------------------------- #
# PyTorch as an independent oracle (skipped when it is not installed)
# --------------------------------------------------------------------------- #
TORCH_CONV_CASES = CONV_CASES + [
    ((4, 3, 16, 16), (8, 3, 3), 1, 1),
    ((3, 3, 15, 15), (5, 3, 3), 2, 1),
    ((4, 3, 31, 31), (25, 3, 3), 2, 1),  # the benchmark's stride-2 case, fewer images
]


@pytest.mark.torch
@pytest.mark.parametrize("case", TORCH_CONV_CASES, ids=str)
def test_conv_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    x, w, b, stride, pad = conv_case(case, rng)
    out, cache = conv_forward_fast(x, w, b, stride, pad)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)

    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out_t = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad)
    out_t.backward(torch.tensor(dout))
    for ours, theirs in [(out, out_t), (dx, xt.grad), (dw, wt.grad), (db, bt.grad)]:
        theirs = theirs.detach().numpy()
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 * np.abs(theirs).max())


@pytest.mark.torch
@pytest.mark.parametrize("case", POOL_CASES, ids=str)
def test_pool_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    shape, ph, pw, stride = case
    x = rng.standard_normal(shape)
    x[..., ::3, ::2] = 0.5  # plenty of ties
    out, cache = max_pool_forward_fast(x, ph, pw, stride)
    dout = rng.standard_normal(out.shape)
    dx = max_pool_backward_fast(dout, cache)

    xt = torch.tensor(x, requires_grad=True)
    out_t = torch.nn.functional.max_pool2d(xt, (ph, pw), stride=stride)
    out_t.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
