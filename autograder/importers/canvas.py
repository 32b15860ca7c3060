"""Canvas's "Download Submissions" zip: ``<name>_[LATE_]<user id>_<submission id>_<file name>``.

The user id (Canvas's numeric id, the ``ID`` column of its gradebook) is the student's LMS id; the
name part is kept for display. ``LATE`` marks a submission Canvas counted late. When a student
uploads a file whose name is already in their submission, Canvas renames it ``<stem>-<n><suffix>``
(``01_features-1.ipynb``): such a notebook is graded as ``01_features.ipynb``, the highest ``n``
winning. A student's own zip (``..._work.zip``) is opened and its files are theirs.
"""
from __future__ import annotations

import re

from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.safety import Tree

NAME = re.compile(r"^(?P<name>.+?)_(?:(?P<late>LATE)_)?(?P<user>\d+)_(?P<submission>\d+)_(?P<file>.+)$")
RENAMED = re.compile(r"^(?P<stem>.+)-(?P<copy>\d+)(?P<suffix>\.ipynb)$")


def recognises(tree: Tree, context: Context) -> bool:
    """Whether a top-level name follows Canvas's pattern."""
    return any(NAME.match(path.parts[0]) for path in tree.paths())


def file_name(name: str, context: Context) -> tuple[str, str]:
    """A submitted file's name with Canvas's ``-<n>`` rename undone for the assignment's notebooks, and its rank."""
    renamed = RENAMED.match(name)
    if renamed and name not in context.notebooks and renamed["stem"] + renamed["suffix"] in context.notebooks:
        return renamed["stem"] + renamed["suffix"], f"{int(renamed['copy']):09d}"
    return name, ""


def place(tree: Tree, context: Context) -> Placement:
    """One claim per Canvas submission id; the user id owns it."""
    placement = Placement()
    for path in tree.paths():
        match = NAME.match(path.parts[0])
        if not match:
            continue
        claim_id = f"{match['user']}_{match['submission']}"
        if claim_id not in placement.claims:
            placement.claims[claim_id] = Claim(match["user"], (Person(match["user"], match["name"]),),
                                               f"{match['name']}_{claim_id}",
                                               attempt=f"{int(match['submission']):020d}",
                                               marked_late=bool(match["late"]))
        name, rank = file_name(match["file"] if len(path.parts) == 1 else path.name, context)
        placement.files[path] = FileClaim(claim_id, name, rank)
    return placement
