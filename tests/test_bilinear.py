"""Tests for transconv.bilinear: kernel values, exact upsampling shape, parity with interpolate."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transconv.bilinear import bilinear_kernel, bilinear_upsampler

# 1-D tents worked out by hand from the d2l formula (factor = (k + 1) // 2, centre c).
TENTS = {
    1: [1.0],
    2: [0.5, 0.5],  # factor 1, c = 0.5
    3: [0.5, 1.0, 0.5],  # factor 2, c = 1
    4: [0.25, 0.75, 0.75, 0.25],  # factor 2, c = 1.5
    5: [1 / 3, 2 / 3, 1.0, 2 / 3, 1 / 3],  # factor 3, c = 2
    6: [1 / 6, 1 / 2, 5 / 6, 5 / 6, 1 / 2, 1 / 6],  # factor 3, c = 2.5
}


@pytest.mark.parametrize("k", sorted(TENTS))
def test_kernel_is_outer_product_of_tents(k):
    tent = torch.tensor(TENTS[k], dtype=torch.float64)
    w = bilinear_kernel(2, 2, k)
    assert w.shape == (2, 2, k, k) and w.dtype == torch.float32
    for i in range(2):
        torch.testing.assert_close(w[i, i].double(), torch.outer(tent, tent), rtol=0, atol=1e-7)


def test_kernel_off_diagonal_is_zero():
    w = bilinear_kernel(4, 4, 4)
    off = ~torch.eye(4, dtype=torch.bool)
    assert w[off].abs().sum() == 0
    assert (w[torch.eye(4, dtype=torch.bool)] > 0).all()


@pytest.mark.parametrize(("c_in", "c_out"), [(3, 5), (5, 3)])
def test_kernel_unequal_channels_pairs_first_min(c_in, c_out):
    w = bilinear_kernel(c_in, c_out, 4)
    assert w.shape == (c_in, c_out, 4, 4)
    assert w.flatten(2).abs().sum(-1).count_nonzero() == 3


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0, 1, 4), ValueError, r"^in_channels must be an int >= 1, got 0; pass in_channels=1"),
        ((1, -2, 4), ValueError, r"^out_channels must be an int >= 1, got -2"),
        ((1, 1, 0), ValueError, r"^kernel_size must be an int >= 1, got 0"),
        ((1, 1, 2.5), TypeError, r"^kernel_size must be an int, got 2.5; pass e.g. kernel_size=4"),
    ],
)
def test_kernel_errors(args, error, match):
    with pytest.raises(error, match=match):
        bilinear_kernel(*args)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((3, 0), ValueError, r"^factor must be an int >= 1, got 0"),
        ((0, 2), ValueError, r"^channels must be an int >= 1, got 0"),
        ((3, 2.0), TypeError, r"^factor must be an int, got 2.0"),
    ],
)
def test_upsampler_errors(args, error, match):
    with pytest.raises(error, match=match):
        bilinear_upsampler(*args)


def test_numpy_integers_are_accepted():
    torch.testing.assert_close(
        bilinear_kernel(np.int64(2), 2, np.int32(4)), bilinear_kernel(2, 2, 4)
    )
    up = bilinear_upsampler(np.int64(3), np.int64(2))
    assert (up.in_channels, up.kernel_size, up.stride) == (3, (4, 4), (2, 2))


def test_upsampler_layer():
    up = bilinear_upsampler(3, 32)
    assert isinstance(up, nn.ConvTranspose2d) and up.bias is None
    assert (up.kernel_size, up.stride, up.padding) == ((64, 64), (32, 32), (16, 16))
    torch.testing.assert_close(up.weight.data, bilinear_kernel(3, 3, 64))
    assert up.weight.requires_grad


def _upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    up = bilinear_upsampler(x.shape[1], factor).double()
    with torch.no_grad():
        return up(x)


@settings(max_examples=25)
@given(f=st.integers(1, 5), h=st.integers(1, 7), w=st.integers(1, 7), seed=st.integers(0, 2**16))
def test_upsampler_exact_factor_and_interior_matches_interpolate(f, h, w, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 2, h, w, generator=g, dtype=torch.float64)
    y = _upsample(x, f)
    assert y.shape == (2, 2, f * h, f * w)
    ref = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
    inner = (..., slice(f, -f), slice(f, -f))
    # atol: the weight is float32, so odd factors (1/3, 1/5 ...) carry float32 rounding.
    torch.testing.assert_close(y[inner], ref[inner], rtol=0, atol=1e-6)
    # Border: exactly interpolate of the input padded with one ring of zeros.
    zero_padded = F.interpolate(
        F.pad(x, (1, 1, 1, 1)), scale_factor=f, mode="bilinear", align_corners=False
    )
    torch.testing.assert_close(y, zero_padded[inner], rtol=0, atol=1e-6)


@pytest.mark.parametrize("f", [2, 3, 4])
def test_upsampler_border_is_attenuated_on_constant_image(f):
    x = torch.ones(1, 1, 6, 6, dtype=torch.float64)
    y = _upsample(x, f)
    clamped = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
    torch.testing.assert_close(clamped, torch.ones_like(clamped))  # interpolate keeps 1 everywhere
    torch.testing.assert_close(
        y[..., f:-f, f:-f], torch.ones(1, 1, 4 * f, 4 * f, dtype=torch.float64)
    )
    for edge in (y[..., 0, :], y[..., -1, :], y[..., :, 0], y[..., :, -1]):
        assert (edge < 1).all()


def test_upsampler_factor2_border_values():
    # Output pixel 0 sits 0.75 of the way from the zero pad to pixel 0 -> weight 0.75 per axis.
    y = _upsample(torch.ones(1, 1, 4, 4, dtype=torch.float64), 2)[0, 0]
    assert y[0, 0].item() == pytest.approx(0.5625)
    assert y[0, 3].item() == pytest.approx(0.75) and y[3, 0].item() == pytest.approx(0.75)
    assert y[-1, -1].item() == pytest.approx(0.5625)
