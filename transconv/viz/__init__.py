"""Drawing for the transconv pages: figures, diagrams, animations, and their alt texts.

One module per kind of picture; every name is importable from here:

- [`figures`][transconv.viz.figures]: image grids, matrix heatmaps, line plots, overlap maps;
- [`scatter`][transconv.viz.scatter]: the scatter view of transposed convolution (each input
  pixel stamps a scaled kernel), drawn and animated, and beside the gather view;
- [`animation`][transconv.viz.animation]: conv_arithmetic-style GIFs (the gather view);
- [`diagrams`][transconv.viz.diagrams]: the FCN skip architectures;
- [`training`][transconv.viz.training]: curves, predictions and the class palette;
- [`tables`][transconv.viz.tables]: Markdown tables of computed numbers;
- [`display`][transconv.viz.display]: alt texts, and [`show`][transconv.viz.display.show],
  which puts a figure on a page as an ``<img>`` with its alt text.

Every figure function *returns* a matplotlib ``Figure`` (never calls ``plt.show()`` and
leaves no pyplot state behind) carrying its alt text; every animation returns a
[`Gif`][transconv.viz.display.Gif]. Text is sized so that it shows at 10 CSS pixels or more in
the pages' 708-px output column. The arithmetic behind the pictures lives in
`transconv.overlap` (no matplotlib).
"""

from __future__ import annotations

from transconv.overlap import overlap_counts
from transconv.viz.animation import MAX_FRAMES, animate_convolution
from transconv.viz.diagrams import plot_fcn_skips
from transconv.viz.display import Gif, ShownImage, alt_text, show
from transconv.viz.figures import plot_overlap, plot_series, show_images, show_matrix
from transconv.viz.scatter import animate_scatter, animate_scatter_gather, plot_scatter
from transconv.viz.tables import markdown_table
from transconv.viz.training import plot_history, plot_palette, plot_predictions

__all__ = [
    "MAX_FRAMES",
    "Gif",
    "ShownImage",
    "alt_text",
    "animate_convolution",
    "animate_scatter",
    "animate_scatter_gather",
    "markdown_table",
    "overlap_counts",
    "plot_fcn_skips",
    "plot_history",
    "plot_overlap",
    "plot_palette",
    "plot_predictions",
    "plot_scatter",
    "plot_series",
    "show",
    "show_images",
    "show_matrix",
]
