"""General figures: image grids, matrix heatmaps, line plots and overlap maps.

Every function returns a matplotlib ``Figure`` that carries its alt text (read it with
[`alt_text`][transconv.viz.display.alt_text], show it with
[`show`][transconv.viz.display.show]); text is sized to show at 10 CSS pixels or more in the
pages' text column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from transconv.viz._common import (
    annotate_cells,
    decimals_for,
    finish,
    fits_in_cells,
    format_value,
    new_figure,
    text_pt,
    to_numpy_image,
)

__all__ = ["plot_overlap", "plot_series", "show_images", "show_matrix"]


def _describe_image(array: np.ndarray, title: str) -> str:
    kind = "grey" if array.ndim == 2 else "colour"
    return f"{title} ({array.shape[0]}×{array.shape[1]}, {kind})"


def _range(values: np.ndarray) -> str:
    decimals = decimals_for(values)
    return (
        f"{format_value(float(np.nanmin(values)), decimals)} to "
        f"{format_value(float(np.nanmax(values)), decimals)}"
    )


def show_images(
    images: Sequence[Any],
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    cmap: str | None = None,
    scale: float = 2.5,
    shared_scale: bool = False,
) -> Figure:
    """Show images in a grid, one axes per image.

    Parameters
    ----------
    images : sequence of Tensor or ndarray
        Tensors are (C, H, W) or (H, W), numpy arrays (H, W, C) or (H, W); uint8 or float.
        Float colour images outside [0, 1] are min-max rescaled for display.
    titles : sequence of str, optional
        One title per image.
    ncols : int, optional
        Columns of the grid, default all images in one row.
    cmap : str, optional
        Colormap for single-channel images, default ``"gray"``.
    scale : float, optional
        Size of one grid cell in inches, default 2.5.
    shared_scale : bool, optional
        Draw all single-channel images on one colour scale (the smallest to the largest value
        of any of them) with one colour bar, for panels that are compared; default False (each
        image spans its own range).

    Returns
    -------
    Figure
        One axes per image (plus the colour bar's with ``shared_scale``), with an alt text.

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
        raise ValueError("images must hold at least one image, got none; pass a non-empty list")
    if titles is not None and len(titles) != len(images):
        raise ValueError(
            f"titles must have one entry per image, got {len(titles)} titles for {len(images)} "
            "images; pass one title per image, or titles=None"
        )
    ncols = min(ncols or len(images), len(images))
    nrows = -(-len(images) // ncols)
    arrays = [to_numpy_image(image) for image in images]
    grey = [a for a in arrays if a.ndim == 2]
    limits = {}
    if shared_scale and grey:
        limits = {
            "vmin": min(float(a.min()) for a in grey),
            "vmax": max(float(a.max()) for a in grey),
        }
    width = scale * ncols + (0.9 if limits else 0.0)
    fig, axes = new_figure(nrows, ncols, (width, scale * nrows), layout="constrained")
    names = list(titles) if titles is not None else [f"image {i + 1}" for i in range(len(arrays))]
    mappable = None
    for ax, array, name in zip(axes.flat, arrays, names, strict=False):
        shown = ax.imshow(array, cmap=(cmap or "gray") if array.ndim == 2 else None, **limits)
        mappable = shown if array.ndim == 2 else mappable
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(name, fontsize=text_pt(width))
    for ax in axes.flat[len(arrays) :]:
        ax.remove()
    alt = f"{len(arrays)} image{'s' if len(arrays) > 1 else ''}"
    if nrows > 1:
        alt += f" in {nrows} rows of {ncols}"
    parts = [_describe_image(a, n) for a, n in zip(arrays, names, strict=True)]
    alt += ": " + "; ".join(parts) + "."
    if limits and mappable is not None:
        fig.colorbar(mappable, ax=axes[:, -1].tolist(), shrink=0.8)
        scale_range = _range(np.array(list(limits.values())))
        alt += f" Single-channel images share one colour scale, {scale_range}."
    return finish(fig, alt, layout=False)


def show_matrix(
    matrix: Any,
    *,
    title: str | None = None,
    annotate: bool = False,
    zero_white: bool | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Heatmap of a 2-D matrix with a colour bar.

    Parameters
    ----------
    matrix : Tensor or ndarray
        A 2-D array; a sparse tensor is densified.
    title : str, optional
        Axes title.
    annotate : bool, optional
        Write every value in its cell, default False; only when the values fit their cells
        at a legible size (small matrices), ignored otherwise.
    zero_white : bool, optional
        Show exact zeros as white, outside the colour scale. By default on for sparse
        tensors and for matrices that are at least half zeros.
    vmin : float, optional
        Bottom of the colour scale, default the smallest value; give the same ``vmin`` and
        ``vmax`` to heatmaps that are compared.
    vmax : float, optional
        Top of the colour scale, default the largest value.

    Returns
    -------
    Figure
        Two axes, the heatmap and its colour bar, with an alt text.

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
    sparse = isinstance(matrix, torch.Tensor) and matrix.layout != torch.strided
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach().cpu()
        matrix = matrix.to_dense() if sparse else matrix
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2:
        raise ValueError(
            f"matrix must be 2-D, got shape {values.shape}; reshape or select one 2-D slice first"
        )
    rows, cols = values.shape
    zeros = int((values == 0).sum())
    if zero_white is None:
        zero_white = sparse or zeros * 2 >= values.size
    width = min(max(3.0, 0.35 * cols + 1.5), 7.2)
    height = min(max(2.5, 0.35 * rows + 0.8), 7.2)
    fig, axes = new_figure(1, 1, (width, height), layout="constrained")
    ax = axes[0, 0]
    cmap = colormaps["viridis"].with_extremes(bad="white")
    shown = np.ma.masked_equal(values, 0.0) if zero_white else values
    image = ax.imshow(shown, cmap=cmap, interpolation="nearest", vmin=vmin, vmax=vmax)
    fig.colorbar(image, ax=ax)
    cell = (width - 1.5) / cols
    if annotate and values.size <= 400 and fits_in_cells(cell, values, text_pt(width)):
        annotate_cells(ax, values, text_pt(width))
    if title is not None:
        ax.set_title(title)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    alt = (
        f"Heatmap of {title or 'a matrix'}: {rows}×{cols}, values from {_range(values)}; "
        f"{values.size - zeros} of {values.size} entries non-zero"
    )
    alt += " (zeros white)." if zero_white else "."
    return finish(fig, alt, layout=False)


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
    xlabel : str
        Label of the x axis.
    ylabel : str
        Label of the y axis.
    logx : bool, optional
        Logarithmic x axis, default False.
    logy : bool, optional
        Logarithmic y axis, default False.
    title : str, optional
        Axes title.

    Returns
    -------
    Figure
        One axes, with an alt text.

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
                f"series {name!r} must have one value per x ({len(x)}), got {len(values)}; give "
                "one value per x"
            )
    fig, axes = new_figure(1, 1, (5.0, 3.5), layout="constrained")
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
    logs = [axis for axis, on in (("x", logx), ("y", logy)) if on]
    scale = f" (log scale {' and '.join(logs)})" if logs else ""
    alt = f"Line plot of {ylabel} against {xlabel}{scale}: {', '.join(series) or 'no series'}."
    return finish(fig, alt, layout=False)


def plot_overlap(
    counts: torch.Tensor | Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    *,
    shared_scale: bool = True,
) -> Figure:
    """Show one or more overlap-count maps side by side, values written in the cells.

    Parameters
    ----------
    counts : Tensor or sequence of Tensor
        2-D maps, e.g. from [`overlap_counts`][transconv.overlap.overlap_counts].
    titles : sequence of str, optional
        One title per map.
    shared_scale : bool, optional
        One colour scale, from 0 to the largest count of any map, with a colour bar, so the
        maps can be compared by colour; default True.

    Returns
    -------
    Figure
        One axes per map (plus the colour bar's), with an alt text.

    Raises
    ------
    ValueError
        If a map is not 2-D or ``titles`` has the wrong length.

    Examples
    --------
    >>> from transconv.overlap import overlap_counts
    >>> maps = [overlap_counts(4, 3, 2), overlap_counts(4, 4, 2)]
    >>> len(plot_overlap(maps, ["k=3, s=2", "k=4, s=2"]).axes)
    3
    """
    maps = [counts] if isinstance(counts, torch.Tensor) else list(counts)
    if titles is not None and len(titles) != len(maps):
        raise ValueError(
            f"titles must have one entry per map, got {len(titles)} titles for {len(maps)} maps; "
            "pass one title per map, or titles=None"
        )
    arrays = [np.asarray(torch.as_tensor(m).detach().cpu(), dtype=float) for m in maps]
    for index, values in enumerate(arrays):
        if values.ndim != 2:
            raise ValueError(
                f"map {index} must be 2-D (H, W), got shape {values.shape}; pass overlap counts "
                "such as transconv.overlap.overlap_counts returns"
            )
    top = max(float(v.max()) for v in arrays) if shared_scale else None
    width = min(2.6 * len(arrays) + (0.8 if shared_scale else 0.0), 7.2)
    panel = (width - (0.8 if shared_scale else 0.0)) / len(arrays)
    fig, axes = new_figure(1, len(arrays), (width, panel + 0.5), layout="constrained")
    pt = text_pt(width)
    image = None
    for index, (ax, values) in enumerate(zip(axes.flat, arrays, strict=False)):
        image = ax.imshow(values, cmap="magma", vmin=0, vmax=top)
        cell = 0.85 * panel / max(values.shape)
        if values.size <= 400 and fits_in_cells(cell, values, pt):
            annotate_cells(ax, values, pt, middle=top / 2 if top is not None else None)
        ax.set_xticks([])
        ax.set_yticks([])
        if titles is not None:
            ax.set_title(titles[index])
    if shared_scale and image is not None:
        fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="taps per pixel")
    names = list(titles) if titles is not None else [f"map {i + 1}" for i in range(len(arrays))]
    alt = "Overlap counts (kernel taps per output pixel): " + "; ".join(
        f"{name}: {v.shape[0]}×{v.shape[1]}, {_range(v)}"
        for name, v in zip(names, arrays, strict=True)
    )
    alt += "." + (" One colour scale for all maps." if shared_scale and len(arrays) > 1 else "")
    return finish(fig, alt, layout=False)
