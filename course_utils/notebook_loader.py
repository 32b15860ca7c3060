"""Reuse the definitions of another notebook of the same assignment.

In ``02_linear_classifier.ipynb``::

    from course_utils.notebook_loader import load_notebook
    feats = load_notebook("01_features.ipynb")
    X_feats = feats.hog_features(images)

What is loaded
--------------
Every code cell of the other notebook is parsed with :mod:`ast`, and each *top-level statement*
is kept or dropped on its own. Kept statements run in cell order, in the namespace of a fresh
module; everything else is ignored. Kept are:

* ``import ...`` and ``from ... import ...``;
* function definitions (``def``, ``async def``) and class definitions, decorators included;
* assignments of UPPER_CASE names (``NUM_BINS = 9``, ``IMAGE_SHAPE: tuple = (32, 32, 3)``)
  whose value is a literal or simple expression: numbers, strings, tuples, lists, sets, dicts,
  arithmetic, and names or attributes (``np.pi``) that earlier kept statements or the builtins
  define. Calls and indexing are not simple, so ``MEAN = X.mean()`` is dropped;
* ``name = load_notebook(...)``, so a notebook that reuses another can be reused in turn.

Dropped are all other statements: training loops, plotting, prints, tests (``assert``), ``if`` /
``for`` / ``try`` blocks, and lowercase assignments such as ``X_train = ...``. A kept function
that reads a global assigned by a dropped statement fails with ``NameError`` when called; pass
such values as arguments instead.

Lines whose first non-blank character is ``%`` or ``!`` (IPython magics and shell commands)
are blanked before parsing; a cell whose first line starts with ``%%`` (a cell magic such as
``%%time``) is skipped as a whole, because its body need not be Python.

Cells are numbered from 1 counting *all* cells of the notebook, markdown cells included, as
you meet them scrolling from the top. Defining an unfinished function whose body raises
``NotImplementedError`` is fine; only calling it raises.

Relative paths are resolved against ``base_dir``, by default the current working directory,
which Jupyter sets to the folder of the running notebook. While a notebook is being loaded,
relative paths in its own ``load_notebook`` calls resolve against its folder.
"""
from __future__ import annotations

import ast
import builtins
import json
import linecache
import os
import re
import types
from pathlib import Path
from typing import Any, Callable

__all__ = ["load_notebook", "NotebookLoadError"]

_CONSTANT_NAME = re.compile(r"_*[A-Z][A-Z0-9_]*")
_SIMPLE_NODES = (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.UnaryOp, ast.BinOp,
                 ast.Name, ast.Attribute, ast.expr_context, ast.operator, ast.unaryop)
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_loading: list[Path] = []  # notebooks being loaded right now, innermost last


class NotebookLoadError(Exception):
    """A notebook could not be read, parsed, or one of its kept statements raised."""


def load_notebook(path: str | os.PathLike[str], *, base_dir: str | os.PathLike[str] | None = None,
                  name: str | None = None) -> types.ModuleType:
    """Run the definitions of the notebook at ``path`` and return them as a new module.

    Args:
        path: the ``.ipynb`` file (nbformat 4); a relative path is resolved against ``base_dir``.
        base_dir: folder for relative paths; default: the folder of the notebook being loaded
            when called from one, else the current working directory.
        name: the module's ``__name__``; default ``nb_`` plus the file stem with characters that
            are not allowed in identifiers replaced by ``_`` (``01_features`` -> ``nb_01_features``).

    Returns:
        A fresh module (each call gives a new, independent one) holding the kept definitions.
        ``module.__file__`` is the notebook's absolute path and ``module.__loaded__`` lists
        ``(cell_number, name)`` for every name the kept statements bound, in load order.
        Asking it for a name it lacks raises AttributeError listing what was loaded.

    Raises:
        FileNotFoundError: no file at the resolved path; the message lists the folder's notebooks.
        NotebookLoadError: the file is not an nbformat 4 notebook, a code cell does not parse,
            a kept statement raised, or notebooks load each other in a cycle.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or pathlib.Path naming a .ipynb file; got {type(path).__name__}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"name must be a non-empty string or None; got {name!r}")
    notebook = _resolve(Path(path), base_dir)
    if notebook in _loading:
        chain = " -> ".join(p.name for p in [*_loading[_loading.index(notebook):], notebook])
        raise NotebookLoadError(f"notebooks load each other in a cycle: {chain}. "
                                "Move the shared definitions into one of them")
    module = types.ModuleType(name or "nb_" + re.sub(r"\W", "_", notebook.stem),
                              f"Definitions loaded from {notebook}")
    module.__file__ = str(notebook)
    module.__loaded__ = []
    namespace = vars(module)
    _loading.append(notebook)
    try:
        for number, source in _code_cells(notebook):
            where = f"{notebook.name}, cell {number}"
            for statement in _parse(source, where).body:
                if _is_kept(statement, namespace):
                    _execute(statement, source, namespace, where)
                    module.__loaded__.extend((number, bound) for bound in _bound_names(statement))
    finally:
        _loading.pop()
    module.__getattr__ = _explain_missing(notebook.name, module.__loaded__)
    return module


def _resolve(path: Path, base_dir: str | os.PathLike[str] | None) -> Path:
    """Absolute path of the notebook; FileNotFoundError listing the folder's notebooks if absent."""
    if base_dir is None:
        base_dir = _loading[-1].parent if _loading else Path.cwd()
    elif not isinstance(base_dir, (str, os.PathLike)):
        raise TypeError(f"base_dir must be a str, pathlib.Path or None; got {type(base_dir).__name__}")
    notebook = (Path(base_dir) / path).resolve()
    if notebook.is_file():
        return notebook
    folder = notebook.parent
    if folder.is_dir():
        present = sorted(p.name for p in folder.glob("*.ipynb"))
        found = ", ".join(present) if present else "none"
        raise FileNotFoundError(f"no notebook at {notebook}. Notebooks in {folder}: {found}")
    raise FileNotFoundError(f"no notebook at {notebook}: the folder {folder} does not exist")


def _code_cells(notebook: Path) -> list[tuple[int, str]]:
    """``(cell_number, source)`` of every code cell, numbered from 1 over all cells."""
    try:
        content = json.loads(notebook.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotebookLoadError(f"{notebook} is not a Jupyter notebook (not valid JSON: {error}); "
                                "open it in Jupyter to check it") from error
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise NotebookLoadError(f"{notebook} is not a Jupyter notebook: it has no list of 'cells'")
    if content.get("nbformat") != 4:
        raise NotebookLoadError(f"{notebook} has nbformat {content.get('nbformat')!r}; only nbformat 4 is "
                                "supported. Open and save it in a current Jupyter to upgrade it")
    cells = []
    for number, cell in enumerate(content["cells"], start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            cells.append((number, "".join(source) if isinstance(source, list) else source))
    return cells


def _parse(source: str, where: str) -> ast.Module:
    """Parse a cell after blanking magic and shell lines (keeping line numbers)."""
    if source.lstrip().startswith("%%"):
        return ast.Module(body=[], type_ignores=[])
    lines = ["" if line.lstrip()[:1] in ("%", "!") else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError as error:
        raise NotebookLoadError(f"{where} is not valid Python (line {error.lineno}: {error.msg}). "
                                "Fix the syntax error in that cell, run it once to check, "
                                "save the notebook and load it again") from error


def _is_kept(statement: ast.stmt, namespace: dict[str, Any]) -> bool:
    """Whether a top-level statement is a definition (see the module docstring for the rule)."""
    if isinstance(statement, _DEFINITIONS):
        return True
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets = [statement.target]
    else:
        return False
    if not all(isinstance(target, ast.Name) for target in targets):
        return False
    if _is_load_notebook_call(statement.value):
        return True
    return (all(_CONSTANT_NAME.fullmatch(target.id) for target in targets)
            and _is_simple(statement.value, namespace))


def _is_load_notebook_call(value: ast.expr) -> bool:
    """Whether ``value`` is ``load_notebook(...)`` or ``something.load_notebook(...)``."""
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    return (isinstance(func, ast.Name) and func.id == "load_notebook") or \
        (isinstance(func, ast.Attribute) and func.attr == "load_notebook")


def _is_simple(value: ast.expr, namespace: dict[str, Any]) -> bool:
    """Literals, containers and arithmetic over names that are already defined."""
    for node in ast.walk(value):
        if not isinstance(node, _SIMPLE_NODES):
            return False
        if isinstance(node, ast.Name) and node.id not in namespace and not hasattr(builtins, node.id):
            return False
    return True


def _execute(statement: ast.stmt, source: str, namespace: dict[str, Any], where: str) -> None:
    """Run one kept statement; wrap any exception with the cell and the statement's first line."""
    filename = f"<{where}>"
    # Registering the cell's text lets tracebacks and inspect.getsource show the student's code.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec")
    try:
        exec(code, namespace)
    except Exception as error:
        first_line = source.splitlines()[statement.lineno - 1].strip()
        raise NotebookLoadError(f"{where}: running `{first_line}` raised {type(error).__name__}: {error}. "
                                "Only definitions are loaded, so they cannot use values computed by "
                                "other statements; fix that cell, save the notebook and load it again") from error


def _bound_names(statement: ast.stmt) -> list[str]:
    """The names a kept statement binds in the module namespace."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.partition(".")[0] for alias in statement.names]
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [statement.name]
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    return [target.id for target in targets]


def _explain_missing(notebook_name: str, loaded: list[tuple[int, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that says why a name is missing and what was loaded instead."""
    def __getattr__(attribute: str) -> Any:
        names = ", ".join(name for _, name in loaded) or "nothing"
        raise AttributeError(f"{notebook_name} has no definition {attribute!r} that load_notebook keeps "
                             f"(loaded: {names}). Only imports, functions, classes and UPPER_CASE "
                             "constants with simple values are loaded; see course_utils.notebook_loader")
    return __getattr__
