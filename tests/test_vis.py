"""Tests for course_utils.vis, drawn off-screen with the Agg backend."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils.vis import (  # noqa: E402
    MOSAIC_GAP,
    plot_curves,
    show_class_examples,
    show_filters,
    show_image_grid,
    show_weight_templates,
)

CLASSES = ["plane", "car", "bird"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def image_data(axes) -> list[np.ndarray]:
    """The arrays shown by the axes that show an image, in order."""
    return [np.asarray(ax.images[0].get_array()) for ax in axes if ax.images]


# ---------------------------------------------------------------- show_image_grid

def test_image_grid_uint8_is_shown_unchanged(rng):
    images = rng.integers(0, 256, size=(10, 8, 8, 3), dtype=np.uint8)
    fig = show_image_grid(images, ncols=4, title="samples")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 12  # 3 rows of 4, the last 2 blank
    shown = image_data(fig.axes)
    assert len(shown) == 10
    np.testing.assert_array_equal(shown[3], images[3])
    assert fig._suptitle.get_text() == "samples"


def test_image_grid_float_is_stretched_per_image(rng):
    images = rng.standard_normal((3, 5, 5, 3)) * np.array([1.0, 10.0, 100.0])[:, None, None, None]
    shown = image_data(show_image_grid(images).axes)
    for image in shown:
        assert image.min() == pytest.approx(0.0) and image.max() == pytest.approx(1.0)
    np.testing.assert_allclose(shown[1], (images[1] - images[1].min()) / np.ptp(images[1]))


def test_image_grid_constant_float_image_does_not_divide_by_zero():
    shown = image_data(show_image_grid(np.full((1, 4, 4, 3), 7.0)).axes)
    np.testing.assert_array_equal(shown[0], np.zeros((4, 4, 3)))


def test_image_grid_greyscale_and_few_images(rng):
    fig = show_image_grid(rng.random((3, 6, 6)).astype(np.float32), ncols=8)
    assert len(fig.axes) == 3  # ncols shrinks to the number of images
    assert fig.axes[0].images[0].get_cmap().name == "gray"


def test_image_grid_captions(rng):
    images = rng.integers(0, 256, size=(3, 4, 4, 3), dtype=np.uint8)
    fig = show_image_grid(images, labels=[2, 0, 1], class_names=CLASSES)
    assert [ax.get_title() for ax in fig.axes] == ["bird", "plane", "car"]
    fig = show_image_grid(images, labels=np.array([2, 0, 1]))
    assert [ax.get_title() for ax in fig.axes] == ["2", "0", "1"]


@pytest.mark.parametrize("images, error, message", [
    (np.zeros((2, 3, 8, 8)), ValueError, r"channels-first, use images.transpose\(0, 2, 3, 1\)"),
    (np.zeros((2, 8, 8, 4)), ValueError, "3 colour channels last"),
    (np.zeros((8, 8)), ValueError, "3 or 4-D"),
    (np.zeros((0, 8, 8, 3)), ValueError, "empty"),
    (np.zeros((2, 8, 8, 3), dtype=np.int64), TypeError, "uint8 .* or floating; got int64"),
    (np.zeros((300, 2, 2)), ValueError, r"at most 256.*images\[:64\]"),
])
def test_image_grid_rejects_bad_images(images, error, message):
    with pytest.raises(error, match=message):
        show_image_grid(images)


def test_image_grid_rejects_bad_labels():
    images = np.zeros((2, 4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="one entry per image: 2 images but 3 labels"):
        show_image_grid(images, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        show_image_grid(images, labels=[0, 3], class_names=CLASSES)
    with pytest.raises(TypeError, match="labels must have a signed integer or unsigned integer dtype"):
        show_image_grid(images, labels=[0.0, 1.0])
    with pytest.raises(ValueError, match="only used together with labels"):
        show_image_grid(images, class_names=CLASSES)
    with pytest.raises(ValueError, match="ncols must be a positive integer"):
        show_image_grid(images, ncols=0)


# ---------------------------------------------------------------- show_class_examples

def mosaic_tiles(fig, rows: int, columns: int, size: int) -> list[list[np.ndarray]]:
    """The (size, size) tiles of show_class_examples's mosaic, by row and column."""
    (ax,) = fig.axes
    mosaic = np.asarray(ax.images[0].get_array())
    step = size + MOSAIC_GAP
    assert mosaic.shape[:2] == (rows * step - MOSAIC_GAP, columns * step - MOSAIC_GAP)
    return [[mosaic[r * step:r * step + size, c * step:c * step + size] for c in range(columns)] for r in range(rows)]


def test_class_examples_one_column_per_class():
    y = np.array([0, 1, 2] * 5 + [0, 0])
    X = np.zeros((len(y), 4, 4, 3), dtype=np.uint8)
    X[:, 0, 0, 0] = np.arange(len(y))  # tag each image with its index
    fig = show_class_examples(X, y, CLASSES, per_class=6, seed=1)
    assert [label.get_text() for label in fig.axes[0].get_xticklabels()] == CLASSES
    tiles = mosaic_tiles(fig, 6, 3, 4)
    for column in range(3):
        shown = [tiles[row][column] for row in range(6) if not np.all(tiles[row][column] == 255)]
        assert len(shown) == min(6, np.sum(y == column))  # class 0 has 7, the others 5
        assert all(y[image[0, 0, 0]] == column for image in shown)
        assert len({image[0, 0, 0] for image in shown}) == len(shown)  # no repeats


def test_class_examples_reproducible_and_empty_class(rng):
    X = rng.random((6, 4, 4))
    y = np.array([0, 0, 0, 1, 1, 1])
    first = mosaic_tiles(show_class_examples(X, y, CLASSES, per_class=2, seed=5), 2, 3, 4)
    second = mosaic_tiles(show_class_examples(X, y, CLASSES, per_class=2, seed=5), 2, 3, 4)
    assert all(np.all(first[row][2] == 1.0) for row in range(2)), "the third class has no example: blank tiles"
    assert not any(np.all(first[row][column] == 1.0) for row in range(2) for column in range(2))
    for row in range(2):
        for column in range(3):
            np.testing.assert_array_equal(first[row][column], second[row][column])


def test_class_examples_validation():
    X = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="one entry per image: 3 images but 2 y"):
        show_class_examples(X, np.array([0, 1]), CLASSES)
    with pytest.raises(ValueError, match=r"y must lie in \[0, 3\)"):
        show_class_examples(X, np.array([0, 1, 5]), CLASSES)
    with pytest.raises(TypeError, match="class_names must be a non-empty list of strings"):
        show_class_examples(X, np.array([0, 1, 2]), "plane car bird")
    with pytest.raises(ValueError, match="per_class must be a positive integer"):
        show_class_examples(X, np.array([0, 1, 2]), CLASSES, per_class=0)


# ---------------------------------------------------------------- plot_curves

def test_curves_loss_only():
    fig = plot_curves({"train loss": [3.0, 2.0, 1.5, 1.2]}, title="training")
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_ylabel() == "loss" and ax.get_xlabel() == "iteration"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [3.0, 2.0, 1.5, 1.2])
    assert fig._suptitle.get_text() == "training"


def test_curves_loss_and_accuracy_on_separate_axes():
    history = {"train loss": np.linspace(2, 1, 20), "train acc": [0.1, 0.3, 0.5], "val_Accuracy": [0.1, 0.2, 0.4]}
    fig = plot_curves(history, xlabel="epoch")
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert [t.get_text() for t in acc_ax.get_legend().get_texts()] == ["train acc", "val_Accuracy"]
    assert acc_ax.get_xlabel() == "epoch"


def test_curves_accuracy_only_and_other_names():
    assert len(plot_curves({"val acc": [0.5, 0.6]}).axes) == 1
    assert plot_curves({"learning rate": [1e-3, 1e-4]}).axes[0].get_ylabel() == "value"


def test_curves_smoothing():
    values = np.arange(10, dtype=float)
    ax = plot_curves({"train loss": values}, smooth=4).axes[0]
    raw, smoothed = ax.lines
    np.testing.assert_array_equal(raw.get_ydata(), values)
    np.testing.assert_array_equal(smoothed.get_xdata(), np.arange(3, 10))
    np.testing.assert_allclose(smoothed.get_ydata(), np.arange(7) + 1.5)
    assert raw.get_color() == smoothed.get_color()
    # a window longer than the curve shrinks to the curve
    short = plot_curves({"train loss": [1.0, 2.0]}, smooth=50).axes[0].lines
    assert short[1].get_ydata().tolist() == [1.5]


@pytest.mark.parametrize("history, smooth, error, message", [
    ([1, 2, 3], None, TypeError, "history must be a dict"),
    ({}, None, ValueError, "history is empty"),
    ({"loss": []}, None, ValueError, r"history\['loss'\] is empty"),
    ({"loss": [[1, 2], [3, 4]]}, None, ValueError, r"history\['loss'\] must be a 1-D array"),
    ({1: [1.0]}, None, TypeError, "keys must be curve names"),
    ({"loss": [1.0]}, 0, ValueError, "smooth must be a positive integer"),
])
def test_curves_validation(history, smooth, error, message):
    with pytest.raises(error, match=message):
        plot_curves(history, smooth=smooth)


# ---------------------------------------------------------------- show_weight_templates

def test_weight_templates_with_and_without_bias_row(rng):
    W = rng.standard_normal((4 * 4 * 3, 3))
    with_bias = np.vstack([W, 1e6 * np.ones((1, 3))])  # a huge bias row must not leak into the images
    for weights in (W, with_bias):
        fig = show_weight_templates(weights, CLASSES, image_shape=(4, 4, 3))
        assert [ax.get_title() for ax in fig.axes] == CLASSES
        shown = image_data(fig.axes)
        assert all(image.dtype == np.uint8 and image.shape == (4, 4, 3) for image in shown)
        assert all(image.min() == 0 and image.max() == 255 for image in shown)
        column = W[:, 1]
        expected = ((column - column.min()) / np.ptp(column) * 255).astype(np.uint8).reshape(4, 4, 3)
        np.testing.assert_array_equal(shown[1], expected)


def test_weight_templates_layout_and_greyscale(rng):
    names = [f"class {i}" for i in range(10)]
    fig = show_weight_templates(rng.standard_normal((6 * 6 + 1, 10)), names, image_shape=(6, 6))
    assert len(fig.axes) == 10  # two rows of five
    assert image_data(fig.axes)[0].shape == (6, 6)


def test_weight_templates_validation():
    with pytest.raises(ValueError, match=r"W has 50 rows, but image_shape \(4, 4, 3\) needs 48 \(or 49"):
        show_weight_templates(np.zeros((50, 3)), CLASSES, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="W looks transposed, pass W.T"):
        show_weight_templates(np.zeros((3, 48)), CLASSES, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match="one column per class: 3 class names"):
        show_weight_templates(np.zeros((48, 4)), CLASSES, image_shape=(4, 4, 3))
    with pytest.raises(ValueError, match=r"image_shape must be \(H, W, 3\) or \(H, W\)"):
        show_weight_templates(np.zeros((48, 3)), CLASSES, image_shape=(4, 4, 4))
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        show_weight_templates(np.zeros(48), CLASSES, image_shape=(4, 4, 3))


# ---------------------------------------------------------------- show_filters

def test_filters_rgb_grid(rng):
    w = rng.standard_normal((10, 3, 5, 5))
    fig = show_filters(w, ncols=4)
    assert len(fig.axes) == 1
    grid = image_data(fig.axes)[0]
    assert grid.shape == (3 * 6 + 1, 4 * 6 + 1, 3)
    first = w[0].transpose(1, 2, 0)
    np.testing.assert_allclose(grid[1:6, 1:6], (first - first.min()) / np.ptp(first))
    assert np.all(grid[0] == 1.0) and np.all(grid[:, 0] == 1.0)  # white padding
    assert np.all(grid[13:, 13:] == 1.0)  # the empty cells after filter 10 stay blank


def test_filters_greyscale_and_few_filters(rng):
    grid = image_data(show_filters(rng.standard_normal((2, 1, 3, 3))).axes)[0]
    assert grid.shape == (1 * 4 + 1, 2 * 4 + 1)


@pytest.mark.parametrize("w, message", [
    (np.zeros((4, 2, 3, 3)), "1 or 3 channels"),
    (np.zeros((4, 3, 3)), "4-D array laid out as"),
    (np.zeros((0, 3, 3, 3)), "no filters"),
])
def test_filters_validation(w, message):
    with pytest.raises(ValueError, match=message):
        show_filters(w)
