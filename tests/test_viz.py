"""Tests for transconv.viz: overlap counts, the convolution GIFs and the figure functions."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from PIL import Image

from transconv import viz


# ----------------------------------------------------------------------------- overlap
def _hand_counts_1d(n: int, k: int, s: int, layers: int) -> list[int]:
    """Overlap counts by the definition: input pixel i adds its count to i*s .. i*s+k-1."""
    counts = [1] * n
    for _ in range(layers):
        out = [0] * ((len(counts) - 1) * s + k)
        for i, count in enumerate(counts):
            for tap in range(k):
                out[i * s + tap] += count
        counts = out
    return counts


def test_overlap_counts_k3_s2_alternates_1_2() -> None:
    row = viz.overlap_counts((1, 6), (1, 3), (1, 2))[0].tolist()
    # input pixel i covers outputs 2i, 2i+1, 2i+2: even outputs are hit twice inside
    assert row == [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]


def test_overlap_counts_k4_s2_is_even_inside() -> None:
    assert viz.overlap_counts((1, 3), (1, 4), (1, 2))[0].tolist() == [1, 1, 2, 2, 2, 2, 1, 1]


def test_overlap_counts_2d_is_outer_product_of_rows() -> None:
    counts = viz.overlap_counts(4, 3, 2)
    row = torch.tensor(_hand_counts_1d(4, 3, 2, 1))
    assert counts.dtype == torch.int64
    assert torch.equal(counts, row[:, None] * row[None, :])


@settings(max_examples=40)
@given(n=st.integers(1, 5), k=st.integers(1, 5), s=st.integers(1, 4), layers=st.integers(1, 3),
       w=st.integers(1, 4))
def test_overlap_counts_match_hand_loop(n: int, k: int, s: int, layers: int, w: int) -> None:
    counts = viz.overlap_counts((n, w), (k, 2), (s, 1), layers=layers)
    rows = torch.tensor(_hand_counts_1d(n, k, s, layers))
    cols = torch.tensor(_hand_counts_1d(w, 2, 1, layers))
    assert torch.equal(counts, rows[:, None] * cols[None, :])


@pytest.mark.parametrize("k", range(1, 7))
@pytest.mark.parametrize("s", range(1, 5))
def test_even_overlap_iff_kernel_divisible_by_stride(k: int, s: int) -> None:
    n = 2 * k + 2
    row = viz.overlap_counts((1, n), (1, k), (1, s))[0]
    interior = row[k - 1:(n - 1) * s + 1]
    assert (interior.min() == interior.max()).item() == (k % s == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": 0}, r"layers must be an int >= 1.*got 0"),
        ({"kernel_size": 0}, r"kernel_size \(0\) must be a positive integer"),
        ({"stride": -1}, r"stride \(-1\) must be a positive integer"),
        ({"input_size": (3, 3, 3)}, r"input_size must be an int or a pair.*\(3, 3, 3\)"),
    ],
)
def test_overlap_counts_errors(kwargs: dict, message: str) -> None:
    args = {"input_size": 3, "kernel_size": 3, "stride": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        viz.overlap_counts(**args)


# ----------------------------------------------------------------------------- animation
def _frames(gif: bytes) -> int:
    image = Image.open(io.BytesIO(gif))
    assert image.format == "GIF"
    return image.n_frames


@pytest.mark.parametrize(
    ("kwargs", "frames"),
    [
        ({"input_size": 4, "kernel_size": 3}, 4),
        ({"input_size": 5, "kernel_size": 3, "stride": 2, "padding": 1}, 9),
        ({"input_size": 2, "kernel_size": 3, "transposed": True}, 16),
        ({"input_size": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1,
          "transposed": True}, 16),
        ({"input_size": (2, 1), "kernel_size": (2, 3), "dilation": (1, 2), "transposed": True},
         15),
    ],
)
def test_animation_is_gif_with_one_frame_per_output_pixel(kwargs: dict, frames: int) -> None:
    gif = viz.animate_convolution(**kwargs)
    assert isinstance(gif, bytes) and gif[:6] == b"GIF89a"
    assert _frames(gif) == frames
    assert len(gif) < 300_000


def test_animation_writes_path(tmp_path) -> None:
    target = tmp_path / "conv.gif"
    written = viz.animate_convolution(3, 2, path=target, fps=4)
    assert written == target
    assert _frames(target.read_bytes()) == 4


def _drawn_convolution(x: torch.Tensor, w: torch.Tensor, config: dict) -> torch.Tensor:
    """Run the convolution the animation draws: stride ``step`` over the drawn grid."""
    mask, step, out = viz._animation_grid(
        tuple(x.shape[-2:]), tuple(w.shape[-2:]), *(config[key] for key in
                                                   ("s", "p", "op", "d")), config["t"])
    canvas = torch.zeros(mask.shape, dtype=x.dtype)
    canvas[torch.from_numpy(mask)] = x.flatten()
    kernel = w.flip(-2, -1) if config["t"] else w
    result = F.conv2d(canvas[None, None], kernel[None, None], stride=step,
                      dilation=config["d"])[0, 0]
    assert tuple(result.shape) == out
    return result


@settings(max_examples=60)
@given(h=st.integers(1, 4), w=st.integers(1, 4), k=st.integers(1, 3), s=st.integers(1, 3),
       p=st.integers(0, 2), d=st.integers(1, 2), op=st.integers(0, 2), data=st.data())
def test_drawn_grid_computes_conv_transpose2d(h, w, k, s, p, d, op, data) -> None:
    op = op % max(s, d)
    p = min(p, d * (k - 1))
    assume((min(h, w) - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    generator = torch.Generator().manual_seed(data.draw(st.integers(0, 999)))
    x = torch.randn(h, w, dtype=torch.float64, generator=generator)
    kernel = torch.randn(k, k, dtype=torch.float64, generator=generator)
    config = {"s": (s, s), "p": (p, p), "op": (op, op), "d": (d, d), "t": True}
    expected = F.conv_transpose2d(x[None, None], kernel[None, None], stride=s, padding=p,
                                  output_padding=op, dilation=d)[0, 0]
    torch.testing.assert_close(_drawn_convolution(x, kernel, config), expected)


@settings(max_examples=40)
@given(h=st.integers(3, 6), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 2),
       d=st.integers(1, 2))
def test_drawn_grid_computes_conv2d(h, k, s, p, d) -> None:
    assume(h + 2 * p >= d * (k - 1) + 1)
    generator = torch.Generator().manual_seed(h * 100 + k * 10 + s)
    x = torch.randn(h, h + 1, dtype=torch.float64, generator=generator)
    kernel = torch.randn(k, k, dtype=torch.float64, generator=generator)
    config = {"s": (s, s), "p": (p, p), "op": (0, 0), "d": (d, d), "t": False}
    expected = F.conv2d(x[None, None], kernel[None, None], stride=s, padding=p,
                        dilation=d)[0, 0]
    torch.testing.assert_close(_drawn_convolution(x, kernel, config), expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_padding": 1}, r"output_padding \(\(1, 1\)\) only exists for transposed.*"
                                r"transposed=True"),
        ({"stride": 2, "output_padding": 2, "transposed": True},
         r"output_padding \(2\) must be smaller than stride \(2\) or dilation \(1\)"),
        ({"stride": 2, "padding": 3, "transposed": True},
         r"padding \(3\) is larger than dilation \* \(kernel_size - 1\) \(2\).*padding <= 2"),
        ({"kernel_size": 9}, r"smaller than the dilated kernel span"),
        ({"input_size": 30, "padding": 1}, r"900 pixels.*MAX_FRAMES \(400\)"),
        ({"fps": 0}, r"fps must be positive, got 0"),
        ({"input_size": 2.5}, r"input_size must be an int or a pair of ints.*2\.5"),
        ({"dilation": 0}, r"dilation \(0\) must be a positive integer"),
    ],
)
def test_animation_errors_teach(kwargs: dict, message: str) -> None:
    args = {"input_size": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        viz.animate_convolution(**args)


# ----------------------------------------------------------------------------- figures
def test_show_images_grid_and_rescaling() -> None:
    normalised = torch.linspace(-2, 3, 48).reshape(3, 4, 4)
    images = [normalised, torch.zeros(4, 4, dtype=torch.uint8), np.ones((4, 4, 3))]
    fig = viz.show_images(images, ["a", "b", "c"], ncols=2)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    shown = fig.axes[0].images[0].get_array()
    assert float(shown.min()) == 0.0 and float(shown.max()) == 1.0
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]


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
        ([], None, "got no images"),
        ([torch.zeros(4, 4)], ["a", "b"], r"got 1 images but 2 titles"),
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


def test_show_matrix_rejects_non_2d() -> None:
    with pytest.raises(ValueError, match=r"needs a 2-D matrix, got shape \(2, 2, 2\)"):
        viz.show_matrix(torch.zeros(2, 2, 2))


def test_plot_series_lines_and_error() -> None:
    fig = viz.plot_series([1, 2, 3], {"a": [1, 2, 3], "b": [3, 2, 1]}, xlabel="x",
                          ylabel="y", logx=True, logy=True, title="t")
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    assert fig.axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match=r"series 'a' has 2 values but x has 3"):
        viz.plot_series([1, 2, 3], {"a": [1, 2]}, xlabel="x", ylabel="y")


def test_plot_overlap_axes_and_errors() -> None:
    assert len(viz.plot_overlap(viz.overlap_counts(3, 3, 2)).axes) == 1
    maps = [viz.overlap_counts(3, k, 2) for k in (3, 4, 5)]
    assert len(viz.plot_overlap(maps, ["3", "4", "5"]).axes) == 3
    with pytest.raises(ValueError, match=r"got 2 maps but 1 titles"):
        viz.plot_overlap(maps[:2], ["x"])
    with pytest.raises(ValueError, match=r"map 0 has shape \(3,\); an overlap map must be 2-D"):
        viz.plot_overlap([torch.ones(3)])


def test_plot_history_tolerates_missing_keys() -> None:
    history = [{"epoch": 1, "train_loss": 2.0, "train_acc": 0.4},
               {"train_loss": 1.0, "pixel_acc": 0.7, "mean_iou": 0.3}]
    fig = viz.plot_history(history)
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [1, 2, 1]
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2]
    empty = viz.plot_history([])
    assert [t.get_text() for ax in empty.axes for t in ax.texts] == ["no data"] * 3


def test_plot_predictions_grid_and_error() -> None:
    label = torch.tensor([[0, 1], [255, 2]])
    fig = viz.plot_predictions([torch.rand(3, 2, 2)] * 2, [label] * 2, [label] * 2)
    assert len(fig.axes) == 6
    coloured = fig.axes[1].images[0].get_array()
    assert coloured[1, 0].tolist() == [224, 224, 192]  # VOC's boundary colour for 255
    with pytest.raises(ValueError, match=r"got 1, 1 and 0"):
        viz.plot_predictions([torch.rand(3, 2, 2)], [label], [])


def test_plot_palette_swatches_and_error() -> None:
    fig = viz.plot_palette([[0, 0, 0], [128, 0, 0], [255, 255, 255]], ["bg", "plane", "w"])
    assert len(fig.axes) == 1 and len(fig.axes[0].patches) == 3
    assert [t.get_color() for t in fig.axes[0].texts] == ["white", "white", "black"]
    with pytest.raises(ValueError, match=r"got 1 colours but 2 names"):
        viz.plot_palette([[0, 0, 0]], ["a", "b"])


def test_plot_fcn_skips_draws_one_output_box_per_variant() -> None:
    fig = viz.plot_fcn_skips(["32s", "8s"])
    assert len(fig.axes) == 1
    labels = [text.get_text() for text in fig.axes[0].texts]
    assert "FCN-32s\n1/1" in labels and "FCN-8s\n1/1" in labels
    assert "x32 (bilinear)" in labels and "x8 (bilinear)" in labels


@pytest.mark.parametrize("variants", [["4s"], []])
def test_plot_fcn_skips_rejects_unknown_variants(variants) -> None:
    with pytest.raises(ValueError, match=r"variants must be a non-empty list of \['16s', '32s', '8s'\]"):
        viz.plot_fcn_skips(variants)


def test_markdown_table_aligns_numeric_columns_right() -> None:
    table = viz.markdown_table(["name", "count", "score"],
                               [["a", 1234567, 0.12345], ["b", 2, None]])
    lines = table.splitlines()
    assert lines[1] == "|---|---:|---:|"
    assert lines[2] == "| a | 1,234,567 | 0.123 |"
    assert lines[3] == "| b | 2 | - |"


def test_markdown_table_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match=r"every row needs 2 cells \(one per header\), row 1 has 3"):
        viz.markdown_table(["a", "b"], [[1, 2], [1, 2, 3]])
