"""Tests for the figure functions of transconv.viz, their alt texts and show()."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from transconv import viz
from transconv.overlap import overlap_counts


def test_every_name_importable_before_the_split_still_is() -> None:
    names = [
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
        "MAX_FRAMES",
    ]
    assert all(hasattr(viz, name) for name in names)
    assert viz.overlap_counts is overlap_counts


def test_show_images_grid_and_rescaling() -> None:
    normalised = torch.linspace(-2, 3, 48).reshape(3, 4, 4)
    images = [normalised, torch.zeros(4, 4, dtype=torch.uint8), np.ones((4, 4, 3))]
    fig = viz.show_images(images, ["a", "b", "c"], ncols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    shown = fig.axes[0].images[0].get_array()
    assert float(shown.min()) == 0.0 and float(shown.max()) == 1.0
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    assert viz.alt_text(fig) == (
        "3 images in 2 rows of 2: a (4×4, colour); b (4×4, grey); c (4×4, colour)."
    )


def test_show_images_shared_scale_has_one_colour_bar() -> None:
    fig = viz.show_images([torch.zeros(3, 3), torch.full((3, 3), 4.0)], shared_scale=True)
    assert len(fig.axes) == 3  # two images and the colour bar
    assert [ax.images[0].get_clim() for ax in fig.axes[:2]] == [(0.0, 4.0), (0.0, 4.0)]
    assert "share one colour scale, 0 to 4" in viz.alt_text(fig)


def test_show_images_reads_hwc_tensors_like_label2image_output() -> None:
    hwc = torch.zeros(5, 7, 3, dtype=torch.uint8)
    hwc[..., 0] = 200
    fig = viz.show_images([hwc])
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (5, 7, 3)
    assert int(shown[2, 3, 0]) == 200 and int(shown[2, 3, 1]) == 0


@pytest.mark.parametrize(
    ("images", "titles", "message"),
    [
        ([], None, "images must hold at least one image, got none; "),
        (
            [torch.zeros(4, 4)],
            ["a", "b"],
            r"titles must have one entry per image, got 2 titles for 1 ",
        ),
        ([torch.zeros(2, 3, 4, 4)], None, r"got shape \(2, 3, 4, 4\); select one image"),
    ],
)
def test_show_images_errors(images, titles, message) -> None:
    with pytest.raises(ValueError, match=message):
        viz.show_images(images, titles)


def test_show_matrix_heatmap_colorbar_and_annotations() -> None:
    matrix = torch.arange(6.0).reshape(2, 3)
    fig = viz.show_matrix(matrix, title="m", annotate=True)
    assert len(fig.axes) == 2
    assert [t.get_text() for t in fig.axes[0].texts] == ["0", "1", "2", "3", "4", "5"]
    assert len(viz.show_matrix(matrix.to_sparse()).axes) == 2


def test_show_matrix_shows_zero_white_for_sparse_matrices() -> None:
    eye = torch.eye(4)
    fig = viz.show_matrix(eye.to_sparse(), title="eye")
    image = fig.axes[0].images[0]
    rgba = image.to_rgba(image.get_array())
    assert rgba[0, 1].tolist() == [1.0, 1.0, 1.0, 1.0]  # a zero
    assert rgba[0, 0].tolist() != [1.0, 1.0, 1.0, 1.0]  # a one
    assert viz.alt_text(fig) == (
        "Heatmap of eye: 4×4, values from 0 to 1; 4 of 16 entries non-zero (zeros white)."
    )
    dense = viz.show_matrix(torch.arange(1.0, 5.0).reshape(2, 2), vmin=0, vmax=10)
    assert dense.axes[0].images[0].get_clim() == (0, 10)


def test_show_matrix_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match=r"matrix must be 2-D, got shape \(2, 2, 2\); "):
        viz.show_matrix(torch.zeros(2, 2, 2))


def test_plot_series_lines_and_error() -> None:
    fig = viz.plot_series(
        [1, 2, 3],
        {"a": [1, 2, 3], "b": [3, 2, 1]},
        xlabel="x",
        ylabel="y",
        logx=True,
        logy=True,
        title="t",
    )
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    assert fig.axes[0].get_yscale() == "log"
    assert viz.alt_text(fig) == "Line plot of y against x (log scale x and y): a, b."
    with pytest.raises(ValueError, match=r"series 'a' must have one value per x \(3\), got 2; "):
        viz.plot_series([1, 2, 3], {"a": [1, 2]}, xlabel="x", ylabel="y")


def test_plot_overlap_shares_one_scale_and_writes_counts() -> None:
    maps = [overlap_counts(3, k, 2) for k in (3, 4)]
    fig = viz.plot_overlap(maps, ["3", "4"])
    assert len(fig.axes) == 3  # two maps and one colour bar
    assert {ax.images[0].get_clim() for ax in fig.axes[:2]} == {(0, 4.0)}
    drawn = [int(t.get_text()) for t in fig.axes[0].texts]
    assert drawn == maps[0].flatten().tolist()
    assert len(viz.plot_overlap(maps[0], shared_scale=False).axes) == 1


def test_plot_overlap_errors() -> None:
    maps = [overlap_counts(3, k, 2) for k in (3, 4)]
    with pytest.raises(
        ValueError, match=r"titles must have one entry per map, got 1 titles for 2 maps; "
    ):
        viz.plot_overlap(maps, ["x"])
    with pytest.raises(ValueError, match=r"map 0 must be 2-D \(H, W\), got shape \(3,\); "):
        viz.plot_overlap([torch.ones(3)])


def test_plot_history_tolerates_missing_keys() -> None:
    history = [
        {"epoch": 1, "train_loss": 2.0, "train_acc": 0.4},
        {"train_loss": 1.0, "pixel_acc": 0.7, "mean_iou": 0.3},
    ]
    fig = viz.plot_history(history)
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [1, 2, 1]
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    assert "loss (train loss) from 2 to 1 over epochs 1 to 2" in viz.alt_text(fig)
    empty = viz.plot_history([])
    assert [t.get_text() for ax in empty.axes for t in ax.texts] == ["no data"] * 3


def test_plot_predictions_grid_and_error() -> None:
    label = torch.tensor([[0, 1], [255, 2]])
    pred = torch.tensor([[0, 1], [0, 0]])
    fig = viz.plot_predictions([torch.rand(3, 2, 2)] * 2, [label] * 2, [pred] * 2)
    assert len(fig.axes) == 6
    coloured = fig.axes[1].images[0].get_array()
    assert coloured[1, 0].tolist() == [224, 224, 192]  # VOC's boundary colour for 255
    assert "agrees with the ground truth on 67%, 67%" in viz.alt_text(fig)  # 2 of 3 labelled
    with pytest.raises(ValueError, match=r"got 1, 1 and 0"):
        viz.plot_predictions([torch.rand(3, 2, 2)], [label], [])


def test_plot_palette_swatches_and_error() -> None:
    fig = viz.plot_palette([[0, 0, 0], [128, 0, 0], [255, 255, 255]], ["bg", "plane", "w"])
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 3
    assert [t.get_color() for t in fig.axes[0].texts] == ["white", "white", "black"]
    assert "1 plane (RGB (128, 0, 0))" in viz.alt_text(fig)
    with pytest.raises(
        ValueError, match=r"names must have one entry per colour, got 2 names for 1 colours; "
    ):
        viz.plot_palette([[0, 0, 0]], ["a", "b"])


def test_plot_fcn_skips_draws_one_output_box_per_variant() -> None:
    fig = viz.plot_fcn_skips(["32s", "8s"])
    assert len(fig.axes) == 1
    labels = [text.get_text() for text in fig.axes[0].texts]
    assert "FCN-32s\n1/1" in labels and "FCN-8s\n1/1" in labels
    assert "x32 (bilinear)" in labels and "x8 (bilinear)" in labels
    assert (
        "FCN-8s: conv7 scores, x2 and add pool4 scores then x2 and add pool3 scores, "
        "upsampled x8 to the image"
    ) in viz.alt_text(fig)


@pytest.mark.parametrize("variants", [["4s"], []])
def test_plot_fcn_skips_rejects_unknown_variants(variants) -> None:
    with pytest.raises(
        ValueError,
        match=r"variants must be a non-empty list of \['16s', '32s', '8s'\], got .*; pass ",
    ):
        viz.plot_fcn_skips(variants)


def test_markdown_table_aligns_numeric_columns_right() -> None:
    table = viz.markdown_table(
        ["name", "count", "score"], [["a", 1234567, 0.12345], ["b", 2, None]]
    )
    lines = table.splitlines()
    assert lines[1] == "|---|---:|---:|"
    assert lines[2] == "| a | 1,234,567 | 0.123 |"
    assert lines[3] == "| b | 2 | - |"


def test_markdown_table_rejects_ragged_rows() -> None:
    with pytest.raises(
        ValueError, match=r"every row must have 2 cells \(one per header\), got row 1 with 3; "
    ):
        viz.markdown_table(["a", "b"], [[1, 2], [1, 2, 3]])


# ----------------------------------------------------------------------------- scatter view
def _grid_numbers(ax, shape) -> torch.Tensor:
    """The numbers written in a drawn grid, row by row; an empty cell reads as 0."""
    texts = [t.get_text() for t in ax.texts]
    return torch.tensor([float(t) if t else 0.0 for t in texts], dtype=torch.float64).reshape(shape)


@pytest.mark.parametrize("stride", [1, 2])
def test_plot_scatter_seed_example_draws_torch_numbers(stride: int) -> None:
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    expected = F.conv_transpose2d(X[None, None], X[None, None], stride=stride)[0, 0]
    fig = viz.plot_scatter(X, X, stride=stride)
    # input, kernel, one panel per input pixel, then the sum
    assert len(fig.axes) == 2 + 4 + 1
    torch.testing.assert_close(_grid_numbers(fig.axes[-1], expected.shape), expected)
    stamps = [_grid_numbers(ax, expected.shape) for ax in fig.axes[2:6]]
    torch.testing.assert_close(sum(stamps), expected)
    for (i, j), stamp in zip([(0, 0), (0, 1), (1, 0), (1, 1)], stamps, strict=False):
        window = stamp[i * stride : i * stride + 2, j * stride : j * stride + 2]
        torch.testing.assert_close(window, X[i, j] * X)
    if stride == 1:
        assert expected.tolist() == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
        assert viz.alt_text(fig).endswith("sum to [[0, 0, 1], [0, 4, 6], [4, 12, 9]].")


def test_plot_scatter_with_padding_and_floats() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 2, dtype=torch.float64, generator=generator).round(decimals=2)
    k = torch.randn(3, 3, dtype=torch.float64, generator=generator).round(decimals=2)
    expected = F.conv_transpose2d(x[None, None], k[None, None], stride=2, padding=1)[0, 0]
    fig = viz.plot_scatter(x, k, stride=2, padding=1)
    torch.testing.assert_close(
        _grid_numbers(fig.axes[-1], expected.shape), expected, atol=0.006, rtol=0
    )


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: viz.plot_scatter(torch.ones(5, 5), torch.ones(2, 2)),
            ValueError,
            r"x must have at most 16 pixels to be drawn \(one stamp each\), got 5×5 = 25",
        ),
        (
            lambda: viz.plot_scatter(torch.ones(2, 2), torch.ones(2, 2), stride=(1, 2, 3)),
            ValueError,
            r"stride must be an int or a pair",
        ),
        (
            lambda: viz.plot_scatter("x", torch.ones(2, 2)),
            TypeError,
            r"x must be a torch.Tensor, got str",
        ),
    ],
)
def test_plot_scatter_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------------- alt texts
def test_show_puts_the_alt_text_in_an_img_tag() -> None:
    fig = viz.show_images([torch.zeros(4, 4)], ['a <b> & "c"'])
    shown = viz.show(fig)
    assert re.fullmatch(
        r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" '
        r'alt="1 image: a &lt;b&gt; &amp; &quot;c&quot; \(4×4, grey\)\." '
        r'width="\d+" style="max-width: 100%; height: auto;">',
        shown.html,
    )
    assert shown._repr_html_() == shown.html
    assert viz.show(fig, alt="mine").alt_text == "mine"


def test_alt_text_errors() -> None:
    with pytest.raises(ValueError, match=r"obj must carry an alt text"):
        viz.alt_text(Figure())
    with pytest.raises(
        TypeError,
        match=r"obj must be a Figure, a Gif, GIF bytes or a GIF path, "
        r"got int",
    ):
        viz.alt_text(3)
    with pytest.raises(TypeError, match=r"obj must be a Figure, a Gif or GIF bytes, got str"):
        viz.show("figure.png")


def test_figures_register_an_html_display_with_their_alt_text(monkeypatch) -> None:
    import sys
    import types

    registered = {}

    class Formatter:
        def for_type(self, cls, function):
            registered[cls] = function

    shell = types.SimpleNamespace(
        display_formatter=types.SimpleNamespace(formatters={"text/html": Formatter()})
    )
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    fig = viz.plot_series([1, 2], {"a": [1, 4]}, xlabel="x", ylabel="y")
    html = registered[Figure](fig)
    assert html.startswith('<img src="data:image/png;base64,')
    assert 'alt="Line plot of y against x: a."' in html
    assert registered[Figure](Figure()) is None  # no alt text: the inline PNG stays
