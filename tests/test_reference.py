"""Tests for transconv.reference: the loops and the vectorised conv_transpose2d vs torch."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transconv.reference import conv_transpose2d, corr2d, trans_conv
from transconv.shapes import output_padding_for

f64 = torch.float64


def _randn(gen, *shape):
    return torch.randn(*shape, generator=gen, dtype=f64)


# --- the teaching loops ------------------------------------------------------------------------


def test_trans_conv_and_corr2d_book_examples():
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    assert torch.equal(
        trans_conv(X, X), torch.tensor([[0.0, 0.0, 1.0], [0.0, 4.0, 6.0], [4.0, 12.0, 9.0]])
    )
    K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(
        corr2d(torch.arange(9.0).reshape(3, 3), K), torch.tensor([[27.0, 37.0], [57.0, 67.0]])
    )


@settings(max_examples=40)
@given(
    h=st.integers(1, 5),
    w=st.integers(1, 5),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_loops_match_torch(h, w, kh, kw, seed):
    g = torch.Generator().manual_seed(seed)
    X, K = _randn(g, h, w), _randn(g, kh, kw)
    expected = F.conv_transpose2d(X[None, None], K[None, None])[0, 0]
    torch.testing.assert_close(trans_conv(X, K), expected)
    if kh <= h and kw <= w:
        torch.testing.assert_close(corr2d(X, K), F.conv2d(X[None, None], K[None, None])[0, 0])


@pytest.mark.parametrize("fn", [trans_conv, corr2d])
def test_loops_reject_non_2d(fn):
    with pytest.raises(ValueError, match=r"^X must be 2-D \(H, W\), got shape \(1, 2, 2\); take"):
        fn(torch.zeros(1, 2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"^K must be 2-D \(H, W\), got shape \(2,\)"):
        fn(torch.zeros(2, 2), torch.zeros(2))


def test_corr2d_rejects_kernel_larger_than_input():
    with pytest.raises(
        ValueError,
        match=r"K must be no larger than X .*got kernel \(3, 1\) and input \(2, 2\); pad",
    ):
        corr2d(torch.zeros(2, 2), torch.zeros(3, 1))


# --- conv_transpose2d: random configurations ---------------------------------------------------


@st.composite
def configs(draw):
    def pair(lo, hi):
        return draw(
            st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))
        )

    stride, dilation = pair(1, 3), pair(1, 3)
    s2, d2 = (v if isinstance(v, tuple) else (v, v) for v in (stride, dilation))
    op = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(s2, d2, strict=True))
    if op[0] == op[1] and draw(st.booleans()):
        op = op[0]
    return dict(
        batch=draw(st.sampled_from([None, 1, 2])),
        groups=draw(st.integers(1, 3)),
        c_in=draw(st.integers(1, 3)),
        c_out=draw(st.integers(1, 3)),
        size=(draw(st.integers(1, 6)), draw(st.integers(1, 6))),
        kernel=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        bias=draw(st.booleans()),
        kwargs=dict(stride=stride, padding=pair(0, 3), output_padding=op, dilation=dilation),
        seed=draw(st.integers(0, 2**16)),
    )


def _operands(cfg):
    """Input (C_in = groups * c_in), ConvTranspose2d weight (C_in, c_out, kh, kw) and bias."""
    g = torch.Generator().manual_seed(cfg["seed"])
    groups = cfg["groups"]
    lead = () if cfg["batch"] is None else (cfg["batch"],)
    x = _randn(g, *lead, groups * cfg["c_in"], *cfg["size"])
    w = _randn(g, groups * cfg["c_in"], cfg["c_out"], *cfg["kernel"])
    b = _randn(g, groups * cfg["c_out"]) if cfg["bias"] else None
    return x, w, b


@pytest.mark.slow
@settings(max_examples=200)
@given(cfg=configs())
def test_conv_transpose2d_matches_torch(cfg):
    x, w, b = _operands(cfg)
    try:
        expected = F.conv_transpose2d(x, w, b, groups=cfg["groups"], **cfg["kwargs"])
    except RuntimeError:  # padding too large for this input: both must refuse
        with pytest.raises(ValueError, match=r"output size .* must be >= 1, got"):
            conv_transpose2d(x, w, b, groups=cfg["groups"], **cfg["kwargs"])
        return
    torch.testing.assert_close(
        conv_transpose2d(x, w, b, groups=cfg["groups"], **cfg["kwargs"]), expected
    )


@settings(max_examples=60)
@given(cfg=configs())
def test_conv_transpose2d_is_adjoint_of_conv2d(cfg):
    """<conv2d(z, w), y> == <z, conv_transpose2d(y, w)>, checked via F.conv2d.

    The ConvTranspose2d weight (C_in, C_out / groups, kh, kw) is the Conv2d weight of the
    convolution it transposes (C_out -> C_in channels).
    """
    x, w, _ = _operands({**cfg, "batch": 2})
    kw = {k: v for k, v in cfg["kwargs"].items() if k != "output_padding"}
    g = torch.Generator().manual_seed(cfg["seed"] + 1)
    z = _randn(g, 2, cfg["groups"] * cfg["c_out"], *cfg["size"])
    try:
        conv = F.conv2d(z, w, groups=cfg["groups"], **kw)
    except RuntimeError:  # kernel larger than the padded input
        return
    y = _randn(g, *conv.shape)
    op = output_padding_for(
        tuple(conv.shape[2:]),
        cfg["size"],
        cfg["kernel"],
        kw["stride"],
        kw["padding"],
        kw["dilation"],
    )
    back = conv_transpose2d(y, w, groups=cfg["groups"], output_padding=op, **kw)
    torch.testing.assert_close((conv * y).sum(), (z * back).sum())


def test_gradients_match_torch():
    g = torch.Generator().manual_seed(0)
    args = [_randn(g, 2, 4, 3, 5), _randn(g, 4, 3, 3, 2), _randn(g, 6)]
    kw = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2, dilation=(1, 2))
    ours = [a.clone().requires_grad_() for a in args]
    theirs = [a.clone().requires_grad_() for a in args]
    conv_transpose2d(*ours, **kw).square().sum().backward()
    F.conv_transpose2d(*theirs, **kw).square().sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad)


def test_float32_and_unbatched():
    x, w = torch.randn(3, 4, 4), torch.randn(3, 2, 3, 3)
    y = conv_transpose2d(x, w, stride=2)
    assert y.shape == (2, 9, 9) and y.dtype == torch.float32
    torch.testing.assert_close(y, F.conv_transpose2d(x, w, stride=2))


# --- conv_transpose2d: errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape", "kw", "match"),
    [
        (
            (4, 4),
            (1, 1, 2, 2),
            None,
            {},
            r"input must be 3-D \(C_in, H, W\) or 4-D .* got shape \(4, 4\)",
        ),
        (
            (1, 1, 1, 4, 4),
            (1, 1, 2, 2),
            None,
            {},
            r"input must be 3-D .* got shape \(1, 1, 1, 4, 4\)",
        ),
        (
            (1, 1, 4, 4),
            (1, 2, 2),
            None,
            {},
            r"weight must be 4-D \(C_in, C_out / groups, kH, kW\).*got shape \(1, 2, 2\)",
        ),
        (
            (1, 2, 4, 4),
            (3, 1, 2, 2),
            None,
            {},
            r"input channels must equal weight.shape\[0\] = 3 .*got 2;.*swap",
        ),
        (
            (1, 3, 4, 4),
            (3, 1, 2, 2),
            None,
            {"groups": 2},
            r"weight.shape\[0\] \(C_in\) must be divisible by groups \(2\), got 3",
        ),
        (
            (1, 3, 4, 4),
            (3, 1, 2, 2),
            None,
            {"groups": 0},
            r"^groups must be an int >= 1, got 0; pass groups=1",
        ),
        (
            (1, 4, 4, 4),
            (4, 3, 2, 2),
            (3,),
            {"groups": 2},
            r"bias must have shape \(6,\) = \(weight.shape\[1\] 3 \* groups 2,\), got \(3,\)",
        ),
        (
            (1, 1, 4, 4),
            (1, 1, 3, 3),
            None,
            {"stride": 2, "output_padding": 2},
            r"output_padding must be smaller than stride \(2\) or dilation \(1\), got 2",
        ),
        (
            (1, 1, 4, 4),
            (1, 1, 3, 3),
            None,
            {"stride": (1, 2), "output_padding": (0, 1, 0)},
            r"same length",
        ),
        (
            (1, 1, 2, 2),
            (1, 1, 2, 2),
            None,
            {"padding": 2},
            r"output size .* must be >= 1, got .* = -1; pass padding <= 1",
        ),
        (
            (1, 1, 2, 2),
            (1, 1, 2, 2),
            None,
            {"stride": 0},
            r"stride must be an int >= 1, got 0",
        ),
    ],
)
def test_conv_transpose2d_errors(x_shape, w_shape, b_shape, kw, match):
    b = None if b_shape is None else torch.zeros(b_shape)
    with pytest.raises(ValueError, match=match):
        conv_transpose2d(torch.zeros(x_shape), torch.zeros(w_shape), b, **kw)


# --- conv_transpose2d: bug 10 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kw", [{}, {"stride": 2}, {"stride": 2, "padding": 1}, {"stride": 3, "output_padding": 2}]
)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_weight_tap_spreads_like_torch(kw, value):
    # bug 10: zeros of the padded grid times an inf tap gave NaN where torch is finite
    x = torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3)
    w = torch.ones(1, 2, 3, 3, dtype=torch.float64)
    w[0, 1, 0, 0] = value
    expected = F.conv_transpose2d(x, w, **kw)
    assert expected.isfinite().any()
    torch.testing.assert_close(conv_transpose2d(x, w, **kw), expected, equal_nan=True)


def test_non_finite_taps_with_groups_dilation_and_gradients():
    g = torch.Generator().manual_seed(3)
    x, w, b = _randn(g, 2, 4, 3, 5), _randn(g, 4, 3, 3, 2), _randn(g, 6)
    w[1, 2, 1, 0], w[3, 0, 2, 1] = math.inf, -math.inf
    kw = dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2, dilation=(1, 2))
    ours = [a.clone().requires_grad_() for a in (x, w, b)]
    theirs = [a.clone().requires_grad_() for a in (x, w, b)]
    y_ours, y_theirs = conv_transpose2d(*ours, **kw), F.conv_transpose2d(*theirs, **kw)
    assert y_theirs.isfinite().any() and not y_theirs.isfinite().all()
    torch.testing.assert_close(y_ours, y_theirs, equal_nan=True)
    probe = torch.randn(y_theirs.shape, generator=g, dtype=f64)
    grads_ours = torch.autograd.grad(y_ours, ours, probe)
    grads_theirs = torch.autograd.grad(y_theirs, theirs, probe)
    torch.testing.assert_close(grads_ours, grads_theirs, equal_nan=True)


@pytest.mark.parametrize(
    ("weight_dtype", "bias_dtype", "name"),
    [(torch.float32, torch.float64, "bias"), (torch.float64, None, "weight")],
)
def test_dtype_mismatch_raises_like_torch(weight_dtype, bias_dtype, name):
    # bug 10: a float64 bias silently promoted a float32 input; torch refuses (its batch-1
    # path lets a bias through, every other path raises: we always refuse)
    x = torch.zeros(2, 2, 3, 3)
    w = torch.zeros(2, 2, 3, 3, dtype=weight_dtype)
    b = None if bias_dtype is None else torch.zeros(2, dtype=bias_dtype)
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(x, w, b)
    with pytest.raises(TypeError, match=rf"^{name} must have the dtype of input \(torch.float32\)"):
        conv_transpose2d(x, w, b)


def test_numpy_integers_are_accepted_like_torch():
    g = torch.Generator().manual_seed(0)
    x, w = _randn(g, 1, 4, 3, 5), _randn(g, 4, 3, 3, 3)
    kw = {"stride": np.int64(2), "padding": (np.int32(1), 0), "output_padding": np.int64(1)}
    expected = F.conv_transpose2d(x, w, groups=np.int64(2), **kw)
    torch.testing.assert_close(conv_transpose2d(x, w, groups=np.int64(2), **kw), expected)


def test_wrong_argument_types_raise_type_error():
    x, w = torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2)
    with pytest.raises(TypeError, match=r"^groups must be an int, got 1.0"):
        conv_transpose2d(x, w, groups=1.0)
    with pytest.raises(TypeError, match=r"^stride must be an int or a tuple of ints, got 2.0"):
        conv_transpose2d(x, w, stride=2.0)


def _definition(x: torch.Tensor, w: torch.Tensor, stride: int) -> torch.Tensor:
    """conv_transpose2d by the definition: every input pixel times every tap, added in place."""
    (n, c_in, h, wd), (_, c_out, kh, kw) = x.shape, w.shape
    y = torch.zeros(n, c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw, dtype=x.dtype)
    for i in range(h):
        for j in range(wd):
            for c in range(c_in):
                y[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw] += (
                    x[:, c, i, j, None, None, None] * w[c]
                )
    return y


def test_several_nan_taps_reach_what_the_definition_says_not_always_what_torch_says():
    # issue 16: the docstring said "exactly as in PyTorch"; torch's float32 CPU kernel marks
    # more outputs NaN than any NaN tap reaches, while the reference follows the definition
    g = torch.Generator().manual_seed(0)
    differs = 0
    for _ in range(40):
        x = torch.randn(2, 3, 4, 5, generator=g)
        w = torch.randn(3, 2, 3, 3, generator=g)
        for tap in torch.randint(0, w.numel(), (3,), generator=g):
            w.view(-1)[tap] = math.nan
        ours = conv_transpose2d(x, w, stride=2)
        assert torch.equal(ours.isnan(), _definition(x, w, 2).isnan())
        theirs = F.conv_transpose2d(x, w, stride=2)
        assert (theirs.isnan() | ~ours.isnan()).all()  # torch NaN wherever the definition is
        differs += int(not torch.equal(ours.isnan(), theirs.isnan()))
    assert differs > 0  # if torch ever agrees everywhere, the docstring can say so again


def test_meta_tensors_give_the_shape_without_reading_values():
    # issue 16: a weight on the meta device failed inside .item() (looking for non-finite taps)
    x = torch.empty(2, 4, 5, 6, device="meta")
    w = torch.empty(4, 3, 3, 3, device="meta")
    kw = dict(stride=2, padding=1, output_padding=1, groups=2)
    y = conv_transpose2d(x, w, torch.empty(6, device="meta"), **kw)
    assert y.is_meta and y.shape == F.conv_transpose2d(x, w, **kw).shape == (2, 6, 10, 12)
