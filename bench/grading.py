"""Time `course grade` against plain sequential `nbgrader autograde` on the same class, in one run.

Builds N synthetic submissions of an assignment (default 50 of a1: correct, partly correct and
untouched ones in turn, as `course demo` makes them; with --all-correct every one correct), then
grades them in separate course roots and prints the wall-clock times and ratios:

1. `nbgrader autograde` (sequential, no sandbox): the baseline;
2. `course grade --jobs J` (parallel, sandboxed, the local process pool);
3. `course grade --scheduler ADDRESS` (sandboxed, on Dask distributed; only with --scheduler, e.g.
   local:2 for a LocalCluster of two workers here), beside the pool;
4. `course grade --jobs J --unsafe` (parallel, no sandbox), to measure what the sandbox costs.

It also prints the per-notebook overhead of `course grade` beyond kernel execution (total worker
time minus the time the notebooks spent executing, per notebook).

Goals (issues #6, #7 and #15): `course grade --jobs 2` >= 1.8x faster than nbgrader on 2 cores (>= 1.9x
on an all-correct class, with at most 0.5 s of overhead per notebook beyond execution); the sandbox
costs <= 20% of throughput; Dask with `local:2` close to the pool on the same class.

Usage::

    .venv/bin/python bench/grading.py [--students 50] [--jobs 2] [--assignment a1] [--skip-nbgrader]
                                      [--all-correct] [--scheduler local:2]

Run it inside the course folder (this repository) or pass --course DIR.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from autograder import batch, demo, executors, gradebook  # noqa: E402
from autograder.course import Course  # noqa: E402

MIXED = ("ada_correct", "cy_partial", "ben_untouched")
ALL_CORRECT = ("ada_correct",)


def make_submissions(course: Course, target: Path, assignment: str, count: int,
                     styles: tuple[str, ...] = MIXED) -> None:
    """Write ``count`` students into ``target`` by copying the demo's ``styles`` round-robin."""
    with tempfile.TemporaryDirectory() as scratch:
        demo.make_class(course, Path(scratch), assignment)
        for number in range(count):
            style = styles[number % len(styles)]
            shutil.copytree(Path(scratch) / style / assignment, target / f"s{number:03d}_{style}" / assignment)


def time_nbgrader(course: Course, root: Path, assignment: str) -> float:
    """Sequential nbgrader autograde; registering the assignment first is not timed (ours is)."""
    gradebook.register_assignment(course.with_work_folder(root), assignment)
    env = dict(os.environ, COURSE_ROOT=str(root), COURSE_DIR=str(course.root), COURSE_QUICK="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--force",
                             f"--CourseDirectory.submitted_directory={root / 'submitted'}",
                             f"--CourseDirectory.autograded_directory={root / 'autograded'}",
                             f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}",
                             "--log-level=ERROR"], cwd=course.root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-2000:])
        raise SystemExit("nbgrader autograde failed")
    return elapsed


def worker_count(scheduler: str | None, jobs: int) -> int:
    """The worker processes (single-threaded) that grade: the pool's jobs, N of local:N, or the cluster's threads."""
    if scheduler is None:
        return jobs
    if scheduler.startswith(executors.LOCAL_PREFIX):
        return int(scheduler.removeprefix(executors.LOCAL_PREFIX))
    from distributed import Client

    with Client(scheduler) as client:
        return sum(client.nthreads().values())


def time_course(course: Course, root: Path, submitted: Path, assignment: str, jobs: int,
                unsafe: bool, scheduler: str | None = None) -> tuple[float, float, int]:
    """Wall-clock seconds of `course grade`, seconds its notebooks spent executing, and how many notebooks."""
    start = time.perf_counter()
    results = batch.grade(course.with_work_folder(root), assignment, submitted, jobs=jobs, unsafe=unsafe,
                          progress=False, scheduler=scheduler)
    elapsed = time.perf_counter() - start
    executing = sum(nb.seconds for r in results for nb in r.notebooks)
    notebooks = sum(len(r.notebooks) for r in results)
    return elapsed, executing, notebooks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50, help="class size (default 50)")
    parser.add_argument("--jobs", type=int, default=2, help="course grade workers (default 2)")
    parser.add_argument("--assignment", default="a1", help="assignment (default a1)")
    parser.add_argument("--skip-nbgrader", action="store_true", help="only time course grade")
    parser.add_argument("--all-correct", action="store_true",
                        help="a class of correct submissions only (default: correct, partial and untouched in turn)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="also time course grade on Dask distributed (e.g. local:2), beside the pool")
    parser.add_argument("--course", default=None, help="the course folder (default: the one holding this folder)")
    args = parser.parse_args(argv)
    os.environ["COURSE_QUICK"] = "1"
    course = Course.locate(args.course)
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        base = Path(scratch)
        submitted = base / "class"
        make_submissions(course, submitted, args.assignment, args.students,
                         ALL_CORRECT if args.all_correct else MIXED)
        kind = "correct" if args.all_correct else "mixed (correct, partial, untouched)"
        print(f"{args.students} {kind} submissions of {args.assignment}; {os.cpu_count()} CPUs; "
              f"load average {os.getloadavg()[0]:.1f} before the run")
        times = {}
        if not args.skip_nbgrader:
            nb_root = base / "nbgrader"
            shutil.copytree(submitted, nb_root / "submitted")
            times["nbgrader"] = time_nbgrader(course, nb_root, args.assignment)
            print(f"nbgrader autograde (sequential):     {times['nbgrader']:8.1f} s")
        runs = [("sandboxed", f"--jobs {args.jobs}", False, None)]
        if args.scheduler:
            runs.append(("dask", f"--scheduler {args.scheduler}", False, args.scheduler))
        runs.append(("unsafe", f"--jobs {args.jobs} --unsafe", True, None))
        for label, options, unsafe, scheduler in runs:
            elapsed, executing, notebooks = time_course(course, base / label, submitted, args.assignment, args.jobs,
                                                        unsafe, scheduler)
            times[label] = elapsed
            overhead = (elapsed * worker_count(scheduler, args.jobs) - executing) / notebooks
            print(f"course grade {options:24s} {elapsed:8.1f} s   "
                  f"({elapsed / args.students:.1f} s per submission; overhead beyond execution "
                  f"{overhead:.2f} s per notebook)")
        if "nbgrader" in times:
            goal = 1.9 if args.all_correct else 1.8
            print(f"\nspeed-up over nbgrader: {times['nbgrader'] / times['sandboxed']:.2f}x sandboxed "
                  f"(goal >= {goal}x), {times['nbgrader'] / times['unsafe']:.2f}x unsafe")
        if "dask" in times:
            print(f"Dask ({args.scheduler}) against the pool: {times['dask'] / times['sandboxed']:.2f}x the pool's "
                  f"wall time")
        print(f"sandbox cost: {100 * (times['sandboxed'] / times['unsafe'] - 1):+.1f}% of wall time (goal <= 20%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
