"""What every format shares: how a format places files, and turning placed files into submissions.

A format module reads the :class:`~autograder.importers.safety.Tree` of an export and returns a
:class:`Placement`: which *claim* (one LMS submission: one student, or a group) each path belongs
to, under which file name, and which paths are the export's own metadata. :func:`build` does the
rest the same way for every format: older attempts are set aside, files are staged per claim under
their own names, notebooks are matched to the assignment's, submitters are mapped to student ids
(through the roster when there is one), and every file or student that cannot be placed safely
becomes a :class:`~autograder.importers.problems.Problem`.
"""
from __future__ import annotations

import enum
import os
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import Mapping

from autograder import lateness
from autograder.importers.problems import Problem, ProblemKind
from autograder.importers.safety import Tree
from autograder.roster import Roster
from autograder.submissions import Submission, match_notebooks

NOTEBOOK_SUFFIX = ".ipynb"
MAX_ID_LENGTH = 128
_UNSAFE_ID = re.compile(r"[/\\\x00-\x1f\x7f]")


class Format(str, enum.Enum):
    """The layouts submissions come in."""

    NBGRADER = "nbgrader"
    CANVAS = "canvas"
    MOODLE = "moodle"
    GRADESCOPE = "gradescope"
    BLACKBOARD = "blackboard"
    PATTERN = "pattern"


@dataclass(frozen=True)
class Person:
    """A submitter as the export names them: the LMS's id, and the name and e-mail when it gives them."""

    lms_id: str
    name: str = ""
    email: str = ""


@dataclass
class Claim:
    """One LMS submission: the files one student (or group) handed in at one attempt.

    Attributes:
        owner: who handed it in, as the export identifies them; attempts of one owner compete.
        people: the submitters (more than one for a group submission).
        origin: the export path that names the claim, for the report.
        attempt: attempts of one owner sort by this text; only the greatest is graded.
        submitted_at: the submission time when the export says (naive times are in the course's zone).
        marked_late: the LMS marked it late.
    """

    owner: str
    people: tuple[Person, ...]
    origin: str
    attempt: str = ""
    submitted_at: datetime | None = None
    marked_late: bool = False


@dataclass(frozen=True)
class FileClaim:
    """A path's place: the claim it belongs to and its file name there.

    ``rank`` orders files of one claim that end up with the same name (Canvas's ``-1`` re-uploads):
    the greatest is kept.
    """

    claim: str
    name: str
    rank: str = ""


@dataclass
class Placement:
    """A format's reading of an export."""

    claims: dict[str, Claim] = field(default_factory=dict)
    files: dict[PurePosixPath, FileClaim] = field(default_factory=dict)
    metadata: set[PurePosixPath] = field(default_factory=set)
    skipped: set[PurePosixPath] = field(default_factory=set)  # not of this assignment, on purpose
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What a format needs besides the tree: the assignment, its notebooks and the instructor's pattern.

    Attributes:
        assignment: the assignment's name.
        expected: each notebook name of the assignment -> the grade ids of its cells (renamed copies are
            recognised by them).
        pattern: the instructor's regular expression, for :attr:`Format.PATTERN`.
    """

    assignment: str
    expected: Mapping[str, set[str]]
    pattern: re.Pattern | None = None

    @property
    def notebooks(self) -> frozenset[str]:
        """The assignment's notebook names."""
        return frozenset(self.expected)


@dataclass(frozen=True)
class LeftOut:
    """A student who is not graded in this run, and why (a collision, a bad id, no submission)."""

    student: str
    reason: str
    name: str = ""
    lms_id: str = ""
    email: str = ""


@dataclass
class ImportResult:
    """What an import found.

    Attributes:
        format: the layout the submissions were read as.
        source: the submissions folder or archive.
        submissions: one per student to grade, sorted by student.
        problems: every file or student that could not be placed safely (empty when all is well).
        left_out: students not graded (collisions, unusable ids, roster students without a submission).
        ignored: paths skipped on purpose (operating-system litter, older attempts, other assignments).
    """

    format: Format
    source: Path
    submissions: list[Submission]
    problems: list[Problem]
    left_out: list[LeftOut]
    ignored: list[str]


@dataclass(frozen=True)
class Options:
    """How an import maps submitters to students and judges lateness."""

    roster: Roster | None = None
    due: datetime | None = None
    zone: tzinfo = field(default_factory=lateness.local_zone)


def id_problem(student: str) -> str:
    """Why ``student`` cannot be a student id (it names folders and gradebook rows); '' when it can."""
    if not student:
        return "the student id is empty"
    if student in (".", "..") or student.startswith("."):
        return f"the student id {student!r} starts with a dot"
    if _UNSAFE_ID.search(student):
        return f"the student id {student!r} holds a slash or a control character"
    if len(student) > MAX_ID_LENGTH:
        return f"the student id is longer than {MAX_ID_LENGTH} characters"
    return ""


def normal(text: str) -> str:
    """``text`` in Unicode NFC with surrounding spaces removed (as ids and names are compared)."""
    return unicodedata.normalize("NFC", text).strip()


def _stage(tree: Tree, placement: Placement, claim_id: str, folder: Path) -> tuple[list[Path], list[str]]:
    """Move a claim's accepted files into ``folder`` under their names; returns the staged paths and notes."""
    chosen: dict[str, tuple[str, PurePosixPath]] = {}
    notes = []
    for path, file_claim in sorted(placement.files.items()):
        if file_claim.claim != claim_id or path not in tree.files:
            continue
        name = PurePosixPath(file_claim.name).name
        if name in ("", ".", "..") or name.startswith("."):
            name = path.name
        if name in chosen:
            kept, dropped = sorted([chosen[name], (file_claim.rank, path)], reverse=True)
            notes.append(f"{dropped[1]} was not graded: {kept[1]} is a later upload of {name}")
            chosen[name] = kept
        else:
            chosen[name] = (file_claim.rank, path)
    folder.mkdir(parents=True)
    staged = []
    for name, (_, path) in sorted(chosen.items()):
        target = folder / name
        os.replace(tree.files[path].staged, target)
        staged.append(target)
    return staged, notes


def _latest_member_time(tree: Tree, placement: Placement, claim_id: str) -> datetime | None:
    times = [tree.files[path].modified for path, file_claim in placement.files.items()
             if file_claim.claim == claim_id and path in tree.files and tree.files[path].modified]
    return max(times, default=None)


def build(tree: Tree, placement: Placement, context: Context, staging: Path, options: Options,
          export_format: Format, source: Path) -> ImportResult:
    """Turn a format's placement into submissions, problems and students left out.

    Args:
        tree: what was read from the export.
        placement: the format's reading of it.
        context: the assignment and its notebook names.
        staging: the caller's staging folder (files are moved from its ``raw`` to ``claims``).
        options: the roster, the due date and the course's time zone.
        export_format, source: recorded in the result.
    """
    problems = list(placement.problems)
    ignored = [f"{path} (system file)" for path in tree.ignored]
    ignored += [f"{path} (not part of {context.assignment})" for path in sorted(placement.skipped)]
    for path in tree.paths():
        if path in placement.files or path in placement.metadata or path in placement.skipped:
            continue
        problems.append(tree.refused.get(path) or Problem(
            ProblemKind.UNPLACED, str(path), f"cannot be attributed to a student as a {export_format.value} export; "
            f"move it, or pass --pattern with a regular expression that places it"))

    latest: dict[str, str] = {}
    for claim_id, claim in placement.claims.items():
        if claim.owner not in latest or claim.attempt > placement.claims[latest[claim.owner]].attempt:
            latest[claim.owner] = claim_id
    for claim_id, claim in placement.claims.items():
        if latest[claim.owner] != claim_id:
            ignored.append(f"{claim.origin} (an older attempt of {claim.owner})")

    by_student: dict[str, list[Submission]] = {}
    for number, claim_id in enumerate(sorted(latest.values())):
        claim = placement.claims[claim_id]
        staged, notes = _stage(tree, placement, claim_id, staging / "claims" / str(number))
        refused = [tree.refused[path] for path, fc in placement.files.items() if fc.claim == claim_id
                   and path in tree.refused]
        notes += [f"{problem.path} {problem.message}" for problem in refused]
        notebooks = [path for path in staged if path.suffix == NOTEBOOK_SUFFIX]
        files, matched = match_notebooks(dict(context.expected), notebooks)
        submitted_at = claim.submitted_at or _latest_member_time(tree, placement, claim_id)
        if submitted_at is not None:
            submitted_at = lateness.aware(submitted_at, options.zone)
        group = [person.name or person.lms_id for person in claim.people]
        for person in claim.people:
            entry = options.roster.find(person.lms_id, person.email) if options.roster else None
            student = normal(entry.student_id if entry else person.lms_id)
            if options.roster and entry is None:
                problems.append(Problem(ProblemKind.NOT_ON_ROSTER, claim.origin,
                                        f"the submitter {person.lms_id!r} ({person.name or 'no name'}) is not on the "
                                        f"roster; add them, or grade them under this id with --grade-the-rest",
                                        student))
            due = lateness.extended_due(options.due, entry.extension, options.zone) if entry else options.due
            submission = Submission(
                student, files, tuple(path for path in staged if path.suffix != NOTEBOOK_SUFFIX),
                [*notes, *matched] + ([f"a group submission of {', '.join(group)}"] if len(group) > 1 else []),
                name=normal((entry.name if entry and entry.name else "") or person.name), lms_id=person.lms_id,
                email=(entry.email if entry and entry.email else person.email), submitted_at=submitted_at,
                marked_late=claim.marked_late, due=due, origin=claim.origin)
            for problem in refused:
                problems.append(Problem(problem.kind, problem.path, problem.message, student))
            by_student.setdefault(student.casefold(), []).append(submission)

    submissions, left_out = [], []
    for same in by_student.values():
        reason = id_problem(same[0].student)
        if len(same) > 1:
            origins = ", ".join(f"{s.origin} ({s.name or s.lms_id})" for s in same)
            reason = (f"{len(same)} submissions claim the student id {same[0].student!r}: {origins}; none is graded "
                      f"until the roster or the export tells them apart")
            problems.append(Problem(ProblemKind.COLLISION, same[0].student, reason, same[0].student))
        elif reason:
            problems.append(Problem(ProblemKind.BAD_ID, same[0].origin, reason + "; map it with --roster",
                                    same[0].student))
        if reason:
            left_out += [LeftOut(s.student, reason, s.name, s.lms_id, s.email) for s in same]
        else:
            submissions.append(same[0])
    if options.roster:
        found = {s.student.casefold() for same in by_student.values() for s in same}
        left_out += [LeftOut(entry.student_id, f"no submission in {source.name}", entry.name, entry.lms_id,
                             entry.email) for entry in options.roster.students if entry.student_id.casefold() not in found]
    return ImportResult(export_format, source, sorted(submissions, key=lambda s: s.student), problems,
                        sorted(left_out, key=lambda s: s.student), ignored)
