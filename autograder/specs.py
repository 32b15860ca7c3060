"""The vocabulary of grading specs: how each graded function is exercised, and how spec files load.

A course keeps its specs beside its notebooks, one file per notebook named after it
(``solutions/a1/02_linear_classifier.specs.py`` beside ``02_linear_classifier.ipynb``). A spec
file is plain Python that defines a module-level list ``SPECS`` of :class:`Spec` values (a graded
function compared with its reference) and :class:`AccuracySpec` values (a trained model's accuracy,
judged by the grader on held-out images). Specs hold
inputs and tolerances only, never expected outputs: those come from the reference solution at
grading time. The specs of one assignment share one namespace, so a function name may be graded
in two assignments.

A check has two halves so that the verdict can be reached outside the student's kernel:
``run`` calls a function (the student's or the reference) on one case and returns plain data
(numbers, arrays, and tuples, lists or dicts of them); ``judge`` (by default a comparison with
the spec's tolerances) compares the student's data with the reference's.
"""
from __future__ import annotations

import enum
import importlib.util
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

SPEC_SUFFIX = ".specs.py"
TEST_CELL_SUFFIX = "_tests"


class SpecError(ValueError):
    """A spec file cannot be loaded or is inconsistent; the message names the file and what to fix."""


class Credit(str, enum.Enum):
    """How a graded function's points are earned."""

    PER_CASE = "per case"  # the points are shared among the spec's cases; each passing case earns its share
    ALL_OR_NOTHING = "all or nothing"  # every case must pass


@dataclass(frozen=True)
class Case:
    """One call of a graded function: a label for messages, positional and keyword arguments."""

    label: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Spec:
    """How to check one graded function against its reference.

    Attributes:
        name: the function's name, as defined in the answer cell.
        cases: ``cases(rng) -> iterable of Case``; ``rng`` is seeded from the name.
        rtol, atol: an output entry passes when ``|got - ref| <= atol + rtol * |ref|``.
        outputs: names of the returned values, for messages (e.g. ``("loss", "dW")``).
        vectorised: the function must contain no Python loop (checked on its syntax tree).
        exact: compare exactly (integer outputs such as labels or bin indices).
        may_modify_inputs: the function is allowed to change its array arguments in place.
        run: ``run(fn, case) -> data`` calls ``fn`` on one case when a plain call
            ``fn(*case.args, **case.kwargs)`` is not enough, e.g. a backward pass that needs the
            forward pass of the same notebook first (fetch it with :func:`companion`), or a
            training loop whose behaviour is summarised. It must return plain data.
        judge: ``judge(got, expected, case)`` replaces the numeric comparison for functions
            judged by behaviour; it raises AssertionError with a message for the student.
        cell: the grade id of the graded test cell whose hidden test checks this function
            (default ``<name>_tests``).
        credit: how the cell's points are earned: shared among the cases (the default), or only
            when every case passes. A problem that concerns the whole function (a Python loop
            under the vectorisation rule, a tampered check) earns nothing either way.
        stand_ins: graded helpers this function calls, replaced at grading by the reference's
            behaviour (:mod:`autograder.stand_ins`) so that a mistake in a helper costs its points
            once, in its own cell: names of the function's globals (``"image_gradients"``) or
            attributes of a module held there (``"layers.affine_forward"``). Their loops do not
            count against this function under the vectorisation rule either.
    """

    name: str
    cases: Callable[[np.random.Generator], Iterable[Case]] | None = None
    rtol: float = 1e-6
    atol: float = 1e-8
    outputs: tuple[str, ...] = ()
    vectorised: bool = False
    exact: bool = False
    may_modify_inputs: bool = False
    run: Callable[[Callable, Case], Any] | None = None
    judge: Callable[[Any, Any, Case], None] | None = None
    cell: str = ""
    credit: Credit = Credit.PER_CASE
    stand_ins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.cell:
            object.__setattr__(self, "cell", f"{self.name}{TEST_CELL_SUFFIX}")
        object.__setattr__(self, "stand_ins", tuple(self.stand_ins))

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator seeded from the spec's name and ``salt``: the same inputs for the same pair.

        The grader picks the salt of a grading run, so the inputs are not known in advance.
        """
        return np.random.default_rng([zlib.crc32(self.name.encode()), salt])


@dataclass(frozen=True)
class AccuracySpec:
    """An accuracy target, judged by the grader on held-out images whose labels never enter the kernel.

    The notebook's graded cell calls ``check_accuracy(name, predict, images, labels, threshold)``.
    While a student works, that checks ``predict`` on the images and labels it is given; during
    grading, ``predict`` gets a fresh held-out set of the course's dataset made from a seed the
    kernel never sees, and the grader computes the accuracy and the verdict itself.

    Attributes:
        name: the name the notebook passes to ``check_accuracy``.
        thresholds: the minimum accuracy per dataset (``{"synthetic": 0.40, "cifar10": 0.35}``),
            for the quick training budget that grading uses; chosen over several seeds with a margin.
        images: how many held-out images the grader makes.
        cell: the grade id of the graded cell that calls ``check_accuracy`` (default ``<name>_accuracy``).
        built_from: graded functions of the same notebook that the model is built from, for a
            target whose pipeline is otherwise given code (features from the student's functions,
            a classifier the notebook provides). When one of them lost points in its own cell, a
            missed target is not charged again: one mistake costs its points once.
    """

    name: str
    thresholds: Mapping[str, float] = field(default_factory=dict)
    images: int = 1000
    cell: str = ""
    built_from: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.cell:
            object.__setattr__(self, "cell", f"{self.name}_accuracy")
        object.__setattr__(self, "built_from", tuple(self.built_from))
        if not self.thresholds:
            raise SpecError(f"The accuracy spec {self.name!r} needs thresholds={{dataset: minimum accuracy}}.")

    def threshold(self, dataset: str) -> float:
        """The minimum accuracy on ``dataset``.

        Raises:
            SpecError: the spec names no threshold for that dataset.
        """
        if dataset not in self.thresholds:
            raise SpecError(f"The accuracy spec {self.name!r} has no threshold for the dataset {dataset!r}; "
                            f"add it to thresholds= in the spec file.")
        return float(self.thresholds[dataset])


AnySpec = Spec | AccuracySpec


def companion(fn: Callable, name: str) -> Callable:
    """Return the function ``name`` defined beside ``fn`` (in the same notebook or module).

    Raises:
        AssertionError: there is no such function; the message tells the student what to define.
    """
    namespace: Mapping[str, Any] = getattr(fn, "__globals__", {})
    found = namespace.get(name)
    if not callable(found):
        raise AssertionError(f"{getattr(fn, '__name__', 'this function')} is checked together with {name}, "
                             f"which is not defined in the same notebook; run its cell first.")
    return found


@dataclass(frozen=True)
class SpecBook:
    """The specs of one assignment, by function name, and the file each came from."""

    specs: Mapping[str, AnySpec]
    files: Mapping[str, Path]

    def __contains__(self, name: object) -> bool:
        return name in self.specs

    def __getitem__(self, name: str) -> AnySpec:
        if name not in self.specs:
            raise SpecError(f"No spec for {name!r} in {', '.join(sorted({p.name for p in self.files.values()})) or 'this assignment (it has no spec file)'}; "
                            f"add one to the assignment's spec file.")
        return self.specs[name]

    def names(self) -> list[str]:
        """Names of every spec, sorted."""
        return sorted(self.specs)

    def for_cell(self, grade_id: str) -> list[AnySpec]:
        """The specs whose check runs in the graded cell ``grade_id``."""
        return [spec for spec in self.specs.values() if spec.cell == grade_id]

    def accuracy_specs(self) -> list[AccuracySpec]:
        """The accuracy targets of the assignment, sorted by name."""
        return [spec for _, spec in sorted(self.specs.items()) if isinstance(spec, AccuracySpec)]


def spec_files(folder: Path) -> list[Path]:
    """The spec files of an assignment folder (``*.specs.py``), sorted."""
    return sorted(path for path in folder.glob(f"*{SPEC_SUFFIX}") if path.is_file())


def _load_file(path: Path, namespace: str) -> list[AnySpec]:
    module_name = f"_course_specs_{namespace}_{path.name.removesuffix(SPEC_SUFFIX)}".replace("-", "_").replace(".", "_")
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"{path} cannot be loaded as Python.")
    module = importlib.util.module_from_spec(loader_spec)
    try:
        loader_spec.loader.exec_module(module)
    except SyntaxError as error:
        raise SpecError(f"{path}:{error.lineno}: {error.msg}; fix the spec file.") from error
    except SpecError:
        raise
    except Exception as error:  # the spec file is the instructor's Python; say where it failed, not a traceback
        raise SpecError(f"{path} failed to load: {type(error).__name__}: {error}; fix the spec file.") from error
    found = getattr(module, "SPECS", None)
    if not isinstance(found, (list, tuple)) or not all(isinstance(spec, (Spec, AccuracySpec)) for spec in found):
        raise SpecError(f"{path} must define SPECS, a list of autograder.specs.Spec and AccuracySpec values.")
    for spec in found:
        if isinstance(spec, Spec) and spec.cases is None:
            raise SpecError(f"{path}: the spec of {spec.name!r} needs cases=.")
    return list(found)


def load(files: Iterable[Path], namespace: str = "course") -> SpecBook:
    """Load spec files into one :class:`SpecBook`; a name specified twice is an error.

    Args:
        files: spec files (``*.specs.py``), typically those of one assignment.
        namespace: a label for the loaded modules (the assignment name).

    Raises:
        SpecError: a file does not load, lacks ``SPECS``, or two specs share a name.
    """
    specs: dict[str, AnySpec] = {}
    origin: dict[str, Path] = {}
    for path in files:
        for spec in _load_file(Path(path), namespace):
            if spec.name in specs:
                raise SpecError(f"{spec.name!r} is specified twice: in {origin[spec.name].name} and {Path(path).name}; "
                                f"keep one.")
            specs[spec.name], origin[spec.name] = spec, Path(path)
    return SpecBook(specs, origin)
