"""The student bundle of an assignment: ``dist/<assignment>-student.zip`` in the course folder.

``course release`` writes it after a successful release. It holds, under ``<assignment>-student/``:

* ``README.md``: one setup command, JupyterLab, ``course check``, ``course submit`` and the upload;
* the student wheel (:mod:`autograder.student_wheel`): ``course_utils`` and the student's ``course``
  command, nothing of grading;
* ``<assignment>/``: the release notebooks and the assignment's student manifest
  (:mod:`autograder.manifest`), which names cells and functions only.

Before anything is written every file (the wheel's included) is searched for leaks (:func:`find_leaks`):
a spec file; in a notebook, the README or the manifest, a region marker or any secret line (a line
of a solution region, hidden test or model answer of the solution notebooks, or of the assignment's
spec files, that no release notebook shows); in program code, a run of consecutive secret lines.
A bundle that would leak is not written.
"""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path
from typing import Iterator, Mapping

from autograder import cells, manifest, release, specs, student_wheel
from autograder.course import Assignment, Course, CourseError
from autograder.student.manifest import MANIFEST_NAME

DIST_FOLDER = "dist"
# Consecutive secret lines that make a copy in program code (single lines are common code there).
MIN_COPIED_RUN = 3
_NOT_EVIDENCE = ("import ", "from ", "#")
_DOCUMENTS = (".ipynb", ".md", ".json")

README = """# {assignment}: student bundle

This folder holds the notebooks of assignment {assignment} ({notebooks}) and the course's student
tools. Everything works offline: the notebooks use a built-in image dataset that is generated on
first use (a few seconds).

## Set up (once)

With Python 3.10 or later, in this folder, run the one setup command:

    python3 -m venv .venv && .venv/bin/python -m pip install {wheel}

(On Windows: `py -m venv .venv && .venv\\Scripts\\python -m pip install {wheel}`.) It makes a
virtual environment `.venv` with NumPy, Matplotlib, JupyterLab and the `course` command. Before
working, activate it in each new terminal: `source .venv/bin/activate` (Windows:
`.venv\\Scripts\\activate`).

## Work

    jupyter lab {assignment}

Write your code in the answer cells (they say `YOUR CODE HERE`) and run the visible tests below each
one. Do not delete, split or retype the locked test cells, and keep the notebooks' file names.

## Check

    course check {assignment}                      # every notebook; or one: course check {assignment}/{first}

This runs your notebooks in a fresh kernel as grading will. Visible tests `pass` or `FAIL` exactly
as at grading. A graded cell shows `pending` with "hidden: checked at grading": its hidden tests run
only at grading, so no points are counted here; it shows `FAIL` when its visible part fails or when a
function that must be vectorised contains a Python loop (grading gives it no points then). The exit
status is 0 only when every visible test passes.

## Submit

    course submit {assignment}

This checks the notebooks again, then writes `{assignment}-submission.zip` next to the
`{assignment}` folder, holding your notebooks under their right names and nothing else. Upload that
zip to the assignment on the course's LMS. If a notebook is damaged or misses cells, nothing is
written and the message says how to repair it.
"""


class BundleError(RuntimeError):
    """The bundle cannot be made or would leak; nothing was written. The message says why."""


def _public_text(notebook: Path) -> str:
    """What the release of a solution notebook shows: its cells without solution regions, hidden tests
    and model answers."""
    shown = []
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if not (cell["cell_type"] == "markdown" and cells.is_answer(cell)):
            shown.append(cells.released_text(cells.SOLUTION_REGION.sub("", cells.source(cell))))
    return "\n".join(shown)


def _spec_lines(path: Path) -> list[str]:
    """The lines of a spec file long enough to be evidence (imports and comments excepted)."""
    stripped = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in stripped if len(line) >= release.MIN_LEAK_LINE and not line.startswith(_NOT_EVIDENCE)]


def secrets(assignment: Assignment) -> dict[str, str]:
    """Every secret line of ``assignment`` and where it is from: lines of solution regions, hidden tests, model
    answers and spec files that no release notebook of the assignment shows."""
    public = "\n".join(_public_text(path) for path in assignment.notebooks())
    found = {line: f"a solution or hidden-test line of {path.name}"
             for path in assignment.notebooks() for line in release._secret_lines(path) if line not in public}
    for path in assignment.spec_files():
        for line in _spec_lines(path):
            if line not in public:
                found.setdefault(line, f"a line of the spec file {path.name}")
    return found


def _texts(members: Mapping[str, bytes]) -> Iterator[tuple[str, bytes]]:
    """Every file of the bundle, the members of the wheels inside it included."""
    for name, content in members.items():
        yield name, content
        if name.endswith(".whl"):
            with zipfile.ZipFile(io.BytesIO(content)) as wheel:
                for inner in wheel.namelist():
                    yield f"{name}!{inner}", wheel.read(inner)


def _copied_runs(text: str, secret_lines: Mapping[str, str]) -> list[str]:
    """Runs of at least :data:`MIN_COPIED_RUN` consecutive secret lines in program code."""
    found, run = [], []
    for line in [line.strip() for line in text.splitlines() if line.strip()] + [""]:
        if line in secret_lines:
            run.append(line)
            continue
        if len(run) >= MIN_COPIED_RUN:
            found.append(f"{len(run)} consecutive lines of {secret_lines[run[0]]}, from {run[0][:60]!r}")
        run = []
    return found


def find_leaks(members: Mapping[str, bytes], secret_lines: Mapping[str, str]) -> list[str]:
    """Describe every leak of a solution, hidden test or spec into the bundle's ``members`` (path -> bytes).

    Notebooks, the README and the manifest may show no secret line and no region marker. Program code
    (the student package) may show no run of :data:`MIN_COPIED_RUN` consecutive secret lines: a single
    line such as ``rng = np.random.default_rng(seed)`` is ordinary code there, a copied function is not.
    """
    problems = []
    for name, content in _texts(members):
        if name.endswith(specs.SPEC_SUFFIX):
            problems.append(f"{name}: a spec file; specs never go to students")
        text = content.decode("utf-8", errors="replace")
        if name.endswith(_DOCUMENTS):
            texts = ([cells.source(cell) for cell in json.loads(text).get("cells", [])]
                     if name.endswith(".ipynb") else [text])
            problems += [f"{name}: contains {marker!r}" for marker in release.LEAK_MARKERS
                         if any(marker in part for part in texts)]
            problems += [f"{name}: contains {origin}: {line[:60]!r}" for line, origin in secret_lines.items()
                         if any(line in part for part in texts)]
        else:
            problems += [f"{name}: contains {run}" for run in _copied_runs(text, secret_lines)]
    return problems


def members(course: Course, assignment: str) -> dict[str, bytes]:
    """The bundle's files (path in the zip -> bytes) for the released ``assignment``.

    Raises:
        BundleError: the assignment has no release yet, or its source cannot be read.
    """
    folder = course.release / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not notebooks:
        raise BundleError(f"{folder} holds no release notebooks; run `course release {assignment}` first.")
    try:
        rules = manifest.build(course.assignment(assignment))
    except CourseError as error:
        raise BundleError(f"The manifest of {assignment} cannot be made: {error}") from error
    try:
        wheel_name, wheel = student_wheel.build()
    except student_wheel.WheelError as error:
        raise BundleError(str(error)) from error
    top = f"{assignment}-student"
    readme = README.format(assignment=assignment, notebooks=", ".join(p.name for p in notebooks), wheel=wheel_name,
                           first=notebooks[0].name)
    found = {f"{top}/README.md": readme.encode(), f"{top}/{wheel_name}": wheel,
             f"{top}/{assignment}/{MANIFEST_NAME}": rules.to_json().encode()}
    found.update({f"{top}/{assignment}/{path.name}": path.read_bytes() for path in notebooks})
    return found


def bundle_path(course: Course, assignment: str) -> Path:
    """Where the bundle of ``assignment`` is written."""
    return course.root / DIST_FOLDER / f"{assignment}-student.zip"


def write(course: Course, assignment: str) -> Path:
    """Write the student bundle of the released ``assignment``; return its path.

    Raises:
        BundleError: there is no release, the source cannot be read, or the bundle would leak
            (nothing is written then).
    """
    files = members(course, assignment)
    leaks = find_leaks(files, secrets(course.assignment(assignment)))
    if leaks:
        raise BundleError(f"The student bundle of {assignment} would leak; nothing was written:\n  "
                          + "\n  ".join(leaks))
    target = bundle_path(course, assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    now = time.localtime()[:6]
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            member = zipfile.ZipInfo(name, date_time=now)
            member.external_attr = 0o644 << 16  # rw-r--r--
            archive.writestr(member, content, compress_type=zipfile.ZIP_DEFLATED)
    partial.replace(target)
    return target
