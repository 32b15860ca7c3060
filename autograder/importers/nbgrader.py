"""nbgrader's layout: ``<student>/<assignment>/...``, with nbgrader's ``timestamp.txt`` when present.

Recognised when some path has the assignment's name as its second folder. The student id is the
folder's name as it is (underscores, spaces and accents included). Other assignments' folders are
skipped; a file beside the student folders is unplaced.
"""
from __future__ import annotations

from pathlib import PurePosixPath

from autograder import lateness
from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.problems import Problem, ProblemKind
from autograder.importers.safety import Tree

TIMESTAMP_FILE = "timestamp.txt"


def recognises(tree: Tree, context: Context) -> bool:
    """Whether the tree holds ``<student>/<assignment>/`` folders."""
    return any(len(path.parts) >= 2 and path.parts[1] == context.assignment for path in [*tree.paths(), *tree.folders])


def place(tree: Tree, context: Context) -> Placement:
    """Place every file of ``<student>/<assignment>/`` with the student; read ``timestamp.txt``."""
    placement = Placement()
    for folder in sorted({PurePosixPath(*p.parts[:2]) for p in [*tree.paths(), *tree.folders]
                          if len(p.parts) >= 2 and p.parts[1] == context.assignment}):
        student = folder.parts[0]
        placement.claims[student] = Claim(student, (Person(student),), str(folder))
    for path in tree.paths():
        if len(path.parts) < 3:
            continue
        student, assignment = path.parts[:2]
        if assignment != context.assignment:
            placement.skipped.add(path)
        elif path.parts[2:] == (TIMESTAMP_FILE,) and path in tree.files:
            placement.metadata.add(path)
            try:
                placement.claims[student].submitted_at = lateness.parse_time(tree.text(path).strip())
            except lateness.LatenessError as error:
                placement.problems.append(Problem(ProblemKind.METADATA, str(path), f"{error} It was ignored.",
                                                  student))
        else:
            placement.files[path] = FileClaim(student, path.name)
    return placement
