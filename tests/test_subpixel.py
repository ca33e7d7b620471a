"""transconv.subpixel against torch.nn.functional.conv_transpose2d, in float64."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

from transconv import SubpixelConvTranspose2d, conv_transpose2d_subpixel, subpixel_weight


@st.composite
def layers(draw):
    """A random valid (input, weight, bias, kwargs) for a transposed convolution."""
    kernel = draw(st.tuples(st.integers(1, 7), st.integers(1, 7)))
    stride = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = tuple(draw(st.integers(0, k + 1)) for k in kernel)
    output_padding = tuple(draw(st.integers(0, s - 1)) for s in stride)
    size = draw(st.tuples(st.integers(1, 6), st.integers(1, 6)))
    for n, k, s, p, op in zip(size, kernel, stride, padding, output_padding, strict=True):
        assume((n - 1) * s - 2 * p + k + op >= 1)
    c_in, c_out, batch = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    x = torch.randn(batch, c_in, *size, generator=g, dtype=torch.float64)
    w = torch.randn(c_in, c_out, *kernel, generator=g, dtype=torch.float64)
    b = torch.randn(c_out, generator=g, dtype=torch.float64) if draw(st.booleans()) else None
    square = draw(st.booleans())  # ints as well as pairs
    kwargs = {
        "stride": stride[0] if square and stride[0] == stride[1] else stride,
        "padding": padding,
        "output_padding": output_padding,
    }
    return x, w, b, kwargs


@pytest.mark.slow
@settings(max_examples=80)
@given(layers())
def test_equals_conv_transpose2d_with_gradients(layer):
    x, w, b, kwargs = layer
    leaves = [t.requires_grad_() for t in (x, w, b) if t is not None]
    ours = conv_transpose2d_subpixel(x, w, b, **kwargs)
    theirs = F.conv_transpose2d(x, w, b, **kwargs)
    assert_close(ours, theirs)
    probe = torch.randn_like(theirs)  # a random upstream gradient reaches every tap
    assert_close(
        torch.autograd.grad(ours, leaves, probe), torch.autograd.grad(theirs, leaves, probe)
    )


def test_gradcheck_fcn_like_layer():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 3, 2, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 2, 4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, generator=g, dtype=torch.float64, requires_grad=True)
    fn = lambda x, w, b: conv_transpose2d_subpixel(x, w, b, (2, 3), (1, 2), (1, 0))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))


def test_fcn_x32_upsampler_matches():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 21, 4, 5, generator=g, dtype=torch.float64)
    w = torch.randn(21, 21, 64, 64, generator=g, dtype=torch.float64)
    kwargs = {"stride": 32, "padding": 16}
    assert_close(conv_transpose2d_subpixel(x, w, **kwargs), F.conv_transpose2d(x, w, **kwargs))


def test_unbatched_input():
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    w = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    assert_close(conv_transpose2d_subpixel(x, w, stride=2), F.conv_transpose2d(x, w, stride=2))


def test_subpixel_weight_places_each_tap_by_phase_and_flips():
    # 1 -> 1 channel, kernel 3, stride 2: J = 2 taps per phase; phase 0 holds taps 0 and 2,
    # phase 1 holds tap 1 and a zero beyond the kernel; each read back to front (a correlation).
    w = torch.arange(9.0).reshape(1, 1, 3, 3)  # tap (a, b) holds 3a + b
    sub = subpixel_weight(w, 2)
    assert sub.shape == (4, 1, 2, 2)
    expected_phase_00 = torch.tensor([[8.0, 6.0], [2.0, 0.0]])  # taps (2,2) (2,0) / (0,2) (0,0)
    expected_phase_11 = torch.tensor([[0.0, 0.0], [0.0, 4.0]])  # tap (1, 1) only
    assert_close(sub[0, 0], expected_phase_00)
    assert_close(sub[3, 0], expected_phase_11)


def test_subpixel_weight_is_a_permutation_of_the_taps():
    w = torch.randn(3, 5, 6, 6, dtype=torch.float64)
    sub = subpixel_weight(w, (2, 3))
    assert sub.shape == (5 * 2 * 3, 3, 3, 2)
    assert_close(sub.flatten().sort().values, w.flatten().sort().values)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"stride": 0}, ValueError, r"stride must have entries >= 1, got 0"),
        ({"stride": 1.5}, TypeError, r"stride must be an int or a pair"),
        ({"padding": -1}, ValueError, r"padding must have entries >= 0, got -1"),
        ({"output_padding": (1, 0)}, ValueError, r"output_padding"),
        ({"stride": (2, 2, 2)}, ValueError, r"stride must be an int or a pair \(h, w\)"),
    ],
)
def test_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv_transpose2d_subpixel(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 3, 3), **kwargs)


def test_rejects_mismatched_operands():
    with pytest.raises(
        ValueError, match=r"input channels must equal weight.shape\[0\] = 1 .*got 2"
    ):
        conv_transpose2d_subpixel(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"weight must be 4-D"):
        subpixel_weight(torch.zeros(1, 3, 3), 2)


def test_module_matches_conv_transpose_and_shares_state_dict():
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(3, 4, kernel_size=4, stride=2, padding=1).double()
    fast = SubpixelConvTranspose2d(3, 4, kernel_size=4, stride=2, padding=1).double()
    fast.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64)
    assert_close(fast(x, output_size=(11, 15)), layer(x, output_size=(11, 15)))
    layer.load_state_dict(fast.state_dict())  # and back


def test_module_from_conv_transpose_shares_parameters_and_gradients():
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(2, 2, kernel_size=64, stride=32, padding=16, bias=False).double()
    fast = SubpixelConvTranspose2d.from_conv_transpose(layer)
    assert fast.weight is layer.weight
    x = torch.randn(1, 2, 3, 2, dtype=torch.float64)
    (g_fast,) = torch.autograd.grad(fast(x).square().sum(), fast.weight)
    (g_layer,) = torch.autograd.grad(layer(x).square().sum(), layer.weight)
    assert_close(g_fast, g_layer)
    fast.register_buffer("extra", torch.zeros(1))
    assert "extra" not in layer.state_dict()  # registries copied, not shared


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dilation": 2}, r"layer.dilation must be \(1, 1\)"), ({"groups": 2}, r"layer.groups")],
)
def test_module_from_conv_transpose_refuses_unsupported(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SubpixelConvTranspose2d.from_conv_transpose(nn.ConvTranspose2d(2, 2, 3, **kwargs))


def test_numpy_integers_and_dtype_mismatch():
    x = torch.randn(1, 2, 4, 3, dtype=torch.float64)
    w = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    kwargs = {"stride": np.int64(2), "padding": (np.int32(1), 0), "output_padding": np.int64(1)}
    assert_close(conv_transpose2d_subpixel(x, w, **kwargs), F.conv_transpose2d(x, w, **kwargs))
    with pytest.raises(TypeError, match=r"^bias must have the dtype of input \(torch.float64\)"):
        conv_transpose2d_subpixel(x, w, torch.zeros(3))
