"""Tests for transconv.shapes against the shapes PyTorch actually produces."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transconv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    output_padding_for,
    upsampling_params,
)

sizes = st.integers(1, 12)
kernels = st.integers(1, 6)
strides = st.integers(1, 4)
paddings = st.integers(0, 5)
dilations = st.integers(1, 3)


def _torch_conv_size(n, k, s, p, d):
    """Spatial output size of F.conv2d, or None if PyTorch refuses the configuration."""
    try:
        return F.conv2d(
            torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=s, padding=(p, 0), dilation=d
        ).shape[2]
    except RuntimeError:
        return None


def _torch_transpose_size(n, k, s, p, op, d):
    try:
        y = F.conv_transpose2d(
            torch.zeros(1, 1, n, 1),
            torch.zeros(1, 1, k, 1),
            stride=s,
            padding=(p, 0),
            output_padding=(op, 0),
            dilation=d,
        )
        return y.shape[2]
    except RuntimeError:
        return None


@settings(max_examples=150)
@given(n=sizes, k=kernels, s=strides, p=paddings, d=dilations)
def test_conv_output_size_matches_torch(n, k, s, p, d):
    expected = _torch_conv_size(n, k, s, p, d)
    if expected is None or expected < 1:
        with pytest.raises(ValueError, match="smaller than the dilated kernel span"):
            conv_output_size(n, k, s, p, d)
    else:
        assert conv_output_size(n, k, s, p, d) == expected


@settings(max_examples=200)
@given(n=sizes, k=kernels, s=strides, p=paddings, op=st.integers(0, 4), d=dilations)
def test_conv_transpose_output_size_matches_torch(n, k, s, p, op, d):
    expected = _torch_transpose_size(n, k, s, p, op, d)
    if expected is None or expected < 1:
        with pytest.raises(ValueError, match=r"output_padding must be smaller|must be >= 1, got"):
            conv_transpose_output_size(n, k, s, p, op, d)
    else:
        assert conv_transpose_output_size(n, k, s, p, op, d) == expected


def test_int_in_int_out_tuple_in_tuple_out():
    assert conv_output_size(8, 3) == 6
    assert conv_output_size((8, 10), 3) == (6, 8)
    assert conv_output_size(8, (3, 5), stride=(1, 2)) == (6, 2)
    assert conv_transpose_output_size((2, 3), (2, 3), stride=(2, 1)) == (4, 5)
    assert isinstance(conv_transpose_output_size(2, 2), int)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: conv_output_size((8, 8), (3, 3, 3)),
            r"same length .* size=\(8, 8\), kernel_size=\(3, 3, 3\)",
        ),
        (lambda: conv_output_size(8, 0), r"^kernel_size must be an int >= 1, got 0; pass"),
        (lambda: conv_output_size(8, 3, stride=0), r"^stride must be an int >= 1, got 0; pass"),
        (lambda: conv_output_size(8, 3, dilation=-1), r"^dilation must be an int >= 1, got -1"),
        (lambda: conv_output_size(8, 3, padding=-1), r"^padding must be an int >= 0, got -1"),
        (lambda: conv_output_size(0, 3), r"^size must be an int >= 1, got 0; pass size=1"),
        (
            lambda: conv_output_size(2, 5),
            r"^size \+ 2 \* padding must not be smaller than the dilated kernel span \(5 = .*"
            r"got 2 \+ 2 \* 0 = 2; pass padding >= 2",
        ),
        (lambda: conv_output_size((8, 2), 5), r"in spatial dimension 1: size \+ 2 \* padding"),
        # an error every dimension shares is not about one dimension: no prefix
        (lambda: conv_output_size((8, 8), 3, stride=0), r"^stride must be an int >= 1, got 0"),
        (
            lambda: conv_transpose_output_size(5, 3, stride=2, output_padding=2),
            r"^output_padding must be smaller than stride \(2\) or dilation \(1\), got 2; "
            r"pass output_padding <= 1$",
        ),
        (
            lambda: conv_transpose_output_size(5, 3, output_padding=-1),
            r"^output_padding must be an int >= 0, got -1",
        ),
        (
            lambda: conv_transpose_output_size(2, 3, padding=3),
            r"output size .* must be >= 1, got .* = -2; pass padding <= 1",
        ),
        (
            lambda: conv_transpose_output_size(1, 1, padding=1),
            r"output size .* must be >= 1, got .* = -1; pass padding <= 0",
        ),
    ],
)
def test_shape_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: conv_output_size(8, 2.5),
            r"^kernel_size must be an int or a tuple of ints, got 2.5",
        ),
        (lambda: conv_output_size(8, True), r"^kernel_size must be an int or a tuple of ints"),
        (lambda: conv_transpose_output_size((8, "2"), 3), r"^size must be an int or a tuple"),
        (lambda: upsampling_params(2.0), r"^factor must be an int or a tuple of ints, got 2.0"),
    ],
)
def test_wrong_types_raise_type_error(call, match):
    with pytest.raises(TypeError, match=match):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: conv_output_size((), 3),
        lambda: conv_transpose_output_size(4, (), stride=()),
        lambda: output_padding_for((), (), 3),
        lambda: upsampling_params(()),
    ],
)
def test_empty_tuples_are_refused_clearly(call):
    # bug 10: these raised IndexError("tuple index out of range")
    with pytest.raises(ValueError, match=r"must be an int or a non-empty tuple of ints.*got \(\)"):
        call()


def test_numpy_integers_are_accepted_like_torch():
    # bug 10: torch takes numpy integers for sizes; these were refused
    assert conv_output_size(np.int64(32), np.int32(3), padding=np.int64(1)) == 32
    assert conv_transpose_output_size((np.int64(10), 15), 64, np.int64(32), 16) == (320, 480)
    assert output_padding_for(np.int32(3), np.int64(6), 3, stride=2, padding=1) == 1
    assert upsampling_params(np.int64(32)) == (64, 32, 16)
    result = conv_output_size(np.int64(8), 3)
    assert type(result) is int  # plain ints out, not numpy scalars
    layer = torch.nn.Conv2d(1, 1, np.int64(3), padding=np.int64(1))
    assert layer(torch.zeros(1, 1, 32, 32)).shape[-1] == 32


def test_suggested_padding_is_the_largest_legal_one():
    # conv_transpose_output_size(2, 3, padding=3) says "use padding <= 1": 1 works, 2 does not.
    assert _torch_transpose_size(2, 3, 1, 1, 0, 1) == 2
    assert _torch_transpose_size(2, 3, 1, 2, 0, 1) is None
    with pytest.raises(ValueError):
        conv_transpose_output_size(2, 3, padding=2)


@settings(max_examples=150)
@given(n=st.integers(1, 40), k=kernels, s=strides, p=paddings, d=dilations)
def test_output_padding_for_restores_conv_input_size(n, k, s, p, d):
    m = _torch_conv_size(n, k, s, p, d)
    if m is None or m < 1:
        return
    op = output_padding_for(m, n, k, s, p, d)
    assert 0 <= op < max(s, d)
    assert _torch_transpose_size(m, k, s, p, op, d) == n


@settings(max_examples=60)
@given(n=sizes, k=kernels, s=strides, p=paddings, d=dilations, target=st.integers(-3, 60))
def test_output_padding_for_any_target(n, k, s, p, d, target):
    reachable = {
        t: op
        for op in range(max(s, d))
        if (t := _torch_transpose_size(n, k, s, p, op, d)) is not None and t >= 1
    }
    if target in reachable:
        assert output_padding_for(n, target, k, s, p, d) == reachable[target]
    else:
        with pytest.raises(ValueError, match=rf"target must be reachable.*got {target};"):
            output_padding_for(n, target, k, s, p, d)


def test_output_padding_for_messages_and_tuples():
    assert output_padding_for((3, 3), (5, 6), 3, stride=2, padding=1) == (0, 1)
    with pytest.raises(
        ValueError, match=r"target must be reachable, i.e. in \[5, 6\].*<= 1.*got 8; change"
    ):
        output_padding_for(3, 8, 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=r"in spatial dimension 0: target .*got 2;"):
        output_padding_for((3, 3), (2, 6), 3, stride=2, padding=1)
    with pytest.raises(ValueError, match=r"target must be reachable, i.e. in no size >= 1"):
        output_padding_for(1, 1, 1, padding=2)


@settings(max_examples=100)
@given(n=st.integers(1, 30), f=st.integers(1, 33))
def test_upsampling_params_give_exact_factor(n, f):
    k, s, p = upsampling_params(f)
    assert k == 2 * f - f % 2 and s == f and p == f // 2
    assert conv_transpose_output_size(n, k, s, p) == f * n
    assert _torch_transpose_size(n, k, s, p, 0, 1) == f * n


def test_upsampling_params_values_and_errors():
    assert upsampling_params(32) == (64, 32, 16)
    assert upsampling_params(1) == (1, 1, 0)
    assert upsampling_params((8, 3)) == ((16, 5), (8, 3), (4, 1))
    assert conv_transpose_output_size((4, 5), *upsampling_params((8, 3))) == (32, 15)
    with pytest.raises(ValueError, match=r"^factor must be an int >= 1, got 0; pass factor=1"):
        upsampling_params(0)


def test_import_shapes_loads_neither_torch_nor_numpy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, transconv.shapes; "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
