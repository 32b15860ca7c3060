"""Time `course similarity` (``autograder.similarity.analyse``) on a synthetic class.

Builds N students' submissions of an assignment (default 1000 of a1) from the course's solution
notebooks:

- every student's answers are independent variants of the reference: identifiers renamed, and the
  code rewritten at random (operands swapped, ``a @ b`` written as ``np.dot(a, b)``, ``x += y``
  written out, extra intermediate statements), written answers made of random sentences;
- a few pairs are planted copies: the second student copies the first's notebook with renamed
  identifiers, rewritten comments and blank lines added;
- one student hands in the reference with renamed identifiers (planted reference copy).

Only ``analyse`` is timed (reading, fingerprinting, ranking); building the class is not. It prints
for N students the wall-clock time and, since the machine may be shared, the CPU time of the main
process and of the reading workers with the time this makes on C idle cores (main + workers / C,
an upper bound), then how many planted copies (pair and cell) the report found and how many other
pairs it flagged. Target: 1000 students of a1 in under 2 minutes on 2 cores.

The independent variants are cruder than real students: short functions have few ways to vary,
so some independent students end up with identical code, and a few such pairs are flagged.

Usage::

    .venv/bin/python bench/similarity.py [--students 1000] [--copies 10] [--assignment a1]
                                         [--workers W] [--cores C] [--html DIR]
"""
from __future__ import annotations

import argparse
import ast
import copy
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from autograder import cells  # noqa: E402
from autograder.similarity import REFERENCE, MatchKind, analyse  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("the gradient loss image feature weight class score step bias pixel model data test train "
         "because therefore smaller larger noise colour edge shape histogram margin so it is not a "
         "when we each more less than only all some").split()


class Variant(ast.NodeTransformer):
    """Rewrites a function at random into an equivalent-looking, independently written one."""

    def __init__(self, chooser: random.Random, rewrite: bool = True) -> None:
        self.chooser = chooser
        self.rewrite = rewrite  # False: only rename identifiers
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        if name in {"np", "self", "range", "len", "float", "int", "abs", "max", "min",
                                       "sum", "zip", "enumerate", "print", "True", "False", "None"}:
            return name
        return self.names.setdefault(name, f"{self.chooser.choice(WORDS)}_{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not self.rewrite:
            return node
        if isinstance(node.op, ast.MatMult) and self.chooser.random() < 0.5:
            return ast.Call(ast.Attribute(ast.Name("np"), "dot"), [node.left, node.right], [])
        if isinstance(node.op, (ast.Add, ast.Mult)) and self.chooser.random() < 0.5:
            node.left, node.right = node.right, node.left
        return node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        if self.rewrite and isinstance(node.target, ast.Name) and self.chooser.random() < 0.5:
            load = ast.Name(node.target.id, ast.Load())
            return ast.Assign([node.target], ast.BinOp(load, node.op, node.value), lineno=0)
        return node

    def _noise(self) -> ast.stmt:
        """A random extra statement (a check, an intermediate) built from the function's names."""
        known = sorted(set(self.names.values())) or ["x"]
        pick = self.chooser.choice
        value = f"{self.chooser.uniform(0.01, 99):.{self.chooser.randint(1, 4)}f}"
        shapes = [f"{pick(known)} = {pick(known)}",
                  f"assert {pick(known)} is not None, 'check {pick(WORDS)}'",
                  f"print({pick(known)}, {value})",
                  f"{self._name(pick(WORDS))} = np.{pick(['copy', 'shape', 'ndim', 'size'])}({pick(known)})",
                  f"{self._name(pick(WORDS))} = {pick(known)} {pick(['<', '>', '==', '!='])} {value}",
                  f"{self._name(pick(WORDS))} = [{pick(known)}, {value}, {pick(known)}]"]
        return ast.parse(pick(shapes)).body[0]

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        body = getattr(node, "body", None)
        if self.rewrite and not isinstance(node, ast.Module) and isinstance(body, list) and body \
                and isinstance(body[0], ast.stmt):
            mixed: list[ast.stmt] = []
            for statement in body:
                if self.chooser.random() < 0.4:
                    mixed.append(self._noise())
                mixed.append(statement)
            node.body = mixed
        return node


def variant(source: str, chooser: random.Random) -> str:
    """An independent-looking rewrite of a reference answer (the source itself if it won't parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    return ast.unparse(ast.fix_missing_locations(Variant(chooser).visit(tree)))


def disguised_copy(source: str, chooser: random.Random) -> str:
    """A copy of ``source`` with identifiers renamed, comments rewritten and lines spaced out."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "# my own work\n" + source
    lines = ast.unparse(Variant(chooser, rewrite=False).visit(tree)).splitlines()
    return "\n".join(f"{line}  # step {n}" if line.strip() and not line.rstrip().endswith(":")
                     and chooser.random() < 0.3 else line + ("\n" if chooser.random() < 0.2 else "")
                     for n, line in enumerate(lines))


def prose(chooser: random.Random) -> str:
    """A random written answer."""
    return " ".join(" ".join(chooser.choice(WORDS) for _ in range(chooser.randint(6, 14))) + "."
                    for _ in range(chooser.randint(2, 5)))


def build_class(target: Path, assignment: str, students: int, copies: int, seed: int = 0
                ) -> tuple[dict[str, Path], dict[str, dict[str, Path]], dict[str, Path],
                           set[tuple[str, str, str, str]], set[tuple[str, str, str]]]:
    """Write the class; return release, submissions, references, planted student copies
    (student_a, student_b, notebook, cell) and planted reference copies (student, notebook, cell)."""
    chooser = random.Random(seed)
    release = {path.name: path for path in sorted((ROOT / "assignments" / assignment).glob("*.ipynb"))}
    references = {name: ROOT / "solutions" / assignment / name for name in release}
    ids = [f"s{number:04d}" for number in range(students)]
    copiers = {ids[2 * k + 1]: ids[2 * k] for k in range(min(copies, students // 2 - 1))}
    reference_copier = ids[-1]
    submissions: dict[str, dict[str, Path]] = {student: {} for student in ids}
    planted: set[tuple[str, str, str, str]] = set()
    planted_reference: set[tuple[str, str, str]] = set()
    for name, path in release.items():
        solution = nbformat.read(references[name], as_version=4)
        model = {cells.grade_id(cell): (cell.cell_type == "markdown", cells.source(cell))
                 for cell in solution.cells if cells.is_answer(cell)}
        template = nbformat.read(path, as_version=4)
        written: dict[str, dict[str, str]] = {}
        for student in ids:
            answers: dict[str, str] = {}
            for grade_id, (is_text, text) in model.items():
                if student in copiers:
                    original = written[copiers[student]][grade_id]
                    answers[grade_id] = original if is_text else disguised_copy(original, chooser)
                    planted.add((copiers[student], student, name, grade_id))
                elif student == reference_copier:
                    answers[grade_id] = text if is_text else disguised_copy(text, chooser)
                    planted_reference.add((student, name, grade_id))
                else:
                    answers[grade_id] = prose(chooser) if is_text else variant(text, chooser)
            written[student] = answers
            notebook = copy.deepcopy(template)
            for cell in notebook.cells:
                if cells.grade_id(cell) in answers:
                    cell.source = answers[cells.grade_id(cell)]
            folder = target / student
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, folder / name)
            submissions[student][name] = folder / name
    return release, submissions, references, planted, planted_reference


def _cpu_seconds() -> tuple[float, float]:
    """CPU time of this process, and of its finished children (the reading workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> None:
    """Build the class, time ``analyse`` and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--copies", type=int, default=10, help="planted pairs of copied notebooks")
    parser.add_argument("--assignment", default="a1")
    parser.add_argument("--workers", type=int, help="reading processes (default: the CPUs available)")
    parser.add_argument("--cores", type=int, default=2, help="cores to estimate the time on an idle machine for")
    parser.add_argument("--html", type=Path, help="also write the HTML report into this folder")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        release, submissions, references, planted, planted_reference = build_class(
            Path(scratch), options.assignment, options.students, options.copies)
        print(f"built {options.students} students of {options.assignment} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        started, cpu = time.perf_counter(), _cpu_seconds()
        report = analyse(release, submissions, references, progress=sys.stderr.isatty(), workers=options.workers)
        elapsed, after = time.perf_counter() - started, _cpu_seconds()
        own, workers = after[0] - cpu[0], after[1] - cpu[1]
        if options.html:
            report.write_html(options.html)
    found = {(p.student_a, p.student_b, p.notebook, p.cell) for p in report.pairs if p.kind is MatchKind.STUDENT}
    found_reference = {(p.student_a, p.notebook, p.cell) for p in report.pairs
                       if p.kind is MatchKind.REFERENCE and p.student_b == REFERENCE}
    comparable = {(a, b, n, c) for a, b, n, c in planted if (n, c) in report.baselines}
    comparable_reference = {(s, n, c) for s, n, c in planted_reference if (n, c) in report.baselines}
    print(f"{options.students} students, {elapsed:.1f} s for analyse ({len(report.baselines)} cells compared, "
          f"{len(report.skipped)} skipped as too short)")
    print(f"CPU seconds: {own:.1f} in this process, {workers:.1f} in reading workers; on {options.cores} "
          f"free cores that is at most {own + workers / options.cores:.1f} s")
    print(f"planted copies found: {len(found & comparable)}/{len(comparable)} (pair, cell) "
          f"in compared cells; other student pairs flagged: {len(found - planted)}")
    print(f"planted reference copies found: {len(found_reference & comparable_reference)}/"
          f"{len(comparable_reference)}; other reference matches: {len(found_reference - planted_reference)}")
    print(f"problems: {len(report.problems)}")


if __name__ == "__main__":
    main()
