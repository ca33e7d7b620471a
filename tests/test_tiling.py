"""Tests for transconv.tiling: tiled prediction equals the whole-image prediction, errors."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from transconv.data.voc import normalize_image
from transconv.tiling import predict


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def pointwise_net(num_classes=5):
    """1x1 convolutions only: exactly translation-equivariant, so tiles cannot disagree."""
    net = nn.Sequential(nn.Conv2d(3, 16, 1), nn.ReLU(), nn.Conv2d(16, num_classes, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen(3)))
    return net


@pytest.mark.parametrize(
    "size, tile, overlap",
    [
        ((20, 30), (32, 48), 0.25),
        ((32, 48), (32, 48), 0.5),
        ((101, 77), (32, 48), 0.25),
        ((65, 150), (33, 47), 0.0),
        ((7, 200), (16, 40), 0.6),
    ],
)
def test_tiled_prediction_equals_whole_image(size, tile, overlap):
    net = pointwise_net()
    image = torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=gen(4))
    with torch.no_grad():
        whole = net(normalize_image(image)[None]).argmax(1)[0]
    tiled = predict(net, image, tile_size=tile, overlap=overlap, batch_size=3)
    assert tiled.dtype == torch.int64 and tiled.shape == size
    torch.testing.assert_close(tiled, whole, rtol=0, atol=0)


def test_tiles_average_their_logits():
    class TileEdge(nn.Module):
        """Class 1 near each tile's left edge, class 0 elsewhere: not equivariant."""

        def forward(self, x):
            z = torch.zeros(x.shape[0], 2, *x.shape[2:])
            z[:, 1, :, :4] = 3.0
            z[:, 0, :, 4:] = 1.0
            return z

    image = torch.zeros(3, 8, 24, dtype=torch.uint8)
    # tiles of width 8 start at 0, 4, 8, 12, 16; pixel columns 4..7 get logits (0, 3) from the
    # tile at 4 and (1, 0) from the tile at 0: mean (0.5, 1.5) -> class 1
    labels = predict(TileEdge(), image, tile_size=(8, 8), overlap=0.5)
    assert labels[0].tolist() == [1] * 20 + [0] * 4


def test_predict_with_an_fcn_on_odd_sizes():
    from transconv.models import build_model

    net = build_model("fcn_resnet18", num_classes=21)
    for size in ((40, 50), (70, 101)):
        image = torch.randint(0, 256, (3, *size), dtype=torch.uint8, generator=gen(5))
        labels = predict(net, image, tile_size=(64, 96))
        assert labels.shape == size and 0 <= int(labels.min()) and int(labels.max()) < 21
    assert net.training  # mode restored


class Constant(nn.Module):
    """Class 1 everywhere: a pixel no tile covers would average 0/0 = NaN logits instead."""

    def forward(self, x):
        z = torch.zeros(x.shape[0], 2, *x.shape[2:])
        z[:, 1] = 1.0
        return z


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 120),
    st.integers(1, 120),
    st.integers(1, 48),
    st.integers(1, 48),
    st.floats(0, 0.95),
)
def test_tiles_cover_every_pixel(height, width, tile_h, tile_w, overlap):
    image = torch.zeros(3, height, width, dtype=torch.uint8)
    labels = predict(Constant(), image, tile_size=(tile_h, tile_w), overlap=overlap)
    assert labels.shape == (height, width) and bool((labels == 1).all())


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 90), st.integers(1, 90), st.integers(4, 40), st.floats(0, 0.9))
def test_tiled_equals_whole_for_random_sizes(height, width, tile, overlap):
    net = pointwise_net()
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=gen(height))
    with torch.no_grad():
        whole = net(normalize_image(image)[None]).argmax(1)[0]
    tiled = predict(net, image, tile_size=(tile, tile + 3), overlap=overlap)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"image": torch.zeros(3, 4, 4)},
            TypeError,
            r"^image must be a uint8 RGB image tensor, got dtype torch.float32; read it with",
        ),
        (
            {"image": torch.zeros(4, 4, dtype=torch.uint8)},
            ValueError,
            r"image must have shape \(3, H, W\), got \(4, 4\)",
        ),
        ({"tile_size": (0, 4)}, ValueError, r"tile_size must have entries >= 1, got \(0, 4\)"),
        ({"tile_size": (4, 4.5)}, ValueError, r"tile_size must be an int or a pair"),
        ({"overlap": 1.0}, ValueError, r"overlap must be a finite number in \[0, 1\), got 1.0"),
        ({"overlap": "a"}, TypeError, r"overlap must be a real number, got 'a'"),
        ({"batch_size": 0}, ValueError, r"batch_size must be an int >= 1, got 0"),
        (
            {"tile_size": (100000, 100000)},
            ValueError,
            r"tile_size=\(100000, 100000\) \(batch_size=4\) on a 8x8 image must fit in memory "
            r"\(budget .*\), got \d+\.\d GiB; pass a smaller tile_size",
        ),
    ],
)
def test_predict_errors(kwargs, error, match):
    args = {"image": torch.zeros(3, 8, 8, dtype=torch.uint8), "tile_size": (4, 4), **kwargs}
    with pytest.raises(error, match=match):
        predict(pointwise_net(), **args)


def test_predict_accepts_numpy_sizes_and_a_square_tile():
    import numpy as np

    image = torch.zeros(3, 9, 7, dtype=torch.uint8)
    labels = predict(pointwise_net(), image, tile_size=np.int64(4), batch_size=np.int32(2))
    assert labels.shape == (9, 7)


def test_predict_rejects_a_net_that_changes_size():
    with pytest.raises(ValueError, match=r"maps a 8x8 tile to \(4, 4\) logits"):
        predict(
            nn.Conv2d(3, 2, 2, stride=2), torch.zeros(3, 8, 8, dtype=torch.uint8), tile_size=(8, 8)
        )
