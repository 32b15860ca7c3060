"""Reference features and classifiers for ``bench/dataset_ladder.py``.

Plain NumPy implementations of the models a student builds during the course,
used only to check that the embedded dataset has CIFAR-10's difficulty
ladder. They are deliberately simple and are not handed to students.

Everything works on float32 arrays; images come in as uint8 (N, 32, 32, 3).
"""
from __future__ import annotations

import time

import numpy as np

from course_utils.fast_layers import (
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)

F32 = np.float32


# --------------------------------------------------------------------------
# Hand-crafted features
# --------------------------------------------------------------------------

def hog_features(X: np.ndarray, cell: int = 8, bins: int = 9, batch: int = 5000) -> np.ndarray:
    """Histogram of oriented gradients, one vector per image.

    Grey-scale image, centred differences, unsigned orientation (0-180
    degrees) in ``bins`` bins; each pixel votes with its gradient magnitude
    into the bin of its orientation; votes are summed over non-overlapping
    ``cell`` x ``cell`` cells. (N, 32, 32, 3) uint8 -> (N, (32/cell)^2 * bins).
    """
    N, H, W, _ = X.shape
    ch, cw = H // cell, W // cell
    out = np.empty((N, ch * cw * bins), F32)
    for s in range(0, N, batch):
        x = X[s:s + batch].astype(F32)
        grey = x[..., 0] * F32(0.299) + x[..., 1] * F32(0.587) + x[..., 2] * F32(0.114)
        gx = np.zeros_like(grey)
        gy = np.zeros_like(grey)
        gx[:, :, 1:-1] = grey[:, :, 2:] - grey[:, :, :-2]
        gy[:, 1:-1, :] = grey[:, 2:, :] - grey[:, :-2, :]
        mag = np.sqrt(gx * gx + gy * gy)
        ang = np.rad2deg(np.arctan2(gy, gx)) % F32(180.0)
        b = np.minimum((ang * F32(bins / 180.0)).astype(np.int64), bins - 1)
        hist = np.zeros((x.shape[0], ch, cw, bins), F32)
        # cell index of every pixel, then one scatter-add per image batch
        cell_r = (np.arange(H) // cell)[None, :, None]
        cell_c = (np.arange(W) // cell)[None, None, :]
        flat = ((np.arange(x.shape[0])[:, None, None] * ch + cell_r) * cw + cell_c) * bins + b
        np.add.at(hist.reshape(-1), flat.reshape(-1), mag.reshape(-1))
        out[s:s + batch] = hist.reshape(x.shape[0], -1) / F32(cell * cell)
    return out


def rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    """float RGB in [0, 1], (..., 3) -> HSV in [0, 1], (..., 3)."""
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(-1)
    mn = x.min(-1)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1)
    h = np.where(mx == r, (g - b) / safe % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = np.where(delta > 0, h / 6, 0)
    s = np.where(mx > 0, delta / np.where(mx > 0, mx, 1), 0)
    return np.stack([h, s, mx], -1).astype(F32)


def colour_histogram_features(X: np.ndarray, bins: int = 10, batch: int = 5000) -> np.ndarray:
    """Normalised histogram of the hue of every pixel (as in the course's
    colour-histogram exercise): (N, 32, 32, 3) uint8 -> (N, bins)."""
    N = X.shape[0]
    out = np.empty((N, bins), F32)
    for s in range(0, N, batch):
        hsv = rgb_to_hsv(X[s:s + batch].astype(F32) / F32(255.0))
        hb = np.minimum((hsv[..., 0] * bins).astype(np.int64), bins - 1).reshape(hsv.shape[0], -1)
        n = hb.shape[0]
        counts = np.bincount((hb + np.arange(n)[:, None] * bins).ravel(), minlength=n * bins)
        out[s:s + batch] = counts.reshape(n, bins) / F32(hb.shape[1])
    return out


class Standardiser:
    """Subtract the training mean and divide by the training std, per column."""

    def fit(self, X):
        self.mean = X.mean(0)
        self.std = X.std(0) + F32(1e-6)
        return self

    def __call__(self, X):
        return ((X - self.mean) / self.std).astype(F32)


# --------------------------------------------------------------------------
# Loss and optimisers
# --------------------------------------------------------------------------

def softmax_loss(scores: np.ndarray, y: np.ndarray):
    """Mean cross-entropy and its gradient with respect to the scores."""
    shifted = scores - scores.max(1, keepdims=True)
    e = np.exp(shifted)
    p = e / e.sum(1, keepdims=True)
    n = scores.shape[0]
    loss = -np.log(p[np.arange(n), y] + 1e-12).mean()
    p[np.arange(n), y] -= 1
    return float(loss), (p / n).astype(F32)


class Adam:
    def __init__(self, params: dict, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict, grads: dict):
        self.t += 1
        c1 = 1 - self.b1 ** self.t
        c2 = 1 - self.b2 ** self.t
        for k in params:
            g = grads[k]
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            params[k] -= (self.lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps)).astype(F32)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def add_bias_column(X: np.ndarray) -> np.ndarray:
    """The bias trick: append a column of ones."""
    return np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])


class SoftmaxClassifier:
    """Linear softmax classifier on rows of X (bias trick included by the
    caller), trained with minibatch SGD and L2 regularisation."""

    def __init__(self, dim: int, num_classes: int = 10, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.W = (0.001 * rng.standard_normal((dim, num_classes))).astype(F32)
        self.rng = rng

    def train(self, X, y, lr=1e-3, reg=1e-4, num_iters=1500, batch_size=200, decay_every=500, decay=0.5):
        for it in range(num_iters):
            idx = self.rng.integers(0, X.shape[0], batch_size)
            xb, yb = X[idx], y[idx]
            _, dscores = softmax_loss(xb @ self.W, yb)
            grad = xb.T @ dscores + F32(2 * reg) * self.W
            self.W -= F32(lr) * grad
            if decay_every and (it + 1) % decay_every == 0:
                lr *= decay
        return self

    def predict(self, X):
        return np.argmax(X @ self.W, 1)


class TwoLayerNet:
    """affine - ReLU - affine - softmax, trained with SGD + momentum."""

    def __init__(self, dim, hidden, num_classes=10, seed=0):
        rng = np.random.default_rng(seed)
        self.p = {
            "W1": (rng.standard_normal((dim, hidden)) * np.sqrt(2.0 / dim)).astype(F32),
            "b1": np.zeros(hidden, F32),
            "W2": (rng.standard_normal((hidden, num_classes)) * np.sqrt(1.0 / hidden)).astype(F32),
            "b2": np.zeros(num_classes, F32),
        }
        self.rng = rng

    def loss(self, X, y, reg):
        p = self.p
        h = np.maximum(X @ p["W1"] + p["b1"], 0)
        scores = h @ p["W2"] + p["b2"]
        loss, ds = softmax_loss(scores, y)
        g = {"W2": h.T @ ds + F32(2 * reg) * p["W2"], "b2": ds.sum(0)}
        dh = ds @ p["W2"].T
        dh[h <= 0] = 0
        g["W1"] = X.T @ dh + F32(2 * reg) * p["W1"]
        g["b1"] = dh.sum(0)
        return loss, g

    def train(self, X, y, lr=0.1, reg=1e-4, epochs=10, batch_size=200, momentum=0.9, decay=0.9):
        vel = {k: np.zeros_like(v) for k, v in self.p.items()}
        n = X.shape[0]
        for _ in range(epochs):
            order = self.rng.permutation(n)
            for s in range(0, n - batch_size + 1, batch_size):
                idx = order[s:s + batch_size]
                _, g = self.loss(X[idx], y[idx], reg)
                for k in self.p:
                    vel[k] = F32(momentum) * vel[k] - F32(lr) * g[k]
                    self.p[k] += vel[k]
            lr *= decay
        return self

    def predict(self, X, batch=5000):
        p = self.p
        out = []
        for s in range(0, X.shape[0], batch):
            h = np.maximum(X[s:s + batch] @ p["W1"] + p["b1"], 0)
            out.append(np.argmax(h @ p["W2"] + p["b2"], 1))
        return np.concatenate(out)


class SmallConvNet:
    """conv3x3(F1) - ReLU - pool2 - conv3x3(F2) - ReLU - pool2 - affine(H) - ReLU - affine(10).

    Input (N, 3, 32, 32) float32. Uses course_utils.fast_layers for the
    convolutions and poolings; trained with Adam.
    """

    def __init__(self, f1=16, f2=32, hidden=128, num_classes=10, seed=0):
        rng = np.random.default_rng(seed)

        def he(shape, fan_in):
            return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(F32)

        self.p = {
            "W1": he((f1, 3, 3, 3), 27), "b1": np.zeros(f1, F32),
            "W2": he((f2, f1, 3, 3), f1 * 9), "b2": np.zeros(f2, F32),
            "W3": he((f2 * 64, hidden), f2 * 64), "b3": np.zeros(hidden, F32),
            "W4": (rng.standard_normal((hidden, num_classes)) * np.sqrt(1.0 / hidden)).astype(F32),
            "b4": np.zeros(num_classes, F32),
        }
        self.rng = rng

    def scores(self, x, keep=False):
        p = self.p
        a1, c1 = conv_forward_fast(x, p["W1"], p["b1"], 1, 1)
        r1 = np.maximum(a1, 0)
        m1, cp1 = max_pool_forward_fast(r1, 2, 2, 2)
        a2, c2 = conv_forward_fast(m1, p["W2"], p["b2"], 1, 1)
        r2 = np.maximum(a2, 0)
        m2, cp2 = max_pool_forward_fast(r2, 2, 2, 2)
        flat = m2.reshape(x.shape[0], -1)
        h = np.maximum(flat @ p["W3"] + p["b3"], 0)
        s = h @ p["W4"] + p["b4"]
        if not keep:
            return s
        return s, (c1, r1, cp1, c2, r2, cp2, m2.shape, flat, h)

    def loss(self, x, y, reg):
        p = self.p
        s, (c1, r1, cp1, c2, r2, cp2, m2_shape, flat, h) = self.scores(x, keep=True)
        loss, ds = softmax_loss(s, y)
        g = {"W4": h.T @ ds, "b4": ds.sum(0)}
        dh = ds @ p["W4"].T
        dh[h <= 0] = 0
        g["W3"] = flat.T @ dh
        g["b3"] = dh.sum(0)
        dm2 = (dh @ p["W3"].T).reshape(m2_shape)
        dr2 = max_pool_backward_fast(dm2, cp2)
        dr2[r2 <= 0] = 0
        dm1, g["W2"], g["b2"] = conv_backward_fast(dr2, c2)
        dr1 = max_pool_backward_fast(dm1, cp1)
        dr1[r1 <= 0] = 0
        _, g["W1"], g["b1"] = conv_backward_fast(dr1, c1)
        for k in ("W1", "W2", "W3", "W4"):
            g[k] = g[k] + F32(2 * reg) * p[k]
        return loss, g

    def train(self, x, y, lr=1e-3, reg=1e-4, epochs=2, batch_size=64, time_limit=None, decay=0.5, log=None):
        opt = Adam(self.p, lr=lr)
        n = x.shape[0]
        start = time.perf_counter()
        for epoch in range(epochs):
            order = self.rng.permutation(n)
            for s in range(0, n - batch_size + 1, batch_size):
                idx = np.sort(order[s:s + batch_size])
                loss, g = self.loss(x[idx], y[idx], reg)
                opt.step(self.p, g)
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    return self
            opt.lr *= decay
            if log:
                log(f"    epoch {epoch + 1}/{epochs}: last batch loss {loss:.3f}, {time.perf_counter() - start:.0f} s")
        return self

    def predict(self, x, batch=500):
        return np.concatenate([np.argmax(self.scores(x[s:s + batch]), 1) for s in range(0, x.shape[0], batch)])
