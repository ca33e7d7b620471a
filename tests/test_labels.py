"""Tests for transconv.data.labels: colours, palette, label PNGs read and written, all-255 data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from transconv.data.images import ImageReadError, read_rgb
from transconv.data.labels import (
    IGNORE_INDEX,
    VOC_CLASSES,
    VOC_COLORMAP,
    check_scorable_labels,
    label2image,
    read_voc_label,
    voc_colormap2label,
    voc_label_indices,
    voc_palette,
    write_voc_label,
)
from transconv.data.synthetic import make_synthetic_voc

BOUNDARY_RGB = (224, 224, 192)


@pytest.fixture(scope="module")
def table() -> torch.Tensor:
    return voc_colormap2label()


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
    with pytest.raises(TypeError, match=r"^colormap must be a uint8 RGB image tensor, got dtype"):
        voc_label_indices(torch.zeros(3, 2, 2), table)
    with pytest.raises(ValueError, match=r"^colormap must have shape \(3, H, W\), got \(4, 2, 2\)"):
        voc_label_indices(torch.zeros(4, 2, 2, dtype=torch.uint8), table)


def test_label_indices_rejects_bad_table() -> None:
    with pytest.raises(ValueError, match=r"length 256\*\*3 = 16777216, got shape \(10,\)"):
        voc_label_indices(torch.zeros(3, 2, 2, dtype=torch.uint8), torch.zeros(10))


# --- read_voc_label ------------------------------------------------------------------------------


def test_palette_path_equals_rgb_path_on_synthetic(tmp_path: Path, table: torch.Tensor) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 4, 2, size=(48, 64), seed=3)
    pngs = sorted((voc_dir / "SegmentationClass").glob("*.png"))
    seen = set()
    for png in pngs:
        fast = read_voc_label(png)
        torch.testing.assert_close(fast, voc_label_indices(read_rgb(png), table))
        seen |= set(fast.unique().tolist())
    assert IGNORE_INDEX in seen and 0 in seen and len(seen) >= 3


def test_palette_path_checks_the_palette(tmp_path: Path, table: torch.Tensor) -> None:
    # every index used is coloured as a VOC class, here index 1 in class 15's colour: the
    # labels follow the colours, as the RGB path does
    palette = [0, 0, 0, *VOC_COLORMAP[15]] + [0] * (256 * 3 - 6)
    palette[-3:] = BOUNDARY_RGB
    png = Image.fromarray(np.array([[0, 1, 255]], dtype=np.uint8))
    png.putpalette(palette)
    png.save(tmp_path / "odd.png")
    expected = torch.tensor([[0, 15, 255]])
    torch.testing.assert_close(read_voc_label(tmp_path / "odd.png"), expected)
    torch.testing.assert_close(voc_label_indices(read_rgb(tmp_path / "odd.png"), table), expected)


def _grey_palette_png(path: Path, indices: list[int]) -> Path:
    png = Image.fromarray(np.array([indices], dtype=np.uint8))
    png.putpalette([v for i in range(256) for v in (i, i, i)])
    png.save(path)
    return path


def test_palette_labels_with_another_palette_are_class_indices(tmp_path: Path) -> None:
    # issue 16, serious 7: saved with a grey palette, classes 3 and 15 read as 255 (ignored)
    # and training scored background only, reporting *better* scores
    path = _grey_palette_png(tmp_path / "grey.png", [0, 3, 15, 255])
    assert read_voc_label(path).tolist() == [[0, 3, 15, 255]]
    assert read_voc_label(_grey_palette_png(tmp_path / "g.png", [30]), num_classes=31).tolist() == [
        [30]
    ]


def test_palette_labels_that_are_no_class_indices_are_refused(tmp_path: Path) -> None:
    path = _grey_palette_png(tmp_path / "grey.png", [0, 3, 40, 200])
    with pytest.raises(
        ValueError,
        match=r"^label PNG .*grey\.png must use VOC's palette or hold class indices 0\.\.20 or "
        r"255 \(ignore\), got palette indices \[40, 200\] coloured \[\(40, 40, 40\), "
        r"\(200, 200, 200\)\]; map its values to class indices and save it with write_voc_label",
    ):
        read_voc_label(path)


def test_palette_labels_whose_colours_contradict_their_indices_are_refused(tmp_path) -> None:
    # index 1 painted in class 15's colour, index 2 in a colour of no class: neither the
    # colours nor the indices can be trusted, so nothing is guessed
    palette = [0, 0, 0, *VOC_COLORMAP[15], 9, 9, 9] + [0] * (256 * 3 - 9)
    png = Image.fromarray(np.array([[0, 1, 2]], dtype=np.uint8))
    png.putpalette(palette)
    png.save(tmp_path / "odd.png")
    with pytest.raises(
        ValueError, match=r"got palette indices \[1\] coloured \[\(192, 128, 128\)\]"
    ):
        read_voc_label(tmp_path / "odd.png")


def test_short_palette_reads_the_boundary_as_ignore(tmp_path: Path) -> None:
    # bug 7: a palette of fewer than 256 entries read index 255 (the boundary) as class 0
    png = Image.fromarray(np.array([[0, 1, 255, 20]], dtype=np.uint8))
    png.putpalette([c for colour in VOC_COLORMAP for c in colour])  # the 21 class colours only
    png.save(tmp_path / "short.png")
    with Image.open(tmp_path / "short.png") as check:
        assert len(check.getpalette()) == 21 * 3  # the file really has a short palette
        assert np.asarray(check).tolist() == [[0, 1, 255, 20]]
    expected = torch.tensor([[0, 1, 255, 20]])
    torch.testing.assert_close(read_voc_label(tmp_path / "short.png"), expected)
    # index 30 has no colour and is no class: refused, never read as 255 in silence
    png = Image.fromarray(np.array([[0, 30]], dtype=np.uint8))
    png.putpalette([c for colour in VOC_COLORMAP for c in colour])
    png.save(tmp_path / "short.png")
    with pytest.raises(ValueError, match=r"got palette indices \[30\] coloured \['none'\]"):
        read_voc_label(tmp_path / "short.png")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_grey_level_labels_are_class_indices(tmp_path: Path, dtype: type) -> None:
    # bug 7: L and I;16 labels of class indices all became 255 (or 0) through the RGB path
    indices = np.array([[0, 1, 15], [20, 255, 3]], dtype=dtype)
    Image.fromarray(indices).save(tmp_path / "grey.png")
    with Image.open(tmp_path / "grey.png") as check:
        assert check.mode == ("L" if dtype == np.uint8 else "I;16")
    torch.testing.assert_close(
        read_voc_label(tmp_path / "grey.png"), torch.from_numpy(indices.astype(np.int64))
    )


@pytest.mark.parametrize(("value", "dtype"), [(21, np.uint8), (300, np.uint16), (128, np.uint8)])
def test_grey_level_labels_out_of_range_are_refused(tmp_path: Path, value: int, dtype) -> None:
    Image.fromarray(np.array([[0, value]], dtype=dtype)).save(tmp_path / "bad.png")
    with pytest.raises(
        ValueError,
        match=rf"bad\.png must hold class indices in \[0, 20\] or 255 "
        rf"\(ignore\), got values from 0 to {value}; .*write_voc_label",
    ):
        read_voc_label(tmp_path / "bad.png")


def test_grey_level_labels_take_num_classes(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0, 30]], dtype=np.uint8)).save(tmp_path / "many.png")
    assert read_voc_label(tmp_path / "many.png", num_classes=31).tolist() == [[0, 30]]


def test_read_voc_label_reads_rgb_labels(tmp_path: Path, table: torch.Tensor) -> None:
    rgb = np.array([[VOC_COLORMAP[3], BOUNDARY_RGB, VOC_COLORMAP[0]]], dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    expected = torch.tensor([[3, 255, 0]])
    torch.testing.assert_close(read_voc_label(tmp_path / "rgb.png"), expected)
    torch.testing.assert_close(read_voc_label(tmp_path / "rgb.png", colormap2label=table), expected)


def test_read_voc_label_refuses_other_modes(tmp_path: Path) -> None:
    Image.fromarray(np.array([[0.0, 1.0]], dtype=np.float32)).save(tmp_path / "f.tiff")
    with pytest.raises(ImageReadError, match=r"label PNG .*f\.tiff: mode F is none of palette"):
        read_voc_label(tmp_path / "f.tiff")


def test_read_voc_label_names_missing_and_damaged_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"label PNG .*nothing\.png not found"):
        read_voc_label(tmp_path / "nothing.png")
    (tmp_path / "junk.png").write_bytes(b"junk")
    with pytest.raises(ImageReadError, match=r"cannot decode label PNG .*junk\.png: not a JPEG"):
        read_voc_label(tmp_path / "junk.png")


# --- write_voc_label -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tensor", "numpy"])
def test_write_then_read_round_trips(tmp_path: Path, kind: str) -> None:
    label = torch.randint(0, 21, (9, 13), generator=torch.Generator().manual_seed(0))
    label[::3] = IGNORE_INDEX
    data = label if kind == "tensor" else label.numpy().astype(np.int32)
    write_voc_label(tmp_path / "l.png", data)
    torch.testing.assert_close(read_voc_label(tmp_path / "l.png"), label)
    with Image.open(tmp_path / "l.png") as png:
        assert png.mode == "P" and png.getpalette()[: 21 * 3] == [
            c for colour in VOC_COLORMAP for c in colour
        ]


def test_write_voc_label_errors(tmp_path: Path) -> None:
    with pytest.raises(
        TypeError, match=r"^label must hold integer class indices, got dtype torch.float"
    ):
        write_voc_label(tmp_path / "l.png", torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"label must have shape \(H, W\), got \(1, 2, 2\)"):
        write_voc_label(tmp_path / "l.png", np.zeros((1, 2, 2), dtype=np.uint8))
    with pytest.raises(
        ValueError, match=r"^label must hold class indices in \[0, 255\], got values from -1 to 256"
    ):
        write_voc_label(tmp_path / "l.png", np.array([[-1, 256]]))
    assert not (tmp_path / "l.png").exists()


# --- check_scorable_labels -----------------------------------------------------------------------


def test_check_scorable_labels() -> None:
    check_scorable_labels([torch.full((2, 2), 255), torch.tensor([[255, 0]])], "train")
    with pytest.raises(
        ValueError,
        match=r"the val split must have at least one pixel that is "
        r"not 255 \(ignore\), got 2 labels with 8 pixels, all 255; fix",
    ):
        check_scorable_labels([torch.full((2, 2), 255, dtype=torch.uint8)] * 2, "the val split")
    with pytest.raises(ValueError, match=r"got 0 labels"):
        check_scorable_labels([], "nothing")


def test_check_scorable_labels_stops_at_the_first_scorable_label() -> None:
    read = []

    def labels():
        for k in range(5):
            read.append(k)
            yield torch.tensor([[k]])

    check_scorable_labels(labels(), "train")
    assert read == [0]


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
    with pytest.raises(
        ValueError, match=r"^pred must hold class indices in \[0, 255\], got values from -1 to 3"
    ):
        label2image(torch.tensor([-1, 3]))
    with pytest.raises(ValueError, match=r"got values from 0 to 300"):
        label2image(torch.tensor([0, 300]))
