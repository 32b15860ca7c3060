"""The vocabulary of nbgrader cells: what kind a cell is, its grade id, points and source text.

nbgrader marks cells in ``metadata.nbgrader``: ``solution`` (the student writes it), ``grade``
(it earns points), ``locked``, ``task``, ``grade_id`` and ``points``. Every module that reads
notebooks asks this one about cells, and treats the marks of a *submitted* notebook as claims:
only the instructor's source is trusted for kinds and points.
"""
from __future__ import annotations

import enum
import re
from typing import Any, Mapping

HIDDEN_REGION = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
CHECK_CALL = re.compile(r"check_against_reference\(\s*['\"](\w+)['\"]")
ACCURACY_CALL = re.compile(r"check_accuracy\(\s*['\"](\w+)['\"]")


class CellKind(enum.Enum):
    """What a cell is to the grader."""

    PLAIN = "plain"  # ordinary code or text; the student may change it
    ANSWER = "answer"  # code the student writes; its tests earn the points (nbgrader: autograded answer)
    TEST = "test"  # locked code with visible and hidden tests; earns points (nbgrader: autograder tests)
    MANUAL_ANSWER = "manual answer"  # text or code with points that a person grades (solution and grade)
    LOCKED = "locked"  # read-only instructor cell without points (visible tests, setup)
    TASK = "task"  # a manually graded task cell


def marks(cell: Mapping[str, Any]) -> Mapping[str, Any]:
    """The nbgrader marks of a cell (empty for a plain cell or malformed metadata)."""
    metadata = cell.get("metadata", {})
    found = metadata.get("nbgrader", {}) if isinstance(metadata, Mapping) else {}
    return found if isinstance(found, Mapping) else {}


def grade_id(cell: Mapping[str, Any]) -> str | None:
    """The nbgrader id of a cell, or None for a plain cell."""
    value = marks(cell).get("grade_id")
    return value if isinstance(value, str) else None


def kind(cell: Mapping[str, Any]) -> CellKind:
    """The :class:`CellKind` of a cell according to its marks."""
    found = marks(cell)
    if not grade_id(cell):
        return CellKind.PLAIN
    if found.get("task"):
        return CellKind.TASK
    if found.get("solution"):
        return CellKind.MANUAL_ANSWER if found.get("grade") else CellKind.ANSWER
    if found.get("grade"):
        return CellKind.TEST
    return CellKind.LOCKED if found.get("locked") else CellKind.PLAIN


def is_answer(cell: Mapping[str, Any]) -> bool:
    """Whether the student writes this cell (code or written answer)."""
    return kind(cell) in (CellKind.ANSWER, CellKind.MANUAL_ANSWER)


def is_graded(cell: Mapping[str, Any]) -> bool:
    """Whether the cell carries points (tests, manually graded answers, tasks)."""
    return bool(marks(cell).get("grade")) or kind(cell) is CellKind.TASK


def is_manual(cell: Mapping[str, Any]) -> bool:
    """Whether a person gives this cell's score (manually graded answers and tasks)."""
    return kind(cell) in (CellKind.MANUAL_ANSWER, CellKind.TASK)


def points(cell: Mapping[str, Any]) -> float:
    """The points of a graded cell (0 when unmarked or malformed)."""
    try:
        return float(marks(cell).get("points", 0) or 0)
    except (TypeError, ValueError):
        return 0.0


def source(cell: Mapping[str, Any]) -> str:
    """The source text of a cell, whether stored as one string or a list of lines."""
    text = cell.get("source", "")
    if isinstance(text, list):
        return "".join(str(part) for part in text)
    return text if isinstance(text, str) else str(text)


def released_text(text: str) -> str:
    """What a student sees of a test cell: its source without the hidden tests."""
    return HIDDEN_REGION.sub("", text)


def hidden_text(text: str) -> str:
    """The hidden tests of a test cell's source (empty when it has none)."""
    return "".join(HIDDEN_REGION.findall(text))


def hidden_checks(text: str) -> list[str]:
    """Names passed to ``check_against_reference`` in the hidden tests of a source cell."""
    return CHECK_CALL.findall(hidden_text(text))


def accuracy_checks(text: str) -> list[str]:
    """Names passed to ``check_accuracy`` anywhere in a source cell."""
    return ACCURACY_CALL.findall(text)


def same_text(a: str, b: str) -> bool:
    """Whether two sources are equal up to whitespace."""
    return " ".join(a.split()) == " ".join(b.split())
