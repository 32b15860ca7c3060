"""Specs of a3 / 06_normalization_dropout: batch normalisation, layer normalisation and dropout."""
from __future__ import annotations

import numpy as np

from autograder.specs import Case, Spec, companion

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec] = []

# --- batch normalisation, forward ----------------------------------------------------------
# A case is a sequence of calls on one layer: (batches, gamma, beta, state, modes). The run feeds
# the batches one after the other through the same state dict, so running averages accumulate.


def _columns(rng, n, d, spread=3.0):
    """(n, d) data whose columns have different means and scales."""
    return rng.normal(size=d) * spread + rng.normal(size=(n, d)) * rng.uniform(0.2, 4.0, size=d)


def _batchnorm_cases(rng):
    d = 5
    yield Case("train, default state", ([_columns(rng, 8, d)], rng.normal(size=d), rng.normal(size=d), {}, ["train"]))
    yield Case("train, given running averages, momentum 0.5, eps 1e-3",
               ([_columns(rng, 6, 3)], rng.normal(size=3), rng.normal(size=3),
                {"running_mean": rng.normal(size=3), "running_var": rng.uniform(0.5, 2.0, size=3),
                 "momentum": 0.5, "eps": 1e-3}, ["train"]))
    yield Case("three training batches, then test",
               ([_columns(rng, 10, 4) for _ in range(3)] + [_columns(rng, 4, 4)], rng.normal(size=4),
                rng.normal(size=4), {}, ["train", "train", "train", "test"]))
    yield Case("test mode, one example",
               ([rng.normal(size=(1, 6))], rng.normal(size=6), rng.normal(size=6),
                {"running_mean": rng.normal(size=6), "running_var": rng.uniform(0.1, 3.0, size=6)}, ["test"]))
    yield Case("train, two examples, one feature", ([_columns(rng, 2, 1)], np.array([1.5]), np.array([-0.5]), {},
                                                    ["train"]))
    yield Case("train, a constant column (variance 0)",
               ([np.c_[np.full(5, 2.0), rng.normal(size=5)]], np.ones(2), np.zeros(2), {}, ["train"]))


def _run_batchnorm(fn, case):
    batches, gamma, beta, state, modes = case.args
    outs = []
    for x, mode in zip(batches, modes):
        out, _ = fn(x, gamma, beta, state, mode)
        outs.append(np.asarray(out, dtype=float))
    return (np.concatenate(outs), np.asarray(state["running_mean"], dtype=float),
            np.asarray(state["running_var"], dtype=float))


SPECS.append(Spec("batchnorm_forward", cases=_batchnorm_cases, run=_run_batchnorm, vectorised=True,
                  outputs=("out (all calls)", "state['running_mean']", "state['running_var']"),
                  rtol=1e-7, atol=1e-10))

# --- backward passes -----------------------------------------------------------------------


def _norm_backward_cases(rng):
    yield Case("typical", (_columns(rng, 8, 5), rng.normal(size=5), rng.normal(size=5), rng.normal(size=(8, 5))))
    yield Case("two examples", (_columns(rng, 2, 3), rng.normal(size=3), rng.normal(size=3), rng.normal(size=(2, 3))))
    yield Case("one feature", (_columns(rng, 6, 1), rng.normal(size=1), rng.normal(size=1), rng.normal(size=(6, 1))))
    yield Case("large activations", (100.0 * _columns(rng, 12, 4), rng.normal(size=4), rng.normal(size=4),
                                     rng.normal(size=(12, 4))))
    yield Case("dout = 1 (dx vanishes)", (_columns(rng, 5, 4), rng.normal(size=4), rng.normal(size=4), np.ones((5, 4))))


def _run_batchnorm_backward(fn, case):
    x, gamma, beta, dout = case.args
    _, cache = companion(fn, "batchnorm_forward")(x, gamma, beta, {}, "train")
    return fn(dout, cache)


for _name in ("batchnorm_backward_graph", "batchnorm_backward_simple"):
    SPECS.append(Spec(_name, cases=_norm_backward_cases, run=_run_batchnorm_backward, vectorised=True,
                      outputs=("dx", "dgamma", "dbeta"), rtol=1e-6, atol=1e-9))

# --- layer normalisation -------------------------------------------------------------------


def _rows(rng, n, d):
    """(n, d) data whose rows have different means and scales."""
    return rng.normal(size=(n, 1)) * 3.0 + rng.normal(size=(n, d)) * rng.uniform(0.2, 4.0, size=(n, 1))


def _layernorm_cases(rng):
    yield Case("typical", (_rows(rng, 4, 7), rng.normal(size=7), rng.normal(size=7), rng.normal(size=(4, 7))))
    yield Case("one example", (_rows(rng, 1, 6), rng.normal(size=6), rng.normal(size=6), rng.normal(size=(1, 6))))
    yield Case("two features", (_rows(rng, 5, 2), rng.normal(size=2), rng.normal(size=2), rng.normal(size=(5, 2))))
    yield Case("eps = 0.1", (_rows(rng, 3, 5), rng.normal(size=5), rng.normal(size=5), rng.normal(size=(3, 5))),
               {"eps": 0.1})
    yield Case("a constant row (variance 0)", (np.r_[np.full((1, 4), -1.0), rng.normal(size=(2, 4))],
                                               rng.normal(size=4), rng.normal(size=4), rng.normal(size=(3, 4))))


def _run_layernorm_forward(fn, case):
    return fn(*case.args[:3], **case.kwargs)[0]


def _run_layernorm_backward(fn, case):
    _, cache = companion(fn, "layernorm_forward")(*case.args[:3], **case.kwargs)
    return fn(case.args[3], cache)


SPECS.append(Spec("layernorm_forward", cases=_layernorm_cases, run=_run_layernorm_forward, vectorised=True,
                  outputs=("out",), rtol=1e-7, atol=1e-10))
SPECS.append(Spec("layernorm_backward", cases=_layernorm_cases, run=_run_layernorm_backward, vectorised=True,
                  outputs=("dx", "dgamma", "dbeta"), rtol=1e-6, atol=1e-9))

# --- dropout -------------------------------------------------------------------------------
# The notebook fixes how the mask is drawn (from np.random.default_rng(seed)), so masks agree.


def _dropout_cases(rng):
    seed = int(rng.integers(1 << 30))
    yield Case("train, p = 0.5", (rng.normal(size=(20, 30)), 0.5, "train"), {"seed": seed})
    yield Case("train, p = 0.2, 4-d input", (rng.normal(size=(3, 4, 5, 6)), 0.2, "train"), {"seed": seed + 1})
    yield Case("train, p = 0.9", (rng.normal(size=(50, 10)), 0.9, "train"), {"seed": seed + 2})
    yield Case("train, p = 0 (keep everything)", (rng.normal(size=(6, 7)), 0.0, "train"), {"seed": seed + 3})
    yield Case("test mode", (rng.normal(size=(8, 9)), 0.5, "test"), {"seed": seed + 4})


def _run_dropout_forward(fn, case):
    return fn(*case.args, **case.kwargs)[0]


def _run_dropout_backward(fn, case):
    x = case.args[0]
    _, cache = companion(fn, "dropout_forward")(*case.args, **case.kwargs)
    dout = np.cos(np.arange(x.size, dtype=float)).reshape(x.shape)  # a fixed, non-constant upstream gradient
    return fn(dout, cache)


SPECS.append(Spec("dropout_forward", cases=_dropout_cases, run=_run_dropout_forward, vectorised=True,
                  outputs=("out",), rtol=1e-12, atol=1e-12))
SPECS.append(Spec("dropout_backward", cases=_dropout_cases, run=_run_dropout_backward, vectorised=True,
                  outputs=("dx",), rtol=1e-12, atol=1e-12))
