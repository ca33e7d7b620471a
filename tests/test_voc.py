"""Tests for transconv.data.voc: label decoding, reading, cropping, loading, download fallback."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import transconv.data.voc as voc
from transconv.data.synthetic import make_synthetic_voc
from transconv.data.voc import (
    IGNORE_INDEX,
    VOC_CLASSES,
    VOC_COLORMAP,
    VOCSegDataset,
    download_voc,
    label2image,
    load_data_voc,
    normalize_image,
    read_rgb,
    read_voc_images,
    read_voc_label,
    voc_colormap2label,
    voc_label_indices,
    voc_palette,
)

BOUNDARY_RGB = (224, 224, 192)


@pytest.fixture(scope="module")
def table() -> torch.Tensor:
    return voc_colormap2label()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    return make_synthetic_voc(root, 5, 3, size=(48, 64), sizes=[(48, 64), (24, 64)], seed=3)


def _write_voc_tree(voc_dir: Path, images: list[np.ndarray], labels: list[np.ndarray]) -> Path:
    """A hand-made VOC tree; images are stored losslessly (PNG bytes under a .jpg name: the
    readers sniff the format), labels as palette PNGs. The same list serves train and val."""
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc_dir / sub).mkdir(parents=True, exist_ok=True)
    names = [f"2007_{i:06d}" for i in range(len(images))]
    for name, image, label in zip(names, images, labels):
        Image.fromarray(image).save(voc_dir / "JPEGImages" / f"{name}.jpg", format="PNG")
        png = Image.fromarray(label)
        png.putpalette(voc_palette().flatten().tolist())
        png.save(voc_dir / "SegmentationClass" / f"{name}.png")
    for split in ("train", "val"):
        (voc_dir / "ImageSets/Segmentation" / f"{split}.txt").write_text("\n".join(names))
    return voc_dir


def _coordinate_example(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Image whose pixel says where it is (G = x, B = y) and what its label is (R = 12 * label)."""
    y, x = np.mgrid[0:height, 0:width]
    label = ((x // 3 + y // 5) % 21).astype(np.uint8)
    label[::7, ::11] = IGNORE_INDEX
    red = np.where(label == IGNORE_INDEX, 252, 12 * label.astype(np.int64))
    image = np.stack([red, x, y], axis=-1).astype(np.uint8)
    return image, label


def _unnormalize(image: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(3, 1, 1)
    return ((image * std + mean) * 255).round().to(torch.int64)


# --- classes, colours, palette ---------------------------------------------------------------


def test_classes_and_colormap_are_the_21_voc_entries() -> None:
    assert len(VOC_CLASSES) == len(VOC_COLORMAP) == 21
    assert VOC_CLASSES[0] == "background" and VOC_CLASSES[15] == "person"
    assert VOC_COLORMAP[1] == (128, 0, 0) and VOC_COLORMAP[20] == (0, 64, 128)
    assert len(set(VOC_COLORMAP)) == 21


def test_palette_starts_with_the_colormap_and_ends_with_the_boundary() -> None:
    palette = voc_palette()
    assert palette.shape == (256, 3) and palette.dtype == torch.uint8
    assert [tuple(c) for c in palette[:21].tolist()] == list(VOC_COLORMAP)
    assert tuple(palette[255].tolist()) == BOUNDARY_RGB


def test_colormap2label_maps_exactly_the_21_colours(table: torch.Tensor) -> None:
    assert table.shape == (256**3,) and table.dtype == torch.int64
    for index, (r, g, b) in enumerate(VOC_COLORMAP):
        assert table[r * 65536 + g * 256 + b] == index
    assert int((table != IGNORE_INDEX).sum()) == 21


# --- voc_label_indices -------------------------------------------------------------------------


def test_label_indices_boundary_and_unknown_colours_are_ignored(table: torch.Tensor) -> None:
    colours = [*VOC_COLORMAP, BOUNDARY_RGB, (1, 2, 3), (255, 255, 255)]
    rgb = torch.tensor(colours, dtype=torch.uint8).T.reshape(3, 1, len(colours))
    expected = torch.tensor([[*range(21), 255, 255, 255]])
    torch.testing.assert_close(voc_label_indices(rgb, table), expected)


def test_label_indices_rejects_bad_colormap(table: torch.Tensor) -> None:
    with pytest.raises(ValueError, match=r"uint8 RGB image of shape 3xHxW, got dtype torch.float"):
        voc_label_indices(torch.zeros(3, 2, 2), table)
    with pytest.raises(ValueError, match=r"shape \(4, 2, 2\)"):
        voc_label_indices(torch.zeros(4, 2, 2, dtype=torch.uint8), table)


def test_label_indices_rejects_bad_table() -> None:
    with pytest.raises(ValueError, match=r"length 256\*\*3 = 16777216, got shape \(10,\)"):
        voc_label_indices(torch.zeros(3, 2, 2, dtype=torch.uint8), torch.zeros(10))


# --- read_voc_label / read_rgb -------------------------------------------------------------------


def test_palette_path_equals_rgb_path_on_synthetic(synthetic: Path, table: torch.Tensor) -> None:
    pngs = sorted((synthetic / "SegmentationClass").glob("*.png"))
    assert len(pngs) == 8
    seen = set()
    for png in pngs:
        fast = read_voc_label(png)
        slow = voc_label_indices(read_rgb(png), table)
        torch.testing.assert_close(fast, slow)
        seen |= set(fast.unique().tolist())
    assert IGNORE_INDEX in seen and 0 in seen and len(seen) >= 3


def test_palette_path_checks_the_palette(tmp_path: Path, table: torch.Tensor) -> None:
    # a palette PNG whose palette is NOT VOC's: index 1 is painted in class 15's colour,
    # index 2 in an unknown colour; the labels must follow the colours, as the RGB path does
    palette = [0, 0, 0, *VOC_COLORMAP[15], 9, 9, 9] + [0] * (256 * 3 - 9)
    png = Image.fromarray(np.array([[0, 1, 2]], dtype=np.uint8))
    png.putpalette(palette)
    png.save(tmp_path / "odd.png")
    expected = torch.tensor([[0, 15, 255]])
    torch.testing.assert_close(read_voc_label(tmp_path / "odd.png"), expected)
    torch.testing.assert_close(voc_label_indices(read_rgb(tmp_path / "odd.png"), table), expected)


def test_read_voc_label_falls_back_to_rgb(tmp_path: Path, table: torch.Tensor) -> None:
    rgb = np.array([[VOC_COLORMAP[3], BOUNDARY_RGB, VOC_COLORMAP[0]]], dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    expected = torch.tensor([[3, 255, 0]])
    torch.testing.assert_close(read_voc_label(tmp_path / "rgb.png"), expected)
    torch.testing.assert_close(read_voc_label(tmp_path / "rgb.png", colormap2label=table), expected)


def test_readers_name_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"label PNG .*nothing\.png not found"):
        read_voc_label(tmp_path / "nothing.png")
    with pytest.raises(FileNotFoundError, match=r"image .*nothing\.jpg not found"):
        read_rgb(tmp_path / "nothing.jpg")


# --- read_voc_images ------------------------------------------------------------------------------


def test_read_voc_images_returns_rgb_images_and_label_images(synthetic: Path) -> None:
    features, labels = read_voc_images(synthetic, is_train=True)
    assert len(features) == len(labels) == 5
    assert [tuple(f.shape) for f in features] == [(3, 48, 64), (3, 24, 64)] * 2 + [(3, 48, 64)]
    assert all(f.dtype == labels[0].dtype == torch.uint8 for f in features)
    assert all(f.shape == lab.shape for f, lab in zip(features, labels))
    val_features, _ = read_voc_images(synthetic, is_train=False)
    assert len(val_features) == 3


def test_read_voc_images_missing_tree(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"JPEGImages not found.*VOCdevkit/VOC2012.*"
                       r"download_voc.*make_synthetic_voc"):  # fmt: skip
        read_voc_images(tmp_path / "nowhere")


def test_read_voc_images_hints_at_the_nested_tree(synthetic: Path) -> None:
    root = synthetic.parent.parent
    with pytest.raises(FileNotFoundError, match=r"did you mean voc_dir=.*VOCdevkit/VOC2012\?"):
        read_voc_images(root)


def test_read_voc_images_missing_split_or_listed_file(tmp_path: Path) -> None:
    image, label = _coordinate_example(8, 8)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image], [label])
    (voc_dir / "ImageSets/Segmentation/val.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"split file .*val\.txt not found"):
        read_voc_images(voc_dir, is_train=False)
    (voc_dir / "SegmentationClass/2007_000000.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"2007_000000\.png not found, but train\.txt"):
        read_voc_images(voc_dir, is_train=True)


# --- normalize_image ------------------------------------------------------------------------------


def test_normalize_image_by_hand() -> None:
    img = torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 3).expand(3, 3).reshape(3, 1, 3)
    out = normalize_image(img)
    # (v / 255 - mean) / std, worked out by hand for v = 0, 51 (0.2), 255 (1.0)
    expected = torch.tensor(
        [
            [-0.485 / 0.229, (0.2 - 0.485) / 0.229, (1 - 0.485) / 0.229],
            [-0.456 / 0.224, (0.2 - 0.456) / 0.224, (1 - 0.456) / 0.224],
            [-0.406 / 0.225, (0.2 - 0.406) / 0.225, (1 - 0.406) / 0.225],
        ]
    ).reshape(3, 1, 3)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, expected)
    batch = normalize_image(img.unsqueeze(0).expand(2, 3, 1, 3))
    torch.testing.assert_close(batch, expected.expand(2, 3, 1, 3))


def test_normalize_image_errors() -> None:
    with pytest.raises(TypeError, match=r"uint8 image .* got dtype torch.float32"):
        normalize_image(torch.zeros(3, 2, 2))
    with pytest.raises(ValueError, match=r"3xHxW or Bx3xHxW, got \(1, 2, 2\)"):
        normalize_image(torch.zeros(1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"got \(2, 2\)"):
        normalize_image(torch.zeros(2, 2, dtype=torch.uint8))


# --- VOCSegDataset ------------------------------------------------------------------------------


def test_dataset_filters_small_images_and_reports(
    synthetic: Path, capsys: pytest.CaptureFixture
) -> None:
    train = VOCSegDataset(True, (32, 48), synthetic)
    assert "read 3 examples (dropped 2 smaller than 32x48)" in capsys.readouterr().out
    assert (train.num_kept, train.num_dropped, len(train)) == (3, 2, 3)
    val = VOCSegDataset(False, (20, 64), synthetic, verbose=False)
    assert (val.num_kept, val.num_dropped) == (3, 0)
    assert capsys.readouterr().out == ""
    assert val.summary() == "read 3 examples (dropped 0 smaller than 20x64)"


def test_dataset_items(synthetic: Path) -> None:
    dataset = VOCSegDataset(True, (32, 48), synthetic, verbose=False)
    image, label = dataset[1]
    assert image.dtype == torch.float32 and image.shape == (3, 32, 48)
    assert label.dtype == torch.int64 and label.shape == (32, 48)
    assert set(label.unique().tolist()) <= {*range(21), 255}
    numpy_ints = VOCSegDataset(True, (np.int64(20), 30), synthetic, verbose=False)
    assert numpy_ints.crop_size == (20, 30) and type(numpy_ints.crop_size[0]) is int


def test_crop_keeps_image_and_label_aligned(tmp_path: Path) -> None:
    image, label = _coordinate_example(40, 50)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image] * 3, [label] * 3)
    generator = torch.Generator().manual_seed(0)
    dataset = VOCSegDataset(True, (17, 23), voc_dir, generator=generator, verbose=False)
    origins = set()
    for _ in range(4):
        for idx in range(len(dataset)):
            crop, crop_label = dataset[idx]
            pixels = _unnormalize(crop)
            top, left = int(pixels[2, 0, 0]), int(pixels[1, 0, 0])
            origins.add((top, left))
            red = torch.where(crop_label == 255, 252, 12 * crop_label)
            torch.testing.assert_close(pixels[0], red)  # label and image from the same place
            expected = torch.from_numpy(label[top : top + 17, left : left + 23]).long()
            torch.testing.assert_close(crop_label, expected)
    assert len(origins) > 6  # the crops really move


def test_rgb_label_path_gives_the_same_items(synthetic: Path) -> None:
    def dataset(use_palette: bool) -> VOCSegDataset:
        generator = torch.Generator().manual_seed(1)
        return VOCSegDataset(
            True, (20, 30), synthetic, generator=generator, use_palette=use_palette, verbose=False
        )

    fast, slow = dataset(True), dataset(False)
    for idx in range(len(fast)):
        for a, b in zip(fast[idx], slow[idx]):
            torch.testing.assert_close(a, b)


def test_dataset_crop_is_reproducible(synthetic: Path) -> None:
    def crops(seed: int) -> list[tuple[int, int]]:
        generator = torch.Generator().manual_seed(seed)
        dataset = VOCSegDataset(True, (20, 30), synthetic, generator=generator, verbose=False)
        return [dataset.crop_origin(48, 64) for _ in range(6)]

    assert crops(5) == crops(5)
    assert crops(5) != crops(6)


@pytest.mark.parametrize("crop_size", [(0, 48), (32,), (32.0, 48), 32, (32, 48, 3), (True, 48)])
def test_dataset_rejects_bad_crop_size(synthetic: Path, crop_size: object) -> None:
    with pytest.raises(ValueError, match=r"crop_size must be two positive ints \(height, width\)"):
        VOCSegDataset(True, crop_size, synthetic)


def test_dataset_rejects_mismatched_label(tmp_path: Path) -> None:
    image, _ = _coordinate_example(20, 20)
    _, label = _coordinate_example(20, 24)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image], [label])
    dataset = VOCSegDataset(True, (10, 10), voc_dir, verbose=False)
    with pytest.raises(ValueError, match=r"is \(20, 20\) but its label .* is \(20, 24\)"):
        dataset[0]


# --- load_data_voc ------------------------------------------------------------------------------


def test_load_data_voc_batches(synthetic: Path) -> None:
    train_iter, test_iter = load_data_voc(2, (20, 30), synthetic)
    train_batches, test_batches = list(train_iter), list(test_iter)
    assert len(train_batches) == 2  # 5 examples, drop_last
    assert [len(x) for x, _ in test_batches] == [2, 1]  # every validation example kept
    images, labels = train_batches[0]
    assert images.shape == (2, 3, 20, 30) and images.dtype == torch.float32
    assert labels.shape == (2, 20, 30) and labels.dtype == torch.int64


def test_load_data_voc_is_seeded(synthetic: Path) -> None:
    def first_batch(seed: int) -> torch.Tensor:
        return next(iter(load_data_voc(2, (20, 30), synthetic, seed=seed)[0]))[0]

    torch.testing.assert_close(first_batch(0), first_batch(0))
    assert not torch.equal(first_batch(0), first_batch(1))


def test_workers_draw_different_crops(tmp_path: Path) -> None:
    image, label = _coordinate_example(60, 70)
    voc_dir = _write_voc_tree(tmp_path / "VOC2012", [image] * 6, [label] * 6)

    def origins() -> list[tuple[int, int]]:
        train_iter, _ = load_data_voc(1, (10, 10), voc_dir, num_workers=2, seed=4)
        corners = [_unnormalize(x[0])[:, 0, 0] for x, _ in train_iter]
        return [(int(corner[2]), int(corner[1])) for corner in corners]

    first = origins()
    assert first == origins()  # deterministic with workers
    # batches alternate between the two workers; workers sharing one generator state would
    # draw the same sequence of crops, so batch 2k would repeat batch 2k + 1
    assert first[0::2] != first[1::2]


def test_load_data_voc_rejects_bad_batch_size(synthetic: Path) -> None:
    with pytest.raises(ValueError, match=r"batch_size must be a positive int, got 0"):
        load_data_voc(0, (20, 30), synthetic)


# --- label2image ---------------------------------------------------------------------------------


def test_label2image_colours() -> None:
    pred = torch.tensor([[0, 15], [255, 20]])
    out = label2image(pred)
    assert out.dtype == torch.uint8 and out.shape == (2, 2, 3)
    expected = torch.tensor(
        [[[0, 0, 0], [192, 128, 128]], [[224, 224, 192], [0, 64, 128]]], dtype=torch.uint8
    )
    torch.testing.assert_close(out, expected)


def test_label2image_errors() -> None:
    with pytest.raises(TypeError, match=r"integer class indices, got dtype torch.float32.*argmax"):
        label2image(torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"in 0\.\.255, got values from -1 to 3"):
        label2image(torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match=r"got values from 0 to 300"):
        label2image(torch.tensor([0, 300]))


# --- download_voc (no network: the download function is replaced) -------------------------------


class FakeDownloads:
    """Stands in for download_and_extract_archive: fails for the URLs in ``errors``."""

    def __init__(self, errors: dict[str, Exception], extract: bool = True) -> None:
        self.errors, self.extract, self.calls = errors, extract, []

    def __call__(self, url: str, download_root: str, filename: str, md5: str) -> None:
        self.calls.append((url, filename, md5))
        if url in self.errors:
            raise self.errors[url]
        if self.extract:
            make_synthetic_voc(download_root, 1, 1, size=(8, 8))


def test_download_falls_back_to_the_next_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownloads({"http://a/x.tar": urllib.error.URLError("no route to host")})
    monkeypatch.setattr(voc, "download_and_extract_archive", fake)
    voc_dir = download_voc(tmp_path, mirrors=["http://a/x.tar", "http://b/x.tar", "http://c/x.tar"])
    assert voc_dir == tmp_path / "VOCdevkit" / "VOC2012"
    assert [c[0] for c in fake.calls] == ["http://a/x.tar", "http://b/x.tar"]
    expected = ("VOCtrainval_11-May-2012.tar", "6cd6e144f989b92b3379bac3b3de84fd")
    assert all(call[1:] == expected for call in fake.calls)  # md5 always checked


def test_download_checksum_failure_moves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDownloads({"http://a/x.tar": RuntimeError("File not found or corrupted.")})
    monkeypatch.setattr(voc, "download_and_extract_archive", fake)
    assert download_voc(tmp_path, mirrors=["http://a/x.tar", "http://b/x.tar"]).is_dir()
    assert len(fake.calls) == 2


def test_download_all_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    errors = {
        "http://a/x.tar": urllib.error.URLError("timed out"),
        "http://b/x.tar": ConnectionResetError("reset"),
    }
    monkeypatch.setattr(voc, "download_and_extract_archive", FakeDownloads(errors))
    with pytest.raises(RuntimeError) as info:
        download_voc(tmp_path, mirrors=list(errors))
    message = str(info.value)
    assert "http://a/x.tar: URLError" in message and "timed out" in message
    assert "http://b/x.tar: ConnectionResetError: reset" in message
    assert f"{tmp_path}/VOCdevkit/VOC2012/JPEGImages" in message
    assert "6cd6e144f989b92b3379bac3b3de84fd" in message and "make_synthetic_voc" in message


def test_download_extracted_but_incomplete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(voc, "download_and_extract_archive", FakeDownloads({}, extract=False))
    with pytest.raises(RuntimeError, match=r"http://a/x.tar: extracted, but .*VOC2012 is still"):
        download_voc(tmp_path, mirrors=["http://a/x.tar"])


def test_download_skipped_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDownloads({})
    monkeypatch.setattr(voc, "download_and_extract_archive", fake)
    make_synthetic_voc(tmp_path, 1, 1, size=(8, 8))
    assert download_voc(tmp_path) == tmp_path / "VOCdevkit" / "VOC2012"
    assert fake.calls == []


def test_download_rejects_no_mirrors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mirrors must list at least one URL"):
        download_voc(tmp_path, mirrors=[])


def test_default_mirrors_start_with_the_official_host() -> None:
    assert voc.VOC2012_MIRRORS[0].startswith("http://host.robots.ox.ac.uk/")
    assert len(voc.VOC2012_MIRRORS) >= 2
    assert all(url.endswith("/VOCtrainval_11-May-2012.tar") for url in voc.VOC2012_MIRRORS)
