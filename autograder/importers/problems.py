"""What can go wrong while importing submissions: one :class:`Problem` per file or student, with its reason."""
from __future__ import annotations

import enum
from dataclasses import dataclass


class ProblemKind(str, enum.Enum):
    """Why a file or a student could not be imported as it is."""

    REFUSED = "refused"  # an untrusted path the grader will not read (link, special file, `..`, too large)
    UNREADABLE = "unreadable"  # an archive or archive member that cannot be read
    UNPLACED = "unplaced"  # a file the format cannot attribute to a student
    COLLISION = "collision"  # two submissions claim the same student id
    BAD_ID = "bad id"  # a student id that cannot name a folder or a gradebook entry
    NOT_ON_ROSTER = "not on roster"  # a submitter the roster does not list
    METADATA = "metadata"  # an export's own metadata file that cannot be understood


@dataclass(frozen=True)
class Problem:
    """One problem of an import.

    Attributes:
        kind: what went wrong.
        path: the file (relative to the submissions folder or archive) or the student it is about.
        message: what happened and what to do.
        student: the student id it concerns, '' when it concerns no known student.
    """

    kind: ProblemKind
    path: str
    message: str
    student: str = ""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SubmissionsError(RuntimeError):
    """The submissions cannot be imported at all (missing folder, unreadable archive, unknown layout)."""
