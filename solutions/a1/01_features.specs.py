"""Specs of a1 / 01_features: polar transform, colour histograms, HoG, bag of visual words."""
from __future__ import annotations

import numpy as np

from autograder.specs import AccuracySpec, Case, Spec

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec | AccuracySpec] = []


def _uint8(rng, shape):
    return rng.integers(0, 256, size=shape).astype(np.uint8)


def _grey_rgb(rng, shape):
    """Images whose three channels are equal: every luminance formula gives the same grey levels."""
    grey = rng.integers(0, 256, size=shape).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)


def _smooth_uint8(rng, n, h, w):
    """Random images with some large-scale structure (blurred noise plus a bright square)."""
    noise = rng.uniform(0, 255, size=(n, h // 4 + 2, w // 4 + 2, 3))
    up = np.repeat(np.repeat(noise, 4, axis=1), 4, axis=2)[:, :h, :w]
    up[:, h // 4: h // 2, w // 4: w // 2] = 250.0
    return up.astype(np.uint8)


def _as_array_of(got, expected, what):
    if type(got) is not np.ndarray:
        raise AssertionError(f"{what} is a {type(got).__name__}; expected a NumPy array.")
    if got.shape != np.shape(expected):
        raise AssertionError(f"{what} has shape {got.shape}; expected {np.shape(expected)}.")
    if got.dtype.kind != "f":
        raise AssertionError(f"{what} holds {got.dtype} values; expected floats.")
    return got.astype(np.float64)


# --------------------------------------------------------------------------- #
# polar transform and colour
# --------------------------------------------------------------------------- #
def _polar_cases(rng):
    yield Case("typical", (rng.normal(size=(20, 2)),))
    yield Case("one point", (np.array([[-2.0, 3.5]]),))
    yield Case("points on the axes", (np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, -4.0], [5.0, 5.0]]),))
    yield Case("large coordinates", (1e6 * rng.normal(size=(6, 2)),))


SPECS.append(Spec("polar_transform", cases=_polar_cases, rtol=1e-9, atol=1e-9))


def _hsv_cases(rng):
    yield Case("typical batch of images", (rng.uniform(size=(3, 4, 5, 3)),))
    special = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [1, 0, 1], [0.5, 0.5, 0.5], [0, 0, 0], [1, 1, 1],
                        [0.9, 0.1, 0.2], [0.2, 0.8, 0.8], [0.3, 0.3, 0.6]], dtype=np.float64)
    yield Case("pure colours, greys, black, white and ties", (special,))
    yield Case("one colour", (np.array([0.2, 0.6, 0.4]),))
    yield Case("dark colours", (1e-3 * rng.uniform(size=(6, 3)),))


SPECS.append(Spec("rgb_to_hsv", cases=_hsv_cases, outputs=("hsv",), vectorised=True, rtol=1e-7, atol=1e-9))


def _hue_cases(rng):
    yield Case("typical, 10 bins", (_uint8(rng, (4, 32, 32, 3)),), {"bins": 10})
    yield Case("6 bins, not normalised", (_uint8(rng, (3, 32, 32, 3)),), {"bins": 6, "normalize": False})
    yield Case("one image, 16 bins", (_smooth_uint8(rng, 1, 32, 32),), {"bins": 16})
    grey = _grey_rgb(rng, (2, 8, 8))
    yield Case("all-grey images (no hue at all)", (grey,), {"bins": 5})
    yield Case("one bin", (_uint8(rng, (2, 16, 16, 3)),), {"bins": 1, "normalize": False})


def _judge_hue(got, expected, case):
    """Equal up to rare pixels whose hue sits within rounding of a bin border (a few per thousand)."""
    got = _as_array_of(got, expected, "the histogram")
    moved = np.abs(got - expected).sum(axis=1)
    mass = np.abs(expected).sum(axis=1)
    allowed = 0.03 * mass + 1e-9
    if np.any(moved > allowed) or np.abs(got.sum(axis=1) - expected.sum(axis=1)).max() > 1e-6 * (1 + mass.max()):
        worst = int(np.argmax(moved - allowed))
        raise AssertionError(f"the histogram of image {worst} differs from the reference (total absolute "
                             f"difference {moved[worst]:.3g}, more than rounding at bin borders explains).")


SPECS.append(Spec("hue_histogram", cases=_hue_cases, outputs=("histograms",), vectorised=True, judge=_judge_hue,
                  stand_ins=("rgb_to_hsv",)))


def _joint_cases(rng):
    yield Case("typical, 4 levels", (_uint8(rng, (3, 8, 8, 3)),))
    yield Case("2 levels", (_uint8(rng, (2, 5, 7, 3)),), {"bins_per_channel": 2})
    yield Case("1 level (one bin)", (_uint8(rng, (2, 4, 4, 3)),), {"bins_per_channel": 1})
    yield Case("extreme values, 8 levels", (np.array([[[[0, 0, 0], [255, 255, 255]], [[31, 32, 255], [224, 223, 0]]]],
                                                     dtype=np.uint8),), {"bins_per_channel": 8})
    yield Case("one pixel", (_uint8(rng, (1, 1, 1, 3)),), {"bins_per_channel": 3})


SPECS.append(Spec("joint_colour_histogram", cases=_joint_cases, outputs=("histograms",), vectorised=True))


# --------------------------------------------------------------------------- #
# HoG
# --------------------------------------------------------------------------- #
def _gradient_cases(rng):
    yield Case("typical", (rng.normal(size=(3, 6, 7)),))
    yield Case("one row", (rng.normal(size=(1, 1, 5)),))
    yield Case("2x2 images (all border)", (rng.normal(size=(2, 2, 2)),))
    yield Case("integer grey levels", (rng.integers(0, 256, size=(2, 9, 4)).astype(np.float64),))


SPECS.append(Spec("image_gradients", cases=_gradient_cases, outputs=("gx", "gy"), vectorised=True))


def _mag_ori_cases(rng):
    yield Case("typical", (rng.normal(size=(4, 5)), rng.normal(size=(4, 5))))
    yield Case("axis directions and zeros", (np.array([1.0, 0.0, -1.0, 0.0, 0.0, 2.0, -3.0]),
                                             np.array([0.0, 1.0, 0.0, -1.0, 0.0, -2.0, -3.0])))
    yield Case("3-D batch", (rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))))
    yield Case("large values", (1e8 * rng.normal(size=(6,)), 1e8 * rng.normal(size=(6,))))


SPECS.append(Spec("magnitude_orientation", cases=_mag_ori_cases, outputs=("magnitude", "orientation"),
              vectorised=True, rtol=1e-7, atol=1e-7))


def _cell_cases(rng):
    def pair(shape):
        return rng.uniform(0, 10, size=shape), rng.uniform(0, 180, size=shape)
    yield Case("typical 8x8 cells, 9 bins", pair((2, 16, 24)))
    yield Case("4x4 cells, 6 bins, leftover pixels", pair((1, 10, 13)), {"cell_size": 4, "bins": 6})
    yield Case("1x1 cells, 4 bins", pair((2, 3, 2)), {"cell_size": 1, "bins": 4})
    yield Case("one bin", pair((1, 8, 8)), {"cell_size": 4, "bins": 1})
    yield Case("cell larger than the image", pair((1, 5, 5)), {"cell_size": 8})


SPECS.append(Spec("cell_histograms", cases=_cell_cases, outputs=("cell histograms",), vectorised=True))


def _block_cases(rng):
    yield Case("typical 2x2 blocks", (rng.uniform(0, 5, size=(2, 4, 4, 9)),))
    yield Case("3x3 blocks on 3x5 cells", (rng.uniform(0, 5, size=(1, 3, 5, 6)),), {"block_size": 3})
    yield Case("all zeros", (np.zeros((2, 3, 3, 9)),))
    spikes = rng.uniform(0, 0.01, size=(1, 3, 3, 4))
    spikes[0, 1, 1, 2] = 50.0
    yield Case("one strong spike (clipping)", (spikes,))
    yield Case("1x1 blocks, larger eps", (rng.uniform(0, 0.05, size=(2, 2, 3, 5)),), {"block_size": 1, "eps": 0.01})


SPECS.append(Spec("block_normalize", cases=_block_cases, outputs=("features",), vectorised=True, rtol=1e-7, atol=1e-9))


def _length_cases(rng):
    yield Case("320x240", (320, 240))
    yield Case("32x32", (32, 32))
    yield Case("64x128, 16-pixel cells, 6 bins, 3x3 blocks", (64, 128), {"cell_size": 16, "bins": 6, "block_size": 3})
    yield Case("leftover pixels", (100, 50), {"cell_size": 10, "bins": 4, "block_size": 1})
    yield Case("too small for one block", (12, 40))


def _run_length(fn, case):
    value = fn(*case.args, **case.kwargs)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise AssertionError(f"it returned a {type(value).__name__}; expected an int.")
    return int(value)


SPECS.append(Spec("hog_feature_length", cases=_length_cases, run=_run_length, exact=True, outputs=("length",)))


def _hog_cases(rng):
    yield Case("typical 32x32 grey-valued images", (_grey_rgb(rng, (3, 32, 32)),))
    yield Case("colour images, 24x40", (_smooth_uint8(rng, 2, 24, 40),))
    yield Case("4-pixel cells, 6 bins, 3x3 blocks", (_grey_rgb(rng, (2, 17, 16)),),
               {"cell_size": 4, "bins": 6, "block_size": 3})
    yield Case("one flat image", (np.full((1, 16, 16, 3), 128, np.uint8),))
    yield Case("one image, 1x1 blocks", (_smooth_uint8(rng, 1, 16, 16),), {"block_size": 1})


# Graded with the reference helpers in place of the student's: a mistake in one of them costs its own points only.
SPECS.append(Spec("hog_features", cases=_hog_cases, outputs=("features",), vectorised=True, rtol=1e-6, atol=1e-7,
                  stand_ins=("image_gradients", "magnitude_orientation", "cell_histograms", "block_normalize")))


# --------------------------------------------------------------------------- #
# bag of visual words
# --------------------------------------------------------------------------- #
def _patch_cases(rng):
    # the last argument is the seed of the generator passed to the function (cases hold plain data)
    yield Case("typical", (_uint8(rng, (4, 10, 12, 3)), 30, 3, int(rng.integers(1 << 30))))
    yield Case("one image, patch as large as the image", (_uint8(rng, (1, 5, 5, 3)), 4, 5, int(rng.integers(1 << 30))))
    yield Case("1x1 patches", (_uint8(rng, (3, 4, 4, 3)), 20, 1, int(rng.integers(1 << 30))))


def _run_patches(fn, case):
    images, num, size, seed = case.args
    out = fn(images, num, size, np.random.default_rng(seed))
    return out, images, size


def _judge_patches(got, expected, case):
    out, images, size = got
    out = _as_array_of(out, expected[0], "the patch array")
    windows = np.lib.stride_tricks.sliding_window_view(images, (size, size), axis=(1, 2))
    every = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * 3).astype(np.float64)
    found = (out[:, None, :] == every[None, :, :]).all(axis=2).any(axis=1)
    if not found.all():
        raise AssertionError(f"patch {int(np.argmin(found))} is not a {size}x{size} window of any image "
                             f"(flattened row, column, channel; values 0-255).")
    if len(out) >= 20 and len(np.unique(out, axis=0)) < 3:
        raise AssertionError("the patches are (almost) all the same; draw their positions at random with rng.")


SPECS.append(Spec("extract_random_patches", cases=_patch_cases, run=_run_patches, judge=_judge_patches))


def _dist_cases(rng):
    yield Case("typical", (rng.normal(size=(5, 4)), rng.normal(size=(3, 4))))
    yield Case("one row each", (rng.normal(size=(1, 6)), rng.normal(size=(1, 6))))
    yield Case("one dimension", (rng.normal(size=(7, 1)), rng.normal(size=(2, 1))))
    same = 1e3 + rng.normal(size=(4, 3))
    yield Case("identical rows far from the origin (clip at 0)", (same, same.copy()))


SPECS.append(Spec("pairwise_sq_distances", cases=_dist_cases, outputs=("distances",), vectorised=True,
              rtol=1e-6, atol=1e-5))


def _kmeans_cases(rng):
    blobs = np.concatenate([rng.normal(size=(20, 2)) + centre for centre in ([0, 0], [6, 0], [0, 6])])
    rng.shuffle(blobs)
    yield Case("three blobs", (blobs, blobs[:3].copy()), {"num_iters": 10})
    points = rng.normal(size=(50, 5))
    yield Case("five clusters, 3 iterations", (points, points[[0, 10, 20, 30, 40]].copy()), {"num_iters": 3})
    yield Case("one cluster", (points, points[:1].copy()), {"num_iters": 2})
    far = np.vstack([points[:2], [[100.0] * 5]])
    yield Case("a centre that never gets a point", (points, far), {"num_iters": 4})
    yield Case("zero iterations", (points, points[:4].copy()), {"num_iters": 0})


SPECS.append(Spec("kmeans", cases=_kmeans_cases, outputs=("centres", "assignments"), rtol=1e-7, atol=1e-9,
                  stand_ins=("pairwise_sq_distances",)))


def _bow_cases(rng):
    yield Case("typical", (_uint8(rng, (3, 8, 8, 3)), rng.uniform(0, 255, size=(5, 12)), 2, 2))
    yield Case("3x3 patches, stride 3, leftover pixels", (_uint8(rng, (2, 10, 9, 3)), rng.uniform(0, 255, size=(4, 27)),
                                                          3, 3))
    yield Case("overlapping patches (stride 1)", (_uint8(rng, (2, 5, 5, 3)), rng.uniform(0, 255, size=(6, 12)), 2, 1))
    yield Case("one word", (_uint8(rng, (2, 4, 4, 3)), rng.uniform(0, 255, size=(1, 12)), 2, 2))
    yield Case("one patch per image", (_uint8(rng, (3, 4, 4, 3)), rng.uniform(0, 255, size=(3, 48)), 4, 1))


SPECS.append(Spec("bow_histograms", cases=_bow_cases, outputs=("histograms",), stand_ins=("pairwise_sq_distances",)))

# --- the accuracy target ------------------------------------------------------------------------
# Judged by the grader on 1,000 held-out images it generates; the thresholds are for the quick budget
# and sit well below what the reference reaches on held-out sets of several seeds.
# The pipeline around the student's feature functions is given code: a missed target caused by a function that
# already lost its points is not charged again.
SPECS.append(AccuracySpec("hog_colour_ridge", thresholds={"synthetic": 0.40, "cifar10": 0.30}, cell="feature_accuracy",
                          built_from=("rgb_to_hsv", "hue_histogram", "joint_colour_histogram", "image_gradients",
                                      "magnitude_orientation", "cell_histograms", "block_normalize",
                                      "hog_feature_length", "hog_features")))
