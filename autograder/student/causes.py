"""Which earlier cell explains a ``NameError``: the nearest earlier cell that failed and would have
defined the missing name.

``NameError: name 'features' is not defined`` in a test cell usually means that the cell assigning
``features`` crashed earlier (often because a function it calls is not written yet). The report
names that cell, with its number (counting every cell from 1, markdown included, as you meet them
scrolling from the top), the line that defines the name and its error, and follows the chain when that cell's own
error is such a ``NameError``.
"""
from __future__ import annotations

import ast
import re
from typing import Mapping

import nbformat

from autograder import cells

NAME_ERROR = re.compile(r"NameError: name '(\w+)' is not defined")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_LINE_CHARS = 70


def _python(source: str) -> str:
    """The cell's source with IPython magics and shell lines blanked."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def _binding_line(node: ast.AST, name: str) -> int | None:
    """The first line of ``node``'s top level (outside functions and classes) that binds ``name``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child.name == name:
            return child.lineno
        if isinstance(child, (ast.Import, ast.ImportFrom)) and any(
                (alias.asname or alias.name).split(".")[0] == name for alias in child.names):
            return child.lineno
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store) and child.id == name:
            return child.lineno
        if not isinstance(child, _SCOPES):
            found = _binding_line(child, name)
            if found is not None:
                return found
    return None


def defining_line(source: str, name: str) -> int | None:
    """The line (from 1) of a cell's source that binds ``name`` at the top level, or None.

    A cell that is not valid Python is taken to bind a name on the first line that mentions it.
    """
    try:
        return _binding_line(ast.parse(_python(source)), name)
    except SyntaxError:
        for number, line in enumerate(source.splitlines(), start=1):
            if re.search(rf"\b{re.escape(name)}\b", line):
                return number
        return None


def describe(notebook: nbformat.NotebookNode, index: int, line: int = 1) -> str:
    """``cell 12 (grade id), line 3 `text of that line``` for the cell at ``index``."""
    cell = notebook.cells[index]
    lines = cells.source(cell).splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    text = text if len(text) <= _LINE_CHARS else text[:_LINE_CHARS] + "..."
    identity = cells.grade_id(cell)
    return f"cell {index + 1}" + (f" ({identity})" if identity else "") + f", line {line} `{text}`"


def explain(notebook: nbformat.NotebookNode, errors: Mapping[int, str], index: int) -> str | None:
    """Why the cell at ``index`` failed, when its error is a ``NameError`` that an earlier failing cell explains.

    Args:
        notebook: the executed notebook.
        errors: the error of every code cell that failed, by index.
        index: the cell to explain.

    Returns:
        For example ``"cell 76, line 2 `features = {...}`, which defines features, failed earlier:
        NotImplementedError: ..."``; None when no earlier failing cell defines the name.
    """
    match = NAME_ERROR.match(errors.get(index) or "")
    if not match:
        return None
    name = match.group(1)
    for earlier in range(index - 1, -1, -1):
        error = errors.get(earlier)
        line = defining_line(cells.source(notebook.cells[earlier]), name) if error else None
        if line is not None:
            because = f"{describe(notebook, earlier, line)}, which defines {name}, failed earlier: {error}"
            deeper = explain(notebook, errors, earlier)
            return because + (f"\n    and {deeper}" if deeper else "")
    return None
