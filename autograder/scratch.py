"""Temporary folders that hold students' files, and their removal even after a process was killed.

A ``with`` block removes its folder when the work ends, fails or is interrupted. A process killed
outright (SIGKILL, the out-of-memory killer, a Dask worker that died) cannot; so every such folder
is named after the process that made it, and each new one first sweeps away those whose process no
longer runs.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

_OWNED = re.compile(r"^course-scratch-(\d+)-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep(folder: Path | None = None) -> list[Path]:
    """Remove the scratch folders of processes that no longer run; returns what was removed."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("course-scratch-*"):
        match = _OWNED.match(path.name)
        if match and not _alive(int(match.group(1))) and path.is_dir() and not path.is_symlink() \
                and path.stat().st_uid == os.getuid():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make(purpose: str) -> Path:
    """A new private scratch folder of this process, for ``purpose`` (a word in its name)."""
    sweep()
    return Path(tempfile.mkdtemp(prefix=f"course-scratch-{os.getpid()}-{purpose}-"))


@contextlib.contextmanager
def folder(purpose: str) -> Iterator[Path]:
    """A scratch folder for the ``with`` block, removed when it ends however it ends."""
    path = make(purpose)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
