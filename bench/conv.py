"""Time course_utils.fast_layers against PyTorch on the CPU, in one run.

For each case and dtype it times the forward pass and the backward pass of our
NumPy layers and of ``torch.nn.functional`` (conv2d / max_pool2d with autograd),
checks the two agree, and prints ``ours / torch`` ratios of the median times
(lower is better; 1.0 means as fast as PyTorch). The measurements of a case are
interleaved, ours and PyTorch's in turn, round after round, so that a load that
comes and goes on a shared machine slows both sides alike; each side's calls
are timed after it has run for a moment on its own (``--settle``, see
``median_seconds``). Both sides get the same number of threads (printed first),
and each line says how many CPUs other programs kept busy meanwhile, on average
(Linux only): a result measured beside a busy program says less about a quiet
machine.

Goals (DESIGN.md; issues 3 and 15): convolution forward+backward within 1.2x of
PyTorch, max pooling within 3x. Without PyTorch it prints our own timings only.

Usage::

    .venv/bin/python bench/conv.py [--repeats 30] [--threads N] [--settle 0.02]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable

# The variables that set NumPy's BLAS threads, our thread pool and PyTorch's threads.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per case (default 30)")
    parser.add_argument("--settle", type=float, default=0.02,
                        help="seconds each side runs untimed before each timed call (default 0.02; see median_seconds)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both sides: NumPy's BLAS, our thread pool and PyTorch (default: what "
                             f"{' / '.join(THREAD_VARIABLES)} say, else every CPU this process may use)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse_args()
    if ARGS.threads:
        # set before NumPy is imported: its BLAS reads them once, when it loads
        for variable in THREAD_VARIABLES:
            os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from course_utils import fast_layers  # noqa: E402
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


def median_seconds(groups: list[list[Callable[[], object]]], repeats: int, settle: float) -> list[list[float]]:
    """Median wall-clock seconds of each function of each group, over ``repeats`` interleaved rounds.

    A group holds one library's calls (ours, or PyTorch's). In each round every group runs untimed,
    over and over, for ``settle`` seconds, and then once timed. PyTorch's OpenMP threads keep a CPU
    busy for several milliseconds after each call (they spin, waiting for more work): timing our
    calls right after PyTorch's would measure them beside those threads, and the other way round.
    After ``settle`` seconds of its own calls, each side is timed as in a training loop that calls
    it over and over, with its own threads awake.
    """
    times = [[[] for _ in group] for group in groups]
    for _ in range(repeats):
        for group, spent in zip(groups, times):
            until = time.perf_counter() + settle
            while time.perf_counter() < until:
                for fn in group:
                    fn()
            for fn, fn_spent in zip(group, spent):
                start = time.perf_counter()
                fn()
                fn_spent.append(time.perf_counter() - start)
    return [[statistics.median(fn_spent) for fn_spent in spent] for spent in times]


class OtherLoad:
    """CPUs kept busy by other programs between :meth:`start` and :meth:`stop`, on average (Linux /proc/stat)."""

    def start(self) -> None:
        self.busy, self.own, self.wall = self._busy(), self._own(), time.perf_counter()

    def stop(self) -> float | None:
        busy = self._busy()
        if busy is None or self.busy is None:
            return None
        others = (busy - self.busy) - (self._own() - self.own)
        return max(0.0, others / (time.perf_counter() - self.wall))

    @staticmethod
    def _busy() -> float | None:
        """CPU seconds spent by every program since boot, or None without /proc/stat."""
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:9]]
        except OSError:
            return None
        idle = fields[3] + fields[4]  # idle + iowait
        return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        times = os.times()
        return times.user + times.system


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


def main(args: argparse.Namespace) -> int:
    threads = fast_layers._thread_count()  # what a convolution call of ours uses
    if torch is not None:
        torch.set_num_threads(threads)
    settings = ", ".join(f"{v}={os.environ[v]}" for v in THREAD_VARIABLES if v in os.environ)
    settings = settings or "no thread variables set"
    print(f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"threads: ours {threads} (our thread pool; NumPy's BLAS reads the same variables), "
          f"torch {torch.get_num_threads() if torch else '-'} ({settings})")
    header = f"{'case':44s} {'dtype':7s} {'ours fwd':>8s} {'ours bwd':>8s}"
    if torch:
        header += f" {'torch fwd':>9s} {'torch bwd':>9s} {'fwd x':>6s} {'bwd x':>6s} {'f+b x':>6s}"
    print(header + f" {'others':>6s}   (times in ms; x = ours / torch; others = CPUs busy with other programs)")
    worst = {"conv": 0.0, "pool": 0.0}
    rng = np.random.default_rng(0)
    for name, x_shape, w_shape, stride, pad in CASES:
        for dtype in (np.float64, np.float32):
            x = rng.standard_normal(x_shape).astype(dtype)
            w = None if w_shape is None else rng.standard_normal(w_shape).astype(dtype)
            fwd, bwd, (out, dx), dout = ours(x, w, stride, pad, lambda s: rng.standard_normal(s).astype(dtype))
            groups = [[fwd, bwd]]
            if torch:
                tfwd, tbwd, (tout, tdx) = theirs(x, w, stride, pad, dout)
                tol = 1e-9 if dtype == np.float64 else 1e-3
                if not (np.allclose(out, tout, rtol=tol, atol=tol) and np.allclose(dx, tdx, rtol=tol, atol=tol)):
                    print(f"MISMATCH with PyTorch on {name} {np.dtype(dtype).name}")
                    return 1
                groups.append([tfwd, tbwd])
            load = OtherLoad()
            load.start()
            (t_fwd, t_bwd), *theirs_times = median_seconds(groups, args.repeats, args.settle)
            others = load.stop()
            line = f"{name:44s} {np.dtype(dtype).name:7s} {1e3 * t_fwd:8.2f} {1e3 * t_bwd:8.2f}"
            if torch:
                p_fwd, p_bwd = theirs_times[0]
                total = (t_fwd + t_bwd) / (p_fwd + p_bwd)
                kind = "pool" if w is None else "conv"
                worst[kind] = max(worst[kind], total)
                line += (f" {1e3 * p_fwd:9.2f} {1e3 * p_bwd:9.2f} {t_fwd / p_fwd:6.2f} {t_bwd / p_bwd:6.2f}"
                         f" {total:6.2f}")
            print(line + (f" {others:6.1f}" if others is not None else f" {'n/a':>6s}"))
    if torch:
        print(f"\nworst forward+backward ratio: conv {worst['conv']:.2f}x (goal <= 1.2x), "
              f"pool {worst['pool']:.2f}x (goal <= 3x)")
    print(f"after the run: load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
