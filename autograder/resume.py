"""Resuming an interrupted class: a student graded from identical inputs is not graded again.

The coordinator stores a content hash of everything a student's results depend on beside their
``results.json`` (``autograded/<student>/<assignment>/inputs.sha256``): the submission's bytes,
the assignment's source notebooks and spec files, the grading settings, and the notes the
coordinator adds (renamed files, lateness). The salts are left out: they are drawn afresh for each
run and do not change what a correct or a wrong answer scores. It writes the hash last, after the
gradebook and the results, so a run stopped half-way through a student grades that student again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from autograder import grading

FINGERPRINT_FILE = "inputs.sha256"
RESULTS_FILE = "results.json"
_MACHINE_SETTINGS = ("readonly", "uid", "separate_user")  # filled in on each worker, not inputs of the grade


def _update(digest: "hashlib._Hash", label: str, content: bytes) -> None:
    digest.update(f"{label}\0{len(content)}\0".encode())
    digest.update(content)


def fingerprint(task: grading.GradeTask, notes: Iterable[str]) -> str:
    """The content hash of one student's grading inputs (hex SHA-256)."""
    digest = hashlib.sha256()
    _update(digest, "student", task.student.encode())
    _update(digest, "source", task.source.digest.encode())
    for name in sorted(task.notebooks):
        content = task.notebooks[name]
        _update(digest, f"notebook {name} {'missing' if content is None else 'present'}", content or b"")
    for name in sorted(task.support_files):
        _update(digest, f"support {name}", task.support_files[name])
    settings = {key: value for key, value in asdict(task.settings).items() if key not in _MACHINE_SETTINGS}
    _update(digest, "settings", json.dumps(settings, sort_keys=True, default=str).encode())
    _update(digest, "notes", json.dumps(list(notes)).encode())
    return digest.hexdigest()


def graded_before(folder: Path, expected: str) -> grading.SubmissionResult | None:
    """The results stored in ``folder`` when they were graded from inputs with the hash ``expected``, else None."""
    stored, results = folder / FINGERPRINT_FILE, folder / RESULTS_FILE
    if not stored.is_file() or not results.is_file():
        return None
    if stored.read_text(encoding="ascii").strip() != expected:
        return None
    return grading.SubmissionResult.from_json(results.read_text(encoding="utf-8"))


def forget(folder: Path) -> None:
    """Drop the stored hash before new results are written into ``folder``."""
    (folder / FINGERPRINT_FILE).unlink(missing_ok=True)


def remember(folder: Path, value: str) -> None:
    """Store the hash of the inputs the results in ``folder`` were graded from (the last write)."""
    (folder / FINGERPRINT_FILE).write_text(value + "\n", encoding="ascii")
