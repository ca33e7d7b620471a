"""Segmentation losses: cross-entropy over the labelled pixels, and d2l's per-image variant."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn.functional as F
from torch import Tensor

from transconv.data.voc import IGNORE_INDEX

__all__ = ["LOSSES", "d2l_loss", "loss_fn"]


def _check_logits(logits: Tensor, target: Tensor) -> None:
    if logits.dim() != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(
            f"expected logits BxCxHxW and target BxHxW of the same B, H, W, got logits "
            f"{tuple(logits.shape)} and target {tuple(target.shape)}"
        )


def loss_fn(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Cross-entropy averaged over the pixels whose target is not ``ignore_index``.

    .. math:: \\ell = \\frac{1}{|K|} \\sum_{p \\in K} -\\log \\operatorname{softmax}(z_p)_{y_p},
        \\quad K = \\{p : y_p \\ne \\text{ignore\\_index}\\}

    A batch whose pixels are all ignored has loss 0 (not 0/0 = NaN).

    Parameters
    ----------
    logits : Tensor
        ``BxCxHxW`` scores (any float dtype; computed in float32).
    target : Tensor
        ``BxHxW`` int64 class indices, ``ignore_index`` for pixels to leave out.
    ignore_index : int, default 255

    Returns
    -------
    Tensor
        Scalar loss.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(1, 4, 1, 2)
    >>> round(loss_fn(logits, torch.tensor([[[1, 255]]])).item(), 4)  # log 4
    1.3863
    """
    _check_logits(logits, target)
    total = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="sum")
    return total / (target != ignore_index).sum().clamp(min=1)


def d2l_loss(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """d2l's loss: per-pixel cross-entropy averaged per image, one value per image.

    As d2l's ``loss(inputs, targets) = F.cross_entropy(..., reduction='none').mean(1).mean(1)``
    with ``l.sum().backward()``: :func:`train_step` backpropagates the *sum*, so the gradient
    grows with the batch size. Here ignored pixels add 0 but still count in each image's mean
    (d2l trains them as background instead).

    Parameters
    ----------
    logits, target, ignore_index
        As :func:`loss_fn`.

    Returns
    -------
    Tensor
        Shape ``(B,)``.

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(2, 4, 1, 2)
    >>> d2l_loss(logits, torch.tensor([[[1, 255]], [[0, 3]]])).numpy().round(4)
    array([0.6931, 1.3863], dtype=float32)
    """
    _check_logits(logits, target)
    per_pixel = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="none")
    return per_pixel.mean(1).mean(1)


LOSSES: dict[str, Callable[..., Tensor]] = {"mean": loss_fn, "d2l": d2l_loss}
