"""Fast convolution and max-pooling layers in pure NumPy (forward and backward).

These are the "fast" layers handed to students in the ConvNet notebook, so that
training a small network takes seconds instead of minutes.  They use the
``(N, C, H, W)`` layout everywhere:

========  ======================  ==========================================
name      shape                   meaning
========  ======================  ==========================================
``x``     ``(N, C, H, W)``        a batch of N images with C channels
``w``     ``(F, C, HH, WW)``      F filters, each C x HH x WW
``b``     ``(F,)``                one bias per filter
``out``   ``(N, F, H_out, W_out)`` convolution output
========  ======================  ==========================================

with ``H_out = (H + 2 * pad - HH) // stride + 1`` and
``W_out = (W + 2 * pad - WW) // stride + 1`` (and the same rule with
``pool_height`` / ``pool_width`` for pooling).

Tiling rule
    When the window does not tile the (padded) input exactly, i.e.
    ``(H + 2 * pad - HH) % stride != 0``, the output size is floored, exactly as
    in PyTorch's ``conv2d`` and ``max_pool2d``: the last rows / columns that no
    window reaches are ignored in the forward pass and receive a zero gradient.
    A window larger than the padded input is an error.

Dtypes
    Inputs must have a floating point dtype (integer images: convert them with
    ``.astype(np.float64)`` first).  The computation runs in the common dtype of
    the inputs (``np.result_type(x, w, b)``), so float32 in gives float32 out and
    float64 gives float64.  Gradients come back in the dtype of the input they
    belong to (``dx`` like ``x``, ``dw`` like ``w``, ``db`` like ``b``).

Ties in max pooling
    When several positions of a pooling window hold the same maximum, the whole
    upstream gradient goes to *one* of them: the first in row-major order
    within the window (top row first, then left to right), the same choice as
    PyTorch.  So ``dx.sum() == dout.sum()`` always holds.  NaN propagates to
    the output of the forward pass.

How it works
    Convolution is "im2col": each image is unfolded into a matrix of shape
    ``(C*HH*WW + 1, H_out*W_out)`` whose last row is all ones (the bias trick),
    and its output ``(F, H_out*W_out)`` is one matrix multiply with the
    ``(F, C*HH*WW + 1)`` matrix ``[w | b]``, written straight into ``out``.
    The unfolding copies one vectorised slice per kernel offset (never the
    zero padding, which stays zero in the buffer) and runs over blocks of a
    few images that share one buffer small enough to stay in the CPU cache.
    The backward pass unfolds the images again, block by block: ``[dw | db]``
    adds up ``dout @ columns.T`` over the images, and ``dx`` is the
    transpose-multiply ``w.T @ dout`` followed by "col2im", which adds the
    HH*WW kernel offsets back onto the input pixels with vectorised slices.
    Max pooling loops over the ``pool_height * pool_width`` offsets of the
    window (never over images or pixels), keeping the running maximum and the
    offset it came from; the backward pass routes ``dout`` back through those
    offsets.  No Python loop runs over examples or pixels.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validation import as_array, check_dtype_kind, check_ndim, check_positive_int, check_shape

__all__ = [
    "conv_forward_fast",
    "conv_backward_fast",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
]


# --------------------------------------------------------------------------- #
# input checks
# --------------------------------------------------------------------------- #
def _check_float_array(value: object, name: str, layout: str) -> np.ndarray:
    """Return ``value`` as a 4-D floating point array laid out as ``layout``, or raise."""
    array = as_array(value, name)
    check_ndim(array, 4, name, layout)
    check_dtype_kind(array, "f", name)
    return array


def _positive_int(value: object, name: str) -> int:
    try:
        return check_positive_int(value, name)
    except ValueError as error:
        raise ValueError(f"{error}. Pass a Python int, for example {name}=2") from None


def _non_negative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative integer; got {value!r}. Pass a Python int, for example {name}=1"
        )
    return int(value)


def _output_size(size: int, window: int, stride: int, pad: int, axis: str, arg: str, what: str) -> int:
    """Floored output size along one axis (like PyTorch); raise if the window does not fit at all."""
    padded = size + 2 * pad
    if window > padded:
        if pad:
            where = f"the padded input {axis} ({size} + 2*pad = {padded})"
        else:
            where = f"the input {axis} ({size})"
        raise ValueError(
            f"{arg}: the {what} ({window}) is larger than {where}; "
            f"use a smaller window{', more padding' if arg == 'w' else ''} or a larger input"
        )
    # Rows / columns that no window reaches (when the window does not tile exactly) are ignored.
    return (padded - window) // stride + 1


# --------------------------------------------------------------------------- #
# convolution
# --------------------------------------------------------------------------- #
# Images unfolded per block: about this many bytes of im2col columns, so that a block (and the
# GEMM reading it) stays in the per-core L2 cache instead of streaming ~10 MB through memory.
_BLOCK_BYTES = 1 << 19


class _ConvGeometry(NamedTuple):
    N: int
    C: int
    H: int
    W: int
    F: int
    HH: int
    WW: int
    stride: int
    pad: int
    H_out: int
    W_out: int


class _Window(NamedTuple):
    """Kernel offset (kh, kw): output positions ``out_rows, out_cols`` read ``x[..., in_rows, in_cols]``.

    Output positions whose input pixel for this offset lies in the zero padding are left out,
    so the unpadded input is read directly and the padding never has to be materialised.
    """

    kh: int
    kw: int
    out_rows: slice
    out_cols: slice
    in_rows: slice
    in_cols: slice


def _conv_geometry(x_shape: tuple, w_shape: tuple, stride: int, pad: int) -> _ConvGeometry:
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out = _output_size(H, HH, stride, pad, "height", "w", "filter height HH = w.shape[2]")
    W_out = _output_size(W, WW, stride, pad, "width", "w", "filter width WW = w.shape[3]")
    return _ConvGeometry(N, C, H, W, F, HH, WW, stride, pad, H_out, W_out)


def _inside(offset: int, size: int, out_size: int, stride: int, pad: int) -> tuple[slice, slice] | None:
    """Output indices i with ``0 <= i * stride + offset - pad < size``, and the input indices they read.

    Returns ``(out_slice, in_slice)``, or None when every position falls in the padding.
    """
    first = max(0, -((offset - pad) // stride))  # ceil((pad - offset) / stride), at least 0
    stop = min(out_size, (size - 1 + pad - offset) // stride + 1)
    if stop <= first:
        return None
    start = first * stride + offset - pad
    return slice(first, stop), slice(start, start + (stop - first - 1) * stride + 1, stride)


def _windows(g: _ConvGeometry) -> list[_Window]:
    """The kernel offsets that read at least one input pixel, with their output and input slices."""
    windows = []
    for kh in range(g.HH):
        rows = _inside(kh, g.H, g.H_out, g.stride, g.pad)
        for kw in range(g.WW):
            columns = _inside(kw, g.W, g.W_out, g.stride, g.pad)
            if rows and columns:
                windows.append(_Window(kh, kw, rows[0], columns[0], rows[1], columns[1]))
    return windows


class _Im2col:
    """A reusable im2col buffer for blocks of ``block`` images.

    ``columns[n, (c, kh, kw), i * W_out + j] = xpad[n0 + n, c, i * stride + kh, j * stride + kw]``
    with shape (block, C*HH*WW + 1, H_out*W_out) and dtype ``dtype``; the last row is all ones
    (the bias trick). Padding positions are zeroed once and never written, so one buffer serves
    every block. The buffer belongs to one forward or backward call and is never returned.
    """

    def __init__(self, g: _ConvGeometry, dtype: np.dtype) -> None:
        K, P = g.C * g.HH * g.WW, g.H_out * g.W_out
        self.block = max(1, min(g.N, _BLOCK_BYTES // ((K + 1) * P * dtype.itemsize)))
        self.columns = np.zeros((self.block, K + 1, P), dtype=dtype)
        self.columns[:, K] = 1
        # (block, C, HH, WW, H_out, W_out) view of the first K rows
        self.view = self.columns[:, :K].reshape(self.block, g.C, g.HH, g.WW, g.H_out, g.W_out)
        self.windows = _windows(g)

    def fill(self, x: np.ndarray, start: int) -> np.ndarray:
        """Unfold ``x[start : start + block]`` (x of shape (N, C, H, W)).

        Returns the buffer's first m = min(block, N - start) images, shape (m, C*HH*WW + 1, H_out*W_out).
        """
        m = min(self.block, x.shape[0] - start)
        images = x[start : start + m]
        for win in self.windows:
            self.view[:m, :, win.kh, win.kw, win.out_rows, win.out_cols] = images[:, :, win.in_rows, win.in_cols]
        return self.columns[:m]


class _ConvCache(NamedTuple):
    x: np.ndarray  # (N, C, H, W): a C-contiguous copy of the input in the compute dtype
    wb: np.ndarray  # (F, C*HH*WW + 1): filters flattened, bias as last column
    geometry: _ConvGeometry
    x_dtype: np.dtype
    w_dtype: np.dtype
    b_dtype: np.dtype


def conv_forward_fast(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0
) -> tuple[np.ndarray, _ConvCache]:
    """Forward pass of a 2-D convolution (cross-correlation) layer.

    Parameters
    ----------
    x : float array of shape (N, C, H, W)
        Input images.
    w : float array of shape (F, C, HH, WW)
        Filters; C must equal ``x.shape[1]``.
    b : float array of shape (F,)
        One bias per filter.
    stride : positive int
        Step between neighbouring windows, in both directions.
    pad : non-negative int
        Number of zeros added on every side of H and W.

    Returns
    -------
    out : C-contiguous array of shape (N, F, H_out, W_out), dtype ``np.result_type(x, w, b)``
        ``out[n, f, i, j] = b[f] + sum(xpad[n, :, i*stride:i*stride+HH, j*stride:j*stride+WW] * w[f])``
        with ``H_out = (H + 2*pad - HH) // stride + 1`` (floored, see the module
        docstring) and likewise ``W_out``.
    cache : object
        Pass it unchanged to :func:`conv_backward_fast`.

    Raises
    ------
    ValueError, TypeError
        On a wrong number of dimensions, mismatched channels or bias length,
        a non-integer or negative stride/pad, a filter larger than the padded
        input, or a non-floating dtype.
    """
    x = _check_float_array(x, "x", "(N, C, H, W)")
    w = _check_float_array(w, "w", "(F, C, HH, WW)")
    b = as_array(b, "b")
    check_ndim(b, 1, "b", "(F,), one bias per filter")
    check_dtype_kind(b, "f", "b")
    stride = _positive_int(stride, "stride")
    pad = _non_negative_int(pad, "pad")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have as many channels as x: x has shape {x.shape}, laid out as (N, C, H, W), so C = {x.shape[1]}, "
            f"but w has shape {w.shape}, laid out as (F, C, HH, WW), so C = {w.shape[1]}. "
            f"Use filters of shape (F, {x.shape[1]}, HH, WW), and check that x is (N, C, H, W), not (N, H, W, C)"
        )
    check_shape(b, (w.shape[0],), "b", f"one bias per filter, F = w.shape[0] = {w.shape[0]}")

    g = _conv_geometry(x.shape, w.shape, stride, pad)
    K = g.C * g.HH * g.WW
    dtype = np.result_type(x.dtype, w.dtype, b.dtype)
    # A private copy: the backward pass unfolds it again, whatever the caller does to x meanwhile.
    images = np.array(x, dtype=dtype, order="C")
    wb = np.empty((g.F, K + 1), dtype=dtype)
    wb[:, :K] = w.reshape(g.F, K)
    wb[:, K] = b

    out = np.empty((g.N, g.F, g.H_out, g.W_out), dtype=dtype)
    out_flat = out.reshape(g.N, g.F, g.H_out * g.W_out)
    im2col = _Im2col(g, dtype)
    for start in range(0, g.N, im2col.block):
        columns = im2col.fill(images, start)
        # one (F, K + 1) @ (K + 1, H_out*W_out) product per image, written straight into out
        np.matmul(wb, columns, out=out_flat[start : start + len(columns)])
    return out, _ConvCache(images, wb, g, x.dtype, w.dtype, b.dtype)


def conv_backward_fast(dout: np.ndarray, cache: _ConvCache) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of :func:`conv_forward_fast`.

    Parameters
    ----------
    dout : float array of shape (N, F, H_out, W_out)
        Upstream gradient, the shape of the forward output.
    cache : object
        The second value returned by :func:`conv_forward_fast`.

    Returns
    -------
    dx : C-contiguous array of shape (N, C, H, W), dtype of ``x``
    dw : array of shape (F, C, HH, WW), dtype of ``w``
    db : array of shape (F,), dtype of ``b``
    """
    if not isinstance(cache, _ConvCache):
        raise TypeError(
            f"cache must be the second value returned by conv_forward_fast; got {type(cache).__name__}. "
            "Call out, cache = conv_forward_fast(x, w, b, stride, pad) and pass that cache"
        )
    g = cache.geometry
    dout = as_array(dout, "dout")
    check_dtype_kind(dout, "f", "dout")
    check_shape(dout, (g.N, g.F, g.H_out, g.W_out), "dout", "(N, F, H_out, W_out), the shape of the forward output")

    wb = cache.wb
    dtype = wb.dtype
    K, P = g.C * g.HH * g.WW, g.H_out * g.W_out
    dout_flat = np.ascontiguousarray(dout, dtype=dtype).reshape(g.N, g.F, P)
    w_t = wb[:, :K].T  # (K, F)

    im2col = _Im2col(g, dtype)
    dwb = np.zeros((g.F, K + 1), dtype=dtype)  # [dw | db]
    per_image = np.empty((im2col.block, g.F, K + 1), dtype=dtype)
    dcolumns = np.empty((im2col.block, K, P), dtype=dtype)
    dcolumns6 = dcolumns.reshape(im2col.block, g.C, g.HH, g.WW, g.H_out, g.W_out)
    dx = np.zeros((g.N, g.C, g.H, g.W), dtype=dtype)
    for start in range(0, g.N, im2col.block):
        columns = im2col.fill(cache.x, start)
        m = len(columns)
        dout_block = dout_flat[start : start + m]
        np.matmul(dout_block, columns.transpose(0, 2, 1), out=per_image[:m])
        dwb += per_image[:m].sum(axis=0)
        np.matmul(w_t, dout_block, out=dcolumns[:m])
        # col2im: add each kernel offset's columns back onto the input pixels it read
        images = dx[start : start + m]
        for win in im2col.windows:
            target = images[:, :, win.in_rows, win.in_cols]
            target += dcolumns6[:m, :, win.kh, win.kw, win.out_rows, win.out_cols]
    dw = dwb[:, :K].reshape(g.F, g.C, g.HH, g.WW).astype(cache.w_dtype, copy=True)
    db = dwb[:, K].astype(cache.b_dtype, copy=True)
    return dx.astype(cache.x_dtype, copy=False), dw, db


# --------------------------------------------------------------------------- #
# max pooling
# --------------------------------------------------------------------------- #
class _PoolCache(NamedTuple):
    argmax: np.ndarray  # offset kh * pool_width + kw of each window's maximum
    x_shape: tuple
    x_dtype: np.dtype
    pool_height: int
    pool_width: int
    stride: int
    out_shape: tuple
    blocked: bool  # True: argmax is (N, C, H_out, W_out) from the non-overlapping fast path


def _index_dtype(count: int) -> type:
    return np.uint8 if count <= 255 else np.int32


def max_pool_forward_fast(
    x: np.ndarray, pool_height: int = 2, pool_width: int = 2, stride: int = 2
) -> tuple[np.ndarray, _PoolCache]:
    """Forward pass of max pooling (no padding).

    Parameters
    ----------
    x : float array of shape (N, C, H, W)
    pool_height, pool_width : positive int
        Window size.
    stride : positive int
        Step between windows, in both directions; windows may overlap
        (``stride < pool``) or leave gaps (``stride > pool``).

    Returns
    -------
    out : C-contiguous array of shape (N, C, H_out, W_out), dtype of ``x``
        ``H_out = (H - pool_height) // stride + 1`` (floored, see the module
        docstring), likewise ``W_out``.
    cache : object
        Pass it unchanged to :func:`max_pool_backward_fast`.
    """
    x = _check_float_array(x, "x", "(N, C, H, W)")
    ph = _positive_int(pool_height, "pool_height")
    pw = _positive_int(pool_width, "pool_width")
    s = _positive_int(stride, "stride")
    N, C, H, W = x.shape
    H_out = _output_size(H, ph, s, 0, "height", "pool_height", "pool window height")
    W_out = _output_size(W, pw, s, 0, "width", "pool_width", "pool window width")
    nk = ph * pw
    shape = (N, C, H_out, W_out)

    if ph <= s and pw <= s and H_out * s <= H and W_out * s <= W:
        # Non-overlapping windows: gather the ph * pw window offsets into one
        # contiguous block (reshape trick), then compare whole planes.
        x6 = x[:, :, : H_out * s, : W_out * s].reshape(N, C, H_out, s, W_out, s)[:, :, :, :ph, :, :pw]
        windows = np.empty((ph, pw, N, C, H_out, W_out), dtype=x.dtype)
        windows[...] = x6.transpose(3, 5, 0, 1, 2, 4)
        windows = windows.reshape(nk, N, C, H_out, W_out)
        get = windows.__getitem__
        blocked = True
    else:
        get = lambda k: x[:, :, k // pw : k // pw + s * (H_out - 1) + 1 : s, k % pw : k % pw + s * (W_out - 1) + 1 : s]
        blocked = False

    out = np.array(get(0), dtype=x.dtype, order="C", copy=True)
    argmax = np.zeros(shape, dtype=_index_dtype(nk))
    better = np.empty(shape, dtype=bool)
    for k in range(1, nk):
        window = get(k)
        # strict ">" keeps the first maximum in row-major window order on ties
        np.greater(window, out, out=better)
        np.copyto(argmax, k, where=better, casting="unsafe")
        np.maximum(out, window, out=out)  # propagates NaN
    return out, _PoolCache(argmax, x.shape, x.dtype, ph, pw, s, shape, blocked)


def max_pool_backward_fast(dout: np.ndarray, cache: _PoolCache) -> np.ndarray:
    """Backward pass of :func:`max_pool_forward_fast`.

    Parameters
    ----------
    dout : float array of shape (N, C, H_out, W_out)
        Upstream gradient.
    cache : object
        The second value returned by :func:`max_pool_forward_fast`.

    Returns
    -------
    dx : C-contiguous array of shape (N, C, H, W), dtype of ``x``
        Each ``dout`` value goes to the position of its window's maximum (on
        ties: the first in row-major window order); overlapping windows add up.
    """
    if not isinstance(cache, _PoolCache):
        raise TypeError(
            f"cache must be the second value returned by max_pool_forward_fast; got {type(cache).__name__}. "
            "Call out, cache = max_pool_forward_fast(x, ...) and pass that cache"
        )
    dout = as_array(dout, "dout")
    check_dtype_kind(dout, "f", "dout")
    check_shape(dout, cache.out_shape, "dout", "(N, C, H_out, W_out), the shape of the forward output")

    ph, pw, s = cache.pool_height, cache.pool_width, cache.stride
    N, C, H_out, W_out = cache.out_shape
    N, C, H, W = cache.x_shape
    nk = ph * pw
    argmax = cache.argmax
    mask = np.empty(argmax.shape, dtype=bool)

    if cache.blocked:
        dwin = np.empty((nk, N, C, H_out, W_out), dtype=cache.x_dtype)
        for k in range(nk):
            np.equal(argmax, k, out=mask)
            np.multiply(dout, mask, out=dwin[k], casting="unsafe")
        exact = ph == s and pw == s and H_out * s == H and W_out * s == W
        dx = (np.empty if exact else np.zeros)((N, C, H, W), dtype=cache.x_dtype)
        dx6 = dx[:, :, : H_out * s, : W_out * s].reshape(N, C, H_out, s, W_out, s)[:, :, :, :ph, :, :pw]
        dx6[...] = dwin.reshape(ph, pw, N, C, H_out, W_out).transpose(2, 3, 4, 0, 5, 1)
        return dx

    dx = np.zeros((N, C, H, W), dtype=cache.x_dtype)
    for k in range(nk):
        kh, kw = divmod(k, pw)
        np.equal(argmax, k, out=mask)
        target = dx[:, :, kh : kh + s * (H_out - 1) + 1 : s, kw : kw + s * (W_out - 1) + 1 : s]
        np.add(target, dout, out=target, where=mask, casting="unsafe")
    return dx
