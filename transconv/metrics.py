"""Segmentation metrics: the confusion matrix and the FCN paper's four scores.

Long, Shelhamer and Darrell (FCN, 2015, section 5) report four numbers computed from one
confusion matrix. With :math:`n_{ij}` the number of pixels of class :math:`i` predicted as
class :math:`j`, :math:`t_i = \\sum_j n_{ij}` the pixels of class :math:`i` and
:math:`n_{cl}` the number of classes that count:

.. math::

    \\text{pixel accuracy} &= \\sum_i n_{ii} / \\sum_i t_i \\\\
    \\text{mean accuracy} &= \\frac{1}{n_{cl}} \\sum_i n_{ii} / t_i \\\\
    \\text{mean IU} &= \\frac{1}{n_{cl}} \\sum_i
        \\frac{n_{ii}}{t_i + \\sum_j n_{ji} - n_{ii}} \\\\
    \\text{f.w. IU} &= \\Big(\\sum_k t_k\\Big)^{-1} \\sum_i
        \\frac{t_i\\, n_{ii}}{t_i + \\sum_j n_{ji} - n_{ii}}

Pixels whose target is ``ignore_index`` (255: VOC's object boundaries) never enter the matrix.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["confusion_matrix", "segmentation_scores"]


def _check_labels(pred: Tensor, target: Tensor, num_classes: int) -> None:
    """Raise a teaching ``ValueError`` unless ``pred``/``target`` are compatible label maps."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            f"num_classes must be a positive int, got {num_classes!r}; "
            "pass the number of classes the network predicts (21 for VOC)"
        )
    if pred.shape != target.shape:
        raise ValueError(
            f"pred shape {tuple(pred.shape)} must equal target shape {tuple(target.shape)}; "
            "if pred holds logits (BxCxHxW), pass logits.argmax(1)"
        )
    for name, t in (("pred", pred), ("target", target)):
        if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
            raise ValueError(
                f"{name} must hold integer class indices, got dtype {t.dtype}; "
                "convert with .long() (or take logits.argmax(1) first)"
            )


def _check_range(values: Tensor, name: str, num_classes: int) -> None:
    """Raise if ``values`` leave ``[0, num_classes)``, naming the offending value."""
    if values.numel() == 0:
        return
    lo, hi = int(values.min()), int(values.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{name} contains class index {bad}, outside [0, {num_classes}) for "
            f"num_classes={num_classes}; raise num_classes or map the value to ignore_index"
        )


def confusion_matrix(
    pred: Tensor, target: Tensor, num_classes: int, ignore_index: int = 255
) -> Tensor:
    """Count pixels per (true class, predicted class) pair with one ``torch.bincount``.

    Parameters
    ----------
    pred : Tensor
        Predicted class indices, any integer dtype, any shape (e.g. ``BxHxW``).
    target : Tensor
        True class indices, same shape as ``pred``; pixels equal to ``ignore_index`` are dropped.
    num_classes : int
        Number of classes ``C``; every kept value must lie in ``[0, C)``.
    ignore_index : int, default 255
        Target value that marks pixels to leave out (VOC's object boundaries).

    Returns
    -------
    Tensor
        ``int64`` matrix of shape ``(C, C)`` on the inputs' device; entry ``[i, j]`` counts
        pixels of true class ``i`` predicted as ``j`` (rows = target, columns = prediction).

    Raises
    ------
    ValueError
        If the shapes differ, a tensor is not integer, ``num_classes`` is not a positive int,
        or a (non-ignored) value lies outside ``[0, num_classes)``.

    Examples
    --------
    >>> target = torch.tensor([[0, 0, 1], [1, 255, 2]])
    >>> pred = torch.tensor([[0, 1, 1], [1, 0, 0]])
    >>> confusion_matrix(pred, target, num_classes=3)
    tensor([[1, 1, 0],
            [0, 2, 0],
            [1, 0, 0]])
    """
    _check_labels(pred, target, num_classes)
    keep = target != ignore_index
    t, p = target[keep].long(), pred[keep].long()
    _check_range(t, "target", num_classes)
    _check_range(p, "pred", num_classes)
    counts = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _check_matrix(cm: Tensor) -> Tensor:
    """Return ``cm`` as a float64 CPU tensor after checking it is a non-empty count matrix."""
    cm = torch.as_tensor(cm).detach().cpu()
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(
            f"confusion matrix must be square (C, C), got shape {tuple(cm.shape)}; "
            "build it with confusion_matrix(pred, target, num_classes)"
        )
    cm = cm.double()
    if bool((cm < 0).any()):
        raise ValueError(
            "confusion matrix holds negative counts; entries must be pixel counts >= 0"
        )
    if cm.sum() == 0:
        raise ValueError(
            "confusion matrix is empty (0 pixels counted): every target pixel was ignore_index "
            "or the loader yielded no batches; check the labels and the data loader"
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
        ``(C, C)`` confusion matrix, rows = target, columns = prediction.

    Returns
    -------
    dict
        ``pixel_acc``, ``mean_acc``, ``mean_iou``, ``fw_iou`` as floats and ``iou``, the list of
        ``C`` per-class IoUs (NaN where undefined).

    Raises
    ------
    ValueError
        If ``cm`` is not square, holds negative counts, or counts no pixel at all.

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
