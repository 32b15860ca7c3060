"""A small reader for the block YAML that Gradescope writes (``submission_metadata.yml``).

It understands what that file uses: nested mappings and lists by indentation, ``- key: value``
list items, Ruby symbol keys (``:name:``), plain, single- and double-quoted scalars, ``[]`` and
``{}``. Values stay strings (or None); the caller converts what it needs. Anything else raises
:class:`YamlError` rather than being guessed.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_KEY = re.compile(r"^(?P<key>:?[^\s:'\"][^:]*?|'[^']*'|\"[^\"]*\"):(?:\s+(?P<value>.*))?$")


class YamlError(ValueError):
    """The text is not the block YAML this reader understands."""


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    text: str


def _scalar(text: str, line: _Line) -> Any:
    text = text.strip()
    if text in ("", "~", "null"):
        return None
    if text == "[]":
        return []
    if text == "{}":
        return {}
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlError(f"line {line.number}: unterminated quoted value")
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise YamlError(f"line {line.number}: a double-quoted value this reader cannot decode") from None
    if text[0] in "[{&*!|>":
        raise YamlError(f"line {line.number}: {text[:20]!r} uses YAML this reader does not understand")
    return text


def _key(text: str) -> str:
    text = text.strip()
    if text[:1] in "'\"":
        text = text[1:-1]
    return text[1:] if text.startswith(":") else text


def _block(lines: list[_Line], index: int, indent: int) -> tuple[Any, int]:
    if lines[index].text.startswith("-"):
        return _list(lines, index, indent)
    return _mapping(lines, index, indent)


def _value_after(lines: list[_Line], index: int, indent: int, rest: str | None, line: _Line) -> tuple[Any, int]:
    if rest:
        return _scalar(rest, line), index + 1
    following = lines[index + 1] if index + 1 < len(lines) else None
    if following and (following.indent > indent or (following.indent == indent and following.text.startswith("-"))):
        return _block(lines, index + 1, following.indent)
    return None, index + 1


def _mapping(lines: list[_Line], index: int, indent: int) -> tuple[dict, int]:
    result: dict[str, Any] = {}
    while index < len(lines) and lines[index].indent == indent and not lines[index].text.startswith("-"):
        line = lines[index]
        match = _KEY.match(line.text)
        if not match:
            raise YamlError(f"line {line.number}: expected 'key: value', found {line.text[:40]!r}")
        result[_key(match["key"])], index = _value_after(lines, index, indent, match["value"], line)
    if index < len(lines) and lines[index].indent > indent:
        raise YamlError(f"line {lines[index].number}: unexpected indentation")
    return result, index


def _list(lines: list[_Line], index: int, indent: int) -> tuple[list, int]:
    result: list[Any] = []
    while index < len(lines) and lines[index].indent == indent and lines[index].text.startswith("-"):
        line = lines[index]
        rest = line.text[1:].strip()
        if not rest:
            value, index = _value_after(lines, index, indent, None, line)
        elif _KEY.match(rest):
            inner = indent + 1 + (len(line.text) - 1 - len(line.text[1:].lstrip()))
            lines[index] = _Line(line.number, inner, rest)
            value, index = _mapping(lines, index, inner)
        else:
            value, index = _scalar(rest, line), index + 1
        result.append(value)
    return result, index


def loads(text: str) -> Any:
    """The value of a block YAML document (mappings, lists and string scalars).

    Raises:
        YamlError: the text uses YAML this reader does not understand; the message names the line.
    """
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlError(f"line {number}: indented with a tab")
        lines.append(_Line(number, len(raw) - len(raw.lstrip()), stripped))
    if not lines:
        return None
    value, index = _block(lines, 0, lines[0].indent)
    if index < len(lines):
        raise YamlError(f"line {lines[index].number}: unexpected indentation")
    return value
