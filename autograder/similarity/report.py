"""The similarity report: ranked pairs, a CSV for spreadsheets and an HTML page for reading.

Everything shown comes from submissions, which are hostile: the HTML escapes every string and
forbids scripts with a Content-Security-Policy; the CSV neutralises cells that a spreadsheet would
run as a formula. The reference solution's text is never written anywhere.
"""
from __future__ import annotations

import csv
import enum
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from autograder.similarity.ranking import Baseline, MatchKind

REFERENCE = "<reference>"
KNOWN_PREFIX = "known:"
CSV_COLUMNS = ("student_a", "student_b", "notebook", "cell", "score")
INDEX_PAGE = "index.html"
#: Leading characters that make spreadsheets evaluate a cell as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SkipReason(enum.Enum):
    """Why a cell was not compared."""

    TOO_SHORT = "its answers are too short (or untouched) to say anything"


@dataclass(frozen=True)
class Side:
    """One side of a pair as shown: the answer's text and the spans that match the other side.
    ``text`` is None where the side must not be shown (the reference solution)."""

    owner: str
    text: str | None
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Pair:
    """A flagged pair of answers to one cell."""

    student_a: str
    student_b: str
    notebook: str
    cell: str
    score: float  # (similarity - cell median) / (1 - cell median), 0..1
    similarity: float  # Jaccard index of the two answers' fingerprints
    kind: MatchKind
    baseline: Baseline
    side_a: Side
    side_b: Side

    def sort_key(self) -> tuple[float, float, str, str, str, str]:
        """Most remarkable first, then a stable order."""
        return (-self.score, -self.similarity, self.notebook, self.cell, self.student_a, self.student_b)


@dataclass
class Report:
    """The outcome of :func:`autograder.similarity.analyse`; ``pairs`` ranked by
    :meth:`Pair.sort_key`."""

    pairs: list[Pair]
    problems: list[str] = field(default_factory=list)
    baselines: dict[tuple[str, str], Baseline] = field(default_factory=dict)
    skipped: dict[tuple[str, str], SkipReason] = field(default_factory=dict)
    students: int = 0

    def write_csv(self, path: Path) -> int:
        """Write one row per flagged pair, most remarkable first; return the number of rows."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as stream:
            writer = csv.writer(stream)
            writer.writerow(CSV_COLUMNS)
            for pair in self.pairs:
                writer.writerow([_spreadsheet_safe(pair.student_a), _spreadsheet_safe(pair.student_b),
                                 _spreadsheet_safe(pair.notebook), _spreadsheet_safe(pair.cell),
                                 f"{pair.score:.3f}"])
        return len(self.pairs)

    def write_html(self, folder: Path) -> Path:
        """Write the report page into ``folder``; return its path."""
        folder.mkdir(parents=True, exist_ok=True)
        page = folder / INDEX_PAGE
        page.write_text(_page(self), encoding="utf-8")
        return page


def _spreadsheet_safe(value: str) -> str:
    """A CSV cell that spreadsheets show as text rather than evaluate."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def highlighted(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """Escaped ``text`` with the given character spans wrapped in ``<mark>``."""
    parts = []
    position = 0
    for start, end in spans:
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        parts.append(_e(text[position:start]))
        parts.append(f"<mark>{_e(text[start:end])}</mark>")
        position = end
    parts.append(_e(text[position:]))
    return "".join(parts)


_STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 110em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f6f6f6; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
mark { background: #ffd56b; }
.note { color: #555; }
"""


def _baseline_text(baseline: Baseline) -> str:
    if not baseline.measured:
        return f"no baseline ({baseline.answers} comparable answers); flagged from {baseline.threshold:.2f}"
    flagged = f"{baseline.threshold:.2f}" if baseline.threshold <= 1.0 else "never (too many alike)"
    return (f"median {baseline.median:.2f}, spread {baseline.spread:.2f}, top 1% from "
            f"{baseline.tail:.2f} over {baseline.pairs} pairs of {baseline.answers} answers; "
            f"flagged from {flagged}")


def _side(side: Side) -> str:
    if side.text is None:
        return (f"<div><h4>{_e(side.owner)}</h4><p class='note'>The reference solution is not shown. "
                f"The highlighted parts of the other answer are those it shares with it.</p></div>")
    return f"<div><h4>{_e(side.owner)}</h4><pre>{highlighted(side.text, side.spans)}</pre></div>"


def _page(report: Report) -> str:
    rows = []
    details = []
    for number, pair in enumerate(report.pairs, start=1):
        rows.append(
            f"<tr><td><a href='#pair{number}'>{number}</a></td><td>{_e(pair.student_a)}</td>"
            f"<td>{_e(pair.student_b)}</td><td>{_e(pair.notebook)}</td><td>{_e(pair.cell)}</td>"
            f"<td>{pair.score:.3f}</td><td>{pair.similarity:.3f}</td></tr>")
        details.append(
            f"<section id='pair{number}'><h3>{number}. {_e(pair.student_a)} and {_e(pair.student_b)}: "
            f"{_e(pair.notebook)}, cell {_e(pair.cell)}</h3>"
            f"<p>score {pair.score:.3f}, similarity {pair.similarity:.3f}; this cell: "
            f"{_e(_baseline_text(pair.baseline))}</p>"
            f"<div class='sides'>{_side(pair.side_a)}{_side(pair.side_b)}</div></section>")
    cells = "".join(
        f"<tr><td>{_e(notebook)}</td><td>{_e(cell)}</td><td>{_e(_baseline_text(baseline))}</td></tr>"
        for (notebook, cell), baseline in sorted(report.baselines.items()))
    skipped = "".join(
        f"<li>{_e(notebook)}, cell {_e(cell)}: {_e(reason.value)}</li>"
        for (notebook, cell), reason in sorted(report.skipped.items()))
    problems = "".join(f"<li>{_e(problem)}</li>" for problem in report.problems)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Similarity report</title><style>{_STYLE}</style></head><body>
<h1>Similarity report</h1>
<p class="note">{report.students} submissions. Each row is a pair of answers to one cell that are more
alike than the cell's independent answers usually are. This informs a person and changes no score:
read both answers before drawing any conclusion. Score: how far the pair's similarity lies from the
cell's median pair (0) towards identical answers (1). Similarity: the share of code fingerprints
(identifiers, comments and layout ignored; starter code removed) that the two answers have in common.</p>
<h2>Flagged pairs ({len(report.pairs)})</h2>
<table><tr><th>#</th><th>student_a</th><th>student_b</th><th>notebook</th><th>cell</th><th>score</th>
<th>similarity</th></tr>{"".join(rows)}</table>
{"".join(details)}
<h2>Baselines per cell</h2><table><tr><th>notebook</th><th>cell</th><th>independent answers</th></tr>{cells}</table>
<h2>Cells not compared</h2><ul>{skipped or "<li>none</li>"}</ul>
<h2>Files that could not be read</h2><ul>{problems or "<li>none</li>"}</ul>
</body></html>
"""
