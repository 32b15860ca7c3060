"""The ``course`` command.

Instructors, inside a course folder (or with --course DIR, or COURSE_DIR set):
    course init DIR          make a new course folder with an example assignment
    course release           validate an assignment and generate its student notebooks
    course collect           show which files of an LMS export or folder go to which student
    course grade             autograde every submission, sandboxed and in parallel
    course feedback          write one HTML feedback page per student
    course export            write the grades as CSV
    course similarity        rank answers that look copied (a report for a person)
    course demo              run the end-to-end demo offline on the embedded dataset
Students:
    course check             run your notebook(s) as grading will and say what grading will do
    course submit            check, then write the zip to upload to the course's LMS
Data:
    course data generate     make and cache the embedded synthetic dataset (offline)
    course data download     fetch CIFAR-10 (needs internet)
    course data info         which dataset the notebooks will load, and from where

The course is the folder given by --course, else $COURSE_DIR, else the nearest folder upward from
here that holds nbgrader_config.py. Run ``course COMMAND --help`` for the options of each command.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Sequence

from autograder.course import Course, CourseError, NotACourse
from course_utils import data


class UserError(Exception):
    """An error of the user's setup; printed as a message without a traceback."""


def _course(args: argparse.Namespace) -> Course:
    """The course of this command: --course, else $COURSE_DIR, else the nearest folder upward."""
    try:
        return Course.locate(getattr(args, "course", None))
    except CourseError as error:
        raise UserError(str(error)) from error


def _cmd_data_generate(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    dataset = data.load_synthetic(n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                                  cache_dir=args.dir, cache=True)
    elapsed = time.perf_counter() - started
    where = data.synthetic_cache_path(args.n_train, args.n_test, args.seed, args.dir)
    print(f"{dataset} ready in {elapsed:.1f} s, cached at {where}")
    return 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    try:
        folder = data.download_cifar10(args.dir)
    except data.DownloadError as error:
        raise UserError(str(error)) from error
    print(f"CIFAR-10 is in {folder}. Use it with: export {data.DATASET_ENV}=cifar10"
          + (f" {data.DATA_DIR_ENV}={Path(args.dir).resolve()}" if args.dir else ""))
    return 0


def _cmd_data_info(args: argparse.Namespace) -> int:
    try:
        name = data.dataset_name()
    except ValueError as error:
        raise UserError(str(error)) from error
    root = data.default_data_dir()
    print(f"dataset    {name}   (set {data.DATASET_ENV}=synthetic or cifar10)")
    print(f"data dir   {root}   (set {data.DATA_DIR_ENV} to change)")
    cached = sorted(p.name for p in root.glob("*")) if root.is_dir() else []
    print("present    " + (", ".join(cached) if cached else "nothing yet"))
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    from autograder import scaffold

    try:
        written = scaffold.init(Path(args.folder))
    except CourseError as error:
        raise UserError(str(error)) from error
    root = Path(args.folder).expanduser().resolve()
    print(f"made a course in {root} ({len(written)} files). Next:\n  cd {root}\n"
          f"  course release {scaffold.EXAMPLE_ASSIGNMENT}\n  course check assignments/{scaffold.EXAMPLE_ASSIGNMENT}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from autograder import demo

    students = args.students.split(",") if args.students else None
    unknown = set(students or ()) - set(demo.DEMO_STUDENTS)
    if unknown:
        raise UserError(f"Unknown demo students {sorted(unknown)}; choose from {', '.join(demo.DEMO_STUDENTS)}.")
    return demo.run(_course(args), Path(args.output), students, args.assignment)


def _cmd_release(args: argparse.Namespace) -> int:
    from autograder import release

    course = _course(args)
    names = course.assignments() if args.assignment == "all" else [args.assignment]
    if not names:
        raise UserError(f"{course.source} holds no assignment yet (a folder of notebooks).")
    try:
        for name in names:
            for line in release.release(course, name, check=args.check):
                print(line)
    except release.ReleaseError as error:
        raise UserError(str(error)) from error
    return 0


def _import_request(args: argparse.Namespace):
    """The import options of ``collect`` and ``grade`` as an :class:`autograder.importers.Request`."""
    from autograder import importers

    return importers.Request(export_format=importers.Format(args.format) if args.format else None,
                             pattern=args.pattern, roster=Path(args.roster) if args.roster else None, due=args.due)


def _cmd_collect(args: argparse.Namespace) -> int:
    from autograder import scratch as scratch_folders

    from autograder import importers
    from autograder.importers import report

    course = _course(args)
    source = Path(args.submissions) if args.submissions else course.submitted
    with scratch_folders.folder("collect") as staging:
        try:
            found = importers.collect_for_course(course, args.assignment, source, staging, _import_request(args))
        except (importers.SubmissionsError, CourseError) as error:
            raise UserError(str(error)) from error
        print(report.render(found, args.assignment))
    return 1 if found.problems else 0


def _cmd_grade(args: argparse.Namespace) -> int:
    from autograder import batch

    course = _course(args)
    submissions = Path(args.submissions) if args.submissions else None
    try:
        results = batch.grade(course, args.assignment, submissions, jobs=args.jobs, student=args.student,
                              unsafe=args.unsafe, cell_timeout=args.cell_timeout,
                              notebook_timeout=args.notebook_timeout, disk_quota_mib=args.disk_quota,
                              request=_import_request(args), grade_the_rest=args.grade_the_rest,
                              scheduler=args.scheduler, force=args.force)
    except batch.GradingSetupError as error:
        raise UserError(str(error)) from error
    print(batch.summary_table(results))
    print(f"\nGradebook: {course.gradebook_url} (written answers: `nbgrader formgrader`)")
    return 0


def _nothing_graded(course: Course, assignment: str) -> UserError:
    return UserError(f"Nothing graded for {assignment} yet in {course.autograded}; run `course grade {assignment}` first.")


def _cmd_feedback(args: argparse.Namespace) -> int:
    from autograder import feedback

    course = _course(args)
    target = Path(args.output) if args.output else course.feedback
    written = feedback.write(course, args.assignment, target, jobs=args.jobs, progress=True)
    if not written:
        raise _nothing_graded(course, args.assignment)
    print(f"wrote feedback for {len(written)} students under {target}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from autograder import lateness, reports

    course = _course(args)
    try:
        rows = reports.export_csv(course, args.assignment, Path(args.csv), reports.ExportLayout(args.layout))
    except lateness.LatenessError as error:
        raise UserError(str(error)) from error
    if not rows:
        raise _nothing_graded(course, args.assignment)
    print(f"wrote {rows} rows to {args.csv}")
    return 0


def _optional_course(args: argparse.Namespace) -> Course | None:
    """The course of this command when there is one (students' commands work without)."""
    try:
        return Course.locate(getattr(args, "course", None))
    except NotACourse:
        return None
    except CourseError as error:
        raise UserError(str(error)) from error


def _cmd_check(args: argparse.Namespace) -> int:
    from autograder import student_check

    try:
        return student_check.check(Path(args.path), _optional_course(args), args.timeout)
    except student_check.CheckError as error:
        raise UserError(str(error)) from error


def _cmd_submit(args: argparse.Namespace) -> int:
    from autograder import student_check
    from autograder.student.submit import SubmitError

    try:
        return student_check.submit(Path(args.folder), _optional_course(args),
                                    Path(args.output) if args.output else None, args.run_check, args.timeout)
    except (student_check.CheckError, SubmitError) as error:
        raise UserError(str(error)) from error


def _cmd_similarity(args: argparse.Namespace) -> int:
    from autograder import scratch as scratch_folders

    from autograder import importers, similarity

    course = _course(args)
    try:
        assignment = course.assignment(args.assignment)
    except CourseError as error:
        raise UserError(str(error)) from error
    released = {path.name: path for path in sorted((course.release / args.assignment).glob("*.ipynb"))}
    if not released:
        raise UserError(f"{course.release / args.assignment} holds no release; run `course release {args.assignment}` "
                        f"first (starter code is taken from it).")
    known = Path(args.known) if args.known else None
    if known is not None and not known.is_dir():
        raise UserError(f"--known {known} is not a folder; pass a folder of notebooks or .py files.")
    output = Path(args.html) if args.html else course.feedback.parent / "similarity" / args.assignment
    csv_path = Path(args.csv) if args.csv else output / "pairs.csv"
    source = Path(args.submissions) if args.submissions else course.submitted
    with scratch_folders.folder("similarity") as staging:
        try:
            found = importers.collect_for_course(course, args.assignment, source, staging, _import_request(args))
        except (importers.SubmissionsError, CourseError) as error:
            raise UserError(str(error)) from error
        for problem in found.problems:
            print(f"course: note: left out of the comparison: [{problem.kind.value}] {problem}", file=sys.stderr)
        files = {s.student: {name: path for name, path in s.files.items() if path is not None} for s in found.submissions}
        report = similarity.analyse(released, files, {p.name: p for p in assignment.notebooks()}, known,
                                    progress=not args.quiet)
    output.mkdir(parents=True, exist_ok=True)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    rows = report.write_csv(csv_path)
    page = report.write_html(output)
    for problem in report.problems:
        print(f"course: note: {problem}", file=sys.stderr)
    print(f"{len(files)} submissions compared; {rows} flagged pairs (a report for a person; no score changes).\n"
          f"  CSV:  {csv_path}\n  HTML: {page}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``course`` command."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", metavar="DIR", default=None,
                        help="the course folder (default: $COURSE_DIR, else the nearest folder upward with "
                             "nbgrader_config.py)")
    # The same option after the command name; SUPPRESS keeps it from hiding one given before it.
    course_option = argparse.ArgumentParser(add_help=False)
    course_option.add_argument("--course", metavar="DIR", default=argparse.SUPPRESS,
                               help="the course folder (default: $COURSE_DIR, else the nearest folder upward "
                                    "with nbgrader_config.py)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init_parser = commands.add_parser(
        "init", help="make a new course folder",
        description="Make a new course in DIR (new or empty): nbgrader configuration, one example assignment "
                    "with one graded function (answer, visible test, hidden check and its spec) and an "
                    "instructor README. `course release example` and `course grade example` work on it at once.")
    init_parser.add_argument("folder", metavar="DIR", help="the folder to make the course in")
    init_parser.set_defaults(handler=_cmd_init)

    data_parser = commands.add_parser("data", help="get or inspect the datasets",
                                      description="Get or inspect the course datasets.")
    data_commands = data_parser.add_subparsers(dest="data_command", metavar="ACTION")
    generate = data_commands.add_parser(
        "generate", help="make and cache the embedded synthetic dataset",
        description="Generate the embedded synthetic dataset (offline, deterministic) and cache it.")
    generate.add_argument("--n-train", type=int, default=50_000, help="training images (default 50000)")
    generate.add_argument("--n-test", type=int, default=10_000, help="test images (default 10000)")
    generate.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    generate.add_argument("--dir", default=None, help=f"cache folder (default: ${data.DATA_DIR_ENV} or datasets/cache)")
    generate.set_defaults(handler=_cmd_data_generate)
    download = data_commands.add_parser(
        "download", help="download CIFAR-10 (needs internet)",
        description="Download CIFAR-10 (about 163 MB) with checksum verification and resume.")
    download.add_argument("dataset", choices=["cifar10"], help="the dataset to download")
    download.add_argument("--dir", default=None, help=f"target folder (default: ${data.DATA_DIR_ENV} or datasets/cache)")
    download.set_defaults(handler=_cmd_data_download)
    info = data_commands.add_parser("info", help="show which dataset the notebooks load and from where",
                                    description="Show the chosen dataset, the data folder and what it holds.")
    info.set_defaults(handler=_cmd_data_info)
    data_parser.set_defaults(handler=lambda _args: data_parser.print_help() or 2)

    demo_parser = commands.add_parser(
        "demo", help="run the end-to-end demo offline", parents=[course_option],
        description="Generate the embedded dataset, execute the smoke notebook (written with an HTML copy to "
                    "the output folder), then grade a synthetic class of submissions of the course's first "
                    "assignment in sandboxed kernels and print the score table, the feedback folder and the "
                    "grades CSV.")
    demo_parser.add_argument("--assignment", default=None, help="the assignment to grade (default: the first)")
    demo_parser.add_argument("--output", default="demo_out", help="output folder (default: demo_out)")
    demo_parser.add_argument("--students", default=None,
                             help="comma-separated subset of the synthetic class (default: all five)")
    demo_parser.set_defaults(handler=_cmd_demo)

    release_parser = commands.add_parser(
        "release", help="validate an assignment and generate its student notebooks", parents=[course_option],
        description="Validate the assignment (every hidden check has a spec and a reference, every spec is used, "
                    "every graded cell has points; problems are listed as notebook:cell), then generate its "
                    "release from the source folder with nbgrader, clear outputs and verify that no solution, "
                    "hidden test or spec leaks into it. Nothing is written when anything fails. With --check, "
                    "write nothing and fail if the committed release differs from a fresh generation.")
    release_parser.add_argument("assignment", help="an assignment (a folder of the source folder) or 'all'")
    release_parser.add_argument("--check", action="store_true",
                                help="compare with the committed release instead of writing it")
    release_parser.set_defaults(handler=_cmd_release)

    from autograder.importers.core import Format
    from autograder.reports import ExportLayout

    formats = [fmt.value for fmt in Format]
    import_options = argparse.ArgumentParser(add_help=False)
    import_options.add_argument("--submissions", metavar="DIR_OR_ZIP",
                                help="folder or .zip of submissions: nbgrader's <student>/<assignment>/ layout or an "
                                     "LMS export (default: the course's submitted folder)")
    import_options.add_argument("--format", choices=formats, default=None,
                                help="how the submissions are laid out (default: detected; see docs/submissions.md)")
    import_options.add_argument("--pattern", metavar="REGEX", default=None,
                                help="your own layout: a regular expression matched against each file's path, with "
                                     "groups (?P<student>...) and optionally (?P<notebook>...), (?P<timestamp>...)")
    import_options.add_argument("--roster", metavar="CSV", default=None,
                                help="roster with columns lms_id, student_id, name, email, extension: maps LMS ids to "
                                     "students and lists those without a submission")
    import_options.add_argument("--due", metavar="DATETIME", default=None,
                                help="due date, ISO 8601 (e.g. 2024-10-04T23:59+02:00; default: [due] in course.toml)")

    collect_parser = commands.add_parser(
        "collect", help="show which files go to which student, before grading",
        parents=[course_option, import_options],
        description="Read the submissions of ASSIGNMENT (nbgrader's layout, or a Canvas, Moodle, Gradescope or "
                    "Blackboard export, or your --pattern) and print the student -> files table, the students "
                    "left out, and every file that could not be placed or was refused (links, special files, "
                    "unsafe archive members, files over the size limits). Nothing is graded or written. Exit "
                    "status 1 when there are problems.")
    collect_parser.add_argument("assignment", help="the assignment (a folder of the source folder, e.g. a1)")
    collect_parser.set_defaults(handler=_cmd_collect)

    similarity_parser = commands.add_parser(
        "similarity", help="rank answers that look copied (a report for a person)",
        parents=[course_option, import_options],
        description="Compare the submissions of ASSIGNMENT answer cell by answer cell (code and written answers, "
                    "starter code removed, identifiers, comments and order ignored) with each other, with the "
                    "reference solutions and with known solutions (--known), and write a ranked CSV and an HTML "
                    "page with the matching parts side by side. Each score is read against what the class's "
                    "answers to the same cell look like. It informs a person and never changes a score; the "
                    "report shows no reference code. See docs/similarity.md.")
    similarity_parser.add_argument("assignment", help="the assignment (a folder of the source folder, e.g. a1)")
    similarity_parser.add_argument("--known", metavar="DIR", default=None,
                                   help="a folder of notebooks or .py files to compare against (e.g. solutions "
                                        "found online)")
    similarity_parser.add_argument("--csv", metavar="FILE", default=None,
                                   help="the CSV to write (default: pairs.csv in the HTML folder)")
    similarity_parser.add_argument("--html", metavar="DIR", default=None,
                                   help="folder for the HTML report (default: <course work folder>/similarity/"
                                        "<assignment>)")
    similarity_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    similarity_parser.set_defaults(handler=_cmd_similarity)

    grade_parser = commands.add_parser(
        "grade", help="autograde every submission of an assignment in parallel",
        parents=[course_option, import_options],
        description="Autograde the submissions of ASSIGNMENT in sandboxed kernels, in parallel, into the "
                    "course's nbgrader gradebook. Submissions are read as `course collect` shows them; when "
                    "any file or student cannot be placed, nothing is graded unless --grade-the-rest is given. "
                    "Grading one student again replaces their grades. Running it again after an interruption "
                    "resumes: students already graded from identical inputs (submission, source notebooks, "
                    "specs, settings) are kept unless --force is given.")
    grade_parser.add_argument("assignment", help="the assignment (a folder of the source folder, e.g. a1)")
    grade_parser.add_argument("--grade-the-rest", action="store_true",
                              help="grade what can be graded when the import has problems; they are printed and "
                                   "the students left out appear in the summary and the export with the reason")
    grade_parser.add_argument("--jobs", type=int, default=None,
                              help="parallel workers of the local pool (default: all cores)")
    grade_parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                              help="grade on Dask distributed: a scheduler's address (tcp://host:8786), or local:N "
                                   "for N worker processes here (see docs/distributed.md; default: a local pool)")
    grade_parser.add_argument("--force", action="store_true",
                              help="grade every student again, also those already graded from identical inputs")
    grade_parser.add_argument("--student", help="grade only this student")
    grade_parser.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    grade_parser.add_argument("--notebook-timeout", type=float, default=600, help="seconds per notebook (default 600)")
    grade_parser.add_argument("--disk-quota", type=int, default=512, metavar="MIB",
                              help="disk space one submission may write while graded, in MiB (default 512)")
    grade_parser.add_argument("--unsafe", action="store_true",
                              help="grade WITHOUT the sandbox (only for code you trust)")
    grade_parser.set_defaults(handler=_cmd_grade)

    feedback_parser = commands.add_parser(
        "feedback", help="write per-student HTML feedback", parents=[course_option],
        description="Write <output>/<student>/<assignment>/feedback.html from the last grading: the student's "
                    "cells, the score of every graded cell and the reasons; never the hidden tests.")
    feedback_parser.add_argument("assignment", help="the assignment graded with `course grade`")
    feedback_parser.add_argument("--output", help="folder (default: the course's feedback folder)")
    feedback_parser.add_argument("--jobs", type=int, default=None,
                                 help="pages rendered side by side (default: all cores)")
    feedback_parser.set_defaults(handler=_cmd_feedback)

    export_parser = commands.add_parser(
        "export", help="export grades as CSV", parents=[course_option],
        description="One row per student: per-notebook scores, the raw total, lateness and the late penalty apart, "
                    "the final score and the reasons for any missing score; students left out of grading (or on "
                    "the roster without a submission) appear with an empty score and the reason. A notebook that "
                    "was not graded is left empty, never 0. --layout canvas or moodle writes the columns those "
                    "LMS grade imports read (see docs/submissions.md).")
    export_parser.add_argument("assignment", help="the assignment graded with `course grade`")
    export_parser.add_argument("--csv", required=True, help="the CSV file to write")
    export_parser.add_argument("--layout", choices=[layout.value for layout in ExportLayout],
                               default=ExportLayout.COURSE.value,
                               help="columns: course (everything, default), canvas (gradebook import) or moodle "
                                    "(offline grading worksheet)")
    export_parser.set_defaults(handler=_cmd_export)

    from autograder.student import cli as student_cli

    check_parser = commands.add_parser("check", help="students: run your notebook(s) as grading will",
                                       parents=[course_option], description=student_cli.CHECK_DESCRIPTION)
    student_cli.add_check_arguments(check_parser)
    check_parser.set_defaults(handler=_cmd_check)
    submit_parser = commands.add_parser("submit", help="students: check, then write the zip to upload",
                                        parents=[course_option], description=student_cli.SUBMIT_DESCRIPTION)
    student_cli.add_submit_arguments(submit_parser)
    submit_parser.set_defaults(handler=_cmd_submit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``course`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    previous = _stop_on_sigterm()
    try:
        return args.handler(args)
    except UserError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm():
    """Treat SIGTERM like Ctrl-C, so temporary copies of submissions are removed on the way out.

    Returns the handler it replaced, or None where handlers cannot be set (not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


if __name__ == "__main__":
    sys.exit(main())
