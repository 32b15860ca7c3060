"""The assignment is registered with nbgrader once per source and gradebook file, not on every grading run."""
from __future__ import annotations

import pytest

from autograder import gradebook
from autograder.course import Course
from toy_course import make_repo


@pytest.fixture()
def counted(tmp_path, monkeypatch):
    course = make_repo(tmp_path)
    calls = []
    real = Course.nbgrader

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Course, "nbgrader", counting)
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
