"""Tiled prediction: label every pixel of an image of any size with overlapping tiles."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from transconv._validation import as_float, as_hw, as_int, check_allocation, check_rgb_image
from transconv.data.voc import normalize_image

__all__ = ["predict"]


def _tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile origins along one axis: step ``tile * (1 - overlap)``, the last tile flush with the end.

    Examples
    --------
    >>> _tile_starts(10, 4, 0.5), _tile_starts(4, 4, 0.5), _tile_starts(9, 4, 0.0)
    ([0, 2, 4, 6], [0], [0, 4, 5])
    """
    step = max(1, int(tile * (1 - overlap)))
    return list(range(0, length - tile, step)) + [length - tile]


def _check_predict_args(
    image: Tensor, tile_size: int | Sequence[int], overlap: float, batch_size: int
) -> tuple[int, int]:
    check_rgb_image(image, "image")
    tile = as_hw(tile_size, "tile_size", example="(320, 480)")
    as_float(overlap, "overlap", low=0, high=1, high_open=True, example="0.25")
    as_int(batch_size, "batch_size", minimum=1, example="4")
    (H, W), (th, tw) = image.shape[1:], tile
    # Bytes predict allocates, at least: the padded image in float32 (3 x 4 B/px), the logit sum
    # for at least 2 classes and the coverage count (2 x 4 + 4 B/px), and one batch of tiles
    # with their logits (3 x 4 + 2 x 4 B/px); the network's activations come on top.
    padded = max(H, th) * max(W, tw)
    check_allocation(
        padded * 24 + batch_size * th * tw * 20,
        f"tile_size={tile} (batch_size={batch_size}) on a {H}x{W} image",
        "pass a smaller tile_size, e.g. the training crop (320, 480)",
    )
    return tile


def _tile_logits(
    net: nn.Module, X: Tensor, tile: tuple[int, int], boxes: list[tuple[int, int]], batch_size: int
) -> tuple[Tensor, Tensor]:
    """Sum of the tiles' logits over the padded image, and how many tiles cover each pixel."""
    (th, tw), (_, H, W) = tile, X.shape
    logit_sum, count = None, torch.zeros(1, H, W, device=X.device)
    for i in range(0, len(boxes), batch_size):
        chunk = boxes[i : i + batch_size]
        out = net(torch.stack([X[:, t : t + th, c : c + tw] for t, c in chunk])).float()
        if out.shape[-2:] != (th, tw):
            raise ValueError(
                f"the network maps a {th}x{tw} tile to {tuple(out.shape[-2:])} logits; predict "
                "needs outputs of the input's size (an FCN)"
            )
        if logit_sum is None:
            logit_sum = torch.zeros(out.shape[1], H, W, device=X.device)
        for (t, c), tile_logits in zip(chunk, out, strict=True):
            logit_sum[:, t : t + th, c : c + tw] += tile_logits
            count[:, t : t + th, c : c + tw] += 1
    return logit_sum, count


@torch.no_grad()
def predict(
    net: nn.Module,
    image: Tensor,
    *,
    tile_size: int | Sequence[int] = (320, 480),
    overlap: float = 0.25,
    device: str | torch.device | None = None,
    batch_size: int = 4,
) -> Tensor:
    """Label every pixel of an image of any size with overlapping tiles.

    The image is normalised ([`normalize_image`][transconv.data.voc.normalize_image]). An
    image smaller than the tile is zero-padded at the bottom/right *after* normalisation, i.e.
    with the ImageNet mean colour, a neutral grey (reflection would fail for images less than
    half the tile), and the padding is cropped away at the end. A larger image is covered by tiles
    whose origins step by ``tile * (1 - overlap)``, the last flush with the edge; each pixel's
    logits are averaged over the tiles that cover it, then the argmax is taken. Sizes need
    not be multiples of 32.

    Parameters
    ----------
    net : nn.Module
        Maps ``(B, 3, h, w)`` to ``(B, C, h, w)`` logits (any FCN); run in eval mode, mode
        restored after.
    image : Tensor
        uint8 ``(3, H, W)``.
    tile_size : int or (int, int), default (320, 480)
        Tile height and width (d2l's crop size); one int for a square tile.
    overlap : float, default 0.25
        Fraction of the tile that neighbouring tiles share, in ``[0, 1)``.
    device : str or torch.device, optional
        Where to run; default: the device of ``net``'s first parameter.
    batch_size : int, default 4
        Tiles per forward pass.

    Returns
    -------
    Tensor
        int64 ``(H, W)`` class indices, on the CPU.

    Raises
    ------
    TypeError
        For a non-uint8 image, or a ``tile_size``/``overlap``/``batch_size`` of the wrong type.
    ValueError
        For an image not of shape ``(3, H, W)``, a ``tile_size``/``overlap``/``batch_size`` out
        of range, sizes whose buffers would not fit in memory (checked before allocating), or a
        network whose output size differs from its input's.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> image = torch.zeros(3, 50, 70, dtype=torch.uint8)
    >>> predict(net, image, tile_size=(32, 32)).shape
    torch.Size([50, 70])
    """
    tile = _check_predict_args(image, tile_size, overlap, batch_size)
    if device is None:
        device = next(iter(net.parameters()), torch.empty(0)).device
    H, W = image.shape[1:]
    X = normalize_image(image).to(device)
    X = F.pad(X, (0, max(tile[1] - W, 0), 0, max(tile[0] - H, 0)))
    boxes = [
        (t, left)
        for t in _tile_starts(X.shape[1], tile[0], overlap)
        for left in _tile_starts(X.shape[2], tile[1], overlap)
    ]
    was_training = net.training
    net.eval()
    try:
        logit_sum, count = _tile_logits(net, X, tile, boxes, batch_size)
    finally:
        net.train(was_training)
    return (logit_sum / count).argmax(0)[:H, :W].cpu()
