"""Tests for transconv.data.synthetic: VOC layout, torchvision reads it, labels, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import VOCSegmentation

from transconv.data import synthetic
from transconv.data.synthetic import (
    SYNTHETIC_CLASSES,
    SYNTHETIC_MARKER,
    make_synthetic_voc,
    synthetic_params,
)

SIZE = (48, 64)


@pytest.fixture(scope="module")
def voc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_voc(tmp_path_factory.mktemp("syn"), 4, 2, size=SIZE, seed=1)


def _labels(voc_dir: Path) -> list[np.ndarray]:
    pngs = sorted((voc_dir / "SegmentationClass").glob("*.png"))
    return [np.asarray(Image.open(p)) for p in pngs]


def test_layout_and_names(voc_dir: Path) -> None:
    assert voc_dir.parts[-2:] == ("VOCdevkit", "VOC2012")
    splits = voc_dir / "ImageSets" / "Segmentation"
    train = (splits / "train.txt").read_text().split()
    val = (splits / "val.txt").read_text().split()
    assert train == ["2007_000001", "2007_000002", "2007_000003", "2007_000004"]
    assert val == ["2007_000005", "2007_000006"]
    assert (splits / "trainval.txt").read_text().split() == train + val
    for name in train + val:
        assert (voc_dir / "JPEGImages" / f"{name}.jpg").is_file()
        assert (voc_dir / "SegmentationClass" / f"{name}.png").is_file()


@pytest.mark.parametrize(("image_set", "count"), [("train", 4), ("val", 2), ("trainval", 6)])
def test_torchvision_reads_the_tree(voc_dir: Path, image_set: str, count: int) -> None:
    dataset = VOCSegmentation(voc_dir.parent.parent, year="2012", image_set=image_set)
    assert len(dataset) == count
    image, target = dataset[count - 1]
    assert image.mode == "RGB" and target.mode == "P"
    assert image.size == target.size == (SIZE[1], SIZE[0])
    assert set(np.unique(np.asarray(target)).tolist()) <= {0, *SYNTHETIC_CLASSES, 255}


def test_images_are_jpeg_and_labels_carry_the_voc_palette(voc_dir: Path) -> None:
    with Image.open(voc_dir / "JPEGImages" / "2007_000001.jpg") as image:
        assert image.format == "JPEG"
    with Image.open(voc_dir / "SegmentationClass" / "2007_000001.png") as label:
        palette = label.getpalette()
    assert palette[3:6] == [128, 0, 0] and palette[15 * 3 : 16 * 3] == [192, 128, 128]
    assert palette[255 * 3 : 256 * 3] == [224, 224, 192]


def test_every_class_change_passes_through_the_boundary(voc_dir: Path) -> None:
    for label in _labels(voc_dir):
        for a, b in ((label[1:], label[:-1]), (label[:, 1:], label[:, :-1])):
            differ = (a != b) & (a != 255) & (b != 255)
            assert not differ.any()  # two classes never touch: a 255 band lies between them
        assert (label == 255).any() and (label == 0).any()


def _runs_between_classes(label: np.ndarray) -> list[int]:
    """Lengths of the runs of 255 along rows that separate two different classes."""
    runs = []
    for row in label:
        start = None
        for x, value in enumerate(row):
            if value == 255 and start is None:
                start = x
            elif value != 255 and start is not None:
                if start > 0 and row[start - 1] != value:
                    runs.append(x - start)
                start = None
    return runs


@pytest.mark.parametrize("boundary", [1, 2, 3])
def test_boundary_band_width(tmp_path: Path, boundary: int) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 4, 0, size=(64, 96), boundary=boundary, seed=2)
    runs = [r for label in _labels(voc_dir) for r in _runs_between_classes(label)]
    assert len(runs) > 20 and min(runs) == 2 * boundary  # a band 2 * boundary wide, crossed


def test_no_boundary_when_asked(tmp_path: Path) -> None:
    labels = _labels(make_synthetic_voc(tmp_path, 3, 0, size=SIZE, boundary=0))
    assert not any((label == 255).any() for label in labels)
    assert any(((label > 0) & (label < 255)).any() for label in labels)


@pytest.mark.parametrize("cls", sorted(SYNTHETIC_CLASSES))
def test_classes_option(tmp_path: Path, cls: int) -> None:
    labels = _labels(make_synthetic_voc(tmp_path, 2, 0, size=SIZE, classes=[cls]))
    values = set(np.unique(np.stack(labels)).tolist())
    assert cls in values and values <= {0, cls, 255}


def test_colours_vary_within_a_class(tmp_path: Path) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 6, 0, size=(96, 128), classes=[15], max_objects=1)
    means = []
    for name in (voc_dir / "ImageSets/Segmentation/train.txt").read_text().split():
        image = np.asarray(Image.open(voc_dir / "JPEGImages" / f"{name}.jpg"), dtype=float)
        label = np.asarray(Image.open(voc_dir / "SegmentationClass" / f"{name}.png"))
        if (label == 15).sum() > 20:
            means.append(image[label == 15].mean(axis=0))
    assert len(means) >= 3
    spread = np.ptp(np.stack(means), axis=0)
    assert spread.max() > 60  # colour alone does not identify class 15


def test_deterministic_given_seed(tmp_path: Path) -> None:
    def files(seed: int, sub: str) -> list[bytes]:
        voc_dir = make_synthetic_voc(tmp_path / sub, 2, 1, size=SIZE, seed=seed)
        paths = sorted(voc_dir.rglob("*.*"))
        return [p.read_bytes() for p in paths]

    assert files(7, "a") == files(7, "b")
    assert files(7, "a") != files(8, "c")


def test_sizes_cycle_per_split(tmp_path: Path) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 3, 2, sizes=[(40, 60), (20, 30)])
    found = []
    for n in range(1, 6):
        with Image.open(voc_dir / "JPEGImages" / f"2007_{n:06d}.jpg") as image:
            found.append(image.size[::-1])
    assert found == [(40, 60), (20, 30), (40, 60), (40, 60), (20, 30)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_train": -1}, r"num_train must be an int >= 0, got -1"),
        ({"size": (0, 10)}, r"size must have entries >= 4, got \(0, 10\); pass e.g. size="),
        ({"sizes": [(8, 8), (8,)]}, r"each of sizes must be an int or a pair .* got \(8,\)"),
        ({"sizes": []}, r"sizes must list at least one"),
        ({"classes": [1, 8]}, r"synthetic classes 3 \(bird\), 7 \(car\).*got \[1, 8\]"),
        ({"classes": []}, r"non-empty subset"),
        ({"max_objects": 0}, r"max_objects must be an int >= 1, got 0"),
        ({"boundary": -1}, r"boundary must be an int >= 0, got -1"),
    ],
)
def test_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"num_train": 1, "num_val": 1, "size": (8, 8)} | kwargs
    with pytest.raises(ValueError, match=message):
        make_synthetic_voc(tmp_path, **args)
    assert not any(tmp_path.iterdir())  # nothing written before the arguments are checked


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_val": 1.5}, r"num_val must be an int, got 1.5"),
        ({"max_objects": "3"}, r"max_objects must be an int, got '3'"),
        ({"seed": 0.5}, r"seed must be an int, got 0.5"),
    ],
)
def test_type_errors(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {"num_train": 1, "num_val": 1, "size": (8, 8)} | kwargs
    with pytest.raises(TypeError, match=message):
        make_synthetic_voc(tmp_path, **args)


def test_refuses_a_folder_it_did_not_make(tmp_path: Path) -> None:
    # bug 2: the generator wrote over whatever the folder held, e.g. a real VOC tree
    real = tmp_path / "VOCdevkit" / "VOC2012" / "JPEGImages" / "2007_000001.jpg"
    real.parent.mkdir(parents=True)
    real.write_bytes(b"a user's photograph")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(
        ValueError,
        match=r"root must be an empty folder or one make_synthetic_voc "
        r"made \(it holds \.transconv-synthetic\.json\), got .* holding "
        r"VOCdevkit, notes\.txt; .*pass a new or empty folder",
    ):
        make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    assert real.read_bytes() == b"a user's photograph"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["VOCdevkit", "notes.txt"]


def test_refuses_a_file_as_root(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"root must be a folder, got the file"):
        make_synthetic_voc(tmp_path / "file", 1, 1, size=(8, 8))


def test_marks_its_folder_and_may_regenerate_it(tmp_path: Path) -> None:
    root = tmp_path / "new" / "data"
    voc_dir = make_synthetic_voc(root, 2, 1, size=(8, 8), seed=4)
    marker = json.loads((root / SYNTHETIC_MARKER).read_text())
    assert marker.pop("version") == 2  # markers before version 2 came before the data
    assert (
        marker
        == synthetic_params(root)
        == {
            "num_train": 2,
            "num_val": 1,
            "sizes": [[8, 8]],
            "seed": 4,
            "classes": sorted(SYNTHETIC_CLASSES),
            "max_objects": 3,
            "boundary": 2,
        }
    )
    (root / "transconv-synthetic.json").write_text("{}")  # e.g. the CLI's own notes
    again = make_synthetic_voc(root, 3, 1, size=(8, 8), seed=5)
    assert again == voc_dir
    assert (voc_dir / "ImageSets/Segmentation/train.txt").read_text().split() == [
        "2007_000001",
        "2007_000002",
        "2007_000003",
    ]
    assert json.loads((root / SYNTHETIC_MARKER).read_text())["seed"] == 5


def test_progress_bar_counts_every_example(tmp_path, capsys) -> None:
    make_synthetic_voc(tmp_path, num_train=3, num_val=2, size=(32, 48), progress=True)
    err = capsys.readouterr().err
    assert "synthetic VOC" in err and "5/5" in err


def test_no_progress_bar_by_default(tmp_path, capsys) -> None:
    make_synthetic_voc(tmp_path, num_train=1, num_val=1, size=(32, 48))
    assert "synthetic VOC" not in capsys.readouterr().err


def _image_sizes(voc_dir: Path) -> set[tuple[int, int]]:
    return {Image.open(p).size[::-1] for p in (voc_dir / "JPEGImages").glob("*.jpg")}


def _interrupt_after(monkeypatch, count: int, error: BaseException) -> None:
    """Make the ``count + 1``-th example written raise ``error`` (Ctrl-C, a full disk)."""
    write, calls = synthetic._write_example, []

    def failing(*args) -> None:
        calls.append(1)
        if len(calls) > count:
            raise error
        write(*args)

    monkeypatch.setattr(synthetic, "_write_example", failing)


@pytest.mark.parametrize(
    "error", [KeyboardInterrupt(), OSError(28, "No space left on device")], ids=["ctrl-c", "full"]
)
def test_interrupted_regeneration_leaves_the_previous_tree_whole(
    tmp_path: Path, monkeypatch, error: BaseException
) -> None:
    # issue 16, serious 3: the marker was written first, so an interrupted regeneration left
    # old and new images side by side under a marker with the new settings
    voc_dir = make_synthetic_voc(tmp_path, 4, 2, size=(16, 24), seed=1)
    _interrupt_after(monkeypatch, 3, error)
    with pytest.raises(type(error)) as info:
        make_synthetic_voc(tmp_path, 4, 2, size=(8, 12), seed=1)
    if isinstance(error, OSError):
        assert str(tmp_path) in str(info.value) and "untouched" in str(info.value)
    assert synthetic_params(tmp_path)["sizes"] == [[16, 24]]
    assert _image_sizes(voc_dir) == {(16, 24)}
    assert sorted(p.name for p in tmp_path.iterdir()) == [SYNTHETIC_MARKER, "VOCdevkit"]
    monkeypatch.undo()
    assert make_synthetic_voc(tmp_path, 4, 2, size=(8, 12), seed=1, reuse=True) == voc_dir
    assert synthetic_params(tmp_path)["sizes"] == [[8, 12]]
    assert _image_sizes(voc_dir) == {(8, 12)}


def test_interrupted_first_generation_leaves_nothing_to_trust(tmp_path, monkeypatch) -> None:
    # issue 16, serious 3: every later run failed "split file ... not found", --overwrite too
    _interrupt_after(monkeypatch, 2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_voc(tmp_path / "data", 3, 1, size=(8, 8))
    assert synthetic_params(tmp_path / "data") is None
    assert list((tmp_path / "data").iterdir()) == []
    monkeypatch.undo()
    voc_dir = make_synthetic_voc(tmp_path / "data", 3, 1, size=(8, 8), reuse=True)
    assert len(list((voc_dir / "JPEGImages").glob("*.jpg"))) == 4


@pytest.mark.parametrize("stage", ["generating", "renaming"])
def test_a_killed_generation_is_regenerated(tmp_path: Path, stage: str) -> None:
    # a kill -9 runs no clean-up: what it leaves is recognised as ours, and never trusted
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8), seed=0)
    partial = tmp_path / ".transconv-synthetic.partial"
    (partial / "VOCdevkit").mkdir(parents=True)
    if stage == "renaming":  # killed between the marker's removal and its return
        (tmp_path / SYNTHETIC_MARKER).unlink()
        (voc_dir / "JPEGImages" / "2007_000001.jpg").unlink()
        assert synthetic_params(tmp_path) is None
    again = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8), seed=0, reuse=True)
    assert (again / "JPEGImages" / "2007_000001.jpg").is_file()
    assert synthetic_params(tmp_path)["seed"] == 0 and not partial.exists()


def test_a_marker_written_before_the_data_is_not_trusted(tmp_path: Path) -> None:
    # older versions wrote the marker first: such a tree may be half made, so it is remade
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    marker = tmp_path / SYNTHETIC_MARKER
    legacy = json.loads(marker.read_text())
    del legacy["version"]
    marker.write_text(json.dumps(legacy))
    (voc_dir / "JPEGImages" / "2007_000002.jpg").unlink()
    assert synthetic_params(tmp_path) is None
    make_synthetic_voc(tmp_path, 2, 1, size=(8, 8), reuse=True)
    assert (voc_dir / "JPEGImages" / "2007_000002.jpg").is_file()


def test_reuse_keeps_a_complete_tree_with_the_same_parameters(tmp_path: Path) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    (voc_dir / "kept.txt").write_text("a file that regenerating would remove")
    assert make_synthetic_voc(tmp_path, 2, 1, size=(8, 8), reuse=True) == voc_dir
    assert (voc_dir / "kept.txt").exists()
    make_synthetic_voc(tmp_path, 2, 1, size=(8, 8), seed=1, reuse=True)
    assert not (voc_dir / "kept.txt").exists()
