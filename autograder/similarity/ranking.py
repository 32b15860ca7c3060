"""Score answers of one cell against each other, the reference and known code, with a baseline.

Similarity of two answers is the Jaccard index of their fingerprint sets (shared fingerprints over
all distinct fingerprints of the two). Whether a similarity is remarkable depends on the cell: a
short, standard function is written alike by everyone. So each cell gets a :class:`Baseline`, the
median and spread of the similarity of random pairs of its answers (most pairs in a class are
independent answers), and a pair is flagged only when it stands well above it.

Fingerprints held by many answers of a cell are what everyone writes: as MOSS does (its ``-m``
option), they are dropped before anything is measured (:func:`distinctive`), so similarity counts
only what is distinctive, and an answer with nothing distinctive is not compared.

Pairs are never enumerated naively: an inverted index from fingerprint to answers proposes only
pairs that share at least :data:`MIN_SHARED` fingerprints.
"""
from __future__ import annotations

import enum
import math
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

#: An answer with fewer fingerprints (after removing starter code) is too short to compare;
#: a cell whose typical answer is that short is skipped.
MIN_FINGERPRINTS = 8
#: Random pairs on which a cell's baseline is measured (all pairs when there are fewer).
BASELINE_PAIRS = 2000
#: Fewer baseline pairs than this (fewer than 3 answers) do not make a baseline.
MIN_BASELINE_PAIRS = 3
#: Flag when similarity >= median + SPREADS * spread ...
SPREADS = 3.0
#: ... with the spread taken as at least this (a class that writes nearly identical answers) ...
MIN_SPREAD = 0.05
#: ... and never below this similarity (or UNMEASURED_THRESHOLD without a baseline) ...
MIN_SIMILARITY = 0.5
UNMEASURED_THRESHOLD = 0.8
#: ... and only above the similarity that max(TAIL, TAIL_MIN_COUNT / pairs) of the baseline's
#: pairs reach (when 1% of random pairs are identical, identical is not remarkable).
TAIL = 0.01
TAIL_MIN_COUNT = 3
#: A fingerprint held by more than max(COMMON_MIN, COMMON_FRACTION * answers) answers of a cell
#: is common: it is not compared.
COMMON_MIN = 5
COMMON_FRACTION = 0.01
#: Pairs must share this many fingerprints to be scored.
MIN_SHARED = 2
#: A known function takes part in a match when this share of its fingerprints is in the answer.
KNOWN_COVER = 0.5
#: 1.4826 * median absolute deviation estimates a standard deviation robustly.
_MAD_TO_SD = 1.4826


class MatchKind(enum.Enum):
    """What an answer was found similar to."""

    STUDENT = "student"
    REFERENCE = "reference"
    KNOWN = "known"


@dataclass(frozen=True)
class Baseline:
    """How alike independent answers to one cell are."""

    answers: int  # answers long enough to compare
    pairs: int  # pairs the median and spread were measured on
    median: float
    spread: float  # robust standard deviation (1.4826 * MAD), at least MIN_SPREAD
    tail: float = 0.0  # the similarity that the top max(TAIL, TAIL_MIN_COUNT / pairs) of pairs reach

    @property
    def measured(self) -> bool:
        """Whether there were enough answers to measure a baseline."""
        return self.pairs >= MIN_BASELINE_PAIRS

    @property
    def threshold(self) -> float:
        """The similarity from which a pair in this cell is flagged."""
        if not self.measured:
            return UNMEASURED_THRESHOLD
        return max(MIN_SIMILARITY, self.median + SPREADS * self.spread, math.nextafter(self.tail, math.inf))

    def score(self, similarity: float) -> float:
        """How far a similarity lies from the typical pair (0) towards identical answers (1)."""
        median = self.median if self.measured else 0.0
        if median >= 1.0:
            return 0.0
        return min(1.0, max(0.0, (similarity - median) / (1.0 - median)))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """Shared fingerprints over all distinct fingerprints of two answers (0 when both empty)."""
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return shared / union if union else 0.0


def comparable(fingerprints: Iterable[frozenset[int]]) -> bool:
    """Whether a cell's typical answer is long enough to say anything (its non-empty answers
    have a median of at least MIN_FINGERPRINTS fingerprints)."""
    sizes = [len(found) for found in fingerprints if found]
    return bool(sizes) and statistics.median(sizes) >= MIN_FINGERPRINTS


def _baseline(count: int, values: Sequence[float]) -> Baseline:
    """Median and robust spread of similarities measured on ``count`` answers."""
    if not values:
        return Baseline(count, 0, 0.0, MIN_SPREAD)
    median = statistics.median(values)
    spread = _MAD_TO_SD * statistics.median(abs(value - median) for value in values)
    tail = float(np.quantile(values, 1.0 - max(TAIL, TAIL_MIN_COUNT / len(values))))
    return Baseline(count, len(values), median, max(spread, MIN_SPREAD), tail)


def baseline(fingerprints: Sequence[frozenset[int]], seed: str) -> Baseline:
    """The baseline of a cell from its comparable answers (random pairs, seeded by ``seed``)."""
    count = len(fingerprints)
    total = count * (count - 1) // 2
    if total <= BASELINE_PAIRS:
        pairs = [(i, j) for i in range(count) for j in range(i + 1, count)]
    else:
        chooser = random.Random(seed)
        pairs = []
        while len(pairs) < BASELINE_PAIRS:
            i, j = chooser.randrange(count), chooser.randrange(count)
            if i != j:
                pairs.append((i, j))
    return _baseline(count, [jaccard(fingerprints[i], fingerprints[j]) for i, j in pairs])


def source_baseline(similarities: Sequence[float]) -> Baseline:
    """How alike a cell's answers are to one source (the reference, a known file), from the
    similarity of every comparable answer to it. Such a source is where correct answers
    converge, so it has its own baseline: a function that many students write exactly like the
    reference is not flagged."""
    return _baseline(len(similarities), similarities)


def distinctive(fingerprints: Sequence[frozenset[int]]) -> tuple[list[frozenset[int]], frozenset[int]]:
    """The answers' fingerprints without the cell's common ones, and the common ones."""
    held: dict[int, int] = defaultdict(int)
    for found in fingerprints:
        for value in found:
            held[value] += 1
    limit = max(COMMON_MIN, math.ceil(COMMON_FRACTION * len(fingerprints)))
    common = frozenset(value for value, count in held.items() if count > limit)
    return [found - common for found in fingerprints], common


def candidate_pairs(fingerprints: Sequence[frozenset[int]]) -> list[tuple[int, int]]:
    """Pairs (i < j) of answers sharing at least MIN_SHARED fingerprints, via an inverted index
    (``fingerprints`` without common ones, so no fingerprint is held by many answers)."""
    count = len(fingerprints)
    postings: dict[int, list[int]] = defaultdict(list)
    for number, found in enumerate(fingerprints):
        for value in found:
            postings[value].append(number)
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    for holders in postings.values():
        if len(holders) >= 2:
            by_size[len(holders)].append(holders)
    keys = []
    for size, groups in by_size.items():
        table = np.array(groups, dtype=np.int64)  # one row per fingerprint, holders ascending
        first, second = np.triu_indices(size, 1)
        keys.append(table[:, first].ravel() * count + table[:, second].ravel())
    if not keys:
        return []
    unique, shared = np.unique(np.concatenate(keys), return_counts=True)
    chosen = unique[shared >= MIN_SHARED]
    return list(zip((chosen // count).tolist(), (chosen % count).tolist()))


def student_matches(fingerprints: Sequence[frozenset[int]], cell: Baseline) -> list[tuple[int, int, float]]:
    """Flagged pairs (i, j, similarity) among a cell's comparable answers."""
    found = []
    for i, j in candidate_pairs(fingerprints):
        similarity = jaccard(fingerprints[i], fingerprints[j])
        if similarity >= cell.threshold:
            found.append((i, j, similarity))
    return found


class KnownIndex:
    """Fingerprints of the functions of known solutions, indexed by fingerprint."""

    def __init__(self, functions: Sequence[tuple[str, frozenset[int]]]) -> None:
        """``functions``: (file name, fingerprints) of each known function."""
        self.files = [file for file, _ in functions]
        self.fingerprints = [found for _, found in functions]
        self.postings: dict[int, list[int]] = defaultdict(list)
        for number, found in enumerate(self.fingerprints):
            for value in found:
                self.postings[value].append(number)

    def similarities(self, answer: frozenset[int], boilerplate: frozenset[int]
                     ) -> dict[str, tuple[float, tuple[int, ...]]]:
        """For each known file an answer shares fingerprints with: the similarity and the numbers
        of its functions that took part. The functions of a file that the answer covers for at
        least KNOWN_COVER of their fingerprints are pooled and compared with the answer."""
        shared: dict[int, int] = defaultdict(int)
        for value in answer:
            for number in self.postings.get(value, ()):
                shared[number] += 1
        pooled: dict[str, list[int]] = defaultdict(list)
        for number, count in sorted(shared.items()):
            own = self.fingerprints[number] - boilerplate
            if own and count >= KNOWN_COVER * len(own):
                pooled[self.files[number]].append(number)
        found = {}
        for file, numbers in pooled.items():
            union = frozenset().union(*(self.fingerprints[number] for number in numbers)) - boilerplate
            found[file] = (jaccard(answer, union), tuple(numbers))
        return found
