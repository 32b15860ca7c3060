"""The course the ``course`` command works on: one folder, resolved once and passed down.

A course is any folder holding an ``nbgrader_config.py``: its nbgrader *source* folder (the
solution notebooks and, beside each, its spec file ``<notebook>.specs.py``), its *release* folder
(the student notebooks), and the working folders of grading (submitted, autograded, feedback) with
the gradebook, all as nbgrader's ``CourseDirectory`` configuration names them.

The command line finds it once (:meth:`Course.locate`): ``--course DIR``, else the environment
variable ``COURSE_DIR``, else the nearest folder upward from the working directory that holds
``nbgrader_config.py``, as git finds its repository. Nothing in the package derives a course from
its own location, and nothing writes ``os.environ``.
"""
from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Callable, Mapping

from autograder import cells, specs

CONFIG_FILE = "nbgrader_config.py"
COURSE_ENV = "COURSE_DIR"


class CourseError(RuntimeError):
    """The course cannot be found or is not usable as it is; the message says what to do."""


class NotACourse(CourseError):
    """No course folder was given or found."""


def _config_values(config_file: Path) -> Mapping[str, Any]:
    """The ``CourseDirectory`` settings of an nbgrader configuration file, as plain values."""
    from traitlets.config.loader import ConfigFileNotFound, PyFileConfigLoader

    try:
        config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    except ConfigFileNotFound as error:
        raise CourseError(f"{config_file} cannot be read ({error}).") from error
    except Exception as error:  # the configuration is the instructor's Python; report any failure plainly
        raise CourseError(f"{config_file} failed to load: {type(error).__name__}: {error}; fix it so that "
                          f"`nbgrader` can read it too.") from error
    return {key: value for key, value in config.get("CourseDirectory", {}).items()}


def _under(root: Path, value: Any, default: str) -> Path:
    path = Path(str(value)) if value else Path(default)
    return (path if path.is_absolute() else root / path).resolve()


@dataclass(frozen=True)
class Course:
    """One course folder and the folders nbgrader's configuration gives it.

    Attributes:
        root: the folder holding ``nbgrader_config.py``.
        source: nbgrader's source folder (solution notebooks and spec files).
        release: nbgrader's release folder (the student notebooks).
        submitted, autograded, feedback: the working folders of grading.
        gradebook_url: the gradebook's database URL (``sqlite:///...``).
    """

    root: Path
    source: Path
    release: Path
    submitted: Path
    autograded: Path
    feedback: Path
    gradebook_url: str

    @classmethod
    def at(cls, folder: Path | str) -> "Course":
        """The course whose ``nbgrader_config.py`` is in ``folder``.

        Raises:
            NotACourse: the folder holds no ``nbgrader_config.py``.
            CourseError: the configuration does not load.
        """
        root = Path(folder).expanduser().resolve()
        config_file = root / CONFIG_FILE
        if not config_file.is_file():
            raise NotACourse(f"{root} is not a course folder (it has no {CONFIG_FILE}); make one with "
                             f"`course init {folder}` or pass the folder that holds it.")
        values = _config_values(config_file)
        if values.get("root"):
            configured = Path(str(values["root"])).expanduser().resolve()
            if configured != root:
                raise CourseError(f"{config_file} sets CourseDirectory.root to {configured}, not its own folder "
                                  f"{root}; remove that line (the course root is the folder of {CONFIG_FILE}).")
        url = str(values.get("db_url") or f"sqlite:///{root / 'gradebook.db'}")
        return cls(root=root,
                   source=_under(root, values.get("source_directory"), "source"),
                   release=_under(root, values.get("release_directory"), "release"),
                   submitted=_under(root, values.get("submitted_directory"), "submitted"),
                   autograded=_under(root, values.get("autograded_directory"), "autograded"),
                   feedback=_under(root, values.get("feedback_directory"), "feedback"),
                   gradebook_url=url)

    @classmethod
    def locate(cls, explicit: Path | str | None = None, *, environ: Mapping[str, str] | None = None,
               cwd: Path | None = None) -> "Course":
        """Find the course: ``explicit``, else ``$COURSE_DIR``, else the nearest folder upward with a config.

        Raises:
            NotACourse: none of them names a course folder; the message says what to do.
        """
        environ = os.environ if environ is None else environ
        if explicit:
            return cls.at(explicit)
        if environ.get(COURSE_ENV):
            return cls.at(environ[COURSE_ENV])
        start = (cwd or Path.cwd()).resolve()
        for folder in (start, *start.parents):
            if (folder / CONFIG_FILE).is_file():
                return cls.at(folder)
        raise NotACourse(f"No course here: neither {start} nor a folder above it holds {CONFIG_FILE}. Run the "
                         f"command inside a course folder, pass --course DIR, set {COURSE_ENV}, or make one with "
                         f"`course init DIR`.")

    def with_work_folder(self, folder: Path) -> "Course":
        """This course with its working folders and gradebook in ``folder`` (a demo's or a test's own)."""
        folder = Path(folder).resolve()
        return replace(self, submitted=folder / "submitted", autograded=folder / "autograded",
                       feedback=folder / "feedback", gradebook_url=f"sqlite:///{folder / 'gradebook.db'}")

    @property
    def gradebook(self) -> Path | None:
        """The gradebook's file when it is SQLite (nbgrader's default), else None."""
        prefix = "sqlite:///"
        return Path(self.gradebook_url[len(prefix):]) if self.gradebook_url.startswith(prefix) else None

    def assignments(self) -> list[str]:
        """Names of the assignments: folders of the source folder that hold notebooks."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def assignment(self, name: str) -> "Assignment":
        """The assignment called ``name``.

        Raises:
            CourseError: there is no such assignment; the message lists those there are.
        """
        known = self.assignments()
        if name not in known:
            raise CourseError(f"Unknown assignment {name!r}; {self.source} holds "
                              f"{', '.join(known) or 'no assignment yet (a folder of notebooks)'}.")
        return Assignment(name, self.source / name, self.release / name)

    def nbgrader(self, *arguments: str, gradebook_url: str | None = None) -> subprocess.CompletedProcess:
        """Run ``nbgrader ARGUMENTS`` on this course (in its folder); returns the finished process.

        Args:
            arguments: the nbgrader subcommand and its options.
            gradebook_url: use this gradebook instead of the course's (e.g. a scratch one).
        """
        command, environment = self._nbgrader_command(arguments, gradebook_url)
        return subprocess.run(command, cwd=self.root, env=environment, capture_output=True, text=True)

    def start_nbgrader(self, *arguments: str, output: IO[bytes],
                       gradebook_url: str | None = None) -> subprocess.Popen:
        """Start ``nbgrader ARGUMENTS`` on this course and return at once; its output goes to ``output``."""
        command, environment = self._nbgrader_command(arguments, gradebook_url)
        return subprocess.Popen(command, cwd=self.root, env=environment, stdin=subprocess.DEVNULL,
                                stdout=output, stderr=subprocess.STDOUT)

    @staticmethod
    def _nbgrader_command(arguments: tuple[str, ...], gradebook_url: str | None) -> tuple[list[str], dict[str, str]]:
        command = [sys.executable, "-m", "nbgrader", *arguments]
        if gradebook_url:
            command.append(f"--CourseDirectory.db_url={gradebook_url}")
        environment = dict(os.environ)
        # nbgrader starts `alembic` from PATH when it creates a gradebook.
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
        return command, environment


@dataclass(frozen=True)
class Assignment:
    """One assignment: a folder of solution notebooks with their spec files, and its release folder."""

    name: str
    source_dir: Path
    release_dir: Path | None = None
    _references: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_folder(cls, folder: Path | str) -> "Assignment":
        """The assignment whose source notebooks and spec files are in ``folder`` (no course needed)."""
        folder = Path(folder).resolve()
        return cls(folder.name, folder)

    def notebooks(self) -> list[Path]:
        """The solution notebooks, sorted."""
        return sorted(p for p in self.source_dir.glob("*.ipynb") if not p.name.startswith("."))

    def spec_files(self) -> list[Path]:
        """The spec files beside the notebooks (``<notebook>.specs.py``)."""
        return specs.spec_files(self.source_dir)

    @functools.cached_property
    def specs(self) -> specs.SpecBook:
        """The specs of every graded function of the assignment, by name."""
        return specs.load(self.spec_files(), namespace=self.name)

    def spec(self, name: str) -> specs.Spec:
        """The spec of the graded function ``name``; raises SpecError when there is none."""
        return self.specs[name]

    @functools.cached_property
    def reference_index(self) -> dict[str, Path]:
        """Every name defined in an answer cell of a solution notebook, and that notebook.

        Raises:
            CourseError: two answer cells define the same name.
        """
        found: dict[str, Path] = {}
        for notebook in self.notebooks():
            for name in answer_definitions(notebook):
                if name in found and found[name] != notebook:
                    raise CourseError(f"{name} is defined in answer cells of both {found[name].name} and "
                                      f"{notebook.name} of {self.name}; rename one so references are found by name.")
                found[name] = notebook
        return found

    def reference(self, name: str) -> Callable:
        """The reference implementation called ``name``, loaded from its solution notebook.

        Raises:
            CourseError: no answer cell of this assignment defines ``name``.
        """
        notebook = self.reference_index.get(name)
        if notebook is None:
            raise CourseError(f"No answer cell of {self.name} ({self.source_dir}) defines {name!r}.")
        if notebook not in self._references:
            from course_utils.notebook_loader import load_notebook

            self._references[notebook] = load_notebook(notebook)
        return getattr(self._references[notebook], name)


def answer_definitions(notebook: Path) -> list[str]:
    """Names of the functions and classes defined at the top of the answer cells of ``notebook``."""
    import json

    names = []
    for cell in json.loads(notebook.read_text(encoding="utf-8")).get("cells", []):
        if cell.get("cell_type") != "code" or not cells.is_answer(cell):
            continue
        lines = [line for line in cells.source(cell).splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError as error:
            raise CourseError(f"{notebook.name}:{cells.grade_id(cell)}: the answer cell is not valid Python "
                              f"(line {error.lineno}: {error.msg}).") from error
        names += [node.name for node in tree.body
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return names
