"""``course release``: validate an assignment, generate the student notebooks, prove they leak nothing.

Before anything is written, the assignment is validated (:func:`validate`): every hidden check names
a function with a spec and a reference, every spec is used, every graded cell has points. The release
is then made by nbgrader's ``generate_assignment`` into a scratch folder (spec files excluded),
normalised (outputs cleared, cell ids kept), checked for leaks and only then copied to the course's
release folder. With ``check=True`` nothing is written: the fresh release is compared with the
committed one instead.
"""
from __future__ import annotations

import filecmp
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder import cells, specs, stand_ins
from autograder.course import Assignment, Course, CourseError

# A hidden test's import line names check_against_reference too; check_accuracy is visible on purpose.
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                "check_against_reference")
# Lines shorter than this (``return x``, ``pass``) are too common to be evidence of a leak.
MIN_LEAK_LINE = 16
# nbgrader's default ignore list, plus the spec files that must never reach students.
RELEASE_IGNORE = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", f"*{specs.SPEC_SUFFIX}")


class ReleaseError(RuntimeError):
    """The release cannot be made, leaks, or differs from the committed one; the message says why."""


def _problem(notebook: str, cell: str | None, message: str) -> str:
    return f"{notebook}:{cell or '(no grade id)'}: {message}"


def _load_specs(assignment: Assignment) -> tuple[specs.SpecBook | None, list[str]]:
    try:
        return assignment.specs, []
    except specs.SpecError as error:
        return None, [f"{assignment.name}: {error}"]


def _references(assignment: Assignment) -> tuple[dict[str, Path], list[str]]:
    try:
        return assignment.reference_index, []
    except CourseError as error:
        return {}, [f"{assignment.name}: {error}"]


def validate(assignment: Assignment) -> list[str]:
    """Every problem of the assignment's source, as ``notebook:cell: what to fix``; empty when it is sound."""
    book, problems = _load_specs(assignment)
    references, reference_problems = _references(assignment)
    problems += reference_problems
    used: set[str] = set()
    seen_ids: dict[str, str] = {}
    for path in assignment.notebooks():
        notebook = path.name
        try:
            source = nbformat.read(path, as_version=4)
        except (OSError, ValueError, nbformat.ValidationError) as error:
            problems.append(_problem(notebook, None, f"cannot be read ({error})"))
            continue
        for cell in source.cells:
            identity = cells.grade_id(cell)
            if identity and identity in seen_ids:
                problems.append(_problem(notebook, identity, f"this grade id is also used in {seen_ids[identity]}; "
                                                             f"grade ids must be unique within an assignment"))
            if identity:
                seen_ids[identity] = notebook
            if cells.is_graded(cell) and cells.points(cell) <= 0:
                problems.append(_problem(notebook, identity, "a graded cell without points; give it points in "
                                                             "nbgrader's cell toolbar or make it ungraded"))
            if cell.cell_type != "code":
                continue
            names = cells.hidden_checks(cell.source)
            accuracy_names = cells.accuracy_checks(cell.source)
            if (names or accuracy_names) and cells.kind(cell) is not cells.CellKind.TEST:
                problems.append(_problem(notebook, identity, "a check outside a graded test cell earns nothing; "
                                                             "move it into a graded test cell"))
            for name, kind, call in ([(n, specs.Spec, "check_against_reference") for n in names]
                                     + [(n, specs.AccuracySpec, "check_accuracy") for n in accuracy_names]):
                used.add(name)
                if book is not None and not isinstance(book.specs.get(name), kind):
                    problems.append(_problem(notebook, identity, f"{call}({name!r}, ...) has no {kind.__name__}; add "
                                                                 f"{kind.__name__}({name!r}, ...) to "
                                                                 f"{path.stem}{specs.SPEC_SUFFIX}"))
                elif book is not None and book[name].cell != identity:
                    problems.append(_problem(notebook, identity, f"the spec of {name!r} names the cell "
                                                                 f"{book[name].cell!r}; set cell={identity!r} in it"))
                if kind is specs.Spec and name not in references:
                    problems.append(_problem(notebook, identity, f"no answer cell of {assignment.name} defines "
                                                                 f"{name!r}, so there is no reference to check against"))
    problems += _stand_in_problems(assignment, book, references)
    for name in (book.names() if book is not None else []):
        if name not in used:
            call = (f"check_accuracy({name!r}, predict, images, labels, threshold)"
                    if isinstance(book[name], specs.AccuracySpec) else f"check_against_reference({name!r}, {name})")
            problems.append(_problem(book.files[name].name, book[name].cell,
                                     f"the spec of {name!r} is never used: add `{call}` to cell "
                                     f"{book[name].cell!r}, or remove the spec"))
    return problems


def _stand_in_problems(assignment: Assignment, book: specs.SpecBook | None, references: dict[str, Path]) -> list[str]:
    """Stand-ins the reference cannot replay, and built-from names that are not graded functions."""
    problems = []
    for name in (book.names() if book is not None else []):
        spec = book[name]
        where = (book.files[name].name, spec.cell)
        if isinstance(spec, specs.AccuracySpec):
            problems += [_problem(*where, f"built_from names {part!r}, which is not a graded function of "
                                          f"{assignment.name}; use the names of its specs") for part in spec.built_from
                         if not isinstance(book.specs.get(part), specs.Spec)]
        elif spec.stand_ins and name in references:
            try:
                stand_ins.dumps(stand_ins.record_calls(spec, assignment.reference(name), salt=0))
            except specs.SpecError as error:
                problems.append(_problem(*where, f"{error} Name functions the reference calls, with plain data in "
                                                 f"and out."))
    return problems


def _normalise(notebook_path: Path) -> None:
    """Clear outputs and execution counts and write in nbformat's canonical layout."""
    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, notebook_path)


def generate(course: Course, assignment: str, target: Path) -> Path:
    """Generate the release of ``assignment`` into ``target/<assignment>`` and return that folder."""
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        result = course.nbgrader("generate_assignment", assignment, "--force",
                                 f"--CourseDirectory.release_directory={target}",
                                 f"--CourseDirectory.ignore={list(RELEASE_IGNORE)!r}", "--log-level=WARN",
                                 gradebook_url=f"sqlite:///{Path(scratch) / 'gradebook.db'}")
    if result.returncode != 0:
        raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n{result.stdout}{result.stderr}")
    folder = target / assignment
    for notebook in sorted(folder.glob("*.ipynb")):
        _normalise(notebook)
    return folder


def _secret_lines(source_notebook: Path) -> set[str]:
    """Lines of solution regions, hidden tests and model answers that appear nowhere else in the source."""
    secret, public = set(), []
    for cell in json.loads(source_notebook.read_text(encoding="utf-8"))["cells"]:
        text = cells.source(cell)
        if cell["cell_type"] == "markdown" and cells.is_answer(cell):
            secret |= {line.strip() for line in text.splitlines()}
            continue
        for region in cells.SOLUTION_REGION.findall(text) + cells.HIDDEN_REGION.findall(text):
            secret |= {line.strip() for line in region.splitlines()}
        public.append(cells.released_text(cells.SOLUTION_REGION.sub("", text)))
    # A line that the public part of the source also shows (say, a formula in a docstring) is no secret.
    shown = "\n".join(public)
    return {line for line in secret if len(line) >= MIN_LEAK_LINE and line not in shown}


def find_leaks(release_folder: Path, source_folder: Path) -> list[str]:
    """Return a description of every leak of solutions, hidden tests or specs into ``release_folder``."""
    problems = [f"{path.relative_to(release_folder)}: a spec file; specs never go to students"
                for path in sorted(release_folder.rglob(f"*{specs.SPEC_SUFFIX}"))]
    for notebook in sorted(release_folder.glob("*.ipynb")):
        source = source_folder / notebook.name
        secrets = _secret_lines(source) if source.exists() else set()
        for number, cell in enumerate(json.loads(notebook.read_text(encoding="utf-8"))["cells"], start=1):
            text = cells.source(cell)
            where = f"{notebook.name} cell {number}"
            problems += [f"{where}: contains {marker!r}" for marker in LEAK_MARKERS if marker in text]
            problems += [f"{where}: contains a line of a solution or hidden test: {line[:60]!r}"
                         for line in secrets if line in text]
            if cell["cell_type"] == "code" and cell.get("outputs"):
                problems.append(f"{where}: has outputs; releases are committed without outputs")
    return problems


def _differences(fresh: Path, committed: Path) -> list[str]:
    if not committed.is_dir():
        return [f"{committed} does not exist"]
    comparison = filecmp.dircmp(fresh, committed)
    found = [f"missing from {committed}: {name}" for name in comparison.left_only]
    found += [f"not generated from the source but present in {committed}: {name}" for name in comparison.right_only
              if not name.startswith(".")]
    found += [f"differs from a fresh generation: {committed / name}"
              for name in comparison.common_files
              if json.loads((fresh / name).read_text()) != json.loads((committed / name).read_text())]
    return found


def _shown(course: Course, path: Path) -> str:
    try:
        return str(path.relative_to(course.root))
    except ValueError:
        return str(path)


def release(course: Course, assignment: str, check: bool = False) -> list[str]:
    """Validate and release ``assignment`` into the course's release folder (or, with ``check``, compare),
    then write its student bundle (:mod:`autograder.bundle`; not with ``check``).

    Returns:
        Lines describing what was done or checked.

    Raises:
        ReleaseError: the assignment does not validate, nbgrader failed, the release leaks, or
            (``check``) it differs from the committed one. Nothing is written in any of these cases.
    """
    try:
        source = course.assignment(assignment)
    except CourseError as error:
        raise ReleaseError(str(error)) from error
    problems = validate(source)
    if problems:
        raise ReleaseError(f"{assignment} is not ready to release ({len(problems)} problems); nothing was written:\n  "
                           + "\n  ".join(problems))
    committed = course.release / assignment
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        fresh = generate(course, assignment, Path(scratch))
        leaks = find_leaks(fresh, source.source_dir)
        if leaks:
            raise ReleaseError(f"The release of {assignment} would leak; nothing was written:\n  " + "\n  ".join(leaks))
        if check:
            differences = _differences(fresh, committed)
            if differences:
                raise ReleaseError(f"{_shown(course, committed)} is not what {_shown(course, source.source_dir)} "
                                   f"generates; run `course release {assignment}` and commit the result:\n  "
                                   + "\n  ".join(differences))
            return [f"{_shown(course, committed)} is up to date with {_shown(course, source.source_dir)} "
                    f"and leaks nothing"]
        if committed.exists():
            shutil.rmtree(committed)
        shutil.copytree(fresh, committed)
    names = ", ".join(p.name for p in sorted(committed.glob("*.ipynb")))
    from autograder import bundle  # here, not at the top: the bundle reuses this module's leak rules

    try:
        written = bundle.write(course, assignment)
    except bundle.BundleError as error:
        raise ReleaseError(f"released {assignment} into {_shown(course, committed)}, but its student bundle was not "
                           f"written: {error}") from error
    return [f"released {assignment} into {_shown(course, committed)}: {names}",
            f"wrote the student bundle {_shown(course, written)} (notebooks, README, student install)"]
