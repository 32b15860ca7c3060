"""The channel that carries what a check collected in the student's kernel to the grading process.

During sandboxed grading the grader sets ``COURSE_VERDICT_DIR`` (a folder the kernel may write)
and ``COURSE_CHECK_SALT`` (the salt of the check inputs) in the kernel's environment. The kernel
half of a check then *submits* its :class:`~autograder.checks.Collected` record instead of
judging it: the outputs go into a NumPy ``.npz`` file (``allow_pickle`` off: only numbers and
arrays travel, never objects of the student's choosing) and the structure into JSON. The grading
process *reads* the records after each cell and judges them against the reference, outside the
kernel; a record it cannot read counts as a failed check.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

DIR_ENV = "COURSE_VERDICT_DIR"
SALT_ENV = "COURSE_CHECK_SALT"
MAX_RECORD_BYTES = 64 * 1024 * 1024


class RecordError(ValueError):
    """A record is malformed, too large, or holds something that is not plain data."""


def channel() -> Path | None:
    """The folder records go to, or None when checks are judged in the kernel itself."""
    folder = os.environ.get(DIR_ENV)
    return Path(folder) if folder else None


def salt() -> int:
    """The salt of the check inputs for this run (0 outside grading)."""
    try:
        return int(os.environ.get(SALT_ENV, "0"))
    except ValueError:
        return 0


def encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    """Turn plain data into JSON, moving arrays into ``arrays``; anything else raises RecordError."""
    if value is None or type(value) in (bool, int, float, str):
        return {"v": value}
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return {"v": value.item()}
    if type(value) is np.ndarray:
        if value.dtype.kind not in "biuf":
            raise RecordError(f"an array of {value.dtype} values; expected numbers")
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"a": key}
    if type(value) in (tuple, list):
        return {type(value).__name__: [encode(item, arrays) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"dict": {key: encode(item, arrays) for key, item in value.items()}}
    raise RecordError(f"a {type(value).__name__}; expected a NumPy array, a number, or a tuple, list or dict of them")


def decode(value: Any, arrays: Any) -> Any:
    """Inverse of :func:`encode`."""
    if not isinstance(value, dict) or len(value) != 1:
        raise RecordError("malformed record")
    (kind, item), = value.items()
    if kind == "v":
        return item
    if kind == "a":
        return arrays[item]
    if kind in ("tuple", "list"):
        items = [decode(part, arrays) for part in item]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {key: decode(part, arrays) for key, part in item.items()}
    raise RecordError(f"malformed record (unknown kind {kind!r})")


def submit(record: dict[str, Any], folder: Path) -> Path:
    """Write ``record`` (JSON-able apart from outputs already encoded) and ``arrays`` as one file."""
    arrays = record.pop("_arrays", {})
    buffer = io.BytesIO()
    np.savez(buffer, __record__=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8), **arrays)
    existing = len(list(folder.glob("*.npz")))
    path = folder / f"{existing:05d}-{os.getpid()}.npz"
    temporary = path.with_suffix(".part")
    temporary.write_bytes(buffer.getvalue())
    temporary.rename(path)
    return path


def read(path: Path) -> tuple[dict[str, Any], Any]:
    """Read a record file: (record dict, arrays). Raises RecordError when it is not a valid record."""
    if path.stat().st_size > MAX_RECORD_BYTES:
        raise RecordError(f"{path.name} is larger than {MAX_RECORD_BYTES // 2**20} MiB")
    try:
        arrays = np.load(path, allow_pickle=False)
        record = json.loads(bytes(arrays["__record__"]).decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise RecordError(f"{path.name} is not a readable record ({error})") from error
    if not isinstance(record, dict):
        raise RecordError(f"{path.name} is not a record")
    return record, arrays
