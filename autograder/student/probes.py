"""In the kernel of ``course check``: the vectorisation rule, checked with the grader's own code.

After a graded cell, the checker runs :func:`print_loop_problems` in the kernel with the names of
the functions that cell's hidden checks hold to the rule. The verdict comes from
:func:`autograder.checks.assert_no_loops`, the function grading uses, so the message is the one
grading gives.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from autograder.checks import assert_no_loops

MARKER = "course-check-loop-rule:"


def loop_problems(namespace: Mapping[str, Any], names: list[str]) -> dict[str, str]:
    """The grader's message for each function of ``names`` in ``namespace`` that breaks the loop rule.

    A name that is not defined, or not a function, is left to the visible tests and the hidden check.
    """
    problems = {}
    for name in names:
        function = namespace.get(name)
        if not callable(function):
            continue
        try:
            assert_no_loops(function, name)
        except AssertionError as error:
            problems[name] = str(error)
    return problems


def print_loop_problems(namespace: Mapping[str, Any], names: list[str]) -> None:
    """Print :func:`loop_problems` as one marked JSON line for the checker to read."""
    print(MARKER + json.dumps(loop_problems(namespace, names)))


def parse(text: str) -> dict[str, str] | None:
    """The problems in the printed output ``text`` of :func:`print_loop_problems`, or None if absent."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            found = json.loads(line[len(MARKER):])
            return {str(name): str(message) for name, message in found.items()}
    return None
