"""Tests for transconv.metrics: hand-computed scores, an independent loop count, every error."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transconv.metrics import confusion_matrix, segmentation_scores

# Ten pixels, five classes: class 3 only predicted, class 4 absent everywhere, two ignored.
TARGET = torch.tensor([[0, 0, 0, 1, 1], [2, 2, 2, 255, 255]])
PRED = torch.tensor([[0, 0, 1, 1, 3], [2, 2, 0, 3, 1]])


def test_confusion_matrix_by_hand():
    # kept pairs (target, pred): (0,0) (0,0) (0,1) (1,1) (1,3) (2,2) (2,2) (2,0)
    expected = torch.tensor(
        [
            [2, 1, 0, 0, 0],
            [0, 1, 0, 1, 0],
            [1, 0, 2, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ]
    )
    cm = confusion_matrix(PRED, TARGET, num_classes=5)
    assert cm.dtype == torch.int64
    torch.testing.assert_close(cm, expected)


def test_scores_by_hand():
    s = segmentation_scores(confusion_matrix(PRED, TARGET, num_classes=5))
    # IoU: class 0 = 2/(3+3-2), class 1 = 1/(2+2-1), class 2 = 2/(3+2-2), class 3 = 0/1, 4 = nan
    assert s["iou"][:4] == pytest.approx([1 / 2, 1 / 3, 2 / 3, 0.0])
    assert math.isnan(s["iou"][4])
    assert s["pixel_acc"] == pytest.approx(5 / 8)
    assert s["mean_acc"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)  # classes in target
    assert s["mean_iou"] == pytest.approx((1 / 2 + 1 / 3 + 2 / 3 + 0) / 4)  # class 4 left out
    assert s["fw_iou"] == pytest.approx((3 * 1 / 2 + 2 * 1 / 3 + 3 * 2 / 3) / 8)


def test_perfect_prediction_scores_one():
    target = torch.tensor([[0, 1], [2, 255]])
    s = segmentation_scores(confusion_matrix(target.clamp(max=2), target, num_classes=4))
    for key in ("pixel_acc", "mean_acc", "mean_iou", "fw_iou"):
        assert s[key] == pytest.approx(1.0)


@settings(max_examples=25)
@given(
    st.integers(1, 6),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), min_size=1, max_size=40),
)
def test_matches_a_python_loop(num_classes, pairs):
    pred = torch.tensor([p % num_classes for p, _ in pairs])
    target = torch.tensor([t % num_classes if t < 6 else 255 for _, t in pairs])
    expected = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(target.tolist(), pred.tolist(), strict=True):
        if t != 255:
            expected[t, p] += 1
    torch.testing.assert_close(confusion_matrix(pred, target, num_classes), expected)


def test_custom_ignore_index_and_uint8_input():
    target = torch.tensor([0, 1, 9], dtype=torch.uint8)
    pred = torch.tensor([0, 0, 1], dtype=torch.uint8)
    cm = confusion_matrix(pred, target, num_classes=2, ignore_index=9)
    torch.testing.assert_close(cm, torch.tensor([[1, 0], [1, 0]]))


@pytest.mark.parametrize(
    "pred, target, num_classes, error, match",
    [
        (
            torch.zeros(2, 3),
            torch.zeros(2, 3, dtype=torch.long),
            2,
            TypeError,
            r"^pred must hold integer class indices, got dtype torch.float32; take logits.argmax",
        ),
        (
            torch.zeros(1, 2, 3, dtype=torch.long),
            torch.zeros(1, 3, 3, dtype=torch.long),
            2,
            ValueError,
            r"^pred shape must equal target shape \(1, 3, 3\), got \(1, 2, 3\);.*argmax\(1\)",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            0,
            ValueError,
            r"^num_classes must be an int >= 1, got 0",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            torch.zeros(2, dtype=torch.long),
            2.0,
            TypeError,
            r"^num_classes must be an int, got 2.0",
        ),
        (
            torch.zeros(2, dtype=torch.long),
            torch.tensor([0, 7]),
            5,
            ValueError,
            r"^target must hold class indices in \[0, 4\], got values from 0 to 7; raise",
        ),
        (
            torch.tensor([0, -1]),
            torch.zeros(2, dtype=torch.long),
            5,
            ValueError,
            r"^pred must hold class indices in \[0, 4\], got values from -1 to 0; raise",
        ),
        (
            [0, 1],
            torch.zeros(2, dtype=torch.long),
            5,
            TypeError,
            r"^pred must be a torch.Tensor, got list; convert it with torch.as_tensor$",
        ),
    ],
)
def test_confusion_matrix_errors(pred, target, num_classes, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(pred, target, num_classes)


def test_confusion_matrix_takes_numpy_integers():
    target, pred = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0])
    expected = torch.tensor([[1, 0], [1, 1]])
    torch.testing.assert_close(confusion_matrix(pred, target, np.int64(2)), expected)


@pytest.mark.parametrize(
    "cm, match",
    [
        (torch.zeros(2, 3), r"^cm must be a square \(C, C\) matrix, got shape \(2, 3\)"),
        (torch.zeros(2, 2), r"^cm must count at least one pixel, got 0"),
        (torch.tensor([[1, -1], [0, 1]]), r"^cm must hold pixel counts >= 0, got -1.0"),
        # bug 10: NaN and fractional counts were accepted and gave NaN or nonsense scores
        (
            torch.tensor([[1.0, math.nan], [0.0, 1.0]]),
            r"^cm must hold finite pixel counts, got nan",
        ),
        (
            torch.tensor([[1.0, math.inf], [0.0, 1.0]]),
            r"^cm must hold finite pixel counts, got inf",
        ),
        (
            torch.tensor([[1.5, 0.0], [0.0, 1.0]]),
            r"^cm must hold whole pixel counts, got 1.5 \(1 such",
        ),
    ],
)
def test_scores_errors(cm, match):
    with pytest.raises(ValueError, match=match):
        segmentation_scores(cm)


def test_scores_accept_whole_float_counts():
    counts = torch.tensor([[3, 1], [0, 2]])
    assert segmentation_scores(counts.double()) == segmentation_scores(counts)
