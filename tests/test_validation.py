"""Tests for the package's argument checks (transconv._arguments and transconv._validation)."""

import pytest
import torch

from transconv._validation import (
    check_2d,
    check_allocation,
    check_label_map,
    check_rgb_image,
    memory_budget,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("400000000", 400_000_000), ("4e8", 400_000_000), ("10GB", 10 * 10**9),
     ("10 gb", 10 * 10**9), ("2GiB", 2 * 2**30), ("512M", 512 * 10**6), ("1.5KiB", 1536)],
)  # fmt: skip
def test_max_bytes_accepts_numbers_and_unit_suffixes(monkeypatch, value, expected) -> None:
    monkeypatch.setenv("TRANSCONV_MAX_BYTES", value)
    assert memory_budget() == expected


@pytest.mark.parametrize("value", ["inf", "1e400", "abc", "nan", "-5", "0", "10XB", "1e30"])
def test_max_bytes_refuses_anything_else_naming_the_variable(monkeypatch, value) -> None:
    monkeypatch.setenv("TRANSCONV_MAX_BYTES", value)
    with pytest.raises(ValueError) as info:
        check_allocation(10, "a buffer", "use less")
    message = str(info.value)
    assert message.startswith("TRANSCONV_MAX_BYTES must be a positive number of bytes")
    assert f"got {value!r}" in message and "400MB or 2GiB" in message and "\n" not in message


def test_max_bytes_unset_or_blank_is_half_the_memory(monkeypatch) -> None:
    monkeypatch.setenv("TRANSCONV_MAX_BYTES", " ")
    assert memory_budget() > 0


def test_rgb_image_check_one_wording() -> None:
    with pytest.raises(TypeError, match=r"^image must be a uint8 RGB image tensor, got dtype "):
        check_rgb_image(torch.zeros(3, 2, 2))
    with pytest.raises(TypeError, match=r"^img must be a torch.Tensor, got list; read it with"):
        check_rgb_image([1, 2], "img")
    with pytest.raises(ValueError, match=r"^image must have shape \(3, H, W\), got \(1, 3, 2, 2\)"):
        check_rgb_image(torch.zeros(1, 3, 2, 2, dtype=torch.uint8))
    batch = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    assert check_rgb_image(batch, batched=True) is batch


def test_label_map_check_one_wording() -> None:
    with pytest.raises(TypeError, match=r"^pred must hold integer class indices, got dtype"):
        check_label_map(torch.zeros(2, 2), "pred")
    with pytest.raises(ValueError, match=r"^t must hold class indices in \[0, 2\], got values"):
        check_label_map(torch.tensor([255, 1]), "t", num_classes=3, ignore_index=None)
    with pytest.raises(ValueError, match=r"in \[0, 255\], got values from -1 to 3; "):
        check_label_map(torch.tensor([-1, 3]), "t")
    label = torch.tensor([0, 2, 255])
    assert check_label_map(label, num_classes=3) is label
    assert check_label_map(torch.zeros(0, dtype=torch.int64), num_classes=1).numel() == 0


def test_2d_check() -> None:
    with pytest.raises(ValueError, match=r"^X must be 2-D \(H, W\), got shape \(2,\); take one"):
        check_2d(torch.zeros(2), "X")
    with pytest.raises(TypeError, match=r"^K must be a torch.Tensor, got int; pass e.g. K="):
        check_2d(3, "K")
