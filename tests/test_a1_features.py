"""Specs and reference solutions of a1 / 01_features.

* Every spec passes with its own reference solution, and a plausible wrong implementation fails.
* Oracles: the reference HoG agrees with ``skimage.feature.hog`` and the reference k-means with
  ``sklearn.cluster.KMeans``; the reference RGB-to-HSV with ``matplotlib.colors.rgb_to_hsv``.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.judge import check_locally
from course_under_test import COURSE

A1 = COURSE.assignment("a1")

NAMES = ["polar_transform", "rgb_to_hsv", "hue_histogram", "joint_colour_histogram", "image_gradients",
         "magnitude_orientation", "cell_histograms", "block_normalize", "hog_feature_length", "hog_features",
         "extract_random_patches", "pairwise_sq_distances", "kmeans", "bow_histograms"]


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_spec(name):
    check_locally(A1, name, A1.reference(name))


@pytest.mark.parametrize("salt", [1, 2, 3])
@pytest.mark.parametrize("name", ["hue_histogram", "hog_features", "kmeans", "bow_histograms",
                                  "extract_random_patches"])
def test_reference_passes_with_other_salts(name, salt):
    check_locally(A1, name, A1.reference(name), salt)


def test_all_specs_registered():
    assert set(NAMES) <= set(A1.specs.names())


# --------------------------------------------------------------------------- #
# plausible wrong implementations (module-level defs, so inspect can read them)
# --------------------------------------------------------------------------- #
def wrong_polar_degrees(points):
    x, y = points[:, 0], points[:, 1]
    return np.stack([np.hypot(x, y), np.degrees(np.arctan2(y, x))], axis=1)


def wrong_hsv_hue_in_sixths(images):
    out = A1.reference("rgb_to_hsv")(images)
    out[..., 0] *= 6.0  # forgot to divide by 6
    return out


def wrong_hue_unweighted(images, bins=10, normalize=True):
    hsv = A1.reference("rgb_to_hsv")(np.asarray(images, np.float64) / 255.0)
    n = hsv.shape[0]
    index = np.minimum((hsv[..., 0] * bins).astype(np.int64), bins - 1).reshape(n, -1)
    hist = np.bincount((index + bins * np.arange(n)[:, None]).ravel(), minlength=n * bins).reshape(n, bins)
    hist = hist.astype(np.float64)
    return hist / hist.sum(axis=1, keepdims=True) if normalize else hist


def wrong_hue_loop(images, bins=10, normalize=True):
    reference = A1.reference("hue_histogram")
    return np.concatenate([reference(image[None], bins, normalize) for image in images])


def wrong_joint_counts(images, bins_per_channel=4):
    hist = A1.reference("joint_colour_histogram")(images, bins_per_channel)
    return hist * images.shape[1] * images.shape[2]


def wrong_gradients_np_gradient(gray):
    gy, gx = np.gradient(np.asarray(gray, np.float64), axis=(1, 2)) if gray.shape[1] > 1 and gray.shape[2] > 1 \
        else (np.zeros_like(gray), np.zeros_like(gray))
    return gx, gy


def wrong_signed_orientation(gx, gy):
    return np.hypot(gx, gy), np.degrees(np.arctan2(gy, gx))


def wrong_cell_sums(mag, ori, cell_size=8, bins=9):
    return A1.reference("cell_histograms")(mag, ori, cell_size, bins) * cell_size ** 2


def wrong_block_plain_l2(cell_hists, block_size=2, eps=1e-5):
    n, rows, cols, bins = cell_hists.shape
    windows = np.lib.stride_tricks.sliding_window_view(cell_hists, (block_size, block_size), axis=(1, 2))
    blocks = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, rows - block_size + 1, cols - block_size + 1, -1)
    blocks = blocks / np.sqrt(np.sum(blocks ** 2, axis=-1, keepdims=True) + eps ** 2)
    return blocks.reshape(n, -1)


def wrong_length_no_overlap(height, width, cell_size=8, bins=9, block_size=2):
    return (height // cell_size // block_size) * (width // cell_size // block_size) * block_size ** 2 * bins


def wrong_hog_channel_mean(images, cell_size=8, bins=9, block_size=2):
    gray = np.asarray(images, np.float64).mean(axis=-1)
    ref = A1.reference
    mag, ori = ref("magnitude_orientation")(*ref("image_gradients")(gray))
    return ref("block_normalize")(ref("cell_histograms")(mag, ori, cell_size, bins), block_size)


def wrong_patches_always_corner(images, num_patches, patch_size, rng):
    patch = np.asarray(images[0, :patch_size, :patch_size], np.float64).ravel()
    return np.tile(patch, (num_patches, 1))


def wrong_patches_channels_first(images, num_patches, patch_size, rng):
    patches = A1.reference("extract_random_patches")(images, num_patches, patch_size, rng)
    return patches.reshape(num_patches, patch_size, patch_size, 3).transpose(0, 3, 1, 2).reshape(num_patches, -1)


def wrong_distances_no_two(A, B):
    return np.maximum(np.sum(A ** 2, 1)[:, None] - A @ B.T + np.sum(B ** 2, 1)[None, :], 0.0)


def wrong_kmeans_empty_to_origin(X, init_centres, num_iters=10):
    centres = np.array(init_centres, dtype=np.float64)
    dist = A1.reference("pairwise_sq_distances")
    for _ in range(num_iters):
        assignments = np.argmin(dist(X, centres), axis=1)
        onehot = np.eye(len(centres))[assignments]
        centres = onehot.T @ X / np.maximum(onehot.sum(0), 1)[:, None]
    return centres, np.argmin(dist(X, centres), axis=1)


def wrong_bow_counts(images, codebook, patch_size, stride):
    hist = A1.reference("bow_histograms")(images, codebook, patch_size, stride)
    rows = (images.shape[1] - patch_size) // stride + 1
    cols = (images.shape[2] - patch_size) // stride + 1
    return hist * rows * cols


@pytest.mark.parametrize("name, wrong, message", [
    ("polar_transform", wrong_polar_degrees, "differs"),
    ("rgb_to_hsv", wrong_hsv_hue_in_sixths, "differs"),
    ("hue_histogram", wrong_hue_unweighted, "differs"),
    ("hue_histogram", wrong_hue_loop, "vectorised"),
    ("joint_colour_histogram", wrong_joint_counts, "differs"),
    ("image_gradients", wrong_gradients_np_gradient, "differs"),
    ("magnitude_orientation", wrong_signed_orientation, "differs"),
    ("cell_histograms", wrong_cell_sums, "differs"),
    ("block_normalize", wrong_block_plain_l2, "differs"),
    ("hog_feature_length", wrong_length_no_overlap, "differs"),
    ("hog_features", wrong_hog_channel_mean, "differs"),
    ("extract_random_patches", wrong_patches_always_corner, "all the same"),
    ("extract_random_patches", wrong_patches_channels_first, "not a"),
    ("pairwise_sq_distances", wrong_distances_no_two, "differs"),
    ("kmeans", wrong_kmeans_empty_to_origin, "differs"),
    ("bow_histograms", wrong_bow_counts, "differs"),
])
def test_wrong_implementation_fails(name, wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, name, wrong)


# --------------------------------------------------------------------------- #
# oracles
# --------------------------------------------------------------------------- #
def _example_images():
    from course_utils import synthetic
    images, _ = synthetic.generate_split(6, seed=0, split="test", workers=1)
    return images


def test_hog_matches_skimage():
    """Our HoG = skimage.feature.hog(gray, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
    block_norm="L2-Hys") on the same grayscale image, per image.

    Intended differences, none of which these images trigger: skimage accumulates a cell's sum in
    single precision (we use float64, hence the tolerance 1e-6 rather than 1e-12); and a pixel whose
    orientation rounds to exactly 180 degrees falls in no bin in skimage, while we wrap it to bin 0.
    """
    feature = pytest.importorskip("skimage.feature")
    hog = A1.reference("hog_features")
    rng = np.random.default_rng(0)
    smooth = np.repeat(np.repeat(rng.integers(0, 256, size=(2, 6, 10, 3)), 4, axis=1), 4, axis=2)
    for images in (_example_images(), smooth.astype(np.uint8)):
        ours = hog(images)
        for image, mine in zip(images, ours):
            gray = 0.299 * image[..., 0].astype(np.float64) + 0.587 * image[..., 1] + 0.114 * image[..., 2]
            theirs = feature.hog(gray, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2),
                                 block_norm="L2-Hys", feature_vector=True)
            np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-6)


def test_hog_feature_length_matches_skimage():
    feature = pytest.importorskip("skimage.feature")
    length = A1.reference("hog_feature_length")
    for height, width in ((320, 240), (40, 24), (33, 47)):
        expected = feature.hog(np.zeros((height, width)), orientations=9, pixels_per_cell=(8, 8),
                               cells_per_block=(2, 2)).size
        assert length(height, width) == expected


def test_kmeans_matches_sklearn():
    cluster = pytest.importorskip("sklearn.cluster")
    kmeans = A1.reference("kmeans")
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(100, 4)) + 3 * rng.normal(size=4) for _ in range(5)])
    init = X[rng.choice(len(X), size=5, replace=False)]
    for num_iters in (1, 3, 10):
        centres, assignments = kmeans(X, init, num_iters=num_iters)
        assert np.all(np.bincount(assignments, minlength=5) > 0)  # sklearn relocates empty clusters
        inertia = np.sum((X - centres[assignments]) ** 2)
        theirs = cluster.KMeans(n_clusters=5, init=init, n_init=1, algorithm="lloyd", max_iter=num_iters,
                                tol=0.0).fit(X)
        assert abs(inertia - theirs.inertia_) <= 1e-6 * theirs.inertia_, (num_iters, inertia, theirs.inertia_)
        np.testing.assert_array_equal(assignments, theirs.labels_)


def test_rgb_to_hsv_matches_matplotlib():
    colors = pytest.importorskip("matplotlib.colors")
    rgb = np.random.default_rng(0).uniform(size=(7, 9, 3))
    rgb[0, :3] = [[0.5, 0.5, 0.5], [1, 1, 0], [0, 0, 0]]
    np.testing.assert_allclose(A1.reference("rgb_to_hsv")(rgb), colors.rgb_to_hsv(rgb), atol=1e-12)
