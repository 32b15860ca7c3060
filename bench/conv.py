"""Time course_utils.fast_layers against PyTorch on the CPU, in one run.

For each case and dtype it times the forward pass and the backward pass of our
NumPy layers and of ``torch.nn.functional`` (conv2d / max_pool2d with autograd),
checks the two agree, and prints ``ours / torch`` ratios of the median times
(lower is better; 1.0 means as fast as PyTorch). The four measurements of a case
are interleaved, one call of each per round, so that a load that comes and goes
on a shared machine slows both sides alike; the load average is printed before
and after.

Goals (DESIGN.md; issues 3 and 15): convolution forward+backward within 1.2x of
PyTorch, max pooling within 3x. Without PyTorch it prints our own timings only.

Usage::

    .venv/bin/python bench/conv.py [--repeats 15] [--threads N]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from course_utils.fast_layers import (conv_backward_fast, conv_forward_fast,  # noqa: E402
                                      max_pool_backward_fast, max_pool_forward_fast)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the optional extra is not installed
    torch = None

# name, x shape, w shape (None for pooling), stride, pad
CASES = [
    ("conv 3x3 s1 p1, x(50,3,32,32) w(25,3,3,3)", (50, 3, 32, 32), (25, 3, 3, 3), 1, 1),
    ("conv 3x3 s2 p1, x(100,3,31,31) w(25,3,3,3)", (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
    ("max-pool 2x2 s2, x(100,3,32,32)", (100, 3, 32, 32), None, 2, 0),
]


def median_seconds(fns: list[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall-clock seconds of each ``fn()`` over ``repeats`` interleaved rounds, after one warm-up."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, spent in zip(fns, times):
            start = time.perf_counter()
            fn()
            spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def load_average() -> str:
    """The 1-minute load average and the CPU count, e.g. ``load 1.95 on 2 CPUs``."""
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"


def ours(x, w, stride, pad, dout_shape_rng):
    """Return (forward, backward, outputs) closures for our layers."""
    if w is None:
        out, cache = max_pool_forward_fast(x, pool_height=2, pool_width=2, stride=stride)
        dout = dout_shape_rng(out.shape)
        return (lambda: max_pool_forward_fast(x, pool_height=2, pool_width=2, stride=stride),
                lambda: max_pool_backward_fast(dout, cache), (out, max_pool_backward_fast(dout, cache)), dout)
    b = np.zeros(w.shape[0], dtype=w.dtype)
    out, cache = conv_forward_fast(x, w, b, stride=stride, pad=pad)
    dout = dout_shape_rng(out.shape)
    return (lambda: conv_forward_fast(x, w, b, stride=stride, pad=pad),
            lambda: conv_backward_fast(dout, cache), (out, conv_backward_fast(dout, cache)[0]), dout)


def theirs(x, w, stride, pad, dout):
    """Return (forward, backward, outputs) closures for PyTorch with autograd."""
    xt = torch.from_numpy(x).requires_grad_(True)
    if w is None:
        def forward():
            return F.max_pool2d(xt, kernel_size=2, stride=stride)
    else:
        wt = torch.from_numpy(w).requires_grad_(True)
        bt = torch.zeros(w.shape[0], dtype=wt.dtype, requires_grad=True)

        def forward():
            return F.conv2d(xt, wt, bt, stride=stride, padding=pad)
    dout_t = torch.from_numpy(dout)
    out = forward()

    def backward():
        # retain_graph lets the same graph be differentiated on every repeat.
        torch.autograd.grad(out, [xt] + ([] if w is None else [wt, bt]), dout_t, retain_graph=True)

    def no_grad_forward():
        with torch.no_grad():
            return forward()
    dx = torch.autograd.grad(out, [xt], dout_t, retain_graph=True)[0]
    return no_grad_forward, backward, (out.detach().numpy(), dx.numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds per case (default 15)")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch intra-op threads (default: PyTorch's own choice)")
    args = parser.parse_args(argv)
    if torch is not None and args.threads:
        torch.set_num_threads(args.threads)
    print(f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'}"
          f"{f' ({torch.get_num_threads()} threads)' if torch else ''}; {load_average()}")
    header = f"{'case':46s} {'dtype':8s} {'ours fwd':>9s} {'ours bwd':>9s}"
    if torch:
        header += f" {'torch fwd':>9s} {'torch bwd':>9s} {'fwd x':>6s} {'bwd x':>6s} {'f+b x':>6s}"
    print(header + "   (times in ms; x = ours / torch)")
    worst = {"conv": 0.0, "pool": 0.0}
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, stride, pad in CASES:
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal(x_shape).astype(dtype)
            w = None if w_shape is None else rng.standard_normal(w_shape).astype(dtype)
            fwd, bwd, (out, dx), dout = ours(x, w, stride, pad, lambda s: rng.standard_normal(s).astype(dtype))
            fns = [fwd, bwd]
            if torch:
                tfwd, tbwd, (tout, tdx) = theirs(x, w, stride, pad, dout)
                tol = 1e-9 if dtype == np.float64 else 1e-3
                if not (np.allclose(out, tout, rtol=tol, atol=tol) and np.allclose(dx, tdx, rtol=tol, atol=tol)):
                    print(f"MISMATCH with PyTorch on {name} {np.dtype(dtype).name}")
                    return 1
                fns += [tfwd, tbwd]
            t_fwd, t_bwd, *theirs_times = median_seconds(fns, args.repeats)
            line = f"{name:46s} {np.dtype(dtype).name:8s} {1e3 * t_fwd:9.2f} {1e3 * t_bwd:9.2f}"
            if torch:
                p_fwd, p_bwd = theirs_times
                total = (t_fwd + t_bwd) / (p_fwd + p_bwd)
                kind = "pool" if w is None else "conv"
                worst[kind] = max(worst[kind], total)
                line += (f" {1e3 * p_fwd:9.2f} {1e3 * p_bwd:9.2f} {t_fwd / p_fwd:6.2f} {t_bwd / p_bwd:6.2f}"
                         f" {total:6.2f}")
            print(line)
    if torch:
        print(f"\nworst forward+backward ratio: conv {worst['conv']:.2f}x (goal <= 1.2x), "
              f"pool {worst['pool']:.2f}x (goal <= 3x)")
    print(f"after the run: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
