"""The training budget switch.

Set the environment variable ``COURSE_QUICK=1`` (the grader and CI do) to run
every training cell on a reduced budget; leave it unset for the full budget::

    from course_utils.budget import budget
    num_iters = budget(full=1500, quick=200)
"""
from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

QUICK_ENV = "COURSE_QUICK"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """Return True when ``COURSE_QUICK`` asks for the reduced training budget."""
    raw = os.environ.get(QUICK_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{QUICK_ENV}={raw!r} is not understood; set it to 1 (quick budget) or 0 / unset (full budget)")


def budget(full: T, quick: T) -> T:
    """Return ``quick`` under ``COURSE_QUICK=1`` and ``full`` otherwise."""
    return quick if is_quick() else full
