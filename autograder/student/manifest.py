"""What a student may know of an assignment, beyond its notebooks: the assignment's manifest.

``course release`` writes it into the student bundle beside the notebooks
(``<assignment>/course-assignment.json``). It names, per notebook, the marked cells that must be
present in a submission, the graded cells whose hidden checks run only at grading, and the
functions that fall under the vectorisation rule (no Python loop). It holds names only: never a
spec, an input, a tolerance, an expected value or a line of a solution.

Without a manifest (a notebook checked on its own), :meth:`NotebookRules.from_notebook` reads what
the notebook itself shows; the loop rule is then not checked locally.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import nbformat

from autograder import cells

MANIFEST_NAME = "course-assignment.json"
FORMAT_VERSION = 1


class ManifestError(ValueError):
    """The manifest cannot be read; the message says which file and what to do."""


@dataclass(frozen=True)
class NotebookRules:
    """What grading does with one notebook of the assignment.

    Attributes:
        name: the notebook's file name in the release (``01_features.ipynb``).
        cells: the grade ids of its marked cells (answers and tests), in order.
        hidden: the graded cells whose hidden checks run only at grading.
        loop_rule: graded cell -> the functions it checks that must contain no Python loop.
    """

    name: str
    cells: tuple[str, ...] = ()
    hidden: frozenset[str] = frozenset()
    loop_rule: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_notebook(cls, name: str, notebook: nbformat.NotebookNode) -> "NotebookRules":
        """The rules a notebook shows by itself: every graded test cell without an accuracy check is
        taken to be checked at grading; the loop rule is unknown."""
        marked = tuple(identity for identity in (cells.grade_id(cell) for cell in notebook.cells) if identity)
        hidden = frozenset(cells.grade_id(cell) for cell in notebook.cells
                           if cells.kind(cell) is cells.CellKind.TEST and not cells.accuracy_checks(cells.source(cell)))
        return cls(name, marked, hidden)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {"name": self.name, "cells": list(self.cells), "hidden": sorted(self.hidden),
                "loop_rule": {cell: list(names) for cell, names in sorted(self.loop_rule.items())}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NotebookRules":
        """Inverse of :meth:`to_dict`; raises KeyError, TypeError or ValueError on malformed data."""
        loop_rule = data["loop_rule"]
        if not isinstance(loop_rule, dict):
            raise TypeError("loop_rule must be an object")
        return cls(str(data["name"]), tuple(str(cell) for cell in data["cells"]),
                   frozenset(str(cell) for cell in data["hidden"]),
                   {str(cell): tuple(str(name) for name in names) for cell, names in loop_rule.items()})


@dataclass(frozen=True)
class Manifest:
    """The student manifest of one assignment."""

    assignment: str
    notebooks: tuple[NotebookRules, ...]

    def names(self) -> list[str]:
        """The notebooks' file names, in order."""
        return [rules.name for rules in self.notebooks]

    def rules_for(self, name: str, notebook: nbformat.NotebookNode | None = None) -> NotebookRules | None:
        """The rules of the notebook called ``name``; for a renamed copy, those of the notebook whose
        marked cells it shares most (``notebook`` given), else None."""
        for rules in self.notebooks:
            if rules.name == name:
                return rules
        if notebook is None:
            return None
        present = {cells.grade_id(cell) for cell in notebook.cells} - {None}
        overlap = max(self.notebooks, key=lambda rules: len(present & set(rules.cells)), default=None)
        return overlap if overlap is not None and present & set(overlap.cells) else None

    def to_json(self) -> str:
        """The manifest file's text."""
        return json.dumps({"format": FORMAT_VERSION, "assignment": self.assignment,
                           "notebooks": [rules.to_dict() for rules in self.notebooks]}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = MANIFEST_NAME) -> "Manifest":
        """Parse a manifest file's text.

        Raises:
            ManifestError: it is not a manifest of a format this version understands.
        """
        damaged = (f"{where} is damaged; take it again from the assignment's bundle (it is not one of the files "
                   f"you edit)")
        try:
            data = json.loads(text)
            version = data.get("format")
        except (ValueError, AttributeError) as error:
            raise ManifestError(f"{damaged}: {error}") from error
        if version != FORMAT_VERSION:
            raise ManifestError(f"{where} has format {version!r}; this `course` command reads format "
                                f"{FORMAT_VERSION}. Install the course package that came with this assignment's "
                                f"bundle.")
        try:
            return cls(str(data["assignment"]), tuple(NotebookRules.from_dict(item) for item in data["notebooks"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ManifestError(f"{damaged}: {type(error).__name__}: {error}") from error

    @classmethod
    def find(cls, folder: Path) -> "Manifest | None":
        """The manifest in ``folder`` (the folder of the assignment's notebooks), or None if it has none.

        Raises:
            ManifestError: the file is there but cannot be read.
        """
        path = folder / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ManifestError(f"{path} cannot be read ({error}); take it again from the assignment's "
                                f"bundle.") from error
        return cls.from_json(text, str(path))
