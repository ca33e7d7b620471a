"""Shared by the viz tests: capture the figure behind a GIF, measure shown text sizes."""

from __future__ import annotations

import io

from matplotlib.animation import PillowWriter
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

COLUMN_PX = 708  # the output column of a page at a 1280-px window, CSS px (measured)


def shown_sizes_px(fig: Figure, natural_width_px: float, dpi: float) -> list[float]:
    """Every non-empty text's size in CSS pixels when the image, ``natural_width_px`` wide,
    is shown at most ``COLUMN_PX`` wide (images are scaled down to the column, never up)."""
    scale = min(1.0, COLUMN_PX / natural_width_px)
    return [
        text.get_fontsize() * dpi / 72 * scale
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]


def smallest_figure_text_px(fig: Figure) -> float:
    """Smallest text of a figure rendered as a page shows it (PNG at its dpi, tight box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight")
    width = Image.open(io.BytesIO(buffer.getvalue())).width
    return min(shown_sizes_px(fig, width, fig.dpi))


class CaptureWriter:
    """Monkeypatches ``PillowWriter.setup`` to remember the figure and dpi of each GIF."""

    def __init__(self, monkeypatch) -> None:
        self.figures: list[tuple[Figure, float]] = []
        original = PillowWriter.setup

        def setup(writer, fig, outfile, dpi=None):
            original(writer, fig, outfile, dpi=dpi)
            self.figures.append((fig, writer.dpi))

        monkeypatch.setattr(PillowWriter, "setup", setup)

    def smallest_text_px(self, gif: bytes) -> float:
        fig, dpi = self.figures[-1]
        width = Image.open(io.BytesIO(gif)).width
        return min(shown_sizes_px(fig, width, dpi))
