"""Specs of a1 / 00_knn: the distance matrix three ways, the k-nearest-neighbour vote, cross-validation of k."""
from __future__ import annotations

import numpy as np

from autograder.specs import Case, Spec

# Every graded function of the notebook beside this file, checked by its hidden test cell.
SPECS: list[Spec] = []

# --- distances ----------------------------------------------------------------------------------


def _distance_cases(rng):
    """(X_test, X_train) pairs; float64 rows of the same length."""
    yield Case("typical (M=4, N=7, D=5)", (rng.normal(size=(4, 5)), rng.normal(size=(7, 5))))
    yield Case("one test example", (rng.normal(size=(1, 6)), rng.normal(size=(9, 6))))
    yield Case("one training example, one feature", (rng.normal(size=(5, 1)), rng.normal(size=(1, 1))))
    yield Case("more test than training examples, far from the origin",
               (3.0 * rng.normal(size=(8, 3)) + 10.0, rng.normal(size=(2, 3))))
    # Repeated rows: the expansion rounds a zero distance to +-1e-15 or so; a negative one must be clipped
    # before the square root (nan otherwise). Values of order 1 keep the rounding far below atol.
    train = rng.normal(size=(30, 6))
    yield Case("float test rows copied from the training rows (distance 0)",
               (np.vstack([train[rng.permutation(30)], rng.normal(size=(2, 6))]), train))
    # Integer-valued pixels: the expansion of the square is exact here, so repeated rows give exactly 0.
    pixels = rng.integers(0, 256, size=(6, 48)).astype(np.float64)
    yield Case("pixel values, test rows copied from the training rows (distance 0)",
               (pixels[rng.permutation(6)[:3]].copy(), pixels))


# The expansion and the direct difference round differently: relative 1e-7 is ample for both,
# and atol covers distances that should be 0 (the square root magnifies the rounding near 0).
_DISTANCES = dict(cases=_distance_cases, outputs=("dists",), rtol=1e-7, atol=1e-6)
SPECS.append(Spec("compute_distances_two_loops", **_DISTANCES))
SPECS.append(Spec("compute_distances_one_loop", **_DISTANCES))
SPECS.append(Spec("compute_distances_no_loops", vectorised=True, **_DISTANCES))

# --- the vote -----------------------------------------------------------------------------------


def _tied_votes(rng, num_test, top, k):
    """Distances where the k nearest split their votes evenly between two labels, the larger one nearest.

    ``top`` lists the labels of the nearest neighbours in order of distance; the predicted label must
    be the smallest of the tied ones even though the nearest neighbour carries the largest.
    """
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    dists = np.empty((num_test, labels.size))
    for i in range(num_test):
        chosen = []
        for label in top[i % len(top)]:
            candidates = [j for j in np.flatnonzero(labels == label) if j not in chosen]
            chosen.append(int(rng.choice(candidates)))
        rest = [j for j in range(labels.size) if j not in chosen]
        dists[i, chosen] = np.sort(rng.uniform(0.0, 1.0, size=len(chosen)))
        dists[i, rest] = rng.uniform(1.5, 3.0, size=len(rest))
    return Case(f"tied votes, k={k} (the smallest tied label wins)", (dists, labels), {"k": k})


def _vote_cases(rng):
    """(dists, y_train) with k; labels are int64 and non-negative."""
    yield Case("typical, k=3", (rng.random((6, 10)), rng.integers(0, 4, size=10)), {"k": 3})
    yield Case("k=1", (rng.random((5, 8)), rng.integers(0, 3, size=8)), {"k": 1})
    yield Case("default k", (rng.random((4, 6)), rng.integers(0, 5, size=6)))
    yield Case("k=N: every training example votes", (rng.random((3, 7)), rng.integers(0, 3, size=7)), {"k": 7})
    yield _tied_votes(rng, 4, [(3, 1), (4, 0), (2, 1)], k=2)
    yield _tied_votes(rng, 3, [(4, 4, 2, 2), (3, 1, 1, 3)], k=4)
    # Small integer distances: many equal distances, so the stable order decides who is among the k.
    yield Case("equal distances, k=3 (lower training index first)",
               (rng.integers(0, 3, size=(40, 20)).astype(np.float64), rng.integers(0, 4, size=20)), {"k": 3})
    yield Case("equal distances, k=1",
               (rng.integers(0, 2, size=(30, 6)).astype(np.float64), rng.permutation(6)), {"k": 1})
    yield Case("labels with gaps (classes 0, 3 and 7 only)",
               (rng.random((5, 9)), rng.choice(np.array([0, 3, 7]), size=9)), {"k": 5})
    yield Case("one test example, one training example", (rng.random((1, 1)), np.array([2])), {"k": 1})


SPECS.append(Spec("knn_predict", cases=_vote_cases, outputs=("labels",), exact=True))

# --- cross-validation ---------------------------------------------------------------------------


def _blobs(rng, n, c, d, spread=1.0):
    """n rows around c random centres, in random order: neighbours are right often, not always."""
    centres = 1.5 * rng.normal(size=(c, d))
    y = rng.permutation(np.arange(n) % c).astype(np.int64)
    return centres[y] + spread * rng.normal(size=(n, d)), y


def _cv_cases(rng):
    """(X, y, k_choices) with num_folds; continuous data, so no two distances tie."""
    yield Case("5 folds, 3 classes", _blobs(rng, 40, 3, 4) + ([1, 3, 5, 8],), {"num_folds": 5})
    yield Case("rows not a multiple of the folds (23 rows, 4 folds)", _blobs(rng, 23, 3, 2) + ([1, 2, 7],),
               {"num_folds": 4})
    yield Case("default num_folds", _blobs(rng, 30, 4, 3) + ([1, 4],))
    yield Case("2 folds, k as large as the kept rows", _blobs(rng, 12, 2, 3) + ([1, 6],), {"num_folds": 2})
    yield Case("one row per fold (leave one out)", _blobs(rng, 9, 3, 2) + ([1, 3],), {"num_folds": 9})


SPECS.append(Spec("cross_validate_k", cases=_cv_cases, outputs=("accuracies",), rtol=1e-9, atol=1e-12,
                  stand_ins=("compute_distances_no_loops", "knn_predict")))
