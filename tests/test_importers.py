"""Importing submissions: every LMS format, no student lost or merged, untrusted paths refused, lateness.

The fast tests build their exports in tmp folders with plain files standing in for notebooks (the
importer matches notebooks by name first); the slow test grades three toy students from every
format and checks that they score as they do from nbgrader's layout.
"""
from __future__ import annotations

import csv
import io
import os
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from autograder import importers, lateness
from autograder.importers import Format, Limits, Options, ProblemKind, Request, SubmissionsError, report
from autograder.roster import Roster, RosterError

NOTEBOOK = "01_toy.ipynb"
EXPECTED = {NOTEBOOK: set()}
UTC = timezone.utc
CONTENT = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def write_zip(path: Path, files: dict[str, bytes], **info_options) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=info_options.get("date_time", (2024, 10, 5, 12, 0, 0)))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path


def collect(tmp_path, source, **kwargs):
    staging = tmp_path / f"staging{len(list(tmp_path.glob('staging*')))}"
    staging.mkdir()
    options = kwargs.pop("options", Options(zone=UTC))
    return importers.collect(source, "toy", EXPECTED, staging, options=options, **kwargs)


def by_student(result):
    return {s.student: s for s in result.submissions}


# ----- formats -----

EXPORTS = {
    Format.NBGRADER: {"alice_smith/toy/01_toy.ipynb": CONTENT, "john_doe/toy/01_toy.ipynb": CONTENT,
                      "john_smith/toy/01_toy.ipynb": CONTENT, "john_smith/toy/timestamp.txt":
                      b"2024-10-05 12:00:00.000000 UTC", "john_smith/other/x.ipynb": CONTENT},
    Format.CANVAS: {"smithalice_101_9001_01_toy.ipynb": CONTENT, "doejohn_LATE_102_9002_01_toy.ipynb": CONTENT,
                    "garcíajosé maría_103_9003_01_toy-1.ipynb": CONTENT,
                    "garcíajosé maría_103_9003_01_toy.ipynb": b"older upload"},
    Format.MOODLE: {"Alice Smith_2001_assignsubmission_file_/01_toy.ipynb": CONTENT,
                    "José María García_2002_assignsubmission_file_/01_toy.ipynb": CONTENT,
                    "John_Doe_2003_assignsubmission_file_01_toy.ipynb": CONTENT,
                    "John_Doe_2003_assignsubmission_onlinetext_onlinetext.html": b"<p>hi</p>"},
    Format.GRADESCOPE: {"submission_metadata.yml": (
        "submission_501:\n  :submitters:\n  - :name: Alice Smith\n    :sid: '1001'\n    :email: a@x.edu\n"
        "  :created_at: 2024-10-05 12:00:00.000000000 +00:00\nsubmission_502:\n  :submitters:\n"
        "  - :name: José García\n    :sid: '1002'\n  - :name: John Doe\n    :sid: ''\n    :email: j@x.edu\n"
        "  :created_at: 2024-10-07 12:00:00.000000000 +00:00\n").encode(),
        "submission_501/01_toy.ipynb": CONTENT, "submission_502/01_toy.ipynb": CONTENT},
    Format.BLACKBOARD: {
        "Toy 1_john_smith_attempt_2024-10-05-11-00-00_01_toy.ipynb": CONTENT,
        "Toy 1_john_smith_attempt_2024-10-05-11-00-00.txt": (
            "Name: John Smith (john_smith)\nAssignment: Toy 1\nDate Submitted: Saturday\n\nFiles:\n"
            "\tOriginal filename: 01_toy.ipynb\n\tFilename: Toy 1_john_smith_attempt_2024-10-05-11-00-00_01_toy.ipynb\n"
        ).encode(),
        "Toy 1_jane_smith_attempt_2024-10-04-09-00-00_01_toy.ipynb": b"first attempt",
        "Toy 1_jane_smith_attempt_2024-10-06-09-00-00_01_toy.ipynb": CONTENT,
        "Toy 1_jane_smith_attempt_2024-10-06-09-00-00.txt": b"Name: Jane Smith (jane_smith)\n"},
}
STUDENTS = {
    Format.NBGRADER: {"alice_smith", "john_doe", "john_smith"},
    Format.CANVAS: {"101", "102", "103"},
    Format.MOODLE: {"2001", "2002", "2003"},
    Format.GRADESCOPE: {"1001", "1002", "j@x.edu"},
    Format.BLACKBOARD: {"john_smith", "jane_smith"},
}


@pytest.mark.parametrize("export_format", list(EXPORTS))
@pytest.mark.parametrize("packed", ["folder", "zip", "wrapped zip"])
def test_each_format_is_detected_and_places_every_student(tmp_path, export_format, packed):
    files = EXPORTS[export_format]
    if packed == "folder":
        source = write_tree(tmp_path / "export", files)
    else:
        prefix = "export_123/" if packed == "wrapped zip" else ""
        source = write_zip(tmp_path / "export.zip", {prefix + name: data for name, data in files.items()})
    result = collect(tmp_path, source)
    assert result.format is export_format
    assert not result.problems, result.problems
    assert set(by_student(result)) == STUDENTS[export_format]
    for submission in result.submissions:
        assert submission.files[NOTEBOOK] is not None and submission.files[NOTEBOOK].read_bytes() == CONTENT


def test_format_details_names_lateness_and_attempts(tmp_path):
    canvas = by_student(collect(tmp_path, write_tree(tmp_path / "c", EXPORTS[Format.CANVAS])))
    assert canvas["102"].marked_late and not canvas["101"].marked_late
    assert canvas["103"].name == "garcíajosé maría"
    assert any("later upload" in note for note in canvas["103"].notes)  # Canvas's -1 rename wins
    moodle = by_student(collect(tmp_path, write_tree(tmp_path / "m", EXPORTS[Format.MOODLE])))
    assert moodle["2002"].name == "José María García" and moodle["2003"].name == "John_Doe"
    assert [p.name for p in moodle["2003"].support_files] == ["onlinetext.html"]
    gradescope = by_student(collect(tmp_path, write_tree(tmp_path / "g", EXPORTS[Format.GRADESCOPE])))
    assert gradescope["1002"].files == gradescope["j@x.edu"].files  # a group: both graded on the same files
    assert gradescope["1001"].submitted_at == datetime(2024, 10, 5, 12, tzinfo=UTC)
    blackboard = collect(tmp_path, write_tree(tmp_path / "b", EXPORTS[Format.BLACKBOARD]))
    students = by_student(blackboard)
    assert students["john_smith"].name == "John Smith"
    assert students["jane_smith"].submitted_at == datetime(2024, 10, 6, 9, tzinfo=UTC)
    assert any("older attempt" in item for item in blackboard.ignored)
    nbgrader = collect(tmp_path, write_tree(tmp_path / "n", EXPORTS[Format.NBGRADER]))
    assert by_student(nbgrader)["john_smith"].submitted_at == datetime(2024, 10, 5, 12, tzinfo=UTC)
    assert any("other/x.ipynb" in item for item in nbgrader.ignored)


def test_zip_member_times_are_submission_times(tmp_path):
    source = write_zip(tmp_path / "m.zip", {"Alice_7_assignsubmission_file_/01_toy.ipynb": CONTENT},
                       date_time=(2024, 10, 6, 8, 30, 0))
    assert collect(tmp_path, source).submissions[0].submitted_at == datetime(2024, 10, 6, 8, 30, tzinfo=UTC)


def test_pattern_of_the_instructor(tmp_path):
    source = write_tree(tmp_path / "p", {"alice--2024-10-05T10:00--01_toy.ipynb": CONTENT,
                                         "bob_b--2024-10-06T10:00--01_toy.ipynb": CONTENT, "README.txt": b"x"})
    result = collect(tmp_path, source,
                     pattern_text=r"(?P<student>.+)--(?P<timestamp>[0-9-]+T[0-9:]+)--(?P<notebook>.+\.ipynb)")
    assert result.format is Format.PATTERN and set(by_student(result)) == {"alice", "bob_b"}
    assert by_student(result)["bob_b"].submitted_at == datetime(2024, 10, 6, 10, tzinfo=UTC)
    assert [p.kind for p in result.problems] == [ProblemKind.UNPLACED] and "README.txt" in result.problems[0].path
    with pytest.raises(SubmissionsError, match="student"):
        collect(tmp_path, source, pattern_text=r"(?P<who>.+)")


def test_forced_format_and_unknown_layout(tmp_path):
    source = write_tree(tmp_path / "x", {"random.ipynb": CONTENT})
    with pytest.raises(SubmissionsError, match="not a known layout.*random.ipynb"):
        collect(tmp_path, source)
    with pytest.raises(SubmissionsError, match="not a canvas export"):
        collect(tmp_path, write_tree(tmp_path / "y", EXPORTS[Format.MOODLE]), export_format=Format.CANVAS)


# ----- nobody lost or merged -----

def test_ids_with_underscores_accents_and_spaces_are_kept_whole(tmp_path):
    files = {f"{name}/toy/01_toy.ipynb": CONTENT for name in ("john_smith", "john_doe", "josé maría", "O'Neil")}
    result = collect(tmp_path, write_zip(tmp_path / "n.zip", files))
    assert set(by_student(result)) == {"john_smith", "john_doe", "josé maría", "O'Neil"} and not result.problems


def test_a_collision_stops_the_import_and_names_everyone(tmp_path):
    nfc, nfd = "josé", "jose\u0301"  # the same name, composed and decomposed (macOS)
    source = write_tree(tmp_path / "n", {f"{nfc}/toy/01_toy.ipynb": CONTENT, f"{nfd}/toy/01_toy.ipynb": CONTENT,
                                         "Alice/toy/01_toy.ipynb": CONTENT, "alice/toy/01_toy.ipynb": CONTENT,
                                         "bob/toy/01_toy.ipynb": CONTENT})
    result = collect(tmp_path, source)
    assert set(by_student(result)) == {"bob"}
    kinds = {p.path.casefold(): p.kind for p in result.problems}
    assert kinds == {"alice": ProblemKind.COLLISION, "josé": ProblemKind.REFUSED}
    assert sorted(left.student for left in result.left_out) == ["Alice", "alice"]
    zipped = collect(tmp_path, write_zip(tmp_path / "n.zip", {f"{nfc}/toy/01_toy.ipynb": CONTENT,
                                                              f"{nfd}/toy/01_toy.ipynb": CONTENT}))
    assert by_student(zipped)["josé"].files[NOTEBOOK] is None and "appears twice" in zipped.problems[0].message
    text = report.render(result, "toy")
    assert "--grade-the-rest" in text and "claim the student id" in text


def test_roster_maps_ids_reports_strangers_and_absentees(tmp_path):
    roster_file = tmp_path / "roster.csv"
    roster_file.write_text("lms_id,student_id,name,email,extension\n101,s-alice,Alice Smith,a@x.edu,\n"
                           "102,s-john,John Doe,,2d\n103,s-jose,José García,,\n104,s-zoe,Zoë Absent,,\n",
                           encoding="utf-8-sig")
    roster = Roster.read(roster_file)
    due = datetime(2024, 10, 4, 23, 59, tzinfo=UTC)
    files = dict(EXPORTS[Format.CANVAS], **{"stranger_999_9999_01_toy.ipynb": CONTENT})
    result = collect(tmp_path, write_tree(tmp_path / "c", files), options=Options(roster, due, UTC))
    students = by_student(result)
    assert {"s-alice", "s-john", "s-jose", "999"} == set(students)
    assert students["s-alice"].name == "Alice Smith" and students["s-alice"].lms_id == "101"
    assert students["s-john"].due == due + timedelta(days=2)
    assert [p.kind for p in result.problems] == [ProblemKind.NOT_ON_ROSTER]
    assert [(left.student, left.reason) for left in result.left_out] == [("s-zoe", "no submission in c")]
    roster_file.write_text("lms_id,student_id\n1,a\n2,a\n")
    with pytest.raises(RosterError, match="student_id 'a' is on two rows"):
        Roster.read(roster_file)
    roster_file.write_text("who,what\n1,2\n")
    with pytest.raises(RosterError, match="no lms_id or student_id column"):
        Roster.read(roster_file)


def test_unplaced_files_and_bad_ids_are_problems(tmp_path):
    source = write_tree(tmp_path / "n", {"alice/toy/01_toy.ipynb": CONTENT, "stray.ipynb": CONTENT,
                                         ".DS_Store": b"x", "alice/toy/.ipynb_checkpoints/01_toy.ipynb": CONTENT})
    result = collect(tmp_path, source)
    assert [(p.kind, p.path) for p in result.problems] == [(ProblemKind.UNPLACED, "stray.ipynb")]
    assert len(result.ignored) == 2  # litter is listed, not graded, not a problem
    bad = collect(tmp_path, write_tree(tmp_path / "d", {"a/b/01_toy.ipynb": CONTENT, "ok/01_toy.ipynb": CONTENT}),
                  pattern_text=r"(?P<student>.+)/(?P<notebook>[^/]+)")
    assert [(p.kind, p.student) for p in bad.problems] == [(ProblemKind.BAD_ID, "a/b")]
    assert set(by_student(bad)) == {"ok"} and [left.student for left in bad.left_out] == ["a/b"]
    dotted = collect(tmp_path, write_tree(tmp_path / "e", {".x__01_toy.ipynb": CONTENT, "ok__01_toy.ipynb": CONTENT}),
                     pattern_text=r"(?P<student>.*)__(?P<notebook>.+)")
    assert set(by_student(dotted)) == {"ok"} and ".x__01_toy.ipynb" in " ".join(dotted.ignored)


# ----- untrusted paths -----

def test_links_fifos_and_hard_links_are_refused(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("solution")
    source = write_tree(tmp_path / "n", {"alice/toy/01_toy.ipynb": CONTENT})
    folder = source / "alice" / "toy"
    (folder / "link.txt").symlink_to(outside)
    (folder / "linked_dir").symlink_to(tmp_path, target_is_directory=True)
    os.link(outside, folder / "hard.txt")
    os.mkfifo(folder / "pipe")
    result = collect(tmp_path, source)
    reasons = {p.path: p.message for p in result.problems}
    assert "symbolic link" in reasons["alice/toy/link.txt"] and "symbolic link" in reasons["alice/toy/linked_dir"]
    assert "hard link" in reasons["alice/toy/hard.txt"] and "FIFO" in reasons["alice/toy/pipe"]
    assert all(p.student == "alice" for p in result.problems)
    alice = by_student(result)["alice"]
    assert alice.support_files == () and any("hard link" in note for note in alice.notes)


def _raw_zip(members: list[tuple[str, bytes, int]]) -> bytes:
    """A zip whose members have exactly these names and unix modes (zipfile would not write some of them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def test_unsafe_archive_members_are_refused(tmp_path):
    inner = _raw_zip([("01_toy.ipynb", CONTENT, 0o100644)])
    deeper = _raw_zip([("again.zip", inner, 0o100644)])
    data = _raw_zip([("alice/toy/01_toy.ipynb", CONTENT, 0o100644), ("/etc/evil.ipynb", b"x", 0o100644),
                     ("alice/toy/../../../evil.ipynb", b"x", 0o100644), ("alice/toy/link", b"/etc/passwd", 0o120777),
                     ("alice/toy/fifo", b"", 0o010644), ("bob/toy/work.zip", inner, 0o100644),
                     ("carol/toy/nested.zip", deeper, 0o100644)])
    source = tmp_path / "export.zip"
    source.write_bytes(data)
    result = collect(tmp_path, source)
    reasons = {p.path: p.message for p in result.problems}
    assert "absolute" in reasons["etc/evil.ipynb"]
    assert "'..'" in reasons["alice/toy/../../../evil.ipynb"]
    assert "symbolic link" in reasons["alice/toy/link"] and "FIFO" in reasons["alice/toy/fifo"]
    assert "nested more than 1 level" in reasons["carol/toy/nested.zip/again.zip"]
    assert by_student(result)["bob"].files[NOTEBOOK].read_bytes() == CONTENT  # a student's own zip is opened
    assert not (tmp_path / "evil.ipynb").exists() and not Path("/etc/evil.ipynb").exists()


def test_zip_bombs_and_oversized_files_are_refused(tmp_path):
    bomb = write_zip(tmp_path / "bomb.zip", {"alice/toy/01_toy.ipynb": b"0" * 5_000_000})
    with pytest.raises(SubmissionsError, match="archive bomb"):
        collect(tmp_path, bomb, limits=Limits(max_total_bytes=1_000_000))
    result = collect(tmp_path, bomb, limits=Limits(max_file_bytes=1_000_000))
    assert "over the limit" in result.problems[0].message and result.problems[0].student == "alice"
    nested = write_zip(tmp_path / "outer.zip", {"alice/toy/work.zip": bomb.read_bytes(),
                                                "bob/toy/01_toy.ipynb": CONTENT})
    refused = collect(tmp_path, nested, limits=Limits(max_total_bytes=2_000_000))
    assert "archive bomb" in refused.problems[0].message and by_student(refused)["bob"].files[NOTEBOOK]
    big = write_tree(tmp_path / "big", {"alice/toy/01_toy.ipynb": CONTENT, "alice/toy/data.bin": b"x" * 2000})
    assert "over the limit" in collect(tmp_path, big, limits=Limits(max_file_bytes=1000)).problems[0].message


def test_a_member_that_lies_about_its_size_is_refused(tmp_path):
    source = write_zip(tmp_path / "lie.zip", {"alice/toy/01_toy.ipynb": b"a" * 100_000})
    data = bytearray(source.read_bytes())
    central = data.rfind(b"PK\x01\x02")  # the central directory's declared size: make it claim 10 bytes
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    source.write_bytes(bytes(data))
    result = collect(tmp_path, source)
    assert result.problems and result.problems[0].kind in (ProblemKind.REFUSED, ProblemKind.UNREADABLE)
    assert by_student(result)["alice"].files[NOTEBOOK] is None


def test_a_corrupt_member_is_unreadable_and_names_the_file(tmp_path):
    source = write_zip(tmp_path / "c.zip", {"alice/toy/01_toy.ipynb": b"a" * 10_000, "bob/toy/01_toy.ipynb": CONTENT})
    data = bytearray(source.read_bytes())
    start = data.find(b"PK\x03\x04") + 30 + len("alice/toy/01_toy.ipynb")
    data[start + 2:start + 12] = b"\xff" * 10
    source.write_bytes(bytes(data))
    result = collect(tmp_path, source)
    assert [(p.kind, p.path) for p in result.problems] == [(ProblemKind.UNREADABLE, "alice/toy/01_toy.ipynb")]


def test_nothing_is_written_outside_staging(tmp_path):
    source = write_zip(tmp_path / "e.zip", EXPORTS[Format.MOODLE])
    before = sorted(p for p in tmp_path.rglob("*"))
    staging = tmp_path / "staging"
    staging.mkdir()
    importers.collect(source, "toy", EXPECTED, staging)
    after = sorted(p for p in tmp_path.rglob("*") if staging not in p.parents and p != staging)
    assert after == [p for p in before if p != staging]


# ----- lateness -----

def test_late_policy_per_day_with_cap_and_grace():
    due = datetime(2024, 10, 4, 23, 59, tzinfo=UTC)
    policy = lateness.LatePolicy(lateness.Unit.DAY, 10, 25, timedelta(minutes=15))
    assert policy.penalty_percent(lateness.Lateness(due + timedelta(minutes=10), due)) == 0
    assert policy.penalty_percent(lateness.Lateness(due + timedelta(hours=2), due)) == 10
    assert policy.penalty_percent(lateness.Lateness(due + timedelta(days=1, hours=1), due)) == 20
    assert policy.penalty_percent(lateness.Lateness(due + timedelta(days=9), due)) == 25
    assert policy.penalty_percent(lateness.Lateness(None, due, marked_late=True)) == 10
    hourly = lateness.LatePolicy(lateness.Unit.HOUR, 2, 100)
    assert hourly.penalty_percent(lateness.Lateness(due + timedelta(hours=5, minutes=1), due)) == 12


def test_course_toml_settings(tmp_path):
    (tmp_path / "course.toml").write_text('timezone = "Europe/Paris"\n[due]\ntoy = "2024-10-04T23:59"\n'
                                          '[late_penalty]\nper = "hour"\npercent = 5\ncap = 50\n')
    settings = lateness.read_settings(tmp_path)
    assert settings.policy == lateness.LatePolicy(lateness.Unit.HOUR, 5, 50)
    assert settings.due["toy"].utcoffset() == timedelta(hours=2)
    (tmp_path / "course.toml").write_text('[late_penalty]\nper = "week"\n')
    with pytest.raises(lateness.LatenessError, match="per is 'day' or 'hour'"):
        lateness.read_settings(tmp_path)


# ----- end to end -----

CORRECT, WRONG = "return np.sum(x, axis=1)", "return np.sum(x, axis=0)"


def _layouts(notebooks: dict[str, bytes]) -> dict[Format, dict[str, bytes]]:
    """The same three students laid out as every format exports them."""
    ids = {"correct": ("101", "Ann Correct"), "untouched": ("102", "Ünal Untouched"), "wrong": ("103", "Wu Wrong")}
    layouts: dict[Format, dict[str, bytes]] = {fmt: {} for fmt in Format}
    metadata = []
    for student, data in notebooks.items():
        lms, name = ids[student]
        layouts[Format.NBGRADER][f"{student}/toy/{NOTEBOOK}"] = data
        layouts[Format.CANVAS][f"{name.lower().replace(' ', '')}_{lms}_9{lms}_{NOTEBOOK}"] = data
        layouts[Format.MOODLE][f"{name}_{lms}_assignsubmission_file_/{NOTEBOOK}"] = data
        layouts[Format.GRADESCOPE][f"submission_{lms}/{NOTEBOOK}"] = data
        metadata.append(f"submission_{lms}:\n  :submitters:\n  - :name: {name}\n    :sid: '{student}'\n")
        layouts[Format.BLACKBOARD][f"Toy_{student}_attempt_2024-10-05-12-00-00_{NOTEBOOK}"] = data
        layouts[Format.PATTERN][f"{student}.{NOTEBOOK}"] = data
    layouts[Format.GRADESCOPE]["submission_metadata.yml"] = "".join(metadata).encode()
    return layouts


@pytest.mark.slow
def test_every_format_grades_like_the_nbgrader_layout(tmp_path):
    import nbformat

    from autograder import batch, release, reports
    from toy_course import make_repo, student_notebook

    course = make_repo(tmp_path / "repo")
    release.release(course, "toy")
    released = course.release / "toy" / NOTEBOOK
    notebooks = {name: nbformat.writes(student_notebook(released, body)).encode()
                 for name, body in (("correct", CORRECT), ("untouched", None), ("wrong", WRONG))}
    roster = tmp_path / "roster.csv"
    roster.write_text("lms_id,student_id,name\n101,correct,Ann\n102,untouched,Ünal\n103,wrong,Wu\n"
                      "104,absent,Abe Sent\n", encoding="utf-8")
    scores = {}
    for export_format, files in _layouts(notebooks).items():
        source = write_zip(tmp_path / f"{export_format.value}.zip", files)
        request = Request(pattern=r"(?P<student>[a-z]+)\.(?P<notebook>.+)" if export_format is Format.PATTERN
                          else None, roster=roster if export_format in (Format.CANVAS, Format.MOODLE) else None,
                          due="2024-10-01T00:00+00:00")
        fresh = course.with_work_folder(tmp_path / f"work-{export_format.value}")
        results = batch.grade(fresh, "toy", source, jobs=3, cell_timeout=10, notebook_timeout=60, progress=False,
                              request=request, grade_the_rest=True)
        scores[export_format] = {r.student: r.notebooks[0].auto_score for r in results}
        if export_format is Format.CANVAS:
            target = tmp_path / "canvas.csv"
            reports.export_csv(fresh, "toy", target)
            rows = {row["student"]: row for row in csv.DictReader(target.open(encoding="utf-8"))}
            assert rows["absent"]["total"] == "" and "no submission" in rows["absent"]["reason"]
            assert rows["correct"]["lms_id"] == "101" and rows["correct"]["name"] == "Ann"
            assert rows["correct"]["late_hours"] == "108.00" and "after the due date" in rows["correct"]["reason"]
            reports.export_csv(fresh, "toy", target, reports.ExportLayout.CANVAS)
            assert next(csv.reader(target.open()))[:2] == ["Student", "ID"]
    expected = {"correct": 2, "untouched": 0, "wrong": 0}
    for export_format, found in scores.items():
        found.pop("absent", None)
        assert found == expected, (export_format, found)
