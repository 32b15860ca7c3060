"""Run one notebook for ``course check``: a fresh kernel of this Python, cell by cell, in a scratch copy.

The notebook's folder is copied to a scratch folder (so ``load_notebook`` finds the student's other
notebooks and nothing is written beside them), the kernel gets the quick training budget as in
grading, failing asserts explain themselves (:mod:`.asserts`), and after each graded cell that
holds functions to the loop rule the rule is checked in the kernel (:mod:`.probes`). A cell that
raises or runs out of time never stops the run; a kernel that dies does.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder import cells
from autograder import scratch as scratch_folders
from autograder.student import probes
from autograder.student.manifest import NotebookRules

KERNEL_START_TIMEOUT_S = 60
QUICK_BUDGET = {"COURSE_QUICK": "1"}  # grading trains on the quick budget (course_utils.budget)
_SETUP = '__import__("autograder.student.asserts", fromlist=["install"]).install(get_ipython())'
_PROBE = '__import__("autograder.student.probes", fromlist=["print_loop_problems"]).print_loop_problems(globals(), {names!r})'


class RunError(Exception):
    """The kernel could not be prepared for the check; the message says what to do."""


@dataclass
class CellOutcome:
    """How one code cell ran: its error (``"Name: message"``) and the loop-rule problems found after it."""

    index: int
    error: str | None = None
    loop_problems: dict[str, str] = field(default_factory=dict)


@dataclass
class NotebookRun:
    """The outcome of every code cell that ran, and why the run stopped early, if it did."""

    outcomes: dict[int, CellOutcome] = field(default_factory=dict)
    stopped: str | None = None
    seconds: float = 0.0


class _ThisPythonKernel(AsyncKernelManager):
    """A kernel started with the Python running ``course``, whatever kernels Jupyter knows of."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]


def _error_of(cell: nbformat.NotebookNode) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip()
    return None


def _printed(cell: nbformat.NotebookNode) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout")


def _run_extra(client: NotebookClient, notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """Run code of the checker's own in the kernel; returns its cell (nbclient stores a cell it runs in the
    notebook at the index it is given, so the cell is appended for the while and removed)."""
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.append(cell)
    try:
        client.execute_cell(cell, len(notebook.cells) - 1, store_history=False)
    finally:
        notebook.cells.pop()
    return cell


def _run_cells(client: NotebookClient, notebook: nbformat.NotebookNode, rules: NotebookRules, deadline: float,
               run: NotebookRun) -> None:
    setup = _run_extra(client, notebook, _SETUP)
    if _error_of(setup):
        raise RunError(f"The check could not prepare its kernel ({_error_of(setup)}); reinstall the course "
                       f"package into the environment that runs `course`.")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if time.monotonic() >= deadline:
            run.stopped = f"the notebook ran out of time; cell {index + 1} and the cells after it did not run"
            return
        outcome = run.outcomes[index] = CellOutcome(index)
        try:
            client.execute_cell(cell, index, store_history=True)
        except DeadKernelError:
            outcome.error = "KernelDied: the kernel stopped while running this cell"
            run.stopped = f"the kernel died in cell {index + 1} (a crash or out of memory); the cells after it did not run"
            return
        except CellTimeoutError:
            outcome.error = "CellTimeout: this cell ran longer than its time limit and could not be interrupted"
            run.stopped = f"cell {index + 1} could not be interrupted; the cells after it did not run"
            return
        outcome.error = _error_of(cell)
        names = rules.loop_rule.get(cells.grade_id(cell) or "", ())
        if names:
            probe = _run_extra(client, notebook, _PROBE.format(names=list(names)))
            found = probes.parse(_printed(probe))
            if found is None:
                raise RunError(f"The loop rule could not be checked after cell {index + 1} "
                               f"({_error_of(probe) or 'no answer from the kernel'}).")
            outcome.loop_problems = found


def run_notebook(notebook: nbformat.NotebookNode, folder: Path, rules: NotebookRules, timeout_s: float) -> NotebookRun:
    """Execute ``notebook`` (its outputs are filled in) as if it were in ``folder``, and return what happened.

    Args:
        notebook: the notebook to run.
        folder: the folder it belongs to; copied, so the student's files are never written.
        rules: which graded cells hold which functions to the loop rule.
        timeout_s: the time limit of one cell, and of the whole notebook.

    Raises:
        RunError: the kernel could not be prepared (the course package is not importable in it).
    """
    started = time.monotonic()
    deadline = started + timeout_s
    run = NotebookRun()
    with scratch_folders.folder("check") as scratch:
        work = Path(scratch) / folder.name
        shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        environment = {**os.environ, **QUICK_BUDGET, "MPLBACKEND": "Agg"}
        client = NotebookClient(notebook, km=_ThisPythonKernel(), allow_errors=True, interrupt_on_timeout=True,
                                startup_timeout=KERNEL_START_TIMEOUT_S,
                                error_on_timeout={"ename": "CellTimeout",
                                                  "evalue": "this cell ran longer than its time limit and was "
                                                            "interrupted"},
                                timeout_func=lambda cell: max(1, int(min(timeout_s, deadline - time.monotonic()))),
                                resources={"metadata": {"path": str(work)}})
        try:
            with client.setup_kernel(env=environment, cwd=str(work), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL):
                _run_cells(client, notebook, rules, deadline, run)
        except DeadKernelError:
            run.stopped = run.stopped or "the kernel died"
        except RuntimeError as error:  # the kernel could not start
            run.stopped = f"the kernel could not start ({error}); check that ipykernel is installed"
    run.seconds = time.monotonic() - started
    return run
