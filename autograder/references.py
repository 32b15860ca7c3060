"""Reference solutions, loaded by name from the solution notebooks (the one source of truth).

Every code cell of ``solutions/<assignment>/*.ipynb`` that nbgrader marks as an answer cell
(``metadata.nbgrader.solution``) is indexed by the functions and classes it defines. Loading a
name executes the definition statements of that notebook (see
:mod:`course_utils.notebook_loader`) and returns the object. Nothing is copied into a second file.

The solutions folder is ``solutions/`` beside this package in a checkout of the course
repository, or the folder named by the environment variable ``COURSE_SOLUTIONS_DIR``.
"""
from __future__ import annotations

import ast
import functools
import json
import os
from pathlib import Path
from typing import Any

from course_utils.notebook_loader import load_notebook

SOLUTIONS_ENV = "COURSE_SOLUTIONS_DIR"


class MissingReferenceError(LookupError):
    """A reference solution cannot be found or loaded; an error of the course setup."""


def solutions_dir() -> Path:
    """Return the folder holding the solution notebooks (``<assignment>/<notebook>.ipynb``)."""
    configured = os.environ.get(SOLUTIONS_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parent.parent / "solutions"
    if not folder.is_dir():
        raise MissingReferenceError(
            f"The solution notebooks are not in {folder}. Hidden tests run only on the instructor's side: "
            f"grade from a checkout of the course repository or set {SOLUTIONS_ENV}.")
    return folder


def _answer_cell_names(notebook: Path) -> list[str]:
    """Names of the functions and classes defined in the answer cells of ``notebook``."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    names = []
    for cell in cells:
        marks = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code" or not marks.get("solution"):
            continue
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
        names += [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    return names


def index(folder: Path | None = None) -> dict[str, Path]:
    """Map every name defined in an answer cell to the solution notebook that defines it."""
    return _index(folder or solutions_dir())


@functools.lru_cache(maxsize=None)
def _index(folder: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for notebook in sorted(folder.glob("*/*.ipynb")):
        for name in _answer_cell_names(notebook):
            if name in found and found[name] != notebook:
                raise MissingReferenceError(f"{name} is defined in answer cells of both {found[name]} and {notebook}; "
                                     f"rename one so references can be found by name.")
            found[name] = notebook
    return found


@functools.lru_cache(maxsize=None)
def _load(notebook: Path) -> Any:
    return load_notebook(notebook)


def reference(name: str) -> Any:
    """Return the reference implementation called ``name`` from the solution notebooks."""
    notebooks = index()
    if name not in notebooks:
        raise MissingReferenceError(f"No answer cell in {solutions_dir()} defines {name!r}.")
    return getattr(_load(notebooks[name]), name)
