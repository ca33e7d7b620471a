"""Tests for transconv.matrix: W @ x is conv2d, W.T @ y is conv_transpose2d."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from transconv.matrix import conv_matrix
from transconv.shapes import output_padding_for

f64 = torch.float64


def test_seeds_4x9_matrix():
    W = conv_matrix(3, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    expected = torch.tensor(
        [
            [1, 2, 0, 3, 4, 0, 0, 0, 0],
            [0, 1, 2, 0, 3, 4, 0, 0, 0],
            [0, 0, 0, 1, 2, 0, 3, 4, 0],
            [0, 0, 0, 0, 1, 2, 0, 3, 4],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(W, expected)


@st.composite
def configs(draw):
    def pair(lo, hi):
        return draw(
            st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))
        )

    four_d = draw(st.booleans())
    channels = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if four_d else ()
    return dict(
        size=(draw(st.integers(1, 7)), draw(st.integers(1, 7))),
        kernel=(*channels, draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        kwargs=dict(stride=pair(1, 3), padding=pair(0, 2), dilation=pair(1, 2)),
        seed=draw(st.integers(0, 2**16)),
    )


@pytest.mark.slow
@settings(max_examples=80)
@given(cfg=configs(), sparse=st.booleans())
def test_matrix_is_conv2d_and_transpose_is_conv_transpose2d(cfg, sparse):
    g = torch.Generator().manual_seed(cfg["seed"])
    K = torch.randn(*cfg["kernel"], generator=g, dtype=f64)
    K4 = K if K.dim() == 4 else K[None, None]
    x = torch.randn(1, K4.shape[1], *cfg["size"], generator=g, dtype=f64)
    kw = cfg["kwargs"]
    try:
        y = F.conv2d(x, K4, **kw)
    except RuntimeError:  # kernel larger than padded input: conv_matrix must refuse too
        with pytest.raises(ValueError, match="smaller than the dilated kernel span"):
            conv_matrix(cfg["size"], K, sparse=sparse, **kw)
        return
    W = conv_matrix(cfg["size"], K, sparse=sparse, **kw)
    assert W.is_sparse == sparse and W.shape == (y.numel(), x.numel())
    torch.testing.assert_close(W @ x.flatten(), y.flatten())
    v = torch.randn(y.shape, generator=g, dtype=f64)
    op = output_padding_for(
        tuple(y.shape[2:]),
        cfg["size"],
        tuple(K4.shape[2:]),
        kw["stride"],
        kw["padding"],
        kw["dilation"],
    )
    back = F.conv_transpose2d(v, K4, output_padding=op, **kw)
    torch.testing.assert_close(W.t() @ v.flatten(), back.flatten())
    if sparse:  # the sparse matrix is the dense one, entry for entry
        torch.testing.assert_close(W.to_dense(), conv_matrix(cfg["size"], K, **kw))


def test_sparse_stores_only_nonzeros():
    K = torch.randn(2, 3, 3, 3, dtype=f64)
    S = conv_matrix((64, 64), K, padding=1, sparse=True)
    assert S.shape == (2 * 64 * 64, 3 * 64 * 64) and S.is_coalesced()
    # every output pixel sees 9 taps x 3 channels, minus taps that fall in the zero padding
    interior, edges, corners = 62 * 62 * 9, 4 * 62 * 6, 4 * 4
    assert S._nnz() == 2 * 3 * (interior + edges + corners)
    assert S._nnz() <= 2 * 3 * 3 * 3 * 64 * 64


def test_dtype_follows_kernel():
    assert conv_matrix(4, torch.ones(2, 2, dtype=f64)).dtype == f64
    assert conv_matrix(4, torch.ones(2, 2, dtype=f64), sparse=True).dtype == f64


@pytest.mark.parametrize(
    ("args", "kw", "match"),
    [
        (
            (3, torch.ones(2)),
            {},
            r"kernel must be 2-D \(kh, kw\) or 4-D \(C_out, C_in, kh, kw\), got shape \(2,\)",
        ),
        ((3, torch.ones(1, 2, 2)), {}, r"got shape \(1, 2, 2\)"),
        (
            (2, torch.ones(3, 3)),
            {},
            r"size \+ 2 \* padding must not be smaller than the dilated kernel span \(3 = .*"
            r"pass padding >= 1",
        ),
        ((3, torch.ones(2, 2)), {"stride": 0}, r"stride must be an int >= 1, got 0"),
        ((3, torch.ones(2, 2)), {"padding": -1}, r"padding must be an int >= 0, got -1"),
        (((3, 3, 3), torch.ones(2, 2)), {}, r"input_size must be an int or a pair \(h, w\)"),
        ((0, torch.ones(2, 2)), {}, r"input_size must have entries >= 1, got 0"),
    ],
)
def test_conv_matrix_errors(args, kw, match):
    with pytest.raises(ValueError, match=match):
        conv_matrix(*args, **kw)


def test_numpy_integers_are_accepted():
    K = torch.arange(1.0, 5.0).reshape(2, 2)
    expected = conv_matrix((4, 5), K, stride=2, padding=1)
    got = conv_matrix((np.int64(4), np.int32(5)), K, stride=np.int64(2), padding=np.int64(1))
    torch.testing.assert_close(got, expected)


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"input_size must be an int or a pair \(h, w\) of ints"):
        conv_matrix(3.0, torch.ones(2, 2))
    with pytest.raises(TypeError, match=r"kernel must be a torch.Tensor, got list"):
        conv_matrix(3, [[1.0, 2.0], [3.0, 4.0]])


def test_dense_matrix_too_large_is_refused_up_front():
    # bug 10: dense at 1024^2 computed for 5 s before failing to allocate 4 TiB
    start = time.perf_counter()
    with pytest.raises(
        ValueError, match=r"dense conv_matrix .* must fit in memory .*4.0 TiB.*sparse=True"
    ):
        conv_matrix((1024, 1024), torch.ones(3, 3), padding=1)
    assert time.perf_counter() - start < 1.0


def test_dense_budget_follows_transconv_max_bytes(monkeypatch):
    monkeypatch.setenv("TRANSCONV_MAX_BYTES", str(2**20))  # 1 MiB
    with pytest.raises(ValueError, match=r"got 64.0 MiB; .*sparse=True"):
        conv_matrix(64, torch.ones(3, 3), padding=1)  # 4096 x 4096 float32
    assert conv_matrix(64, torch.ones(3, 3), padding=1, sparse=True).is_sparse
    assert conv_matrix(16, torch.ones(3, 3), padding=1).shape == (256, 256)  # 256 KiB fits
