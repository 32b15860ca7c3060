"""``course demo``: an offline end-to-end run on the embedded dataset.

1. Generates (or loads from the cache) the embedded synthetic dataset and executes the smoke
   notebook shipped in ``autograder/notebooks/`` (dataset, preprocessing, gradient check, fast
   layers), writing it and an HTML copy into the output folder.
2. In a course root inside the output folder, makes a small class of synthetic submissions of the
   course's first assignment (or the one named)
   (a correct one, the untouched release, a partly correct one, one that raises, and one of a single
   notebook with a cell that loops forever), grades them in parallel in sandboxed kernels, writes
   the feedback and the CSV, and prints the score table with each student's first problem.
"""
from __future__ import annotations

import shutil
import time
from importlib import resources
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from tqdm.auto import tqdm

from autograder.course import Course, CourseError
from course_utils import data

DEMO_NOTEBOOK = "smoke.ipynb"
CELL_TIMEOUT_S = 300


def _execute(notebook: nbformat.NotebookNode, workdir: Path) -> None:
    """Execute ``notebook`` in place with a progress bar over its code cells."""
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    with tqdm(total=code_cells, desc="demo notebook", unit="cell") as bar:
        client = NotebookClient(
            notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
            resources={"metadata": {"path": str(workdir)}},
            on_cell_complete=lambda cell, cell_index: bar.update(1) if cell.cell_type == "code" else None)
        client.execute()


def run(course: Course, output: Path, students: list[str] | None = None, assignment: str | None = None) -> int:
    """Run the demo on ``course`` (its first assignment unless named), writing into ``output``.

    Returns:
        The exit status: 0 on success.
    """
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    print(f"Embedded dataset: loading or generating it in {data.default_data_dir()} ...")
    dataset = data.load_synthetic()
    print(f"  {dataset} in {time.perf_counter() - started:.1f} s")

    source = resources.files("autograder") / "notebooks" / DEMO_NOTEBOOK
    notebook = nbformat.reads(source.read_text(encoding="utf-8"), as_version=4)
    executed_path = output / DEMO_NOTEBOOK
    try:
        _execute(notebook, output)
    except CellExecutionError as error:
        nbformat.write(notebook, executed_path)
        print(f"The demo notebook failed; the partly executed notebook is in {executed_path}.\n{error}")
        return 1
    nbformat.write(notebook, executed_path)

    from nbconvert import HTMLExporter

    html, _ = HTMLExporter().from_notebook_node(notebook)
    html_path = executed_path.with_suffix(".html")
    html_path.write_text(html, encoding="utf-8")
    print(f"  executed notebook: {executed_path}\n  HTML to open in a browser: {html_path}")
    status = grade_class(course, output, students, assignment)
    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    return status


def _with_answers(notebook: nbformat.NotebookNode, release: nbformat.NotebookNode, keep) -> nbformat.NotebookNode:
    """The release notebook with the solution's answer cells copied in where ``keep(index)`` is true."""
    from autograder import cells

    answers = {cells.grade_id(c): c.source for c in notebook.cells if cells.is_answer(c)}
    student = nbformat.from_dict(release)
    number = 0
    for cell in student.cells:
        identity = cells.grade_id(cell)
        if identity in answers and cell.cell_type == "code":
            if keep(number, identity):
                cell.source = answers[identity]
            number += 1
    return student


DEMO_STUDENTS = ("ada_correct", "ben_untouched", "cy_partial", "dee_raises", "eve_loops")
# Put at the top of eve_loops's first answer cell: that cell waits out the cell timeout once, its
# function is never defined, and the cells that call it fail at once, pointing back to the timeout.
# (A loop inside the function would wait out the timeout again in every cell that calls it.)
NEVER_ENDS = "tries = 0\nwhile tries < 3:  # forgot to count the tries\n    pass\n"


def _inject(source: str, statement: str) -> str:
    """Insert ``statement`` as the first line of the body of the first function in ``source``."""
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if line.startswith("def ") and line.rstrip().endswith(":"):
            return "\n".join(lines[:number + 1] + ["    " + statement] + lines[number + 1:])
    return source + "\n" + statement


def make_class(course: Course, submitted: Path, assignment: str, only: list[str] | None = None) -> list[str]:
    """Write the demo's synthetic submissions of ``assignment`` (all, or ``only`` these); return the ids.

    ``eve_loops`` submits her first notebook only (correct answers, but its first answer cell never
    ends), so the class waits out one cell timeout, not one per cell that calls a looping function.
    """
    from autograder import cells

    students = {
        "ada_correct": lambda n, i: True,
        "ben_untouched": lambda n, i: False,
        "cy_partial": lambda n, i: n % 2 == 0,
        "dee_raises": lambda n, i: True,
        "eve_loops": lambda n, i: True,
    }
    students = {name: keep for name, keep in students.items() if not only or name in only}
    for student, keep in students.items():
        folder = submitted / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for number, source_path in enumerate(course.assignment(assignment).notebooks()):
            if student == "eve_loops" and number > 0:
                break
            source = nbformat.read(source_path, as_version=4)
            released = nbformat.read(course.release / assignment / source_path.name, as_version=4)
            notebook = _with_answers(source, released, keep)
            answer_cells = [c for c in notebook.cells if c.cell_type == "code" and cells.is_answer(c)]
            if student == "dee_raises" and answer_cells:  # the first function raises when called
                answer_cells[0].source = _inject(answer_cells[0].source, "raise RuntimeError('unfinished idea')")
            if student == "eve_loops" and answer_cells:
                answer_cells[0].source = NEVER_ENDS + answer_cells[0].source
            nbformat.write(notebook, folder / source_path.name)
    return list(students)


def grade_class(course: Course, output: Path, students: list[str] | None = None, assignment: str | None = None) -> int:
    """Grade the synthetic class in ``output/course_root``; print the table and where the files are."""
    from autograder import batch, feedback, reports

    root = (output / "course_root").resolve()
    if root.exists():
        shutil.rmtree(root)
    demo_course = course.with_work_folder(root)
    assignment = assignment or (course.assignments() or [""])[0]
    print(f"\nGrading a synthetic class of {assignment} submissions (sandboxed, in parallel) in {root} ...")
    try:
        make_class(demo_course, demo_course.submitted, assignment, only=students)
        results = batch.grade(demo_course, assignment, cell_timeout=30, notebook_timeout=300)
    except CourseError as error:
        print(f"The grading demo could not run: {error}")
        return 1
    except batch.GradingSetupError as error:
        print(f"The grading demo could not run: {error}")
        return 1
    print(batch.summary_table(results))
    pages = feedback.write(demo_course, assignment, demo_course.feedback, progress=True)
    csv_path = output / f"{assignment}_grades.csv"
    reports.export_csv(demo_course, assignment, csv_path)
    print(f"\n  gradebook (nbgrader formgrader): {demo_course.gradebook}\n  feedback: {len(pages)} pages under "
          f"{demo_course.feedback}\n  grades CSV: {csv_path}")
    return 0
