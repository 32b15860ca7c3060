"""Judging a student's random hyperparameter sampler by what it draws, for spec files.

A sampler is ``fn(rng, *ranges) -> dict`` drawing one setting (``{"learning_rate": ..., "reg": ...}``)
from the NumPy generator it is given. Its spec case is ``Case(label, (seed, *ranges))``; :func:`run`
draws many settings from a generator of that seed, a few again from the same seed and a few from
another seed, and :func:`judge_log_uniform` checks the draws: inside their ranges, decided by the
generator passed in (not ``np.random``, not a fixed seed), log-uniform (a Kolmogorov-Smirnov gap on
the exponents) and independent of each other. Only the student's draws are judged, so there is no
reference output to compare with.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from autograder.specs import Case

DRAWS = 4000  # settings drawn from one generator
REPEAT = 25  # settings drawn again from the same seed, and from another seed
KS_LIMIT = 0.05  # the largest gap allowed between the exponents' CDF and the uniform one (4000 draws)
MAX_CORRELATION = 0.1  # independent draws: |correlation| is about 0.016 at 4000 draws

Draws = dict[str, np.ndarray]  # key -> (count,) values drawn


def log_range(rng: np.random.Generator, low_exponent: float, decades: float) -> tuple[float, float]:
    """A (low, high) range starting at 10**low_exponent and spanning ``decades`` (0: low == high)."""
    low = float(10.0 ** low_exponent)
    return (low, float(low * 10.0 ** decades)) if decades else (low, low)


def as_number(value: Any, key: str) -> float:
    """``value`` as a float; AssertionError unless it is one real number (bools and arrays refused)."""
    number = isinstance(value, (int, float, np.integer, np.floating)) or (
        type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind in "iuf")
    if isinstance(value, (bool, np.bool_)) or not number:
        raise AssertionError(f"{key!r} must be one number (a float); it is a {type(value).__name__}.")
    return float(value)


def as_int(value: Any, key: str) -> int:
    """``value`` as an int; AssertionError unless it is one integer (bools refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise AssertionError(f"{key!r} must be an int; it is a {type(value).__name__}.")
    return int(value)


Converters = Mapping[str, Callable[[Any, str], float]]


def _draw(fn: Callable, seed: int, ranges: tuple, converters: Converters, count: int) -> Draws:
    rng = np.random.default_rng(seed)
    drawn: dict[str, list] = {key: [] for key in converters}
    for _ in range(count):
        sample = fn(rng, *ranges)
        if type(sample) is not dict:
            raise AssertionError(f"it must return a dict; it returned a {type(sample).__name__}.")
        for key, convert in converters.items():
            if key not in sample:
                raise AssertionError(f"the returned dict has no key {key!r}.")
            drawn[key].append(convert(sample[key], key))
    return {key: np.array(values) for key, values in drawn.items()}


def run(fn: Callable, case: Case, converters: Converters) -> tuple[Draws, Draws, Draws]:
    """A spec's ``run``: (many draws, a few again from the same seed, a few from another seed).

    ``case.args`` is ``(seed, *ranges)``; ``converters`` maps each key the dict must hold to
    :func:`as_number` or :func:`as_int`. The global NumPy generator is reseeded between the runs,
    so a sampler that uses it cannot repeat itself, and restored afterwards.
    """
    seed, *ranges = case.args
    saved = np.random.get_state()
    try:
        np.random.seed(seed % 2 ** 32)
        first = _draw(fn, seed, tuple(ranges), converters, DRAWS)
        np.random.seed((seed + 1) % 2 ** 32)
        again = _draw(fn, seed, tuple(ranges), converters, REPEAT)
        other = _draw(fn, seed + 1, tuple(ranges), converters, REPEAT)
    finally:
        np.random.set_state(saved)
    return first, again, other


def judge_log_uniform(got: tuple[Draws, Draws, Draws], ranges: Mapping[str, tuple[float, float]],
                      also_varying: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Check the draws of every key of ``ranges``: in range, seeded by the rng passed in, log-uniform, independent.

    Args:
        got: what :func:`run` returned.
        ranges: key -> (low, high); a key with low == high must always be low.
        also_varying: other drawn keys that must change with the seed (e.g. a width picked from a list).

    Returns:
        The position of each varying key in its range, from 0 to 1 on the log scale, per draw.

    Raises:
        AssertionError: with a message for the student.
    """
    first, again, other = got
    for key, (low, high) in ranges.items():
        values = first[key]
        if not np.all(np.isfinite(values)):
            raise AssertionError(f"{key} takes non-finite values.")
        outside = (values < low * (1 - 1e-9)) | (values > high * (1 + 1e-9))
        if outside.any():
            raise AssertionError(f"{key} = {values[outside][0]:.4g} lies outside its range [{low:.4g}, {high:.4g}].")
    if any(not np.array_equal(first[key][:REPEAT], again[key]) for key in first):
        raise AssertionError("two generators with the same seed gave different draws: draw every random number "
                             "from the rng passed in (not from np.random or a generator made inside the function).")
    varying = [key for key, (low, high) in ranges.items() if low < high]
    changing = varying + list(also_varying)
    if changing and all(np.array_equal(first[key][:REPEAT], other[key]) for key in changing):
        raise AssertionError("generators with different seeds gave the same draws: use the rng passed in, not a "
                             "generator with a fixed seed.")
    positions = {}
    for key in varying:
        low, high = ranges[key]
        position = np.clip((np.log(first[key]) - np.log(low)) / (np.log(high) - np.log(low)), 0.0, 1.0)
        ordered, n = np.sort(position), position.size
        gap = max(np.max(np.arange(1, n + 1) / n - ordered), np.max(ordered - np.arange(n) / n))
        if gap > KS_LIMIT:
            below = float(np.mean(first[key] < np.sqrt(low * high)))
            raise AssertionError(f"{key} is not log-uniform on [{low:.4g}, {high:.4g}]: the logarithms of the draws "
                                 f"are not spread evenly (their distribution is {gap:.2f} away from the uniform "
                                 f"one), and {below:.0%} of the draws fall below the geometric middle "
                                 f"sqrt(low * high) = {np.sqrt(low * high):.4g}, where half of them should.")
        positions[key] = position
    names = sorted(positions)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert_independent(positions[a], positions[b], a, b)
    return positions


def assert_independent(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """AssertionError when two drawn quantities are correlated beyond what independent draws show."""
    correlation = float(np.corrcoef(a, b)[0, 1])
    if not abs(correlation) < MAX_CORRELATION:
        raise AssertionError(f"{name_a} and {name_b} move together (correlation {correlation:.2f}): draw them "
                             f"independently, each from its own random number.")
