"""Read an untrusted submissions folder or ``.zip`` into a staging folder, refusing anything unsafe.

Only regular files inside the submissions folder or archive are read. Every accepted file is
copied into the caller's staging folder (the grader reads only those copies), so nothing outside
the submissions folder is read and nothing outside the staging folder is written. Refused:

- symbolic links (never followed, in folders or as archive members) and hard links (``st_nlink > 1``);
- FIFOs, sockets and device files;
- archive members with an absolute path, a drive letter or a ``..`` component, encrypted members,
  and a name that appears twice;
- archives inside archives beyond one level (a student's ``.zip`` inside the LMS export is opened;
  a ``.zip`` inside that one is not);
- files over :attr:`Limits.max_file_bytes`; archives that declare, or expand to, more than
  :attr:`Limits.max_total_bytes` in all or hold more than :attr:`Limits.max_files` files.

Folders are walked with descriptors relative to their parent opened with ``O_NOFOLLOW``, so a path
swapped for a link while it is read is refused rather than followed.
"""
from __future__ import annotations

import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from autograder.importers.problems import Problem, ProblemKind, SubmissionsError

ARCHIVE_SUFFIX = ".zip"
JUNK_NAMES = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints", "__pycache__"})
MAX_DEPTH = 32
CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class Limits:
    """How much of an untrusted export is read.

    Attributes:
        max_file_bytes: the largest single file accepted.
        max_total_bytes: the most bytes read in all (folder files plus expanded archive members).
        max_files: the most files read in all.
        max_nesting: archives opened inside the submissions (1: a student's zip inside the export).
    """

    max_file_bytes: int = 64 * 2**20
    max_total_bytes: int = 4 * 2**30
    max_files: int = 20_000
    max_nesting: int = 1


@dataclass(frozen=True)
class Entry:
    """One accepted file: its staged copy, its size and, for archive members, the time the archive records."""

    staged: Path
    size: int
    modified: datetime | None = None


@dataclass
class Tree:
    """Everything found in the submissions, by path relative to the folder or archive (``/`` separated).

    Attributes:
        files: the accepted files and their staged copies.
        refused: the paths that were not read, each with its problem.
        ignored: operating-system litter that is skipped (``__MACOSX``, ``.DS_Store``, hidden files).
        folders: the folders found (an empty one still names a student in nbgrader's layout).
    """

    files: dict[PurePosixPath, Entry] = field(default_factory=dict)
    refused: dict[PurePosixPath, Problem] = field(default_factory=dict)
    ignored: list[PurePosixPath] = field(default_factory=list)
    folders: set[PurePosixPath] = field(default_factory=set)

    def paths(self) -> list[PurePosixPath]:
        """Every path found (accepted or refused), sorted."""
        return sorted({*self.files, *self.refused})

    def text(self, path: PurePosixPath) -> str:
        """The text of an accepted file (decoded as UTF-8, undecodable bytes replaced)."""
        return self.files[path].staged.read_text(encoding="utf-8", errors="replace")

    def strip_prefix(self, prefix: PurePosixPath) -> "Tree":
        """The same tree with ``prefix`` removed from every path (for exports wrapped in one folder)."""
        def cut(path: PurePosixPath) -> PurePosixPath:
            return path.relative_to(prefix)
        def inside(paths):
            return [cut(p) for p in paths if prefix in p.parents]
        return Tree({cut(p): e for p, e in self.files.items()}, {cut(p): e for p, e in self.refused.items()},
                    inside(self.ignored), set(inside(self.folders)))

    def common_folder(self) -> PurePosixPath | None:
        """The one folder every path lies in, if there is one."""
        paths = self.paths()
        tops = {p.parts[0] for p in paths}
        if len(tops) == 1 and all(len(p.parts) > 1 for p in paths):
            return PurePosixPath(tops.pop())
        return None


def is_junk(name: str) -> bool:
    """Whether a file or folder name is operating-system litter rather than a student's work."""
    return name in JUNK_NAMES or name.startswith(".")


def _human(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} bytes"


class _Reader:
    """Reads one submissions folder or archive into a :class:`Tree`, keeping count against the limits."""

    def __init__(self, staging: Path, limits: Limits):
        self.raw = staging / "raw"
        self.raw.mkdir(parents=True, exist_ok=False)
        self.limits = limits
        self.tree = Tree()
        self.total = 0
        self.copies = 0

    def refuse(self, path: PurePosixPath, message: str, kind: ProblemKind = ProblemKind.REFUSED) -> None:
        self.tree.refused[path] = Problem(kind, str(path), message)

    def _budget_problem(self, path: PurePosixPath, size: int) -> str | None:
        if size > self.limits.max_file_bytes:
            return (f"is {_human(size)}, over the limit of {_human(self.limits.max_file_bytes)} per file; "
                    f"it was not read")
        if self.total + size > self.limits.max_total_bytes:
            return (f"would take the submissions over {_human(self.limits.max_total_bytes)} in all; it was not read "
                    f"(raise the limit if the export is genuinely this large)")
        if len(self.tree.files) >= self.limits.max_files:
            return f"is beyond the limit of {self.limits.max_files} files; it was not read"
        return None

    def copy(self, path: PurePosixPath, source: BinaryIO, declared: int, modified: datetime | None) -> Path | None:
        """Copy ``source`` into staging counting bytes; refuse it once it passes its declared size or a limit."""
        problem = self._budget_problem(path, declared)
        if problem:
            self.refuse(path, problem)
            return None
        self.copies += 1
        target = self.raw / str(self.copies)
        written = 0
        allowed = min(declared, self.limits.max_file_bytes, self.limits.max_total_bytes - self.total)
        with open(target, "xb") as out:
            while chunk := source.read(CHUNK):
                written += len(chunk)
                if written > allowed:
                    break
                out.write(chunk)
        if written > allowed:
            target.unlink()
            self.refuse(path, f"expands beyond its declared size of {_human(declared)} or a limit "
                              f"(an archive bomb?); it was not read")
            return None
        self.total += written
        self.tree.files[path] = Entry(target, written, modified)
        return target

    # ----- folders -----

    def read_folder(self, root: Path) -> None:
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as error:
            raise SubmissionsError(f"The submissions folder {root} cannot be opened ({error.strerror}).") from error
        try:
            self._walk(fd, PurePosixPath(), 0)
        finally:
            os.close(fd)

    def _walk(self, dir_fd: int, relative: PurePosixPath, depth: int) -> None:
        named: dict[str, list[str]] = {}
        for raw_name in sorted(os.listdir(dir_fd)):
            try:
                name = unicodedata.normalize("NFC", os.fsencode(raw_name).decode("utf-8"))
            except UnicodeDecodeError:
                self.refuse(relative / os.fsencode(raw_name).decode("utf-8", "replace"),
                            "its name is not valid UTF-8; rename it and import again")
                continue
            named.setdefault(name, []).append(raw_name)
        for name, raw_names in named.items():
            path = relative / name
            if len(raw_names) > 1:
                self.refuse(path, f"{len(raw_names)} entries have this name once their accents are written the same "
                                  f"way (Unicode NFC); none was read: rename them apart")
                continue
            raw_name = raw_names[0]
            if is_junk(name):
                self.tree.ignored.append(path)
                continue
            info = os.stat(raw_name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                self.refuse(path, "is a symbolic link; links are never followed (copy the file itself)")
            elif stat.S_ISDIR(info.st_mode):
                if depth >= MAX_DEPTH:
                    self.refuse(path, f"is nested more than {MAX_DEPTH} folders deep; it was not read")
                    continue
                self.tree.folders.add(path)
                try:
                    child = os.open(raw_name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
                except OSError as error:
                    self.refuse(path, f"cannot be opened as a folder ({error.strerror})", ProblemKind.UNREADABLE)
                    continue
                try:
                    self._walk(child, path, depth + 1)
                finally:
                    os.close(child)
            elif stat.S_ISREG(info.st_mode):
                self._read_file(dir_fd, raw_name, path)
            else:
                self.refuse(path, f"is a {_special_kind(info.st_mode)}, not a regular file; it was not read")

    def _read_file(self, dir_fd: int, raw_name: str, path: PurePosixPath) -> None:
        try:
            fd = os.open(raw_name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
        except OSError as error:
            self.refuse(path, f"cannot be opened ({error.strerror})", ProblemKind.UNREADABLE)
            return
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                self.refuse(path, f"is a {_special_kind(info.st_mode)}, not a regular file; it was not read")
            elif info.st_nlink > 1:
                self.refuse(path, "is a hard link (it has other names, possibly outside the submissions); "
                                  "it was not read (copy the file itself)")
            elif path.suffix.lower() == ARCHIVE_SUFFIX:
                staged = self.copy(path, handle, info.st_size, None)
                if staged is not None:
                    self._expand_nested(path, staged, 1)
            else:
                self.copy(path, handle, info.st_size, None)

    # ----- archives -----

    def read_archive(self, archive_path: Path) -> None:
        try:
            with open(archive_path, "rb") as handle:
                self._read_zip(handle, PurePosixPath(), 0)
        except (zipfile.BadZipFile, OSError) as error:
            raise SubmissionsError(f"{archive_path} is not a readable zip archive ({error}); download the export "
                                   f"again or unpack it and pass the folder.") from error

    def _expand_nested(self, path: PurePosixPath, staged: Path, level: int) -> None:
        """Open an archive found among the submissions; its members become files below its path."""
        entry = self.tree.files.pop(path)
        self.total -= entry.size
        if level > self.limits.max_nesting:
            staged.unlink()
            self.refuse(path, f"is an archive nested more than {self.limits.max_nesting} level(s) deep; "
                              f"it was not opened")
            return
        try:
            with open(staged, "rb") as handle:
                self._read_zip(handle, path, level)
        except zipfile.BadZipFile as error:
            self.refuse(path, f"is not a readable zip archive ({error})", ProblemKind.UNREADABLE)
        finally:
            staged.unlink()

    def _read_zip(self, handle: BinaryIO, prefix: PurePosixPath, level: int) -> None:
        with zipfile.ZipFile(handle) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            for info in archive.infolist():
                name, problem = member_name(info)
                if info.is_dir() and not problem and name.parts:
                    self.tree.folders.add(prefix / name)
            label = str(prefix) if prefix.parts else "the archive"
            declared = sum(info.file_size for info in members)
            if declared > self.limits.max_total_bytes - self.total or len(members) > self.limits.max_files:
                problem = (f"{label} declares {len(members)} files and {_human(declared)} uncompressed, over the "
                           f"limits ({self.limits.max_files} files, {_human(self.limits.max_total_bytes)}); "
                           f"an archive bomb? Nothing in it was read")
                if not prefix.parts:
                    raise SubmissionsError(problem)
                self.refuse(prefix, problem)
                return
            for info in members:
                self._read_member(archive, info, prefix, level)

    def _read_member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, prefix: PurePosixPath,
                     level: int) -> None:
        name, problem = member_name(info)
        path = prefix / name
        if problem:
            self.refuse(path, problem)
            return
        if any(is_junk(part) for part in name.parts):
            self.tree.ignored.append(path)
            return
        if path in self.tree.files or path in self.tree.refused:
            self.refuse(path, "appears twice in the archive; neither copy can be trusted to be the right one")
            self.tree.files.pop(path, None)
            return
        mode = info.external_attr >> 16
        if info.create_system == 3 and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
            kind = "symbolic link" if stat.S_ISLNK(mode) else _special_kind(mode)
            self.refuse(path, f"is a {kind} in the archive, not a regular file; it was not read")
            return
        if info.flag_bits & 0x1:
            self.refuse(path, "is encrypted; export the submissions without a password")
            return
        modified = _zip_time(info)
        try:
            with archive.open(info) as member:
                staged = self.copy(path, member, info.file_size, modified)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as error:
            self.tree.files.pop(path, None)
            self.refuse(path, f"cannot be read from the archive ({type(error).__name__}: {error}); download the "
                              f"export again", ProblemKind.UNREADABLE)
            return
        if staged is not None and path.suffix.lower() == ARCHIVE_SUFFIX:
            self._expand_nested(path, staged, level + 1)


def member_name(info: zipfile.ZipInfo) -> tuple[PurePosixPath, str]:
    """The member's path as a relative POSIX path, and why it is refused ('' when it is safe).

    Names not flagged as UTF-8 are tried as UTF-8 first (most tools write it without the flag), then
    read as the archive standard's code page 437. Names are normalised to NFC, so an accented name
    zipped on macOS and one zipped elsewhere are the same name.
    """
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    name = unicodedata.normalize("NFC", name).replace("\\", "/")
    if name.startswith("/") or _DRIVE.match(name):
        return (PurePosixPath(_DRIVE.sub("", name).lstrip("/")),
                f"is an absolute path in the archive ({name}); it was not read")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        return PurePosixPath(*parts), "has a '..' component that points outside the archive; it was not read"
    if not parts:
        return PurePosixPath(), "has an empty name; it was not read"
    return PurePosixPath(*parts), ""


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time)
    except ValueError:
        return None


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "special file"


def read_submissions(source: Path, staging: Path, limits: Limits = Limits()) -> Tree:
    """Read a submissions folder or ``.zip`` into ``staging``; returns what was accepted and refused.

    Args:
        source: the submissions folder or a ``.zip`` export (the instructor's path; it may be a link).
        staging: a folder owned by the caller, who removes it; copies go into ``staging/raw``.
        limits: the size and count limits.

    Raises:
        SubmissionsError: ``source`` does not exist, is not a folder or zip, or the archive is unreadable
            or declares more than the limits.
    """
    if not source.exists():
        raise SubmissionsError(f"The submissions folder {source} does not exist; pass --submissions with the "
                               f"folder or .zip the LMS exported (or nbgrader's submitted folder).")
    reader = _Reader(staging, limits)
    if source.is_dir():
        reader.read_folder(source)
    elif source.is_file() and zipfile.is_zipfile(source):
        reader.read_archive(source)
    else:
        raise SubmissionsError(f"{source} is neither a folder nor a zip archive; pass the folder or .zip of "
                               f"submissions.")
    return reader.tree
