"""``course grade``: grade a whole class in parallel into nbgrader's gradebook.

The pipeline: import the submissions (:mod:`autograder.importers`), register the assignment in the
gradebook, make one self-contained :class:`~autograder.grading.GradeTask` per student, run the
tasks on a pool of worker processes, and record each result as it arrives: this coordinating
process is the only writer of the gradebook (:mod:`autograder.gradebook`). Results also go to the
course's ``autograded/<student>/<assignment>/`` folder.
"""
from __future__ import annotations

import os
import secrets
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable

from tqdm.auto import tqdm

from autograder import execute, gradebook, grading, importers, lateness, sandbox, submissions
from autograder.importers import ledger, report
from autograder.course import Course, CourseError

UNSAFE_WARNING = ("WARNING: grading WITHOUT the sandbox (--unsafe): student code runs with your permissions, "
                  "can read the solutions and the gradebook, and can use the network. Only do this for code "
                  "you trust.")


class GradingSetupError(RuntimeError):
    """An error of the instructor's setup (not of a student's code); the message says what to do."""


def _kernel_environment() -> tuple[dict[str, str], tuple[Path, ...]]:
    """Environment and read-only folders the grading kernels need: the packages and the dataset cache."""
    import autograder
    import course_utils
    from course_utils import data

    name = data.dataset_name()
    if name == "synthetic":
        data.load_synthetic()  # generate the cache once, before the sandboxes (read-only there) need it
    data_dir = data.default_data_dir()
    for cached in data_dir.glob("*.npz"):  # kernels run as another user; older caches may be private
        if cached.stat().st_uid == os.getuid():
            cached.chmod(0o644)
    environment = {"COURSE_QUICK": "1", "COURSE_DATASET": name, "COURSE_DATA_DIR": str(data_dir)}
    packages = (Path(autograder.__file__).parent, Path(course_utils.__file__).parent)
    return environment, (*packages, data_dir)


def _require_sandbox(unsafe: bool) -> None:
    if unsafe:
        print(UNSAFE_WARNING, file=sys.stderr)
        return
    try:
        sandbox.bwrap_path()
    except sandbox.SandboxUnavailable as error:
        raise GradingSetupError(str(error)) from None


def _tasks(course: Course, assignment: str, found: list[submissions.Submission], settings: execute.Settings,
           unsafe: bool) -> list[grading.GradeTask]:
    tasks = []
    # As root, each kernel runs as an unprivileged user of its own so that process limits apply.
    settings = replace(settings, separate_user=os.getuid() == 0 and not unsafe)
    for submission in found:
        tasks.append(grading.GradeTask(submission.student, assignment, course.source / assignment, submission.files,
                                       submission.support_files, course.autograded / submission.student / assignment,
                                       settings, salt=secrets.randbelow(2**31),
                                       heldout_seed=secrets.randbelow(2**31)))
    return tasks


def _failed_task(task: grading.GradeTask, error: BaseException) -> grading.SubmissionResult:
    """The result of a task the grader itself could not finish: every notebook incomplete, with why."""
    reason = f"the grader failed: {type(error).__name__}: {error}; grade this student again"
    return grading.SubmissionResult(task.student, task.assignment, [
        grading.NotebookResult(name, grading.NotebookStatus.INCOMPLETE, reason) for name in sorted(task.files)])


def run_tasks(tasks: list[grading.GradeTask], jobs: int | None, progress: bool,
              on_result: Callable[[grading.SubmissionResult], None]) -> None:
    """Run the tasks on a local process pool, calling ``on_result`` in this process as each one ends."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    with ProcessPoolExecutor(max_workers=workers) as pool, \
            tqdm(total=len(tasks), desc="grading", unit="student", disable=not progress) as bar:
        futures = {pool.submit(grading.grade_submission, task): task for task in tasks}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # the grader itself failed on this task: recorded with its reason
                result = _failed_task(futures[future], error)
            on_result(result)
            bar.update(1)


def _add_notes(result: grading.SubmissionResult, notes: Iterable[str], output_dir: Path) -> None:
    notes = list(notes)
    if notes and result.notebooks:
        result.notebooks[0].notes.extend(notes)
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "results.json").write_text(result.to_json(), encoding="utf-8")


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


def grade(course: Course, assignment: str, submissions_dir: Path | None = None, *, jobs: int | None = None,
          student: str | None = None, unsafe: bool = False, cell_timeout: float = 120,
          notebook_timeout: float = 600, disk_quota_mib: int = 512, progress: bool = True,
          request: importers.Request | None = None,
          grade_the_rest: bool = False) -> list[grading.SubmissionResult]:
    """Grade the class (or one ``student``) and record the scores; returns the results sorted by student.

    Students who were not graded (two submissions claiming one id, an unusable id, a roster student with
    no submission) come back too, every notebook without a score and with the reason; they are not
    written to the gradebook.

    Args:
        disk_quota_mib: the disk space one submission may write while it is graded (its /tmp included).
        request: how to read the submissions (format, pattern, roster, due date); default: detect the format.
        grade_the_rest: grade what can be graded when the import has problems (they are printed and kept
            for the export) instead of stopping.

    Raises:
        GradingSetupError: the course, the submissions or the sandbox are not usable, or the import has
            problems and ``grade_the_rest`` is false; nothing was graded.
    """
    source = submissions_dir or course.submitted
    try:
        course.assignment(assignment)
        _require_sandbox(unsafe)
        settings_of_course = lateness.read_settings(course.root)
        with tempfile.TemporaryDirectory(prefix="course-staging-") as staging:
            imported = _import(course, assignment, source, Path(staging), request or importers.Request(),
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
            gradebook.register_assignment(course, assignment)
            ledger.write(course, assignment, imported, partial=student is not None)
            environment, readonly = _kernel_environment()
            settings = execute.Settings(cell_timeout_s=cell_timeout, notebook_timeout_s=notebook_timeout,
                                        sandboxed=not unsafe, kernel_env=environment, readonly=readonly,
                                        limits=sandbox.Limits(disk_bytes=disk_quota_mib * 2**20))
            tasks = _tasks(course, assignment, found, settings, unsafe)
            notes = {s.student: s.notes for s in found}
            results: list[grading.SubmissionResult] = []

            def on_result(result: grading.SubmissionResult) -> None:
                _add_notes(result, notes[result.student], course.autograded / result.student / assignment)
                for cell in gradebook.record(course, result):
                    print(f"course: warning: the gradebook has no cell {cell}; run `course grade` again",
                          file=sys.stderr)
                results.append(result)

            if tasks:
                run_tasks(tasks, jobs, progress, on_result)
    except (CourseError, importers.SubmissionsError, lateness.LatenessError) as error:
        raise GradingSetupError(str(error)) from error
    if student is None:
        names = [path.name for path in course.assignment(assignment).notebooks()]
        results += [left_out_result(assignment, names, left) for left in imported.left_out]
    return sorted(results, key=lambda r: r.student)


def summary_table(results: list[grading.SubmissionResult]) -> str:
    """A plain-text table: one row per student, a column per notebook, the total and the reasons."""
    if not results:
        return "(no submissions)"
    names = [nb.name.removesuffix(".ipynb") for nb in results[0].notebooks]
    width = max(8, *(len(r.student) for r in results))
    lines = [f"{'student':{width}s} " + " ".join(f"{n[:14]:>14s}" for n in names) + f" {'total':>7s}  notes"]
    for result in results:
        columns = []
        for notebook in result.notebooks:
            score = notebook.auto_score
            columns.append(f"{'—' if score is None else f'{score:g}/{notebook.auto_points:g}':>14s}")
        total = sum(nb.auto_score or 0.0 for nb in result.notebooks)
        reasons = "; ".join(f"{nb.name}: {nb.reason}" for nb in result.notebooks if nb.reason)
        lines.append(f"{result.student:{width}s} " + " ".join(columns) + f" {total:7g}  {reasons[:120]}")
    return "\n".join(lines)
