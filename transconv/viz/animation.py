"""conv_arithmetic-style GIFs of convolution and transposed convolution (the gather view).

[`animate_convolution`][transconv.viz.animation.animate_convolution] draws the animations of
Dumoulin & Visin (2016): the input grid in blue with padding cells pale and dashed, the kernel
footprint shaded as it slides, and the output grid in cyan filling one pixel per frame. A
transposed convolution is drawn the way conv_arithmetic draws it: as the equivalent stride-1
convolution over the input with $s - 1$ zeros inserted between pixels and $d(k - 1) - p$ zeros
of padding around it (``output_padding`` extra rows/columns at the bottom/right).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from transconv._validation import as_float, as_hw
from transconv.shapes import conv_output_size, conv_transpose_output_size
from transconv.viz._common import (
    CURRENT_RGB,
    DPI,
    EMPTY_RGB,
    INPUT_RGB,
    KERNEL_RGB,
    OUTPUT_RGB,
    ZERO_RGB,
    text_pt,
)
from transconv.viz._gif import GifWriter, write_gif
from transconv.viz.display import Gif

__all__ = ["MAX_FRAMES", "animate_convolution"]

#: Largest number of frames an animation function will render.
MAX_FRAMES = 400
# side of one grid cell in the GIFs, inches (30 pixels at the GIFs' 100 dpi)
_CELL_IN = 0.3


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
                f"padding must be <= dilation * (kernel_size - 1) = {d * (k - 1)} to be drawn, "
                f"got {p}: this transposed convolution crops instead of padding and cannot be "
                f"drawn as a padded direct convolution; use padding <= {d * (k - 1)} to animate it"
            )
        core = np.zeros((n - 1) * s + 1, dtype=bool)
        core[::s] = True
        cells = np.concatenate([np.zeros(border, bool), core, np.zeros(border + op, bool)])
        step = 1
    return cells, step, (len(cells) - d * (k - 1) - 1) // step + 1


def _animation_grid(
    size: tuple[int, int],
    kernel: tuple[int, int],
    params: dict[str, tuple[int, int]],
    transposed: bool,
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Validate the arguments and lay out the drawn grid.

    Returns the boolean input-cell mask of the grid, the stride of the equivalent direct
    convolution and the output size (checked against `transconv.shapes`).
    """
    stride, padding, dilation = params["s"], params["p"], params["d"]
    if transposed:
        expected = conv_transpose_output_size(
            size,
            kernel,
            stride=stride,
            padding=padding,
            output_padding=params["op"],
            dilation=dilation,
        )
    else:
        if params["op"] != (0, 0):
            raise ValueError(
                f"output_padding must be 0 for a direct convolution, got {params['op']}; "
                f"pass transposed=True or output_padding=0"
            )
        expected = conv_output_size(size, kernel, stride=stride, padding=padding, dilation=dilation)
    rows, cols = (
        _axis_cells(
            size[i], kernel[i], stride[i], padding[i], params["op"][i], dilation[i], transposed
        )
        for i in (0, 1)
    )
    out = (rows[2], cols[2])
    if out != tuple(expected):  # the drawing must compute what PyTorch computes
        raise AssertionError(f"drawn output {out} differs from transconv.shapes' {expected}")
    return np.outer(rows[0], cols[0]), (rows[1], cols[1]), out


def _cell_outlines(mask: np.ndarray) -> list[list[tuple[float, float]]]:
    """Closed outlines of the cells where ``mask`` is True (cell centres at integers)."""
    return [
        [
            (c - 0.5, r - 0.5),
            (c + 0.5, r - 0.5),
            (c + 0.5, r + 0.5),
            (c - 0.5, r + 0.5),
            (c - 0.5, r - 0.5),
        ]
        for r, c in zip(*np.nonzero(mask), strict=False)
    ]


def grid_axes(ax: Any, mask: np.ndarray) -> list[Any]:
    """Draw a grid on ``ax``: an image of cell colours, solid outlines where ``mask``,
    dashed elsewhere. Returns the artists, the image first."""
    artists = [
        ax.imshow(np.ones((*mask.shape, 3)), interpolation="nearest"),
        ax.add_collection(LineCollection(_cell_outlines(mask), colors="0.25", linewidths=0.8)),
        ax.add_collection(
            LineCollection(
                _cell_outlines(~mask), colors="0.55", linewidths=0.8, linestyles=(0, (2, 2))
            )
        ),
    ]
    ax.set_xlim(-0.6, mask.shape[1] - 0.4)
    ax.set_ylim(mask.shape[0] - 0.4, -0.6)
    ax.set_axis_off()
    return artists


def _show(value: tuple[int, int]) -> str:
    """``3`` for (3, 3), ``(3, 2)`` otherwise."""
    return str(value[0]) if value[0] == value[1] else str(value)


def _describe(
    size: tuple[int, int],
    out: tuple[int, int],
    grid: tuple[int, ...],
    params: dict[str, tuple[int, int]],
    transposed: bool,
) -> tuple[str, str, str]:
    """Figure title, left-panel title and alt text of an animation."""
    name = "conv_transpose2d" if transposed else "conv2d"
    names = {
        "k": "kernel_size",
        "s": "stride",
        "p": "padding",
        "op": "output_padding",
        "d": "dilation",
    }
    shown = {
        key: value
        for key, value in params.items()
        if key in ("k", "s") or value != ((1, 1) if key == "d" else (0, 0))
    }
    args = " ".join(f"{key}={_show(value)}" for key, value in shown.items())
    head = f"{name} {args}: {size[0]}×{size[1]} → {out[0]}×{out[1]}"
    words = ", ".join(f"{names[key]}={_show(value)}" for key, value in shown.items())
    alt = (
        f"Animation of {name} {words}, input {size[0]}×{size[1]}, output {out[0]}×{out[1]}: "
        f"one frame per output pixel, the shaded kernel window slides over "
    )
    if not transposed:
        padded = f" padded to {grid[0]}×{grid[1]}" if grid != size else ""
        alt += (
            f"the {grid[0]}×{grid[1]} input grid{padded and ' (padding dashed)'} and fills "
            f"the output pixel by pixel."
        )
        return head, f"input {size[0]}×{size[1]}{padded}", alt
    alt += (
        f"the input with zeros inserted between pixels and padded to {grid[0]}×{grid[1]} "
        f"(zeros dashed) and fills the output pixel by pixel."
    )
    return (
        f"{head}\n= stride-1 conv over zero-inserted, padded input",
        f"input {size[0]}×{size[1]} → {grid[0]}×{grid[1]} with zeros",
        alt,
    )


def _render_frames(
    writer: GifWriter,
    images: tuple[Any, Any],
    mask: np.ndarray,
    out: tuple[int, int],
    kernel: tuple[int, int],
    step: tuple[int, int],
    dilation: tuple[int, int],
) -> None:
    """Grab one frame per output pixel: kernel footprint on the grid, output filling."""
    base = np.where(mask[..., None], INPUT_RGB, ZERO_RGB)
    done = np.tile(np.array(EMPTY_RGB), (*out, 1))
    for i in range(out[0]):
        for j in range(out[1]):
            rows = i * step[0] + dilation[0] * np.arange(kernel[0])
            cols = j * step[1] + dilation[1] * np.arange(kernel[1])
            frame = base.copy()
            frame[np.ix_(rows, cols)] = 0.45 * frame[np.ix_(rows, cols)] + 0.55 * np.array(
                KERNEL_RGB
            )
            result = done.copy()
            result[i, j] = CURRENT_RGB
            images[0].set_data(frame)
            images[1].set_data(result)
            writer.grab_frame()
            done[i, j] = OUTPUT_RGB


def check_frames(out: tuple[int, int], fps: Any) -> float:
    """Refuse animations with too many frames or a non-positive ``fps``; return ``fps``."""
    if out[0] * out[1] > MAX_FRAMES:
        raise ValueError(
            f"the number of frames must be at most MAX_FRAMES ({MAX_FRAMES}), got "
            f"{out[0]}×{out[1]} = {out[0] * out[1]} (one per pixel); "
            f"animate a smaller input_size"
        )
    if isinstance(fps, (int, float)) and not isinstance(fps, bool) and not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}; try fps=2")
    return as_float(fps, "fps", example="2")


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
) -> Gif | Path:
    """Animate a 2-D convolution or transposed convolution as a conv_arithmetic GIF.

    One frame per output pixel: the shaded kernel footprint on the blue input grid
    (padding and inserted zeros pale with dashed outlines) and the cyan output grid
    filling up. A transposed convolution with kernel $k$, stride $s$, padding $p$
    and dilation $d$ is drawn as the equivalent stride-1 convolution (dilation $d$)
    over the input with $s - 1$ zeros inserted between pixels, $d(k - 1) - p$ zeros
    of padding on each side and ``output_padding`` more at the bottom/right
    ([`zero_insert`][transconv.overlap.zero_insert]), which gives

    $$H_{out} = (H - 1)s - 2p + d(k - 1) + \\mathrm{output\\_padding} + 1.$$

    Parameters
    ----------
    input_size : int or (int, int)
        Input height and width.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int), optional
        As in ``torch.nn.functional.conv2d`` / ``conv_transpose2d``, default 1.
    padding : int or (int, int), optional
        As there, default 0.
    output_padding : int or (int, int), optional
        Extra output rows/columns of a transposed convolution, default 0.
    dilation : int or (int, int), optional
        Spacing of the kernel taps, default 1.
    transposed : bool, optional
        Animate the transposed convolution instead of the direct one, default False.
    path : str or Path, optional
        Where to write the GIF (its comment holds the alt text); by default the GIF is
        returned.
    fps : float, optional
        Frames per second, default 2.

    Returns
    -------
    Gif or Path
        The GIF (bytes with ``.alt_text``; a notebook shows it as an ``<img>``), or ``path``
        once written.

    Raises
    ------
    TypeError
        If a size is not an int or a pair of ints.
    ValueError
        For sizes `transconv.shapes` rejects (e.g. output_padding not
        smaller than stride or dilation, an output smaller than 1), ``output_padding``
        without ``transposed``, a transposed ``padding`` above $d(k - 1)$ (a crop, not a
        padding), more than `MAX_FRAMES` output pixels, or ``fps <= 0``.

    Examples
    --------
    >>> gif = animate_convolution(3, 2, stride=2, transposed=True)
    >>> gif[:6]
    b'GIF89a'
    """
    size = as_hw(input_size, "input_size", example="(4, 4)")
    kernel = as_hw(kernel_size, "kernel_size", example="(3, 3)")
    params = {
        "k": kernel,
        "s": as_hw(stride, "stride", example="(2, 2)"),
        "p": as_hw(padding, "padding", minimum=0, example="(1, 1)"),
        "op": as_hw(output_padding, "output_padding", minimum=0, example="(1, 1)"),
        "d": as_hw(dilation, "dilation", example="(1, 1)"),
    }
    mask, step, out = _animation_grid(size, kernel, params, transposed)
    fps = check_frames(out, fps)
    title, left, alt = _describe(size, out, mask.shape, params, transposed)
    width = max(_CELL_IN * (mask.shape[1] + out[1] + 2), 4.6)
    pt = text_pt(width)
    height = _CELL_IN * max(mask.shape[0], out[0]) + 3.4 * pt / 72 + 0.4
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[mask.shape[1], out[1]])
    # plain texts, not titles: titles are re-laid out on every frame, which is slow
    fig.text(0.5, 1 - 0.06 / height, title, ha="center", va="top", fontsize=pt)
    for ax, text in ((ax_in, left), (ax_out, f"output {out[0]}×{out[1]}")):
        ax.text(0.5, 1.0, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=pt)
    grid_in = grid_axes(ax_in, mask)
    grid_out = grid_axes(ax_out, np.ones(out, dtype=bool))
    fig.subplots_adjust(
        left=0.02, right=0.98, bottom=0.02, top=1 - (0.15 + 3.2 * pt / 72) / height, wspace=0.15
    )

    def frames(writer: GifWriter) -> None:
        _render_frames(writer, (grid_in[0], grid_out[0]), mask, out, kernel, step, params["d"])

    return write_gif(fig, grid_in + grid_out, frames, alt=alt, fps=fps, path=path)
