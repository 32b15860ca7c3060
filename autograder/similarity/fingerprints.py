"""Fingerprints of answers: copydetect's tokeniser and winnowing, applied block by block.

Why copydetect: it is a maintained, MIT-licensed implementation of the winnowing algorithm that
MOSS uses (Schleimer, Wilkerson and Aiken, SIGMOD 2003), installs from PyPI with a pure-Python
fallback, needs no network, and exposes its building blocks (``filter_code``, ``hashed_kgrams``,
``winnow``) rather than only a whole-folder detector. Its tokeniser (Pygments) replaces every
variable, attribute, function and class name by one placeholder and every string by another, and
drops comments and whitespace, so renaming identifiers, rewriting comments or reformatting does
not hide a copy. MOSS itself is a remote service, and student work should not leave the
instructor's machine; a home-made matcher would be neither as tested nor as well known.

What this module adds around copydetect:

- Python answers are cut into their top-level functions and classes (and runs of statements)
  before fingerprinting, and the block fingerprints are pooled, so the order of functions in a
  cell does not matter; k-grams never straddle two functions.
- Written answers are lowercased words joined by single spaces before fingerprinting.
- Fingerprints that occur in the starter code of the release's cell are removed
  (boilerplate), so an untouched cell has no fingerprints at all.
- Each normalised character keeps its position in the original source, so matching
  fingerprints can be highlighted in what the student wrote.

k-grams are hashed here with NumPy rather than with copydetect's ``hashed_kgrams``, which uses
Python's per-process salted ``hash``: fingerprints must agree between worker processes and runs.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from copydetect import utils

from autograder.similarity.answers import AnswerKind, top_level_blocks

#: k: characters of normalised text per fingerprint (MOSS's noise threshold). Normalised code is
#: dense (``V=V.V(V,V)`` is one statement), so 25 characters span two or three statements.
K = {AnswerKind.CODE: 25, AnswerKind.WRITTEN: 30}
#: Winnowing window: one fingerprint kept per window of this many k-grams, so any shared run of
#: K + WINDOW - 1 normalised characters is guaranteed to be found.
WINDOW = {AnswerKind.CODE: 4, AnswerKind.WRITTEN: 4}
#: Odd 64-bit constants of the k-gram hash (any odd constants with well-spread bits do).
_BASE = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
#: Name copydetect uses to pick its Python lexer (the file is never opened).
_PYTHON_NAME = "answer.py"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Normalised:
    """Normalised text and, for each of its characters, its start in the original source
    (one extra entry holds the end of the source)."""

    text: str
    origin: np.ndarray


def _normalise_code(source: str, start: int, end: int) -> Normalised:
    """copydetect's filtered form of ``source[start:end]``, positions relative to ``source``."""
    filtered, offsets = utils.filter_code(source[start:end], _PYTHON_NAME, language="python")
    index = np.arange(len(filtered))
    if len(offsets):
        # The same translation copydetect applies to its slices: add the characters removed
        # before each position (offsets holds the running count at each replaced token).
        rows = np.clip(np.searchsorted(offsets[:, 0], index), 0, offsets.shape[0] - 1)
        index = index + offsets[rows, 1]
    origin = np.clip(np.append(index + start, end), start, end)
    return Normalised(filtered, origin)


def _normalise_text(source: str) -> Normalised:
    """Lowercased words of prose joined by single spaces, with each character's origin."""
    text: list[str] = []
    origin: list[int] = []
    for match in _WORD.finditer(source):
        if text:
            text.append(" ")
            origin.append(match.start())
        text.append(match.group().lower())
        origin.extend(range(match.start(), match.end()))
    origin.append(len(source))
    return Normalised("".join(text), np.array(origin, dtype=np.int64))


def normalise(source: str, kind: AnswerKind) -> list[Normalised]:
    """The normalised blocks of an answer: one per top-level block of code, one for prose."""
    if kind is AnswerKind.WRITTEN:
        return [_normalise_text(source)]
    return [_normalise_code(source, start, end) for start, end in top_level_blocks(source)]


def _kgram_hashes(text: str, k: int) -> np.ndarray:
    """A 64-bit hash of every k-gram of ``text``: polynomial in the code points, then mixed.
    The same in every process and run (Python's ``hash``, which copydetect uses, is salted per
    process), so answers may be fingerprinted in worker processes and reports are reproducible."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(k, _BASE, dtype=np.uint64))[::-1]
        value = (np.lib.stride_tricks.sliding_window_view(codes, k) * powers).sum(axis=1, dtype=np.uint64)
        value ^= value >> np.uint64(31)
        value *= _MIX
        value ^= value >> np.uint64(29)
    return value.view(np.int64)


def _winnowed(text: str, kind: AnswerKind) -> tuple[np.ndarray, np.ndarray]:
    """Winnowed k-gram hashes of a normalised text and where each k-gram starts."""
    if len(text) < K[kind]:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    return utils.winnow(_kgram_hashes(text, K[kind]), WINDOW[kind], remove_duplicates=False)


def fingerprint(source: str, kind: AnswerKind, boilerplate: frozenset[int] = frozenset()) -> frozenset[int]:
    """The fingerprints of an answer, without those in ``boilerplate``."""
    found: set[int] = set()
    for block in normalise(source, kind):
        hashes, _ = _winnowed(block.text, kind)
        found.update(hashes.tolist())
    return frozenset(found - boilerplate)


def matching_spans(source: str, kind: AnswerKind, hashes: frozenset[int]) -> list[tuple[int, int]]:
    """Sorted, merged character spans of ``source`` covered by fingerprints in ``hashes``."""
    spans: list[tuple[int, int]] = []
    for block in normalise(source, kind):
        values, starts = _winnowed(block.text, kind)
        for value, first in zip(values.tolist(), starts.tolist()):
            if value in hashes:
                end = int(block.origin[first + K[kind]])
                while end > 0 and source[end - 1].isspace():
                    end -= 1
                spans.append((int(block.origin[first]), end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif start < end:
            merged.append((start, end))
    return merged
