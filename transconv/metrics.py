r"""Segmentation metrics: the confusion matrix and the FCN paper's four scores.

Long, Shelhamer and Darrell (FCN, 2015, section 5) report four numbers computed from one
confusion matrix. With $n_{ij}$ the number of pixels of class $i$ predicted as class $j$,
$t_i = \sum_j n_{ij}$ the pixels of class $i$ and $n_{cl}$ the number of classes that count:

$$
\begin{aligned}
\text{pixel accuracy} &= \textstyle\sum_i n_{ii} / \sum_i t_i \\
\text{mean accuracy} &= \frac{1}{n_{cl}} \textstyle\sum_i n_{ii} / t_i \\
\text{mean IU} &= \frac{1}{n_{cl}} \sum_i \frac{n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}} \\
\text{f.w. IU} &= \Big(\sum_k t_k\Big)^{-1}
    \sum_i \frac{t_i\, n_{ii}}{t_i + \sum_j n_{ji} - n_{ii}}
\end{aligned}
$$

Pixels whose target is ``ignore_index`` (255: VOC's object boundaries) never enter the matrix.
[`confusion_matrix`][transconv.metrics.confusion_matrix] counts them,
[`segmentation_scores`][transconv.metrics.segmentation_scores] turns the counts into the scores.

Examples
--------
>>> cm = confusion_matrix(torch.tensor([0, 1, 1, 1]), torch.tensor([0, 1, 1, 0]), 2)
>>> cm
tensor([[1, 1],
        [0, 2]])
>>> segmentation_scores(cm)["pixel_acc"]
0.75
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from transconv._validation import as_int, check_label_map

__all__ = ["confusion_matrix", "segmentation_scores"]


def _check_labels(pred: Tensor, target: Tensor, num_classes: int) -> int:
    """Return ``num_classes`` as an int after checking ``pred``/``target`` are label maps."""
    num_classes = as_int(num_classes, "num_classes", minimum=1, example="21")
    for name, t in (("pred", pred), ("target", target)):
        check_label_map(t, name, values=False)  # the range once ignored pixels are gone
    if pred.shape != target.shape:
        raise ValueError(
            f"pred shape must equal target shape {tuple(target.shape)}, got "
            f"{tuple(pred.shape)}; if pred holds logits (B, C, H, W), pass logits.argmax(1)"
        )
    return num_classes


def _check_range(values: Tensor, name: str, num_classes: int) -> None:
    """Raise if ``values`` (the pixels not ignored) leave ``[0, num_classes)``."""
    fix = f"raise num_classes ({num_classes}) or map the value to ignore_index"
    check_label_map(values, name, num_classes=num_classes, ignore_index=None, fix=fix)


def confusion_matrix(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int = 255
) -> Tensor:
    """Count pixels per (true class, predicted class) pair with one ``torch.bincount``.

    Parameters
    ----------
    pred : Tensor
        Predicted class indices, any integer dtype, any shape (e.g. ``(B, H, W)``).
    target : Tensor
        True class indices, same shape as ``pred``; pixels equal to ``ignore_index`` are dropped.
    num_classes : int
        Number of classes ``C``; every kept value must lie in ``[0, C)``.
    ignore_index : int, optional
        Target value that marks pixels to leave out (VOC's object boundaries); default 255.

    Returns
    -------
    Tensor
        ``int64`` matrix of shape ``(C, C)`` on the inputs' device; entry ``[i, j]`` counts
        pixels of true class ``i`` predicted as ``j`` (rows = target, columns = prediction).

    Raises
    ------
    ValueError
        If the shapes differ, ``num_classes`` is below 1, or a (non-ignored) value lies
        outside ``[0, num_classes)``.
    TypeError
        If ``pred`` or ``target`` is not a tensor of integers, or ``num_classes`` or
        ``ignore_index`` is not an integer.

    Examples
    --------
    >>> target = torch.tensor([[0, 0, 1], [1, 255, 2]])
    >>> pred = torch.tensor([[0, 1, 1], [1, 0, 0]])
    >>> confusion_matrix(pred, target, num_classes=3)
    tensor([[1, 1, 0],
            [0, 2, 0],
            [1, 0, 0]])
    """
    num_classes = _check_labels(pred, target, num_classes)
    ignore_index = as_int(ignore_index, "ignore_index", example="255")
    keep = target != ignore_index
    t, p = target[keep].long(), pred[keep].long()
    _check_range(t, "target", num_classes)
    _check_range(p, "pred", num_classes)
    counts = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _check_matrix(cm: Tensor) -> Tensor:
    """Return ``cm`` as a float64 CPU tensor after checking it is a non-empty count matrix."""
    cm = torch.as_tensor(cm).detach().cpu()
    fix = "build it with confusion_matrix(pred, target, num_classes)"
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {tuple(cm.shape)}; {fix}")
    if cm.is_complex():
        raise TypeError(f"cm must hold real pixel counts, got dtype {cm.dtype}; {fix}")
    cm = cm.double()
    checks = (
        (~cm.isfinite(), "finite pixel counts"),
        (cm < 0, "pixel counts >= 0"),
        (cm != cm.round(), "whole pixel counts"),
    )
    for bad, rule in checks:
        if bool(bad.any()):
            first = cm[bad][0].item()
            raise ValueError(
                f"cm must hold {rule}, got {first!r} ({int(bad.sum())} such entries); {fix}"
            )
    if cm.sum() == 0:
        raise ValueError(
            "cm must count at least one pixel, got 0: every target pixel was ignore_index or "
            "the loader yielded no batches; check the labels and the data loader"
        )
    return cm


def segmentation_scores(cm: Tensor) -> dict[str, float | list[float]]:
    """Pixel accuracy, mean accuracy, mean IoU and frequency-weighted IoU (Long et al.).

    A class absent from both target and prediction (an all-zero row and column) has an
    undefined IoU: it is reported as NaN and left out of every mean. A class predicted but
    absent from the target has IoU 0 and counts in ``mean_iou``; ``mean_acc`` averages over the
    classes present in the target.

    Parameters
    ----------
    cm : Tensor
        Confusion matrix of shape ``(C, C)``, rows = target, columns = prediction: whole,
        non-negative pixel counts (any real dtype).

    Returns
    -------
    dict of str to float or list of float
        ``pixel_acc``, ``mean_acc``, ``mean_iou``, ``fw_iou`` as floats and ``iou``, the list of
        ``C`` per-class IoUs (NaN where undefined).

    Raises
    ------
    ValueError
        If ``cm`` is not square, holds a NaN, infinite, negative or fractional count, or
        counts no pixel at all.
    TypeError
        If ``cm`` is complex.

    Examples
    --------
    >>> cm = torch.tensor([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    >>> s = segmentation_scores(cm)
    >>> round(s["pixel_acc"], 4), round(s["mean_acc"], 4), round(s["mean_iou"], 4)
    (0.8333, 0.875, 0.7083)
    >>> s["iou"][2]
    nan
    """
    cm = _check_matrix(cm)
    tp = cm.diag()
    target_count = cm.sum(1)
    union = target_count + cm.sum(0) - tp
    present = union > 0
    iou = torch.where(present, tp / union.clamp(min=1), torch.full_like(tp, math.nan))
    in_target = target_count > 0
    total = target_count.sum()
    return {
        "pixel_acc": float(tp.sum() / total),
        "mean_acc": float((tp[in_target] / target_count[in_target]).mean()),
        "mean_iou": float(iou[present].mean()),
        "fw_iou": float((target_count[present] * iou[present]).sum() / total),
        "iou": [float(v) for v in iou],
    }
