"""The Course value, spec files beside their notebooks, release validation and `course init`."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli, release, scaffold, specs
from autograder.course import Course, CourseError, NotACourse
from toy_course import SPECS, make_repo


def test_locate_prefers_the_option_then_the_variable_then_the_nearest_folder_upward(tmp_path):
    first, second = make_repo(tmp_path / "first").root, make_repo(tmp_path / "second").root
    deep = first / "solutions" / "toy"
    assert Course.locate(second, environ={"COURSE_DIR": str(first)}, cwd=deep).root == second
    assert Course.locate(None, environ={"COURSE_DIR": str(second)}, cwd=deep).root == second
    assert Course.locate(None, environ={}, cwd=deep).root == first


def test_outside_any_course_the_error_is_one_line_saying_what_to_do(tmp_path, capsys, monkeypatch):
    with pytest.raises(NotACourse, match="--course DIR"):
        Course.locate(None, environ={}, cwd=tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COURSE_DIR", raising=False)
    assert cli.main(["release", "all"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "course init" in error and "Traceback" not in error


def test_the_folders_come_from_the_nbgrader_configuration(tmp_path):
    course = make_repo(tmp_path / "c")
    assert course.source == course.root / "solutions" and course.release == course.root / "assignments"
    assert course.assignments() == ["toy"]  # make_repo makes one assignment
    with pytest.raises(CourseError, match="Unknown assignment 'nope'; .* holds toy"):
        course.assignment("nope")


def test_the_same_function_name_may_be_graded_in_two_assignments(tmp_path):
    course = make_repo(tmp_path / "c")
    shutil.copytree(course.source / "toy", course.source / "toy2")
    first, second = course.assignment("toy"), course.assignment("toy2")
    assert first.spec("toy_row_sums") is not second.spec("toy_row_sums")
    assert first.reference_index["toy_row_sums"].parent.name == "toy"
    assert second.reference_index["toy_row_sums"].parent.name == "toy2"


def test_a_spec_file_without_specs_or_with_a_duplicate_is_a_clear_error(tmp_path):
    broken = tmp_path / "01_a.specs.py"
    broken.write_text("x = 1\n")
    with pytest.raises(specs.SpecError, match="must define SPECS"):
        specs.load([broken])
    shutil.copy(SPECS, broken)
    shutil.copy(SPECS, tmp_path / "02_b.specs.py")
    with pytest.raises(specs.SpecError, match="'toy_row_sums' is specified twice"):
        specs.load(specs.spec_files(tmp_path))
    broken.write_text("SPECS = [\n")
    with pytest.raises(specs.SpecError, match="01_a.specs.py:"):
        specs.load([broken])


def _edit_cell(path: Path, grade_id: str, **changes) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            for key, value in changes.items():
                if key == "points":
                    cell.metadata.nbgrader.points = value
                else:
                    cell[key] = value
    nbformat.write(notebook, path)


def test_validation_reports_each_problem_as_notebook_cell_with_the_fix(tmp_path):
    course = make_repo(tmp_path / "c")
    assert release.validate(course.assignment("toy")) == []
    notebook = course.source / "toy" / "01_toy.ipynb"
    _edit_cell(notebook, "toy_row_sums_tests", points=0, source=(
        "### BEGIN HIDDEN TESTS\nfrom autograder.checks import check_against_reference\n"
        "check_against_reference('grayscale', grayscale)\n### END HIDDEN TESTS"))
    problems = release.validate(Course.at(course.root).assignment("toy"))
    text = "\n".join(problems)
    assert "01_toy.ipynb:toy_row_sums_tests: a graded cell without points" in text
    assert "01_toy.ipynb:toy_row_sums_tests: check_against_reference('grayscale', ...) has no Spec; add " \
           "Spec('grayscale', ...) to 01_toy.specs.py" in text
    assert "no answer cell of toy defines 'grayscale'" in text
    assert "01_toy.specs.py:toy_row_sums_tests: the spec of 'toy_row_sums' is never used" in text


@pytest.mark.slow
def test_release_refuses_an_invalid_assignment_and_writes_nothing(tmp_path, capsys):
    course = make_repo(tmp_path / "c")
    (course.source / "toy" / "01_toy.specs.py").unlink()
    assert cli.main(["--course", str(course.root), "release", "toy"]) == 1
    error = capsys.readouterr().err
    assert "not ready to release" in error and "has no Spec" in error
    assert not (course.release / "toy").exists()


@pytest.mark.slow
def test_init_makes_a_course_that_releases_without_leaking_its_spec(tmp_path, capsys):
    folder = tmp_path / "my-course"
    assert cli.main(["init", str(folder)]) == 0
    course = Course.at(folder)
    assert course.assignments() == [scaffold.EXAMPLE_ASSIGNMENT]
    assert release.validate(course.assignment(scaffold.EXAMPLE_ASSIGNMENT)) == []
    assert cli.main(["--course", str(folder), "release", scaffold.EXAMPLE_ASSIGNMENT]) == 0
    released = course.release / scaffold.EXAMPLE_ASSIGNMENT
    assert sorted(p.name for p in released.iterdir()) == [scaffold.EXAMPLE_NOTEBOOK]
    assert release.find_leaks(released, course.source / scaffold.EXAMPLE_ASSIGNMENT) == []
    assert cli.main(["init", str(folder)]) == 1
    assert "already holds a course" in capsys.readouterr().err


def test_the_leak_check_refuses_a_spec_file_in_a_release(tmp_path):
    (tmp_path / "release").mkdir()
    shutil.copy(SPECS, tmp_path / "release" / "01_toy.specs.py")
    assert "a spec file; specs never go to students" in release.find_leaks(tmp_path / "release", tmp_path)[0]


def test_the_package_holds_no_course_content_and_derives_no_course_from_its_location():
    import autograder

    package = Path(autograder.__file__).parent
    assert not list(package.rglob(f"*{specs.SPEC_SUFFIX}")) and not (package / "specs").is_dir()
    for module in package.rglob("*.py"):
        for line in module.read_text().splitlines():
            if "__file__" in line:
                assert "parent.parent" not in line and "solutions" not in line, f"{module.name}: {line.strip()}"
