"""Tests for transconv.data.images: reading RGB (8/16-bit, float, damaged files), normalising."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import normalize

from transconv.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageReadError,
    image_size,
    normalize_image,
    open_image,
    read_rgb,
)


def test_imagenet_statistics() -> None:
    # torchvision's documented ImageNet statistics
    assert IMAGENET_MEAN == (0.485, 0.456, 0.406) and IMAGENET_STD == (0.229, 0.224, 0.225)


def test_read_rgb_round_trips_an_rgb_png(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    image = read_rgb(tmp_path / "x.png")
    assert image.dtype == torch.uint8 and image.shape == (3, 5, 7)
    assert torch.equal(image, torch.from_numpy(pixels).permute(2, 0, 1))
    assert image_size(tmp_path / "x.png") == (5, 7)


def test_read_rgb_scales_16_bit_grey(tmp_path: Path) -> None:
    # bug 7: a 16-bit grey PNG saturated at 255 (1000 -> 255)
    grey = np.array([[0, 257, 1000, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    image = read_rgb(tmp_path / "g16.png")
    expected = torch.tensor([[0, 1, 3, 128, 255]], dtype=torch.uint8)  # v // 256 by hand
    assert image.dtype == torch.uint8
    for channel in image:
        assert torch.equal(channel, expected)


def _png_rgb16(path: Path, pixels: np.ndarray) -> Path:
    """Write a 16-bit-per-channel RGB PNG by hand (Pillow cannot write one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    height, width, _ = pixels.shape
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)  # 16 bits, colour type RGB
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def test_read_rgb_reads_16_bit_rgb_by_its_high_byte(tmp_path: Path) -> None:
    pixels = np.array([[[0, 1000, 65535], [32768, 257, 512]]])
    image = read_rgb(_png_rgb16(tmp_path / "rgb16.png", pixels))
    expected = torch.from_numpy(pixels >> 8).permute(2, 0, 1).to(torch.uint8)  # 8 high bits
    assert torch.equal(image, expected)


def test_read_rgb_refuses_float_images(tmp_path: Path) -> None:
    # bug 7: float pixels in [0, 1] read as black
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(ImageReadError, match=r"cannot decode image .*f\.tiff: float pixels"):
        read_rgb(tmp_path / "f.tiff")


def test_read_rgb_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"image .*nothing\.jpg not found"):
        read_rgb(tmp_path / "nothing.jpg")
    with pytest.raises(FileNotFoundError, match=r"image .*nothing\.jpg not found"):
        image_size(tmp_path / "nothing.jpg")


def _truncated_jpeg(path: Path) -> Path:
    pixels = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG")
    path.write_bytes(path.read_bytes()[:300])
    return path


def _truncated_png(path: Path) -> Path:
    pixels = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="PNG")
    path.write_bytes(path.read_bytes()[:2000])
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"garbage, not a JPEG") and p, r"not a JPEG or PNG file"),
        (lambda p: p.write_bytes(b"") and p, r"not a JPEG or PNG file"),
        (_truncated_jpeg, r"the file is truncated \("),
        (_truncated_png, r"the file is (truncated|damaged) \("),
    ],
)
def test_damaged_files_give_one_line_naming_the_file(tmp_path: Path, make, message) -> None:
    # bug 6: Pillow's errors came out as 15-line tracebacks without the file's name
    path = tmp_path / "bad.jpg"
    make(path)
    with pytest.raises(ImageReadError, match=message) as info:
        read_rgb(path)
    text = str(info.value)
    assert str(path) in text and "\n" not in text and "replace the file" in text
    assert isinstance(info.value, OSError) and isinstance(info.value, ValueError)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_any_decoder_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a plugin failing with an exception outside OSError/ValueError (here EOFError) is still
    # one ImageReadError naming the file, for every caller of read_rgb (the CLI included)
    Image.new("RGB", (4, 2)).save(tmp_path / "odd.png")

    def fail(self):
        raise EOFError("ran out of data")

    monkeypatch.setattr(Image.Image, "load", fail)
    with pytest.raises(ImageReadError, match=r"cannot decode image .*odd\.png: .*EOFError") as info:
        read_rgb(tmp_path / "odd.png")
    assert "\n" not in str(info.value) and "replace the file" in str(info.value)


def test_garbage_header_fails_in_image_size_too(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"\x89PNG nonsense")
    with pytest.raises(ImageReadError, match=r"cannot decode image .*bad\.png"):
        image_size(tmp_path / "bad.png")


def test_decompression_bomb_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # bug 6: an image over Pillow's pixel limit raised DecompressionBombError with a traceback
    Image.new("RGB", (40, 30)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1200 pixels > 2 * 100: an error
    with pytest.raises(ImageReadError, match=r"big\.png: it is larger than Pillow's safety limit"):
        read_rgb(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 1200 > 1000: Pillow only warns
    with pytest.raises(ImageReadError, match=r"raise PIL\.Image\.MAX_IMAGE_PIXELS"):
        read_rgb(tmp_path / "big.png")


def test_open_image_loads_the_pixels(tmp_path: Path) -> None:
    Image.new("L", (3, 2), 7).save(tmp_path / "grey.png")
    with open_image(tmp_path / "grey.png", "label PNG") as image:
        assert image.mode == "L" and np.asarray(image).tolist() == [[7, 7, 7]] * 2
    with pytest.raises(FileNotFoundError, match=r"label PNG .*none\.png not found"):
        with open_image(tmp_path / "none.png", "label PNG"):
            pass


def test_normalize_image_equals_torchvision_in_float64() -> None:
    img = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8, generator=torch.Generator())
    expected = normalize(img.double() / 255, list(IMAGENET_MEAN), list(IMAGENET_STD))
    out = normalize_image(img)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(normalize_image(img[0]).double(), expected[0], rtol=1e-6, atol=1e-6)


def test_normalize_image_by_hand() -> None:
    img = torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 3).expand(3, 3).reshape(3, 1, 3)
    # (v / 255 - mean) / std, worked out by hand for v = 0, 51 (0.2), 255 (1.0)
    expected = torch.tensor(
        [
            [-0.485 / 0.229, (0.2 - 0.485) / 0.229, (1 - 0.485) / 0.229],
            [-0.456 / 0.224, (0.2 - 0.456) / 0.224, (1 - 0.456) / 0.224],
            [-0.406 / 0.225, (0.2 - 0.406) / 0.225, (1 - 0.406) / 0.225],
        ]
    ).reshape(3, 1, 3)
    torch.testing.assert_close(normalize_image(img), expected)


def test_normalize_image_errors() -> None:
    with pytest.raises(
        TypeError, match=r"^img must be a uint8 RGB image tensor, got dtype torch.float32; read it"
    ):
        normalize_image(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"\(3, H, W\) or \(B, 3, H, W\), got \(1, 2, 2\)"):
        normalize_image(torch.zeros(1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"got \(2, 2\)"):
        normalize_image(torch.zeros(2, 2, dtype=torch.uint8))
