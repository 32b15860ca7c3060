"""Keep nbgrader's own view of the course whole while ``course grade`` does the grading.

nbgrader and its formgrader find a submission through the course's folders: the student's files in
``submitted/<student>/<assignment>/`` (with ``timestamp.txt``) and the graded notebooks in
``autograded/<student>/<assignment>/``, matched with the gradebook's submission timestamp. A class
imported from an LMS export has no ``submitted`` folder of its own, so the grader writes one; a
regrade keeps the earlier results as history.
"""
from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

from autograder.course import Course
from autograder.resume import RESULTS_FILE
from autograder.submissions import Submission

TIMESTAMP_FILE = "timestamp.txt"
HISTORY_FOLDER = "history"


def nbgrader_timestamp(moment: datetime) -> str:
    """A submission time as nbgrader writes ``timestamp.txt`` (UTC)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def make_working_folders(course: Course) -> None:
    """Create the course's working folders and the gradebook's folder, so ``nbgrader`` commands work at once."""
    for folder in (course.submitted, course.autograded, course.feedback):
        folder.mkdir(parents=True, exist_ok=True)
    if course.gradebook is not None:
        course.gradebook.parent.mkdir(parents=True, exist_ok=True)


def mirror_submission(course: Course, assignment: str, submission: Submission) -> Path:
    """Write ``submission`` into ``submitted/<student>/<assignment>/`` as nbgrader's collect would.

    The notebooks go under the assignment's names, with the support files and, when the export says
    when it was submitted, ``timestamp.txt``. Files of an earlier submission of the student are
    replaced. Returns the folder.
    """
    folder = course.submitted / submission.student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, path in submission.files.items():
        if path is not None:
            shutil.copyfile(path, folder / name)
    for path in submission.support_files:
        shutil.copyfile(path, folder / path.name)
    if submission.submitted_at is not None:
        (folder / TIMESTAMP_FILE).write_text(nbgrader_timestamp(submission.submitted_at), encoding="utf-8")
    return folder


def keep_history(output_dir: Path, now: datetime | None = None) -> Path | None:
    """Move an earlier ``results.json`` of a student into ``history/`` before a regrade; returns where it went."""
    earlier = output_dir / RESULTS_FILE
    if not earlier.is_file():
        return None
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    target = output_dir / HISTORY_FOLDER / f"{stamp}-{RESULTS_FILE}"
    target.parent.mkdir(exist_ok=True)
    earlier.rename(target)
    return target
