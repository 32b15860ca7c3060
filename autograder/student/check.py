"""``course check``: run a student's notebooks as grading will, and say what grading will do.

Each notebook runs in a fresh kernel (:mod:`.runner`); its report (:mod:`.report`) is printed as
soon as it is ready. The exit status is 0 only when every visible test and every locally checked
rule of every notebook passes. Points are never counted here: graded cells are decided at grading.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import nbformat

from autograder.student import report, runner
from autograder.student.manifest import MANIFEST_NAME, Manifest, ManifestError, NotebookRules

DEFAULT_TIMEOUT_S = 600.0
NO_MANIFEST = (f"note: no {MANIFEST_NAME} beside the notebooks, so the vectorisation rule is not checked here "
               f"(it is at grading); check the assignment's folder from its bundle to have it checked.")


class CheckError(Exception):
    """What was given cannot be checked; the message says what to pass instead."""


def notebooks_at(path: Path) -> list[Path]:
    """The notebooks to check: ``path`` itself, or the notebooks of the folder ``path``, sorted.

    Raises:
        CheckError: ``path`` is neither a notebook nor a folder holding notebooks.
    """
    if path.is_dir():
        found = sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
    else:
        found = [path] if path.is_file() and path.suffix == ".ipynb" else []
    if not found:
        raise CheckError(f"{path} is not a notebook or a folder holding notebooks (*.ipynb); pass your assignment's "
                         f"folder (for example a1) or one of its notebooks.")
    return found


def manifest_beside(path: Path) -> Manifest | None:
    """The manifest in the folder of ``path`` (a notebook or a folder), or None.

    Raises:
        CheckError: the manifest is there but damaged.
    """
    try:
        return Manifest.find(path if path.is_dir() else path.parent)
    except ManifestError as error:
        raise CheckError(str(error)) from error


def check_notebook(path: Path, manifest: Manifest | None, timeout_s: float = DEFAULT_TIMEOUT_S) -> report.NotebookReport:
    """Run one notebook and build its report (an unreadable notebook gets a report saying so)."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError, UnicodeDecodeError, nbformat.ValidationError) as error:
        return report.NotebookReport(path.name, unreadable=(
            f"cannot be read as a notebook ({type(error).__name__}: {error}); open it in JupyterLab and save it "
            f"again, or take a fresh copy from the assignment's bundle and copy your answers into it."))
    rules = (manifest.rules_for(path.name, notebook) if manifest else None) or NotebookRules.from_notebook(path.name,
                                                                                                          notebook)
    try:
        run = runner.run_notebook(notebook, path.parent, rules, timeout_s)
    except runner.RunError as error:
        raise CheckError(str(error)) from error
    return report.build(path.name, notebook, run, rules)


def check(path: Path, manifest: Manifest | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
          show: Callable[[str], None] = print) -> int:
    """Check the notebook or folder ``path``; show each notebook's report; return the exit status.

    Args:
        path: a notebook, or a folder of notebooks (an assignment).
        manifest: the assignment's manifest; by default the one beside the notebooks, if any.
        timeout_s: the time limit of one cell and of one notebook.
        show: where the report's text goes.

    Returns:
        0 when every visible test and locally checked rule passes, else 1.

    Raises:
        CheckError: ``path`` holds no notebook, a manifest is damaged, or the kernel cannot be prepared.
    """
    notebooks = notebooks_at(path)
    manifest = manifest or manifest_beside(path)
    if manifest is None:
        show(NO_MANIFEST)
    passed = True
    for notebook_path in notebooks:
        notebook_report = check_notebook(notebook_path, manifest, timeout_s)
        show(notebook_report.render())
        passed = passed and notebook_report.passed
    return 0 if passed else 1
