"""Tests for transconv.overlap: overlap counts, scatter stamps and zero insertion."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from transconv.overlap import gather_taps, overlap_counts, scatter_stamps, zero_insert


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
    row = overlap_counts((1, 6), (1, 3), (1, 2))[0].tolist()
    # input pixel i covers outputs 2i, 2i+1, 2i+2: even outputs are hit twice inside
    assert row == [1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]


def test_overlap_counts_k4_s2_is_even_inside() -> None:
    assert overlap_counts((1, 3), (1, 4), (1, 2))[0].tolist() == [1, 1, 2, 2, 2, 2, 1, 1]


def test_overlap_counts_2d_is_outer_product_of_rows() -> None:
    counts = overlap_counts(4, 3, 2)
    row = torch.tensor(_hand_counts_1d(4, 3, 2, 1))
    assert counts.dtype == torch.int64
    assert torch.equal(counts, row[:, None] * row[None, :])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    k=st.integers(1, 5),
    s=st.integers(1, 4),
    layers=st.integers(1, 3),
    w=st.integers(1, 4),
)
def test_overlap_counts_match_hand_loop(n: int, k: int, s: int, layers: int, w: int) -> None:
    counts = overlap_counts((n, w), (k, 2), (s, 1), layers=layers)
    rows = torch.tensor(_hand_counts_1d(n, k, s, layers))
    cols = torch.tensor(_hand_counts_1d(w, 2, 1, layers))
    assert torch.equal(counts, rows[:, None] * cols[None, :])


@pytest.mark.parametrize("k", range(1, 7))
@pytest.mark.parametrize("s", range(1, 5))
def test_even_overlap_iff_kernel_divisible_by_stride(k: int, s: int) -> None:
    n = 2 * k + 2
    row = overlap_counts((1, n), (1, k), (1, s))[0]
    interior = row[k - 1 : (n - 1) * s + 1]
    assert (interior.min() == interior.max()).item() == (k % s == 0)


def test_overlap_counts_accepts_numpy_integers() -> None:
    np = pytest.importorskip("numpy")
    assert torch.equal(overlap_counts(np.int64(3), np.int32(2), 1), overlap_counts(3, 2, 1))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"layers": 0}, ValueError, r"layers must be an int >= 1, got 0; pass layers=1"),
        ({"layers": 1.5}, TypeError, r"layers must be an int, got 1.5"),
        ({"kernel_size": 0}, ValueError, r"kernel_size must have entries >= 1, got 0"),
        ({"stride": -1}, ValueError, r"stride must have entries >= 1, got -1"),
        (
            {"input_size": (3, 3, 3)},
            ValueError,
            r"input_size must be an int or a pair \(h, w\) of ints, got \(3, 3, 3\)",
        ),
        ({"input_size": 2.5}, TypeError, r"input_size must be an int or a pair"),
    ],
)
def test_overlap_counts_errors(kwargs: dict, error: type, message: str) -> None:
    args = {"input_size": 3, "kernel_size": 3, "stride": 2, **kwargs}
    with pytest.raises(error, match=message):
        overlap_counts(**args)


def test_seed_example_stamps_sum_to_conv_transpose2d() -> None:
    X = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    stamps = scatter_stamps(X, X)
    expected = torch.tensor([[0, 0, 1], [0, 4, 6], [4, 12, 9]], dtype=torch.float64)
    torch.testing.assert_close(stamps.sum(dim=(0, 1)), expected)
    torch.testing.assert_close(
        stamps[1, 0], torch.tensor([[0, 0, 0], [0, 2, 0], [4, 6, 0]], dtype=torch.float64)
    )


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 4),
    w=st.integers(1, 4),
    kh=st.integers(1, 3),
    kw=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    seed=st.integers(0, 999),
)
def test_stamps_sum_to_conv_transpose2d(h, w, kh, kw, s, p, seed) -> None:
    assume(min((h - 1) * s - 2 * p + kh, (w - 1) * s - 2 * p + kw) >= 1)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(h, w, dtype=torch.float64, generator=generator)
    k = torch.randn(kh, kw, dtype=torch.float64, generator=generator)
    stamps = scatter_stamps(x, k, stride=s, padding=p)
    expected = F.conv_transpose2d(x[None, None], k[None, None], stride=s, padding=p)[0, 0]
    torch.testing.assert_close(stamps.sum(dim=(0, 1)), expected)
    assert stamps.shape == (h, w, *expected.shape)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 4),
    w=st.integers(1, 4),
    k=st.integers(1, 3),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    d=st.integers(1, 2),
    op=st.integers(0, 2),
    seed=st.integers(0, 999),
)
def test_zero_insert_then_conv2d_is_conv_transpose2d(h, w, k, s, p, d, op, seed) -> None:
    op = op % max(s, d)
    p = min(p, d * (k - 1))
    assume((min(h, w) - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(h, w, dtype=torch.float64, generator=generator)
    kernel = torch.randn(k, k, dtype=torch.float64, generator=generator)
    grid = zero_insert(x, k, stride=s, padding=p, output_padding=op, dilation=d)
    gathered = F.conv2d(grid[None, None], kernel.flip(0, 1)[None, None], dilation=d)[0, 0]
    expected = F.conv_transpose2d(
        x[None, None], kernel[None, None], stride=s, padding=p, output_padding=op, dilation=d
    )[0, 0]
    torch.testing.assert_close(gathered, expected)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: scatter_stamps([[1.0]], torch.ones(2, 2)),
            TypeError,
            r"x must be a torch.Tensor, got list",
        ),
        (
            lambda: scatter_stamps(torch.ones(1, 2, 2), torch.ones(2, 2)),
            ValueError,
            r"x must be 2-D \(H, W\), got shape \(1, 2, 2\)",
        ),
        (
            lambda: scatter_stamps(torch.ones(2, 2), torch.ones(2, 2), stride=0),
            ValueError,
            r"stride must have entries >= 1, got 0",
        ),
        (
            lambda: zero_insert(torch.ones(3, 3), 3, stride=3, padding=3),
            ValueError,
            r"padding must be <= dilation \* \(kernel_size - 1\) = \(2, 2\).*got \(3, 3\)",
        ),
        (
            lambda: zero_insert(torch.ones(2, 2), 3, stride=2, output_padding=2),
            ValueError,
            r"output_padding must be smaller than stride \(2\) or dilation \(1\), got 2",
        ),
    ],
)
def test_overlap_errors(call, error, message) -> None:
    with pytest.raises(error, match=message):
        call()


@pytest.mark.slow
def test_import_does_not_load_matplotlib() -> None:
    code = "import sys, transconv.overlap; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@settings(max_examples=30, deadline=None)
@given(
    h=st.integers(1, 3),
    w=st.integers(1, 3),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 2),
    seed=st.integers(0, 99),
)
def test_gather_taps_sum_to_conv_transpose2d(h, w, k, s, p, seed):
    assume((min(h, w) - 1) * s - 2 * p + k >= 1)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(h, w, generator=generator, dtype=torch.float64)
    K = torch.randn(k, k, generator=generator, dtype=torch.float64)
    y = F.conv_transpose2d(x[None, None], K[None, None], stride=s, padding=p)[0, 0]
    for i, j in ((i, j) for i in range(y.shape[0]) for j in range(y.shape[1])):
        taps = gather_taps((i, j), (h, w), k, stride=s, padding=p)
        total = sum((x[a, b] * K[u, v] for (a, b), (u, v) in taps), torch.zeros((), dtype=x.dtype))
        torch.testing.assert_close(total, y[i, j])


def test_gather_taps_refuses_a_negative_index():
    with pytest.raises(ValueError, match=r"output_index must have entries >= 0, got \(-1, 0\)"):
        gather_taps((-1, 0), 2, 3)
