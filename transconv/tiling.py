"""Tiled prediction: label every pixel of an image of any size with overlapping tiles."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from transconv._validation import as_float, as_hw, as_int, check_allocation, check_rgb_image
from transconv.data.voc import normalize_image

__all__ = ["MAX_TILES", "estimate_predict_bytes", "predict", "predict_bytes"]


def _tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile origins along one axis: step ``tile * (1 - overlap)``, the last tile flush with the end.

    Examples
    --------
    >>> _tile_starts(10, 4, 0.5), _tile_starts(4, 4, 0.5), _tile_starts(9, 4, 0.0)
    ([0, 2, 4, 6], [0], [0, 4, 5])
    """
    step = max(1, int(tile * (1 - overlap)))
    return list(range(0, length - tile, step)) + [length - tile]


MAX_TILES = 4096
"""Most tiles [`predict`][transconv.tiling.predict] runs by default (a 4000x3000 photograph
takes about 150 of 320x480): more means a tile far too small for the image."""


def predict_bytes(
    image_size: tuple[int, int],
    tile_size: tuple[int, int],
    *,
    num_classes: int,
    batch_size: int = 4,
    tile_activation_bytes: int = 0,
) -> int:
    """Bytes [`predict`][transconv.tiling.predict] allocates at its peak, the network's weights
    and the caller's image aside.

    Per pixel of the image padded to at least one tile: the normalised ``float32`` image (and
    its padded copy, if padding is needed), the logit sum (``4 * num_classes`` B) and the
    coverage count (4 B), divided in place, and the ``int64`` labels (8 B). Per batch of tiles:
    the stacked tiles (12 B/px), their logits (``4 * num_classes`` B/px) and the network's
    activations (``tile_activation_bytes`` per tile).

    Parameters
    ----------
    image_size : (int, int)
        ``(H, W)`` of the image.
    tile_size : (int, int)
        ``(h, w)`` of a tile.
    num_classes : int
        Channels of the network's output.
    batch_size : int, optional
        Tiles per forward pass (default 4).
    tile_activation_bytes : int, optional
        The network's working memory for one tile (default 0).

    Returns
    -------
    int
        The estimate, in bytes.

    Examples
    --------
    >>> round(predict_bytes((3000, 4000), (320, 480), num_classes=21) / 1e9, 2)
    1.35
    """
    (H, W), (th, tw) = image_size, tile_size
    padded = max(H, th) * max(W, tw)
    image = 12 * H * W + (12 * padded if padded != H * W else 0)
    sums = (4 * num_classes + 4 + 8) * padded
    tiles = batch_size * (th * tw * (12 + 4 * num_classes) + tile_activation_bytes)
    return image + sums + tiles


def _check_predict_args(
    image: Tensor,
    tile_size: int | Sequence[int],
    overlap: float,
    batch_size: int,
    max_tiles: int | None,
) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The tile size and the tiles' origins, every argument checked."""
    check_rgb_image(image, "image")
    tile = as_hw(tile_size, "tile_size", example="(320, 480)")
    as_float(overlap, "overlap", low=0, high=1, high_open=True, example="0.25")
    as_int(batch_size, "batch_size", minimum=1, example="4")
    if max_tiles is not None:
        as_int(max_tiles, "max_tiles", minimum=1, example=str(MAX_TILES))
    (H, W), (th, tw) = image.shape[1:], tile
    boxes = [
        (top, left)
        for top in _tile_starts(max(H, th), th, overlap)
        for left in _tile_starts(max(W, tw), tw, overlap)
    ]
    if max_tiles is not None and len(boxes) > max_tiles:
        raise ValueError(
            f"tile_size={tile} must cover the {H}x{W} image in at most max_tiles={max_tiles} "
            f"tiles, got {len(boxes)} tiles; pass a larger tile_size, e.g. the training crop "
            "(320, 480)"
        )
    return tile, boxes


def _check_memory(
    image_size: tuple[int, int],
    tile: tuple[int, int],
    batch_size: int,
    num_classes: int | None = None,
    activations: int = 0,
) -> None:
    """Refuse a prediction whose buffers would not fit; ``num_classes=None``: at least one."""
    classes = "" if num_classes is None else f", {num_classes} classes"
    check_allocation(
        predict_bytes(
            image_size,
            tile,
            num_classes=num_classes or 1,
            batch_size=batch_size,
            tile_activation_bytes=activations,
        ),
        f"tile_size={tile} (batch_size={batch_size}{classes}) on a "
        f"{image_size[0]}x{image_size[1]} image",
        "pass a smaller tile_size or batch_size, or a smaller image",
    )


def estimate_predict_bytes(
    net: nn.Module,
    image_size: tuple[int, int],
    tile_size: int | Sequence[int] = (320, 480),
    *,
    batch_size: int = 4,
    device: str | torch.device | None = None,
) -> int:
    """The bytes [`predict`][transconv.tiling.predict] checks against the memory budget.

    Runs ``net`` on one zero tile to learn its number of classes and its working memory, then
    counts with [`predict_bytes`][transconv.tiling.predict_bytes].

    Parameters
    ----------
    net : nn.Module
        The network ``predict`` would run.
    image_size : (int, int)
        ``(H, W)`` of the image.
    tile_size : int or (int, int), default (320, 480)
        Tile height and width.
    batch_size : int, default 4
        Tiles per forward pass.
    device : str or torch.device, optional
        Where to run; default: the device of ``net``'s first parameter.

    Returns
    -------
    int
        The estimate, in bytes.

    Examples
    --------
    >>> estimate_predict_bytes(nn.Conv2d(3, 2, 1), (50, 70), (32, 32)) > 50 * 70 * (12 + 8)
    True
    """
    tile = as_hw(tile_size, "tile_size", example="(320, 480)")
    if device is None:
        device = next(iter(net.parameters()), torch.empty(0)).device
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            num_classes, activations = _probe(net, tile, torch.device(device))
    finally:
        net.train(was_training)
    return predict_bytes(
        tuple(image_size),
        tile,
        num_classes=num_classes,
        batch_size=batch_size,
        tile_activation_bytes=activations,
    )


def _probe(net: nn.Module, tile: tuple[int, int], device: torch.device) -> tuple[int, int]:
    """Run one tile: the network's number of classes and its working memory for one tile.

    The working memory is taken as twice the largest output of any leaf module (that output
    and the input it was computed from, alive together).
    """
    largest = [0]

    def record(module: nn.Module, inputs: object, output: object) -> None:
        if isinstance(output, Tensor):
            largest[0] = max(largest[0], output.numel() * output.element_size())

    leaves = [m for m in net.modules() if not list(m.children())]
    hooks = [m.register_forward_hook(record) for m in leaves]
    try:
        out = net(torch.zeros(1, 3, *tile, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    if out.shape[-2:] != tile:
        raise ValueError(
            f"the network must map a {tile[0]}x{tile[1]} tile to logits of that size, got "
            f"{tuple(out.shape[-2:])}; predict needs outputs of the input's size (an FCN)"
        )
    return out.shape[1], 2 * largest[0]


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
    max_tiles: int | None = MAX_TILES,
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
    max_tiles : int or None, default [`MAX_TILES`][transconv.tiling.MAX_TILES]
        Most tiles to run; more is refused before any work (a tile far too small). None: no
        bound.

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
        of range, more than ``max_tiles`` tiles, buffers that would not fit in memory (counted
        by [`predict_bytes`][transconv.tiling.predict_bytes] with the network's real number of
        classes, after one probe tile and before the image is normalised), or a network whose
        output size differs from its input's.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> image = torch.zeros(3, 50, 70, dtype=torch.uint8)
    >>> predict(net, image, tile_size=(32, 32)).shape
    torch.Size([50, 70])
    """
    tile, boxes = _check_predict_args(image, tile_size, overlap, batch_size, max_tiles)
    if device is None:
        device = next(iter(net.parameters()), torch.empty(0)).device
    H, W = image.shape[1:]
    _check_memory((H, W), tile, batch_size)  # before the probe: one tile must fit too
    was_training = net.training
    net.eval()
    try:
        num_classes, activations = _probe(net, tile, torch.device(device))
        _check_memory((H, W), tile, batch_size, num_classes, activations)
        X = normalize_image(image).to(device)
        X = F.pad(X, (0, max(tile[1] - W, 0), 0, max(tile[0] - H, 0)))
        logit_sum, count = _tile_logits(net, X, tile, boxes, batch_size)
    finally:
        net.train(was_training)
    return logit_sum.div_(count).argmax(0)[:H, :W].cpu()  # in place: no second logit copy
