"""The command line that starts a grading kernel inside a bubblewrap sandbox.

What the kernel sees (everything else of the file system does not exist for it):

* read-only: the system (``/usr``, ``/etc``), the Python installation and virtual environment,
  the packages ``course_utils`` and ``autograder`` (never ``solutions/``), the dataset cache;
* read-write: its scratch folder (a copy of the submission's folder) and a private ``/tmp``;
* no network (a new, empty network namespace), its own PID namespace (a kernel that dies takes
  every process it started with it), and a separate, unprivileged user (when the grader runs as
  root) so that the process limit applies.

Resource limits (``prlimit``): address space (memory), processes, CPU seconds, file size. The private
``/tmp`` is a tmpfs of at most the disk quota. Wall-clock limits per cell and per notebook and the
disk quota of the writable folders are enforced by the grader (:mod:`autograder.execute`).
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot start a sandbox here; the message says what to install."""


INSTALL_HINT = ("Grading runs every kernel in a bubblewrap sandbox, and `bwrap` was not found. Install it "
                "(Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install bubblewrap`; "
                "`make venv` does this for you when it runs as root), or grade without isolation with "
                "--unsafe (only for code you trust).")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading kernel."""

    memory_bytes: int = 2 * 1024**3
    processes: int = 64
    cpu_seconds: int = 900
    file_bytes: int = 100 * 1024**2
    disk_bytes: int = 512 * 1024**2  # all the files a submission writes, together (and its /tmp)
    disk_entries: int = 10_000  # files and folders it may create


def _parents(path: Path) -> list[Path]:
    return list(reversed(path.parents))[1:] + [path]


def processes_of(uid: int) -> int:
    """How many processes the user ``uid`` runs on this machine."""
    count = 0
    for entry in Path("/proc").iterdir():
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            continue
    return count


def bwrap_path() -> str:
    """The bubblewrap executable; raises SandboxUnavailable when it is not installed."""
    found = shutil.which("bwrap")
    if not found:
        raise SandboxUnavailable(INSTALL_HINT)
    return found


def wrap(command: list[str], workdir: Path, writable: list[Path], readonly: list[Path], limits: Limits,
         uid: int | None) -> list[str]:
    """Return ``command`` wrapped to run sandboxed in ``workdir``.

    Args:
        command: the kernel's command line (absolute paths).
        workdir: a writable folder that becomes the working directory.
        writable: other writable folders (the kernel's connection and verdict folders).
        readonly: extra folders to show read-only at their own paths (packages, dataset cache).
        limits: resource limits.
        uid: run as this unprivileged user id (when the grader is root), or None to keep the user.
    """
    bwrap = bwrap_path()
    python_home = Path(sys.base_prefix).resolve()
    venv = Path(sys.prefix)
    shown = [python_home, venv, *readonly]
    args = [bwrap, "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "lib", "lib64", "lib32", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.disk_bytes), "--tmpfs", "/tmp"]
    made: set[Path] = set()
    for folder in [*shown, workdir, *writable]:
        for parent in _parents(folder)[:-1]:
            if parent not in made and str(parent) not in ("/usr", "/etc", "/tmp", "/proc", "/dev"):
                args += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
    for folder in shown:
        if folder.exists():
            args += ["--ro-bind", str(folder), str(folder)]
    for folder in [workdir, *writable]:
        args += ["--bind", str(folder), str(folder)]
    args += ["--chdir", str(workdir), "--unsetenv", "JPY_PARENT_PID"]
    # The process limit counts every process of the user; an unprivileged instructor keeps theirs.
    processes = limits.processes if uid is not None else limits.processes + processes_of(os.getuid())
    limit = [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_bytes}", f"--nproc={processes}",
             f"--cpu={limits.cpu_seconds}", f"--fsize={limits.file_bytes}", "--"]
    if uid is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        drop = [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--bounding-set=-all", "--inh-caps=-all"]
        return args + limit + drop + command
    return args + limit + command
