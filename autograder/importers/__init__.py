"""Import submissions from nbgrader's layout and the LMS exports, never losing or merging a student.

:func:`collect` reads a submissions folder or ``.zip`` (untrusted: :mod:`.safety`), recognises its
format (or uses the one given), places every file with a student, and returns an
:class:`ImportResult`: the submissions to grade, every problem (an unplaced, refused or unreadable
file, two submissions claiming one id, a submitter missing from the roster) and the students left
out. Formats, one module each: :mod:`.nbgrader`, :mod:`.canvas`, :mod:`.moodle`, :mod:`.gradescope`,
:mod:`.blackboard` and :mod:`.pattern` (the instructor's regular expression).

Detection, on the top-level names of the export (a single folder wrapping everything is looked
through): ``--pattern`` given -> pattern; ``submission_metadata.yml`` or ``submission_<id>/`` ->
Gradescope; ``..._assignsubmission_...`` -> Moodle; ``..._attempt_<date>...`` -> Blackboard;
``<name>_[LATE_]<userid>_<submissionid>_<file>`` -> Canvas; ``<student>/<assignment>/`` -> nbgrader.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from autograder import cells, lateness
from autograder.course import Course
from autograder.roster import Roster, RosterError
from autograder.importers import blackboard, canvas, core, gradescope, moodle, nbgrader, pattern
from autograder.importers.core import Context, Format, ImportResult, LeftOut, Options
from autograder.importers.problems import Problem, ProblemKind, SubmissionsError
from autograder.importers.safety import Limits, Tree, read_submissions

__all__ = ["collect", "collect_for_course", "Request", "Format", "ImportResult", "LeftOut", "Limits", "Options", "Problem", "ProblemKind",
           "SubmissionsError"]

FORMATS: dict[Format, ModuleType] = {
    Format.PATTERN: pattern,
    Format.GRADESCOPE: gradescope,
    Format.MOODLE: moodle,
    Format.BLACKBOARD: blackboard,
    Format.CANVAS: canvas,
    Format.NBGRADER: nbgrader,
}  # in the order detection tries them


def detect(tree: Tree, context: Context) -> Format | None:
    """The first format (in :data:`FORMATS` order) that recognises the tree, or None."""
    return next((fmt for fmt, module in FORMATS.items() if module.recognises(tree, context)), None)


def _unwrap(tree: Tree, context: Context, forced: Format | None) -> tuple[Tree, Format]:
    """Look through folders that wrap the whole export until a format recognises it."""
    while True:
        found = forced if forced and FORMATS[forced].recognises(tree, context) else (None if forced else
                                                                                       detect(tree, context))
        if found:
            return tree, found
        wrapper = tree.common_folder()
        if wrapper is None:
            break
        tree = tree.strip_prefix(wrapper)
    tops = sorted({path.parts[0] for path in tree.paths()})
    shown = ", ".join(tops[:6]) + (", ..." if len(tops) > 6 else "") or "nothing"
    expected = (f"a {forced.value} export" if forced else "a known layout: nbgrader's <student>/"
                f"{context.assignment}/, or a Canvas, Moodle, Gradescope or Blackboard export")
    raise SubmissionsError(f"The submissions are not {expected} (at the top: {shown}). Pass --format, or "
                           f"--pattern with a regular expression with a (?P<student>...) group.")


def collect(source: Path, assignment: str, expected: dict[str, set[str]], staging: Path, *,
            export_format: Format | None = None, pattern_text: str | None = None, options: Options = Options(),
            limits: Limits = Limits()) -> ImportResult:
    """Import every submission of ``assignment`` from ``source``.

    Args:
        source: the submissions folder or ``.zip`` (nbgrader's layout or an LMS export).
        assignment: the assignment's name.
        expected: notebook name -> grade ids of its cells, from the source notebooks.
        staging: an empty folder owned by the caller, who removes it; submissions are copied there and the
            returned submissions point into it.
        export_format: the format to read; None to detect it.
        pattern_text: the instructor's regular expression (implies :attr:`Format.PATTERN`).
        options: roster, due date and time zone.
        limits: size and count limits for untrusted input.

    Raises:
        SubmissionsError: nothing can be imported (no such folder, an unreadable archive, an unknown layout,
            a bad pattern). Problems with single files or students are returned, not raised.
    """
    if export_format is Format.PATTERN and not pattern_text:
        raise SubmissionsError("--format pattern needs --pattern with a regular expression.")
    try:
        compiled = pattern.compile_pattern(pattern_text) if pattern_text else None
    except ValueError as error:
        raise SubmissionsError(str(error)) from None
    context = Context(assignment, expected, compiled)
    tree = read_submissions(source, staging, limits)
    tree, found = _unwrap(tree, context, Format.PATTERN if compiled else export_format)
    placement = FORMATS[found].place(tree, context)
    try:
        return core.build(tree, placement, context, staging, options, found, source)
    except lateness.LatenessError as error:
        raise SubmissionsError(f"A roster extension cannot be applied: {error}") from None



@dataclass(frozen=True)
class Request:
    """What the instructor asked for on the command line.

    Attributes:
        export_format: the format to read (None: detect it).
        pattern: the instructor's regular expression (implies the pattern format).
        roster: a roster CSV (see :mod:`autograder.roster`).
        due: the due date (ISO 8601); default: the course's ``course.toml`` ``[due]`` of the assignment.
        limits: size and count limits for untrusted input.
    """

    export_format: Format | None = None
    pattern: str | None = None
    roster: Path | None = None
    due: str | None = None
    limits: Limits = Limits()


def expected_notebooks(course: Course, assignment: str) -> dict[str, set[str]]:
    """Each source notebook of ``assignment`` -> the grade ids of its cells."""
    import nbformat

    return {path.name: {identity for identity in map(cells.grade_id, nbformat.read(path, as_version=4).cells)
                        if identity} for path in course.assignment(assignment).notebooks()}


def collect_for_course(course: Course, assignment: str, source: Path, staging: Path,
                       request: Request = Request()) -> ImportResult:
    """:func:`collect` with the course's notebooks, time zone and due date, and the request's roster.

    Raises:
        SubmissionsError: nothing can be imported, or the roster, the due date or ``course.toml`` is unusable.
        CourseError: the assignment does not exist.
    """
    try:
        settings = lateness.read_settings(course.root)
        due = (lateness.parse_time(request.due, settings.zone) if request.due else settings.due.get(assignment))
        roster = Roster.read(request.roster) if request.roster else None
    except (lateness.LatenessError, RosterError) as error:
        raise SubmissionsError(str(error)) from None
    return collect(source, assignment, expected_notebooks(course, assignment), staging,
                   export_format=request.export_format, pattern_text=request.pattern,
                   options=Options(roster, due, settings.zone), limits=request.limits)
