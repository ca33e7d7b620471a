"""Architecture diagrams: the FCN paper's skip connections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from transconv.viz._common import INPUT_RGB, OUTPUT_RGB, finish, new_figure, text_pt

__all__ = ["plot_fcn_skips"]

_FCN_STAGES = ("image", "pool1", "pool2", "pool3", "pool4", "pool5", "conv7")
_FCN_STRIDES = (1, 2, 4, 8, 16, 32, 32)
_FCN_SKIPS = {"32s": (), "16s": ("pool4",), "8s": ("pool4", "pool3")}
_WIDTH = 7.2


def plot_fcn_skips(variants: Sequence[str] = ("32s", "16s", "8s")) -> Figure:
    """Diagram of the FCN paper's skip architectures: which maps are scored, fused and upsampled.

    Each row is one variant. Boxes are the VGG-16 stages, drawn with areas proportional to
    $1 / \\text{stride}$; a coloured path starts at ``conv7``'s class scores, is upsampled x2
    and added to the scores of each skip (pool4, then pool3), and the last sum is upsampled to
    the image by x32, x16 or x8.

    Parameters
    ----------
    variants : sequence of {"32s", "16s", "8s"}, optional
        The rows to draw, top to bottom; default all three.

    Returns
    -------
    Figure
        One axes, with an alt text.

    Raises
    ------
    ValueError
        If a variant is not one of "32s", "16s", "8s".

    Examples
    --------
    >>> len(plot_fcn_skips(["8s"]).axes)
    1
    """
    variants = list(variants)
    unknown = [v for v in variants if v not in _FCN_SKIPS]
    if unknown or not variants:
        raise ValueError(
            f"variants must be a non-empty list of {sorted(_FCN_SKIPS)}, got {variants!r}; pass "
            "e.g. variants=['32s', '8s']"
        )
    fig, axes = new_figure(1, 1, (_WIDTH, 2.0 * len(variants)))
    ax = axes[0, 0]
    for row, variant in enumerate(variants):
        _draw_fcn_row(ax, y=-2.2 * row, variant=variant, fontsize=text_pt(_WIDTH, px=12))
    ax.set_xlim(-0.6, len(_FCN_STAGES) + 1.0)
    ax.set_ylim(-2.2 * len(variants) + 0.9, 1.2)
    ax.set_axis_off()
    rows = []
    for variant in variants:
        skips = _FCN_SKIPS[variant]
        path = " then ".join(f"x2 and add {skip} scores" for skip in skips)
        factor = _FCN_STRIDES[_FCN_STAGES.index(skips[-1])] if skips else 32
        rows.append(
            f"FCN-{variant}: conv7 scores"
            + (f", {path}" if path else "")
            + f", upsampled x{factor} to the image"
        )
    alt = (
        "Diagram of FCN skip architectures over the VGG-16 stages image, pool1 to pool5 and "
        "conv7 (strides 1 to 32). " + "; ".join(rows) + "."
    )
    return finish(fig, alt)


def _draw_fcn_row(ax: Any, y: float, variant: str, fontsize: float) -> None:
    """One variant: stage boxes on a line, the fusion path below them, the final upsampling."""
    colour = {"32s": "tab:red", "16s": "tab:green", "8s": "tab:blue"}[variant]
    out_x = len(_FCN_STAGES) + 0.4
    for x, name, stride in [
        *zip(range(len(_FCN_STAGES)), _FCN_STAGES, _FCN_STRIDES, strict=False),
        (out_x, f"FCN-{variant}", 1),
    ]:
        side = 0.7 / stride**0.5
        ax.add_patch(
            Rectangle(
                (x - side / 2, y - side / 2),
                side,
                side,
                linewidth=0.6,
                facecolor=OUTPUT_RGB if x == out_x else INPUT_RGB,
                edgecolor="black",
            )
        )
        ax.text(
            x,
            y + 0.45,
            f"{name}\n1/{stride}",
            ha="center",
            va="bottom",
            fontsize=fontsize,
            color=colour if x == out_x else "black",
        )
    skips = _FCN_SKIPS[variant]
    path_y, x = y - 0.6, len(_FCN_STAGES) - 1
    ax.plot([x, x], [y - 0.1, path_y], color=colour, linestyle=":")
    for skip in skips:
        target = _FCN_STAGES.index(skip)
        ax.annotate(
            "",
            xy=(target, path_y),
            xytext=(x, path_y),
            arrowprops={"arrowstyle": "->", "color": colour},
        )
        ax.text((x + target) / 2, path_y + 0.05, "x2", ha="center", fontsize=fontsize, color=colour)
        ax.plot([target, target], [y - 0.2, path_y], color=colour, linestyle=":")
        ax.text(target - 0.15, path_y - 0.05, "+", fontsize=1.4 * fontsize, color=colour, va="top")
        x = target
    factor = _FCN_STRIDES[_FCN_STAGES.index(skips[-1])] if skips else 32
    low = path_y - 0.35
    ax.plot([x, x, out_x], [path_y, low, low], color=colour, linewidth=1.5)
    ax.annotate(
        "",
        xy=(out_x, y - 0.36),
        xytext=(out_x, low),
        arrowprops={"arrowstyle": "->", "color": colour, "linewidth": 1.5},
    )
    ax.text(
        (x + out_x) / 2,
        low - 0.05,
        f"x{factor} (bilinear)",
        ha="center",
        va="top",
        fontsize=fontsize,
        color=colour,
    )
