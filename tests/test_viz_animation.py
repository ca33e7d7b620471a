"""Tests for the GIFs of transconv.viz: frames, drawn numbers against torch, alt texts."""

from __future__ import annotations

import io

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from tests.viz_helpers import CaptureWriter
from transconv import viz

X = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)


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
        (
            {
                "input_size": 2,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
                "transposed": True,
            },
            16,
        ),
        ({"input_size": (2, 1), "kernel_size": (2, 3), "dilation": (1, 2), "transposed": True}, 15),
    ],
)
def test_animation_is_gif_with_one_frame_per_output_pixel(kwargs: dict, frames: int) -> None:
    gif = viz.animate_convolution(**kwargs)
    assert isinstance(gif, bytes) and gif[:6] == b"GIF89a"
    assert _frames(gif) == frames
    assert len(gif) < 300_000
    assert viz.alt_text(gif) == gif.alt_text
    assert f"'{gif.alt_text}'" not in gif._repr_html_()
    assert 'alt="Animation of conv' in gif._repr_html_()


def test_animation_writes_path_with_the_alt_text_inside(tmp_path) -> None:
    target = tmp_path / "conv.gif"
    written = viz.animate_convolution(3, 2, path=target, fps=4)
    assert written == target
    assert _frames(target.read_bytes()) == 4
    assert viz.alt_text(target) == (
        "Animation of conv2d kernel_size=2, stride=1, input 3×3, "
        "output 2×2: one frame per output pixel, the shaded kernel "
        "window slides over the 3×3 input grid and fills the output "
        "pixel by pixel."
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"output_padding": 1},
            ValueError,
            r"output_padding must be 0 for a direct convolution, got \(1, 1\).*transposed=True",
        ),
        (
            {"stride": 2, "output_padding": 2, "transposed": True},
            ValueError,
            r"output_padding must be smaller than stride \(2\) or dilation \(1\), got 2",
        ),
        (
            {"stride": 2, "padding": 3, "transposed": True},
            ValueError,
            r"padding must be <= dilation \* \(kernel_size - 1\) = 2 to be drawn, got 3",
        ),
        ({"kernel_size": 9}, ValueError, r"smaller than the dilated kernel span"),
        (
            {"input_size": 30, "padding": 1},
            ValueError,
            r"frames must be at most MAX_FRAMES \(400\), got 30×30 = 900",
        ),
        ({"fps": 0}, ValueError, r"fps must be positive, got 0"),
        ({"fps": "2"}, TypeError, r"fps must be a real number, got '2'"),
        ({"input_size": 2.5}, TypeError, r"input_size must be an int or a pair \(h, w\) of ints"),
        ({"dilation": 0}, ValueError, r"dilation must have entries >= 1, got 0"),
    ],
)
def test_animation_errors_teach(kwargs: dict, error: type, message: str) -> None:
    args = {"input_size": 4, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=message):
        viz.animate_convolution(**args)


def _drawn(ax, shape) -> torch.Tensor:
    texts = [t.get_text() for t in ax.texts][: shape[0] * shape[1]]  # the cells come first
    return torch.tensor(
        [float(t) if t else float("nan") for t in texts], dtype=torch.float64
    ).reshape(shape)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 0), (2, 1)])
def test_scatter_animation_ends_on_torch_numbers(monkeypatch, stride, padding) -> None:
    capture = CaptureWriter(monkeypatch)
    kernel = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
    gif = viz.animate_scatter(X, kernel, stride=stride, padding=padding)
    assert _frames(gif) == 4  # one frame per input pixel
    expected = F.conv_transpose2d(
        X[None, None], kernel[None, None], stride=stride, padding=padding
    )[0, 0]
    fig, _ = capture.figures[-1]
    torch.testing.assert_close(_drawn(fig.axes[-1], expected.shape), expected)
    assert "scatter view" in gif.alt_text


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 0), (2, 1)])
def test_scatter_gather_animation_draws_torch_numbers_twice(monkeypatch, stride, padding) -> None:
    capture = CaptureWriter(monkeypatch)
    gif = viz.animate_scatter_gather(X, X + 1, stride=stride, padding=padding)
    expected = F.conv_transpose2d(
        X[None, None], (X + 1)[None, None], stride=stride, padding=padding
    )[0, 0]
    assert _frames(gif) == expected.numel()  # one frame per output pixel
    fig, _ = capture.figures[-1]
    scatter_out, gather_out = fig.axes[1], fig.axes[3]
    torch.testing.assert_close(_drawn(scatter_out, expected.shape), expected)
    torch.testing.assert_close(_drawn(gather_out, expected.shape), expected)
    assert "two views" in viz.alt_text(gif)


def test_scatter_gather_caption_writes_the_last_sum(monkeypatch) -> None:
    capture = CaptureWriter(monkeypatch)
    viz.animate_scatter_gather(X, X)
    fig, _ = capture.figures[-1]
    # y[2, 2] = x[1, 1] * K[1, 1] only: the bottom-right tap of the last stamp
    assert fig.texts[-1].get_text() == "y[2,2] = 3·3 = 9"


def test_scatter_animations_write_paths(tmp_path) -> None:
    for function in (viz.animate_scatter, viz.animate_scatter_gather):
        target = tmp_path / f"{function.__name__}.gif"
        assert function(X, X, path=target) == target
        assert viz.alt_text(target).startswith("Animation of")


def test_scatter_gather_rejects_a_cropping_padding() -> None:
    with pytest.raises(ValueError, match=r"padding must be <= dilation \* \(kernel_size - 1\)"):
        viz.animate_scatter_gather(torch.ones(3, 3), torch.ones(2, 2), stride=3, padding=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stride": 2, "padding": 1},
        {"stride": 2, "padding": 1, "output_padding": 1},
        {"stride": (3, 1), "padding": (0, 2), "dilation": (1, 2)},
    ],
)
def test_transposed_animation_draws_the_zero_inserted_grid(monkeypatch, kwargs) -> None:
    from transconv.overlap import zero_insert

    capture = CaptureWriter(monkeypatch)
    viz.animate_convolution((2, 3), 3, transposed=True, **kwargs)
    fig, _ = capture.figures[-1]
    grid = fig.axes[0]
    expected = zero_insert(torch.ones(2, 3), 3, **kwargs)
    assert grid.images[0].get_array().shape[:2] == expected.shape
    solid = grid.collections[0].get_segments()  # outlines of the input pixels
    centres = sorted((int(round(s[:4, 1].mean())), int(round(s[:4, 0].mean()))) for s in solid)
    assert centres == sorted(map(tuple, torch.nonzero(expected).tolist()))
