"""What ``course check`` says about one notebook: every test cell's outcome as grading will see it.

* A visible test cell (locked, no points) passes or fails here, exactly as it will at grading.
* A graded cell never earns points here. It fails here when its visible part fails or when a
  function it checks breaks the loop rule (grading then gives it no points); otherwise its points
  are *pending*: its hidden checks, or its accuracy on held-out images, are decided at grading.
* A failure caused by an earlier failing cell (a ``NameError``) names that cell (:mod:`.causes`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import nbformat

from autograder import cells
from autograder.student import causes
from autograder.student.manifest import NotebookRules
from autograder.student.runner import NotebookRun

MAX_DETAIL_CHARS = 1200
LABEL_WIDTH = 7


class Status(enum.Enum):
    """The outcome of one test cell in ``course check``."""

    PASS = "pass"  # a visible test passed
    FAIL = "FAIL"  # a visible test, the visible part of a graded cell, or the loop rule failed
    PENDING = "pending"  # a graded cell that passes here; its points are decided at grading


class Pending(str, enum.Enum):
    """Why a graded cell's points are decided only at grading."""

    HIDDEN = "hidden: checked at grading"
    ACCURACY = ("accuracy reached on your validation images; hidden: checked at grading on held-out images the "
                "grader makes")
    GRADED = "passes here; its points are given at grading"


@dataclass(frozen=True)
class Entry:
    """One test cell's line of the report."""

    grade_id: str
    status: Status
    points: float = 0.0  # 0 for a visible test
    detail: str = ""
    cause: str | None = None

    @property
    def graded(self) -> bool:
        """Whether the cell carries points (a graded cell, not a visible test)."""
        return self.points > 0

    def render(self) -> str:
        """The line of this entry; a long error and its cause continue on indented lines."""
        points = f" ({self.points:g} point{'s' if self.points != 1 else ''})" if self.graded else ""
        detail = self.detail if len(self.detail) <= MAX_DETAIL_CHARS else self.detail[:MAX_DETAIL_CHARS] + " ..."
        text = f"  {self.status.value:>{LABEL_WIDTH}}  {self.grade_id}{points}" + (f": {detail}" if detail else "")
        if self.cause:
            text += f"\nbecause {self.cause}"
        return text.replace("\n", "\n" + " " * (LABEL_WIDTH + 4))


@dataclass
class NotebookReport:
    """The report of one notebook."""

    name: str
    entries: list[Entry] = field(default_factory=list)
    written: list[float] = field(default_factory=list)  # points of the answers a person grades
    stopped: str | None = None
    seconds: float = 0.0
    unreadable: str | None = None

    @property
    def passed(self) -> bool:
        """Whether every visible test and every locally checked rule passes."""
        return self.unreadable is None and self.stopped is None and all(e.status is not Status.FAIL
                                                                         for e in self.entries)

    def summary(self) -> str:
        """One line: visible tests passed, points (none counted before grading), what grading decides."""
        visible = [entry for entry in self.entries if not entry.graded]
        graded = [entry for entry in self.entries if entry.graded]
        pending = [entry for entry in graded if entry.status is Status.PENDING]
        failing = [entry for entry in graded if entry.status is Status.FAIL]
        parts = [f"visible tests: {sum(e.status is Status.PASS for e in visible)} of {len(visible)} passed",
                 "graded points earned so far: none counted until grading",
                 f"hidden checks at grading: {_count(pending)}"]
        if failing:
            parts.append(f"graded cells failing here (no points at grading): {_count(failing)}")
        if self.written:
            parts.append(f"written answers graded by a person: {len(self.written)}, {sum(self.written):g} points")
        return "; ".join(parts)

    def render(self) -> str:
        """The report's text: a title, one line per test cell, the summary."""
        if self.unreadable:
            return f"{self.name}: {self.unreadable}"
        lines = [f"{self.name} ({self.seconds:.0f} s)"] + [entry.render() for entry in self.entries]
        if self.stopped:
            lines.append(f"  stopped: {self.stopped}")
        lines.append(f"  {self.summary()}")
        return "\n".join(lines)


def _count(entries: list[Entry]) -> str:
    return f"{len(entries)} cell{'s' if len(entries) != 1 else ''}, {sum(e.points for e in entries):g} points"


def _graded_entry(cell: nbformat.NotebookNode, identity: str, error: str | None, loops: dict[str, str],
                  rules: NotebookRules, cause: str | None) -> Entry:
    points = cells.points(cell)
    if error:
        return Entry(identity, Status.FAIL, points, error, cause)
    if loops:
        return Entry(identity, Status.FAIL, points, " ".join(loops.values()) + " At grading this cell gets no points.")
    if cells.accuracy_checks(cells.source(cell)):
        return Entry(identity, Status.PENDING, points, Pending.ACCURACY.value)
    return Entry(identity, Status.PENDING, points,
                 (Pending.HIDDEN if identity in rules.hidden else Pending.GRADED).value)


def build(name: str, notebook: nbformat.NotebookNode, run: NotebookRun, rules: NotebookRules) -> NotebookReport:
    """The report of ``notebook`` (executed by ``run``) under ``rules``."""
    report = NotebookReport(name, stopped=run.stopped, seconds=run.seconds)
    errors = {index: outcome.error for index, outcome in run.outcomes.items() if outcome.error}
    for index, cell in enumerate(notebook.cells):
        kind = cells.kind(cell)
        if cells.is_manual(cell):
            report.written.append(cells.points(cell))
            continue
        if cell.cell_type != "code" or kind not in (cells.CellKind.TEST, cells.CellKind.LOCKED):
            continue
        identity = cells.grade_id(cell) or f"cell {index + 1}"
        outcome = run.outcomes.get(index)
        error = outcome.error if outcome else f"did not run ({run.stopped or 'the run stopped before it'})"
        cause = causes.explain(notebook, errors, index) if outcome else None
        if kind is cells.CellKind.TEST:
            report.entries.append(_graded_entry(cell, identity, error, outcome.loop_problems if outcome else {}, rules,
                                                cause))
        else:
            report.entries.append(Entry(identity, Status.FAIL if error else Status.PASS, 0.0, error or "", cause))
    return report
