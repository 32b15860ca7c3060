"""Grade one submission: a self-contained task with no global state, run by a worker process.

``grade_submission(task) -> SubmissionResult``: for every notebook of the assignment it assembles
the notebook to grade (:mod:`autograder.assemble`), executes it in a sandboxed kernel
(:mod:`autograder.execute`), judges the records of the hidden checks against the reference
solutions *in this process*, outside the kernel (:mod:`autograder.judge`), and scores every graded
cell. The task carries everything as bytes (no shared filesystem): the worker unpacks it into its
own temporary folder and returns the result with the executed notebooks as data
(:class:`GradedSubmission`). Only the coordinating process (:mod:`autograder.batch`) writes the
gradebook and the ``autograded`` folder.
"""
from __future__ import annotations

import enum
import functools
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

import numpy as np

from autograder import assemble, cells, execute, heldout, judge, kernel_users, record, stand_ins, worker
from autograder import scratch as scratch_folders
from autograder.course import Assignment, CourseError
from autograder.specs import AccuracySpec, Credit, Spec, SpecError


MAX_NOTE_CHARS = 500  # a note comes from the kernel: shown, but never at any length
GRADED_FOLDER = "graded"  # in a task's scratch folder: the executed notebooks, before they travel back


class NotebookStatus(str, enum.Enum):
    """How far grading got with one notebook."""

    GRADED = "graded"  # executed to the end
    MISSING = "missing"  # not submitted: no score, with the reason
    UNREADABLE = "unreadable"  # not a notebook: no score, with the reason
    INCOMPLETE = "incomplete"  # execution stopped early (time, a dead kernel): scored for what ran


@dataclass
class CellScore:
    """The score of one graded cell. ``score`` is None for written answers awaiting a person."""

    grade_id: str
    points: float
    score: float | None
    manual: bool = False
    message: str = ""  # the first reason points were lost
    failures: list[str] = field(default_factory=list)  # every reason: each failing case, each problem
    notes: list[str] = field(default_factory=list)  # how it was graded, when the student should know (no cost)


@dataclass
class NotebookResult:
    """How one notebook of a submission was graded."""

    name: str
    status: NotebookStatus
    reason: str = ""
    cells: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def auto_score(self) -> float | None:
        """Sum of the autograded cells, or None when the notebook was not graded (missing, unreadable)."""
        if self.status in (NotebookStatus.MISSING, NotebookStatus.UNREADABLE):
            return None
        return sum(cell.score or 0.0 for cell in self.cells if not cell.manual)

    @property
    def auto_points(self) -> float:
        """The points the autograded cells are worth."""
        return sum(cell.points for cell in self.cells if not cell.manual)


@dataclass
class SubmissionResult:
    """Everything graded for one student and one assignment."""

    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)

    def to_json(self) -> str:
        """The result as JSON (``results.json``)."""
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "SubmissionResult":
        """Inverse of :meth:`to_json`."""
        raw = json.loads(text)
        notebooks = [NotebookResult(**{**nb, "status": NotebookStatus(nb["status"]),
                                       "cells": [CellScore(**cell) for cell in nb["cells"]]})
                     for nb in raw["notebooks"]]
        return cls(raw["student"], raw["assignment"], notebooks)


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade; plain data (bytes, no paths) so it can travel to another process or machine."""

    student: str
    source: worker.AssignmentFiles  # the assignment's source notebooks and spec files (only the grader reads them)
    notebooks: dict[str, bytes | None]  # notebook name of the assignment -> the student's file, or None
    support_files: dict[str, bytes]  # other files of the submission folder (name -> content), put beside them
    settings: execute.Settings  # machine-independent; the worker adds its own folders (autograder.worker)
    salt: int  # the salt of the hidden checks' inputs (the kernel knows it)
    heldout_seed: int = 0  # the seed of the held-out images (the kernel never sees it)

    @property
    def assignment(self) -> str:
        """The assignment's name."""
        return self.source.name


@dataclass
class GradedSubmission:
    """What a worker sends back: the result and the executed notebooks (name -> ``.ipynb`` bytes)."""

    result: SubmissionResult
    notebooks: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Judging:
    """What the grading process holds to judge a submission's records, outside its kernel."""

    assignment: Assignment
    salt: int
    dataset: str
    heldout_labels: dict[str, np.ndarray] = field(default_factory=dict)


def _verdict(judging: Judging, spec, collected: record.CheckRecord) -> judge.Verdict:
    if isinstance(spec, AccuracySpec):
        return judge.accuracy_verdict(collected, spec, judging.heldout_labels[spec.name], judging.dataset)
    return judge.verdict(collected, spec, judging.assignment.reference(spec.name), judging.salt)


def _whole_failure(message: str) -> tuple[float, list[str], list[str]]:
    return 0.0, [message], []


def _judge_cell(judging: Judging, grade_id: str, records: list[Path]) -> tuple[float, list[str], list[str]]:
    """Judge the records a graded cell produced.

    Returns:
        The share of the cell's points earned (the mean over its checks, each under its spec's
        credit rule), every reason for what was not earned, and notes on how it was graded.
    """
    expected = judging.assignment.specs.for_cell(grade_id)
    received: dict[str, list[record.CheckRecord]] = {}
    for path in records:
        try:
            found = record.read(path)
        except record.RecordError as error:
            return _whole_failure(f"a check record could not be read ({error})")
        received.setdefault(found.name, []).append(found)
    shares, reasons, notes = [], [], []
    for spec in expected:
        if not received.get(spec.name):
            return _whole_failure(f"the check of {spec.name} recorded nothing: the check was skipped or "
                                  f"replaced inside the notebook")
        credit = spec.credit if isinstance(spec, Spec) else Credit.ALL_OR_NOTHING
        if isinstance(spec, Spec) and spec.stand_ins:
            notes.append(stand_ins.description(spec))
        for collected in received[spec.name]:  # a check run twice must pass both times
            try:
                found_verdict = _verdict(judging, spec, collected)
            except (CourseError, SpecError) as error:  # the course's setup, not the student's code
                return _whole_failure(f"the grader could not judge {spec.name}: {error}")
            except Exception as error:  # an output the reference comparison cannot handle
                return _whole_failure(f"{spec.name}: the output could not be compared ({type(error).__name__}: {error})")
            shares.append(found_verdict.fraction(credit))
            reasons += found_verdict.messages
            notes += [note[:MAX_NOTE_CHARS] for note in collected.notes[:stand_ins.MAX_NOTES] if note not in notes]
    return (sum(shares) / len(shares) if shares else 1.0), reasons, notes


_UNDEFINED = re.compile(r"NameError: name '(\w+)' is not defined")


def _explainer(notebook: nbformat.NotebookNode, run: execute.NotebookRun) -> Callable[[int, str], str]:
    """``explain(index, error)``: an error caused by an earlier failing cell, said as that cell's error.

    A graded cell that fails with ``NameError: name 'f' is not defined`` because the cell defining
    ``f`` had a syntax error (or raised) is reported with that cell's grade id and its own error.
    """
    failed = [(index, cell_run.error) for index, cell_run in sorted(run.cells.items())
              if cell_run.error and not _UNDEFINED.match(cell_run.error)]

    def explain(index: int, error: str) -> str:
        match = _UNDEFINED.match(error)
        if not match:
            return error
        defines = re.compile(rf"^\s*(?:async\s+def|def|class)\s+{match.group(1)}\b|^{match.group(1)}\s*[:=]", re.M)
        for earlier, earlier_error in reversed(failed):
            if earlier < index and defines.search(notebook.cells[earlier].source):
                where = cells.grade_id(notebook.cells[earlier]) or f"cell {earlier + 1}"
                return (f"{match.group(1)} was never defined because the cell that defines it ({where}) failed: "
                        f"{earlier_error}")
        return error
    return explain


def _score_cell(judging: Judging, cell: nbformat.NotebookNode, cell_run: execute.CellRun | None,
                stopped: str | None, explain: Callable[[int, str], str]) -> CellScore:
    score = CellScore(str(cells.grade_id(cell)), cells.points(cell), 0.0)
    if cells.is_manual(cell):
        score.manual, score.score = True, None
        return score
    if cell_run is None:
        score.message = f"did not run: {stopped or 'an earlier problem stopped the notebook'}"
        return score
    if cell_run.error:
        score.message = explain(cell_run.index, cell_run.error)
        score.failures = [score.message]
        return score
    share, reasons, score.notes = _judge_cell(judging, score.grade_id, cell_run.records)
    score.score = round(score.points * share, 2)
    score.failures = reasons
    score.message = reasons[0] if reasons else ""
    return score


def _not_charged_twice(judging: Judging, scores: list[CellScore]) -> None:
    """Give back a missed accuracy target whose model is built from a function that lost its own points.

    Applies to accuracy specs with ``built_from``: with the reference functions the given pipeline
    would reach its target, so the mistake is charged once, in the function's own cell. Only a model
    that ran and missed is given back: one that could not predict (a function not implemented, an
    error) has earned nothing to give back.
    """
    by_id = {score.grade_id: score for score in scores}
    for spec in judging.assignment.specs.accuracy_specs():
        target = by_id.get(spec.cell)
        if target is None or not spec.built_from or target.score is None or target.score >= target.points:
            continue
        if not target.failures or not all(judge.MISSED_TARGET in failure for failure in target.failures):
            continue
        lost = [name for name in spec.built_from if name in judging.assignment.specs
                and (own := by_id.get(judging.assignment.specs[name].cell)) is not None
                and (own.score or 0.0) < own.points]
        if lost:
            target.notes.append(f"not charged again ({'; '.join(target.failures) or target.message}): this model "
                                f"is built from {', '.join(lost)}, which already lost points in "
                                f"{'its' if len(lost) == 1 else 'their'} own cell")
            target.score, target.failures, target.message = target.points, [], ""


def _unscored(graded_cells: list, status: NotebookStatus, name: str, reason: str) -> NotebookResult:
    """A notebook that was not executed: every automatic cell 0 with the reason, written answers open."""
    return NotebookResult(name, status, reason, [
        CellScore(str(cells.grade_id(cell)), cells.points(cell), None if cells.is_manual(cell) else 0.0,
                  manual=cells.is_manual(cell), message=reason) for cell in graded_cells])


def _grade_notebook(task: GradeTask, judging: Judging, name: str, workdir: Path, scratch: Path,
                    settings: execute.Settings) -> NotebookResult:
    source = nbformat.read(judging.assignment.source_dir / name, as_version=4)
    graded_cells = [cell for cell in source.cells if cells.is_graded(cell)]
    submitted = task.notebooks.get(name)
    if submitted is None:
        return _unscored(graded_cells, NotebookStatus.MISSING, name, f"{name} was not submitted")
    try:
        student = nbformat.reads(submitted.decode("utf-8"), as_version=4)
    except (ValueError, nbformat.ValidationError) as error:  # not JSON, not UTF-8, not a notebook
        return _unscored(graded_cells, NotebookStatus.UNREADABLE, name,
                         f"{name} is not a readable notebook ({type(error).__name__}: {str(error)[:200]}); "
                         f"open it in Jupyter, save it again and resubmit")
    assembled = assemble.assemble(source, student)
    run = execute.run_notebook(assembled.notebook, workdir, scratch / f"box-{name}", scratch / f"records-{name}",
                               settings)
    positions = {cells.grade_id(cell): index for index, cell in enumerate(assembled.notebook.cells)}
    result = NotebookResult(name, NotebookStatus.INCOMPLETE if run.stopped else NotebookStatus.GRADED,
                            run.stopped or "", notes=assembled.notes, seconds=run.seconds)
    explain = _explainer(assembled.notebook, run)
    for cell in graded_cells:
        index = positions.get(cells.grade_id(cell))
        result.cells.append(_score_cell(judging, cell, run.cells.get(index) if index is not None else None,
                                        run.stopped, explain))
    _not_charged_twice(judging, result.cells)
    nbformat.write(assembled.notebook, scratch / GRADED_FOLDER / name)
    return result


def _readable_folder(path: Path) -> Path:
    path.mkdir()
    path.chmod(0o755)  # the sandboxed kernel runs as another user
    return path


def _stage_specs(assignment: Assignment, scratch: Path) -> Path:
    """Copy the spec files where the sandboxed kernel may read them (never the solution notebooks)."""
    folder = _readable_folder(scratch / "specs")
    for path in assignment.spec_files():
        shutil.copy(path, folder / path.name)
        (folder / path.name).chmod(0o644)
    return folder


@functools.lru_cache(maxsize=4)
def _recorded_stand_ins(assignment: Assignment, salt: int) -> dict[str, bytes]:
    """The reference's helper calls of every spec with stand-ins, encoded; once per process and run (salt)."""
    return {spec.name: stand_ins.dumps(stand_ins.record_calls(spec, assignment.reference(spec.name), salt))
            for spec in assignment.specs.specs.values() if isinstance(spec, Spec) and spec.stand_ins}


@functools.lru_cache(maxsize=8)
def _heldout_set(dataset: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out images and labels, made once per process and run (seed); read-only."""
    images, labels = heldout.make(dataset, count, seed)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def _stage_stand_ins(assignment: Assignment, salt: int, scratch: Path) -> Path:
    """Write, for the kernel, the reference's helper calls of every spec with stand-ins (values, no code)."""
    folder = _readable_folder(scratch / "stand-ins")
    for name, encoded in _recorded_stand_ins(assignment, salt).items():
        path = folder / f"{name}{stand_ins.FILE_SUFFIX}"
        path.write_bytes(encoded)
        path.chmod(0o644)
    return folder


def _stage_heldout(assignment: Assignment, dataset: str, seed: int, scratch: Path) -> tuple[Path, dict]:
    """Write the held-out images of every accuracy target for the kernel; keep their labels here."""
    folder = _readable_folder(scratch / "heldout")
    labels = {}
    for number, spec in enumerate(assignment.specs.accuracy_specs()):
        images, labels[spec.name] = _heldout_set(dataset, spec.images, seed + number)
        np.save(folder / f"{spec.name}.npy", images, allow_pickle=False)
        (folder / f"{spec.name}.npy").chmod(0o644)
    return folder, labels


def grade_submission(task: GradeTask) -> GradedSubmission:
    """Grade every notebook of one submission; never raises because of the student's code.

    Runs anywhere the package is installed: the task's files are unpacked into a temporary folder of
    this machine, and the executed notebooks come back as data with the result.
    """
    dataset = task.settings.kernel_env.get("COURSE_DATASET", "synthetic")
    settings = worker.local_settings(task.settings, dataset)
    if settings.separate_user and settings.uid is None:
        with kernel_users.lease() as uid:
            return _grade(task, replace(settings, uid=uid), dataset)
    return _grade(task, settings, dataset)


def _grade(task: GradeTask, settings: execute.Settings, dataset: str) -> GradedSubmission:
    assignment = worker.unpacked(task.source)
    result = SubmissionResult(task.student, task.assignment)
    with scratch_folders.folder(f"grade-{task.assignment}") as scratch:
        os.chmod(scratch, 0o755)  # the sandboxed kernel's user must reach its folders
        workdir = scratch / "work"
        workdir.mkdir()
        submitted = {name: content for name, content in task.notebooks.items() if content is not None}
        for name, content in (*task.support_files.items(), *submitted.items()):
            (workdir / Path(name).name).write_bytes(content)
        (scratch / GRADED_FOLDER).mkdir(mode=0o700)  # the executed notebooks, hidden tests included
        spec_dir = _stage_specs(assignment, scratch)
        heldout_dir, labels = _stage_heldout(assignment, dataset, task.heldout_seed, scratch)
        stand_in_dir = _stage_stand_ins(assignment, task.salt, scratch)
        judging = Judging(assignment, task.salt, dataset, labels)
        settings = replace(settings, readonly=(*settings.readonly, spec_dir, heldout_dir, stand_in_dir),
                           kernel_env={**settings.kernel_env, record.SALT_ENV: str(task.salt),
                                       record.SPECS_ENV: str(spec_dir), record.HELDOUT_ENV: str(heldout_dir),
                                       record.STAND_INS_ENV: str(stand_in_dir)})
        for name in sorted(task.notebooks):
            started = time.monotonic()
            notebook = _grade_notebook(task, judging, name, workdir, scratch, settings)
            notebook.seconds = notebook.seconds or time.monotonic() - started
            result.notebooks.append(notebook)
        executed = {path.name: path.read_bytes() for path in sorted((scratch / GRADED_FOLDER).glob("*.ipynb"))}
    return GradedSubmission(result, executed)
