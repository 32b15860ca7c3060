"""Specs of a1 / 00_knn: the references pass, scikit-learn agrees with them, plausible mistakes fail."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from autograder.course import Course
from autograder.judge import check_locally

A1 = Course.at(Path(__file__).resolve().parents[1]).assignment("a1")

NAMES = ["compute_distances_two_loops", "compute_distances_one_loop", "compute_distances_no_loops",
         "knn_predict", "cross_validate_k"]


@pytest.mark.parametrize("salt", [0, 1, 2])
@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_its_own_spec(name, salt):
    check_locally(A1, name, A1.reference(name), salt=salt)


def test_vectorised_flag_only_on_the_no_loop_version():
    assert A1.spec("compute_distances_no_loops").vectorised
    assert not A1.spec("compute_distances_two_loops").vectorised
    assert not A1.spec("compute_distances_one_loop").vectorised


@pytest.mark.parametrize("salt", [0, 1])
@pytest.mark.parametrize("name", ["compute_distances_two_loops", "compute_distances_one_loop"])
def test_any_correct_distance_passes_the_loop_versions(name, salt):
    """The loop versions are judged by their result: the vectorised reference passes them too."""
    check_locally(A1, name, A1.reference("compute_distances_no_loops"), salt=salt)


# --- oracles -------------------------------------------------------------------------------------


def test_distances_agree_with_scikit_learn():
    from sklearn.metrics.pairwise import euclidean_distances

    rng = np.random.default_rng(0)
    X_test, X_train = rng.normal(size=(7, 12)), rng.normal(size=(11, 12))
    expected = euclidean_distances(X_test, X_train)
    for name in NAMES[:3]:
        np.testing.assert_allclose(A1.reference(name)(X_test, X_train), expected, rtol=1e-10, err_msg=name)


def test_distances_of_pixel_rows_agree_with_scikit_learn():
    from sklearn.metrics.pairwise import euclidean_distances

    rng = np.random.default_rng(1)
    X_train = rng.integers(0, 256, size=(40, 3072)).astype(np.float64)
    X_test = np.vstack([X_train[:3], rng.integers(0, 256, size=(5, 3072)).astype(np.float64)])
    got = A1.reference("compute_distances_no_loops")(X_test, X_train)
    np.testing.assert_allclose(got, euclidean_distances(X_test, X_train), rtol=1e-9, atol=1e-6)
    assert np.all(np.diag(got[:3, :3]) == 0.0)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_vote_agrees_with_scikit_learn(k):
    """Continuous data (no equal distances); scikit-learn also breaks vote ties towards the smallest label."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(k)
    X_train, y_train = rng.normal(size=(60, 5)), rng.integers(0, 6, size=60)
    X_test = rng.normal(size=(40, 5))
    dists = A1.reference("compute_distances_no_loops")(X_test, X_train)
    got = A1.reference("knn_predict")(dists, y_train, k)
    expected = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(X_train, y_train).predict(X_test)
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


def test_cross_validation_agrees_with_scikit_learn():
    """KFold without shuffling makes the same folds as np.array_split (the first folds one row longer)."""
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(3, 4))
    y = rng.integers(0, 3, size=53)
    X = centres[y] + rng.normal(size=(53, 4))
    k_choices = [1, 3, 5, 10]
    got = A1.reference("cross_validate_k")(X, y, k_choices, num_folds=4)
    assert got.shape == (4, 4)
    for row, k in zip(got, k_choices):
        expected = cross_val_score(KNeighborsClassifier(n_neighbors=k, algorithm="brute"), X, y, cv=KFold(4))
        np.testing.assert_allclose(row, expected, rtol=1e-12)


# --- plausible wrong implementations (defined with def so that their source can be read) ----------


def distances_squared(X_test, X_train):
    return np.sum(X_test ** 2, axis=1)[:, None] - 2 * X_test @ X_train.T + np.sum(X_train ** 2, axis=1)


def distances_sign_error(X_test, X_train):
    squared = np.sum(X_test ** 2, axis=1)[:, None] + 2 * X_test @ X_train.T + np.sum(X_train ** 2, axis=1)
    return np.sqrt(np.maximum(squared, 0.0))


def distances_without_clipping(X_test, X_train):
    with np.errstate(invalid="ignore"):
        return np.sqrt(np.sum(X_test ** 2, axis=1)[:, None] - 2 * X_test @ X_train.T + np.sum(X_train ** 2, axis=1))


def distances_with_a_comprehension(X_test, X_train):
    return np.array([np.sqrt(np.sum((X_train - row) ** 2, axis=1)) for row in X_test])


def distances_summing_absolute_values(X_test, X_train):
    return np.abs(X_test[:, None, :] - X_train[None, :, :]).sum(axis=2)


@pytest.mark.parametrize("name, wrong, message", [
    ("compute_distances_two_loops", distances_squared, "dists differs"),
    ("compute_distances_one_loop", distances_summing_absolute_values, "dists differs"),
    ("compute_distances_no_loops", distances_sign_error, "dists differs"),
    ("compute_distances_no_loops", distances_without_clipping, "non-finite|differs"),
    ("compute_distances_no_loops", distances_with_a_comprehension, "list comprehension"),
])
def test_wrong_distances_fail(name, wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, name, wrong)


def distances_einsum_order(X_test, X_train):
    """Correct, with the terms summed in another order: rounding differs from the reference's."""
    squared = (np.einsum("ij,ij->i", X_train, X_train)[None, :] - 2.0 * np.dot(X_test, X_train.T)) \
        + np.einsum("ij,ij->i", X_test, X_test)[:, None]
    return np.sqrt(np.clip(squared, 0.0, None))


@pytest.mark.parametrize("salt", range(6))
def test_a_differently_rounded_correct_version_passes(salt):
    check_locally(A1, "compute_distances_no_loops", distances_einsum_order, salt=salt)


def test_a_loop_version_fails_only_where_vectorised():
    check_locally(A1, "compute_distances_one_loop", distances_with_a_comprehension)
    with pytest.raises(AssertionError, match="must be fully vectorised"):
        check_locally(A1, "compute_distances_no_loops", A1.reference("compute_distances_one_loop"))


def vote_nearest_label_wins_ties(dists, y_train, k=1):
    """Counter.most_common keeps the first label met, i.e. the nearest neighbour's, among equal counts."""
    nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
    return np.array([Counter(y_train[row].tolist()).most_common(1)[0][0] for row in nearest], dtype=np.int64)


def vote_largest_label_wins_ties(dists, y_train, k=1):
    nearest = np.argsort(dists, axis=1, kind="stable")[:, :k]
    counts = np.sum(y_train[nearest][:, :, None] == np.arange(y_train.max() + 1), axis=1)
    return (counts.shape[1] - 1 - np.argmax(counts[:, ::-1], axis=1)).astype(np.int64)


def vote_unstable_neighbours(dists, y_train, k=1):
    """argpartition finds *a* set of k nearest, without the stated order among equal distances."""
    nearest = np.argpartition(dists, k - 1, axis=1)[:, :k] if k < dists.shape[1] else np.arange(dists.shape[1])[None]
    nearest = np.broadcast_to(nearest, (dists.shape[0], min(k, dists.shape[1])))
    counts = np.sum(y_train[nearest][:, :, None] == np.arange(y_train.max() + 1), axis=1)
    return np.argmax(counts, axis=1).astype(np.int64)


def vote_farthest_neighbours(dists, y_train, k=1):
    nearest = np.argsort(dists, axis=1, kind="stable")[:, -k:]
    counts = np.sum(y_train[nearest][:, :, None] == np.arange(y_train.max() + 1), axis=1)
    return np.argmax(counts, axis=1).astype(np.int64)


def vote_float_labels(dists, y_train, k=1):
    return A1.reference("knn_predict")(dists, y_train, k).astype(np.float64) + 0.5


@pytest.mark.parametrize("wrong, message", [
    (vote_nearest_label_wins_ties, "labels differs"),
    (vote_largest_label_wins_ties, "labels differs"),
    (vote_unstable_neighbours, "equal distances"),
    (vote_farthest_neighbours, "differs"),
    (vote_float_labels, "differs"),
])
def test_wrong_votes_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "knn_predict", wrong)


@pytest.mark.parametrize("salt", [0, 1, 2])
@pytest.mark.parametrize("wrong, prefix", [
    (vote_nearest_label_wins_ties, "tied votes"),
    (vote_largest_label_wins_ties, "tied votes"),
    (vote_unstable_neighbours, "equal distances"),
])
def test_each_tie_rule_has_cases_that_catch_its_violation(wrong, prefix, salt):
    spec, reference = A1.spec("knn_predict"), A1.reference("knn_predict")
    cases = [case for case in spec.cases(spec.rng(salt)) if case.label.startswith(prefix)]
    assert cases
    assert any(not np.array_equal(wrong(*case.args, **case.kwargs), reference(*case.args, **case.kwargs))
               for case in cases)


def test_the_tie_cases_are_ties():
    """The spec's tied-vote cases really split the votes, with a larger label nearest."""
    spec = A1.spec("knn_predict")
    tied = [case for case in spec.cases(spec.rng(0)) if case.label.startswith("tied votes")]
    assert len(tied) == 2
    for case in tied:
        dists, labels = case.args
        k = case.kwargs["k"]
        for row in dists:
            votes = labels[np.argsort(row, kind="stable")[:k]]
            counts = np.bincount(votes)
            assert np.sum(counts == counts.max()) == 2, votes
            assert votes[0] == votes.max(), votes


@pytest.fixture
def with_reference_helpers(monkeypatch):
    """The wrong cross-validations below find the reference helpers beside them, as in the notebook."""
    for name in ("compute_distances_no_loops", "knn_predict"):
        monkeypatch.setitem(globals(), name, A1.reference(name))


def cross_validate_interleaved_folds(X, y, k_choices, num_folds=5):
    accuracies = np.zeros((len(k_choices), num_folds))
    for f in range(num_folds):
        held_out = np.arange(X.shape[0]) % num_folds == f
        dists = compute_distances_no_loops(X[held_out], X[~held_out])  # noqa: F821 (see the fixture)
        for a, k in enumerate(k_choices):
            accuracies[a, f] = np.mean(knn_predict(dists, y[~held_out], k) == y[held_out])  # noqa: F821
    return accuracies


def cross_validate_keeping_the_fold(X, y, k_choices, num_folds=5):
    folds = np.array_split(np.arange(X.shape[0]), num_folds)
    accuracies = np.zeros((len(k_choices), num_folds))
    for f, held_out in enumerate(folds):
        dists = compute_distances_no_loops(X[held_out], X)  # noqa: F821
        for a, k in enumerate(k_choices):
            accuracies[a, f] = np.mean(knn_predict(dists, y, k) == y[held_out])  # noqa: F821
    return accuracies


def cross_validate_transposed(X, y, k_choices, num_folds=5):
    folds = np.array_split(np.arange(X.shape[0]), num_folds)
    accuracies = np.zeros((num_folds, len(k_choices)))
    for f, held_out in enumerate(folds):
        kept = np.setdiff1d(np.arange(X.shape[0]), held_out)
        dists = compute_distances_no_loops(X[held_out], X[kept])  # noqa: F821
        for a, k in enumerate(k_choices):
            accuracies[f, a] = np.mean(knn_predict(dists, y[kept], k) == y[held_out])  # noqa: F821
    return accuracies


def cross_validate_correct_with_setdiff(X, y, k_choices, num_folds=5):
    """Correct: np.setdiff1d keeps the other rows sorted, i.e. in their original order."""
    return cross_validate_transposed(X, y, k_choices, num_folds).T.copy()


@pytest.mark.usefixtures("with_reference_helpers")
@pytest.mark.parametrize("wrong, message", [
    (cross_validate_interleaved_folds, "accuracies differs"),
    (cross_validate_keeping_the_fold, "accuracies differs"),
    (cross_validate_transposed, "shape"),
])
def test_wrong_cross_validations_fail(wrong, message):
    with pytest.raises(AssertionError, match=message):
        check_locally(A1, "cross_validate_k", wrong)


@pytest.mark.usefixtures("with_reference_helpers")
def test_another_correct_cross_validation_passes():
    for salt in (0, 1):
        check_locally(A1, "cross_validate_k", cross_validate_correct_with_setdiff, salt=salt)

