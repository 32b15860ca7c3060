"""The assignment is registered with nbgrader once per source and gradebook file, not on every grading run."""
from __future__ import annotations

import pytest

from autograder import gradebook
from autograder.course import Course, CourseError
from toy_course import make_repo


@pytest.fixture()
def counted(tmp_path, monkeypatch):
    course = make_repo(tmp_path)
    calls = []
    real = Course.start_nbgrader

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Course, "start_nbgrader", counting)
    return course, calls


def test_registering_again_from_the_same_source_is_skipped(counted):
    course, calls = counted
    gradebook.register_assignment(course, "toy")
    gradebook.register_assignment(course, "toy")
    assert calls == ["generate_assignment"]


def test_a_changed_notebook_or_a_new_gradebook_registers_again(counted):
    course, calls = counted
    gradebook.register_assignment(course, "toy")
    notebook = course.source / "toy" / "01_toy.ipynb"
    notebook.write_text(notebook.read_text().replace("Toy notebook", "Toy notebook, revised"))
    gradebook.register_assignment(course, "toy")
    course.gradebook.unlink()
    gradebook.register_assignment(course, "toy")
    assert calls == ["generate_assignment"] * 3
    assert course.gradebook.is_file()


def test_registration_runs_beside_the_caller_and_reports_nbgrader_failing(tmp_path):
    course = make_repo(tmp_path)
    registration = gradebook.Registration(course, "no_such_assignment")
    assert registration._process is not None and registration._process.poll() is None, \
        "Registration should return while nbgrader is still starting"
    with pytest.raises(CourseError, match="could not register no_such_assignment"):
        registration.wait()
    with pytest.raises(CourseError, match="could not register"):
        registration.wait()  # waiting again never lets scores be written into an unregistered gradebook


def test_leaving_before_waiting_stops_nbgrader(tmp_path):
    course = make_repo(tmp_path)
    with gradebook.Registration(course, "toy") as registration:
        process = registration._process
    assert process.returncode is not None, "nbgrader should be stopped when the run stops early"
    assert not course.gradebook.exists() or "toy" not in gradebook._registered(course)
