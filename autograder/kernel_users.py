"""Unprivileged users for grading kernels, leased so that no two kernels on the machine share one.

When the grader runs as root, each sandboxed kernel runs as a user of its own (uid 61000-61999):
the process limit counts a user's processes machine-wide, so a fork bomb in one kernel must not
starve another kernel, whether of the same grading run or of a second run at the same time. A
lease is an exclusive ``flock`` on a file per uid in a shared folder; the operating system releases
it when the holder exits, even after a crash, so no lease outlives its process.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import tempfile
from pathlib import Path
from typing import Iterator

from autograder import sandbox

FIRST_UID = 61000
UID_COUNT = 1000
LEASE_FOLDER = Path(tempfile.gettempdir()) / "course-kernel-uids"


class NoFreeUser(RuntimeError):
    """Every kernel user is leased or still runs processes; the message says what to do."""


@contextlib.contextmanager
def lease(folder: Path = LEASE_FOLDER) -> Iterator[int]:
    """Lease a kernel uid that no other kernel uses and that runs no process; yields the uid.

    Raises:
        NoFreeUser: all of them are taken.
    """
    folder.mkdir(mode=0o700, exist_ok=True)
    start = secrets.randbelow(UID_COUNT)
    for offset in range(UID_COUNT):
        uid = FIRST_UID + (start + offset) % UID_COUNT
        descriptor = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        if sandbox.processes_of(uid):  # a kernel of a grader that was killed outright is still running
            os.close(descriptor)
            continue
        try:
            yield uid
        finally:
            os.close(descriptor)
        return
    raise NoFreeUser(f"All {UID_COUNT} kernel users ({FIRST_UID}-{FIRST_UID + UID_COUNT - 1}) are in use; grade "
                     f"with fewer --jobs, or end the processes left by an earlier run (pkill -u UID).")
