"""Tests of course_utils.preprocessing and course_utils.budget."""
import numpy as np
import pytest

from course_utils import budget, preprocessing


def _toy(n_train=50, n_test=10):
    rng = np.random.default_rng(0)
    X_train = rng.integers(0, 256, size=(n_train, 4, 4, 3), dtype=np.uint8)
    X_test = rng.integers(0, 256, size=(n_test, 4, 4, 3), dtype=np.uint8)
    return X_train, np.arange(n_train) % 10, X_test, np.arange(n_test) % 10


def test_split_sizes_are_disjoint_and_reproducible():
    X_train, y_train, X_test, y_test = _toy()
    splits = preprocessing.split_dataset(X_train, y_train, X_test, y_test,
                                         num_training=30, num_validation=10, num_test=5, num_dev=4)
    assert {k: v.shape[0] for k, v in splits.items()} == {
        "X_train": 30, "y_train": 30, "X_val": 10, "y_val": 10, "X_test": 5, "y_test": 5, "X_dev": 4, "y_dev": 4}
    rows = lambda X: {x.tobytes() for x in X}  # noqa: E731
    assert not rows(splits["X_train"]) & rows(splits["X_val"])
    assert rows(splits["X_dev"]) <= rows(splits["X_train"])
    again = preprocessing.split_dataset(X_train, y_train, X_test, y_test,
                                        num_training=30, num_validation=10, num_test=5, num_dev=4)
    np.testing.assert_array_equal(splits["X_val"], again["X_val"])
    assert splits["X_train"].dtype == np.uint8


def test_split_errors_name_the_problem():
    X_train, y_train, X_test, y_test = _toy()
    with pytest.raises(ValueError, match="num_training=45 must be between 1 and 40"):
        preprocessing.split_dataset(X_train, y_train, X_test, y_test, num_training=45, num_validation=10)
    with pytest.raises(ValueError, match="same number of rows"):
        preprocessing.split_dataset(X_train, y_train[:-1], X_test, y_test)


def test_flatten_mean_and_bias_trick():
    X = np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3)
    rows = preprocessing.flatten(X)
    assert rows.shape == (2, 12) and rows.dtype == np.float64
    mean = preprocessing.mean_image(rows)
    np.testing.assert_allclose(mean, (rows[0] + rows[1]) / 2)
    with_bias = preprocessing.add_bias_column(rows - mean)
    assert with_bias.shape == (2, 13)
    np.testing.assert_array_equal(with_bias[:, -1], 1.0)
    W, b = np.ones((12, 4)), np.arange(4.0)
    np.testing.assert_allclose(with_bias @ np.vstack([W, b]), (rows - mean) @ W + b)


def test_bias_column_rejects_images_and_integers():
    with pytest.raises(ValueError, match="flatten"):
        preprocessing.add_bias_column(np.zeros((2, 4, 4, 3)))
    with pytest.raises(TypeError, match="floating point"):
        preprocessing.add_bias_column(np.zeros((2, 3), dtype=np.uint8))


def test_to_nchw():
    X = np.random.default_rng(1).integers(0, 255, size=(2, 5, 6, 3), dtype=np.uint8)
    x = preprocessing.to_nchw(X)
    assert x.shape == (2, 3, 5, 6) and x.flags.c_contiguous and x.dtype == np.float64
    assert x[1, 2, 4, 5] == X[1, 4, 5, 2]
    with pytest.raises(ValueError, match="already"):
        preprocessing.to_nchw(np.zeros((2, 3, 5, 6)))


def test_budget_switch(monkeypatch):
    monkeypatch.setenv("COURSE_QUICK", "1")
    assert budget.is_quick() and budget.budget(full=1000, quick=10) == 10
    monkeypatch.setenv("COURSE_QUICK", "0")
    assert budget.budget(full=1000, quick=10) == 1000
    monkeypatch.delenv("COURSE_QUICK")
    assert not budget.is_quick()
    monkeypatch.setenv("COURSE_QUICK", "maybe")
    with pytest.raises(ValueError, match="set it to 1"):
        budget.is_quick()
