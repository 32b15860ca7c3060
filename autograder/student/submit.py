"""``course submit [FOLDER]``: check the assignment, then write the zip to upload to the course's LMS.

The zip holds the assignment's notebooks under their release names, at its top level, and nothing
else: the grader opens a student's zip from any LMS export and recognises the notebooks by name.
Before anything is written, every notebook of the assignment must be in FOLDER, be valid JSON and
a notebook, and still hold every cell of the assignment (answers and tests); otherwise nothing is
written and the message says what to do. A copy saved under another name (``01_features-Copy1``)
is recognised by its cells and submitted under its right name. Failing visible tests do not stop
the submission: partial work earns partial points.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from autograder import cells
from autograder.student import check as student_check
from autograder.student.manifest import MANIFEST_NAME, Manifest, NotebookRules


class SubmitError(Exception):
    """The folder cannot be submitted as it is; the message lists every problem and what to do."""


@dataclass(frozen=True)
class Found:
    """The file in the student's folder that is submitted as the release notebook ``rules.name``."""

    rules: NotebookRules
    path: Path


def _grade_ids(path: Path) -> set[str] | str:
    """The grade ids of the notebook at ``path``, or why it is not a notebook."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return f"cannot be read ({error})"
    except json.JSONDecodeError as error:
        return (f"is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); it was damaged outside "
                f"JupyterLab. Open the last good copy (JupyterLab: File > Revert Notebook to Checkpoint) or take "
                f"the fresh notebook from the bundle and copy your answers into it")
    try:
        notebook = nbformat.from_dict(data)
        nbformat.validate(notebook)
    except (nbformat.ValidationError, AttributeError, TypeError) as error:
        return f"is JSON but not a notebook ({str(error).splitlines()[0]}); save it again from JupyterLab"
    return {identity for identity in (cells.grade_id(cell) for cell in notebook.get("cells", [])) if identity}


def _locate(folder: Path, rules: NotebookRules, others: list[Path]) -> Path | None:
    """The notebook of ``folder`` to submit as ``rules.name``: that file, else a renamed copy with its cells."""
    exact = folder / rules.name
    if exact.is_file():
        return exact
    for candidate in others:
        ids = _grade_ids(candidate)
        if isinstance(ids, set) and set(rules.cells) <= ids:
            return candidate
    return None


def gather(folder: Path, manifest: Manifest) -> list[Found]:
    """The notebooks of ``folder`` to submit, one per notebook of the assignment.

    Raises:
        SubmitError: a notebook is missing, unreadable, not a notebook, or lacks cells of the assignment.
    """
    others = sorted(p for p in folder.glob("*.ipynb") if p.name not in manifest.names())
    found, problems = [], []
    for rules in manifest.notebooks:
        path = _locate(folder, rules, others)
        if path is None:
            problems.append(f"{rules.name} is not in {folder}; put it back (the bundle has a fresh copy) even if you "
                            f"did not work on it")
            continue
        ids = _grade_ids(path)
        if isinstance(ids, str):
            problems.append(f"{path.name} {ids}")
            continue
        missing = [identity for identity in rules.cells if identity not in ids]
        if missing:
            problems.append(f"{path.name} lacks {len(missing)} cell(s) of the assignment ({', '.join(missing)}); "
                            f"copy them back from the fresh notebook in the bundle (JupyterLab: copy the cell, "
                            f"paste it in the same place), then submit again")
            continue
        found.append(Found(rules, path))
    if problems:
        raise SubmitError(f"{folder} cannot be submitted as it is; nothing was written:\n  " + "\n  ".join(problems))
    return found


def write_zip(found: list[Found], target: Path) -> Path:
    """Write the notebooks into the zip ``target`` under their release names; return ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in found:
            archive.write(item.path, arcname=item.rules.name)  # the file's own time: when it was last saved
    partial.replace(target)
    return target


def submit(folder: Path, manifest: Manifest | None, output: Path | None = None, run_check: bool = True,
           timeout_s: float = student_check.DEFAULT_TIMEOUT_S, show: Callable[[str], None] = print) -> int:
    """Check the assignment in ``folder`` and write its submission zip.

    Args:
        folder: the assignment's folder (the one holding its notebooks and its manifest).
        manifest: the assignment's manifest; by default the one in ``folder``.
        output: the zip to write (default ``<assignment>-submission.zip`` beside ``folder``).
        run_check: run ``course check`` on the notebooks first.
        timeout_s: the check's time limit per cell and per notebook.
        show: where messages go.

    Returns:
        0 when the zip was written (failing visible tests are reported, not refused).

    Raises:
        SubmitError: no manifest, or a notebook is missing, damaged or lacks cells; nothing is written.
    """
    folder = folder.resolve()
    manifest = manifest or student_check.manifest_beside(folder)
    if manifest is None:
        raise SubmitError(f"{folder} has no {MANIFEST_NAME}, so the assignment's notebooks are unknown; run "
                          f"`course submit` on the assignment's folder from its bundle (for example a1).")
    found = gather(folder, manifest)
    for item in found:
        if item.path.name != item.rules.name:
            show(f"note: {item.path.name} is submitted as {item.rules.name}")
    status = 0
    if run_check:
        status = max(student_check.check(item.path, manifest, timeout_s, show) for item in found)
    target = write_zip(found, output or folder.parent / f"{manifest.assignment}-submission.zip")
    show(f"wrote {target} ({', '.join(item.rules.name for item in found)}); upload this file to the course's "
         f"LMS as your submission of {manifest.assignment}.")
    if status:
        show("Some visible tests fail (see above). You may upload it as it is (each graded cell earns its own "
             "points) or fix them and run `course submit` again.")
    return 0
