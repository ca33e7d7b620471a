"""What every figure function shares: the page's geometry, a legible text size, the palette.

A page shows a figure rendered at `DPI` pixels per inch, scaled down to the text column
(`COLUMN_PX` CSS pixels at a 1280-px window) when it is wider, never scaled up. A font of
$f$ points on a figure $w$ inches wide therefore shows as
$f \\cdot \\frac{DPI}{72} \\cdot \\min(1, \\frac{COLUMN\\_PX}{w \\cdot DPI})$ CSS pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.text import Text

from transconv.viz.display import attach_alt_text

#: Pixels per inch at which figures are rendered for the pages (matplotlib's default).
DPI = 100
#: Width, in CSS pixels, of the pages' output column at a 1280-px window (measured in Chromium).
COLUMN_PX = 708
#: Smallest text size, in CSS pixels, that a figure shows at (the house rule is 10).
TEXT_PX = 11.0

# conv_arithmetic's palette: blue input, cyan output, pale padding / inserted zeros.
INPUT_RGB = (0.42, 0.68, 0.84)
ZERO_RGB = (0.94, 0.96, 0.98)
KERNEL_RGB = (0.03, 0.19, 0.42)
OUTPUT_RGB = (0.55, 0.88, 0.91)
CURRENT_RGB = (0.0, 0.55, 0.62)
EMPTY_RGB = (1.0, 1.0, 1.0)


def text_pt(width_in: float, px: float = TEXT_PX, dpi: float = DPI) -> float:
    """Points that show as ``px`` CSS pixels on a figure ``width_in`` wide on the page."""
    shown = min(1.0, COLUMN_PX / (width_in * dpi))
    return px * 72 / (dpi * shown)


def new_figure(
    nrows: int,
    ncols: int,
    figsize: tuple[float, float],
    *,
    layout: str | None = None,
    **kwargs: Any,
):
    """A figure and its ``(nrows, ncols)`` array of axes, closed in pyplot at once."""
    fig = blank_figure(figsize, layout=layout)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, axes


def blank_figure(figsize: tuple[float, float], *, layout: str | None = None) -> Figure:
    """A figure made through pyplot and closed there at once.

    Made through pyplot, it draws with the notebook's backend like any figure; closed at
    once, it is shown once, when a cell ends in it (see ``transconv.viz.display``), and
    figures do not pile up in memory.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, dpi=DPI, layout=layout)
    plt.close(fig)
    return fig


def finish(fig: Figure, alt: str, *, layout: bool = True) -> Figure:
    """Raise every text to the legible size, lay the figure out and attach its alt text."""
    pt = text_pt(fig.get_figwidth(), dpi=fig.dpi)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < pt:
            text.set_fontsize(pt)
    for ax in fig.axes:  # tick labels are made at draw time: set their size, not theirs
        ax.tick_params(labelsize=max(pt, 10.0))
    if layout:
        fig.tight_layout()
    return attach_alt_text(fig, alt)


def to_numpy_image(image: Any) -> np.ndarray:
    """Return an (H, W) or (H, W, C) numpy array ready for ``imshow``.

    Tensors are read as (C, H, W) (or (H, W)), or as (H, W, C) when only the last dimension has
    1, 3 or 4 entries (what ``label2image`` returns); numpy arrays as (H, W, C) (or (H, W)).
    Float colour images outside [0, 1] (e.g. normalised network inputs) are min-max rescaled to
    [0, 1].
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
            f"image must be (H, W), or have 1, 3 or 4 channels as a (C, H, W) tensor or an "
            f"(H, W, C) array, got shape {tuple(np.shape(image))}; select one image, not a batch"
        )
    if array.ndim == 3 and np.issubdtype(array.dtype, np.floating):
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 1.0:
            array = (array - low) / max(high - low, 1e-12)
    return array


def format_value(value: float, decimals: int) -> str:
    """``3`` for 3.0 when ``decimals`` is 0, else a fixed number of decimals; no ``-0``."""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def decimals_for(values: np.ndarray) -> int:
    """0 when every value is a whole number, else 2."""
    finite = values[np.isfinite(values)]
    return 0 if np.all(np.round(finite) == finite) else 2


def annotate_cells(
    ax: Any,
    values: np.ndarray,
    fontsize: float,
    decimals: int | None = None,
    middle: float | None = None,
) -> None:
    """Write each value of a small 2-D array in its cell, dark or light by background."""
    decimals = decimals_for(values) if decimals is None else decimals
    if middle is None:
        middle = (np.nanmax(values) + np.nanmin(values)) / 2 if values.size else 0
    for (row, col), value in np.ndenumerate(values):
        ax.text(
            col,
            row,
            format_value(value, decimals),
            ha="center",
            va="center",
            color="white" if value < middle else "black",
            fontsize=fontsize,
        )


def fits_in_cells(cell_in: float, values: np.ndarray, fontsize: float) -> bool:
    """Whether the widest formatted value fits a cell ``cell_in`` inches wide at ``fontsize``."""
    decimals = decimals_for(values)
    widest = max((len(format_value(v, decimals)) for v in values.flat), default=1)
    # a margin of about one character around the widest value, and room for its height
    return 0.62 * fontsize * (widest + 1) / 72 <= cell_in and 1.4 * fontsize / 72 <= cell_in
