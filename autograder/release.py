"""``course release``: generate the student notebooks from the solutions, and prove they leak nothing.

The release of an assignment is made by nbgrader's ``generate_assignment`` from
``solutions/<assignment>/`` into a scratch folder, normalised (outputs cleared, cell ids kept),
checked for leaks and only then copied to ``assignments/<assignment>/``. With ``check=True``
nothing is written: the fresh release is compared with the committed one instead.
"""
from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                "check_against_reference", "autograder.checks")
_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)
# Lines shorter than this (``return x``, ``pass``) are too common to be evidence of a leak.
MIN_LEAK_LINE = 16


class ReleaseError(RuntimeError):
    """The release cannot be made, leaks, or differs from the committed one; the message says why."""


def course_repo() -> Path:
    """Return the root of the course repository (the folder holding ``nbgrader_config.py``)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "nbgrader_config.py").is_file() or not (root / "solutions").is_dir():
        raise ReleaseError(f"{root} is not a checkout of the course repository (no nbgrader_config.py and "
                           f"solutions/ there); release from the instructor's repository.")
    return root


def assignment_names(root: Path | None = None) -> list[str]:
    """Names of the assignments in ``solutions/`` (folders holding notebooks)."""
    solutions = (root or course_repo()) / "solutions"
    return sorted(p.name for p in solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def _run_nbgrader(root: Path, assignment: str, release_dir: Path, course_root: Path) -> None:
    course_root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, COURSE_ROOT=str(course_root))
    # nbgrader starts `alembic` from PATH when it creates a gradebook.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    command = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
               f"--CourseDirectory.release_directory={release_dir}", "--log-level=WARN"]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}{result.stderr}")


def _normalise(notebook_path: Path) -> None:
    """Clear outputs and execution counts and write in nbformat's canonical layout."""
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, notebook_path)


def generate(assignment: str, target: Path) -> Path:
    """Generate the release of ``assignment`` into ``target/<assignment>`` and return that folder."""
    root = course_repo()
    if assignment not in assignment_names(root):
        raise ReleaseError(f"Unknown assignment {assignment!r}; solutions/ holds {', '.join(assignment_names(root)) or 'no assignment yet'}.")
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        _run_nbgrader(root, assignment, target, Path(scratch) / "course_root")
    folder = target / assignment
    for notebook in sorted(folder.glob("*.ipynb")):
        _normalise(notebook)
    return folder


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _secret_lines(source_notebook: Path) -> set[str]:
    """Lines of solution regions, hidden tests and model answers that appear nowhere else in the source."""
    secret, public = set(), []
    for cell in _cells(source_notebook):
        text = _text(cell)
        marks = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "markdown" and marks.get("solution"):
            secret |= {line.strip() for line in text.splitlines()}
            continue
        regions = [match.group(2) for match in _REGION.finditer(text)]
        for region in regions:
            secret |= {line.strip() for line in region.splitlines()}
        public.append(_REGION.sub("", text))
    # A line that the public part of the source also shows (say, a formula in a docstring) is no secret.
    shown = "\n".join(public)
    return {line for line in secret if len(line) >= MIN_LEAK_LINE and line not in shown}


def find_leaks(release_folder: Path, source_folder: Path) -> list[str]:
    """Return a description of every leak of solutions or hidden tests into ``release_folder``."""
    problems = []
    for notebook in sorted(release_folder.glob("*.ipynb")):
        source = source_folder / notebook.name
        secrets = _secret_lines(source) if source.exists() else set()
        for number, cell in enumerate(_cells(notebook), start=1):
            text = _text(cell)
            where = f"{notebook.name} cell {number}"
            problems += [f"{where}: contains {marker!r}" for marker in LEAK_MARKERS if marker in text]
            problems += [f"{where}: contains a line of a solution or hidden test: {line[:60]!r}"
                         for line in secrets if line in text]
            if cell["cell_type"] == "code" and cell.get("outputs"):
                problems.append(f"{where}: has outputs; releases are committed without outputs")
    return problems


def _differences(fresh: Path, committed: Path) -> list[str]:
    if not committed.is_dir():
        return [f"{committed} does not exist"]
    comparison = filecmp.dircmp(fresh, committed)
    found = [f"missing from {committed}: {name}" for name in comparison.left_only]
    found += [f"not generated from solutions/ but present in {committed}: {name}" for name in comparison.right_only
              if not name.startswith(".")]
    found += [f"differs from a fresh generation: {committed / name}"
              for name in comparison.common_files
              if json.loads((fresh / name).read_text()) != json.loads((committed / name).read_text())]
    return found


def release(assignment: str, check: bool = False) -> list[str]:
    """Release ``assignment`` into ``assignments/`` (or, with ``check``, compare with it).

    Returns:
        Lines describing what was done or checked.

    Raises:
        ReleaseError: nbgrader failed, the release leaks, or (``check``) it differs from the committed one.
    """
    root = course_repo()
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        fresh = generate(assignment, Path(scratch))
        leaks = find_leaks(fresh, root / "solutions" / assignment)
        if leaks:
            raise ReleaseError(f"The release of {assignment} would leak; nothing was written:\n  " + "\n  ".join(leaks))
        committed = root / "assignments" / assignment
        if check:
            differences = _differences(fresh, committed)
            if differences:
                raise ReleaseError(f"assignments/{assignment} is not what solutions/{assignment} generates; run "
                                   f"`course release {assignment}` and commit the result:\n  " + "\n  ".join(differences))
            return [f"assignments/{assignment} is up to date with solutions/{assignment} and leaks nothing"]
        if committed.exists():
            shutil.rmtree(committed)
        shutil.copytree(fresh, committed)
    names = ", ".join(p.name for p in sorted(committed.glob("*.ipynb")))
    return [f"released {assignment} into assignments/{assignment}: {names}"]
