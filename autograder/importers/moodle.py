"""Moodle's "Download all submissions": ``<Full Name>_<id>_assignsubmission_<plugin>_[/]<file>``.

With "download submissions in folders" each submission is a folder
(``Alice Smith_1234_assignsubmission_file_/01_features.ipynb``); without it the file name carries
the prefix. The id is Moodle's participant id (``Participant 1234`` in its grading worksheet); the
full name, spaces and accents included, is kept for display. Online text (``onlinetext``) is kept
as a file of the student.
"""
from __future__ import annotations

import re

from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.safety import Tree

NAME = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")


def recognises(tree: Tree, context: Context) -> bool:
    """Whether a top-level name follows Moodle's pattern."""
    return any(NAME.match(path.parts[0]) for path in [*tree.paths(), *tree.folders])


def place(tree: Tree, context: Context) -> Placement:
    """One claim per participant id."""
    placement = Placement()
    for path in tree.paths():
        match = NAME.match(path.parts[0])
        if not match or (len(path.parts) == 1 and not match["file"]):
            continue
        if match["id"] not in placement.claims:
            placement.claims[match["id"]] = Claim(match["id"], (Person(match["id"], match["name"]),),
                                                  f"{match['name']}_{match['id']}")
        placement.files[path] = FileClaim(match["id"], match["file"] if len(path.parts) == 1 else path.name)
    return placement
