"""``course grade``: grade a whole class in parallel into nbgrader's gradebook.

The coordinator finds the submissions, hands one :class:`~autograder.grading.GradeTask` per
student to a pool of worker processes, and is the only writer of the gradebook
(``<course root>/gradebook.db``, nbgrader's own, so ``nbgrader formgrader`` works for the
written answers). Results also go to ``<course root>/autograded/<student>/<assignment>/``.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm.auto import tqdm

from autograder import execute, grading, release, sandbox

UNSAFE_WARNING = ("WARNING: grading WITHOUT the sandbox (--unsafe): student code runs with your permissions, "
                  "can read the solutions and the gradebook, and can use the network. Only do this for code "
                  "you trust.")


class GradingSetupError(RuntimeError):
    """An error of the instructor's setup (not of a student's code); the message says what to do."""


@dataclass
class Submission:
    student: str
    files: dict[str, Path | None]
    support_files: tuple[Path, ...]
    notes: list[str]


def course_root() -> Path:
    """The folder holding the gradebook and the working folders (``COURSE_ROOT`` or ``course_root/``)."""
    return Path(os.environ.get("COURSE_ROOT", release.course_repo() / "course_root")).resolve()


def _grade_ids(path: Path) -> set[str]:
    try:
        import nbformat

        notebook = nbformat.read(path, as_version=4)
        return {cell.metadata.nbgrader.grade_id for cell in notebook.cells
                if "nbgrader" in cell.metadata and "grade_id" in cell.metadata.nbgrader}
    except Exception:
        return set()


def match_notebooks(expected: dict[str, set[str]], found: list[Path]) -> tuple[dict[str, Path | None], list[str]]:
    """Match submitted files to the assignment's notebook names; renamed copies are matched by content.

    Args:
        expected: notebook name -> grade ids of its cells (from the source).
        found: the notebook files of one student's submission.
    """
    files: dict[str, Path | None] = {name: None for name in expected}
    notes = []
    rest = []
    for path in found:
        if path.name in files and files[path.name] is None:
            files[path.name] = path
        else:
            rest.append(path)
    for path in rest:
        ids = _grade_ids(path)
        best = max((name for name in files if files[name] is None), key=lambda name: len(ids & expected[name]),
                   default=None)
        if best is not None and ids & expected[best]:
            files[best] = path
            notes.append(f"{path.name} was graded as {best} (it was renamed)")
        else:
            notes.append(f"{path.name} is not a notebook of this assignment and was not graded")
    return files, notes


def _lms_student(name: str) -> str | None:
    match = re.match(r"^([A-Za-z0-9.\-]+?)_(.+\.ipynb)$", name)
    return match.group(1) if match else None


def find_submissions(folder: Path, assignment: str, expected: dict[str, set[str]]) -> list[Submission]:
    """Submissions in nbgrader's layout ``folder/<student>/<assignment>/*.ipynb`` or an LMS export.

    An LMS export is a folder (or ``.zip``) of files named ``<student>_<anything>.ipynb``.
    """
    if not folder.exists():
        raise GradingSetupError(f"The submissions folder {folder} does not exist; pass --submissions DIR with one "
                                f"folder per student (DIR/<student>/{assignment}/*.ipynb) or an LMS zip.")
    if folder.is_file() and folder.suffix == ".zip":
        unpacked = Path(tempfile.mkdtemp(prefix="course-lms-"))
        with zipfile.ZipFile(folder) as archive:
            for member in archive.namelist():
                name = Path(member).name
                if name.endswith(".ipynb") and _lms_student(name):
                    (unpacked / name).write_bytes(archive.read(member))
        folder = unpacked
    submissions = []
    student_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and (p / assignment).is_dir())
    if student_dirs:
        for student_dir in student_dirs:
            own = student_dir / assignment
            notebooks = sorted(p for p in own.glob("*.ipynb") if not p.name.startswith("."))
            files, notes = match_notebooks(expected, notebooks)
            support = tuple(p for p in sorted(own.iterdir()) if p.is_file() and p.suffix != ".ipynb"
                            and p.stat().st_size < 10 * 2**20)
            submissions.append(Submission(student_dir.name, files, support, notes))
        return submissions
    by_student: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.ipynb")):
        student = _lms_student(path.name)
        if student:
            by_student.setdefault(student, []).append(path)
    for student, paths in by_student.items():
        renamed = []
        for path in paths:  # strip the student prefix (LMS exports add it)
            plain = path.name[len(student) + 1:]
            renamed.append(path.with_name(plain) if plain in expected else path)
        staged = Path(tempfile.mkdtemp(prefix=f"course-{student}-"))
        staged_paths = []
        for path, target in zip(paths, renamed):
            staged_paths.append(Path(shutil.copy(path, staged / target.name)))
        files, notes = match_notebooks(expected, staged_paths)
        submissions.append(Submission(student, files, (), notes))
    if not submissions:
        raise GradingSetupError(f"No submissions of {assignment} in {folder}: expected {folder}/<student>/{assignment}/"
                                f"*.ipynb or files named <student>_<notebook>.ipynb.")
    return submissions


def ensure_gradebook(assignment: str, root: Path) -> None:
    """Register the assignment (notebooks, graded cells, source) in the gradebook with nbgrader."""
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, COURSE_ROOT=str(root))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with tempfile.TemporaryDirectory(prefix="course-gb-") as scratch:
        command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                   f"--CourseDirectory.release_directory={scratch}", "--log-level=ERROR"]
        result = subprocess.run(command, cwd=release.course_repo(), env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise GradingSetupError(f"nbgrader could not register {assignment} in the gradebook:\n{result.stdout}{result.stderr}")


def record(result: grading.SubmissionResult, root: Path) -> None:
    """Write one student's scores into nbgrader's gradebook (manual scores already given are kept)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook, warnings.catch_warnings():
        # nbgrader's add_submission triggers SQLAlchemy autoflush warnings that are harmless here.
        warnings.simplefilter("ignore")
        gradebook.update_or_create_student(result.student)
        try:
            gradebook.find_submission(result.assignment, result.student)
        except MissingEntry:
            gradebook.add_submission(result.assignment, result.student)
        for notebook in result.notebooks:
            for cell in notebook.cells:
                try:
                    grade = gradebook.find_grade(cell.grade_id, notebook.name.removesuffix(".ipynb"),
                                                 result.assignment, result.student)
                except Exception:
                    continue
                if cell.manual:
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None and notebook.status != "missing"
                else:
                    grade.auto_score = cell.score
                    grade.needs_manual_grade = False
        gradebook.db.commit()


def _kernel_env() -> tuple[dict[str, str], tuple[Path, ...]]:
    """Environment and read-only folders the grading kernels need: packages and the dataset cache."""
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
    env = {"COURSE_QUICK": "1", "COURSE_DATASET": name, "COURSE_DATA_DIR": str(data_dir)}
    readonly = (Path(autograder.__file__).parent, Path(course_utils.__file__).parent, data_dir)
    return env, readonly


def grade(assignment: str, submissions_dir: Path, *, jobs: int | None = None, student: str | None = None,
          unsafe: bool = False, cell_timeout: float = 120, notebook_timeout: float = 600,
          progress: bool = True) -> list[grading.SubmissionResult]:
    """Grade the class (or one ``student``) and record the scores; returns the results."""
    repo = release.course_repo()
    if assignment not in release.assignment_names(repo):
        raise GradingSetupError(f"Unknown assignment {assignment!r}; solutions/ holds "
                                f"{', '.join(release.assignment_names(repo)) or 'none'}.")
    if unsafe:
        print(UNSAFE_WARNING, file=sys.stderr)
    else:
        try:
            sandbox.bwrap_path()
        except sandbox.SandboxUnavailable as error:
            raise GradingSetupError(str(error)) from None
    source_dir = repo / "solutions" / assignment
    expected = {path.name: _grade_ids(path) for path in sorted(source_dir.glob("*.ipynb"))}
    submissions = find_submissions(submissions_dir, assignment, expected)
    if student is not None:
        submissions = [s for s in submissions if s.student == student]
        if not submissions:
            raise GradingSetupError(f"No submission of {assignment} by {student!r} in {submissions_dir}.")
    root = course_root()
    ensure_gradebook(assignment, root)
    env, readonly = _kernel_env()
    settings = execute.Settings(cell_timeout_s=cell_timeout, notebook_timeout_s=notebook_timeout,
                                sandboxed=not unsafe, kernel_env=env, readonly=readonly)
    tasks = []
    for number, submission in enumerate(submissions):
        uid = 61000 + number % 1000 if os.getuid() == 0 and not unsafe else None
        tasks.append(grading.GradeTask(submission.student, assignment, source_dir, submission.files,
                                       submission.support_files, root / "autograded" / submission.student / assignment,
                                       replace(settings, uid=uid), secrets.randbelow(2**31)))
    results = []
    notes = {s.student: s.notes for s in submissions}
    workers = max(1, min(jobs or os.cpu_count() or 1, len(tasks)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grading.grade_submission, task): task for task in tasks}
        bar = tqdm(total=len(tasks), desc=f"grading {assignment}", unit="student", disable=not progress)
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a failure of the grader itself; the batch goes on
                result = grading.SubmissionResult(task.student, assignment, [
                    grading.NotebookResult(name, "incomplete", f"the grader failed: {type(error).__name__}: {error}")
                    for name in task.files])
            if notes[task.student]:
                result.notebooks and result.notebooks[0].notes.extend(notes[task.student])
                (task.output_dir / "results.json").write_text(result.to_json(), encoding="utf-8")
            record(result, root)
            results.append(result)
            bar.update(1)
        bar.close()
    return sorted(results, key=lambda r: r.student)


def summary_table(results: list[grading.SubmissionResult]) -> str:
    """A plain-text table: one row per student, a column per notebook, the total and the reasons."""
    if not results:
        return "(no submissions)"
    names = [nb.name.removesuffix(".ipynb") for nb in results[0].notebooks]
    width = max(8, *(len(r.student) for r in results))
    lines = [f"{'student':{width}s} " + " ".join(f"{n[:14]:>14s}" for n in names) + f" {'total':>7s}  notes"]
    for result in results:
        cells = []
        for notebook in result.notebooks:
            score = notebook.auto_score
            possible = sum(c.points for c in notebook.cells if not c.manual)
            cells.append(f"{'—' if score is None else f'{score:g}/{possible:g}':>14s}")
        scores = [nb.auto_score for nb in result.notebooks]
        total = sum(s for s in scores if s is not None)
        reasons = "; ".join(f"{nb.name}: {nb.reason}" for nb in result.notebooks if nb.reason)
        lines.append(f"{result.student:{width}s} " + " ".join(cells) + f" {total:7g}  {reasons[:120]}")
    return "\n".join(lines)
