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
    Convolution is "im2col": each image is unfolded into a matrix whose rows
    are the ``C*HH*WW`` kernel offsets and channels, plus a last row of ones
    (the bias trick), so that its output is one matrix multiply with the
    ``(F, C*HH*WW + 1)`` matrix ``[w | b]``. To make the unfolding a few long
    copies, the padded image is kept as ``stride * stride`` "stride planes"
    and the outputs are numbered along "wide" rows, so that each kernel offset
    reads one contiguous slice of one plane (see "Stride planes and wide rows"
    below); the few junk outputs this adds at the end of each row are dropped.
    The backward pass unfolds the images again: ``[dw | db]`` adds up
    ``dout @ columns.T`` over the images, and ``dx`` is the transpose-multiply
    ``w.T @ dout`` followed by "col2im", which adds each kernel offset's slice
    back onto the plane it was read from.
    The batch is processed in blocks of a few images whose columns fit in the
    CPU cache, shared out among threads: NumPy releases the GIL while it copies
    and multiplies, so the threads run at the same time. A call uses as many
    threads as ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` or
    ``OMP_NUM_THREADS`` say (the first one set), else one per CPU; setting
    ``OPENBLAS_NUM_THREADS=1`` makes it single-threaded. The helper threads
    are started once and kept for later calls. The results do not depend on
    the number of threads.
    Max pooling loops over the ``pool_height * pool_width`` offsets of the
    window (never over images or pixels), keeping the running maximum and the
    offset it came from; the backward pass routes ``dout`` back through those
    offsets.  No Python loop runs over examples or pixels.
"""
from __future__ import annotations

import functools
import itertools
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple, TypeVar

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
# threads
# --------------------------------------------------------------------------- #
# The variables that also set how many threads NumPy's BLAS uses; the first one set wins.
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
_Buffers = TypeVar("_Buffers")  # whatever one thread of _in_threads works with


def _thread_count() -> int:
    """How many threads one convolution call may use.

    The first of ``_THREAD_VARIABLES`` set to a positive integer (``make test`` and the autograder set them
    to 1), but no more than the CPUs this process may run on; without them, that number of CPUs.
    """
    if hasattr(os, "sched_getaffinity"):  # Linux: the CPUs this process may run on
        cpus = len(os.sched_getaffinity(0))
    else:
        cpus = os.cpu_count() or 1
    for name in _THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return min(int(value), cpus)
    return cpus


def _in_threads(
    new_buffers: Callable[[], _Buffers], work: Callable[[_Buffers, int], None], starts: list[int]
) -> None:
    """Call ``work(buffers, start)`` once for every block start, on up to ``_thread_count()`` threads.

    Each thread makes its own ``buffers = new_buffers()`` once, then takes block starts from a shared
    queue until none is left, so a thread slowed down by other programs simply takes fewer blocks.
    NumPy releases the GIL while it copies and multiplies arrays, so the threads really run at the
    same time. The calling thread works too; an exception in any thread is raised here.
    """
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for start in starts:
        todo.put(start)

    def worker() -> None:
        buffers = new_buffers()
        while True:
            try:
                start = todo.get_nowait()
            except queue.Empty:
                return
            work(buffers, start)

    helpers = min(_thread_count(), len(starts)) - 1
    if helpers <= 0:
        worker()
        return
    pool = _HELPER_THREADS.get(helpers)
    started = [pool.submit(worker) for _ in range(helpers)]
    try:
        worker()
    finally:
        for future in started:
            # A helper that has not started yet (no CPU was free for it) is called off rather than
            # waited for: the queue is empty, there is nothing left for it to do.
            if not future.cancel():
                future.result()


class _HelperThreads:
    """The threads that help ``_in_threads``, started on first use and kept for later calls:
    starting a thread takes about as long as a small convolution."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pool: ThreadPoolExecutor | None = None
        self.size = 0

    def get(self, count: int) -> ThreadPoolExecutor:
        """A pool of at least ``count`` threads."""
        with self.lock:
            if self.pool is None or self.size < count:
                # a smaller pool left behind ends its threads once no call uses it any more
                self.pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="fast_layers")
                self.size = count
            return self.pool

    def forget(self) -> None:
        """In a child process started by fork the parent's threads do not exist: start afresh
        (with a new lock too: one of the parent's threads may have held it)."""
        self.__init__()


_HELPER_THREADS = _HelperThreads()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_HELPER_THREADS.forget)


# --------------------------------------------------------------------------- #
# convolution
# --------------------------------------------------------------------------- #
# Images unfolded per block: about this many bytes of im2col columns, so that a block (and the
# GEMMs reading it) stays in the per-core L2 cache instead of streaming ~10 MB through memory.
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
    Hq: int  # rows of a stride plane
    Wq: int  # columns of a stride plane, and length of a wide output row

    @property
    def K(self) -> int:
        """Rows of the im2col matrix, without the bias row: C*HH*WW."""
        return self.C * self.HH * self.WW

    @property
    def L(self) -> int:
        """Columns of the im2col matrix: H_out wide rows of Wq outputs each."""
        return self.H_out * self.Wq


def _conv_geometry(x_shape: tuple, w_shape: tuple, stride: int, pad: int) -> _ConvGeometry:
    N, C, H, W = x_shape
    F, _, HH, WW = w_shape
    H_out = _output_size(H, HH, stride, pad, "height", "w", "filter height HH = w.shape[2]")
    W_out = _output_size(W, WW, stride, pad, "width", "w", "filter width WW = w.shape[3]")
    Wq = -(-(W + 2 * pad) // stride)  # ceil((W + 2*pad) / stride): room for every padded column
    # room for every padded row, and one spare row for the junk end of the last wide row
    Hq = (HH - 1) // stride + H_out + 1
    return _ConvGeometry(N, C, H, W, F, HH, WW, stride, pad, H_out, W_out, Hq, Wq)


def _block_size(g: _ConvGeometry, dtype: np.dtype) -> int:
    """Images per block: about ``_BLOCK_BYTES`` of im2col columns, at least 1 image, at most the batch."""
    return max(1, min(g.N, _BLOCK_BYTES // ((g.K + 1) * g.L * dtype.itemsize)))


# Stride planes and wide rows
# ---------------------------
# The zero-padded image xpad (H + 2*pad rows, W + 2*pad columns) is stored as stride*stride
# "planes"; plane (py, px) holds the pixels whose row is py and column is px modulo stride:
#
#     plane[py, px][u, v] = xpad[u*stride + py, v*stride + px]          (Hq x Wq each)
#
# (with stride 1 there is one plane: xpad itself, plus a spare row). Output (i, j) reads, under
# kernel offset (kh, kw), the pixel xpad[i*stride + kh, j*stride + kw]
#     = plane[kh % stride, kw % stride][i + kh // stride, j + kw // stride].
# Flatten each plane row by row, and number the outputs q = i*Wq + j along "wide" rows of Wq
# columns instead of W_out: that pixel is then at flat index q + (kh // stride)*Wq + kw // stride.
# So the columns of one kernel offset are ONE contiguous slice of one plane, and im2col / col2im
# take one long vectorised copy per kernel offset. The last Wq - W_out outputs of each wide row
# are junk: the forward pass drops them, the backward pass gives them a zero gradient.
class _Phase(NamedTuple):
    """Unpadded pixels ``x[..., rows, cols]`` are stored at ``plane[py, px][plane_rows, plane_cols]``."""

    py: int
    px: int
    rows: slice
    cols: slice
    plane_rows: slice
    plane_cols: slice


class _Offset(NamedTuple):
    """Kernel offset (kh, kw) reads plane (py, px), flattened, from ``start`` to ``start + L``."""

    kh: int
    kw: int
    py: int
    px: int
    start: int


@functools.lru_cache(maxsize=64)
def _phases(g: _ConvGeometry) -> tuple[_Phase, ...]:
    def along(size: int, phase: int) -> tuple[slice, slice]:
        first = (phase - g.pad) % g.stride  # first unpadded index whose padded index is phase (mod stride)
        count = len(range(first, size, g.stride))
        start = (first + g.pad) // g.stride
        return slice(first, size, g.stride), slice(start, start + count)

    phases = []
    for py in range(g.stride):
        rows, plane_rows = along(g.H, py)
        for px in range(g.stride):
            cols, plane_cols = along(g.W, px)
            phases.append(_Phase(py, px, rows, cols, plane_rows, plane_cols))
    return tuple(phases)


@functools.lru_cache(maxsize=64)
def _offsets(g: _ConvGeometry) -> tuple[_Offset, ...]:
    s = g.stride
    return tuple(
        _Offset(kh, kw, kh % s, kw % s, (kh // s) * g.Wq + kw // s) for kh in range(g.HH) for kw in range(g.WW)
    )


def _to_planes(planes: np.ndarray, images: np.ndarray, g: _ConvGeometry) -> None:
    """Store images (m, C, H, W) into the flattened planes (m, C, stride, stride, Hq*Wq); padding is left alone."""
    planes6 = planes.reshape(len(planes), g.C, g.stride, g.stride, g.Hq, g.Wq)
    for p in _phases(g):
        planes6[:, :, p.py, p.px, p.plane_rows, p.plane_cols] = images[:, :, p.rows, p.cols]


def _from_planes(images: np.ndarray, planes: np.ndarray, g: _ConvGeometry) -> None:
    """Copy the unpadded pixels of planes (stride, stride, m, C, Hq, Wq) into images (m, C, H, W)."""
    for p in _phases(g):
        images[:, :, p.rows, p.cols] = planes[p.py, p.px, :, :, p.plane_rows, p.plane_cols]


class _Im2col:
    """One thread's im2col buffer for blocks of up to ``block`` images.

    ``columns[n, (c, kh, kw), q]`` is the pixel that wide output q reads under kernel offset (kh, kw)
    in channel c; shape (block, K + 1, L), and the last row is all ones (the bias trick).
    """

    def __init__(self, g: _ConvGeometry, dtype: np.dtype, block: int) -> None:
        self.L = g.L
        self.offsets = _offsets(g)
        self.columns = np.empty((block, g.K + 1, g.L), dtype=dtype)
        self.columns[:, g.K] = 1
        self.by_offset = self.columns[:, : g.K].reshape(block, g.C, g.HH, g.WW, g.L)

    def fill(self, planes: np.ndarray) -> np.ndarray:
        """Unfold m <= block images stored as flattened planes (m, C, stride, stride, Hq*Wq).

        Returns the buffer's first m images, shape (m, K + 1, L).
        """
        m = len(planes)
        for o in self.offsets:
            self.by_offset[:m, :, o.kh, o.kw] = planes[:, :, o.py, o.px, o.start : o.start + self.L]
        return self.columns[:m]


class _Col2im:
    """One thread's buffers to add the gradient of the columns back onto the pixels they were read from.

    The caller writes the gradient of the first m images' columns into ``dcolumns[:m]``
    (shape (block, K, L)), then calls ``fold(m)``.
    """

    def __init__(self, g: _ConvGeometry, dtype: np.dtype, block: int) -> None:
        self.g = g
        # offsets[first:stop] are the kernel offsets that read plane (py, px)
        self.offsets = sorted(_offsets(g), key=lambda o: (o.py, o.px))
        self.planes_read = []
        first = 0
        for (py, px), group in itertools.groupby(self.offsets, key=lambda o: (o.py, o.px)):
            stop = first + len(list(group))
            self.planes_read.append((py, px, first, stop))
            first = stop
        self.dcolumns = np.empty((block, g.K, g.L), dtype=dtype)
        self.by_offset = self.dcolumns.reshape(block, g.C, g.HH, g.WW, g.L)
        # shifted[k]: what kernel offset k adds to its plane; zero where it adds nothing
        self.shifted = np.zeros((len(self.offsets), block, g.C, g.Hq * g.Wq), dtype=dtype)
        # zero to start with: a plane that no kernel offset reads (stride > filter) gets no gradient
        self.dplanes = np.zeros((g.stride, g.stride, block, g.C, g.Hq, g.Wq), dtype=dtype)

    def fold(self, m: int) -> np.ndarray:
        """Returns the gradient of the first m images' planes, a (stride, stride, m, C, Hq, Wq) view."""
        L = self.g.L
        # A pixel is read by several kernel offsets: += of all of them at once would keep only one
        # update. So each offset's gradient is copied, shifted, into a plane of its own, then the
        # planes of the offsets that read the same stride plane are summed.
        for k, o in enumerate(self.offsets):
            self.shifted[k, :m, :, o.start : o.start + L] = self.by_offset[:m, :, o.kh, o.kw]
        dplanes = self.dplanes[:, :, :m]
        for py, px, first, stop in self.planes_read:
            self.shifted[first:stop, :m].sum(axis=0, out=dplanes[py, px].reshape(m, self.g.C, -1))
        return dplanes


class _ConvCache(NamedTuple):
    planes: np.ndarray  # (N, C, stride, stride, Hq*Wq): x zero-padded, in the compute dtype, as stride planes
    wb: np.ndarray  # (F, K + 1): filters flattened, bias as last column
    geometry: _ConvGeometry
    x_dtype: np.dtype
    w_dtype: np.dtype
    b_dtype: np.dtype


class _ForwardBuffers(NamedTuple):
    """One thread's buffers for the forward pass."""

    im2col: _Im2col
    out: np.ndarray  # (block, F, H_out, Wq): the output on wide rows, junk included


class _BackwardBuffers(NamedTuple):
    """One thread's buffers for the backward pass."""

    im2col: _Im2col
    col2im: _Col2im
    dout: np.ndarray  # (block, F, H_out, Wq): dout on wide rows, zero in the junk columns
    per_image: np.ndarray  # (block, F, K + 1): [dw | db] of each image of a block


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
    dtype = np.result_type(x.dtype, w.dtype, b.dtype)
    wb = np.empty((g.F, g.K + 1), dtype=dtype)
    wb[:, : g.K] = w.reshape(g.F, g.K)
    wb[:, g.K] = b
    # A private copy of x, stored as stride planes block by block below: the backward pass unfolds
    # it again, whatever the caller does to x meanwhile.
    planes = np.empty((g.N, g.C, stride, stride, g.Hq * g.Wq), dtype=dtype)
    out = np.empty((g.N, g.F, g.H_out, g.W_out), dtype=dtype)
    block = _block_size(g, dtype)

    def forward_block(buffers: _ForwardBuffers, start: int) -> None:
        stop = start + block  # past N for a last, partial block: slicing stops at N
        planes[start:stop] = 0  # the padding
        _to_planes(planes[start:stop], x[start:stop], g)
        columns = buffers.im2col.fill(planes[start:stop])
        m = len(columns)
        # one (F, K + 1) @ (K + 1, L) product per image, then the junk end of each wide row is dropped
        np.matmul(wb, columns, out=buffers.out[:m].reshape(m, g.F, g.L))
        out[start:stop] = buffers.out[:m, :, :, : g.W_out]

    def new_buffers() -> _ForwardBuffers:
        return _ForwardBuffers(_Im2col(g, dtype, block), np.empty((block, g.F, g.H_out, g.Wq), dtype=dtype))

    _in_threads(new_buffers, forward_block, list(range(0, g.N, block)))
    return out, _ConvCache(planes, wb, g, x.dtype, w.dtype, b.dtype)


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

    dtype = cache.wb.dtype
    w_t = cache.wb[:, : g.K].T  # (K, F)
    block = _block_size(g, dtype)
    starts = list(range(0, g.N, block))
    # [dw | db] of each block, added up in block order at the end: the result does not depend on
    # which thread did which block
    block_dwb = np.empty((len(starts), g.F, g.K + 1), dtype=dtype)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=dtype)  # every pixel lies on one plane: all are written

    def backward_block(buffers: _BackwardBuffers, start: int) -> None:
        stop = start + block
        columns = buffers.im2col.fill(cache.planes[start:stop])
        m = len(columns)
        buffers.dout[:m, :, :, : g.W_out] = dout[start:stop]  # the junk columns stay zero
        dout_wide = buffers.dout[:m].reshape(m, g.F, g.L)
        # [dw | db] = dout @ columns.T, image by image, added up over the block
        np.matmul(dout_wide, columns.transpose(0, 2, 1), out=buffers.per_image[:m])
        buffers.per_image[:m].sum(axis=0, out=block_dwb[start // block])
        # the columns' gradient w.T @ dout, added back onto the pixels the columns were read from
        np.matmul(w_t, dout_wide, out=buffers.col2im.dcolumns[:m])
        _from_planes(dx[start:stop], buffers.col2im.fold(m), g)

    def new_buffers() -> _BackwardBuffers:
        return _BackwardBuffers(
            _Im2col(g, dtype, block),
            _Col2im(g, dtype, block),
            np.zeros((block, g.F, g.H_out, g.Wq), dtype=dtype),
            np.empty((block, g.F, g.K + 1), dtype=dtype),
        )

    _in_threads(new_buffers, backward_block, starts)
    dwb = block_dwb.sum(axis=0)  # [dw | db]
    dw = dwb[:, : g.K].reshape(g.F, g.C, g.HH, g.WW).astype(cache.w_dtype, copy=True)
    db = dwb[:, g.K].astype(cache.b_dtype, copy=True)
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
