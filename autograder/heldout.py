"""Held-out images for accuracy targets: made by the grader from a seed the student's kernel never sees.

Only the images go into the sandbox; the labels stay in the grading process, which computes the
accuracy of the predictions the kernel records (:func:`autograder.judge.accuracy_failures`).
"""
from __future__ import annotations

import numpy as np

from course_utils import data, synthetic


def make(dataset: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` labelled images of ``dataset`` no notebook has seen, for ``seed``.

    For the embedded dataset they are freshly generated (the test split's stream of another seed);
    for CIFAR-10 they are a random draw from its test batch.

    Returns:
        images (count, 32, 32, 3) uint8 and labels (count,) int64.

    Raises:
        ValueError: the dataset is not one the grader can make held-out images of.
    """
    if dataset == "synthetic":
        return synthetic.generate_split(count, seed=seed, split="test", workers=1)
    if dataset == "cifar10":
        loaded = data.load_cifar10()
        chosen = np.random.default_rng(seed).choice(len(loaded.X_test), size=count, replace=False)
        return loaded.X_test[chosen], loaded.y_test[chosen]
    raise ValueError(f"No held-out images can be made of the dataset {dataset!r}; use synthetic or cifar10.")
