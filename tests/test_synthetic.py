"""Tests of course_utils.synthetic, the embedded stand-in for CIFAR-10.

The difficulty ladder itself (softmax < features + two-layer net < ConvNet)
takes minutes and is checked by bench/dataset_ladder.py, not here.
"""
import hashlib

import numpy as np
import pytest

from course_utils import synthetic

# SHA-256 of the first 2000 training images and labels for seed 0 (see
# _digest). It pins the generator bit for bit on every machine: it must change
# together with synthetic.GENERATOR_VERSION, and only then.
EXPECTED_VERSION = 1
EXPECTED_SHA256 = "890f97eae22d22bc4b6da80853aa612d6154bbf6185f22650c35aee87f29f543"


def _digest(X, y):
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.uint8).tobytes())
    h.update(np.ascontiguousarray(y, dtype="<i8").tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def train_1200():
    return synthetic.generate_split(1200, seed=0, split="train", workers=1)


def test_class_metadata():
    assert len(synthetic.CLASS_NAMES) == 10
    assert len(set(synthetic.CLASS_NAMES)) == 10
    assert all(name.isalpha() and name.islower() for name in synthetic.CLASS_NAMES)
    colour, shape = set(synthetic.COLOUR_CLASSES), set(synthetic.SHAPE_CLASSES)
    assert colour and shape and not colour & shape
    assert colour | shape == set(range(10))
    assert isinstance(synthetic.GENERATOR_VERSION, int)


def test_arrays_like_cifar10():
    X_train, y_train, X_test, y_test = synthetic.generate(n_train=1000, n_test=500, seed=0)
    for X, y, n in ((X_train, y_train, 1000), (X_test, y_test, 500)):
        assert X.shape == (n, 32, 32, 3) and X.dtype == np.uint8 and X.flags.c_contiguous
        assert y.shape == (n,) and y.dtype == np.int64 and y.flags.c_contiguous
        assert y.min() >= 0 and y.max() < 10
    # a full chunk holds every class exactly equally often, shuffled
    assert np.array_equal(np.bincount(y_train, minlength=10), np.full(10, 100))
    assert not np.array_equal(y_train[:100], np.sort(y_train[:100]))
    # images use the whole intensity range and are not constant
    assert X_train.min() == 0 and X_train.max() == 255
    assert X_train.reshape(1000, -1).std(1).min() > 1.0


def test_empty_split():
    X, y = synthetic.generate_split(0)
    assert X.shape == (0, 32, 32, 3) and X.dtype == np.uint8
    assert y.shape == (0,) and y.dtype == np.int64


def test_prefix_stable(train_1200):
    X, y = train_1200
    X300, y300 = synthetic.generate_split(300, seed=0, split="train")
    assert np.array_equal(X300, X[:300]) and np.array_equal(y300, y[:300])
    # balanced up to the truncation of the last chunk
    counts = np.bincount(y, minlength=10)
    assert counts.max() - counts.min() <= 20


def test_worker_count_does_not_matter(train_1200):
    X1, y1 = train_1200
    X2, y2 = synthetic.generate_split(1200, seed=0, split="train", workers=2)
    X3, y3 = synthetic.generate_split(1200, seed=0, split="train", workers=3)
    assert np.array_equal(X1, X2) and np.array_equal(y1, y2)
    assert np.array_equal(X1, X3) and np.array_equal(y1, y3)


def test_seeds_and_splits_differ(train_1200):
    X, y = train_1200
    X_seed1, y_seed1 = synthetic.generate_split(200, seed=1, split="train")
    X_test, y_test = synthetic.generate_split(200, seed=0, split="test")
    for other in (X_seed1, X_test):
        assert np.mean(other != X[:200]) > 0.5


def test_bit_identical_hash():
    assert synthetic.GENERATOR_VERSION == EXPECTED_VERSION, (
        "GENERATOR_VERSION changed: recompute EXPECTED_SHA256 and update EXPECTED_VERSION together")
    X, y = synthetic.generate_split(2000, seed=0, split="train")
    assert _digest(X, y) == EXPECTED_SHA256, (
        "the generator's output changed; if that is intended, bump GENERATOR_VERSION "
        "and update EXPECTED_SHA256 and EXPECTED_VERSION in this file")


def test_learnable_but_not_trivial(train_1200):
    """Nearest class mean on tiny colour/orientation statistics: clearly better
    than chance, far from perfect."""
    X_train, y_train = train_1200
    X_test, y_test = synthetic.generate_split(600, seed=0, split="test")

    def features(X):
        x = X.astype(np.float64) / 255.0
        rgb = x.mean((1, 2))
        chroma = rgb - rgb.mean(1, keepdims=True)
        grey = x.mean(3)
        gx = np.abs(np.diff(grey, axis=2)).mean((1, 2))
        gy = np.abs(np.diff(grey, axis=1)).mean((1, 2))
        gd = np.abs(grey[:, 1:, 1:] - grey[:, :-1, :-1]).mean((1, 2))
        ga = np.abs(grey[:, 1:, :-1] - grey[:, :-1, 1:]).mean((1, 2))
        edges = np.stack([gx, gy, gd, ga], 1)
        edges = edges / (edges.sum(1, keepdims=True) + 1e-9)
        return np.hstack([chroma * 10, edges * 10])

    F_train, F_test = features(X_train), features(X_test)
    means = np.stack([F_train[y_train == c].mean(0) for c in range(10)])
    dist = ((F_test[:, None, :] - means[None]) ** 2).sum(2)
    acc = np.mean(dist.argmin(1) == y_test)
    assert 0.15 < acc < 0.8, acc


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=-1), ValueError, "n must be >= 0"),
    (dict(n=2.5), TypeError, "integer"),
    (dict(n=10, split="validation"), ValueError, "split must be one of"),
    (dict(n=10, seed=-3), ValueError, "seed"),
    (dict(n=10, workers=0), ValueError, "workers"),
])
def test_generate_split_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        synthetic.generate_split(**kwargs)


def test_generate_rejects_bad_counts():
    with pytest.raises(ValueError, match="n_train"):
        synthetic.generate(n_train=-5, n_test=10)
    with pytest.raises(ValueError, match="n_test"):
        synthetic.generate(n_train=10, n_test=-1)
