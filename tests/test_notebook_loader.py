"""Tests for course_utils.notebook_loader, on small notebooks written to tmp_path."""
from __future__ import annotations

import json
import types
from pathlib import Path

import nbformat
import pytest

from course_utils.notebook_loader import NotebookLoadError, load_notebook

FEATURES_CELLS = [
    ("markdown", "# Features\nThis notebook computes features."),          # cell 1
    ("code", "%matplotlib inline\n!pip install nothing\nimport numpy as np\n"
             "from collections import Counter"),                              # cell 2
    ("code", "NUM_BINS = 9\nIMAGE_SHAPE: tuple = (32, 32, 3)\n"
             "TWO_PI = 2 * np.pi\nscale = 3\nSCALED = scale * 2\nSEED = int('3')"),  # cell 3
    ("code", "def histogram(values, bins=NUM_BINS):\n"
             "    \"\"\"Count values into bins.\"\"\"\n"
             "    return np.histogram(values, bins=bins)[0]"),                 # cell 4
    ("code", "import functools\n\n@functools.lru_cache\ndef cached_square(n):\n    return n * n"),  # cell 5
    ("code", "class Extractor:\n    bins = NUM_BINS\n\n"
             "    def __call__(self, values):\n        return histogram(values, self.bins)"),  # cell 6
    ("code", "def hog_features(images):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),  # cell 7
    ("code", "for step in range(3):\n    print('training step', step)\n"
             "raise RuntimeError('the training loop must not run')"),        # cell 8
    ("code", "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"),  # cell 9
    ("code", "assert histogram([1, 2, 3]).sum() == 3\nprint('tests passed')"),  # cell 10
    ("code", "%%time\nthis is not python at all"),                            # cell 11
    ("code", "X_train = np.zeros((5, 3))\nresults = {}\nresults['x'] = 1"),   # cell 12
]


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """Write an nbformat 4 notebook with the given (cell_type, source) cells."""
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        new = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        nb.cells.append(new(source))
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def features(tmp_path: Path) -> Path:
    return write_notebook(tmp_path / "01_features.ipynb", FEATURES_CELLS)


def test_definitions_are_kept(features, capsys):
    mod = load_notebook(features)
    assert isinstance(mod, types.ModuleType)
    assert mod.__name__ == "nb_01_features"
    assert mod.__file__ == str(features.resolve())
    assert mod.NUM_BINS == 9 and mod.IMAGE_SHAPE == (32, 32, 3)
    assert mod.TWO_PI == pytest.approx(2 * mod.np.pi)
    assert list(mod.histogram([0.1, 0.5, 0.9])) == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert mod.cached_square(4) == 16
    assert mod.Extractor()([1, 2]).sum() == 2
    assert mod.Counter("aab")["a"] == 2
    assert capsys.readouterr().out == ""  # neither the training loop nor the tests ran


def test_everything_else_is_dropped(features):
    mod = load_notebook(features)
    for dropped in ["scale", "SCALED", "SEED", "step", "X_train", "results"]:
        assert not hasattr(mod, dropped), dropped


def test_loaded_lists_cells_and_names(features):
    mod = load_notebook(features)
    assert mod.__loaded__ == [
        (2, "np"), (2, "Counter"),
        (3, "NUM_BINS"), (3, "IMAGE_SHAPE"), (3, "TWO_PI"),
        (4, "histogram"), (5, "functools"), (5, "cached_square"),
        (6, "Extractor"), (7, "hog_features"),
        (9, "plt"),  # imports are kept wherever they are, the plotting calls are not
    ]


def test_unfinished_stub_loads_and_raises_only_when_called(features):
    mod = load_notebook(features)
    with pytest.raises(NotImplementedError):
        mod.hog_features(None)


def test_missing_attribute_explains_the_rule(features):
    mod = load_notebook(features)
    with pytest.raises(AttributeError, match=r"01_features.ipynb has no definition 'X_train'.*NUM_BINS"):
        mod.X_train  # noqa: B018


def test_two_loads_are_independent(features):
    first = load_notebook(features)
    second = load_notebook(features)
    assert first is not second
    first.NUM_BINS = 100
    assert second.NUM_BINS == 9
    assert first.histogram is not second.histogram
    assert second.histogram([0.5]).size == 9  # default argument bound at definition time


def test_relative_path_uses_cwd_by_default(features, monkeypatch):
    monkeypatch.chdir(features.parent)
    assert load_notebook("01_features.ipynb").NUM_BINS == 9


def test_relative_path_with_base_dir(features, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)
    mod = load_notebook("01_features.ipynb", base_dir=tmp_path, name="features")
    assert mod.__name__ == "features"
    assert mod.__file__ == str(features.resolve())


def test_notebook_loading_another_resolves_against_its_own_folder(features, tmp_path, monkeypatch):
    write_notebook(tmp_path / "02 linear.ipynb", [
        ("code", "from course_utils.notebook_loader import load_notebook\n"
                 "feats = load_notebook('01_features.ipynb')"),
        ("code", "def num_bins():\n    return feats.NUM_BINS"),
    ])
    monkeypatch.chdir(tmp_path.parent)
    mod = load_notebook(tmp_path / "02 linear.ipynb")
    assert mod.__name__ == "nb_02_linear"
    assert mod.num_bins() == 9


def test_cycle_is_reported(tmp_path):
    loader = "from course_utils.notebook_loader import load_notebook\n"
    write_notebook(tmp_path / "a.ipynb", [("code", loader + "b = load_notebook('b.ipynb')")])
    write_notebook(tmp_path / "b.ipynb", [("code", loader + "a = load_notebook('a.ipynb')")])
    with pytest.raises(NotebookLoadError, match=r"cycle: a.ipynb -> b.ipynb -> a.ipynb"):
        load_notebook(tmp_path / "a.ipynb")


def test_missing_notebook_lists_the_folder(features, tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_notebook("01_feature.ipynb", base_dir=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "01_feature.ipynb") in message
    assert "01_features.ipynb" in message.split("Notebooks in")[1]


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_notebook(tmp_path / "nowhere" / "x.ipynb")


def test_invalid_json(tmp_path):
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{ not json", encoding="utf-8")
    with pytest.raises(NotebookLoadError, match=r"broken.ipynb is not a Jupyter notebook \(not valid JSON"):
        load_notebook(bad)


def test_json_that_is_not_a_notebook(tmp_path):
    other = tmp_path / "data.ipynb"
    other.write_text(json.dumps({"hello": 1}), encoding="utf-8")
    with pytest.raises(NotebookLoadError, match="data.ipynb is not a Jupyter notebook: it has no list of 'cells'"):
        load_notebook(other)


def test_old_nbformat(tmp_path):
    old = tmp_path / "old.ipynb"
    old.write_text(json.dumps({"nbformat": 3, "cells": []}), encoding="utf-8")
    with pytest.raises(NotebookLoadError, match="nbformat 3; only nbformat 4"):
        load_notebook(old)


def test_source_as_single_string(tmp_path):
    nb = tmp_path / "flat.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "LIMIT = 4\n", "metadata": {}, "outputs": [],
         "execution_count": None}]}), encoding="utf-8")
    assert load_notebook(nb).LIMIT == 4


def test_syntax_error_names_notebook_and_cell(tmp_path):
    nb = write_notebook(tmp_path / "syntax.ipynb", [
        ("markdown", "intro"), ("code", "X = 1"), ("code", "def broken(:\n    pass"),
    ])
    with pytest.raises(NotebookLoadError, match=r"syntax.ipynb, cell 3 is not valid Python \(line 1") as info:
        load_notebook(nb)
    assert "Fix the syntax error" in str(info.value)
    assert isinstance(info.value.__cause__, SyntaxError)


def test_error_in_kept_statement_is_wrapped(tmp_path):
    nb = write_notebook(tmp_path / "fails.ipynb", [
        ("code", "import numpy as np"),
        ("code", "LIMIT = 3\n\n@undefined_decorator\ndef f():\n    pass"),
    ])
    with pytest.raises(NotebookLoadError) as info:
        load_notebook(nb)
    message = str(info.value)
    assert "fails.ipynb, cell 2" in message
    assert "running `def f():`" in message
    assert "NameError" in message
    assert isinstance(info.value.__cause__, NameError)


def test_failing_import_is_wrapped(tmp_path):
    nb = write_notebook(tmp_path / "imports.ipynb", [("code", "import no_such_module_for_tests")])
    with pytest.raises(NotebookLoadError, match=r"cell 1: running `import no_such_module_for_tests` "
                                                r"raised ModuleNotFoundError"):
        load_notebook(nb)


def test_argument_validation(features):
    with pytest.raises(TypeError, match="path must be a str or pathlib.Path"):
        load_notebook(1)
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        load_notebook(features, name="")
    with pytest.raises(TypeError, match="base_dir must be"):
        load_notebook("01_features.ipynb", base_dir=3)
