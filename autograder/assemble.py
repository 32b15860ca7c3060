"""Build the notebook that is graded from the instructor's source and a student's submission.

The student's answers are kept; everything the instructor owns is taken from the source. A test
cell that was deleted, edited, duplicated or moved is put back as the source has it (and the
feedback says so), a missing answer cell counts as unanswered, and cells the student added stay
where they were, after the source cell they followed. Nothing of a student's notebook metadata
(kernel name, cell marks, points) is trusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder import cells
from autograder.cells import grade_id

MISSING_ANSWER = 'raise NotImplementedError("This answer cell was missing from the submission.")'


@dataclass
class Assembled:
    """The notebook to execute and what was repaired on the way."""

    notebook: nbformat.NotebookNode
    notes: list[str] = field(default_factory=list)


def assemble(source: nbformat.NotebookNode, student: nbformat.NotebookNode) -> Assembled:
    """Return the notebook to grade: the source's cells and order, with the student's answers and additions."""
    result = Assembled(new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}}))
    anchors = [cell for cell in source.cells if grade_id(cell)]
    known = {grade_id(cell) for cell in anchors}
    kernel = student.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel and kernel != "python3":
        result.notes.append(f"the notebook asked for the kernel {kernel!r}; it was graded with Python 3")

    # The student's cells grouped behind the source cell they follow.
    first: dict[str, dict] = {}
    after: dict[str | None, list] = {None: []}
    current = None
    for cell in student.get("cells", []):
        identity = grade_id(cell)
        if identity in known:
            if identity in first:
                result.notes.append(f"cell {identity!r} appeared more than once; only the first copy was graded")
                continue
            first[identity] = cell
            current = identity
            after.setdefault(identity, [])
        else:
            after.setdefault(current, []).append(cell)

    def plain(cell: dict) -> nbformat.NotebookNode:
        text = cells.source(cell)
        if cell.get("cell_type") == "code":
            return new_code_cell(text)
        return new_markdown_cell(text)

    def extras(key: str | None) -> list:
        return [plain(cell) for cell in after.get(key, []) if cell.get("cell_type") in ("code", "markdown")]

    # Plain cells of the source before its first marked cell are the student's to change too.
    result.notebook.cells += extras(None)
    order = [grade_id(cell) for cell in student.get("cells", []) if grade_id(cell) in known]
    expected_order = [identity for identity in (grade_id(cell) for cell in anchors) if identity in first]
    if order and [i for i in dict.fromkeys(order)] != expected_order:
        result.notes.append("cells were moved; they were graded in the order of the assignment")
    for cell in anchors:
        identity = grade_id(cell)
        mine = first.get(identity)
        graded = nbformat.from_dict(dict(cell))
        graded.metadata = nbformat.from_dict(dict(cell.metadata))
        if cells.is_answer(cell):
            if mine is None:
                result.notes.append(f"the answer cell {identity!r} was missing and counts as unanswered")
                graded.source = MISSING_ANSWER if cell.cell_type == "code" else "(missing)"
            else:
                graded.source = cells.source(mine)
        elif mine is None:
            result.notes.append(f"the test cell {identity!r} was deleted; it was restored and graded")
        elif not cells.same_text(cells.source(mine), cells.released_text(cell.source)):
            result.notes.append(f"the locked cell {identity!r} was edited; the original was restored and graded")
        if graded.cell_type == "code":
            graded.outputs, graded.execution_count = [], None
        result.notebook.cells.append(graded)
        result.notebook.cells += extras(identity)
    return result
