"""The ``course`` command.

    course data generate     make and cache the embedded synthetic dataset (offline)
    course data download     fetch CIFAR-10 (needs internet)
    course data info         which dataset the notebooks will load, and from where
    course demo              run the end-to-end demo offline
    course release           generate the student notebooks from solutions/ (instructors)

Run ``course COMMAND --help`` for the options of each command. Grading commands join as they land.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from course_utils import data


class UserError(Exception):
    """An error of the user's setup; printed as a message without a traceback."""


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


def _cmd_demo(args: argparse.Namespace) -> int:
    from autograder import demo

    return demo.run(Path(args.output))


def _cmd_release(args: argparse.Namespace) -> int:
    from autograder import release

    try:
        names = release.assignment_names() if args.assignment == "all" else [args.assignment]
        for name in names:
            for line in release.release(name, check=args.check):
                print(line)
    except release.ReleaseError as error:
        raise UserError(str(error)) from error
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``course`` command."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

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
        "demo", help="run the end-to-end demo offline",
        description="Generate the embedded dataset and execute the demo notebook, writing the executed "
                    "notebook and an HTML copy to the output folder.")
    demo_parser.add_argument("--output", default="demo_out", help="output folder (default: demo_out)")
    demo_parser.set_defaults(handler=_cmd_demo)

    release_parser = commands.add_parser(
        "release", help="generate the student notebooks from solutions/",
        description="Generate assignments/<assignment> from solutions/<assignment> with nbgrader, clear outputs "
                    "and verify that no solution or hidden test leaks into it. With --check, write nothing and "
                    "fail if the committed release differs from a fresh generation.")
    release_parser.add_argument("assignment", help="an assignment folder of solutions/ (a1, a2) or 'all'")
    release_parser.add_argument("--check", action="store_true",
                                help="compare with the committed release instead of writing it")
    release_parser.set_defaults(handler=_cmd_release)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``course`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except UserError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("course: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
