"""The preprocessing steps the notebooks share.

Typical use for a linear classifier::

    splits = split_dataset(X_train, y_train, X_test, y_test, num_validation=1000, num_dev=500)
    X_tr = flatten(splits["X_train"])              # (N, 3072) float64
    mean = mean_image(X_tr)                         # (3072,)
    X_tr = add_bias_column(X_tr - mean)             # (N, 3073), last column all ones

and for a ConvNet::

    x = to_nchw(splits["X_train"])                  # (N, 3, 32, 32) float64
"""
from __future__ import annotations

import numpy as np

from course_utils._validation import (
    as_array,
    check_dtype_kind,
    check_ndim,
    check_same_length,
)


def split_dataset(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *,
                  num_training: int | None = None, num_validation: int = 1000, num_test: int | None = None,
                  num_dev: int = 500, seed: int = 0) -> dict[str, np.ndarray]:
    """Split the loaded data into train / validation / test / dev sets.

    Validation rows are drawn at random (seeded) from the training data and removed from it; the
    dev set is a small random subset of the remaining training rows (for quick experiments); the
    test set is the first ``num_test`` test rows.

    Args:
        X_train: (N, ...) training images; y_train: (N,) labels.
        X_test: (M, ...) test images; y_test: (M,) labels.
        num_training: training rows to keep (default: all left after validation).
        num_validation: rows moved to the validation set.
        num_test: test rows to keep (default: all).
        num_dev: size of the dev subset of the training set.
        seed: seed of the random choice of rows.

    Returns:
        A dict with keys ``X_train, y_train, X_val, y_val, X_test, y_test, X_dev, y_dev``; arrays
        keep their dtype and trailing shape.
    """
    X_train, y_train = as_array(X_train, "X_train"), as_array(y_train, "y_train")
    X_test, y_test = as_array(X_test, "X_test"), as_array(y_test, "y_test")
    check_ndim(y_train, 1, "y_train")
    check_ndim(y_test, 1, "y_test")
    check_same_length(X_train, y_train, "X_train", "y_train")
    check_same_length(X_test, y_test, "X_test", "y_test")
    available = X_train.shape[0] - num_validation
    if num_validation < 0 or available <= 0:
        raise ValueError(f"num_validation={num_validation} leaves no training data out of {X_train.shape[0]} rows; "
                         f"choose 0 <= num_validation < {X_train.shape[0]}.")
    num_training = available if num_training is None else num_training
    if not 0 < num_training <= available:
        raise ValueError(f"num_training={num_training} must be between 1 and {available} (the training rows "
                         f"left after {num_validation} validation rows).")
    num_test = X_test.shape[0] if num_test is None else num_test
    if not 0 <= num_test <= X_test.shape[0]:
        raise ValueError(f"num_test={num_test} must be between 0 and {X_test.shape[0]}.")
    if not 0 <= num_dev <= num_training:
        raise ValueError(f"num_dev={num_dev} must be between 0 and num_training={num_training}.")

    rng = np.random.default_rng(seed)
    order = rng.permutation(X_train.shape[0])
    val_rows = np.sort(order[:num_validation])
    train_rows = np.sort(order[num_validation:num_validation + num_training])
    dev_rows = np.sort(rng.choice(train_rows, size=num_dev, replace=False))
    return {
        "X_train": X_train[train_rows], "y_train": y_train[train_rows],
        "X_val": X_train[val_rows], "y_val": y_train[val_rows],
        "X_test": X_test[:num_test], "y_test": y_test[:num_test],
        "X_dev": X_train[dev_rows], "y_dev": y_train[dev_rows],
    }


def flatten(X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Reshape images (N, H, W, C) (or any (N, ...)) into rows (N, H*W*C) of ``dtype``."""
    X = as_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must hold one example per row, shape (N, ...); got shape {X.shape}.")
    return X.reshape(X.shape[0], -1).astype(dtype)


def mean_image(X: np.ndarray) -> np.ndarray:
    """Return the mean over the first axis: (N, ...) -> (...) float64.

    Compute it on the training set only and subtract the same mean from every split.
    """
    X = as_array(X, "X")
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty stack of examples, shape (N, ...); got shape {X.shape}.")
    return X.mean(axis=0, dtype=np.float64)


def add_bias_column(X: np.ndarray) -> np.ndarray:
    """Append a column of ones: (N, D) -> (N, D + 1), so the bias becomes the last row of W.

    This is the bias trick: ``X @ W + b`` equals ``add_bias_column(X) @ np.vstack([W, b])``.
    """
    X = as_array(X, "X")
    check_ndim(X, 2, "X", "(N, D); flatten images first with flatten(X)")
    check_dtype_kind(X, "f", "X")
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def to_nchw(X: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Reorder images (N, H, W, C) as loaded into (N, C, H, W) of ``dtype``, the layout of the ConvNet layers."""
    X = as_array(X, "X")
    check_ndim(X, 4, "X", "(N, H, W, C)")
    if X.shape[-1] not in (1, 3):
        raise ValueError(f"X must be laid out as (N, H, W, C) with C = 1 or 3 channels last; got shape {X.shape}. "
                         f"Is it already (N, C, H, W)?")
    return np.ascontiguousarray(X.transpose(0, 3, 1, 2), dtype=dtype)
