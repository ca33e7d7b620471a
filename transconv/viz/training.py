"""Figures of a training run: curves per epoch, predictions beside labels, the class palette."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from transconv.viz._common import finish, new_figure, to_numpy_image

__all__ = ["plot_history", "plot_palette", "plot_predictions"]

_PANELS = (
    ("loss", {"train_loss": "train loss"}),
    ("pixel accuracy", {"train_acc": "train", "pixel_acc": "validation"}),
    ("mean IoU", {"mean_iou": "validation"}),
)


def plot_history(history: Sequence[Mapping[str, float]]) -> Figure:
    """Plot loss, pixel accuracy and mean IoU per epoch.

    Parameters
    ----------
    history : sequence of dict
        One dict per epoch with any of the keys ``epoch``, ``train_loss``, ``train_acc``,
        ``pixel_acc``, ``mean_iou``. Missing keys are skipped (a missing ``epoch`` is
        the position, counted from 1).

    Returns
    -------
    Figure
        Three axes (loss, accuracy, mean IoU), with an alt text.

    Examples
    --------
    >>> history = [{"epoch": 1, "train_loss": 1.2, "pixel_acc": 0.6, "mean_iou": 0.2},
    ...            {"epoch": 2, "train_loss": 0.9, "pixel_acc": 0.7}]
    >>> len(plot_history(history).axes)
    3
    """
    fig, axes = new_figure(1, 3, (7.2, 2.8), layout="constrained")
    described = []
    for ax, (ylabel, keys) in zip(axes.flat, _PANELS, strict=False):
        for key, label in keys.items():
            points = [
                (row.get("epoch", index + 1), row[key])
                for index, row in enumerate(history)
                if row.get(key) is not None
            ]
            if points:
                epochs, values = zip(*points, strict=False)
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
                described.append(
                    f"{ylabel} ({label}) from {values[0]:.3g} to {values[-1]:.3g}"
                    f" over epochs {epochs[0]} to {epochs[-1]}"
                )
        if ax.lines:
            ax.legend()
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    alt = "Training curves: " + ("; ".join(described) if described else "no data") + "."
    return finish(fig, alt, layout=False)


def plot_predictions(images: Sequence[Any], labels: Sequence[Any], preds: Sequence[Any]) -> Figure:
    """Grid of image / ground truth / prediction, one row per sample.

    Parameters
    ----------
    images : sequence of Tensor or ndarray
        Images as accepted by [`show_images`][transconv.viz.figures.show_images]
        (normalised floats are rescaled).
    labels : sequence of Tensor
        Integer ``(H, W)`` class maps, coloured with
        [`label2image`][transconv.data.label2image] (255 = ignore gets its own colour).
    preds : sequence of Tensor
        Predicted ``(H, W)`` class maps, coloured the same way.

    Returns
    -------
    Figure
        ``3 * len(images)`` axes, with an alt text.

    Raises
    ------
    ValueError
        If the three sequences differ in length or are empty.

    Examples
    --------
    >>> import torch
    >>> label = torch.zeros(4, 4, dtype=torch.int64)
    >>> len(plot_predictions([torch.rand(3, 4, 4)], [label], [label]).axes)
    3
    """
    from transconv.data import label2image

    if not len(images) == len(labels) == len(preds) or len(images) == 0:
        raise ValueError(
            f"images, labels and preds must have the same length (at least one), got "
            f"{len(images)}, {len(labels)} and {len(preds)}; pass one label and one prediction "
            "per image"
        )
    height, width = np.shape(preds[0])[-2:]
    row_height = 2.4 * min(max(height / max(width, 1), 0.25), 2.0) + 0.3
    fig, axes = new_figure(len(images), 3, (7.2, row_height * len(images)))
    agreement = []
    for row, sample in enumerate(zip(images, labels, preds, strict=False)):
        pictures = [to_numpy_image(sample[0])] + [
            np.asarray(label2image(torch.as_tensor(m).detach().cpu())) for m in sample[1:]
        ]
        titles = ["image", "ground truth", "prediction"]
        for ax, picture, title in zip(axes[row], pictures, titles, strict=True):
            ax.imshow(picture)
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title)
        label, pred = (torch.as_tensor(m).detach().cpu() for m in sample[1:])
        valid = label != 255
        agreement.append(
            float((label[valid] == pred[valid]).double().mean()) if valid.any() else float("nan")
        )
    scores = ", ".join(f"{a:.0%}" for a in agreement)
    alt = (
        f"{len(images)} rows of image, ground truth and prediction (class colours); "
        f"prediction agrees with the ground truth on {scores} of the labelled pixels."
    )
    return finish(fig, alt)


def plot_palette(colormap: Sequence[Sequence[int]], names: Sequence[str]) -> Figure:
    """Colour swatches with class names (e.g. the 21 VOC classes).

    Parameters
    ----------
    colormap : sequence of (r, g, b)
        One RGB triple (0-255) per class.
    names : sequence of str
        One name per class.

    Returns
    -------
    Figure
        One axes, with an alt text.

    Raises
    ------
    ValueError
        If ``colormap`` and ``names`` differ in length.

    Examples
    --------
    >>> len(plot_palette([[0, 0, 0], [128, 0, 0]], ["background", "aeroplane"]).axes)
    1
    """
    if len(colormap) != len(names):
        raise ValueError(
            f"names must have one entry per colour, got {len(names)} names for {len(colormap)} "
            "colours; pass one name per colour"
        )
    ncols = 3
    nrows = -(-len(names) // ncols)
    fig, axes = new_figure(1, 1, (7.2, 0.42 * nrows + 0.3))
    ax = axes[0, 0]
    for index, (rgb, name) in enumerate(zip(colormap, names, strict=False)):
        row, col = divmod(index, ncols)
        colour = tuple(channel / 255 for channel in rgb)
        ax.add_patch(Rectangle((col, row), 0.95, 0.9, facecolor=colour, edgecolor="grey"))
        luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        ax.text(
            col + 0.475,
            row + 0.45,
            f"{index}: {name}",
            ha="center",
            va="center",
            fontsize=9,
            color="black" if luminance > 0.5 else "white",
        )
    ax.set_xlim(0, ncols)
    ax.set_ylim(nrows, 0)
    ax.set_axis_off()
    alt = (
        f"Colour swatches of {len(names)} classes: "
        + ", ".join(
            f"{index} {name} (RGB {tuple(int(c) for c in rgb)})"
            for index, (rgb, name) in enumerate(zip(colormap, names, strict=False))
        )
        + "."
    )
    return finish(fig, alt)
