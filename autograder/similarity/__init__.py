"""``course similarity``: a ranked report of answers that look copied, for a person to read.

Answers are compared cell by cell (code answers and written answers, matched by the nbgrader grade
id of the release notebook), between students, with the instructor's reference solution and with
known solutions (for example found online). Each cell's similarities are read against that cell's
baseline, so answers that every student writes alike are not reported. The report informs an
instructor; it never changes a score.

Modules: :mod:`.answers` reads notebooks and known files, :mod:`.fingerprints` turns answers into
winnowed fingerprints with copydetect, :mod:`.ranking` measures baselines and finds pairs through
an inverted index, :mod:`.report` holds the result and writes CSV and HTML.
"""
from __future__ import annotations

import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Mapping

from tqdm import tqdm

from autograder.similarity import answers, ranking
from autograder.similarity.answers import AnswerKind, ReleaseCell, UnreadableFile
from autograder.similarity.fingerprints import fingerprint, matching_spans
from autograder.similarity.ranking import Baseline, KnownIndex, MatchKind
from autograder.similarity.report import KNOWN_PREFIX, REFERENCE, Pair, Report, Side, SkipReason

__all__ = ["analyse", "Pair", "Report", "REFERENCE", "KNOWN_PREFIX", "MatchKind"]

CellKey = tuple[str, str]  # (notebook, grade id)
Release = Mapping[str, Mapping[str, ReleaseCell]]  # notebook -> grade id -> answer cell
#: Classes smaller than this are read in this process (starting workers costs more).
POOL_MIN_STUDENTS = 40
#: Students handed to a worker at a time.
POOL_CHUNK = 8


@dataclass(frozen=True)
class _Answer:
    student: str
    text: str
    fingerprints: frozenset[int]


@dataclass
class _Read:
    """What one student's files hold: (notebook, grade id, text, fingerprints) per answer."""

    answers: list[tuple[str, str, str, frozenset[int]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _release(release_notebooks: Mapping[str, Path], problems: list[str]) -> dict[str, dict[str, ReleaseCell]]:
    found: dict[str, dict[str, ReleaseCell]] = {}
    for notebook, path in sorted(release_notebooks.items()):
        try:
            found[notebook] = answers.release_cells(Path(path), notebook)
        except UnreadableFile as problem:
            problems.append(f"release notebook {problem}")
    return found


def _read(release: Release, boilerplate: Mapping[CellKey, frozenset[int]], files: Mapping[str, Path]) -> _Read:
    """Read and fingerprint the answers in one student's (or the reference's) notebook files;
    problems are noted, never raised. Runs in worker processes."""
    read = _Read()
    for notebook, path in sorted(files.items()):
        cells = release.get(notebook)
        if not cells:
            read.problems.append(f"{path}: {notebook!r} is not a release notebook with answer cells; "
                                 f"not compared")
            continue
        try:
            found, notes = answers.answers(Path(path), cells)
        except UnreadableFile as problem:
            read.problems.append(str(problem))
            continue
        read.problems.extend(notes)
        for grade_id, text in sorted(found.items()):
            cell = cells[grade_id]
            untouched = text.split() == cell.starter.split()  # nothing but starter code: no fingerprints
            read.answers.append((notebook, grade_id, text, frozenset() if untouched else
                                 fingerprint(text, cell.kind, boilerplate[(notebook, grade_id)])))
    return read


def _workers() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read_all(release: Release, boilerplate: Mapping[CellKey, frozenset[int]],
              submissions: Mapping[str, Mapping[str, Path]], workers: int | None,
              progress: bool) -> Iterator[tuple[str, _Read]]:
    """Each student's answers, in sorted order, read by a pool of ``workers`` processes."""
    students = sorted(submissions)
    count = workers if workers is not None else _workers()
    bar = partial(tqdm, total=len(students), desc="reading", unit="student", disable=not progress)
    if count <= 1 or len(students) < POOL_MIN_STUDENTS:
        yield from bar(zip(students, (_read(release, boilerplate, submissions[s]) for s in students)))
        return
    with ProcessPoolExecutor(max_workers=count) as pool:
        done = pool.map(partial(_read, release, boilerplate), [submissions[s] for s in students],
                        chunksize=POOL_CHUNK)
        yield from bar(zip(students, done))


def _known(folder: Path, problems: list[str]) -> tuple[KnownIndex, list[answers.KnownFunction]]:
    functions: list[answers.KnownFunction] = []
    for item in answers.known_functions(Path(folder)):
        if isinstance(item, UnreadableFile):
            problems.append(f"known solution {item}")
        else:
            functions.append(item)
    index = KnownIndex([(function.file, fingerprint(function.source, AnswerKind.CODE))
                        for function in functions])
    return index, functions


def _side(owner: str, text: str, kind: AnswerKind, shared: frozenset[int]) -> Side:
    return Side(owner, text, tuple(matching_spans(text, kind, shared)))


class _Cell:
    """The comparable answers to one cell, its baseline, and the pairs it flags."""

    def __init__(self, key: CellKey, kind: AnswerKind, every: list[_Answer]) -> None:
        self.notebook, self.cell = key
        self.kind = kind
        prints, self.common = ranking.distinctive([answer.fingerprints for answer in every])
        chosen = [number for number, found in enumerate(prints) if len(found) >= ranking.MIN_FINGERPRINTS]
        self.group = [every[number] for number in chosen]
        self.long = [answer for answer in every if len(answer.fingerprints) >= ranking.MIN_FINGERPRINTS]
        self.prints = [prints[number] for number in chosen]
        self.baseline = ranking.baseline(self.prints, seed=f"{self.notebook}/{self.cell}")

    def _pair(self, answer: _Answer, other: Side, similarity: float, match: MatchKind,
              shared: frozenset[int], baseline: Baseline) -> Pair:
        return Pair(answer.student, other.owner, self.notebook, self.cell, baseline.score(similarity),
                    similarity, match, baseline, _side(answer.student, answer.text, self.kind, shared), other)

    def student_pairs(self) -> list[Pair]:
        """Pairs of students whose answers stand out from the baseline."""
        found = []
        for i, j, similarity in ranking.student_matches(self.prints, self.baseline):
            shared = self.prints[i] & self.prints[j]
            other = _side(self.group[j].student, self.group[j].text, self.kind, shared)
            found.append(self._pair(self.group[i], other, similarity, MatchKind.STUDENT, shared, self.baseline))
        return found

    def _source_pairs(self, match: MatchKind, similarities: list[float],
                      answers: list[_Answer], shared: list[frozenset[int]],
                      other: Callable[[int], Side]) -> list[Pair]:
        """Answers whose similarity to one source stands out from the class's, by its own baseline."""
        against = ranking.source_baseline(similarities)
        return [self._pair(answers[number], other(number), similarity, match, shared[number], against)
                for number, similarity in enumerate(similarities)
                if similarity >= against.threshold and shared[number]]

    def reference_pairs(self, reference: frozenset[int]) -> list[Pair]:
        """Students whose answers match the reference beyond the class's similarity to it. Code
        common in the class counts: the baseline of similarities to the reference already says
        how close to it independent answers come."""
        if len(reference) < ranking.MIN_FINGERPRINTS:
            return []
        prints = [answer.fingerprints for answer in self.long]
        return self._source_pairs(MatchKind.REFERENCE, [ranking.jaccard(found, reference) for found in prints],
                                  self.long, [found & reference for found in prints],
                                  lambda _: Side(REFERENCE, None))

    def known_pairs(self, index: KnownIndex, functions: list[answers.KnownFunction],
                    boilerplate: frozenset[int]) -> list[Pair]:
        """Students whose answers match the functions of a known file beyond the class's
        similarity to that file. Fingerprints common in the class count here: many students
        copying one public solution is what this comparison is for."""
        by_answer = [index.similarities(answer.fingerprints, boilerplate) for answer in self.long]
        pooled: dict[tuple[int, ...], tuple[str, frozenset[int]]] = {(): ("", frozenset())}
        for matches in by_answer:
            for _, numbers in matches.values():
                if numbers not in pooled:
                    text = "\n\n".join(functions[number].source for number in numbers)
                    pooled[numbers] = (text, fingerprint(text, AnswerKind.CODE))
        found = []
        for file in sorted({file for matches in by_answer for file in matches}):
            chosen = [matches.get(file, (0.0, ())) for matches in by_answer]
            texts = [pooled[numbers][0] for _, numbers in chosen]
            shared = [answer.fingerprints & pooled[numbers][1] for answer, (_, numbers) in zip(self.long, chosen)]
            sides = partial(_known_side, KNOWN_PREFIX + file, texts, shared, self.kind)
            found.extend(self._source_pairs(MatchKind.KNOWN, [value for value, _ in chosen],
                                            self.long, shared, sides))
        return found


def _known_side(owner: str, texts: list[str], shared: list[frozenset[int]], kind: AnswerKind, number: int) -> Side:
    """The known file's side of a pair with answer ``number``: its matching functions."""
    return _side(owner, texts[number], kind, shared[number])


def analyse(release_notebooks: Mapping[str, Path],
            submissions: Mapping[str, Mapping[str, Path]],
            reference_notebooks: Mapping[str, Path] | None = None,
            known: Path | None = None,
            progress: bool = True,
            *,
            workers: int | None = None) -> Report:
    """Compare a class's answers cell by cell; return the ranked :class:`Report`.

    ``release_notebooks``: notebook name -> release (student) notebook, whose answer cells define
    what is compared and whose starter code is discarded; ``submissions``: student id -> {notebook
    name -> that student's file}; ``reference_notebooks``: notebook name -> solution notebook
    (matches are reported with ``student_b`` = ``<reference>``, its text is never shown);
    ``known``: a folder of notebooks or ``.py`` files (``student_b`` = ``known:<file>``);
    ``progress``: show tqdm progress bars on stderr; ``workers``: processes reading and
    tokenising notebooks (default: the CPUs available; 1 reads in this process, as do classes
    under POOL_MIN_STUDENTS). Unreadable files end up in ``problems``.
    """
    problems: list[str] = []
    release = _release(release_notebooks, problems)
    flat = {(notebook, grade_id): cell for notebook, cells in release.items() for grade_id, cell in cells.items()}
    kinds = {key: cell.kind for key, cell in flat.items()}
    boilerplate = {key: fingerprint(cell.starter, cell.kind) for key, cell in flat.items()}

    by_cell: dict[CellKey, list[_Answer]] = defaultdict(list)
    for student, read in _read_all(release, boilerplate, submissions, workers, progress):
        problems.extend(read.problems)
        for notebook, grade_id, text, fingerprints in read.answers:
            by_cell[(notebook, grade_id)].append(_Answer(student, text, fingerprints))

    references: dict[CellKey, frozenset[int]] = {}
    for notebook, path in sorted((reference_notebooks or {}).items()):
        read = _read(release, boilerplate, {notebook: path})
        problems.extend(f"reference {problem}" for problem in read.problems)
        for _, grade_id, _, fingerprints in read.answers:
            references[(notebook, grade_id)] = fingerprints

    known_index, known_functions = _known(known, problems) if known is not None else (KnownIndex([]), [])

    report = Report([], problems, students=len(submissions))
    for key in tqdm(sorted(kinds), desc="comparing", unit="cell", disable=not progress):
        every = by_cell.get(key, [])
        if not ranking.comparable(answer.fingerprints for answer in every):
            report.skipped[key] = SkipReason.TOO_SHORT
            continue
        cell = _Cell(key, kinds[key], every)
        report.baselines[key] = cell.baseline
        report.pairs.extend(cell.student_pairs())
        if key in references:
            report.pairs.extend(cell.reference_pairs(references[key]))
        if known is not None and cell.kind is AnswerKind.CODE:
            report.pairs.extend(cell.known_pairs(known_index, known_functions, boilerplate[key]))
    report.pairs.sort(key=Pair.sort_key)
    return report
