"""Build an assignment's student manifest from its source (instructor side).

The manifest (:class:`autograder.student.manifest.Manifest`) tells the student's ``course check``
and ``course submit`` which cells each notebook must have, which graded cells run hidden checks and
which functions fall under the vectorisation rule. It is read off the solution notebooks and the
specs here, and holds names only: no spec, input, tolerance or line of a solution.
"""
from __future__ import annotations

import nbformat

from autograder import cells, specs
from autograder.course import Assignment, CourseError
from autograder.student.manifest import Manifest, NotebookRules


def _rules(name: str, notebook: nbformat.NotebookNode, book: specs.SpecBook) -> NotebookRules:
    marked = tuple(identity for identity in (cells.grade_id(cell) for cell in notebook.cells) if identity)
    hidden: set[str] = set()
    loop_rule: dict[str, tuple[str, ...]] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or cells.kind(cell) is not cells.CellKind.TEST:
            continue
        identity, text = cells.grade_id(cell) or "", cells.source(cell)
        if cells.hidden_text(text).strip():
            hidden.add(identity)
        vectorised = tuple(function for function in cells.hidden_checks(text)
                           if isinstance(book.specs.get(function), specs.Spec) and book.specs[function].vectorised)
        if vectorised:
            loop_rule[identity] = vectorised
    return NotebookRules(name, marked, frozenset(hidden), loop_rule)


def build(assignment: Assignment) -> Manifest:
    """The student manifest of ``assignment``.

    Raises:
        CourseError: a solution notebook or the spec files cannot be read.
    """
    try:
        book = assignment.specs
    except specs.SpecError as error:
        raise CourseError(str(error)) from error
    notebooks = []
    for path in assignment.notebooks():
        try:
            notebook = nbformat.read(path, as_version=4)
        except (OSError, ValueError, nbformat.ValidationError) as error:
            raise CourseError(f"{path} cannot be read ({error}); fix the solution notebook.") from error
        notebooks.append(_rules(path.name, notebook, book))
    return Manifest(assignment.name, tuple(notebooks))
