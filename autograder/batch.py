"""``course grade``: grade a whole class in parallel into nbgrader's gradebook.

The pipeline: import the submissions (:mod:`autograder.importers`), register the assignment in the
gradebook (an nbgrader process that runs beside the first tasks), make one self-contained
:class:`~autograder.grading.GradeTask` per student (its files as bytes, the run's salts), run the
tasks on an executor (:mod:`autograder.executors`: a local process pool, or Dask distributed with
``scheduler``), and record each result as it arrives: this coordinating process is the only writer
of the gradebook (:mod:`autograder.gradebook`) and of the course's
``autograded/<student>/<assignment>/`` folder. A student already graded from identical inputs (a
content hash, :mod:`autograder.resume`) is kept as graded unless ``force`` is given, so running
``course grade`` again after an interruption resumes the class.
"""
from __future__ import annotations

import secrets
import sys
from datetime import datetime
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from tqdm.auto import tqdm

from autograder import (executors, execute, gradebook, grading, importers, lateness, nbgrader_layout, resume, sandbox,
                        submissions, worker)
from autograder import scratch as scratch_folders
from autograder.importers import ledger, report
from autograder.course import Course, CourseError
from course_utils import data

UNSAFE_WARNING = ("WARNING: grading WITHOUT the sandbox (--unsafe): student code runs with your permissions, "
                  "can read the solutions and the gradebook, and can use the network. Only do this for code "
                  "you trust.")


class GradingSetupError(RuntimeError):
    """An error of the instructor's setup (not of a student's code); the message says what to do."""


def _require_sandbox(unsafe: bool) -> None:
    if unsafe:
        print(UNSAFE_WARNING, file=sys.stderr)
        return
    try:
        sandbox.bwrap_path()
    except sandbox.SandboxUnavailable as error:
        raise GradingSetupError(str(error)) from None


@dataclass(frozen=True)
class Salts:
    """The secrets of one grading run, drawn afresh for each run and shared by all its students.

    Every student of a run is judged on the same hidden cases and the same held-out images (fair,
    and each worker makes them once per run), never on ones fixed before the run.
    """

    checks: int  # seeds the hidden checks' inputs (the kernel knows it)
    heldout: int  # seeds the held-out images (the kernel never sees it)

    @classmethod
    def draw(cls) -> "Salts":
        """Fresh salts from the operating system's randomness."""
        return cls(secrets.randbelow(2**31), secrets.randbelow(2**31))


def _task(source: worker.AssignmentFiles, submission: submissions.Submission,
          settings: execute.Settings, salts: Salts) -> grading.GradeTask:
    """The self-contained task of one submission: its files read into memory, the run's salts."""
    return grading.GradeTask(
        submission.student, source,
        {name: None if path is None else path.read_bytes() for name, path in submission.files.items()},
        {path.name: path.read_bytes() for path in submission.support_files},
        settings, salt=salts.checks, heldout_seed=salts.heldout)


def _failed_result(task: grading.GradeTask, reason: str) -> grading.SubmissionResult:
    """The result of a task the grader itself could not finish: every notebook incomplete, with why."""
    why = f"{reason} (tried {executors.MAX_ATTEMPTS} times); run `course grade` again to grade this student"
    return grading.SubmissionResult(task.student, task.assignment, [
        grading.NotebookResult(name, grading.NotebookStatus.INCOMPLETE, why) for name in sorted(task.notebooks)])


def _write_outputs(folder: Path, graded: grading.GradedSubmission) -> None:
    """Write the executed notebooks and ``results.json``; drop executed notebooks of an earlier grading."""
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in graded.result.notebooks:
        target = folder / notebook.name
        if notebook.name in graded.notebooks:
            target.write_bytes(graded.notebooks[notebook.name])
        else:
            target.unlink(missing_ok=True)
    (folder / resume.RESULTS_FILE).write_text(graded.result.to_json(), encoding="utf-8")


@dataclass
class _Recorder:
    """The coordinator's side of a run: the only writer of the gradebook and of the autograded folder."""

    course: Course
    assignment: str
    notes: dict[str, list[str]]
    submitted_at: dict[str, datetime | None]
    fingerprints: dict[str, str]
    bar: tqdm
    registration: gradebook.Registration  # runs beside the first tasks; done before the first score is written
    results: list[grading.SubmissionResult] = field(default_factory=list)

    def _record(self, result: grading.SubmissionResult) -> None:
        self.registration.wait()
        for cell in gradebook.record(self.course, result, self.submitted_at.get(result.student)):
            print(f"course: warning: the gradebook has no cell {cell}; run `course grade` again", file=sys.stderr)

    def graded(self, graded: grading.GradedSubmission) -> None:
        """Record a result: gradebook, executed notebooks, results.json, and last the inputs' hash."""
        result = graded.result
        if result.notebooks:
            result.notebooks[0].notes.extend(self.notes[result.student])
        folder = _folder(self.course, self.assignment, result.student)
        resume.forget(folder)
        nbgrader_layout.keep_history(folder)
        self._record(result)
        _write_outputs(folder, graded)
        if result.student in self.fingerprints:
            resume.remember(folder, self.fingerprints[result.student])
        self.results.append(result)
        self.bar.update(1)

    def failed(self, task: grading.GradeTask, reason: str) -> None:
        """Record a task the grader could not finish (no hash stored: the next run grades it again)."""
        self.fingerprints.pop(task.student, None)
        self.graded(grading.GradedSubmission(_failed_result(task, reason)))

    def kept_as_graded(self, result: grading.SubmissionResult, in_gradebook: bool) -> None:
        """Keep a result graded earlier from identical inputs; put it back in the gradebook if it is missing there."""
        if not in_gradebook:
            self._record(result)
        self.results.append(result)
        self.bar.update(1)


@dataclass
class _Plan:
    """Who is graded in this run, and whose earlier results are kept (graded from identical inputs)."""

    pending: list[submissions.Submission] = field(default_factory=list)
    kept: list[grading.SubmissionResult] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)  # student -> hash of the inputs to grade


def _folder(course: Course, assignment: str, student: str) -> Path:
    """The student's ``autograded/<student>/<assignment>/`` folder."""
    return course.autograded / student / assignment


def _plan(course: Course, assignment: str, found: list[submissions.Submission], source: worker.AssignmentFiles,
          settings: execute.Settings, salts: Salts, force: bool) -> _Plan:
    """Hash every student's inputs; keep the results graded before from the same inputs unless ``force``."""
    plan = _Plan()
    for submission in found:
        fingerprint = resume.fingerprint(_task(source, submission, settings, salts), submission.notes)
        earlier = None if force else resume.graded_before(_folder(course, assignment, submission.student), fingerprint)
        if earlier is None:
            plan.pending.append(submission)
            plan.fingerprints[submission.student] = fingerprint
        else:
            plan.kept.append(earlier)
    return plan


def left_out_result(assignment: str, notebooks: Iterable[str], left_out: importers.LeftOut) -> grading.SubmissionResult:
    """The result shown for a student who was not graded: every notebook without a score, with the reason."""
    return grading.SubmissionResult(left_out.student, assignment, [
        grading.NotebookResult(name, grading.NotebookStatus.MISSING, f"not graded: {left_out.reason}")
        for name in sorted(notebooks)])


def _import(course: Course, assignment: str, source: Path, staging: Path, request: importers.Request,
            grade_the_rest: bool) -> importers.ImportResult:
    """Import the submissions; stop with the report when something is wrong, unless told to grade the rest."""
    found = importers.collect_for_course(course, assignment, source, staging, request)
    if found.problems and not grade_the_rest:
        raise GradingSetupError(f"The submissions have problems; nothing was graded.\n\n"
                                f"{report.render(found, assignment)}")
    for problem in found.problems:
        print(f"course: warning: not graded as it is: [{problem.kind.value}] {problem}", file=sys.stderr)
    return found


def _dataset() -> str:
    """The dataset the kernels load (``COURSE_DATASET``)."""
    try:
        return data.dataset_name()
    except ValueError as error:
        raise GradingSetupError(str(error)) from None


def _settings(cell_timeout: float, notebook_timeout: float, unsafe: bool, disk_quota_mib: int,
              dataset: str) -> execute.Settings:
    """The machine-independent grading settings; each worker adds its own folders (:mod:`autograder.worker`)."""
    return execute.Settings(cell_timeout_s=cell_timeout, notebook_timeout_s=notebook_timeout, sandboxed=not unsafe,
                            kernel_env={"COURSE_QUICK": "1", "COURSE_DATASET": dataset},
                            limits=sandbox.Limits(disk_bytes=disk_quota_mib * 2**20))


def grade(course: Course, assignment: str, submissions_dir: Path | None = None, *, jobs: int | None = None,
          student: str | None = None, unsafe: bool = False, cell_timeout: float = 120,
          notebook_timeout: float = 600, disk_quota_mib: int = 512, progress: bool = True,
          request: importers.Request | None = None, grade_the_rest: bool = False,
          scheduler: str | None = None, force: bool = False) -> list[grading.SubmissionResult]:
    """Grade the class (or one ``student``) and record the scores; returns the results sorted by student.

    Students who were not graded (two submissions claiming one id, an unusable id, a roster student with
    no submission) come back too, every notebook without a score and with the reason; they are not
    written to the gradebook. Students graded before from identical inputs come back with their stored
    results and are not graded again, unless ``force``.

    Args:
        jobs: workers of the local process pool (default: all cores); not used with ``scheduler``.
        disk_quota_mib: the disk space one submission may write while it is graded (its /tmp included).
        request: how to read the submissions (format, pattern, roster, due date); default: detect the format.
        grade_the_rest: grade what can be graded when the import has problems (they are printed and kept
            for the export) instead of stopping.
        scheduler: run the tasks on Dask distributed: a scheduler's address, or ``local:N`` for a
            ``LocalCluster`` of N worker processes here; None: the local process pool.
        force: grade every student again, even those graded before from identical inputs.

    Raises:
        GradingSetupError: the course, the submissions, the sandbox or the scheduler are not usable, or the
            import has problems and ``grade_the_rest`` is false; nothing was graded.
    """
    source = submissions_dir or course.submitted
    try:
        course.assignment(assignment)
        _require_sandbox(unsafe)
        executor = executors.executor_for(scheduler, jobs)
        settings_of_course = lateness.read_settings(course.root)
        dataset = _dataset()
        with scratch_folders.folder("staging") as staging:
            imported = _import(course, assignment, source, staging, request or importers.Request(),
                               grade_the_rest)
            found = imported.submissions
            if student is not None:
                found = [s for s in found if s.student == student]
                if not found:
                    raise GradingSetupError(f"No submission of {assignment} by {student!r} in {source}.")
                imported = replace(imported, submissions=found)
            for submission in found:
                late = lateness.Lateness(submission.submitted_at, submission.due, submission.marked_late)
                if late.is_late:
                    submission.notes.append(late.describe(settings_of_course.policy))
            ledger.write(course, assignment, imported, partial=student is not None)
            settings = _settings(cell_timeout, notebook_timeout, unsafe, disk_quota_mib, dataset)
            files = worker.AssignmentFiles.read(course.assignment(assignment))
            salts = Salts.draw()
            plan = _plan(course, assignment, found, files, settings, salts, force)
            nbgrader_layout.make_working_folders(course)
            if source.resolve() != course.submitted.resolve():  # nbgrader and formgrader find them there
                for submission in plan.pending:
                    nbgrader_layout.mirror_submission(course, assignment, submission)
            recorded = gradebook.students_with_submission(course, assignment) if plan.kept else set()
            if plan.pending and executors.is_local(scheduler):
                worker.prepare(dataset)  # the dataset cache, once, before the local workers start
            needed = bool(plan.pending) or any(result.student not in recorded for result in plan.kept)
            with gradebook.Registration(course, assignment, needed=needed) as registration, \
                    tqdm(total=len(found), desc="grading", unit="student", disable=not progress) as bar:
                recorder = _Recorder(course, assignment, {s.student: s.notes for s in found},
                                     {s.student: s.submitted_at for s in found}, plan.fingerprints, bar,
                                     registration)
                for result in plan.kept:
                    recorder.kept_as_graded(result, result.student in recorded)
                executor.run((_task(files, submission, settings, salts) for submission in plan.pending),
                             recorder.graded, recorder.failed)
                registration.wait()
            if plan.kept:
                print(f"course: {len(plan.kept)} of {len(found)} students were graded before from identical inputs "
                      f"and kept; --force grades them again", file=sys.stderr)
            results = recorder.results
    except (CourseError, importers.SubmissionsError, lateness.LatenessError, executors.ExecutorError) as error:
        raise GradingSetupError(str(error)) from error
    if student is None:
        names = [path.name for path in course.assignment(assignment).notebooks()]
        results += [left_out_result(assignment, names, left) for left in imported.left_out]
    return sorted(results, key=lambda r: r.student)


def summary_table(results: list[grading.SubmissionResult]) -> str:
    """A plain-text table: one row per student, a column per notebook, the total and the reasons.

    The notes say, per notebook that lost points, why: the reason it was not graded or stopped early
    (missing, unreadable, out of time), else the first failing cell's reason (an error it raised, a
    timeout, a wrong result), cut to 200 characters.
    """
    if not results:
        return "(no submissions)"

    def first_problem(notebook: grading.NotebookResult) -> str:
        if notebook.reason:
            return notebook.reason
        failing = (cell for cell in notebook.cells
                   if not cell.manual and cell.message and (cell.score or 0.0) < cell.points)
        cell = next(failing, None)
        return f"{cell.grade_id}: {cell.message}" if cell else ""

    names = [nb.name.removesuffix(".ipynb") for nb in results[0].notebooks]
    width = max(8, *(len(r.student) for r in results))
    lines = [f"{'student':{width}s} " + " ".join(f"{n[:14]:>14s}" for n in names) + f" {'total':>7s}  notes"]
    for result in results:
        columns = []
        for notebook in result.notebooks:
            score = notebook.auto_score
            columns.append(f"{'—' if score is None else f'{score:g}/{notebook.auto_points:g}':>14s}")
        total = sum(nb.auto_score or 0.0 for nb in result.notebooks)
        problems = ((nb.name.removesuffix(".ipynb"), first_problem(nb)) for nb in result.notebooks)
        notes = "; ".join(f"{name}: {problem}" for name, problem in problems if problem)
        if len(notes) > 200:
            notes = notes[:199] + "…"
        lines.append(f"{result.student:{width}s} " + " ".join(columns) + f" {total:7g}  {notes}")
    return "\n".join(lines)
