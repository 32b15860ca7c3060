"""Grade one submission: a self-contained task with no global state, run by a worker process.

``grade_submission(task) -> SubmissionResult``: for every notebook of the assignment it assembles
the notebook to grade (:mod:`autograder.assemble`), executes it in a sandboxed kernel
(:mod:`autograder.execute`), judges the records of the hidden checks against the reference
solutions *in this process*, outside the kernel (:mod:`autograder.judge`), and scores every graded
cell. It writes the executed notebooks and ``results.json`` into the task's output folder. Only the
coordinating process (:mod:`autograder.batch`) writes the gradebook.
"""
from __future__ import annotations

import enum
import functools
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

import numpy as np

from autograder import assemble, cells, execute, heldout, judge, kernel_users, record
from autograder.course import Assignment, CourseError
from autograder.specs import AccuracySpec, SpecError


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
    message: str = ""


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
    """One submission to grade; plain data so it can travel to another process or machine."""

    student: str
    assignment: str
    source_dir: Path  # the assignment's source folder: solution notebooks and spec files
    files: dict[str, Path | None]  # notebook name of the assignment -> the student's file or None
    support_files: tuple[Path, ...]  # other files of the submission folder, copied beside the notebooks
    output_dir: Path  # autograded/<student>/<assignment>
    settings: execute.Settings
    salt: int  # the salt of the hidden checks' inputs (the kernel knows it)
    heldout_seed: int = 0  # the seed of the held-out images (the kernel never sees it)


@dataclass(frozen=True)
class Judging:
    """What the grading process holds to judge a submission's records, outside its kernel."""

    assignment: Assignment
    salt: int
    dataset: str
    heldout_labels: dict[str, np.ndarray] = field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def _assignment(source_dir: Path) -> Assignment:
    """The assignment of a source folder, kept per worker process so references load once."""
    return Assignment.from_folder(source_dir)


def _failures(judging: Judging, spec, collected: record.CheckRecord) -> list[str]:
    if isinstance(spec, AccuracySpec):
        return judge.accuracy_failures(collected, spec, judging.heldout_labels[spec.name], judging.dataset)
    return judge.failures_of(collected, spec, judging.assignment.reference(spec.name), judging.salt)


def _judge_cell(judging: Judging, grade_id: str, records: list[Path]) -> str | None:
    """Judge the records a graded cell produced; return why it fails, or None when it passes."""
    expected = judging.assignment.specs.for_cell(grade_id)
    received: dict[str, list[record.CheckRecord]] = {}
    for path in records:
        try:
            found = record.read(path)
        except record.RecordError as error:
            return f"a check record could not be read ({error})"
        received.setdefault(found.name, []).append(found)
    for spec in expected:
        if not received.get(spec.name):
            return (f"the check of {spec.name} recorded nothing: the check was skipped or "
                    f"replaced inside the notebook")
        for collected in received[spec.name]:
            try:
                failures = _failures(judging, spec, collected)
            except (CourseError, SpecError) as error:  # the course's setup, not the student's code
                return f"the grader could not judge {spec.name}: {error}"
            except Exception as error:  # an output the reference comparison cannot handle
                return f"{spec.name}: the output could not be compared ({type(error).__name__}: {error})"
            if failures:
                return failures[0]
    return None


def _score_cell(judging: Judging, cell: nbformat.NotebookNode, cell_run: execute.CellRun | None,
                stopped: str | None) -> CellScore:
    score = CellScore(str(cells.grade_id(cell)), cells.points(cell), 0.0)
    if cells.is_manual(cell):
        score.manual, score.score = True, None
        return score
    if cell_run is None:
        score.message = f"did not run: {stopped or 'an earlier problem stopped the notebook'}"
        return score
    if cell_run.error:
        score.message = cell_run.error
        return score
    failure = _judge_cell(judging, score.grade_id, cell_run.records)
    if failure:
        score.message = failure
        return score
    score.score = score.points
    return score


def _unscored(graded_cells: list, status: NotebookStatus, name: str, reason: str) -> NotebookResult:
    """A notebook that was not executed: every automatic cell 0 with the reason, written answers open."""
    return NotebookResult(name, status, reason, [
        CellScore(str(cells.grade_id(cell)), cells.points(cell), None if cells.is_manual(cell) else 0.0,
                  manual=cells.is_manual(cell), message=reason) for cell in graded_cells])


def _grade_notebook(task: GradeTask, judging: Judging, name: str, workdir: Path, scratch: Path,
                    settings: execute.Settings) -> NotebookResult:
    source = nbformat.read(task.source_dir / name, as_version=4)
    graded_cells = [cell for cell in source.cells if cells.is_graded(cell)]
    path = task.files.get(name)
    if path is None:
        return _unscored(graded_cells, NotebookStatus.MISSING, name, f"{name} was not submitted")
    try:
        student = nbformat.read(path, as_version=4)
    except (OSError, ValueError, UnicodeDecodeError, nbformat.ValidationError) as error:
        return _unscored(graded_cells, NotebookStatus.UNREADABLE, name,
                         f"{path.name} is not a readable notebook ({type(error).__name__}: {str(error)[:200]}); "
                         f"open it in Jupyter, save it again and resubmit")
    assembled = assemble.assemble(source, student)
    run = execute.run_notebook(assembled.notebook, workdir, scratch / f"box-{name}", scratch / f"records-{name}",
                               settings)
    positions = {cells.grade_id(cell): index for index, cell in enumerate(assembled.notebook.cells)}
    result = NotebookResult(name, NotebookStatus.INCOMPLETE if run.stopped else NotebookStatus.GRADED,
                            run.stopped or "", notes=assembled.notes, seconds=run.seconds)
    for cell in graded_cells:
        index = positions.get(cells.grade_id(cell))
        result.cells.append(_score_cell(judging, cell, run.cells.get(index) if index is not None else None,
                                        run.stopped))
    task.output_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(assembled.notebook, task.output_dir / name)
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


def _stage_heldout(assignment: Assignment, dataset: str, seed: int, scratch: Path) -> tuple[Path, dict]:
    """Write the held-out images of every accuracy target for the kernel; keep their labels here."""
    folder = _readable_folder(scratch / "heldout")
    labels = {}
    for number, spec in enumerate(assignment.specs.accuracy_specs()):
        images, labels[spec.name] = heldout.make(dataset, spec.images, seed + number)
        np.save(folder / f"{spec.name}.npy", images, allow_pickle=False)
        (folder / f"{spec.name}.npy").chmod(0o644)
    return folder, labels


def grade_submission(task: GradeTask) -> SubmissionResult:
    """Grade every notebook of one submission; never raises because of the student's code."""
    if task.settings.separate_user and task.settings.uid is None:
        with kernel_users.lease() as uid:
            return grade_submission(replace(task, settings=replace(task.settings, uid=uid)))
    assignment = _assignment(task.source_dir)
    result = SubmissionResult(task.student, task.assignment)
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.assignment}-") as scratch_name:
        scratch = Path(scratch_name)
        os.chmod(scratch, 0o755)  # the sandboxed kernel's user must reach its folders
        workdir = scratch / "work"
        workdir.mkdir()
        for extra in task.support_files:
            shutil.copy(extra, workdir / extra.name)
        for name, path in task.files.items():
            if path is not None:
                shutil.copy(path, workdir / name)
        dataset = task.settings.kernel_env.get("COURSE_DATASET", "synthetic")
        spec_dir = _stage_specs(assignment, scratch)
        heldout_dir, labels = _stage_heldout(assignment, dataset, task.heldout_seed, scratch)
        judging = Judging(assignment, task.salt, dataset, labels)
        settings = replace(task.settings, readonly=(*task.settings.readonly, spec_dir, heldout_dir),
                           kernel_env={**task.settings.kernel_env, record.SALT_ENV: str(task.salt),
                                       record.SPECS_ENV: str(spec_dir), record.HELDOUT_ENV: str(heldout_dir)})
        for name in sorted(task.files):
            started = time.monotonic()
            notebook = _grade_notebook(task, judging, name, workdir, scratch, settings)
            notebook.seconds = notebook.seconds or time.monotonic() - started
            result.notebooks.append(notebook)
    task.output_dir.mkdir(parents=True, exist_ok=True)
    (task.output_dir / "results.json").write_text(result.to_json(), encoding="utf-8")
    return result
