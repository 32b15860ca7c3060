"""Scratch folders that hold students' files are removed, also those of a process that was killed."""
from __future__ import annotations

import os
import subprocess
import sys

from autograder import scratch


def test_a_with_block_removes_its_folder_even_when_it_fails():
    try:
        with scratch.folder("test") as path:
            (path / "student.ipynb").write_text("{}")
            raise RuntimeError("a failing grading step")
    except RuntimeError:
        pass
    assert not path.exists()


def test_the_folders_of_a_killed_process_are_swept_and_live_ones_kept(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f"course-scratch-{child.pid}-grade-a1-x"
        live.mkdir()
        mine = tmp_path / f"course-scratch-{os.getpid()}-grade-a1-y"
        mine.mkdir()
        other = tmp_path / "course-kernel-uids"
        other.mkdir()
    finally:
        child.kill()
        child.wait()
    assert scratch.sweep(tmp_path) == [live]
    assert not live.exists() and mine.exists() and other.exists()


def test_a_regrade_keeps_the_earlier_results_as_history(tmp_path):
    from autograder import nbgrader_layout

    assert nbgrader_layout.keep_history(tmp_path) is None
    (tmp_path / "results.json").write_text('{"first": true}')
    kept = nbgrader_layout.keep_history(tmp_path)
    assert kept is not None and kept.parent.name == "history" and kept.read_text() == '{"first": true}'
    assert not (tmp_path / "results.json").exists()
