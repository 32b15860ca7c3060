"""Grade one submission: a self-contained task with no global state, run by a worker process.

``grade_submission(task) -> SubmissionResult``: for every notebook of the assignment it assembles
the notebook to grade (:mod:`autograder.assemble`), executes it in a sandboxed kernel
(:mod:`autograder.execute`), judges the verdict records of the hidden checks against the
reference solutions *in this process*, outside the kernel, and scores every graded cell. It writes
the executed notebooks and ``results.json`` into the task's output folder. Only the coordinating
process (:mod:`autograder.batch`) writes the gradebook.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat

from autograder import assemble, execute, verdicts

_CHECK_CALL = re.compile(r"check_against_reference\(\s*['\"](\w+)['\"]")
_HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


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
    status: str  # graded | missing | unreadable | incomplete
    reason: str = ""
    cells: list[CellScore] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def auto_score(self) -> float | None:
        """Sum of the autograded cells, or None when the notebook was not graded (missing, unreadable)."""
        if self.status in ("missing", "unreadable"):
            return None
        return sum(cell.score or 0.0 for cell in self.cells if not cell.manual)


@dataclass
class SubmissionResult:
    """Everything graded for one student and one assignment."""

    student: str
    assignment: str
    notebooks: list[NotebookResult] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "SubmissionResult":
        raw = json.loads(text)
        notebooks = [NotebookResult(**{**nb, "cells": [CellScore(**cell) for cell in nb["cells"]]})
                     for nb in raw["notebooks"]]
        return cls(raw["student"], raw["assignment"], notebooks)


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade; plain data so it can travel to another process or machine."""

    student: str
    assignment: str
    source_dir: Path  # solutions/<assignment>
    files: dict[str, Path | None]  # notebook name of the assignment -> the student's file or None
    support_files: tuple[Path, ...]  # other files of the submission folder, copied beside the notebooks
    output_dir: Path  # autograded/<student>/<assignment>
    settings: execute.Settings
    salt: int


def expected_checks(cell: nbformat.NotebookNode) -> list[str]:
    """Names passed to check_against_reference in the hidden tests of a source cell."""
    hidden = "".join(_HIDDEN_REGION.findall(cell.source))
    return _CHECK_CALL.findall(hidden)


def _judge_records(paths: list[Path], salt: int) -> dict[str, list[str | None]]:
    """Judge each record; map check name -> list of failure messages (None for a pass)."""
    from autograder import checks  # the reference side: loads solutions, only in the grading process

    outcomes: dict[str, list[str | None]] = {}
    for path in paths:
        try:
            record, arrays = verdicts.read(path)
            collected = checks.from_record(record, arrays)
        except verdicts.RecordError as error:
            outcomes.setdefault("?", []).append(f"an unreadable check record ({error})")
            continue
        try:
            checks.judge(collected, salt)
            outcomes.setdefault(collected.name, []).append(None)
        except AssertionError as error:
            outcomes.setdefault(collected.name, []).append(str(error))
        except Exception as error:  # an output the reference comparison cannot handle
            outcomes.setdefault(collected.name, []).append(f"{collected.name}: the output could not be compared "
                                                         f"({type(error).__name__}: {error})")
    return outcomes


def _score_cell(cell: nbformat.NotebookNode, run: execute.NotebookRun | None, index: int | None,
                salt: int, stopped: str | None) -> CellScore:
    marks = cell.metadata["nbgrader"]
    points = float(marks.get("points", 0))
    score = CellScore(marks["grade_id"], points, 0.0)
    if cell.cell_type == "markdown" or marks.get("solution"):
        score.manual, score.score = True, None
        return score
    cell_run = run.cells.get(index) if run and index is not None else None
    if cell_run is None:
        score.message = f"did not run: {stopped or 'an earlier problem stopped the notebook'}"
        return score
    if cell_run.error:
        score.message = cell_run.error
        return score
    outcomes = _judge_records(cell_run.records, salt)
    for name in expected_checks(cell):
        results = outcomes.get(name)
        if not results:
            score.message = (f"the hidden check of {name} recorded nothing: the check was skipped or "
                             f"replaced inside the notebook")
            return score
        failure = next((message for message in results if message), None)
        if failure:
            score.message = failure
            return score
    if "?" in outcomes:
        score.message = outcomes["?"][0]
        return score
    score.score = points
    return score


def _grade_notebook(task: GradeTask, name: str, workdir: Path, scratch: Path) -> NotebookResult:
    source = nbformat.read(task.source_dir / name, as_version=4)
    graded_cells = [cell for cell in source.cells if cell.get("metadata", {}).get("nbgrader", {}).get("grade")]
    path = task.files.get(name)
    result = NotebookResult(name, "graded")

    def zero(status: str, reason: str) -> NotebookResult:
        result.status, result.reason = status, reason
        result.cells = [CellScore(cell.metadata.nbgrader["grade_id"], float(cell.metadata.nbgrader.get("points", 0)),
                                  None if cell.cell_type == "markdown" or cell.metadata.nbgrader.get("solution")
                                  else 0.0, manual=cell.cell_type == "markdown" or
                                  bool(cell.metadata.nbgrader.get("solution")), message=reason)
                        for cell in graded_cells]
        return result

    if path is None:
        return zero("missing", f"{name} was not submitted")
    try:
        student = nbformat.read(path, as_version=4)
    except Exception as error:  # not JSON, not a notebook, unreadable
        return zero("unreadable", f"{path.name} is not a readable notebook ({type(error).__name__}: "
                                  f"{str(error)[:200]}); open it in Jupyter, save it again and resubmit")
    assembled = assemble.assemble(source, student)
    result.notes = assembled.notes
    settings = replace(task.settings, kernel_env={**task.settings.kernel_env, verdicts.SALT_ENV: str(task.salt)})
    run = execute.run_notebook(assembled.notebook, workdir, scratch / f"box-{name}", scratch / f"records-{name}",
                               settings)
    result.seconds = run.seconds
    positions = {assemble.grade_id(cell): index for index, cell in enumerate(assembled.notebook.cells)}
    for cell in graded_cells:
        result.cells.append(_score_cell(cell, run, positions.get(cell.metadata.nbgrader["grade_id"]),
                                        task.salt, run.stopped))
    if run.stopped:
        result.status, result.reason = "incomplete", run.stopped
    task.output_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(assembled.notebook, task.output_dir / name)
    return result


def grade_submission(task: GradeTask) -> SubmissionResult:
    """Grade every notebook of one submission; never raises because of the student's code."""
    os.environ["COURSE_SOLUTIONS_DIR"] = str(task.source_dir.parent)
    result = SubmissionResult(task.student, task.assignment)
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as scratch_name:
        scratch = Path(scratch_name)
        os.chmod(scratch, 0o755)  # the sandboxed kernel's user must reach its folders
        workdir = scratch / "work"
        workdir.mkdir()
        for extra in task.support_files:
            shutil.copy(extra, workdir / extra.name)
        for name, path in task.files.items():
            if path is not None:
                shutil.copy(path, workdir / name)
        for name in sorted(task.files):
            started = time.monotonic()
            notebook = _grade_notebook(task, name, workdir, scratch)
            notebook.seconds = notebook.seconds or time.monotonic() - started
            result.notebooks.append(notebook)
    task.output_dir.mkdir(parents=True, exist_ok=True)
    (task.output_dir / "results.json").write_text(result.to_json(), encoding="utf-8")
    return result
