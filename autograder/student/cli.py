"""The student's ``course`` command (the student bundle installs it): ``check`` and ``submit``.

    course check [PATH]      run your notebooks as grading will and say what grading will do
    course submit [FOLDER]   check, then write the zip to upload to the course's LMS

The instructor's ``course`` command has the same two subcommands with the same options
(:func:`add_check_arguments`, :func:`add_submit_arguments`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from autograder.student import check, submit

CHECK_DESCRIPTION = (
    "Run a notebook (or every notebook of a folder) in a fresh kernel as grading will, on the quick training "
    "budget, and say what grading will do with each test cell: visible tests pass or FAIL here exactly as at "
    "grading; a graded cell FAILs here when its visible part fails or a function it checks contains a Python "
    "loop where the vectorisation rule forbids one, and is otherwise 'pending' (its hidden checks run only at "
    "grading, so no points are counted here). A failure caused by an earlier failing cell names that cell. "
    "Exit status 0 only when every visible test passes.")
SUBMIT_DESCRIPTION = (
    "Check the assignment in FOLDER (default: the current folder), then write <assignment>-submission.zip beside "
    "it with the assignment's notebooks under their right names and nothing else: upload that file to the "
    "course's LMS. Nothing is written when a notebook is missing, is not valid JSON, or lacks cells of the "
    "assignment; the message says what to do. Failing visible tests are reported but do not stop the "
    "submission.")


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``course check``."""
    parser.add_argument("path", nargs="?", default=".",
                        help="a notebook or a folder of notebooks (default: the current folder)")
    parser.add_argument("--timeout", type=float, default=check.DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"time limit per cell and per notebook (default {check.DEFAULT_TIMEOUT_S:.0f})")


def add_submit_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``course submit``."""
    parser.add_argument("folder", nargs="?", default=".",
                        help="the assignment's folder, holding its notebooks (default: the current folder)")
    parser.add_argument("--output", metavar="ZIP", default=None,
                        help="the zip to write (default: <assignment>-submission.zip beside the folder)")
    parser.add_argument("--no-check", dest="run_check", action="store_false",
                        help="write the zip without running the notebooks first")
    parser.add_argument("--timeout", type=float, default=check.DEFAULT_TIMEOUT_S, metavar="SECONDS",
                        help=f"the check's time limit per cell and per notebook (default {check.DEFAULT_TIMEOUT_S:.0f})")


def _cmd_check(args: argparse.Namespace) -> int:
    return check.check(Path(args.path), timeout_s=args.timeout)


def _cmd_submit(args: argparse.Namespace) -> int:
    return submit.submit(Path(args.folder), None, Path(args.output) if args.output else None, args.run_check,
                         args.timeout)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the student's ``course`` command."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check_parser = commands.add_parser("check", help="run your notebooks as grading will",
                                       description=CHECK_DESCRIPTION)
    add_check_arguments(check_parser)
    check_parser.set_defaults(handler=_cmd_check)
    submit_parser = commands.add_parser("submit", help="check, then write the zip to upload",
                                        description=SUBMIT_DESCRIPTION)
    add_submit_arguments(submit_parser)
    submit_parser.set_defaults(handler=_cmd_submit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the student's ``course`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (check.CheckError, submit.SubmitError) as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
