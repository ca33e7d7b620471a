"""Figures and animations for the transconv pages.

Every figure function *returns* a :class:`matplotlib.figure.Figure` (never calls
``plt.show()``); a docs page displays it by ending a cell with it. Figures are closed in
pyplot as soon as they are made, so a notebook shows each one exactly once and many
figures do not pile up in memory.

:func:`animate_convolution` draws conv_arithmetic-style GIFs (Dumoulin & Visin, 2016):
the input grid in blue with padding cells pale and dashed, the kernel footprint shaded as
it slides, and the output grid in cyan filling one pixel per frame. A transposed
convolution is drawn the way conv_arithmetic draws it: as the equivalent stride-1
convolution over the input with ``stride - 1`` zeros inserted between pixels and
``dilation * (kernel_size - 1) - padding`` zeros of padding around it (``output_padding``
extra rows/columns at the bottom/right).

:func:`overlap_counts` computes the quantity behind checkerboard artifacts (Odena,
Dumoulin & Olah, Distill 2016): how many kernel taps land on each output pixel of a
transposed convolution.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.animation import PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from transconv.shapes import conv_output_size, conv_transpose_output_size

__all__ = [
    "animate_convolution",
    "markdown_table",
    "plot_fcn_skips",
    "overlap_counts",
    "plot_history",
    "plot_overlap",
    "plot_palette",
    "plot_predictions",
    "plot_series",
    "show_images",
    "show_matrix",
]

#: Largest number of frames (output pixels) :func:`animate_convolution` will render.
MAX_FRAMES = 400

# conv_arithmetic's palette: blue input, cyan output, pale padding / inserted zeros.
_INPUT_RGB = (0.42, 0.68, 0.84)
_ZERO_RGB = (0.94, 0.96, 0.98)
_KERNEL_RGB = (0.03, 0.19, 0.42)
_OUTPUT_RGB = (0.55, 0.88, 0.91)
_CURRENT_RGB = (0.0, 0.55, 0.62)
_EMPTY_RGB = (1.0, 1.0, 1.0)


# ----------------------------------------------------------------------------- helpers
def _subplots(nrows: int, ncols: int, figsize: tuple[float, float], **kwargs: Any):
    """``plt.subplots`` that hands the figure back to the caller only (closed in pyplot)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, **kwargs)
    plt.close(fig)
    return fig, axes


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Turn an int or a 2-sequence of ints into an ``(h, w)`` tuple."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value), int(value)
    if isinstance(value, Sequence) and len(value) == 2 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{name} must be an int or a pair of ints (h, w), got {value!r}; "
        f"pass e.g. {name}=3 or {name}=(3, 2)"
    )


def _to_numpy_image(image: Any) -> np.ndarray:
    """Return an HxW or HxWxC numpy array ready for ``imshow``.

    Tensors are read as CHW (or HW), or as HWC when only the last dimension has 1, 3 or 4
    entries (what :func:`transconv.data.label2image` returns); numpy arrays as HWC (or HW).
    Float colour images
    outside [0, 1] (e.g. normalised network inputs) are min-max rescaled to [0, 1].
    """
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu()
        if array.ndim == 3 and array.shape[0] in (1, 3, 4):
            array = array.permute(1, 2, 0)
        array = array.numpy()
    else:
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"an image must be HxW or with 1, 3 or 4 channels (CHW tensor or HWC array), "
            f"got shape {tuple(np.shape(image))}; select one image, not a batch"
        )
    if array.ndim == 3 and np.issubdtype(array.dtype, np.floating):
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            array = (array - low) / max(high - low, 1e-12)
    return array


def _hide_unused(axes: np.ndarray, used: int) -> None:
    """Remove the grid cells beyond the first ``used`` axes."""
    for ax in axes.flat[used:]:
        ax.remove()


# ----------------------------------------------------------------------------- tables
def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
                   *, numbers: str = "{:,}") -> str:
    """A Markdown table: text columns left-aligned, numeric columns right-aligned.

    The pages display it with ``IPython.display.Markdown``. A column is numeric when every
    cell in it is an int or float (ints are formatted with ``numbers``, floats with 3
    decimals; None shows as a dash).

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequences
        One sequence of cells per row, as long as ``header``.
    numbers : str, default "{:,}"
        Format of int cells.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If a row is not as long as ``header``.

    Examples
    --------
    >>> print(markdown_table(["model", "parameters", "mIoU"], [["a", 1200, 0.5], ["b", 7, None]]))
    | model | parameters | mIoU |
    |---|---:|---:|
    | a | 1,200 | 0.500 |
    | b | 7 | - |
    """
    bad = [index for index, row in enumerate(rows) if len(row) != len(header)]
    if bad:
        raise ValueError(f"every row needs {len(header)} cells (one per header), "
                         f"row {bad[0]} has {len(rows[bad[0]])}")

    def is_number(cell: Any) -> bool:
        return cell is None or (isinstance(cell, (int, float, np.number))
                                and not isinstance(cell, bool))

    def show(cell: Any) -> str:
        if cell is None:
            return "-"
        if isinstance(cell, (float, np.floating)):
            return f"{cell:.3f}"
        if isinstance(cell, (int, np.integer)) and not isinstance(cell, bool):
            return numbers.format(cell)
        return str(cell)

    numeric = [bool(rows) and all(is_number(row[i]) for row in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(show(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures
def show_images(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    cmap: str | None = None,
    scale: float = 2.5,
) -> Figure:
    """Show images in a grid, one axes per image.

    Parameters
    ----------
    images : sequence of Tensor or ndarray
        Tensors are CHW or HW, numpy arrays HWC or HW; uint8 or float. Float colour
        images outside [0, 1] are min-max rescaled for display.
    titles : sequence of str, optional
        One title per image.
    ncols : int, optional
        Columns of the grid (default: all images in one row).
    cmap : str, optional
        Colormap for single-channel images (default ``"gray"``).
    scale : float
        Size of one grid cell in inches.

    Returns
    -------
    Figure
        One axes per image.

    Raises
    ------
    ValueError
        If there are no images, ``titles`` has the wrong length or an image has an
        unusable shape.

    Examples
    --------
    >>> import torch
    >>> fig = show_images([torch.rand(3, 8, 8), torch.zeros(8, 8)], titles=["rgb", "grey"])
    >>> len(fig.axes)
    2
    """
    if len(images) == 0:
        raise ValueError("show_images got no images; pass a non-empty list")
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"got {len(images)} images but {len(titles)} titles; pass one title per image"
        )
    ncols = min(ncols or len(images), len(images))
    nrows = -(-len(images) // ncols)
    fig, axes = _subplots(nrows, ncols, (scale * ncols, scale * nrows))
    for index, (ax, image) in enumerate(zip(axes.flat, images)):
        array = _to_numpy_image(image)
        ax.imshow(array, cmap=(cmap or "gray") if array.ndim == 2 else None)
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(titles[index], fontsize=9)
    _hide_unused(axes, len(images))
    fig.tight_layout()
    return fig


def _annotate_cells(ax: Any, values: np.ndarray, fmt: str = "{:g}") -> None:
    """Write each value of a small 2-D array in its cell, dark or light by background."""
    middle = (np.nanmax(values) + np.nanmin(values)) / 2 if values.size else 0
    for (row, col), value in np.ndenumerate(values):
        colour = "white" if value < middle else "black"
        ax.text(col, row, fmt.format(value), ha="center", va="center", color=colour,
                fontsize=8)


def show_matrix(
    matrix: Any, *, title: str | None = None, annotate: bool = False
) -> Figure:
    """Heatmap of a 2-D matrix with a colorbar.

    Parameters
    ----------
    matrix : Tensor or ndarray
        A 2-D array (dense; call ``.to_dense()`` on a sparse tensor first).
    title : str, optional
        Axes title.
    annotate : bool
        Write every value in its cell (only readable for small matrices, at most 400
        entries; ignored above that).

    Returns
    -------
    Figure
        Two axes: the heatmap and its colorbar.

    Raises
    ------
    ValueError
        If ``matrix`` is not 2-D.

    Examples
    --------
    >>> import torch
    >>> fig = show_matrix(torch.eye(3), title="identity", annotate=True)
    >>> len(fig.axes)
    2
    """
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu()
        if matrix.layout != torch.strided:
            matrix = matrix.to_dense()
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError(
            f"show_matrix needs a 2-D matrix, got shape {values.shape}; "
            f"reshape or select one 2-D slice first"
        )
    rows, cols = values.shape
    width = min(max(3.0, 0.35 * cols + 1.5), 12.0)
    height = min(max(2.5, 0.35 * rows + 0.8), 10.0)
    fig, axes = _subplots(1, 1, (width, height))
    ax = axes[0, 0]
    image = ax.imshow(values, cmap="viridis", interpolation="nearest")
    fig.colorbar(image, ax=ax)
    if annotate and values.size <= 400:
        _annotate_cells(ax, values)
    if title is not None:
        ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    fig.tight_layout()
    return fig


def plot_series(
    x: Sequence[float],
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    title: str | None = None,
) -> Figure:
    """Line plot of several named series over a shared x.

    Parameters
    ----------
    x : sequence of float
        The shared x values.
    series : mapping of str to sequence of float
        One line per entry, labelled by its key; each as long as ``x``.
    xlabel, ylabel : str
        Axis labels.
    logx, logy : bool
        Logarithmic axes.
    title : str, optional
        Axes title.

    Returns
    -------
    Figure
        One axes.

    Raises
    ------
    ValueError
        If a series is not as long as ``x``.

    Examples
    --------
    >>> fig = plot_series([1, 2, 4], {"dense": [1, 4, 16], "sparse": [1, 2, 4]},
    ...                   xlabel="n", ylabel="bytes", logy=True)
    >>> len(fig.axes)
    1
    """
    for name, values in series.items():
        if len(values) != len(x):
            raise ValueError(
                f"series {name!r} has {len(values)} values but x has {len(x)}; "
                f"give one value per x"
            )
    fig, axes = _subplots(1, 1, (5.0, 3.5))
    ax = axes[0, 0]
    for name, values in series.items():
        ax.plot(list(x), list(values), marker="o", markersize=3, label=name)
    ax.set_xscale("log" if logx else "linear")
    ax.set_yscale("log" if logy else "linear")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if series:
        ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- overlap
def overlap_counts(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int],
    *,
    layers: int = 1,
) -> torch.Tensor:
    """Count how many kernel taps land on each output pixel of a transposed convolution.

    This is the quantity behind checkerboard artifacts (Odena et al., Distill 2016): a
    transposed convolution of an all-ones input with an all-ones kernel. With ``layers``
    > 1 the result is fed through the same transposed convolution again, so each entry
    counts the paths from the input to that output pixel. Away from the border the
    counts are even exactly when ``kernel_size`` is divisible by ``stride``.

    Parameters
    ----------
    input_size : int or (int, int)
        Input height and width.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int)
        Stride of the transposed convolution.
    layers : int
        How many identical transposed convolutions are stacked.

    Returns
    -------
    Tensor
        int64 tensor of shape ``(H_out, W_out)`` (no padding, so
        ``H_out = (H - 1) * stride + kernel_size`` after one layer).

    Raises
    ------
    ValueError
        If ``layers`` is smaller than 1 or a size is invalid (checked by
        :func:`transconv.shapes.conv_transpose_output_size`).

    Examples
    --------
    In 1-D (one row), k = 3 and s = 2 alternate 1, 2, 1, 2 in the interior:

    >>> overlap_counts((1, 7), (1, 3), (1, 2))
    tensor([[1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]])

    while k = 4, s = 2 covers the interior evenly:

    >>> overlap_counts((1, 4), (1, 4), (1, 2))
    tensor([[1, 1, 2, 2, 2, 2, 2, 2, 1, 1]])
    """
    size, kernel, step = (_pair(input_size, "input_size"), _pair(kernel_size, "kernel_size"),
                          _pair(stride, "stride"))
    if not isinstance(layers, int) or isinstance(layers, bool) or layers < 1:
        raise ValueError(f"layers must be an int >= 1 (stacked transposed convolutions), "
                         f"got {layers!r}; use layers=1 for a single one")
    shape = size
    for _ in range(layers):
        shape = conv_transpose_output_size(shape, kernel, stride=step)
    counts = torch.ones(1, 1, *size, dtype=torch.float64)
    weight = torch.ones(1, 1, *kernel, dtype=torch.float64)
    for _ in range(layers):
        counts = F.conv_transpose2d(counts, weight, stride=step)
    return counts[0, 0].round().to(torch.int64)


def plot_overlap(
    counts: torch.Tensor | Sequence[torch.Tensor], titles: Sequence[str] | None = None
) -> Figure:
    """Show one or more overlap-count maps side by side, values written in the cells.

    Parameters
    ----------
    counts : Tensor or sequence of Tensor
        2-D maps, e.g. from :func:`overlap_counts`.
    titles : sequence of str, optional
        One title per map.

    Returns
    -------
    Figure
        One axes per map.

    Raises
    ------
    ValueError
        If a map is not 2-D or ``titles`` has the wrong length.

    Examples
    --------
    >>> maps = [overlap_counts(4, 3, 2), overlap_counts(4, 4, 2)]
    >>> len(plot_overlap(maps, ["k=3, s=2", "k=4, s=2"]).axes)
    2
    """
    maps = [counts] if isinstance(counts, torch.Tensor) else list(counts)
    if titles is not None and len(titles) != len(maps):
        raise ValueError(f"got {len(maps)} maps but {len(titles)} titles; "
                         f"pass one title per map")
    fig, axes = _subplots(1, len(maps), (3.2 * len(maps), 3.4))
    for index, (ax, overlap) in enumerate(zip(axes.flat, maps)):
        values = np.asarray(torch.as_tensor(overlap).detach().cpu(), dtype=float)
        if values.ndim != 2:
            raise ValueError(f"map {index} has shape {values.shape}; an overlap map must "
                             f"be 2-D (H, W)")
        ax.imshow(values, cmap="magma", vmin=0)
        if values.size <= 400:
            _annotate_cells(ax, values)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[index], fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- models
_FCN_STAGES = ("image", "pool1", "pool2", "pool3", "pool4", "pool5", "conv7")
_FCN_STRIDES = (1, 2, 4, 8, 16, 32, 32)
_FCN_SKIPS = {"32s": (), "16s": ("pool4",), "8s": ("pool4", "pool3")}


def plot_fcn_skips(variants: Sequence[str] = ("32s", "16s", "8s")) -> Figure:
    """Diagram of the FCN paper's skip architectures: which maps are scored, fused and upsampled.

    Each row is one variant. Boxes are the VGG-16 stages, drawn with heights proportional to
    ``1 / stride``; a coloured path starts at ``conv7``'s class scores, is upsampled x2 and
    added to the scores of each skip (pool4, then pool3), and the last sum is upsampled to
    the image by x32, x16 or x8.

    Parameters
    ----------
    variants : sequence of {"32s", "16s", "8s"}
        The rows to draw, top to bottom.

    Returns
    -------
    Figure
        One axes.

    Raises
    ------
    ValueError
        If a variant is not one of "32s", "16s", "8s".

    Examples
    --------
    >>> len(plot_fcn_skips(["8s"]).axes)
    1
    """
    unknown = [v for v in variants if v not in _FCN_SKIPS]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty list of {sorted(_FCN_SKIPS)}, "
                         f"got {list(variants)!r}")
    fig, axes = _subplots(1, 1, (9.0, 1.9 * len(variants)))
    ax = axes[0, 0]
    for row, variant in enumerate(variants):
        _draw_fcn_row(ax, y=-2.2 * row, variant=variant)
    ax.set_xlim(-0.6, len(_FCN_STAGES) + 1.0)
    ax.set_ylim(-2.2 * len(variants) + 0.9, 1.0)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


def _draw_fcn_row(ax: Any, y: float, variant: str) -> None:
    """One variant: stage boxes on a line, the fusion path below them, the final upsampling."""
    colour = {"32s": "tab:red", "16s": "tab:green", "8s": "tab:blue"}[variant]
    out_x = len(_FCN_STAGES) + 0.4
    for x, name, stride in [*zip(range(len(_FCN_STAGES)), _FCN_STAGES, _FCN_STRIDES),
                            (out_x, f"FCN-{variant}", 1)]:
        side = 0.7 / stride ** 0.5
        ax.add_patch(Rectangle((x - side / 2, y - side / 2), side, side, linewidth=0.6,
                               facecolor=_OUTPUT_RGB if x == out_x else _INPUT_RGB,
                               edgecolor="black"))
        ax.text(x, y + 0.45, f"{name}\n1/{stride}", ha="center", va="bottom", fontsize=7,
                color=colour if x == out_x else "black")
    skips = _FCN_SKIPS[variant]
    path_y, x = y - 0.6, len(_FCN_STAGES) - 1
    ax.plot([x, x], [y - 0.1, path_y], color=colour, linestyle=":")
    for skip in skips:
        target = _FCN_STAGES.index(skip)
        ax.annotate("", xy=(target, path_y), xytext=(x, path_y),
                    arrowprops={"arrowstyle": "->", "color": colour})
        ax.text((x + target) / 2, path_y + 0.05, "x2", ha="center", fontsize=7, color=colour)
        ax.plot([target, target], [y - 0.2, path_y], color=colour, linestyle=":")
        ax.text(target - 0.12, path_y - 0.05, "+", fontsize=11, color=colour, va="top")
        x = target
    factor = _FCN_STRIDES[_FCN_STAGES.index(skips[-1])] if skips else 32
    low = path_y - 0.35
    ax.plot([x, x, out_x], [path_y, low, low], color=colour, linewidth=1.5)
    ax.annotate("", xy=(out_x, y - 0.36), xytext=(out_x, low),
                arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.5})
    ax.text((x + out_x) / 2, low - 0.05, f"x{factor} (bilinear)", ha="center", va="top",
            fontsize=7, color=colour)


# ----------------------------------------------------------------------------- training
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
        Three axes: loss, accuracy, mean IoU.

    Examples
    --------
    >>> history = [{"epoch": 1, "train_loss": 1.2, "pixel_acc": 0.6, "mean_iou": 0.2},
    ...            {"epoch": 2, "train_loss": 0.9, "pixel_acc": 0.7}]
    >>> len(plot_history(history).axes)
    3
    """
    panels = [
        ("loss", {"train_loss": "train loss"}),
        ("pixel accuracy", {"train_acc": "train", "pixel_acc": "validation"}),
        ("mean IoU", {"mean_iou": "validation"}),
    ]
    fig, axes = _subplots(1, 3, (11.0, 3.2))
    for ax, (ylabel, keys) in zip(axes.flat, panels):
        for key, label in keys.items():
            points = [(row.get("epoch", index + 1), row[key])
                      for index, row in enumerate(history) if row.get(key) is not None]
            if points:
                epochs, values = zip(*points)
                ax.plot(epochs, values, marker="o", markersize=3, label=label)
        if ax.lines:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def plot_predictions(
    images: Sequence[Any], labels: Sequence[Any], preds: Sequence[Any]
) -> Figure:
    """Grid of image / ground truth / prediction, one row per sample.

    Parameters
    ----------
    images : sequence of Tensor or ndarray
        Images as accepted by :func:`show_images` (normalised floats are rescaled).
    labels, preds : sequence of Tensor
        Integer HxW class maps, coloured with :func:`transconv.data.voc.label2image`
        (255 = ignore gets its own colour).

    Returns
    -------
    Figure
        ``3 * len(images)`` axes.

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
    from transconv.data.voc import label2image

    if not len(images) == len(labels) == len(preds) or len(images) == 0:
        raise ValueError(
            f"need as many images, labels and predictions (at least one), got "
            f"{len(images)}, {len(labels)} and {len(preds)}"
        )
    height, width = np.shape(preds[0])[-2:]
    row_height = 2.5 * min(max(height / max(width, 1), 0.25), 2.0) + 0.3
    fig, axes = _subplots(len(images), 3, (7.5, row_height * len(images)))
    for row, sample in enumerate(zip(images, labels, preds)):
        pictures = [_to_numpy_image(sample[0])] + [
            np.asarray(label2image(torch.as_tensor(m).detach().cpu())) for m in sample[1:]
        ]
        for ax, picture, title in zip(axes[row], pictures,
                                      ["image", "ground truth", "prediction"]):
            ax.imshow(picture)
            ax.set_axis_off()
            if row == 0:
                ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


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
        One axes.

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
        raise ValueError(f"got {len(colormap)} colours but {len(names)} names; "
                         f"pass one name per colour")
    ncols = 3
    nrows = -(-len(names) // ncols)
    fig, axes = _subplots(1, 1, (9.0, 0.45 * nrows + 0.3))
    ax = axes[0, 0]
    for index, (rgb, name) in enumerate(zip(colormap, names)):
        row, col = divmod(index, ncols)
        colour = tuple(channel / 255 for channel in rgb)
        ax.add_patch(Rectangle((col, row), 0.95, 0.9, facecolor=colour, edgecolor="grey"))
        luminance = 0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2]
        ax.text(col + 0.475, row + 0.45, f"{index}: {name}", ha="center", va="center",
                fontsize=9, color="black" if luminance > 0.5 else "white")
    ax.set_xlim(0, ncols)
    ax.set_ylim(nrows, 0)
    ax.set_axis_off()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- animation
class _GifWriter(PillowWriter):
    """PillowWriter that redraws only the moving artists per frame and shares one palette.

    ``PillowWriter.grab_frame`` re-renders the whole figure, text included, for every
    frame. Here the static parts (texts, panel layout) are drawn once; each frame restores
    that background and draws only ``animated`` (blitting). ``finish`` quantises every frame
    to one palette: with per-frame palettes unchanged pixels change colour, so the GIF would
    store every frame whole instead of the changed rectangle.
    """

    def __init__(self, animated: Sequence[Any], fps: float) -> None:
        super().__init__(fps=fps)
        self._animated = list(animated)

    def setup(self, fig: Figure, outfile: Any, dpi: float | None = None) -> None:
        super().setup(fig, outfile, dpi=dpi)
        fig.set_dpi(self.dpi)
        canvas = FigureCanvasAgg(fig)
        for artist in self._animated:
            artist.set_animated(True)
        canvas.draw()
        self._background = canvas.copy_from_bbox(fig.bbox)

    def grab_frame(self, **savefig_kwargs: Any) -> None:
        from PIL import Image

        canvas = self.fig.canvas
        canvas.restore_region(self._background)
        for artist in self._animated:
            artist.axes.draw_artist(artist)
        frame = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(),
                                 "raw", "RGBA", 0, 1)
        self._frames.append(frame.convert("RGB"))

    def finish(self) -> None:
        from PIL import Image

        first, last = self._frames[0], self._frames[-1]
        montage = Image.new("RGB", (first.width, first.height * 2))
        montage.paste(first, (0, 0))
        montage.paste(last, (0, first.height))
        palette = montage.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
        self._frames = [frame.quantize(palette=palette, dither=Image.Dither.NONE)
                        for frame in self._frames]
        super().finish()


def _axis_cells(
    n: int, k: int, s: int, p: int, op: int, d: int, transposed: bool
) -> tuple[np.ndarray, int, int]:
    """One axis of the drawn grid: its cells (True = input pixel, False = a zero), the
    stride of the direct convolution that slides over them and its output length."""
    if not transposed:
        cells, step = np.array([False] * p + [True] * n + [False] * p), s
    else:
        border = d * (k - 1) - p
        if border < 0:
            raise ValueError(
                f"padding ({p}) is larger than dilation * (kernel_size - 1) ({d * (k - 1)}): "
                f"this transposed convolution crops instead of padding and cannot be drawn "
                f"as a padded direct convolution; use padding <= {d * (k - 1)} to animate it"
            )
        core = np.zeros((n - 1) * s + 1, dtype=bool)
        core[::s] = True
        cells = np.concatenate([np.zeros(border, bool), core, np.zeros(border + op, bool)])
        step = 1
    return cells, step, (len(cells) - d * (k - 1) - 1) // step + 1


def _animation_grid(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
    padding: tuple[int, int], output_padding: tuple[int, int],
    dilation: tuple[int, int], transposed: bool,
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Validate the arguments and lay out the drawn grid.

    Returns the boolean input-cell mask of the grid, the stride of the equivalent direct
    convolution and the output size (checked against :mod:`transconv.shapes`).
    """
    if transposed:
        expected = conv_transpose_output_size(size, kernel, stride=stride, padding=padding,
                                              output_padding=output_padding,
                                              dilation=dilation)
    else:
        if output_padding != (0, 0):
            raise ValueError(
                f"output_padding ({output_padding}) only exists for transposed "
                f"convolution; pass transposed=True or output_padding=0"
            )
        expected = conv_output_size(size, kernel, stride=stride, padding=padding,
                                    dilation=dilation)
    rows, cols = (_axis_cells(size[i], kernel[i], stride[i], padding[i], output_padding[i],
                              dilation[i], transposed) for i in (0, 1))
    out = (rows[2], cols[2])
    if out != tuple(expected):  # the drawing must compute what PyTorch computes
        raise AssertionError(f"drawn output {out} differs from transconv.shapes' {expected}")
    return np.outer(rows[0], cols[0]), (rows[1], cols[1]), out


def _cell_outlines(mask: np.ndarray) -> list[list[tuple[float, float]]]:
    """Closed outlines of the cells where ``mask`` is True (cell centres at integers)."""
    return [[(c - .5, r - .5), (c + .5, r - .5), (c + .5, r + .5), (c - .5, r + .5),
             (c - .5, r - .5)] for r, c in zip(*np.nonzero(mask))]


def _grid_axes(ax: Any, mask: np.ndarray) -> list[Any]:
    """Draw a grid on ``ax``: an image of cell colours, solid outlines where ``mask``,
    dashed elsewhere. Returns the artists, the image first."""
    artists = [ax.imshow(np.ones((*mask.shape, 3)), interpolation="nearest"),
               ax.add_collection(LineCollection(_cell_outlines(mask), colors="0.25",
                                                linewidths=0.8)),
               ax.add_collection(LineCollection(_cell_outlines(~mask), colors="0.55",
                                                linewidths=0.8, linestyles=(0, (2, 2))))]
    ax.set_xlim(-0.6, mask.shape[1] - 0.4)
    ax.set_ylim(mask.shape[0] - 0.4, -0.6)
    ax.set_axis_off()
    return artists


def _show(value: tuple[int, int]) -> str:
    """``3`` for (3, 3), ``(3, 2)`` otherwise."""
    return str(value[0]) if value[0] == value[1] else str(value)


def _titles(size: tuple[int, int], out: tuple[int, int], grid: tuple[int, ...],
            params: dict[str, tuple[int, int]], transposed: bool) -> tuple[str, str]:
    """Figure title and left-panel title of an animation."""
    name = "conv_transpose2d" if transposed else "conv2d"
    args = " ".join(f"{key}={_show(value)}" for key, value in params.items()
                    if key in ("k", "s") or value != ((1, 1) if key == "d" else (0, 0)))
    head = f"{name} {args}: {size[0]}×{size[1]} → {out[0]}×{out[1]}"
    if not transposed:
        padded = f" padded to {grid[0]}×{grid[1]}" if grid != size else ""
        return head, f"input {size[0]}×{size[1]}{padded}"
    return (f"{head}\n= stride-1 conv over zero-inserted, padded input",
            f"input {size[0]}×{size[1]} → {grid[0]}×{grid[1]} with zeros")


def _render_frames(writer: PillowWriter, images: tuple[Any, Any],
                   mask: np.ndarray, out: tuple[int, int], kernel: tuple[int, int],
                   step: tuple[int, int], dilation: tuple[int, int]) -> None:
    """Grab one frame per output pixel: kernel footprint on the grid, output filling."""
    base = np.where(mask[..., None], _INPUT_RGB, _ZERO_RGB)
    done = np.tile(np.array(_EMPTY_RGB), (*out, 1))
    for i in range(out[0]):
        for j in range(out[1]):
            rows = i * step[0] + dilation[0] * np.arange(kernel[0])
            cols = j * step[1] + dilation[1] * np.arange(kernel[1])
            frame = base.copy()
            frame[np.ix_(rows, cols)] = 0.45 * frame[np.ix_(rows, cols)] + 0.55 * np.array(
                _KERNEL_RGB)
            result = done.copy()
            result[i, j] = _CURRENT_RGB
            images[0].set_data(frame)
            images[1].set_data(result)
            writer.grab_frame()
            done[i, j] = _OUTPUT_RGB


def animate_convolution(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    transposed: bool = False,
    path: str | Path | None = None,
    fps: float = 2,
) -> Path | bytes:
    """Animate a 2-D convolution or transposed convolution as a conv_arithmetic GIF.

    One frame per output pixel: the shaded kernel footprint on the blue input grid
    (padding and inserted zeros pale with dashed outlines) and the cyan output grid
    filling up. A transposed convolution with kernel ``k``, stride ``s``, padding ``p``
    and dilation ``d`` is drawn as the equivalent stride-1 convolution (dilation ``d``)
    over the input with ``s - 1`` zeros inserted between pixels, ``d(k - 1) - p`` zeros
    of padding on each side and ``output_padding`` more at the bottom/right, which gives

    .. math::

        H_{out} = (H - 1)s - 2p + d(k - 1) + \\text{output\\_padding} + 1.

    Parameters
    ----------
    input_size, kernel_size : int or (int, int)
        Input and kernel height and width.
    stride, padding, output_padding, dilation : int or (int, int)
        As in :func:`torch.nn.functional.conv_transpose2d` / ``conv2d``.
    transposed : bool
        Animate the transposed convolution instead of the direct one.
    path : str or Path, optional
        Where to write the GIF; without it the GIF bytes are returned.
    fps : float
        Frames per second.

    Returns
    -------
    Path or bytes
        ``path`` once written, or the GIF bytes.

    Raises
    ------
    ValueError
        For sizes :mod:`transconv.shapes` rejects (e.g. output_padding not smaller than
        stride or dilation, an output smaller than 1), ``output_padding`` without
        ``transposed``, a transposed ``padding`` above ``d(k - 1)`` (a crop, not a
        padding), more than :data:`MAX_FRAMES` output pixels, or ``fps <= 0``.

    Examples
    --------
    >>> gif = animate_convolution(3, 2, stride=2, transposed=True)
    >>> gif[:6]
    b'GIF89a'
    """
    size = _pair(input_size, "input_size")
    kernel = _pair(kernel_size, "kernel_size")
    params = {"k": kernel, "s": _pair(stride, "stride"), "p": _pair(padding, "padding"),
              "op": _pair(output_padding, "output_padding"), "d": _pair(dilation, "dilation")}
    mask, step, out = _animation_grid(size, kernel, params["s"], params["p"], params["op"],
                                      params["d"], transposed)
    if out[0] * out[1] > MAX_FRAMES:
        raise ValueError(f"the output has {out[0]}×{out[1]} = {out[0] * out[1]} pixels, "
                         f"one frame each, more than MAX_FRAMES ({MAX_FRAMES}); "
                         f"animate a smaller input_size")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}; try fps=2")
    if path is None:
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "convolution.gif"
            _write_animation(target, size, out, mask, step, params, transposed, fps)
            return target.read_bytes()
    target = Path(path)
    _write_animation(target, size, out, mask, step, params, transposed, fps)
    return target


def _write_animation(target: Path, size: tuple[int, int], out: tuple[int, int],
                     mask: np.ndarray, step: tuple[int, int],
                     params: dict[str, tuple[int, int]], transposed: bool,
                     fps: float) -> None:
    """Lay out the two panels and write the GIF frames to ``target``."""
    cell = 0.3
    width = cell * (mask.shape[1] + out[1] + 2)
    height = cell * max(mask.shape[0], out[0]) + 0.9
    fig = Figure(figsize=(max(width, 4.2), height))
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[mask.shape[1], out[1]])
    title, left = _titles(size, out, mask.shape, params, transposed)
    # plain texts, not titles: titles are re-laid out on every frame, which is slow
    fig.text(0.5, 1 - 0.06 / height, title, ha="center", va="top", fontsize=8)
    for ax, text in ((ax_in, left), (ax_out, f"output {out[0]}×{out[1]}")):
        ax.text(0.5, 1.0, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=7)
    grid_in = _grid_axes(ax_in, mask)
    grid_out = _grid_axes(ax_out, np.ones(out, dtype=bool))
    images = (grid_in[0], grid_out[0])
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.75 / height,
                        wspace=0.15)
    writer = _GifWriter(grid_in + grid_out, fps=fps)
    with writer.saving(fig, str(target), dpi=72):
        _render_frames(writer, images, mask, out, params["k"], step, params["d"])
