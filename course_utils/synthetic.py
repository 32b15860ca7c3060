"""The embedded dataset: procedurally generated 32x32 colour images.

This is the offline stand-in for CIFAR-10. It needs no download, is generated
in a few seconds, and has the same arrays and API shape as CIFAR-10: uint8
images of shape (N, 32, 32, 3), int64 labels in [0, 10), 50,000 training and
10,000 test images by default, every class equally often.

Every image is a scene: a background (a two-colour gradient with blotchy
low-frequency texture), some clutter (small discs, boxes, ellipses and thin
strokes in random colours), and one *class object* at a random position,
size and orientation. Sometimes a smaller object of another class stands in
the scene as a distractor, a piece of clutter partly covers the object, or
the object barely stands out from the background. Finally the whole image
gets a random lighting change (brightness, contrast, colour cast) and pixel
noise.

The ten classes come in two families, so that the course's lessons show.

Colour classes. Their objects are drawn from one shared pool of plain shapes
(ellipses, rounded boxes, lumpy blobs, soft spots and mottled patches), so
only the object's hue tells them apart; neighbouring hue ranges touch, so the
borders are genuinely ambiguous. A colour histogram is the right feature.

0 ``sunset``  an object in warm red to orange hues.
1 ``lemon``   an object in yellow hues, from golden to lime-tinged.
2 ``forest``  an object in greens, from yellow-green to teal.
3 ``ocean``   an object in blues, from cyan to deep ultramarine.
4 ``orchid``  an object in violets, purples and magentas.

Shape classes. Their objects take any colour from the same random palette,
so only geometry, texture or orientation tells them apart. Gradient
orientation features such as HoG are the right tool.

5 ``ring``      a hollow circle or slightly oval annulus with a thin rim.
6 ``cross``     a plus sign with arms of random length and thickness, tilted
                by at most about 15 degrees.
7 ``triangle``  a solid triangle, equilateral or nearly so, at any rotation.
8 ``stripes``   a patch of parallel bars running roughly horizontally.
9 ``diagonal``  the same kind of bar patch, but running at roughly 45
                degrees, rising or falling.

Generation is deterministic: the same ``seed`` gives bit-identical arrays on
every machine. Images are made in fixed chunks of 1,000, each with its own
random stream derived from ``(seed, split, chunk index)``, so the first ``k``
images of a split do not depend on how many are generated, nor on how many
worker processes make them. The arithmetic uses only operations whose results
IEEE 754 fixes exactly (``+ - * /``, ``sqrt``, comparisons, ``floor``); no
transcendental functions, matrix products or reductions touch the pixels.

Use :func:`generate` for both splits, :func:`generate_split` for one. Loading
and caching on disk is the job of :mod:`course_utils.data`.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

__all__ = [
    "CLASS_NAMES",
    "COLOUR_CLASSES",
    "SHAPE_CLASSES",
    "GENERATOR_VERSION",
    "IMAGE_SHAPE",
    "CHUNK_SIZE",
    "generate",
    "generate_split",
]

CLASS_NAMES: tuple[str, ...] = (
    "sunset", "lemon", "forest", "ocean", "orchid",
    "ring", "cross", "triangle", "stripes", "diagonal",
)
COLOUR_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
SHAPE_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)
# Bump whenever the generated images or labels change (it is part of the cache
# key of course_utils.data, and tests/test_synthetic.py pins a hash of it).
GENERATOR_VERSION: int = 1

IMAGE_SHAPE = (32, 32, 3)
CHUNK_SIZE = 1000          # images per random stream; fixed, or prefixes change
NUM_CLASSES = len(CLASS_NAMES)
_SPLIT_IDS = {"train": 0, "test": 1}
_SERIAL_MAX_CHUNKS = 2     # at most this many chunks: no worker processes

_F = np.float32
_H = 32
# Pixel centres, broadcast against per-image parameters of shape (B, 1, 1).
_XS = (np.arange(_H, dtype=_F) + _F(0.5)).reshape(1, 1, _H)
_YS = (np.arange(_H, dtype=_F) + _F(0.5)).reshape(1, _H, 1)

# Hue ranges of the colour classes as fractions of the colour wheel. They
# tile the whole wheel, so neighbouring classes touch. (lo, hi), lo may be < 0.
_CLASS_HUES = (
    (-20 / 360, 40 / 360),    # sunset: red to orange
    (40 / 360, 75 / 360),     # lemon: yellow
    (75 / 360, 170 / 360),    # forest: green
    (170 / 360, 250 / 360),   # ocean: blue
    (250 / 360, 340 / 360),   # orchid: violet to magenta
)
_SQRT3_2 = 0.8660254037844386   # sqrt(3) / 2, written out: no libm involved
_SQRT1_2 = 0.7071067811865476   # sqrt(1/2)


# --------------------------------------------------------------------------
# Small exact helpers
# --------------------------------------------------------------------------

def _col(a: np.ndarray) -> np.ndarray:
    """(B,) float32 -> (B, 1, 1) for broadcasting against pixel grids."""
    return np.ascontiguousarray(a, dtype=_F).reshape(-1, 1, 1)


def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return (rng.random(n, dtype=_F) * _F(hi - lo) + _F(lo)).astype(_F)


def _rotation(rng: np.random.Generator, n: int, max_half_tan: float, full_turn: bool):
    """Random rotations (cos, sin) without trigonometric functions.

    Uses the rational parametrisation cos = (1 - t^2) / (1 + t^2),
    sin = 2t / (1 + t^2) with t = tan(angle / 2) drawn uniformly from
    [-max_half_tan, max_half_tan]; ``full_turn`` also flips half of them by
    180 degrees. max_half_tan = 1 covers +-90 degrees.
    """
    t = (rng.random(n, dtype=_F) * _F(2.0) - _F(1.0)) * _F(max_half_tan)
    den = _F(1.0) + t * t
    c = (_F(1.0) - t * t) / den
    s = (_F(2.0) * t) / den
    if full_turn:
        flip = np.where(rng.random(n) < 0.5, _F(-1.0), _F(1.0)).astype(_F)
        c, s = c * flip, s * flip
    return c.astype(_F), s.astype(_F)


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per-image HSV (each (B,), h in any real range, wraps) -> RGB (B, 3) float32."""
    h = h.astype(_F)
    h = h - np.floor(h)
    h6 = h * _F(6.0)
    i = np.floor(h6)
    f = h6 - i
    i = i.astype(np.int64) % 6
    p = v * (_F(1.0) - s)
    q = v * (_F(1.0) - s * f)
    t = v * (_F(1.0) - s * (_F(1.0) - f))
    table = np.stack([
        np.stack([v, t, p], 1), np.stack([q, v, p], 1), np.stack([p, v, t], 1),
        np.stack([p, q, v], 1), np.stack([t, p, v], 1), np.stack([v, p, q], 1),
    ], 0)  # (6, B, 3)
    return table[i, np.arange(h.shape[0])].astype(_F)


def _coverage(d: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage from a signed distance in pixels (inside < 0)."""
    return np.clip(_F(0.5) - d, _F(0.0), _F(1.0))


def _over(img: np.ndarray, alpha: np.ndarray, colour: np.ndarray, idx=None) -> None:
    """Alpha-composite ``colour`` over ``img`` in place.

    img (B, H, W, 3); alpha (b, H, W); colour (b, 3) or (b, H, W, 3);
    idx: the b image indices that alpha/colour belong to (None: all B).
    """
    if colour.ndim == 2:
        colour = colour[:, None, None, :]
    if idx is None:
        diff = colour - img
        diff *= alpha[..., None]
        img += diff
    else:
        sub = img[idx]
        diff = colour - sub
        diff *= alpha[..., None]
        sub += diff
        img[idx] = sub


def _bilinear_field(rng: np.random.Generator, n: int, grid: int) -> np.ndarray:
    """Smooth random field (n, 32, 32) in [0, 1): a (grid x grid) lattice of
    uniform values, bilinearly interpolated with exact elementwise arithmetic."""
    g = rng.random((n, grid, grid), dtype=_F)
    pos = (np.arange(_H, dtype=_F) + _F(0.5)) * _F((grid - 1) / _H)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, grid - 1)
    fr = (pos - i0.astype(_F)).astype(_F)
    rows = g[:, i0, :] * (_F(1.0) - fr)[None, :, None] + g[:, i1, :] * fr[None, :, None]
    out = rows[:, :, i0] * (_F(1.0) - fr)[None, None, :] + rows[:, :, i1] * fr[None, None, :]
    return out.astype(_F)


# --------------------------------------------------------------------------
# Signed distance functions on local coordinates (u, v) of shape (b, H, W)
# --------------------------------------------------------------------------

def _local(cx, cy, c, s):
    dx = _XS - _col(cx)
    dy = _YS - _col(cy)
    cc, ss = _col(c), _col(s)
    u = cc * dx + ss * dy
    v = cc * dy - ss * dx
    return u, v


def _sd_ellipse(u, v, a, b):
    a, b = _col(a), _col(b)
    k = np.sqrt((u / a) ** 2 + (v / b) ** 2)
    return (k - _F(1.0)) * np.minimum(a, b)


def _sd_box(u, v, a, b, rc):
    a, b, rc = _col(a), _col(b), _col(rc)
    qx = np.abs(u) - a + rc
    qy = np.abs(v) - b + rc
    outside = np.sqrt(np.maximum(qx, _F(0.0)) ** 2 + np.maximum(qy, _F(0.0)) ** 2)
    inside = np.minimum(np.maximum(qx, qy), _F(0.0))
    return outside + inside - rc


def _sd_segment(u, v, half_len, half_width):
    """Capsule along the local u axis."""
    hl, hw = _col(half_len), _col(half_width)
    du = np.abs(u) - hl
    du = np.maximum(du, _F(0.0))
    return np.sqrt(du * du + v * v) - hw


def _sd_ring(u, v, radius, width, aspect):
    k = np.sqrt(u * u + (v * _col(aspect)) ** 2)
    half = _col(width) * _F(0.5)
    return np.abs(k - (_col(radius) - half)) - half


def _sd_cross(u, v, arm, half_width):
    a, w = _col(arm), _col(half_width)
    au, av = np.abs(u), np.abs(v)
    bar1 = np.maximum(au - a, av - w)
    bar2 = np.maximum(au - w, av - a)
    return np.minimum(bar1, bar2)


def _sd_triangle(u, v, circumradius, squash):
    """Triangle with one vertex pointing along -v; squash != 1 makes it isosceles."""
    r = _col(circumradius)
    v2 = v * _col(squash)
    d0 = v2                                                   # normal (0, 1)
    d1 = _F(-_SQRT3_2) * u - _F(0.5) * v2                     # normal (-sqrt3/2, -1/2)
    d2 = _F(_SQRT3_2) * u - _F(0.5) * v2                      # normal (sqrt3/2, -1/2)
    return np.maximum(np.maximum(d0, d1), d2) - r * _F(0.5)


def _stripe_coverage(u, v, period, duty, phase):
    """Soft parallel bars along the local u axis, repeating along v."""
    p = _col(period)
    t = v / p + _col(phase)
    t = t - np.floor(t)                          # position within a period
    dist = np.abs(t - _F(0.5)) * p               # pixels from the bar's centre line
    return np.clip(_col(duty) * p * _F(0.5) - dist + _F(0.5), _F(0.0), _F(1.0))


# --------------------------------------------------------------------------
# Scene elements
# --------------------------------------------------------------------------

def _background(rng, n):
    """Two-colour linear gradient with blotchy texture. Returns img, base value."""
    hue = rng.random(n, dtype=_F)
    hue2 = hue + _uniform(rng, -0.25, 0.25, n)
    sat = rng.random(n, dtype=_F) ** 2 * _F(0.6)
    sat2 = rng.random(n, dtype=_F) * _F(0.6)
    val = _uniform(rng, 0.12, 0.9, n)
    val2 = np.clip(val + _uniform(rng, -0.3, 0.3, n), _F(0.05), _F(1.0)).astype(_F)
    c1 = _hsv_to_rgb(hue, sat, val)
    c2 = _hsv_to_rgb(hue2, sat2, val2)
    gx = _col(_uniform(rng, -1.0, 1.0, n))
    gy = _col(_uniform(rng, -1.0, 1.0, n))
    g = np.clip(_F(0.5) + (gx * (_XS - _F(16.0)) + gy * (_YS - _F(16.0))) * _F(1 / 32), _F(0.0), _F(1.0))
    img = c1[:, None, None, :] + g[..., None] * (c2 - c1)[:, None, None, :]
    amp = _col(rng.random(n, dtype=_F) * _F(0.25))
    tex = (_bilinear_field(rng, n, 6) - _F(0.5)) * amp
    img += tex[..., None]
    return img.astype(_F), val


def _clutter(rng, img, n_slots, scale_lo, scale_hi, near=None):
    """Small shapes in random colours: discs, ellipses, boxes, thin strokes.

    near: optional (cx, cy, spread, prob) to place them around a point
    (occluders); prob is the chance that each image gets one.
    """
    n = img.shape[0]
    for _ in range(n_slots):
        kind = rng.integers(0, 4, n)
        r = _uniform(rng, scale_lo, scale_hi, n)
        if near is None:
            cx = _uniform(rng, -2.0, 34.0, n)
            cy = _uniform(rng, -2.0, 34.0, n)
            present = rng.random(n) < 0.75
        else:
            ncx, ncy, spread, prob = near
            cx = ncx + _uniform(rng, -1.0, 1.0, n) * spread
            cy = ncy + _uniform(rng, -1.0, 1.0, n) * spread
            present = rng.random(n) < prob
        c, s = _rotation(rng, n, 1.0, False)
        asp = _uniform(rng, 0.35, 1.0, n)
        hue = rng.random(n, dtype=_F)
        sat = rng.random(n, dtype=_F) * _F(0.8)
        val = _uniform(rng, 0.1, 0.95, n)
        opacity = _uniform(rng, 0.5, 1.0, n)
        colour = _hsv_to_rgb(hue, sat, val)
        alpha = np.zeros((n, _H, _H), _F)
        for k in range(4):
            idx = np.flatnonzero((kind == k) & present)
            if idx.size == 0:
                continue
            u, v = _local(cx[idx], cy[idx], c[idx], s[idx])
            if k == 0:
                d = np.sqrt(u * u + v * v) - _col(r[idx])
            elif k == 1:
                d = _sd_ellipse(u, v, r[idx], r[idx] * asp[idx])
            elif k == 2:
                d = _sd_box(u, v, r[idx], r[idx] * asp[idx], r[idx] * _F(0.2))
            else:
                d = _sd_segment(u, v, r[idx] * _F(1.6), _F(0.35) + asp[idx] * _F(0.6))
            alpha[idx] = _coverage(d) * _col(opacity[idx])
        _over(img, alpha, colour)


def _object_colour(rng, labels, bg_val, hard):
    """Object colour: class hue for colour classes, random palette otherwise.

    Its value is pushed away from the background's value, except for the
    'hard' (low-contrast) images.
    """
    n = labels.shape[0]
    u1 = rng.random(n, dtype=_F)
    u2 = rng.random(n, dtype=_F)
    tri = (u1 + u2) * _F(0.5)                       # triangular on [0, 1]
    lo = np.array([h[0] for h in _CLASS_HUES], _F)
    hi = np.array([h[1] for h in _CLASS_HUES], _F)
    is_colour = labels < len(COLOUR_CLASSES)
    li = np.where(is_colour, labels, 0)
    hue_colour = lo[li] + (hi[li] - lo[li]) * tri
    hue_any = rng.random(n, dtype=_F)
    hue = np.where(is_colour, hue_colour, hue_any).astype(_F)
    sat_colour = _uniform(rng, 0.45, 1.0, n)
    sat_any = _uniform(rng, 0.0, 1.0, n)
    sat = np.where(is_colour, sat_colour, sat_any).astype(_F)
    delta = _uniform(rng, 0.2, 0.6, n)
    delta_hard = _uniform(rng, 0.0, 0.12, n)
    delta = np.where(hard, delta_hard, delta).astype(_F)
    up = (bg_val < _F(0.5)) ^ (rng.random(n) < 0.15)
    val = np.where(up, bg_val + delta, bg_val - delta)
    val = np.clip(val, _F(0.2), _F(1.0)).astype(_F)
    return _hsv_to_rgb(hue, sat, val)


def _objects(rng, labels, cx, cy, r, colour):
    """Alpha (n, H, W) and colour field (n, H, W, 3) of class objects."""
    n = labels.shape[0]
    alpha = np.zeros((n, _H, _H), _F)
    c_any, s_any = _rotation(rng, n, 1.0, True)
    c_small, s_small = _rotation(rng, n, 0.1317, False)      # about +-15 degrees
    asp = _uniform(rng, 0.5, 1.0, n)
    pool_kind = rng.integers(0, 5, n)
    width = _uniform(rng, 1.6, 3.6, n)
    ring_aspect = _uniform(rng, 0.8, 1.25, n)
    arm_w = _uniform(rng, 0.9, 2.2, n)
    squash = _uniform(rng, 0.8, 1.25, n)
    period = _uniform(rng, 3.5, 6.0, n)
    duty = _uniform(rng, 0.35, 0.6, n)
    phase = rng.random(n, dtype=_F)
    rising = rng.random(n) < 0.5
    patch_round = rng.random(n) < 0.5
    blob_off = _uniform(rng, -0.5, 0.5, (n * 6)).reshape(n, 6)
    blob_rad = _uniform(rng, 0.45, 0.7, (n * 3)).reshape(n, 3)
    shade_dir_x = _uniform(rng, -1.0, 1.0, n)
    shade_dir_y = _uniform(rng, -1.0, 1.0, n)
    shade_amp = _uniform(rng, 0.0, 0.25, n)
    mottle = _bilinear_field(rng, n, 5)

    def sub(mask):
        return np.flatnonzero(mask)

    # Colour classes: a shared pool of plain shapes.
    is_colour = labels < len(COLOUR_CLASSES)
    for k in range(5):
        idx = sub(is_colour & (pool_kind == k))
        if idx.size == 0:
            continue
        ri = r[idx]
        u, v = _local(cx[idx], cy[idx], c_any[idx], s_any[idx])
        if k == 0:     # ellipse
            a = _coverage(_sd_ellipse(u, v, ri, ri * asp[idx]))
        elif k == 1:   # rounded box
            a = _coverage(_sd_box(u, v, ri * _F(0.85), ri * _F(0.85) * asp[idx], ri * _F(0.25)))
        elif k == 2:   # lumpy blob: union of three discs
            d = None
            for j in range(3):
                ox = _col(blob_off[idx, 2 * j] * ri)
                oy = _col(blob_off[idx, 2 * j + 1] * ri)
                dj = np.sqrt((u - ox) ** 2 + (v - oy) ** 2) - _col(blob_rad[idx, j] * ri)
                d = dj if d is None else np.minimum(d, dj)
            a = _coverage(d)
        elif k == 3:   # soft spot: fades out towards the rim
            dist = np.sqrt(u * u + (v / _col(asp[idx] * _F(0.5) + _F(0.5))) ** 2)
            a = np.clip((_F(1.0) - dist / _col(ri * _F(1.1))) * _F(2.5), _F(0.0), _F(1.0))
        else:          # mottled patch: box or disc with blotchy texture (see below)
            dbox = _sd_box(u, v, ri * _F(0.8), ri * _F(0.8), ri * _F(0.15))
            ddisc = np.sqrt(u * u + v * v) - _col(ri)
            a = _coverage(np.where(patch_round[idx, None, None], ddisc, dbox))
        alpha[idx] = a

    # Shape classes: geometry / texture / orientation, any colour.
    for label in SHAPE_CLASSES:
        idx = sub(labels == label)
        if idx.size == 0:
            continue
        ri = r[idx]
        name = CLASS_NAMES[label]
        if name == "ring":
            u, v = _local(cx[idx], cy[idx], c_any[idx], s_any[idx])
            d = _sd_ring(u, v, ri, width[idx], ring_aspect[idx])
        elif name == "cross":
            u, v = _local(cx[idx], cy[idx], c_small[idx], s_small[idx])
            d = _sd_cross(u, v, ri, arm_w[idx])
        elif name == "triangle":
            u, v = _local(cx[idx], cy[idx], c_any[idx], s_any[idx])
            d = _sd_triangle(u, v, ri * _F(1.15), squash[idx])
        else:
            cs, ss = c_small[idx], s_small[idx]
            if name == "diagonal":   # rotate the small jitter by +-45 degrees
                sign = np.where(rising[idx], _F(1.0), _F(-1.0)).astype(_F)
                cs, ss = (cs - sign * ss) * _F(_SQRT1_2), (ss + sign * cs) * _F(_SQRT1_2)
            u, v = _local(cx[idx], cy[idx], cs, ss)
            region = np.where(
                patch_round[idx, None, None],
                np.sqrt(u * u + v * v) - _col(ri),
                _sd_box(u, v, ri * _F(0.85), ri * _F(0.85), ri * _F(0.1)),
            )
            d = None
            alpha[idx] = _coverage(region) * _stripe_coverage(u, v, period[idx], duty[idx], phase[idx])
        if d is not None:
            alpha[idx] = _coverage(d)

    # Colour field: shading across the object, plus mottling on pool kind 4.
    shade = (shade_dir_x[:, None, None] * (_XS - _col(cx)) + shade_dir_y[:, None, None] * (_YS - _col(cy)))
    shade = np.clip(shade / _col(r), _F(-1.0), _F(1.0)) * _col(shade_amp)
    mott = np.where((is_colour & (pool_kind == 4))[:, None, None], (mottle - _F(0.5)) * _F(0.8), _F(0.0))
    gain = (_F(1.0) + shade + mott.astype(_F))[..., None]
    field = colour[:, None, None, :] * gain
    return alpha, field.astype(_F)


def _render_chunk(seed: int, split_id: int, chunk: int):
    """CHUNK_SIZE images and labels from the stream (seed, split_id, chunk)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, split_id, chunk])))
    n = CHUNK_SIZE
    labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES, dtype=np.int64), n // NUM_CLASSES))

    img, bg_val = _background(rng, n)
    _clutter(rng, img, 4, 1.5, 5.0)

    # Main object geometry (drawn first so the distractor can avoid it).
    r = _uniform(rng, 6.0, 12.0, n)
    cx = _uniform(rng, 7.0, 25.0, n)
    cy = _uniform(rng, 7.0, 25.0, n)
    hard = rng.random(n) < 0.15

    # Distractor: a smaller object of another class, on some images.
    has_d = np.flatnonzero(rng.random(n) < 0.2)
    d_label = (labels[has_d] + rng.integers(1, NUM_CLASSES, has_d.size)) % NUM_CLASSES
    d_r = r[has_d] * _uniform(rng, 0.4, 0.55, has_d.size)
    d_cx = np.where(cx[has_d] < 16, _F(32.0) - d_r, d_r).astype(_F) + _uniform(rng, -2.0, 2.0, has_d.size)
    d_cy = _uniform(rng, 4.0, 28.0, has_d.size)
    d_colour = _object_colour(rng, d_label, bg_val[has_d], rng.random(has_d.size) < 0.3)
    d_alpha, d_field = _objects(rng, d_label, d_cx, d_cy, d_r, d_colour)
    _over(img, d_alpha, d_field, has_d)

    colour = _object_colour(rng, labels, bg_val, hard)
    alpha, field = _objects(rng, labels, cx, cy, r, colour)
    opacity = np.where(hard, _uniform(rng, 0.55, 0.85, n), _F(1.0)).astype(_F)
    alpha *= _col(opacity)
    _over(img, alpha, field)

    # Occluders: clutter placed over the object on some images.
    _clutter(rng, img, 1, 2.5, 5.5, near=(cx, cy, r * _F(0.8), 0.3))

    # Lighting: brightness, colour cast, contrast around mid-grey; then noise.
    bright = _uniform(rng, 0.7, 1.25, n)
    cast = _uniform(rng, 0.88, 1.12, 3 * n).reshape(n, 3)
    contrast = _uniform(rng, 0.6, 1.15, n)
    gain = (cast * bright[:, None]).astype(_F)
    img *= gain[:, None, None, :]
    img -= _F(0.5)
    img *= _col(contrast)[..., None]
    img += _F(0.5)
    sigma = _uniform(rng, 0.0, 0.07, n)
    noise = rng.random((n, _H, _H, 3), dtype=_F)
    noise += rng.random((n, _H, _H, 3), dtype=_F)
    noise -= _F(1.0)
    noise *= _col(sigma)[..., None]
    img += noise

    if img.dtype != _F:  # guard against silent float64 promotion (determinism)
        raise AssertionError(f"internal error: image dtype {img.dtype}")
    np.clip(img, _F(0.0), _F(1.0), out=img)
    img *= _F(255.0)
    img += _F(0.5)
    out = np.floor(img).astype(np.uint8)
    return out, labels


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------

def _check_count(n: object, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an integer number of images; got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"{name} must be >= 0; got {n}")
    return int(n)


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    return int(seed)


def _check_workers(workers: object) -> int:
    if workers is None:
        return max(1, min(2, os.cpu_count() or 1))
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None; got {workers!r}")
    return int(workers)


def _chunk_job(args):
    seed, split_id, chunk = args
    return _render_chunk(seed, split_id, chunk)


def generate_split(n: int, seed: int = 0, split: str = "train", workers: int | None = None):
    """Generate the first ``n`` images of one split.

    Parameters
    ----------
    n : int
        Number of images (>= 0). The first k images are the same for every n >= k.
    seed : int
        Non-negative seed; the same seed gives bit-identical arrays everywhere.
    split : {"train", "test"}
        Which split; the two use independent random streams.
    workers : int or None
        Worker processes (default: min(2, CPU count)). Results do not depend on it.

    Returns
    -------
    X : ndarray, shape (n, 32, 32, 3), uint8, C-contiguous
    y : ndarray, shape (n,), int64, values in [0, 10)
    """
    n = _check_count(n, "n")
    seed = _check_seed(seed)
    if split not in _SPLIT_IDS:
        raise ValueError(f"split must be one of {sorted(_SPLIT_IDS)}; got {split!r}")
    workers = _check_workers(workers)
    split_id = _SPLIT_IDS[split]

    X = np.empty((n,) + IMAGE_SHAPE, np.uint8)
    y = np.empty((n,), np.int64)
    n_chunks = -(-n // CHUNK_SIZE)
    jobs = [(seed, split_id, k) for k in range(n_chunks)]

    def place(k, result):
        xs, ys = result
        start = k * CHUNK_SIZE
        stop = min(n, start + CHUNK_SIZE)
        X[start:stop] = xs[: stop - start]
        y[start:stop] = ys[: stop - start]

    if workers == 1 or n_chunks <= _SERIAL_MAX_CHUNKS:
        for k, job in enumerate(jobs):
            place(k, _chunk_job(job))
    else:
        with ProcessPoolExecutor(max_workers=min(workers, n_chunks)) as pool:
            for k, result in enumerate(pool.map(_chunk_job, jobs)):
                place(k, result)
    return X, y


def generate(n_train: int = 50000, n_test: int = 10000, seed: int = 0, workers: int | None = None):
    """Generate the embedded dataset: ``(X_train, y_train, X_test, y_test)``.

    Same layout as CIFAR-10: X_* uint8 of shape (N, 32, 32, 3), y_* int64 in
    [0, 10). Deterministic in ``seed``; see :func:`generate_split`.
    """
    n_train = _check_count(n_train, "n_train")
    n_test = _check_count(n_test, "n_test")
    X_train, y_train = generate_split(n_train, seed, "train", workers)
    X_test, y_test = generate_split(n_test, seed, "test", workers)
    return X_train, y_train, X_test, y_test
