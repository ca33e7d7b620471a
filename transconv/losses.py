"""Segmentation losses: cross-entropy over the labelled pixels, a fused form of it that keeps
the logits' dtype and memory layout, and d2l's per-image variant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from transconv._validation import as_int
from transconv.data.voc import IGNORE_INDEX

__all__ = ["CHUNK_PIXELS", "LOSSES", "d2l_loss", "fused_loss", "loss_fn"]

CHUNK_PIXELS = 1 << 18
"""Pixels per chunk of [`fused_loss`][transconv.losses.fused_loss]: 2**18 pixels of 21 classes
make a 22 MB float32 working copy, which fits in an H100's 50 MB L2 cache."""


def _check_logits(logits: Tensor, target: Tensor) -> None:
    if logits.dim() != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(
            f"logits must be (B, C, H, W) and target (B, H, W) with the same B, H and W, got "
            f"logits {tuple(logits.shape)} and target {tuple(target.shape)}; pass the model's "
            "output and the batch's labels"
        )


def loss_fn(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    r"""Cross-entropy averaged over the pixels whose target is not `ignore_index`.

    $$\ell = \frac{1}{|K|} \sum_{p \in K} -\log \operatorname{softmax}(z_p)_{y_p},
    \quad K = \{p : y_p \ne \mathrm{ignore\_index}\}$$

    A batch whose pixels are all ignored has loss 0 (not 0/0 = NaN). The logits are copied to
    float32 first; [`fused_loss`][transconv.losses.fused_loss] computes the same value without
    that copy.

    Parameters
    ----------
    logits : Tensor
        Scores of any float dtype (computed in float32).
    target : Tensor
        int64 class indices, `ignore_index` for pixels to leave out.
    ignore_index : int, optional
        The label of pixels that do not count, default 255 (VOC's object boundaries).

    Returns
    -------
    Tensor
        Scalar float32 loss.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Shape
    -----
    - logits: ``(B, C, H, W)``
    - target: ``(B, H, W)``

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


def _chunks(logits: Tensor, chunk_pixels: int) -> list[slice]:
    """Slices of the batch dimension of at most `chunk_pixels` pixels (at least one image)."""
    per_image = max(1, logits.shape[2] * logits.shape[3])
    step = max(1, chunk_pixels // per_image)
    return [slice(i, i + step) for i in range(0, logits.shape[0], step)]


def _classes_last(*tensors: Tensor) -> tuple[list[Tensor], int]:
    """The tensors viewed so that the class dimension runs in memory order, and that dimension.

    A channels_last tensor is stored as ``(B, H, W, C)``: its permuted view is contiguous, and a
    softmax over its last dimension reads it in order (CUDA's softmax over dimension 1 would
    first copy it to NCHW). The first tensor decides; the others follow it.
    """
    first = tensors[0]
    if not first.is_contiguous() and first.is_contiguous(memory_format=torch.channels_last):
        return [t.permute(0, 2, 3, 1) for t in tensors], 3
    return list(tensors), 1


class _FusedCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy over labelled pixels; float32 (or float64) one chunk at a time."""

    @staticmethod
    def forward(
        ctx: Any, logits: Tensor, target: Tensor, ignore_index: int, chunk_pixels: int
    ) -> Tensor:
        acc = torch.promote_types(logits.dtype, torch.float32)  # float64 stays float64
        keep = target != ignore_index
        safe = torch.where(keep, target, 0).unsqueeze(1)  # any valid index at ignored pixels
        total = torch.zeros((), dtype=acc, device=logits.device)
        for part in _chunks(logits, chunk_pixels):
            (z, index), dim = _classes_last(logits[part], safe[part])
            picked = torch.log_softmax(z, dim, dtype=acc).gather(dim, index).squeeze(dim)
            # torch.where, not a product with the mask: a NaN at an ignored pixel stays out
            total -= torch.where(keep[part], picked.reshape(keep[part].shape), 0.0).sum()
        count = keep.sum().clamp(min=1)
        ctx.save_for_backward(logits, safe, keep, count)
        ctx.chunk_pixels = chunk_pixels
        return total / count

    @staticmethod
    def backward(ctx: Any, grad_out: Tensor) -> tuple[Tensor | None, None, None, None]:
        logits, safe, keep, count = ctx.saved_tensors
        acc = torch.promote_types(logits.dtype, torch.float32)
        # empty_like keeps the logits' dtype and strides: channels_last in, channels_last out
        grad = torch.empty_like(logits)
        weight = (keep * (grad_out.to(acc) / count)).unsqueeze(1)  # (B, 1, H, W)
        for part in _chunks(logits, ctx.chunk_pixels):
            (z, index, w, out), dim = _classes_last(
                logits[part], safe[part], weight[part], grad[part]
            )
            p = torch.softmax(z, dim, dtype=acc)  # recomputed: nothing full-size was saved
            p.scatter_add_(dim, index, torch.full_like(w, -1.0))  # p - one_hot(y)
            torch.mul(p, w, out=out)  # rounds once, into the logits' dtype and strides
        return grad, None, None, None


def fused_loss(
    logits: Tensor,
    target: Tensor,
    ignore_index: int = IGNORE_INDEX,
    *,
    chunk_pixels: int = CHUNK_PIXELS,
) -> Tensor:
    r"""[`loss_fn`][transconv.losses.loss_fn] without a float32 copy of the logits.

    The same value, the mean cross-entropy over labelled pixels, computed a chunk of images
    at a time: each chunk is read in the logits' own dtype and memory format and reduced in
    float32, and the gradient
    $\partial \ell / \partial z_p = (\operatorname{softmax}(z_p) - e_{y_p}) / |K|$
    (zero at ignored pixels) is written straight into a tensor of the logits' dtype and strides.
    So a bfloat16 channels_last batch gets neither a float32 copy (twice its size) nor an NCHW
    copy of its gradient. The backward pass keeps only the logits themselves (and per-pixel
    labels) and recomputes the softmax a chunk at a time.

    Float64 logits are computed in float64 (for gradient checks), all others in float32. Equal
    to [`loss_fn`][transconv.losses.loss_fn] up to the order of float32 sums: within
    `rtol=1e-5` on the loss and `atol=1e-6` on a float32 gradient (one bfloat16 rounding step
    on a bfloat16 one), as `tests/test_losses.py` checks.

    `torch.compile(fused_loss, fullgraph=True)` traces it whole, forward and backward, so
    compiled (with the model or alone) its per-chunk steps fuse into fewer kernels.

    Parameters
    ----------
    logits : Tensor
        Scores, float64, float32, bfloat16 or float16, contiguous or channels_last.
    target : Tensor
        int64 class indices in `[0, C)`, or `ignore_index` for pixels to leave out.
    ignore_index : int, optional
        The label of pixels that do not count, default 255 (VOC's object boundaries).
    chunk_pixels : int, optional
        Pixels per chunk (whole images, at least one), default
        [`CHUNK_PIXELS`][transconv.losses.CHUNK_PIXELS]; the float32 working copy is
        `4 * C * chunk_pixels` bytes.

    Returns
    -------
    Tensor
        Scalar float32 loss (float64 for float64 logits); 0 when every pixel is ignored.

    Raises
    ------
    ValueError
        If the shapes do not match or `chunk_pixels` is below 1.
    TypeError
        If `logits` is not floating point or `chunk_pixels` is not an int.

    Shape
    -----
    - logits: ``(B, C, H, W)``
    - target: ``(B, H, W)``

    Examples
    --------
    >>> import torch
    >>> logits = torch.zeros(1, 4, 1, 2, dtype=torch.bfloat16, requires_grad=True)
    >>> loss = fused_loss(logits, torch.tensor([[[1, 255]]]))
    >>> round(loss.item(), 4)  # log 4
    1.3863
    >>> loss.backward()
    >>> logits.grad.dtype, logits.grad[0, :, 0, 0].tolist(), logits.grad[0, :, 0, 1].tolist()
    (torch.bfloat16, [0.25, -0.75, 0.25, 0.25], [0.0, 0.0, 0.0, 0.0])
    """
    _check_logits(logits, target)
    if not logits.is_floating_point():
        raise TypeError(
            f"logits must be floating point, got {logits.dtype}; pass the model's output"
        )
    chunk_pixels = as_int(chunk_pixels, "chunk_pixels", minimum=1, example=str(CHUNK_PIXELS))
    return _FusedCrossEntropy.apply(logits, target, int(ignore_index), chunk_pixels)


def d2l_loss(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """d2l's loss: per-pixel cross-entropy averaged per image, one value per image.

    As d2l's `loss(inputs, targets) = F.cross_entropy(..., reduction='none').mean(1).mean(1)`
    with `l.sum().backward()`: [`train_step`][transconv.train.train_step] backpropagates the
    *sum*, so the gradient grows with the batch size. Here ignored pixels add 0 but still count
    in each image's mean (d2l trains them as background instead).

    Parameters
    ----------
    logits : Tensor
        Scores of any float dtype (computed in float32).
    target : Tensor
        int64 class indices, `ignore_index` for pixels that add 0.
    ignore_index : int, optional
        The label of pixels that add 0, default 255 (VOC's object boundaries).

    Returns
    -------
    Tensor
        One float32 loss per image.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Shape
    -----
    - logits: ``(B, C, H, W)``
    - target: ``(B, H, W)``
    - output: ``(B,)``

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


LOSSES: dict[str, Callable[..., Tensor]] = {"mean": loss_fn, "fused": fused_loss, "d2l": d2l_loss}
"""The losses by the name a [`Recipe`][transconv.recipes.Recipe] gives in its `loss` field:
`"mean"` ([`loss_fn`][transconv.losses.loss_fn]), `"fused"`
([`fused_loss`][transconv.losses.fused_loss], the same value) and `"d2l"`
([`d2l_loss`][transconv.losses.d2l_loss])."""
