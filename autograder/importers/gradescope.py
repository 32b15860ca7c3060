"""Gradescope's "Export Submissions": ``submission_<id>/...`` with ``submission_metadata.yml``.

The metadata names each submission's submitters (``:name:``, ``:sid:``, ``:email:``) and its
``:created_at:`` time. A submitter's LMS id is their SID, else their e-mail; every member of a group
submission is graded on the group's files. Without the metadata file the submission id stands in
for the student (map it with a roster).
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from autograder import lateness
from autograder.importers import miniyaml
from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.problems import Problem, ProblemKind
from autograder.importers.safety import Tree

METADATA = PurePosixPath("submission_metadata.yml")
FOLDER = re.compile(r"^submission_(?P<id>\d+)$")


def recognises(tree: Tree, context: Context) -> bool:
    """Whether the tree has Gradescope's metadata file or ``submission_<id>`` folders."""
    return METADATA in tree.files or any(FOLDER.match(path.parts[0]) and len(path.parts) > 1
                                         for path in tree.paths())


def _people(entry: Any, folder: str) -> tuple[tuple[Person, ...], str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("submitters"), list):
        return (), f"{folder} has no submitters in {METADATA}"
    people = []
    for submitter in entry["submitters"]:
        if not isinstance(submitter, dict):
            return (), f"{folder} has a submitter that is not a mapping in {METADATA}"
        name, sid, email = (str(submitter.get(key) or "") for key in ("name", "sid", "email"))
        if not (sid or email):
            return (), f"{folder}'s submitter {name or '?'} has neither a sid nor an email in {METADATA}"
        people.append(Person(sid or email, name, email))
    return tuple(people), ""


def place(tree: Tree, context: Context) -> Placement:
    """One claim per submission folder, owned by its submitters."""
    placement = Placement()
    metadata: dict[str, Any] = {}
    if METADATA in tree.files:
        placement.metadata.add(METADATA)
        try:
            loaded = miniyaml.loads(tree.text(METADATA))
            metadata = loaded if isinstance(loaded, dict) else {}
        except miniyaml.YamlError as error:
            placement.problems.append(Problem(ProblemKind.METADATA, str(METADATA), f"cannot be read ({error}); "
                                              f"export the submissions from Gradescope again"))
            return placement
    for path in tree.paths():
        match = FOLDER.match(path.parts[0])
        if not match or len(path.parts) < 2:
            continue
        folder = path.parts[0]
        if folder not in placement.claims:
            if metadata:
                people, problem = _people(metadata.get(folder), folder)
                if problem:
                    placement.problems.append(Problem(ProblemKind.METADATA, folder, problem))
                    continue
            else:
                people = (Person(folder),)
            created = metadata.get(folder, {}).get("created_at") if metadata else None
            claim = Claim(folder, people, folder)
            if created:
                try:
                    claim.submitted_at = lateness.parse_time(str(created))
                except lateness.LatenessError as error:
                    placement.problems.append(Problem(ProblemKind.METADATA, folder, str(error)))
            placement.claims[folder] = claim
        if folder in placement.claims:
            placement.files[path] = FileClaim(folder, path.name)
    return placement
