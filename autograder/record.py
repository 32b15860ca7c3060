"""The record of one hidden check, and the one codec that carries it out of the student's kernel.

The kernel half of a check (:mod:`autograder.checks`) fills a :class:`CheckRecord`: for every
case of the function's spec, the output (plain data) or why there is none. During sandboxed
grading the grader names a folder the kernel may write (``COURSE_VERDICT_DIR``) and the salt of
the check inputs (``COURSE_CHECK_SALT``) in the kernel's environment; the kernel writes each
record there as one ``.npz`` file (``allow_pickle`` off: only numbers and arrays travel, never an
object of the student's choosing) and the grading process reads it back after each cell and
judges it outside the kernel (:mod:`autograder.judge`).
"""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

DIR_ENV = "COURSE_VERDICT_DIR"
SALT_ENV = "COURSE_CHECK_SALT"
SPECS_ENV = "COURSE_SPECS_DIR"
HELDOUT_ENV = "COURSE_HELDOUT_DIR"
STAND_INS_ENV = "COURSE_STAND_INS_DIR"
HELDOUT_LABEL = "held-out images"
MAX_RECORD_BYTES = 64 * 1024 * 1024
_STRUCTURE = "structure"


class RecordError(ValueError):
    """A record is malformed, too large, or holds something that is not plain data."""


@dataclass
class CaseResult:
    """What the student's function did on one case: its output (plain data) or why it failed.

    Attributes:
        label: the case's label in the spec.
        output: the returned value (numbers, arrays, and tuples, lists or dicts of them).
        error: why there is no usable output, or None.
        inputs: the SHA-256 digest of the case's inputs, to detect inputs changed in the kernel.
    """

    label: str
    output: Any = None
    error: str | None = None
    inputs: str = ""


@dataclass
class CheckRecord:
    """Everything the kernel half of a check gathered about one student function.

    ``notes`` says how it was run (e.g. where a stand-in helper fell back to the student's own); they
    explain, they never cost points.
    """

    name: str
    problems: list[str] = field(default_factory=list)
    results: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def channel(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder records go to, or None when checks are judged in the kernel itself."""
    folder = (os.environ if environ is None else environ).get(DIR_ENV)
    return Path(folder) if folder else None


def salt(environ: Mapping[str, str] | None = None) -> int:
    """The salt of the check inputs for this run (0 outside grading)."""
    try:
        return int((os.environ if environ is None else environ).get(SALT_ENV, "0"))
    except ValueError:
        return 0


def encode_value(value: Any, arrays: dict[str, np.ndarray]) -> Any:
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
        return {type(value).__name__: [encode_value(item, arrays) for item in value]}
    if type(value) is dict and all(type(key) is str for key in value):
        return {"dict": {key: encode_value(item, arrays) for key, item in value.items()}}
    raise RecordError(f"a {type(value).__name__}; expected a NumPy array, a number, or a tuple, list or dict of them")


def decode_value(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """Inverse of :func:`encode_value`."""
    if not isinstance(value, dict) or len(value) != 1:
        raise RecordError("malformed record")
    (kind, item), = value.items()
    if kind == "v":
        return item
    if kind == "a":
        if not isinstance(item, str) or item not in arrays:
            raise RecordError("malformed record (an array is missing)")
        return arrays[item]
    if kind in ("tuple", "list"):
        if not isinstance(item, list):
            raise RecordError("malformed record")
        items = [decode_value(part, arrays) for part in item]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(item, dict):
        return {str(key): decode_value(part, arrays) for key, part in item.items()}
    raise RecordError(f"malformed record (unknown kind {kind!r})")


def dumps(record: CheckRecord) -> bytes:
    """Encode a record as the bytes of one ``.npz`` file.

    An output that is not plain data turns into that case's error; it is never pickled.
    """
    arrays: dict[str, np.ndarray] = {}
    results = []
    for result in record.results:
        entry = {"label": result.label, "error": result.error, "inputs": result.inputs, "output": None}
        if result.error is None:
            try:
                entry["output"] = encode_value(result.output, arrays)
            except RecordError as error:
                entry["error"] = f"{record.name}, case '{result.label}': it returned {error}."
        results.append(entry)
    return pack({"name": record.name, "problems": record.problems, "results": results, "notes": record.notes}, arrays)


def pack(structure: Any, arrays: Mapping[str, np.ndarray]) -> bytes:
    """One ``.npz`` file's bytes: ``structure`` as JSON beside the named arrays (nothing pickled)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{_STRUCTURE: np.frombuffer(json.dumps(structure).encode(), dtype=np.uint8)}, **arrays)
    return buffer.getvalue()


def unpack(data: bytes) -> tuple[Any, dict[str, np.ndarray]]:
    """Inverse of :func:`pack`, read with ``allow_pickle`` off; raises RecordError for anything else."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        return json.loads(bytes(arrays.pop(_STRUCTURE)).decode()), arrays
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise RecordError(f"not a readable record ({error})") from error


def loads(data: bytes) -> CheckRecord:
    """Decode the bytes made by :func:`dumps`; raises RecordError for anything else."""
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"the record is larger than {MAX_RECORD_BYTES // 2**20} MiB")
    structure, arrays = unpack(data)
    try:
        record = CheckRecord(str(structure["name"]), [str(problem) for problem in structure["problems"]],
                             notes=[str(note) for note in structure.get("notes", [])])
        for entry in structure["results"]:
            output = None if entry["output"] is None else decode_value(entry["output"], arrays)
            record.results.append(CaseResult(str(entry["label"]), output,
                                             None if entry["error"] is None else str(entry["error"]),
                                             str(entry["inputs"])))
    except (KeyError, TypeError, AttributeError) as error:
        raise RecordError(f"malformed record ({error})") from error
    return record


def write(record: CheckRecord, folder: Path) -> Path:
    """Write ``record`` into the channel ``folder`` as one file, atomically; return its path."""
    existing = len(list(folder.glob("*.npz")))
    path = folder / f"{existing:05d}-{os.getpid()}.npz"
    temporary = path.with_suffix(".part")
    temporary.write_bytes(dumps(record))
    temporary.rename(path)
    return path


def read(path: Path) -> CheckRecord:
    """Read a record file written by :func:`write`; raises RecordError when it is not a valid record.

    The file came from the student's kernel: only a regular file with one link is read, never
    what a symbolic or hard link points to.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise RecordError(f"{path.name} cannot be read ({error.strerror}); a record must be a regular file") from error
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise RecordError(f"{path.name} is not a regular file with one link")
        if info.st_size > MAX_RECORD_BYTES:
            raise RecordError(f"{path.name} is larger than {MAX_RECORD_BYTES // 2**20} MiB")
        data = handle.read(MAX_RECORD_BYTES + 1)
    return loads(data)
