"""An instructor's own layout: a regular expression with named groups, matched against each file's path.

The expression must match the whole path relative to the submissions folder or archive (``/``
separated). Groups: ``student`` (required) is the student's id; ``notebook`` (optional) is the
file's name in the submission (default: the file's own name); ``timestamp`` (optional) is an ISO
date-time, the latest of a student's files being their submission time. For example
``(?P<student>[^/]+)/(?P<notebook>[^/]+)`` or
``(?P<student>.+)--(?P<timestamp>[0-9-]+T[0-9:]+)--(?P<notebook>.+\\.ipynb)``.
"""
from __future__ import annotations

import re

from autograder import lateness
from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.problems import Problem, ProblemKind
from autograder.importers.safety import Tree


def compile_pattern(text: str) -> re.Pattern:
    """The instructor's expression, compiled.

    Raises:
        ValueError: it is not a valid regular expression or has no ``student`` group.
    """
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise ValueError(f"--pattern {text!r} is not a regular expression ({error}).") from None
    unknown = set(pattern.groupindex) - {"student", "notebook", "timestamp"}
    if "student" not in pattern.groupindex or unknown:
        raise ValueError(f"--pattern {text!r} must have a named group (?P<student>...) and may have (?P<notebook>...) "
                         f"and (?P<timestamp>...), nothing else" + (f" (it has {sorted(unknown)})" if unknown else "")
                         + ".")
    return pattern


def recognises(tree: Tree, context: Context) -> bool:
    """Whether the instructor gave a pattern (it is never guessed)."""
    return context.pattern is not None


def place(tree: Tree, context: Context) -> Placement:
    """One claim per student the pattern names."""
    placement = Placement()
    if context.pattern is None:
        raise ValueError("The pattern format needs a regular expression: pass --pattern.")
    for path in tree.paths():
        match = context.pattern.fullmatch(str(path))
        if not match:
            continue
        student = match["student"]
        if student not in placement.claims:
            placement.claims[student] = Claim(student, (Person(student),), student)
        claim = placement.claims[student]
        rank = ""
        if match.groupdict().get("timestamp"):
            try:
                moment = lateness.parse_time(match["timestamp"].replace("_", " "))
            except lateness.LatenessError as error:
                placement.problems.append(Problem(ProblemKind.METADATA, str(path), str(error), student))
                continue
            rank = moment.isoformat()
            if claim.submitted_at is None or moment > claim.submitted_at:
                claim.submitted_at = moment
        placement.files[path] = FileClaim(student, match.groupdict().get("notebook") or path.name, rank)
    return placement
