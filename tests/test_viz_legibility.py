"""Every figure and GIF of transconv.viz, at its default size, shows no text below 10 CSS px.

A page shows a PNG at its natural size, scaled down to the 708-px output column when wider
(never up). Sizes are measured on the rendered images, not taken from the package.
"""

from __future__ import annotations

import pytest
import torch

from tests.viz_helpers import CaptureWriter, smallest_figure_text_px
from transconv import viz
from transconv.data import VOC_CLASSES, VOC_COLORMAP
from transconv.matrix import conv_matrix
from transconv.overlap import overlap_counts

X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
PHOTO = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(0))
LABEL = torch.zeros(32, 48, dtype=torch.int64)

FIGURES = {
    "show_images 7 panels, 4 columns (upsampling page)": lambda: viz.show_images(
        [PHOTO] * 7, [f"method {i}" for i in range(7)], ncols=4, scale=2.6
    ),
    "show_images 5 patches (upsampling page)": lambda: viz.show_images(
        [PHOTO[:, :32, :32]] * 5, list("abcde"), ncols=5, scale=2.2
    ),
    "show_images shared scale": lambda: viz.show_images([X, X * 2], ["a", "b"], shared_scale=True),
    "show_matrix annotated": lambda: viz.show_matrix(
        conv_matrix(3, torch.ones(2, 2)), title="W", annotate=True
    ),
    "show_matrix sparse 36×9": lambda: viz.show_matrix(
        conv_matrix(6, torch.ones(3, 3), stride=2, padding=1), title="W"
    ),
    "plot_series": lambda: viz.plot_series([1, 2, 4], {"a": [1, 2, 3]}, xlabel="n", ylabel="b"),
    "plot_overlap 3 maps": lambda: viz.plot_overlap(
        [overlap_counts(3, 3, 2, layers=n) for n in (1, 2, 3)], ["1", "2", "3"]
    ),
    "plot_fcn_skips": lambda: viz.plot_fcn_skips(),
    "plot_history": lambda: viz.plot_history(
        [{"train_loss": 1.0, "pixel_acc": 0.5, "mean_iou": 0.2}] * 3
    ),
    "plot_predictions": lambda: viz.plot_predictions(
        [PHOTO[:, :32, :48]] * 2, [LABEL] * 2, [LABEL] * 2
    ),
    "plot_palette": lambda: viz.plot_palette(VOC_COLORMAP, VOC_CLASSES),
    "plot_scatter": lambda: viz.plot_scatter(X, X),
    "plot_scatter stride 2": lambda: viz.plot_scatter(X, X, stride=2),
}

GIFS = {
    "animate_convolution": lambda: viz.animate_convolution(4, 3),
    "animate_convolution transposed": lambda: viz.animate_convolution(
        3, 3, stride=2, padding=1, output_padding=1, transposed=True
    ),
    "animate_convolution dilated": lambda: viz.animate_convolution(
        3, 3, dilation=2, transposed=True
    ),
    "animate_scatter": lambda: viz.animate_scatter(X, X, stride=2),
    "animate_scatter_gather": lambda: viz.animate_scatter_gather(
        X, torch.ones(3, 3), stride=2, padding=1
    ),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_text_is_at_least_10_css_px(name: str) -> None:
    assert smallest_figure_text_px(FIGURES[name]()) >= 10


@pytest.mark.parametrize("name", list(GIFS))
def test_gif_text_is_at_least_10_css_px(monkeypatch, name: str) -> None:
    capture = CaptureWriter(monkeypatch)
    gif = GIFS[name]()
    assert capture.smallest_text_px(gif) >= 10
