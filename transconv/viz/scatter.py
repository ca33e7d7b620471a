"""The scatter view of transposed convolution, drawn: each input pixel stamps a scaled kernel.

[`plot_scatter`][transconv.viz.scatter.plot_scatter] draws every stamp and their sum;
[`animate_scatter`][transconv.viz.scatter.animate_scatter] adds the stamps one frame per input
pixel; [`animate_scatter_gather`][transconv.viz.scatter.animate_scatter_gather] computes each
output pixel both ways at once, the scatter view above the gather (zero-insertion) view, so
the two are seen to be one operation. Every number drawn is computed by
`transconv.overlap`; none is typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.figure import Figure

from transconv._validation import as_hw
from transconv.overlap import gather_taps, scatter_stamps, zero_insert
from transconv.viz._common import (
    DPI,
    ZERO_RGB,
    blank_figure,
    decimals_for,
    finish,
    fits_in_cells,
    format_value,
    text_pt,
)
from transconv.viz._gif import GifWriter, write_gif
from transconv.viz.animation import check_frames, grid_axes
from transconv.viz.display import Gif

__all__ = ["animate_scatter", "animate_scatter_gather", "plot_scatter"]

_LARGEST_INPUT = 16  # input pixels: one stamp panel (or frame) each
_WHITE = np.array([1.0, 1.0, 1.0])


def _pixel_colours(count: int) -> np.ndarray:
    """One light colour per input pixel (tab10 hues mixed with white), RGB."""
    hues = np.array([colormaps["tab10"](i % 10)[:3] for i in range(count)])
    return 0.45 * hues + 0.55 * _WHITE


@dataclass(frozen=True)
class _Operands:
    """What every drawing here needs: the operands, the stamps and what each stamp covers."""

    x: np.ndarray  # (h, w) float64
    kernel: np.ndarray  # (kh, kw)
    stamps: np.ndarray  # (h, w, H_out, W_out): stamp of each input pixel, placed in the output
    reach: np.ndarray  # the same shape, bool: where each stamp lands
    stride: tuple[int, int]
    padding: tuple[int, int]
    args: str  # "stride=2, padding=1", for titles and alt texts

    @property
    def out(self) -> tuple[int, int]:
        return self.stamps.shape[2:]

    @property
    def total(self) -> np.ndarray:
        return self.stamps.sum(axis=(0, 1))

    @property
    def decimals(self) -> int:
        values = [self.x.ravel(), self.kernel.ravel(), self.stamps.ravel()]
        return decimals_for(np.concatenate(values))


def _prepare(x: torch.Tensor, kernel: torch.Tensor, stride: Any, padding: Any) -> _Operands:
    """Validate, compute the stamps (float64) and describe the operation."""
    s = as_hw(stride, "stride", example="(2, 2)")
    p = as_hw(padding, "padding", minimum=0, example="(1, 1)")
    stamps = scatter_stamps(x, kernel, stride=s, padding=p).double()
    h, w = stamps.shape[:2]
    if h * w > _LARGEST_INPUT:
        raise ValueError(
            f"x must have at most {_LARGEST_INPUT} pixels to be drawn (one stamp "
            f"each), got {h}×{w} = {h * w}; draw a smaller input, e.g. 2×2"
        )
    x64, k64 = x.detach().double(), kernel.detach().double()
    reach = scatter_stamps(torch.ones_like(x64), torch.ones_like(k64), stride=s, padding=p)
    args = f"stride={_pair_text(s)}" + (f", padding={_pair_text(p)}" if p != (0, 0) else "")
    return _Operands(x64.numpy(), k64.numpy(), stamps.numpy(), reach.numpy() > 0, s, p, args)


def _pair_text(value: tuple[int, int]) -> str:
    return str(value[0]) if value[0] == value[1] else str(value)


def _matrix_text(values: np.ndarray, decimals: int) -> str:
    rows = ", ".join(
        "[" + ", ".join(format_value(v, decimals) for v in row) + "]" for row in values
    )
    return f"[{rows}]"


def _number_grid(
    ax: Any,
    colours: np.ndarray,
    values: np.ndarray | None,
    decimals: int,
    fontsize: float,
    blank: np.ndarray | None = None,
) -> list[Any]:
    """Cells coloured by ``colours`` (H, W, 3), outlined, with ``values`` written in them
    (cells where ``blank`` is True stay empty). Returns every artist in drawing order, the
    cell image first and the texts last (one per cell, row by row)."""
    mask = np.ones(colours.shape[:2], dtype=bool)
    artists = grid_axes(ax, mask)
    artists[0].set_data(colours)
    texts = []
    if values is not None:
        for (row, col), value in np.ndenumerate(values):
            empty = blank is not None and blank[row, col]
            texts.append(
                ax.text(
                    col,
                    row,
                    "" if empty else format_value(value, decimals),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                )
            )
    return [*artists, *texts]


def plot_scatter(
    x: torch.Tensor,
    kernel: torch.Tensor,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
) -> Figure:
    """Draw the scatter view: every input pixel's scaled kernel in the output, then their sum.

    Left, the input and the kernel; in the middle, one panel per input pixel $(i, j)$ (laid
    out like the input) with its stamp $x_{ij} K$ placed at $(i s - p, j s - p)$ in the output
    grid; right, the sum of the stamps, which is ``F.conv_transpose2d(x, kernel, stride,
    padding)``, its cells shaded by how many stamps overlap there.

    Parameters
    ----------
    x : Tensor
        The input, 2-D, at most 16 pixels.
    kernel : Tensor
        The kernel, 2-D.
    stride : int or (int, int), optional
        Distance between neighbouring stamps, default 1.
    padding : int or (int, int), optional
        Rows and columns cropped from each border of the summed output, default 0.

    Returns
    -------
    Figure
        With an alt text that lists the input, kernel and output.

    Raises
    ------
    TypeError
        If ``x`` or ``kernel`` is not a tensor, or ``stride`` / ``padding`` is not an int pair.
    ValueError
        If a tensor is not 2-D, ``x`` has more than 16 pixels, or the sizes are impossible.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> fig = plot_scatter(X, X)
    >>> from transconv.viz import alt_text
    >>> alt_text(fig).split("; ")[-1]
    'overlapping stamps sum to [[0, 0, 1], [0, 4, 6], [4, 12, 9]].'
    """
    op = _prepare(x, kernel, stride, padding)
    xs, ks, stamps, reach, args = op.x, op.kernel, op.stamps, op.reach, op.args
    (h, w), (kh, kw), out, total, decimals = xs.shape, ks.shape, op.out, op.total, op.decimals
    width = 7.2
    pt = text_pt(width)
    number_pt = text_pt(width, px=13)  # the numbers are the lesson: larger than labels
    fig = blank_figure((width, 1.0), layout="constrained")
    left_cells = max(w, kw)
    outer = fig.add_gridspec(1, 3, width_ratios=[left_cells, w * (out[1] + 0.6), out[1] * 1.3])
    cell = 0.8 * width / (left_cells + w * (out[1] + 0.6) + out[1] * 1.3)
    fig.set_figheight(
        max(h * (out[0] * cell + 2.2 * pt / 72) + 0.7, (h + kh) * cell + 5 * pt / 72 + 0.6)
    )
    colours = _pixel_colours(h * w).reshape(h, w, 3)
    left = outer[0].subgridspec(2, 1, height_ratios=[h, kh])
    ax = fig.add_subplot(left[0])
    _number_grid(ax, colours, xs, decimals, number_pt)
    ax.set_title("input x")
    ax = fig.add_subplot(left[1])
    _number_grid(ax, np.tile(ZERO_RGB, (kh, kw, 1)), ks, decimals, number_pt)
    ax.set_title("kernel K")
    middle = outer[1].subgridspec(h, w)
    show_numbers = fits_in_cells(cell, stamps, number_pt)
    for (i, j), stamp_colour in zip(np.ndindex(h, w), colours.reshape(-1, 3), strict=False):
        ax = fig.add_subplot(middle[i, j])
        footprint = reach[i, j]
        cells = np.where(footprint[..., None], stamp_colour, _WHITE)
        _number_grid(
            ax, cells, stamps[i, j] if show_numbers else None, decimals, number_pt, blank=~footprint
        )
        ax.set_title(f"{format_value(xs[i, j], decimals)}·K from x[{i},{j}]")
    ax = fig.add_subplot(outer[2])
    covered = reach.sum(axis=(0, 1))
    shade = 1 - 0.12 * covered[..., None] / max(covered.max(), 1)
    _number_grid(ax, np.broadcast_to(shade, (*out, 3)).copy(), total, decimals, number_pt)
    ax.set_title(f"sum {out[0]}×{out[1]}")
    fig.suptitle(
        f"scatter view of conv_transpose2d, {args}: {h}×{w} ⊛ {kh}×{kw} → {out[0]}×{out[1]}"
    )
    alt = (
        f"Scatter view of conv_transpose2d with {args}: each of the {h}×{w} input pixels of "
        f"x = {_matrix_text(xs, decimals)} stamps its scaled copy of the {kh}×{kw} kernel "
        f"K = {_matrix_text(ks, decimals)} into the {out[0]}×{out[1]} output, one panel per "
        f"pixel; overlapping stamps sum to {_matrix_text(total, decimals)}."
    )
    return finish(fig, alt, layout=False)


def animate_scatter(
    x: torch.Tensor,
    kernel: torch.Tensor,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    path: str | Path | None = None,
    fps: float = 1,
) -> Gif | Path:
    """Animate the scatter view: one frame per input pixel, its stamp added to the output.

    Frame $(i, j)$ highlights input pixel $x_{ij}$, the output cells its stamp $x_{ij} K$
    covers, and shows the output's running sum; the last frame shows the whole of
    ``F.conv_transpose2d(x, kernel, stride, padding)``.

    Parameters
    ----------
    x : Tensor
        The input, 2-D, at most 16 pixels.
    kernel : Tensor
        The kernel, 2-D.
    stride : int or (int, int), optional
        Distance between neighbouring stamps, default 1.
    padding : int or (int, int), optional
        Rows and columns cropped from each border of the output, default 0.
    path : str or Path, optional
        Where to write the GIF (its comment holds the alt text); by default it is returned.
    fps : float, optional
        Frames per second, default 1.

    Returns
    -------
    Gif or Path
        The GIF (bytes with ``.alt_text``), or ``path`` once written.

    Raises
    ------
    TypeError
        If ``x`` or ``kernel`` is not a tensor, or ``stride`` / ``padding`` is not an int pair.
    ValueError
        If a tensor is not 2-D, ``x`` has more than 16 pixels, the sizes are impossible, or
        ``fps <= 0``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> gif = animate_scatter(X, X, stride=2)
    >>> gif[:6], gif.alt_text[:40]
    (b'GIF89a', 'Animation of the scatter view of conv_tr')
    """
    op = _prepare(x, kernel, stride, padding)
    xs, ks, stamps, reach, s, p, args = (
        op.x, op.kernel, op.stamps, op.reach, op.stride, op.padding, op.args
    )  # fmt: skip
    (h, w), (kh, kw), out, total, decimals = xs.shape, ks.shape, op.out, op.total, op.decimals
    fps = check_frames((h, w), fps)
    cell = 0.42
    width = max(cell * (w + kw + out[1] + 2), 5.0)
    pt = text_pt(width)
    height = cell * max(h, kh, out[0]) + 7 * pt / 72 + 0.3
    fig = Figure(figsize=(width, height), dpi=DPI)
    axes = fig.subplots(1, 3, width_ratios=[w, kw, out[1]])
    colours = _pixel_colours(h * w).reshape(h, w, 3)
    x_art = _number_grid(axes[0], np.tile(ZERO_RGB, (h, w, 1)), xs, decimals, pt)
    _number_grid(axes[1], np.tile(ZERO_RGB, (kh, kw, 1)), ks, decimals, pt)
    y_art = _number_grid(
        axes[2], np.tile(_WHITE, (*out, 1)), total, decimals, pt, blank=np.ones(out, dtype=bool)
    )
    for ax, label in zip(axes, ("input x", "kernel K", f"output {out[0]}×{out[1]}"), strict=False):
        ax.text(0.5, 1.0, label, transform=ax.transAxes, ha="center", va="bottom", fontsize=pt)
    fig.text(
        0.5,
        1 - 0.05 / height,
        f"scatter view, conv_transpose2d {args}: {h}×{w} → {out[0]}×{out[1]}",
        ha="center",
        va="top",
        fontsize=pt,
    )
    caption = fig.text(0.5, 0.03, "", ha="center", va="bottom", fontsize=pt)
    fig.subplots_adjust(
        left=0.02,
        right=0.98,
        bottom=(0.1 + 1.6 * pt / 72) / height,
        top=1 - (0.15 + 3.0 * pt / 72) / height,
        wspace=0.2,
    )
    alt = (
        f"Animation of the scatter view of conv_transpose2d with {args}, input "
        f"x = {_matrix_text(xs, decimals)}, kernel K = {_matrix_text(ks, decimals)}: one frame "
        f"per input pixel, each adding its scaled copy of K into the {out[0]}×{out[1]} "
        f"output; the last frame shows the sum {_matrix_text(total, decimals)}."
    )

    def frames(writer: GifWriter) -> None:
        running, touched = np.zeros(out), np.zeros(out, dtype=bool)
        for _index, (i, j) in enumerate(np.ndindex(h, w)):
            footprint = reach[i, j]
            running += stamps[i, j]
            touched |= footprint
            x_colours = np.tile(ZERO_RGB, (h, w, 1))
            x_colours[i, j] = colours[i, j]
            x_art[0].set_data(x_colours)
            y_colours = np.where(touched[..., None], ZERO_RGB, _WHITE)
            y_colours[footprint] = colours[i, j]
            y_art[0].set_data(y_colours)
            for text, value, seen in zip(y_art[3:], running.ravel(), touched.ravel(), strict=False):
                text.set_text(format_value(value, decimals) if seen else "")
            caption.set_text(
                f"x[{i},{j}] = {format_value(xs[i, j], decimals)} adds "
                f"{format_value(xs[i, j], decimals)}·K at output row {i * s[0] - p[0]},"
                f" column {j * s[1] - p[1]}"
            )
            writer.grab_frame()

    animated = [*x_art, *y_art, caption]
    return write_gif(fig, animated, frames, alt=alt, fps=fps, path=path)


def animate_scatter_gather(
    x: torch.Tensor,
    kernel: torch.Tensor,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    path: str | Path | None = None,
    fps: float = 1,
) -> Gif | Path:
    """Animate one output pixel per frame, computed by the scatter view and the gather view.

    Top row, the scatter view: the input pixels whose stamps cover output pixel $(i, j)$ are
    highlighted. Bottom row, the gather view: the flipped kernel's window on the
    zero-inserted, padded input ([`zero_insert`][transconv.overlap.zero_insert]). The caption
    writes the sum both views compute, $y_{ij} = \\sum x_{ab} K_{i + p - a s,\\, j + p - b s}$,
    and both output grids fill with the same numbers, those of ``F.conv_transpose2d``.

    Parameters
    ----------
    x : Tensor
        The input, 2-D, at most 16 pixels.
    kernel : Tensor
        The kernel, 2-D.
    stride : int or (int, int), optional
        Stride of the transposed convolution, default 1.
    padding : int or (int, int), optional
        Its padding, default 0; at most $k - 1$ (drawn as zero padding in the gather view).
    path : str or Path, optional
        Where to write the GIF (its comment holds the alt text); by default it is returned.
    fps : float, optional
        Frames per second, default 1.

    Returns
    -------
    Gif or Path
        The GIF (bytes with ``.alt_text``), or ``path`` once written.

    Raises
    ------
    TypeError
        If ``x`` or ``kernel`` is not a tensor, or ``stride`` / ``padding`` is not an int pair.
    ValueError
        If a tensor is not 2-D, ``x`` has more than 16 pixels, ``padding`` exceeds $k - 1$,
        the output has more than `MAX_FRAMES` pixels, or ``fps <= 0``.

    Examples
    --------
    >>> import torch
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> animate_scatter_gather(X, X).alt_text[:52]
    'Animation of one transposed convolution, two views: '
    """
    op = _prepare(x, kernel, stride, padding)
    zs = zero_insert(torch.from_numpy(op.x), op.kernel.shape, stride=op.stride, padding=op.padding)
    fps = check_frames(op.out, fps)
    fig, parts = _two_views_figure(op, zs.numpy())
    frames = partial(_two_views_frames, op, parts)
    return write_gif(
        fig, parts.animated, frames, alt=_two_views_alt(op, zs.shape), fps=fps, path=path
    )


@dataclass(frozen=True)
class _TwoViews:
    """The artists of the two-view animation that change from frame to frame."""

    x_art: list[Any]  # the scatter view's input grid
    z_art: list[Any]  # the gather view's zero-inserted input
    is_input: np.ndarray  # where the zero-inserted grid holds an input pixel
    outputs: list[list[Any]]  # the two output grids
    caption: Any

    @property
    def animated(self) -> list[Any]:
        return [*self.x_art, *self.z_art, *(a for art in self.outputs for a in art), self.caption]


def _two_views_figure(op: _Operands, zs: np.ndarray) -> tuple[Figure, _TwoViews]:
    """Scatter view above, gather view below, each with its output grid, still blank."""
    (h, w), (kh, kw), out, decimals = op.x.shape, op.kernel.shape, op.out, op.decimals
    ones = torch.ones(h, w, dtype=torch.float64)
    is_input = zero_insert(ones, (kh, kw), stride=op.stride, padding=op.padding).numpy() > 0
    cell = 0.4
    width = max(cell * (zs.shape[1] + out[1] + 2), 5.4)
    pt = text_pt(width)
    rows = [max(h, out[0]), max(zs.shape[0], out[0])]
    height = cell * sum(rows) + 10 * pt / 72 + 0.4
    fig = Figure(figsize=(width, height), dpi=DPI)
    grid = fig.add_gridspec(
        2,
        2,
        width_ratios=[zs.shape[1], out[1]],
        height_ratios=rows,
        left=0.02,
        right=0.98,
        bottom=(0.1 + 1.8 * pt / 72) / height,
        top=1 - (0.15 + 2.6 * pt / 72) / height,
        hspace=(2.6 * pt / 72) / (cell * sum(rows) / 2),
        wspace=0.15,
    )
    axes = [[fig.add_subplot(grid[r, c]) for c in range(2)] for r in range(2)]
    x_art = _number_grid(axes[0][0], np.tile(ZERO_RGB, (h, w, 1)), op.x, decimals, pt)
    z_art = _number_grid(
        axes[1][0], np.tile(_WHITE, (*zs.shape, 1)), zs, decimals, pt, blank=~is_input
    )
    blank = np.ones(out, dtype=bool)
    outputs = [
        _number_grid(axes[r][1], np.tile(_WHITE, (*out, 1)), op.total, decimals, pt, blank=blank)
        for r in range(2)
    ]
    labels = [
        ("scatter: input x", f"output {out[0]}×{out[1]}"),
        ("gather: flipped K over zero-inserted x", f"output {out[0]}×{out[1]}"),
    ]
    for r, c in np.ndindex(2, 2):
        ax = axes[r][c]
        ax.text(
            0.5, 1.0, labels[r][c], transform=ax.transAxes, ha="center", va="bottom", fontsize=pt
        )
    title = f"conv_transpose2d {op.args}: {h}×{w} → {out[0]}×{out[1]}"
    fig.text(0.5, 1 - 0.05 / height, title, ha="center", va="top", fontsize=pt)
    caption = fig.text(0.5, 0.03, "", ha="center", va="bottom", fontsize=pt)
    return fig, _TwoViews(x_art, z_art, is_input, outputs, caption)


def _two_views_frames(op: _Operands, parts: _TwoViews, writer: GifWriter) -> None:
    """One frame per output pixel: its sources above, the kernel's window below, its sum."""
    (h, w), (kh, kw), out, decimals = op.x.shape, op.kernel.shape, op.out, op.decimals
    hue, done, total = _pixel_colours(1)[0], np.zeros(out, dtype=bool), op.total
    for i, j in np.ndindex(*out):
        taps = gather_taps((i, j), (h, w), (kh, kw), stride=op.stride, padding=op.padding)
        x_colours = np.tile(ZERO_RGB, (h, w, 1))
        for (a, b), _ in taps:
            x_colours[a, b] = hue
        parts.x_art[0].set_data(x_colours)
        z_colours = np.where(parts.is_input[..., None], ZERO_RGB, _WHITE)
        z_colours[i : i + kh, j : j + kw] = 0.6 * z_colours[i : i + kh, j : j + kw] + 0.4 * hue
        parts.z_art[0].set_data(z_colours)
        done[i, j] = True
        for art in parts.outputs:
            colours = np.where(done[..., None], ZERO_RGB, _WHITE)
            colours[i, j] = hue
            art[0].set_data(colours)
            for text, value, seen in zip(art[3:], total.ravel(), done.ravel(), strict=False):
                text.set_text(format_value(value, decimals) if seen else "")
        terms = " + ".join(
            f"{format_value(op.x[a, b], decimals)}·{format_value(op.kernel[u, v], decimals)}"
            for (a, b), (u, v) in taps
        )
        sum_text = format_value(total[i, j], decimals)
        parts.caption.set_text(f"y[{i},{j}] = {terms or '0 (no stamp reaches it)'} = {sum_text}")
        writer.grab_frame()


def _two_views_alt(op: _Operands, zero_inserted: tuple[int, int]) -> str:
    decimals = op.decimals
    return (
        f"Animation of one transposed convolution, two views: conv_transpose2d with {op.args}, "
        f"input x = {_matrix_text(op.x, decimals)}, kernel K = "
        f"{_matrix_text(op.kernel, decimals)}. One frame per output pixel: above, the scatter "
        f"view highlights the input pixels whose stamps of K cover it; below, the gather view "
        f"slides the flipped kernel over x with zeros inserted and padded to "
        f"{zero_inserted[0]}×{zero_inserted[1]}; the caption writes the same sum of products "
        f"for both, and both outputs fill to {_matrix_text(op.total, decimals)}."
    )
