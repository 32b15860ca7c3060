"""Extract the answers to compare: answer cells of notebooks, and functions of known solutions.

Every file read here is hostile input. A notebook is parsed as JSON with nbformat and only then
looked at defensively: cells that are not objects are skipped, a source may be a string or a list
of lines, and metadata may be missing or wrong. Only grade ids of *answer* cells of the release
notebook are trusted; a submitted cell claiming another id, or claiming to be an answer, is ignored.
What cannot be read raises :class:`UnreadableFile` with the reason, for the report's problem list.
"""
from __future__ import annotations

import ast
import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import nbformat
from nbformat.reader import NotJSONError

from autograder import cells

#: Files larger than this are not read (a notebook with plots is a few MB).
MAX_FILE_BYTES = 50_000_000
#: Longer answers are cut here before fingerprinting (a real answer is a few thousand characters).
MAX_ANSWER_CHARS = 50_000
_LINE_END = re.compile(r"\r\n|\r|\n")
#: The notebook format version read; Jupyter has written version 4 since 2015.
NOTEBOOK_VERSION = 4


class AnswerKind(enum.Enum):
    """How an answer is compared: as Python code or as prose."""

    CODE = "code"
    WRITTEN = "written"


class Suffix(str, enum.Enum):
    """File types a folder of known solutions may hold."""

    NOTEBOOK = ".ipynb"
    PYTHON = ".py"


class UnreadableFile(Exception):
    """A file that could not be read; ``str()`` says which and why."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


@dataclass(frozen=True)
class ReleaseCell:
    """An answer cell of the release notebook: where students write, and the starter text."""

    notebook: str
    cell: str
    kind: AnswerKind
    starter: str


@dataclass(frozen=True)
class KnownFunction:
    """One top-level function (or block of statements) of a known solution file."""

    file: str
    source: str


def _read_text(path: Path) -> str:
    """The UTF-8 text of a regular file, refusing links, special files and huge files."""
    if path.is_symlink():
        raise UnreadableFile(path, "is a symbolic link; only regular files are read")
    if not path.is_file():
        raise UnreadableFile(path, "is not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(path, f"is {size} bytes, more than the {MAX_FILE_BYTES} read")
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise UnreadableFile(path, f"cannot be read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise UnreadableFile(path, f"is not UTF-8 text ({error.reason})") from error


def notebook_cells(path: Path) -> list[Mapping[str, Any]]:
    """The cells of a version-4 notebook file that are JSON objects."""
    text = _read_text(path)
    try:
        data = nbformat.reader.parse_json(text)
        if not isinstance(data, dict) or data.get("nbformat") != NOTEBOOK_VERSION:
            raise UnreadableFile(path, f"is not a version-{NOTEBOOK_VERSION} Jupyter notebook")
        found = nbformat.from_dict(data).get("cells")
    except NotJSONError as error:
        raise UnreadableFile(path, "is not a notebook (not JSON)") from error
    except RecursionError as error:
        raise UnreadableFile(path, "is not a notebook (JSON nested too deeply)") from error
    if not isinstance(found, list):
        raise UnreadableFile(path, "is not a notebook (it has no list of cells)")
    return [cell for cell in found if isinstance(cell, Mapping)]


def _answer_kind(cell: Mapping[str, Any]) -> AnswerKind | None:
    """The kind of an answer cell of a trusted (release or solution) notebook; None otherwise."""
    if not cells.is_answer(cell):
        return None
    return AnswerKind.WRITTEN if cell.get("cell_type") == "markdown" else AnswerKind.CODE


def release_cells(path: Path, notebook: str) -> dict[str, ReleaseCell]:
    """The answer cells of a release notebook by grade id (the first cell of each id counts)."""
    found: dict[str, ReleaseCell] = {}
    for cell in notebook_cells(path):
        kind = _answer_kind(cell)
        grade_id = cells.grade_id(cell)
        if kind is not None and grade_id is not None and grade_id not in found:
            found[grade_id] = ReleaseCell(notebook, grade_id, kind, cells.source(cell))
    return found


def answers(path: Path, release: Mapping[str, ReleaseCell]) -> tuple[dict[str, str], list[str]]:
    """A submitted notebook's answers by grade id, and notes about what was cut.

    Cells are matched to the release by grade id alone; several cells with the same id are
    joined (a student may have split or duplicated an answer), cells with unknown ids are ignored.
    """
    parts: dict[str, list[str]] = {}
    for cell in notebook_cells(path):
        grade_id = cells.grade_id(cell)
        if grade_id in release:
            parts.setdefault(grade_id, []).append(cells.source(cell))
    found: dict[str, str] = {}
    notes: list[str] = []
    for grade_id, texts in parts.items():
        text = "\n".join(texts)
        if len(text) > MAX_ANSWER_CHARS:
            notes.append(f"{path}: answer {grade_id} has {len(text)} characters; "
                         f"only the first {MAX_ANSWER_CHARS} were compared")
            text = text[:MAX_ANSWER_CHARS]
        found[grade_id] = text
    return found, notes


def top_level_blocks(source: str) -> list[tuple[int, int]]:
    """Character spans of the top-level functions and classes of Python source, and of the runs
    of other statements between them; the whole text when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [(0, len(source))]
    # Where each line starts, counting line ends as the parser does (not str.splitlines, which
    # also splits at form feeds and other separators that may hide in hostile input).
    starts = [0] + [match.end() for match in _LINE_END.finditer(source)] + [len(source)]
    blocks: list[tuple[int, int]] = []
    run: list[int] | None = None  # first and last line of a run of plain statements
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.end_lineno or node.lineno
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if run is not None:
                blocks.append((starts[run[0] - 1], starts[run[1]]))
                run = None
            blocks.append((starts[first - 1], starts[last]))
        elif run is None:
            run = [first, last]
        else:
            run[1] = last
    if run is not None:
        blocks.append((starts[run[0] - 1], starts[run[1]]))
    return blocks


def _known_code(path: Path) -> str:
    """The Python code of a known solution: a .py file, or a notebook's code cells."""
    if path.suffix == Suffix.PYTHON.value:
        return _read_text(path)
    return "\n".join(cells.source(cell) for cell in notebook_cells(path)
                     if cell.get("cell_type") == "code")


def known_functions(folder: Path) -> Iterator[KnownFunction | UnreadableFile]:
    """Top-level functions of the notebooks and .py files in ``folder`` (recursively, sorted);
    files that cannot be read, or are of another type, are yielded as :class:`UnreadableFile`."""
    if not folder.is_dir():
        yield UnreadableFile(folder, "the folder of known solutions does not exist")
        return
    for path in sorted(folder.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        if path.suffix not in {suffix.value for suffix in Suffix}:
            yield UnreadableFile(path, "skipped: not a notebook or a .py file")
            continue
        try:
            code = _known_code(path)
        except UnreadableFile as problem:
            yield problem
            continue
        name = str(path.relative_to(folder))
        for start, end in top_level_blocks(code):
            yield KnownFunction(name, code[start:end])
