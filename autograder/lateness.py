"""Due dates, extensions and the late penalty.

The course's settings live in an optional ``course.toml`` beside ``nbgrader_config.py``::

    timezone = "Europe/Paris"      # how times written without a zone are read (default: this machine's)

    [due]                          # per assignment; ``--due`` on the command line wins
    a1 = 2024-10-04T23:59:00+02:00

    [late_penalty]
    per = "day"                    # or "hour": the penalty grows per started day or hour late
    percent = 10                   # percent of the raw score taken per started unit
    cap = 50                       # never more than this percent
    grace_minutes = 15             # this long after the due date still counts as on time

Without ``[late_penalty]`` lateness is reported and nothing is deducted. A submission marked late by
the LMS (Canvas's ``LATE``) whose time is unknown counts as one unit late.
"""
from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

SETTINGS_FILE = "course.toml"


class LatenessError(ValueError):
    """A due date, an extension or the late-penalty settings cannot be understood; the message says why."""


class Unit(str, enum.Enum):
    """What the late penalty is counted in."""

    DAY = "day"
    HOUR = "hour"

    @property
    def length(self) -> timedelta:
        return timedelta(days=1) if self is Unit.DAY else timedelta(hours=1)


@dataclass(frozen=True)
class LatePolicy:
    """``percent`` of the raw score per started ``unit`` late, at most ``cap`` percent, after ``grace``."""

    unit: Unit = Unit.DAY
    percent: float = 0.0
    cap: float = 100.0
    grace: timedelta = timedelta(0)

    def penalty_percent(self, lateness: "Lateness") -> float:
        """The percent of the raw score this lateness costs."""
        if not lateness.is_late:
            return 0.0
        late_by = lateness.late_by - self.grace if lateness.late_by is not None else None
        if late_by is not None and late_by <= timedelta(0):
            return 0.0
        units = 1 if late_by is None else math.ceil(late_by / self.unit.length)
        return min(self.cap, self.percent * units)


@dataclass(frozen=True)
class Lateness:
    """When a submission came in against its due date.

    Attributes:
        submitted_at: the submission time, None when the export does not say.
        due: the student's due date (with any extension), None when there is none.
        marked_late: the LMS itself marked the submission late.
    """

    submitted_at: datetime | None
    due: datetime | None
    marked_late: bool = False

    @property
    def late_by(self) -> timedelta | None:
        """How long after the due date it came in (None when on time or unknown)."""
        if self.submitted_at is None or self.due is None or self.submitted_at <= self.due:
            return None
        return self.submitted_at - self.due

    @property
    def is_late(self) -> bool:
        """Late by its time, or marked late by the LMS when the time is unknown."""
        return self.late_by is not None or (self.marked_late and self.submitted_at is None)

    def describe(self, policy: LatePolicy) -> str:
        """One sentence for the student: how late, and what it costs ('' when on time)."""
        if not self.is_late:
            return ""
        when = (f"{self.late_by.total_seconds() / 3600:.1f} h after the due date {self.due.isoformat()}"
                if self.late_by is not None else "late (marked by the LMS; the time is unknown, counted as one "
                                                 f"{policy.unit.value})")
        penalty = policy.penalty_percent(self)
        return f"submitted {when}" + (f": late penalty {penalty:g}% of the score" if penalty else "")


@dataclass(frozen=True)
class Settings:
    """The course's lateness settings: time zone, due dates per assignment and the penalty."""

    zone: tzinfo
    due: dict[str, datetime]
    policy: LatePolicy


def local_zone() -> tzinfo:
    """This machine's time zone."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else timezone.utc


def aware(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` with ``zone`` when it has no zone of its own."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


_TIME = re.compile(r"^(?P<date>\d{4}-\d\d-\d\d)(?:[ T](?P<time>\d\d:\d\d(?::\d\d)?)(?:\.(?P<fraction>\d+))?)?"
                   r"\s*(?P<zone>Z|UTC|GMT|[+-]\d\d:?\d\d)?$", re.IGNORECASE)


def parse_time(text: str, zone: tzinfo | None = None) -> datetime:
    """An ISO-like date-time: ``2024-10-04 23:59``, ``2024-10-04T23:59:00+02:00``, ``... 12:00:00.123456789 -07:00``
    (Gradescope), ``... UTC`` (nbgrader); in ``zone`` if written without one.

    Without ``zone`` a time written without a zone stays naive (the caller knows the course's zone).

    Raises:
        LatenessError: the text is not such a date-time.
    """
    match = _TIME.match(text.strip())
    if not match:
        raise LatenessError(f"{text!r} is not a date-time; write it as ISO 8601, e.g. 2024-10-04T23:59 or "
                            f"2024-10-04T23:59:00+02:00.")
    written_zone = (match["zone"] or "").upper()
    offset = "+00:00" if written_zone in ("Z", "UTC", "GMT") else written_zone
    fraction = f".{(match['fraction'] or '0')[:6]:0<6}"
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time'] or '00:00'}{fraction}{offset}")
    except ValueError as error:
        raise LatenessError(f"{text!r} is not a valid date-time ({error}).") from None
    return aware(moment, zone) if zone is not None else moment


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(d|day|days|h|hour|hours)\s*$", re.IGNORECASE)


def extended_due(due: datetime | None, extension: str, zone: tzinfo) -> datetime | None:
    """The due date after a roster's extension: a duration (``2d``, ``36h``) or a date-time of its own.

    Raises:
        LatenessError: the extension is neither; or it is a duration and there is no due date.
    """
    if not extension.strip():
        return due
    match = _DURATION.match(extension)
    if not match:
        return parse_time(extension, zone)
    if due is None:
        raise LatenessError(f"The extension {extension!r} extends a due date, but none was given; pass --due or "
                            f"set [due] in {SETTINGS_FILE}.")
    amount = float(match.group(1))
    return due + (timedelta(days=amount) if match.group(2).lower().startswith("d") else timedelta(hours=amount))


def _policy(raw: dict[str, Any], source: Path) -> LatePolicy:
    unknown = set(raw) - {"per", "percent", "cap", "grace_minutes"}
    if unknown:
        raise LatenessError(f"{source} [late_penalty] has unknown keys {sorted(unknown)}; use per, percent, cap, "
                            f"grace_minutes.")
    try:
        unit = Unit(str(raw.get("per", "day")))
        percent, cap = float(raw.get("percent", 0)), float(raw.get("cap", 100))
        grace = timedelta(minutes=float(raw.get("grace_minutes", 0)))
    except (ValueError, TypeError) as error:
        raise LatenessError(f"{source} [late_penalty] is not understood ({error}); per is 'day' or 'hour', the "
                            f"others numbers.") from None
    if not (0 <= percent <= 100 and 0 <= cap <= 100):
        raise LatenessError(f"{source} [late_penalty]: percent and cap are percentages between 0 and 100.")
    return LatePolicy(unit, percent, cap, grace)


def read_settings(course_root: Path) -> Settings:
    """The lateness settings of the course in ``course_root`` (defaults when it has no ``course.toml``).

    Raises:
        LatenessError: the file cannot be read or a value is not understood.
    """
    path = course_root / SETTINGS_FILE
    if not path.is_file():
        return Settings(local_zone(), {}, LatePolicy())
    try:
        import tomllib
    except ModuleNotFoundError:
        raise LatenessError(f"Reading {path} needs Python 3.11 or later (tomllib).") from None
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LatenessError(f"{path} cannot be read: {error}.") from None
    zone: tzinfo = local_zone()
    if "timezone" in raw:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            zone = ZoneInfo(str(raw["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise LatenessError(f"{path}: unknown timezone {raw['timezone']!r}; use an IANA name such as "
                                f"'Europe/Paris'.") from None
    due = {}
    for assignment, value in raw.get("due", {}).items():
        due[assignment] = (aware(value, zone) if isinstance(value, datetime) else parse_time(str(value), zone))
    return Settings(zone, due, _policy(raw.get("late_penalty", {}), path))
