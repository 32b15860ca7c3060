"""``course check``: a student runs their notebooks as the grader would, with the visible tests only."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import cells, execute


class CheckError(RuntimeError):
    """The path is not a notebook or a folder of notebooks; the message says what to pass."""


def check(path: Path, timeout_s: float = 600) -> int:
    """Run the notebook(s) at ``path``; print a line per test cell; return 0 when all pass, else 1."""
    notebooks = sorted(path.glob("*.ipynb")) if path.is_dir() else [path]
    if not notebooks or not all(p.is_file() and p.suffix == ".ipynb" for p in notebooks):
        raise CheckError(f"{path} is not a notebook or a folder holding notebooks (*.ipynb).")
    failed = 0
    for notebook_path in notebooks:
        try:
            notebook = nbformat.read(notebook_path, as_version=4)
        except (OSError, ValueError, UnicodeDecodeError, nbformat.ValidationError) as error:
            print(f"{notebook_path.name}: cannot be read ({type(error).__name__}: {error}); re-save it in Jupyter.")
            failed += 1
            continue
        with tempfile.TemporaryDirectory(prefix="course-check-") as scratch:
            work = Path(scratch) / "work"
            shutil.copytree(notebook_path.parent, work, ignore=shutil.ignore_patterns(".*"))
            settings = execute.Settings(cell_timeout_s=timeout_s, notebook_timeout_s=timeout_s, sandboxed=False,
                                        kernel_env={"COURSE_QUICK": "1"})
            run = execute.run_notebook(notebook, work, Path(scratch) / "box", Path(scratch) / "records", settings)
        print(f"{notebook_path.name} ({run.seconds:.0f} s)")
        earned = possible = 0.0
        for index, cell in enumerate(notebook.cells):
            identity = cells.grade_id(cell)
            kind = cells.kind(cell)
            if cell.cell_type != "code" or not (kind is cells.CellKind.TEST or
                                                kind is cells.CellKind.LOCKED and identity.endswith("_visible")):
                continue
            cell_run = run.cells.get(index)
            error = cell_run.error if cell_run else f"did not run ({run.stopped})"
            points = cells.points(cell) if kind is cells.CellKind.TEST else 0.0
            possible += points
            earned += 0 if error else points
            failed += bool(error)
            status = "FAIL" if error else "pass"
            print(f"  {status}  {identity}" + (f" ({points:g} points)" if points else "") + (f": {error}" if error else ""))
        print(f"  visible tests: {earned:g} / {possible:g} points (hidden tests add to this when graded)")
    return 1 if failed else 0
