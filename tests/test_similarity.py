"""Tests of `course similarity` (autograder.similarity) on a small class the tests write themselves.

The class has one release notebook with a code answer cell holding two functions (k-nearest
neighbours: distances and a prediction), a short answer cell everyone writes alike and a written
answer. Its students: four independent correct implementations, a disguised copy of one of them
(renamed identifiers, other comments, functions in the other order, hostile HTML in comments), a
submission equal to the reference with renamed identifiers, two untouched releases and a few
hostile files.
"""
from __future__ import annotations

import csv
import json
import re
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import similarity
from autograder.similarity import REFERENCE, MatchKind, analyse
from autograder.similarity.answers import AnswerKind
from autograder.similarity.fingerprints import fingerprint, matching_spans
from autograder.similarity.report import CSV_COLUMNS

NOTEBOOK = "01_knn.ipynb"
STARTER = textwrap.dedent('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        # YOUR CODE HERE
        raise NotImplementedError()


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        # YOUR CODE HERE
        raise NotImplementedError()
    ''')
SHORT_STARTER = "def accuracy(predicted, labels):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
SHORT_ANSWER = "def accuracy(predicted, labels):\n    return float(np.mean(predicted == labels))\n"


def _with_starter(body: str) -> str:
    """An answer that keeps the starter's signatures and docstrings."""
    return textwrap.dedent(body)


REFERENCE_ANSWER = _with_starter('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        ### BEGIN SOLUTION
        sq_test = np.sum(test ** 2, axis=1, keepdims=True)
        sq_train = np.sum(train ** 2, axis=1)
        cross = test @ train.T
        return np.sqrt(np.maximum(sq_test + sq_train - 2 * cross, 0))
        ### END SOLUTION


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        ### BEGIN SOLUTION
        d = distances(train, test)
        nearest = np.argsort(d, axis=1)[:, :k]
        votes = labels[nearest]
        return np.array([np.bincount(row).argmax() for row in votes])
        ### END SOLUTION
    ''')
REFERENCE_WRITTEN = ("A larger k averages the labels of more neighbours, which smooths the decision "
                     "boundary and lowers the variance of the classifier at the cost of more bias.")

LOOPS = _with_starter('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        out = np.zeros((len(test), len(train)))
        for i in range(len(test)):
            for j in range(len(train)):
                diff = test[i] - train[j]
                out[i, j] = np.sqrt(np.sum(diff * diff))
        return out


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        result = []
        for row in distances(train, test):
            idx = np.argpartition(row, k)[:k]
            counts = {}
            for lab in labels[idx]:
                counts[lab] = counts.get(lab, 0) + 1
            result.append(max(counts, key=counts.get))
        return np.array(result)
    ''')
# LOOPS, copied: identifiers renamed, comments rewritten (hostile HTML in them), functions swapped.
COPY = _with_starter('''\
    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        # </pre><script>alert("copied")</script> my own voting code
        output_list = []
        for dist_row in distances(train, test):

            closest = np.argpartition(dist_row, k)[:k]   # the k closest
            tally = {}
            for label_value in labels[closest]:
                tally[label_value] = tally.get(label_value, 0) + 1
            output_list.append(max(tally, key=tally.get))
        return np.array(output_list)


    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        # written from scratch, see <img src=x onerror=alert(1)>
        matrix = np.zeros((len(test), len(train)))
        for a in range(len(test)):
            for b in range(len(train)):
                delta = test[a] - train[b]
                matrix[a, b] = np.sqrt(np.sum(delta * delta))
        return matrix
    ''')
BROADCAST = _with_starter('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        delta = test[:, None, :] - train[None, :, :]
        return np.sqrt((delta ** 2).sum(-1))


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        order = distances(train, test).argsort(1)
        preds = np.empty(test.shape[0], dtype=int)
        for n, row in enumerate(order):
            top = labels[row[:k]]
            values, counts = np.unique(top, return_counts=True)
            preds[n] = values[np.argmax(counts)]
        return preds
    ''')
ONE_LOOP = _with_starter('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        rows = []
        for point in test:
            rows.append(np.linalg.norm(train - point, axis=1))
        return np.stack(rows)


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        dist = distances(train, test)
        out = np.zeros(len(test), dtype=np.int64)
        for i in range(len(test)):
            nearest_labels = labels[np.argsort(dist[i])][:k]
            out[i] = np.argmax(np.bincount(nearest_labels))
        return out
    ''')
EINSUM = _with_starter('''\
    def distances(train, test):
        """Euclidean distances, shape (len(test), len(train))."""
        gram = np.einsum('id,jd->ij', test, train)
        a = np.einsum('id,id->i', test, test)[:, np.newaxis]
        b = np.einsum('jd,jd->j', train, train)[np.newaxis, :]
        squared = a + b - 2.0 * gram
        squared[squared < 0] = 0
        return squared ** 0.5


    def predict(train, labels, test, k):
        """Majority label of the k nearest training points of each test point."""
        answer = []
        table = distances(train, test)
        while len(answer) < table.shape[0]:
            row = table[len(answer)]
            chosen = sorted(range(len(row)), key=lambda m: row[m])[:k]
            tally = np.bincount(labels[chosen], minlength=labels.max() + 1)
            answer.append(int(tally.argmax()))
        return np.asarray(answer)
    ''')
# The reference with identifiers renamed and its markers gone: "equal to the reference".
LIKE_REFERENCE = (re.sub(r" *### (BEGIN|END) SOLUTION\n", "", REFERENCE_ANSWER)
                  .replace("sq_test", "aa").replace("sq_train", "bb").replace("cross", "cc")
                  .replace("nearest", "nn").replace("votes", "vv"))

WRITTEN = {
    "alice": "Small k follows single noisy points; larger k votes over more points so one outlier "
             "matters less, but very large k ignores the local structure.",
    "bob": "With k equal to one the classifier memorises the training set. Increasing it makes "
           "predictions steadier and the regions bigger.",
    "carol": "I think bigger k is smoother because many neighbours vote, which reduces noise but "
             "blurs class borders.",
    "dan": "The choice of k trades variance for bias: it should be chosen on validation data, "
           "not on the test set.",
    "frank": "K controls how many labels are combined; the best value depends on the data set.",
}
WRITTEN["<b>eve</b>"] = WRITTEN["alice"].upper().replace(";", ",")


def _cell(cell_type: str, source: str | list[str], grade_id: str | None = None, *, solution: bool = False,
          grade: bool = False, locked: bool = False) -> nbformat.NotebookNode:
    make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = make(source)
    if grade_id is not None:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade,
                                     "locked": locked, "schema_version": 3, "task": False}
    return cell


def _notebook(path: Path, knn: str, short: str, written: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        _cell("markdown", "# k-nearest neighbours"),
        _cell("code", "import numpy as np", "imports", locked=True),
        _cell("code", knn, "knn", solution=True),
        _cell("code", "assert distances(np.zeros((2, 3)), np.ones((4, 3))).shape == (4, 2)", "test_knn",
              grade=True, locked=True),
        _cell("code", short, "accuracy", solution=True),
        _cell("markdown", written, "q_choose_k", solution=True, grade=True),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A release, a reference, a class of submissions, a folder of known solutions."""
    root = tmp_path_factory.mktemp("class")
    release = _notebook(root / "release" / NOTEBOOK, STARTER, SHORT_STARTER, "YOUR ANSWER HERE")
    reference = _notebook(root / "source" / NOTEBOOK, REFERENCE_ANSWER, SHORT_ANSWER, REFERENCE_WRITTEN)
    code = {"alice": LOOPS, "bob": BROADCAST, "carol": ONE_LOOP, "dan": EINSUM, "<b>eve</b>": COPY,
            "frank": LIKE_REFERENCE}
    submissions = {student: {NOTEBOOK: _notebook(root / "submitted" / f"s{number}" / NOTEBOOK, answer,
                                                 SHORT_ANSWER, WRITTEN[student])}
                   for number, (student, answer) in enumerate(code.items())}
    for student in ("grace", "heidi"):
        submissions[student] = {NOTEBOOK: _notebook(root / "submitted" / student / NOTEBOOK, STARTER,
                                                    SHORT_STARTER, "YOUR ANSWER HERE")}
    hostile = root / "submitted" / "hostile"
    hostile.mkdir()
    (hostile / "not_json.ipynb").write_text("<html>not a notebook</html>")
    (hostile / "list.ipynb").write_text("[1, 2, 3]")
    (hostile / "binary.ipynb").write_bytes(b"\xff\xfe\x00garbage")
    (hostile / "cells.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5, "metadata": [],
        "cells": [5, "text", {"cell_type": "code", "source": ["def f(x):\n", "    return x\n"],
                              "metadata": {"nbgrader": {"grade_id": "knn", "solution": True}}},
                  {"cell_type": "code", "source": 7, "metadata": {"nbgrader": "knn"}},
                  {"cell_type": "code", "source": ["print(1)"], "metadata": {"nbgrader": {"grade_id": ["knn"]}}},
                  {"cell_type": "code", "metadata": None}]}))
    (hostile / "deep.ipynb").write_text('{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    (hostile / "folder.ipynb").mkdir()
    submissions["mallory"] = {NOTEBOOK: hostile / "not_json.ipynb"}
    submissions["oscar"] = {NOTEBOOK: hostile / "list.ipynb"}
    submissions["peggy"] = {NOTEBOOK: hostile / "binary.ipynb"}
    submissions["trent"] = {NOTEBOOK: hostile / "cells.ipynb"}
    submissions["walter"] = {NOTEBOOK: hostile / "deep.ipynb"}
    submissions["victor"] = {NOTEBOOK: hostile / "folder.ipynb", "99_extra.ipynb": hostile / "cells.ipynb"}
    known = root / "known"
    known.mkdir()
    (known / "online.py").write_text("import numpy as np\n\n\n" + LOOPS.replace("out", "res"))
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("def unrelated(a):\n    return a")]),
                   known / "blog.ipynb")
    (known / "notes.txt").write_text("not code")
    return {"release": {NOTEBOOK: release}, "submissions": submissions, "reference": {NOTEBOOK: reference},
            "known": known}


@pytest.fixture(scope="module")
def report(course: dict) -> similarity.Report:
    return analyse(course["release"], course["submissions"], course["reference"], course["known"],
                   progress=False)


def _flagged(report: similarity.Report, cell: str = "knn") -> set[tuple[str, str]]:
    return {(pair.student_a, pair.student_b) for pair in report.pairs if pair.cell == cell}


def test_fingerprints_ignore_names_comments_layout_and_function_order() -> None:
    assert fingerprint(LOOPS, AnswerKind.CODE) == fingerprint(COPY, AnswerKind.CODE)
    assert fingerprint(LOOPS, AnswerKind.CODE) != fingerprint(BROADCAST, AnswerKind.CODE)


def test_matching_spans_highlight_code_that_matches() -> None:
    shared = fingerprint(LOOPS, AnswerKind.CODE) & fingerprint(COPY, AnswerKind.CODE)
    spans = matching_spans(COPY, AnswerKind.CODE, shared)
    marked = "".join(COPY[start:end] for start, end in spans)
    assert "matrix[a, b] = np.sqrt(np.sum(delta * delta))" in marked
    assert "tally[label_value] = tally.get(label_value, 0) + 1" in marked


def test_disguised_copy_is_found(report: similarity.Report) -> None:
    assert ("<b>eve</b>", "alice") in _flagged(report)
    assert ("<b>eve</b>", "alice") in _flagged(report, "q_choose_k")
    copy = next(p for p in report.pairs if p.cell == "knn" and p.kind is MatchKind.STUDENT)
    assert copy.similarity > 0.9 and 0 < copy.score <= 1


def test_independent_implementations_are_not_flagged(report: similarity.Report) -> None:
    independent = {"alice", "bob", "carol", "dan", "frank"}
    for pair in report.pairs:
        assert not {pair.student_a, pair.student_b} <= independent, pair


def test_submission_equal_to_reference_is_flagged(report: similarity.Report) -> None:
    matches = {p.student_a for p in report.pairs if p.student_b == REFERENCE}
    assert matches == {"frank"}
    pair = next(p for p in report.pairs if p.student_b == REFERENCE)
    assert pair.kind is MatchKind.REFERENCE and pair.side_b.text is None


def test_known_solutions_are_matched(report: similarity.Report) -> None:
    known = {(p.student_a, p.student_b) for p in report.pairs if p.kind is MatchKind.KNOWN}
    assert known == {("alice", "known:online.py"), ("<b>eve</b>", "known:online.py")}


def test_untouched_release_and_short_cells_are_never_flagged(report: similarity.Report) -> None:
    students = {p.student_a for p in report.pairs} | {p.student_b for p in report.pairs}
    assert not students & {"grace", "heidi"}
    assert (NOTEBOOK, "accuracy") in report.skipped
    assert all(p.cell != "accuracy" for p in report.pairs)


def test_hostile_files_are_reported_not_fatal(report: similarity.Report) -> None:
    problems = "\n".join(report.problems)
    for name in ("not_json.ipynb", "list.ipynb", "binary.ipynb", "deep.ipynb", "folder.ipynb", "notes.txt",
                 "99_extra.ipynb"):
        assert name in problems
    assert not {p.student_a for p in report.pairs} & {"mallory", "oscar", "peggy", "trent", "victor", "walter"}


def test_csv_has_the_columns_and_ranks_most_similar_first(report: similarity.Report, tmp_path: Path) -> None:
    rows = report.write_csv(tmp_path / "similarity.csv")
    with (tmp_path / "similarity.csv").open(newline="", encoding="utf-8") as stream:
        table = list(csv.reader(stream))
    assert tuple(table[0]) == CSV_COLUMNS
    assert rows == len(table) - 1 == len(report.pairs) > 0
    scores = [float(row[4]) for row in table[1:]]
    assert scores == sorted(scores, reverse=True)


def test_html_escapes_submissions_and_hides_the_reference(report: similarity.Report, tmp_path: Path) -> None:
    page = report.write_html(tmp_path / "html").read_text(encoding="utf-8")
    assert "<script>" not in page and "<img" not in page and "<b>eve" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(&quot;copied&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page
    assert "<mark>" in page
    assert "sq_test" not in page and "smooths the decision" not in page  # the reference's own text
    assert "Content-Security-Policy" in page


def test_reading_in_worker_processes_gives_the_same_report(course: dict, report: similarity.Report,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(similarity, "POOL_MIN_STUDENTS", 0)
    pooled = analyse(course["release"], course["submissions"], course["reference"], course["known"],
                     progress=False, workers=2)
    assert [(p.student_a, p.student_b, p.cell, p.score) for p in pooled.pairs] == \
        [(p.student_a, p.student_b, p.cell, p.score) for p in report.pairs]
    assert sorted(pooled.problems) == sorted(report.problems)


def test_answers_many_students_write_alike_are_not_flagged() -> None:
    from autograder.similarity import ranking

    alike = frozenset(range(20))
    own = [frozenset(range(1000 * n, 1000 * n + 20)) for n in range(1, 9)]
    prints, common = ranking.distinctive([alike] * 12 + own)
    assert common == alike
    kept = [found for found in prints if len(found) >= ranking.MIN_FINGERPRINTS]
    assert ranking.student_matches(kept, ranking.baseline(kept, seed="cell")) == []
    copied = own + [own[0] | {5000}]
    assert ranking.student_matches(copied, ranking.baseline(copied, seed="cell")) == [(0, 8, 20 / 21)]
