"""Tests of the ``course`` command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from course_utils import data

COURSE = [sys.executable, "-m", "autograder.cli"]


def test_help_lists_the_commands():
    result = subprocess.run(COURSE + ["--help"], capture_output=True, text=True, check=True)
    for command in ("init", "release", "collect", "grade", "feedback", "export", "similarity", "demo", "check",
                    "data"):
        assert f"    {command}" in result.stdout, command
    assert "join as they land" not in result.stdout


@pytest.mark.parametrize("argv", [["data", "--help"], ["data", "generate", "--help"],
                                  ["data", "download", "--help"], ["data", "info", "--help"], ["demo", "--help"],
                                  ["init", "--help"], ["release", "--help"], ["grade", "--help"],
                                  ["feedback", "--help"], ["export", "--help"], ["check", "--help"],
                                  ["collect", "--help"], ["similarity", "--help"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 0
    assert "usage: course" in capsys.readouterr().out


def test_no_command_prints_help_and_fails(capsys):
    assert cli.main([]) == 2
    assert "usage: course" in capsys.readouterr().out


def test_data_generate_and_info(tmp_path, capsys, monkeypatch):
    assert cli.main(["data", "generate", "--n-train", "20", "--n-test", "10", "--dir", str(tmp_path)]) == 0
    assert "cached at" in capsys.readouterr().out
    assert data.synthetic_cache_path(20, 10, 0, tmp_path).exists()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv(data.DATASET_ENV, "synthetic")
    assert cli.main(["data", "info"]) == 0
    assert data.synthetic_cache_path(20, 10, 0, tmp_path).name in capsys.readouterr().out


def test_bad_dataset_variable_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv(data.DATASET_ENV, "mnist")
    assert cli.main(["data", "info"]) == 1
    assert "COURSE_DATASET='mnist' is not a known dataset" in capsys.readouterr().err


def test_download_failure_is_reported_without_traceback(monkeypatch, capsys, tmp_path):
    def offline(root):
        raise data.DownloadError("Could not reach the server. You seem to be offline.")
    monkeypatch.setattr(data, "download_cifar10", offline)
    assert cli.main(["data", "download", "cifar10", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("course: error:") and "offline" in err and "Traceback" not in err


@pytest.mark.slow
def test_demo_runs_offline_end_to_end(tmp_path):
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    # Two students keep this test short; `make demo` grades the whole class.
    result = subprocess.run(COURSE + ["demo", "--output", str(tmp_path / "out"), "--students", "ada_correct,ben_untouched"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    executed = nbformat.read(tmp_path / "out" / "smoke.ipynb", as_version=4)
    outputs = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in outputs)
    assert (tmp_path / "out" / "smoke.html").stat().st_size > 10_000
    assert "ben_untouched" in result.stdout and "0/" in result.stdout
    csv_text = (tmp_path / "out" / "a1_grades.csv").read_text()
    header = csv_text.splitlines()[0].split(",")
    assert header[0] == "student" and ["00_knn", "01_features", "02_linear_classifier", "03_two_layer_net", "total"] \
        == header[header.index("00_knn"):header.index("total") + 1]
    assert (tmp_path / "out" / "course_root" / "feedback" / "ben_untouched" / "a1" / "feedback.html").exists()
    # The reference solutions, graded in the sandbox, earn every automatic point.
    correct = json.loads((tmp_path / "out" / "course_root" / "autograded" / "ada_correct" / "a1" / "results.json").read_text())
    lost = [(nb["name"], cell["grade_id"], cell["message"]) for nb in correct["notebooks"] for cell in nb["cells"]
            if not cell["manual"] and cell["score"] != cell["points"]]
    assert not lost
    # An untouched submission earns nothing, not even a target that is not charged twice.
    untouched = json.loads((tmp_path / "out" / "course_root" / "autograded" / "ben_untouched" / "a1" / "results.json").read_text())
    earned = [(nb["name"], cell["grade_id"]) for nb in untouched["notebooks"] for cell in nb["cells"] if cell["score"]]
    assert not earned
