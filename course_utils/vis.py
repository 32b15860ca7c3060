"""Figures for the course notebooks: image grids, training curves, weight templates, filters.

Every function draws with pyplot and returns the :class:`~matplotlib.figure.Figure` without
calling ``plt.show()``; in Jupyter the figure appears below the cell by itself. When the call is
the last line of a cell, assign the result (``fig = plot_curves(history)``) or end the line with
``;``, otherwise Jupyter shows the figure twice. Save a figure with ``fig.savefig("name.png")``.

Images are (H, W, 3) colour or (H, W) greyscale. ``uint8`` images are shown as they are (0-255);
floating images, which after mean subtraction can hold any values, are stretched one by one so
that their smallest value is black and their largest white.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from course_utils._validation import (
    as_array,
    check_dtype_kind,
    check_ndim,
    check_positive_int,
)

__all__ = ["show_image_grid", "show_class_examples", "plot_curves", "show_weight_templates", "show_filters"]

_CELL_INCHES = 1.3  # size of one image in a grid
_MAX_IMAGES = 256   # more would make an unreadable, slow figure
MOSAIC_GAP = 2      # white pixels between the tiles of show_class_examples


def show_image_grid(images: np.ndarray, labels: np.ndarray | Sequence[int] | None = None,
                    class_names: Sequence[str] | None = None, ncols: int = 8,
                    title: str | None = None) -> Figure:
    """Show images in a grid, row by row, optionally captioned with their labels.

    Args:
        images: (N, H, W, 3) or (N, H, W), uint8 or floating, 1 <= N <= 256.
        labels: optional (N,) integer class indices, shown above each image.
        class_names: optional names indexed by label, shown instead of the numbers; needs labels.
        ncols: images per row, a positive int (fewer if there are fewer images).
        title: optional title above the grid.

    Returns:
        The figure, with one axes per grid cell (``ceil(N / ncols) * ncols``; unused ones blank).
    """
    images = _check_images(images, "images")
    if len(images) > _MAX_IMAGES:
        raise ValueError(f"images holds {len(images)} images; show at most {_MAX_IMAGES}, "
                         "e.g. a slice such as images[:64]")
    captions: list[str | None] = [None] * len(images)
    if labels is not None:
        names = None if class_names is None else _check_class_names(class_names)
        labels = _check_labels(labels, len(images), None if names is None else len(names))
        captions = [str(label) if names is None else names[label] for label in labels]
    elif class_names is not None:
        raise ValueError("class_names is only used together with labels; pass labels=... as well")
    ncols = min(check_positive_int(ncols, "ncols"), len(images))
    fig, axes = _grid(math.ceil(len(images) / ncols), ncols, title)
    for ax, image, caption in zip(axes.flat, images, captions):
        _draw(ax, image, caption)
    return fig


def show_class_examples(X: np.ndarray, y: np.ndarray, class_names: Sequence[str], per_class: int = 7,
                        seed: int = 0) -> Figure:
    """Show random examples of every class, one column per class, as one mosaic image.

    Args:
        X: (N, H, W, 3) or (N, H, W) images, uint8 or floating.
        y: (N,) integer labels in ``[0, len(class_names))``.
        class_names: the name of each class, written above its column.
        per_class: examples per class (rows), a positive int; a class with fewer examples
            leaves its remaining cells blank (white).
        seed: seed of the random choice, so the same call shows the same images.

    Returns:
        The figure, with one axes showing the mosaic: ``per_class`` rows and ``len(class_names)``
        columns of (H, W) tiles, ``MOSAIC_GAP`` white pixels apart (one image draws in about a
        third of the time of one axes per example).
    """
    X = _check_images(X, "X")
    names = _check_class_names(class_names)
    y = _check_labels(y, len(X), len(names), name="y")
    per_class = check_positive_int(per_class, "per_class")
    rng = np.random.default_rng(seed)
    height, width = X.shape[1:3]
    white = 255 if X.dtype == np.uint8 else 1.0
    mosaic = np.full((per_class * (height + MOSAIC_GAP) - MOSAIC_GAP, len(names) * (width + MOSAIC_GAP) - MOSAIC_GAP,
                      *X.shape[3:]), white, dtype=X.dtype)
    for column in range(len(names)):
        members = np.flatnonzero(y == column)
        chosen = rng.choice(members, size=min(per_class, len(members)), replace=False)
        for row, index in enumerate(chosen):
            top, left = row * (height + MOSAIC_GAP), column * (width + MOSAIC_GAP)
            mosaic[top:top + height, left:left + width] = X[index]
    fig, ax = plt.subplots(figsize=(len(names) * _CELL_INCHES, per_class * _CELL_INCHES), layout="constrained")
    _draw(ax, mosaic, None)
    ax.axis("on")
    ax.set_xticks([column * (width + MOSAIC_GAP) + (width - 1) / 2 for column in range(len(names))], names,
                  fontsize=9)
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return fig


def plot_curves(history: Mapping[str, Sequence[float]], xlabel: str = "iteration", title: str | None = None,
                smooth: int | None = None) -> Figure:
    """Plot training curves, e.g. ``{"train loss": [...]}`` or ``{"train acc": [...], "val acc": [...]}``.

    Keys containing ``"acc"`` (any case) are accuracy-like and drawn on their own axes, to the
    right of the other (loss-like) curves when both kinds are present. Each curve is plotted
    against its position in the list (0, 1, 2, ...), so lists recorded per epoch belong in a
    separate call with ``xlabel="epoch"``.

    Args:
        history: non-empty mapping from curve name to a non-empty 1-D sequence of numbers.
        xlabel: label of the x axis.
        title: optional title above the axes.
        smooth: optional moving-average window (positive int); the raw curve is then drawn
            faintly and the trailing mean of the last ``smooth`` values on top.

    Returns:
        The figure, with 1 axes, or 2 when both loss-like and accuracy-like curves are given.
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a dict of name -> list of values, e.g. {{'train loss': losses}}; "
                        f"got {type(history).__name__}")
    if not history:
        raise ValueError("history is empty; give at least one curve, e.g. {'train loss': losses}")
    curves = {}
    for key, values in history.items():
        if not isinstance(key, str):
            raise TypeError(f"history keys must be curve names (str); got {key!r}")
        curve = as_array(values, f"history[{key!r}]")
        check_ndim(curve, 1, f"history[{key!r}]", "a list of numbers")
        check_dtype_kind(curve, "fiu", f"history[{key!r}]")
        if curve.size == 0:
            raise ValueError(f"history[{key!r}] is empty; record at least one value before plotting")
        curves[key] = curve.astype(np.float64)
    window = None if smooth is None else check_positive_int(smooth, "smooth")
    accuracy = {key: curve for key, curve in curves.items() if "acc" in key.lower()}
    other = {key: curve for key, curve in curves.items() if key not in accuracy}
    other_label = "loss" if all("loss" in key.lower() for key in other) else "value"
    groups = [(label, group) for label, group in ((other_label, other), ("accuracy", accuracy)) if group]
    fig, axes = plt.subplots(1, len(groups), figsize=(5.5 * len(groups), 3.8), squeeze=False,
                             layout="constrained")
    for ax, (ylabel, group) in zip(axes[0], groups):
        for key, curve in group.items():
            _plot_curve(ax, key, curve, window)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def show_weight_templates(W: np.ndarray, class_names: Sequence[str],
                          image_shape: tuple[int, ...] = (32, 32, 3)) -> Figure:
    """Show each column of a linear classifier's weights as an image, one per class.

    Args:
        W: (D, C) numeric weights, or (D + 1, C) with the bias as the last row (it is dropped),
            where D = prod(image_shape) and C = len(class_names).
        class_names: the name of each class (column of W).
        image_shape: (H, W, 3) or (H, W), the shape of one image before it was flattened.

    Returns:
        The figure, with one axes per class in rows of at most 5; each template is rescaled to
        0-255 on its own.
    """
    W = as_array(W, "W")
    check_ndim(W, 2, "W", "(D, C), one column per class")
    check_dtype_kind(W, "fiu", "W")
    names = _check_class_names(class_names)
    shape = _check_image_shape(image_shape)
    size = math.prod(shape)
    if W.shape[1] != len(names):
        hint = "; W looks transposed, pass W.T" if W.shape[0] == len(names) else ""
        raise ValueError(f"W must have one column per class: {len(names)} class names, "
                         f"but W has shape {W.shape}{hint}")
    if W.shape[0] == size + 1:
        W = W[:-1]
    elif W.shape[0] != size:
        raise ValueError(f"W has {W.shape[0]} rows, but image_shape {shape} needs {size} "
                         f"(or {size + 1} with a bias row last); pass the image_shape of the images "
                         "you flattened")
    templates = _stretch(W.T.reshape(len(names), *shape).astype(np.float64))
    ncols = min(len(names), 5)
    fig, axes = _grid(math.ceil(len(names) / ncols), ncols, None)
    for ax, template, class_name in zip(axes.flat, templates, names):
        _draw(ax, (255 * template).astype(np.uint8), class_name)
    return fig


def show_filters(w: np.ndarray, ncols: int = 8) -> Figure:
    """Show first-layer convolution filters as small images in one padded grid.

    Args:
        w: (F, C, HH, WW) numeric filter weights with C = 1 (grey) or C = 3 (RGB).
        ncols: filters per row, a positive int (fewer if there are fewer filters).

    Returns:
        The figure, with a single axes showing a grid image of shape
        ``(rows * (HH + 1) + 1, ncols * (WW + 1) + 1[, 3])``: each filter rescaled to [0, 1] on its
        own, separated by 1-pixel white lines.
    """
    w = as_array(w, "w")
    check_ndim(w, 4, "w", "(F, C, HH, WW)")
    check_dtype_kind(w, "fiu", "w")
    num_filters, channels, height, width = w.shape
    if channels not in (1, 3):
        raise ValueError(f"w must have 1 or 3 channels on axis 1, laid out as (F, C, HH, WW); got shape "
                         f"{w.shape}. Only first-layer filters can be shown as images")
    if num_filters == 0:
        raise ValueError("w holds no filters (F = 0)")
    ncols = min(check_positive_int(ncols, "ncols"), num_filters)
    nrows = math.ceil(num_filters / ncols)
    filters = _stretch(w.astype(np.float64)).transpose(0, 2, 3, 1)  # (F, HH, WW, C)
    grid = np.ones((nrows * (height + 1) + 1, ncols * (width + 1) + 1, channels))
    for i, image in enumerate(filters):
        top = 1 + (i // ncols) * (height + 1)
        left = 1 + (i % ncols) * (width + 1)
        grid[top:top + height, left:left + width] = image
    fig, ax = plt.subplots(figsize=(max(2.0, 0.6 * ncols), max(2.0, 0.6 * nrows)), layout="constrained")
    _draw(ax, grid[..., 0] if channels == 1 else grid, None)
    return fig


def _check_images(images: object, name: str) -> np.ndarray:
    """Validate a stack of images; return uint8 as is and floats stretched to [0, 1] per image."""
    images = as_array(images, name)
    check_ndim(images, (3, 4), name, "(N, H, W, 3) colour or (N, H, W) greyscale")
    if images.ndim == 4 and images.shape[-1] != 3:
        hint = (f"; it looks channels-first, use {name}.transpose(0, 2, 3, 1)"
                if images.shape[1] == 3 else "")
        raise ValueError(f"{name} must have 3 colour channels last, (N, H, W, 3); got shape {images.shape}{hint}")
    if len(images) == 0:
        raise ValueError(f"{name} is empty (N = 0); there is nothing to show")
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind != "f":
        raise TypeError(f"{name} must be uint8 (pixel values 0-255) or floating; got {images.dtype}. "
                        f"Convert it with {name}.astype(np.uint8) or {name}.astype(np.float64)")
    return _stretch(images.astype(np.float64))


def _stretch(stack: np.ndarray) -> np.ndarray:
    """Rescale each item of ``stack`` (axis 0) to span [0, 1]; constant items become 0."""
    axes = tuple(range(1, stack.ndim))
    low = stack.min(axis=axes, keepdims=True)
    span = stack.max(axis=axes, keepdims=True) - low
    return (stack - low) / np.where(span > 0, span, 1.0)


def _check_class_names(class_names: object) -> list[str]:
    """Return the class names as a list of str, or raise."""
    if isinstance(class_names, str) or not isinstance(class_names, Sequence) or len(class_names) == 0:
        raise TypeError(f"class_names must be a non-empty list of strings, e.g. ['plane', 'car', ...]; "
                        f"got {class_names!r:.60}")
    return [str(class_name) for class_name in class_names]


def _check_labels(labels: object, count: int, num_classes: int | None, name: str = "labels") -> np.ndarray:
    """Validate (count,) integer labels, within [0, num_classes) when that is given."""
    labels = as_array(labels, name)
    check_ndim(labels, 1, name, "(N,)")
    check_dtype_kind(labels, "iu", name)
    if len(labels) != count:
        raise ValueError(f"{name} must have one entry per image: {count} images but {len(labels)} {name}")
    if num_classes is not None and labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{name} must lie in [0, {num_classes}) to index class_names; "
                         f"got values from {labels.min()} to {labels.max()}")
    return labels


def _check_image_shape(image_shape: object) -> tuple[int, ...]:
    """Return ``image_shape`` as a tuple (H, W) or (H, W, 3), or raise."""
    if not isinstance(image_shape, (tuple, list)) or len(image_shape) not in (2, 3) \
            or (len(image_shape) == 3 and image_shape[2] != 3):
        raise ValueError(f"image_shape must be (H, W, 3) or (H, W), e.g. (32, 32, 3); got {image_shape!r}")
    return tuple(check_positive_int(size, "each entry of image_shape") for size in image_shape)


def _grid(nrows: int, ncols: int, title: str | None) -> tuple[Figure, np.ndarray]:
    """A figure with an (nrows, ncols) array of blank axes for images."""
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(ncols * _CELL_INCHES, nrows * _CELL_INCHES + (0.4 if title else 0.0)))
    for ax in axes.flat:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig, axes


def _draw(ax: Axes, image: np.ndarray, caption: str | None) -> None:
    """Show one uint8 or [0, 1] float image, greyscale if 2-D, without ticks."""
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255 if image.dtype == np.uint8 else 1,
                  interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.axis("off")
    if caption is not None:
        ax.set_title(caption, fontsize=9)


def _plot_curve(ax: Axes, key: str, curve: np.ndarray, window: int | None) -> None:
    """Plot one curve, with a trailing moving average on top of a faint raw curve if asked."""
    steps = np.arange(len(curve))
    width = min(window or 1, len(curve))
    if width == 1:
        ax.plot(steps, curve, label=key)
        return
    (raw,) = ax.plot(steps, curve, alpha=0.3)
    smoothed = np.convolve(curve, np.ones(width) / width, mode="valid")
    ax.plot(steps[width - 1:], smoothed, color=raw.get_color(), label=f"{key} (mean of {width})")
