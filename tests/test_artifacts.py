"""transconv.artifacts: phase means, the checkerboard score and ICNR, against hand-made images."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transconv.artifacts import checkerboard_score, icnr_, phase_means


def test_phase_means_by_hand():
    x = torch.arange(36.0).view(6, 6)
    expected = torch.tensor([[x[r::3, q::3].mean().item() for q in range(3)] for r in range(3)])
    torch.testing.assert_close(phase_means(x, 3), expected)


def test_phase_means_drops_partial_blocks_and_keeps_leading_dims():
    x = torch.zeros(2, 3, 5, 7)
    x[..., 4, :] = 100.0  # the partial last row of 2x2 blocks: left out
    assert phase_means(x).shape == (2, 3, 2, 2)
    assert phase_means(x).abs().max() == 0


@settings(max_examples=30, deadline=None)
@given(
    a=st.floats(-5, 5),
    b=st.floats(-5, 5),
    c=st.floats(-5, 5),
    stride=st.integers(1, 4),
)
def test_ramps_and_constants_score_zero(a, b, c, stride):
    axis = torch.arange(12, dtype=torch.float64)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    assert checkerboard_score(a * y + b * x + c, stride) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("amplitude", [0.5, 1.0, 4.0])
def test_checkerboard_of_amplitude_a_scores_a(amplitude):
    board = amplitude * (torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(5, 5) - 0.5)
    assert checkerboard_score(board) == pytest.approx(amplitude)


def test_board_on_a_smooth_image_scores_its_amplitude_only():
    y, x = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    smooth = 0.3 * y - 0.1 * x
    board = 0.2 * (torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(8, 8) - 0.5)
    assert checkerboard_score(smooth + board) == pytest.approx(0.2, abs=1e-6)


def test_score_averages_over_leading_dims():
    board = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(4, 4)
    batch = torch.stack([board, torch.zeros(8, 8)])[:, None]  # (2, 1, 8, 8)
    assert checkerboard_score(batch) == pytest.approx(0.5)


def test_icnr_makes_the_subpixel_layer_nearest_upsampling_of_one_convolution():
    g = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(3, 2 * 9, 3, padding=1).double()
    icnr_(conv.weight, 3)
    icnr_(conv.bias, 3)
    x = torch.randn(1, 3, 5, 6, generator=g, dtype=torch.float64)
    y = F.pixel_shuffle(conv(x), 3)
    one = F.conv2d(x, conv.weight[::9], conv.bias[::9], padding=1)
    torch.testing.assert_close(y, F.interpolate(one, scale_factor=3, mode="nearest"))
    flat = F.pixel_shuffle(conv(torch.ones(1, 3, 8, 8).double()), 3)[..., 3:-3, 3:-3]
    assert checkerboard_score(flat, 3) < 1e-12  # inside the zero-padded border


def test_icnr_returns_the_same_tensor():
    weight = torch.randn(8, 1, 3, 3)
    assert icnr_(weight, 2) is weight


def test_errors_follow_the_house_grammar():
    with pytest.raises(
        TypeError, match=r"x must be a floating-point tensor, got dtype torch.int64"
    ):
        phase_means(torch.zeros(4, 4, dtype=torch.long))
    with pytest.raises(TypeError, match=r"x must be a floating-point tensor, got list"):
        checkerboard_score([[0.0]])
    with pytest.raises(ValueError, match=r"x must have at least 2 dimensions .*got shape \(4,\)"):
        phase_means(torch.zeros(4))
    with pytest.raises(ValueError, match=r"x must be at least stride x stride = 3 x 3, got 2 x 5"):
        phase_means(torch.zeros(2, 5), 3)
    with pytest.raises(ValueError, match=r"stride must be an int >= 1, got 0"):
        phase_means(torch.zeros(4, 4), 0)
    with pytest.raises(ValueError, match=r"x must be at least stride x stride = 2 x 2, got 1 x 4"):
        checkerboard_score(torch.zeros(3, 6))  # 1 x 4 after the blur's border
    with pytest.raises(ValueError, match=r"weight must have shape .* got \(6, 1, 3, 3\); give"):
        icnr_(torch.zeros(6, 1, 3, 3), 2)
    with pytest.raises(TypeError, match=r"weight must be a floating-point tensor, got dtype"):
        icnr_(torch.zeros(4, 1, 3, 3, dtype=torch.long), 2)
