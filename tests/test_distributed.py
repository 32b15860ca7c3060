"""Grading on an executor: the local pool and Dask distributed give the same grades; faults; resuming a class.

The slow tests grade small toy classes (tests/toy_course.py, a few seconds per student) in sandboxed
kernels; the fast ones drive the executors and the content hash with stand-ins.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from autograder import batch, execute, executors, grading, release, reports, resume, worker  # noqa: E402
from autograder.course import Course  # noqa: E402
from toy_course import make_repo, student_notebook  # noqa: E402

CORRECT = "return np.sum(x, axis=1)"
WRONG = "return np.sum(x, axis=0)"
SLEEPS = CORRECT + "\nimport time\ntime.sleep(8)"  # the answer cell runs for 8 s: time to kill its worker
GRADING = dict(cell_timeout=20, notebook_timeout=60, progress=False)


def _write_student(course: Course, folder: Path, student: str, body: str | None) -> None:
    target = folder / student / "toy"
    target.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_notebook(course.release / "toy" / "01_toy.ipynb", body), target / "01_toy.ipynb")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Course:
    """The released toy course (its work folder unused: each test grades into folders of its own)."""
    root = tmp_path_factory.mktemp("toy")
    course = make_repo(root)
    release.release(course, "toy")
    return course


def _class(course: Course, folder: Path, students: dict[str, str | None]) -> Path:
    for student, body in students.items():
        _write_student(course, folder, student, body)
    return folder


def _csv(course: Course) -> str:
    target = course.autograded.parent / "grades.csv"
    reports.export_csv(course, "toy", target)
    return target.read_text(encoding="utf-8")


class _Counting:
    """An executor that runs another and counts the tasks it was given, by student."""

    def __init__(self, inner: executors.Executor, given: list[str]) -> None:
        self.inner, self.given = inner, given

    def run(self, tasks, on_result, on_failure) -> None:
        def counted():
            for task in tasks:
                self.given.append(task.student)
                yield task

        self.inner.run(counted(), on_result, on_failure)


@pytest.fixture
def given(monkeypatch) -> list[str]:
    """The students handed to the executor in this test, in order."""
    students: list[str] = []
    real = executors.executor_for
    monkeypatch.setattr(executors, "executor_for", lambda *args: _Counting(real(*args), students))
    return students


@pytest.fixture
def recorded(monkeypatch) -> list[str]:
    """The students written to the gradebook in this test, in order."""
    students: list[str] = []
    real = batch.gradebook.record

    def record(course, result, *rest):
        students.append(result.student)
        return real(course, result, *rest)

    monkeypatch.setattr(batch.gradebook, "record", record)
    return students


@pytest.mark.slow
def test_a_local_cluster_grades_a_class_exactly_like_the_pool(toy, tmp_path):
    submitted = _class(toy, tmp_path / "class", {"ada": CORRECT, "ben": None, "cy": WRONG})
    pool, dask = toy.with_work_folder(tmp_path / "pool"), toy.with_work_folder(tmp_path / "dask")
    by_pool = batch.grade(pool, "toy", submitted, jobs=2, **GRADING)
    by_dask = batch.grade(dask, "toy", submitted, scheduler="local:2", **GRADING)
    assert [r.notebooks[0].auto_score for r in by_dask] == [2, 0, 0]
    assert [r.student for r in by_dask] == [r.student for r in by_pool]
    assert _csv(dask) == _csv(pool)
    executed = nbformat.read(dask.autograded / "ada" / "toy" / "01_toy.ipynb", as_version=4)
    assert any("visible tests passed" in str(cell.get("outputs")) for cell in executed.cells)


@pytest.mark.slow
def test_a_killed_dask_worker_is_replaced_and_its_student_graded_once(toy, tmp_path, recorded):
    from distributed import Client, LocalCluster

    submitted = _class(toy, tmp_path / "class", {"ada": CORRECT, "sleeper": SLEEPS})
    course = toy.with_work_folder(tmp_path / "work")
    killed: list[str] = []

    def kill_the_sleepers_worker(address: str) -> None:
        with Client(address) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                for where, keys in client.processing().items():
                    if any("-sleeper-" in str(key) for key in keys):
                        time.sleep(4)  # its kernel is up and sleeping in the answer cell
                        os.kill(client.run(os.getpid, workers=[where])[where], signal.SIGKILL)
                        killed.append(where)
                        return
                time.sleep(0.2)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"allowed_failures": 1}) as cluster:
        killer = threading.Thread(target=kill_the_sleepers_worker, args=(cluster.scheduler_address,))
        killer.start()
        results = batch.grade(course, "toy", submitted, scheduler=cluster.scheduler_address, **GRADING)
        killer.join()
    assert killed, "the sleeper's worker was never seen grading it"
    assert sorted(recorded) == ["ada", "sleeper"]
    assert {r.student: r.notebooks[0].auto_score for r in results} == {"ada": 2, "sleeper": 2}


@pytest.mark.slow
def test_grading_again_resumes_regrades_what_changed_and_force_regrades_all(toy, tmp_path, given, recorded):
    submitted = _class(toy, tmp_path / "class", {"ada": CORRECT, "cy": WRONG})
    course = toy.with_work_folder(tmp_path / "work")
    first = batch.grade(course, "toy", submitted, jobs=2, **GRADING)
    assert sorted(given) == ["ada", "cy"] and [r.notebooks[0].auto_score for r in first] == [2, 0]
    given.clear(), recorded.clear()

    again = batch.grade(course, "toy", submitted, jobs=2, **GRADING)
    assert given == [] and recorded == []
    assert [r.to_json() for r in again] == [r.to_json() for r in first]

    _write_student(toy, submitted, "cy", CORRECT)  # cy resubmits; the gradebook is lost meanwhile
    course.gradebook.unlink()
    changed = batch.grade(course, "toy", submitted, jobs=2, **GRADING)
    assert given == ["cy"] and sorted(recorded) == ["ada", "cy"]  # ada is put back in the new gradebook
    assert [r.notebooks[0].auto_score for r in changed] == [2, 2]
    given.clear()

    batch.grade(course, "toy", submitted, jobs=2, force=True, **GRADING)
    assert sorted(given) == ["ada", "cy"]


# --- fast: the executors and the content hash, with stand-ins for grading --------------------------

def _task(student: str, notebook: bytes = b"{}", salt: int = 1) -> grading.GradeTask:
    source = worker.AssignmentFiles("toy", {"01_toy.ipynb": b"source"}, "digest")
    return grading.GradeTask(student, source, {"01_toy.ipynb": notebook}, {}, execute.Settings(), salt=salt)


def _dies_the_first_time(task: grading.GradeTask) -> grading.GradedSubmission:
    """Kill this worker process on a task's first run (a marker file remembers it); grade it on the second."""
    marker = Path(task.notebooks["01_toy.ipynb"].decode())
    if task.student == "always" or not marker.exists():
        marker.touch()
        os._exit(1)
    return grading.GradedSubmission(grading.SubmissionResult(task.student, task.assignment))


def test_the_local_pool_survives_dying_workers_and_gives_up_after_two_deaths(tmp_path):
    tasks = [_task("once", str(tmp_path / "once").encode()), _task("always", str(tmp_path / "always").encode())]
    graded, failed = [], []
    executors.LocalPool(1, work=_dies_the_first_time).run(
        tasks, lambda outcome: graded.append(outcome.result.student), lambda task, why: failed.append((task.student, why)))
    assert graded == ["once"]
    assert failed == [("always", "its worker process died (killed, or out of memory)")]


def _graded_at_once(task: grading.GradeTask) -> grading.GradedSubmission:
    return grading.GradedSubmission(grading.SubmissionResult(task.student, task.assignment))


def test_the_local_pool_hands_out_the_next_task_before_recording_a_result():
    handed: list[str] = []
    seen_when_recording: list[list[str]] = []

    def tasks():
        for student in ("ada", "ben", "cy"):
            handed.append(student)
            yield _task(student)

    executors.LocalPool(1, work=_graded_at_once).run(
        tasks(), lambda outcome: seen_when_recording.append(list(handed)), lambda task, why: None)
    assert seen_when_recording[0] == ["ada", "ben"], "the worker should not wait while ada's result is recorded"
    assert len(seen_when_recording) == 3


def test_every_student_of_a_run_gets_the_same_salts_and_the_next_run_new_ones(toy, tmp_path, monkeypatch):
    submitted = _class(toy, tmp_path / "class", {"ada": CORRECT, "ben": WRONG, "cy": None})
    salts: list[list[tuple[int, int]]] = []

    class Recording:
        def run(self, tasks, on_result, on_failure) -> None:
            salts.append([])
            for task in tasks:
                salts[-1].append((task.salt, task.heldout_seed))
                on_result(_graded_at_once(task))

    monkeypatch.setattr(executors, "executor_for", lambda *args: Recording())
    course = toy.with_work_folder(tmp_path / "work")
    batch.grade(course, "toy", submitted, force=True, **GRADING)
    batch.grade(course, "toy", submitted, force=True, **GRADING)
    first, second = salts
    assert len(first) == 3 and len(set(first)) == 1, "one run judges every student on the same cases"
    assert first[0] != second[0], "each run draws its salts afresh"


def test_the_content_hash_follows_the_inputs_but_not_the_salts():
    base = resume.fingerprint(_task("ada"), [])
    assert resume.fingerprint(_task("ada", salt=99), []) == base
    assert resume.fingerprint(_task("ada", b'{"cells": []}'), []) != base
    assert resume.fingerprint(_task("ada"), ["submitted 2 hours late"]) != base
    slower = replace(_task("ada"), settings=execute.Settings(cell_timeout_s=5))
    assert resume.fingerprint(slower, []) != base
    on_a_worker = replace(_task("ada"), settings=execute.Settings(readonly=(Path("/elsewhere"),), uid=61001))
    assert resume.fingerprint(on_a_worker, []) == base


def test_a_bad_scheduler_says_what_to_do(monkeypatch):
    with pytest.raises(executors.ExecutorError, match="local:4"):
        executors.executor_for("local:many", None)
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(executors.ExecutorError, match="No Dask scheduler answered at tcp://127.0.0.1:9"):
        executors.executor_for("tcp://127.0.0.1:9", None).run([], print, print)
