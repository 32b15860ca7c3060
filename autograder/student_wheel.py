"""The students' installable package: a wheel built from a subset of this one, in memory.

The wheel ``course_cv_student-<version>-py3-none-any.whl`` holds

* ``course_utils`` (the student library, whole),
* ``autograder.student`` (``course check`` and ``course submit``) and the modules it and the
  notebooks import: :mod:`autograder.cells` (the vocabulary of cell marks) and the check API the
  notebooks call, :mod:`autograder.checks` with :mod:`autograder.record`, :mod:`autograder.specs`
  and :mod:`autograder.stand_ins` (code only: no course's specs, and nothing that loads a reference
  or judges a record), and
  :mod:`autograder.scratch` for the temporary folders of `course check`;
* a ``course`` command running :func:`autograder.student.cli.main`;
* JupyterLab settings overrides installed into the environment, so that the student's JupyterLab
  does not ask about Jupyter news or check for updates.

It depends on what a student needs: NumPy, Matplotlib, JupyterLab, nbformat, nbclient and
ipykernel (and tqdm for the optional CIFAR-10 download), never nbgrader. It is written directly
(a wheel is a zip with a ``.dist-info`` folder), so no build tool is needed.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from pathlib import Path

import autograder
import course_utils

DISTRIBUTION = "course-cv-student"
SUMMARY = "Student tools of the computer-vision course: the notebooks' library, course check and course submit"
REQUIREMENTS = ("numpy>=1.24", "matplotlib>=3.7", "jupyterlab>=4", "nbformat>=5.7", "nbclient>=0.7",
                "ipykernel>=6", "tqdm>=4.60")
PYTHON = ">=3.10"
ENTRY_POINT = "course = autograder.student.cli:main"
# autograder modules students get, besides the autograder.student package.
AUTOGRADER_MODULES = ("__init__.py", "cells.py", "checks.py", "record.py", "scratch.py", "specs.py", "stand_ins.py")
STUDENT_PACKAGE = "student"
JUPYTERLAB_OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false",
                                                                        "checkForUpdates": False}}
OVERRIDES_PATH = "share/jupyter/lab/settings/overrides.json"


class WheelError(RuntimeError):
    """A file the student package needs is missing from this installation; the message says what to do."""


def _python_files(package: Path, prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{path.relative_to(package).as_posix()}": path.read_bytes()
            for path in sorted(package.rglob("*.py")) if "__pycache__" not in path.parts}


def package_files() -> dict[str, bytes]:
    """The Python files of the student package, by their path in the wheel.

    Raises:
        WheelError: a module is missing from this installation of the course package.
    """
    library = Path(course_utils.__file__).parent
    tool = Path(autograder.__file__).parent
    files = _python_files(library, "course_utils")
    files.update(_python_files(tool / STUDENT_PACKAGE, f"autograder/{STUDENT_PACKAGE}"))
    for module in AUTOGRADER_MODULES:
        path = tool / module
        if not path.is_file():
            raise WheelError(f"{path} is missing; reinstall the course package (course-cv) before releasing.")
        files[f"autograder/{module}"] = path.read_bytes()
    return files


def file_name(version: str = course_utils.__version__) -> str:
    """The wheel's file name."""
    return f"{DISTRIBUTION.replace('-', '_')}-{version}-py3-none-any.whl"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _metadata(version: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}", f"Summary: {SUMMARY}",
             f"Requires-Python: {PYTHON}", *(f"Requires-Dist: {requirement}" for requirement in REQUIREMENTS)]
    return "\n".join(lines) + "\n"


def build(version: str = course_utils.__version__) -> tuple[str, bytes]:
    """Build the student wheel; returns its file name and its bytes."""
    stem = f"{DISTRIBUTION.replace('-', '_')}-{version}"
    info, data = f"{stem}.dist-info", f"{stem}.data/data"
    files = package_files()
    files[f"{data}/{OVERRIDES_PATH}"] = (json.dumps(JUPYTERLAB_OVERRIDES, indent=2) + "\n").encode()
    files[f"{info}/METADATA"] = _metadata(version).encode()
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: {__name__}\nRoot-Is-Purelib: true\n"
                              f"Tag: py3-none-any\n").encode()
    files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{ENTRY_POINT}\n".encode()
    files[f"{info}/top_level.txt"] = b"autograder\ncourse_utils\n"
    record = "".join(f"{name},{_record_hash(content)},{len(content)}\n" for name, content in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, content in files.items():
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.external_attr = 0o644 << 16  # rw-r--r--
            wheel.writestr(member, content, compress_type=zipfile.ZIP_DEFLATED)
    return file_name(version), buffer.getvalue()
