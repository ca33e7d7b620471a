"""The shape solver `transconv.shapes.solve_transposed_conv` (the Python twin of the explorer
page's solver) against PyTorch: every setting it lists really reaches the target, and within
its documented bounds it misses none."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from transconv.shapes import conv_transpose_output_size, solve_transposed_conv, upsampling_params

KEYS = ("kernel_size", "stride", "padding", "output_padding", "dilation")


def torch_size(n: int, c: dict[str, int]) -> int:
    """Output height of F.conv_transpose2d on an n x 1 input with a k x 1 kernel."""
    x = torch.zeros(1, 1, n, 1, dtype=torch.float64)
    w = torch.zeros(1, 1, c["kernel_size"], 1, dtype=torch.float64)
    y = F.conv_transpose2d(
        x,
        w,
        stride=(c["stride"], 1),
        padding=(c["padding"], 0),
        output_padding=(c["output_padding"], 0),
        dilation=(c["dilation"], 1),
    )
    return y.shape[2]


def max_stride(n: int, target: int) -> int:
    # the documented bound: strides up to the size ratio, at least 1, at most 64
    return min(max(1, math.ceil(target / n)), 64)


def brute_force(n: int, target: int) -> dict[tuple[int, int, int], list[tuple[int, int]]]:
    """All (padding, output_padding) per (kernel_size, stride, dilation) in the bounds that
    reach ``target``, by PyTorch's output-size formula."""
    big = max_stride(n, target)
    found: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
    for s in range(1, big + 1):
        for d in range(1, 2 * big + 1):
            for k in range(1, 2 * big + 1):
                span = d * (k - 1) + 1
                if span > 2 * big or (k == 1 and d > 1):
                    continue
                for p in range((n - 1) * s + span + 1):
                    for op in range(max(s, d)):
                        if (n - 1) * s - 2 * p + d * (k - 1) + op + 1 == target:
                            found.setdefault((k, s, d), []).append((p, op))
    return found


def test_fcn_setting_listed_first_for_10_to_320() -> None:
    settings = solve_transposed_conv(10, 320)
    fcn = dict(zip(("kernel_size", "stride", "padding"), upsampling_params(32), strict=True))
    assert fcn == {"kernel_size": 64, "stride": 32, "padding": 16}
    assert settings[0] == {**fcn, "output_padding": 0, "dilation": 1}


def test_every_setting_reaches_the_target_in_torch() -> None:
    for n, target in [(10, 320), (7, 224), (3, 6), (5, 5), (10, 5), (4, 17)]:
        settings = solve_transposed_conv(n, target)
        assert settings, (n, target)
        for c in settings:
            assert set(c) == set(KEYS)
            assert all(type(v) is int for v in c.values())
            assert torch_size(n, c) == target, (n, target, c)
            assert conv_transpose_output_size(n, **c) == target


@pytest.mark.slow
@given(n=st.integers(1, 12), target=st.integers(1, 60))
def test_random_sizes_reach_the_target_in_torch(n: int, target: int) -> None:
    for c in solve_transposed_conv(n, target):
        assert torch_size(n, c) == target, (n, target, c)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("target", [1, 2, 3, 4, 6, 7, 10, 13])
def test_complete_within_the_bounds(n: int, target: int) -> None:
    expected = brute_force(n, target)
    settings = solve_transposed_conv(n, target)
    by_kernel = {(c["kernel_size"], c["stride"], c["dilation"]): c for c in settings}
    assert len(by_kernel) == len(settings), "one setting per (kernel_size, stride, dilation)"
    assert set(by_kernel) == set(expected)
    for key, pairs in expected.items():
        padding, output_padding = min(pairs)
        assert by_kernel[key]["padding"] == padding, key
        assert by_kernel[key]["output_padding"] == output_padding, key


def test_bounds_follow_the_size_ratio() -> None:
    settings = solve_transposed_conv(10, 320)
    assert max(c["stride"] for c in settings) == 32
    assert max(c["dilation"] * (c["kernel_size"] - 1) + 1 for c in settings) == 64
    assert all(c["stride"] == 1 for c in solve_transposed_conv(10, 5))
    # the stride bound stops at 64: no setting makes 1 pixel into 1000
    assert solve_transposed_conv(1, 1000) == []


def test_simplest_first() -> None:
    settings = solve_transposed_conv(6, 24)

    def fcn(c: dict[str, int]) -> bool:
        rule = (c["kernel_size"], c["stride"], c["padding"]) == upsampling_params(c["stride"])
        return rule and c["output_padding"] == 0 and c["dilation"] == 1

    keys = [
        (not fcn(c), c["dilation"], c["output_padding"], -c["stride"], c["kernel_size"])
        for c in settings
    ]
    assert keys == sorted(keys)
    assert fcn(settings[0]) and settings[0]["stride"] == 4
    assert any(c["dilation"] > 1 for c in settings)


def test_numpy_integers_accepted() -> None:
    assert solve_transposed_conv(np.int64(3), np.int32(6)) == solve_transposed_conv(3, 6)


@pytest.mark.parametrize("bad", [2.0, "3", True, None])
def test_non_integer_size_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match=r"input_size must be an int, got .*; pass e\.g\."):
        solve_transposed_conv(bad, 6)
    with pytest.raises(TypeError, match=r"target_size must be an int, got .*; pass e\.g\."):
        solve_transposed_conv(3, bad)


@pytest.mark.parametrize("bad", [0, -4])
def test_size_below_one_raises_value_error(bad: int) -> None:
    with pytest.raises(ValueError, match=rf"input_size must be an int >= 1, got {bad}"):
        solve_transposed_conv(bad, 6)
    with pytest.raises(ValueError, match=rf"target_size must be an int >= 1, got {bad}"):
        solve_transposed_conv(3, bad)


@pytest.mark.parametrize("stride", range(1, 13))
def test_star_rule_holds_for_every_stride(stride: int) -> None:
    # the explorer's solver states this rule for its ★ rows: FCN's k = 2s - s mod 2,
    # p = floor(s / 2) (k = 2s, p = s/2 only for even s), listed first whenever T = s n
    k, s, p = upsampling_params(stride)
    assert (k, p) == (2 * stride - stride % 2, stride // 2)
    rows = solve_transposed_conv(5, 5 * stride)
    assert rows[0] == {
        "kernel_size": k,
        "stride": s,
        "padding": p,
        "output_padding": 0,
        "dilation": 1,
    }
