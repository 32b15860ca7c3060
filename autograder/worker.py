"""What a grading worker needs from its own machine, so that no filesystem is shared with the coordinator.

A task carries the assignment's source notebooks and spec files as bytes (:class:`AssignmentFiles`);
the worker unpacks them once per process into a private folder (only the grading process reads
it: the solutions never reach a sandboxed kernel, which sees only the spec files and held-out
images :mod:`autograder.grading` stages for it). The kernels' read-only folders (this machine's
``autograder`` and ``course_utils`` packages and its dataset cache) are found here, on the worker.
"""
from __future__ import annotations

import functools
import hashlib
import multiprocessing.util
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder import execute, sandbox
from autograder import scratch as scratch_folders
from autograder.course import Assignment

UNPACKED_ASSIGNMENTS_KEPT = 4


@dataclass(frozen=True)
class AssignmentFiles:
    """An assignment's source notebooks and spec files as bytes; ``digest`` names this exact content.

    Equal and hashed by name and digest, so that a worker keeps one unpacked copy per content.
    """

    name: str
    files: dict[str, bytes] = field(compare=False, repr=False)  # file name -> content
    digest: str = ""

    @classmethod
    def read(cls, assignment: Assignment) -> "AssignmentFiles":
        """The source notebooks and spec files of ``assignment`` (read once by the coordinator)."""
        files = {path.name: path.read_bytes() for path in (*assignment.notebooks(), *assignment.spec_files())}
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(f"{name}\0{len(files[name])}\0".encode())
            digest.update(files[name])
        return cls(assignment.name, files, digest.hexdigest())


class _Unpacked:
    """One unpacked assignment in a private temporary folder.

    The folder is removed when this object is dropped from the cache, and at the latest when the
    process exits: pool and Dask workers leave through multiprocessing, which runs its finalizers
    but not a ``TemporaryDirectory``'s, so the removal is registered with multiprocessing.
    """

    def __init__(self, files: AssignmentFiles) -> None:
        root = scratch_folders.make(f"source-{files.digest[:12]}")
        self._remove = multiprocessing.util.Finalize(self, shutil.rmtree, args=(root,),
                                                     kwargs={"ignore_errors": True}, exitpriority=10)
        root.chmod(0o700)  # the grading process's alone: a kernel's user cannot read the solutions
        folder = root / files.name  # the folder's name is the assignment's name (it namespaces the specs)
        folder.mkdir()
        for name, content in files.files.items():
            (folder / Path(name).name).write_bytes(content)
        self.assignment = Assignment.from_folder(folder)


@functools.lru_cache(maxsize=UNPACKED_ASSIGNMENTS_KEPT)
def _unpack(files: AssignmentFiles) -> _Unpacked:
    return _Unpacked(files)


def unpacked(files: AssignmentFiles) -> Assignment:
    """The assignment of ``files``, unpacked once per process so that its references load once."""
    return _unpack(files).assignment


@functools.cache
def _local_folders(dataset: str) -> tuple[Path, tuple[Path, ...]]:
    """This machine's dataset folder (the synthetic cache generated once) and the kernels' read-only folders."""
    import autograder
    import course_utils
    from course_utils import data

    if dataset == "synthetic" and not data.synthetic_cache_path().exists():
        data.load_synthetic()  # generate the cache once, before the sandboxes (read-only there) need it
    data_dir = data.default_data_dir()
    for cached in data_dir.glob("*.npz"):  # kernels run as another user; older caches may be private
        if cached.stat().st_uid == os.getuid():
            cached.chmod(0o644)
    packages = (Path(autograder.__file__).parent, Path(course_utils.__file__).parent)
    return data_dir, (*packages, data_dir)


def prepare(dataset: str) -> None:
    """Make this machine's dataset cache ready (a coordinator calls it before forking local workers)."""
    _local_folders(dataset)


def local_settings(settings: execute.Settings, dataset: str) -> execute.Settings:
    """``settings`` completed on this worker: its own packages and dataset folder, and a user per kernel as root.

    As root, each sandboxed kernel runs as an unprivileged user of its own so that process limits apply.

    Raises:
        SandboxUnavailable: the settings ask for the sandbox and this machine has no bubblewrap; the task
            fails (and runs again on another worker) instead of scoring every notebook 0.
    """
    if settings.sandboxed:
        sandbox.bwrap_path()
    data_dir, readonly = _local_folders(dataset)
    return replace(settings, readonly=(*settings.readonly, *readonly),
                   kernel_env={**settings.kernel_env, "COURSE_DATA_DIR": str(data_dir)},
                   separate_user=settings.sandboxed and os.getuid() == 0)
