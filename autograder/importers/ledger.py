"""What ``course grade`` imported, kept for ``course export``: names, ids, times, due dates, who was left out.

Written as ``<autograded>/<assignment>-import.json`` by the coordinating process. Grading one
student again updates their entry and keeps the others'.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.course import Course
from autograder.importers.core import ImportResult, LeftOut
from autograder.lateness import Lateness


@dataclass
class Entry:
    """One graded student's import facts."""

    name: str = ""
    lms_id: str = ""
    email: str = ""
    submitted_at: str = ""
    due: str = ""
    marked_late: bool = False
    problems: list[str] = field(default_factory=list)  # refused or unreadable files of this student

    def lateness(self) -> Lateness:
        """The student's lateness, from the recorded times."""
        return Lateness(datetime.fromisoformat(self.submitted_at) if self.submitted_at else None,
                        datetime.fromisoformat(self.due) if self.due else None, self.marked_late)


@dataclass
class Ledger:
    """The import facts of one assignment."""

    source: str = ""
    format: str = ""
    students: dict[str, Entry] = field(default_factory=dict)
    left_out: list[LeftOut] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def path(course: Course, assignment: str) -> Path:
    """Where the ledger of ``assignment`` is kept."""
    return course.autograded / f"{assignment}-import.json"


def read(course: Course, assignment: str) -> Ledger:
    """The ledger of ``assignment``; empty when the assignment was graded before ledgers existed."""
    where = path(course, assignment)
    if not where.is_file():
        return Ledger()
    raw = json.loads(where.read_text(encoding="utf-8"))
    return Ledger(raw["source"], raw["format"], {k: Entry(**v) for k, v in raw["students"].items()},
                  [LeftOut(**item) for item in raw["left_out"]], raw["problems"])


def write(course: Course, assignment: str, result: ImportResult, partial: bool) -> None:
    """Record ``result``; with ``partial`` (one student regraded) keep everyone else's entries."""
    ledger = read(course, assignment) if partial else Ledger()
    ledger.source, ledger.format = str(result.source), result.format.value
    for submission in result.submissions:
        ledger.students[submission.student] = Entry(
            submission.name, submission.lms_id, submission.email,
            submission.submitted_at.isoformat() if submission.submitted_at else "",
            submission.due.isoformat() if submission.due else "", submission.marked_late,
            [str(problem) for problem in result.problems if problem.student == submission.student])
    if not partial:
        ledger.left_out = list(result.left_out)
        ledger.problems = [f"[{problem.kind.value}] {problem}" for problem in result.problems]
    where = path(course, assignment)
    where.parent.mkdir(parents=True, exist_ok=True)
    where.write_text(json.dumps(asdict(ledger), indent=1, ensure_ascii=False), encoding="utf-8")
