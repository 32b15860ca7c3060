"""The class roster: who the students are, by the LMS's id and the course's own student id.

A roster is a CSV file with a header row. Columns (any order; others are ignored):

============  ========  ===================================================================
column        required  meaning
============  ========  ===================================================================
lms_id        one of    the id the LMS export uses (Canvas user id, Moodle participant id,
              the two   Gradescope SID or e-mail, Blackboard username)
student_id              the id grades are recorded under (default: ``lms_id``)
name          no        the name shown in tables and the export
email         no        matched when the export carries e-mail addresses (Gradescope)
extension     no        a duration (``2d``, ``36h``) added to the due date, or a due
                        date-time of the student's own (``2024-10-08T12:00``)
============  ========  ===================================================================
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("lms_id", "student_id", "name", "email", "extension")


class RosterError(ValueError):
    """The roster file cannot be used as it is; the message lists every row to fix."""


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    lms_id: str
    student_id: str
    name: str = ""
    email: str = ""
    extension: str = ""


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFC", (value or "").strip())


@dataclass(frozen=True)
class Roster:
    """The students of the class, looked up by LMS id, student id or e-mail."""

    students: tuple[Student, ...]

    @classmethod
    def read(cls, path: Path) -> "Roster":
        """Read a roster CSV (UTF-8, with or without a byte-order mark).

        Raises:
            RosterError: the file is missing, has no ``lms_id``/``student_id`` column, or rows repeat an id.
        """
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                header = [_clean(name).lower() for name in reader.fieldnames or []]
                reader.fieldnames = header
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise RosterError(f"The roster {path} cannot be read ({error}); it must be a UTF-8 CSV file.") from None
        if "lms_id" not in header and "student_id" not in header:
            raise RosterError(f"The roster {path} has no lms_id or student_id column (its header is {header}); "
                              f"the columns are {', '.join(COLUMNS)}.")
        students, problems = [], []
        for line, row in enumerate(rows, start=2):
            values = {column: _clean(row.get(column)) for column in COLUMNS}
            if not values["lms_id"] and not values["student_id"]:
                if any(values.values()):
                    problems.append(f"line {line}: neither lms_id nor student_id is given")
                continue
            students.append(Student(values["lms_id"] or values["student_id"], values["student_id"] or values["lms_id"],
                                    values["name"], values["email"], values["extension"]))
        for attribute in ("lms_id", "student_id"):
            seen: dict[str, int] = {}
            for number, student in enumerate(students):
                key = getattr(student, attribute).casefold()
                if key in seen:
                    problems.append(f"{attribute} {getattr(student, attribute)!r} is on two rows "
                                    f"({students[seen[key]].name or '?'} and {student.name or '?'})")
                seen[key] = number
        if problems:
            raise RosterError(f"The roster {path} cannot be used: " + "; ".join(problems) + ".")
        return cls(tuple(students))

    def find(self, lms_id: str, email: str = "") -> Student | None:
        """The student with this LMS id (or, failing that, this student id or e-mail address)."""
        wanted = lms_id.casefold()
        for attribute, value in (("lms_id", wanted), ("student_id", wanted), ("email", email.casefold())):
            if not value:
                continue
            for student in self.students:
                if getattr(student, attribute).casefold() == value:
                    return student
        return None
