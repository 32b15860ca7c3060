"""Blackboard's "Download Assignment": ``<Assignment>_<username>_attempt_<date>_<file>`` plus a receipt.

Each attempt has a receipt ``<Assignment>_<username>_attempt_<YYYY-MM-DD-hh-mm-ss>.txt`` whose
``Name: Full Name (username)`` line names the student and whose ``Original filename:`` /
``Filename:`` pairs give each file's own name. The username comes from the receipt (so
``john_smith`` stays whole); an attempt without a receipt takes the longest username another
receipt names that ends its prefix, else the last ``_``-separated word before ``_attempt_``. The date in the name is the submission time; only a student's latest attempt is graded.
"""
from __future__ import annotations

import re
from datetime import datetime

from autograder.importers.core import Claim, Context, FileClaim, Person, Placement
from autograder.importers.safety import Tree

NAME = re.compile(r"^(?P<prefix>.+)_attempt_(?P<date>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)(?:_(?P<file>.+)|(?P<receipt>\.txt))$")
RECEIPT_NAME = re.compile(r"^Name:\s*(?P<name>.*?)\s*\((?P<user>[^()]+)\)\s*$")
ORIGINAL = re.compile(r"^\s*Original filename:\s*(?P<name>.+?)\s*$")
STORED = re.compile(r"^\s*Filename:\s*(?P<name>.+?)\s*$")


def recognises(tree: Tree, context: Context) -> bool:
    """Whether a top-level name follows Blackboard's pattern."""
    return any(NAME.match(path.parts[0]) for path in tree.paths())


def _receipt(text: str) -> tuple[str, str, dict[str, str]]:
    """The student's name and username, and stored name -> original name of each file."""
    name = user = ""
    originals: dict[str, str] = {}
    original = None
    for line in text.splitlines():
        if match := RECEIPT_NAME.match(line):
            name, user = match["name"], match["user"].strip()
        elif match := ORIGINAL.match(line):
            original = match["name"]
        elif (match := STORED.match(line)) and original:
            originals[match["name"]] = original
            original = None
    return name, user, originals


def _user_without_receipt(prefix: str, known: set[str]) -> str:
    """The username at the end of ``<Assignment>_<username>``: the longest one a receipt names, else the last word."""
    candidates = [user for user in known if user and prefix.endswith(f"_{user}")]
    return max(candidates, key=len) if candidates else prefix.rsplit("_", 1)[-1]


def place(tree: Tree, context: Context) -> Placement:
    """One claim per attempt (username and date); the username owns it."""
    placement = Placement()
    receipts: dict[str, tuple[str, str, dict[str, str]]] = {}
    for path in tree.paths():
        match = NAME.match(path.parts[0])
        if match and match["receipt"] and len(path.parts) == 1 and path in tree.files:
            placement.metadata.add(path)
            receipts[f"{match['prefix']}_attempt_{match['date']}"] = _receipt(tree.text(path))
    for path in tree.paths():
        match = NAME.match(path.parts[0])
        if not match or path in placement.metadata:
            continue
        attempt = f"{match['prefix']}_attempt_{match['date']}"
        name, user, originals = receipts.get(attempt, ("", "", {}))
        if not user or not match["prefix"].endswith(f"_{user}"):
            user = _user_without_receipt(match["prefix"], {receipt[1] for receipt in receipts.values()})
        if attempt not in placement.claims:
            placement.claims[attempt] = Claim(user, (Person(user, name),), attempt, attempt=match["date"],
                                              submitted_at=datetime.strptime(match["date"], "%Y-%m-%d-%H-%M-%S"))
        stored = path.parts[0]
        own = originals.get(stored, match["file"]) if len(path.parts) == 1 else path.name
        placement.files[path] = FileClaim(attempt, own)
    return placement
