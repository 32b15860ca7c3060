"""Execute one notebook for grading: a fresh kernel (sandboxed unless told otherwise), time limits
per cell and per notebook, bounded output, and the verdict records each cell produced.

A cell that raises, times out or floods output never stops the run; a kernel that dies (``os._exit``,
a segfault, the memory limit) or a notebook that runs out of time stops it, and the cells that did
not run are reported as such.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder import record, sandbox

MAX_OUTPUT_CHARS_PER_CELL = 20_000
MAX_OUTPUT_CHARS_PER_NOTEBOOK = 500_000
KERNEL_START_TIMEOUT_S = 60
DISK_CHECK_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Settings:
    """How a notebook is executed for grading."""

    cell_timeout_s: float = 120.0
    notebook_timeout_s: float = 600.0
    sandboxed: bool = True
    limits: sandbox.Limits = sandbox.Limits()
    kernel_env: dict[str, str] = field(default_factory=dict)  # extra variables (COURSE_QUICK, data dir, ...)
    readonly: tuple[Path, ...] = ()  # folders the sandbox shows read-only (packages, dataset cache)
    uid: int | None = None  # the unprivileged user the kernel runs as (leased by the worker when grading as root)
    separate_user: bool = False  # run each kernel as a leased user of its own (the grader is root)


@dataclass
class CellRun:
    """How one code cell ran."""

    index: int
    error: str | None = None  # "ename: evalue" of an error, a timeout, or None
    records: list[Path] = field(default_factory=list)


@dataclass
class NotebookRun:
    """The executed notebook (outputs bounded) and what each code cell did."""

    notebook: nbformat.NotebookNode
    cells: dict[int, CellRun] = field(default_factory=dict)
    stopped: str | None = None  # why execution stopped before the end, if it did
    seconds: float = 0.0


class _GradingKernelManager(AsyncKernelManager):
    """A kernel manager that starts ipykernel with this Python, optionally inside the sandbox."""

    wrap_command = None  # callable(list[str]) -> list[str], set per instance
    kernel_uid: int | None = None

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.kernel_uid is not None:  # the kernel runs as another user and must read it
            shutil.chown(self.connection_file, self.kernel_uid, self.kernel_uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
        return self.wrap_command(command) if self.wrap_command else command


def _kill(manager: AsyncKernelManager) -> None:
    process = getattr(manager.provisioner, "process", None)
    if process is None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        process.kill()


def _truncate(cell: nbformat.NotebookNode, budget: list[int]) -> None:
    """Bound the text of a cell's outputs; ``budget`` holds the characters left for the notebook."""
    kept = []
    for output in cell.get("outputs", []):
        size = len(str(output))
        allowed = min(MAX_OUTPUT_CHARS_PER_CELL, budget[0])
        if size <= allowed:
            kept.append(output)
            budget[0] -= size
            continue
        text = output.get("text") or str(output.get("data", {}).get("text/plain", ""))
        kept.append(nbformat.v4.new_output("stream", name="stderr", text=(
            text[:max(0, allowed - 200)] + f"\n[output truncated by the grader: {size:,} characters; "
            f"the limit is {MAX_OUTPUT_CHARS_PER_CELL:,} per cell and {MAX_OUTPUT_CHARS_PER_NOTEBOOK:,} per notebook]\n")))
        budget[0] -= min(size, allowed)
    cell.outputs = kept


def disk_usage(folders: list[Path], max_entries: int) -> tuple[int, int]:
    """Bytes on disk and entries under ``folders``, never following links; stops counting past ``max_entries``."""
    used, entries, pending = 0, 0, list(folders)
    while pending and entries <= max_entries:
        try:
            with os.scandir(pending.pop()) as found:
                for entry in found:
                    entries += 1
                    info = entry.stat(follow_symlinks=False)
                    used += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
        except OSError:  # removed while counting, or unreadable: counted as nothing
            continue
    return used, entries


class _DiskGuard(threading.Thread):
    """Kills the kernel when its writable folders exceed the disk quota (bytes or entries)."""

    def __init__(self, folders: list[Path], limits: sandbox.Limits, kill) -> None:
        super().__init__(daemon=True)
        self.folders, self.limits, self.kill = folders, limits, kill
        self.exceeded: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(DISK_CHECK_INTERVAL_S):
            used, entries = disk_usage(self.folders, self.limits.disk_entries)
            if used > self.limits.disk_bytes or entries > self.limits.disk_entries:
                self.exceeded = (f"the notebook wrote more than its disk quota ({self.limits.disk_bytes / 2**20:.0f} MiB "
                                 f"in at most {self.limits.disk_entries:,} files); the kernel was stopped")
                self.kill()
                return


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_SYNTAX_ERRORS = ("SyntaxError", "IndentationError", "TabError")


def _error_of(cell: nbformat.NotebookNode) -> str | None:
    """``"ename: evalue"`` of the cell's error output; a syntax error also names its line."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), str(output.get("evalue", ""))
            if name in _SYNTAX_ERRORS and "line" not in value:
                trace = _ANSI.sub("", "\n".join(output.get("traceback", [])))
                line = re.findall(r"line (\d+)", trace)
                value += f" (line {line[-1]} of the cell)" if line else ""
            return f"{name}: {value}".strip()
    return None


def run_notebook(notebook: nbformat.NotebookNode, workdir: Path, box: Path, records: Path,
                 settings: Settings) -> NotebookRun:
    """Execute ``notebook`` in ``workdir`` and return what happened.

    Args:
        notebook: the assembled notebook to execute (modified in place: outputs).
        workdir: the kernel's working folder (a scratch copy of the submission; writable by it).
        box: a writable folder for the kernel's connection sockets and its verdict records.
        records: a grader-only folder; the records of cell ``i`` are moved to ``records/<i>-<n>.npz``.
        settings: time limits, sandboxing and kernel environment.
    """
    started = time.monotonic()
    deadline = started + settings.notebook_timeout_s
    ipc, channel = box / "ipc", box / "verdicts"
    for folder in (ipc, channel, records):
        folder.mkdir(parents=True, exist_ok=True)
    if settings.uid is not None:
        for folder in (workdir, box, ipc, channel, *workdir.rglob("*")):
            shutil.chown(folder, settings.uid, settings.uid)
    manager = _GradingKernelManager(transport="ipc", ip=str(ipc / "kernel"), kernel_name="python3")
    manager.connection_file = str(ipc / "connection.json")
    manager.kernel_uid = settings.uid if settings.sandboxed else None
    # Interrupt by message: the kernel signals itself. A signal from outside would hit bubblewrap.
    manager.kernel_spec.interrupt_mode = "message"
    if settings.sandboxed:
        manager.wrap_command = lambda command: sandbox.wrap(command, workdir, [box], list(settings.readonly),
                                                             settings.limits, settings.uid)
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin{os.pathsep}/bin", "HOME": str(workdir),
           "LANG": "C.UTF-8", "MPLCONFIGDIR": "/tmp/matplotlib" if settings.sandboxed else str(workdir / ".mpl"),
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", record.DIR_ENV: str(channel), **settings.kernel_env}
    client = NotebookClient(notebook, km=manager, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, startup_timeout=KERNEL_START_TIMEOUT_S,
                            error_on_timeout={"ename": "CellTimeout", "evalue": (
                                f"this cell ran longer than its time limit and was interrupted")},
                            timeout_func=lambda cell: max(1, int(min(settings.cell_timeout_s,
                                                                     deadline - time.monotonic()))),
                            resources={"metadata": {"path": str(workdir)}})
    run = NotebookRun(notebook)
    budget = [MAX_OUTPUT_CHARS_PER_NOTEBOOK]
    watchdog = threading.Timer(settings.notebook_timeout_s + 10, lambda: _kill(manager))
    disk = _DiskGuard([workdir, box], settings.limits, lambda: _kill(manager))
    watchdog.start()  # also bounds a kernel that never becomes ready
    try:
        with client.setup_kernel(env=env, cwd=str(workdir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            disk.start()
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if time.monotonic() >= deadline:
                    run.stopped = (f"the notebook ran out of time ({settings.notebook_timeout_s:.0f} s); "
                                   f"the cells after cell {index} did not run")
                    break
                cell_run = run.cells[index] = CellRun(index)
                limit, cell_started = 0, time.monotonic()
                try:
                    limit = client._get_timeout(cell)
                    cell_started = time.monotonic()
                    client.execute_cell(cell, index, store_history=True)
                except DeadKernelError:
                    cell_run.error = "KernelDied: the kernel stopped while running this cell"
                    run.stopped = (f"the kernel died in cell {index + 1} (os._exit, a crash, or the memory "
                                   f"limit); the cells after it did not run")
                except CellTimeoutError:
                    cell_run.error = "CellTimeout: this cell ran longer than its time limit"
                    run.stopped = f"cell {index + 1} could not be interrupted; the cells after it did not run"
                finally:
                    _truncate(cell, budget)
                    cell_run.error = cell_run.error or _error_of(cell)
                    if (cell_run.error or "").startswith("KeyboardInterrupt") and \
                            time.monotonic() - cell_started >= limit - 0.5:
                        cell_run.error = f"CellTimeout: this cell ran longer than {limit} s and was interrupted"
                    for number, path in enumerate(sorted(channel.glob("*.npz"))):
                        target = records / f"{index:04d}-{number:03d}.npz"
                        shutil.move(str(path), target)
                        cell_run.records.append(target)
                if run.stopped:
                    break
    except DeadKernelError:
        run.stopped = run.stopped or "the kernel died"
    except RuntimeError as error:  # the kernel could not start
        run.stopped = f"the kernel could not start: {error}"
    finally:
        watchdog.cancel()
        disk.done.set()
        if disk.is_alive():
            disk.join()
        _kill(manager)
    if disk.exceeded:
        run.stopped = disk.exceeded
        for cell_run in run.cells.values():
            if (cell_run.error or "").startswith("KernelDied"):
                cell_run.error = f"DiskQuota: {disk.exceeded}"
    run.seconds = time.monotonic() - started
    return run
