"""Tests for transconv.data.layout: where files live, split lists, names that escape the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from transconv.data import read_voc_images
from transconv.data.layout import (
    SPLITS,
    check_voc_tree,
    image_file,
    is_voc_tree,
    label_file,
    list_examples,
    list_names,
    resolve_voc_dir,
    split_file,
    voc_dir_in,
)
from transconv.data.synthetic import make_synthetic_voc


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_synthetic_voc(tmp_path_factory.mktemp("layout"), 3, 2, size=(8, 8))


def _empty_tree(voc_dir: Path, listing: str, split: str = "train") -> Path:
    """Folders of a VOC tree and one split list holding ``listing``."""
    for folder in (image_file(voc_dir, "x").parent, label_file(voc_dir, "x").parent):
        folder.mkdir(parents=True, exist_ok=True)
    split_file(voc_dir, split).parent.mkdir(parents=True, exist_ok=True)
    split_file(voc_dir, split).write_text(listing)
    return voc_dir


def test_paths_spell_the_voc_layout() -> None:
    voc = Path("VOC2012")
    assert voc_dir_in("data") == Path("data/VOCdevkit/VOC2012")
    assert split_file(voc, "trainval") == voc / "ImageSets" / "Segmentation" / "trainval.txt"
    assert image_file(voc, "2007_000032") == voc / "JPEGImages" / "2007_000032.jpg"
    assert label_file(voc, "2007_000032") == voc / "SegmentationClass" / "2007_000032.png"
    assert SPLITS == ("train", "val", "trainval")


def test_split_file_rejects_unknown_split() -> None:
    with pytest.raises(ValueError, match=r"split must be one of .*got 'test'; pass e.g. split="):
        split_file("VOC2012", "test")


def test_list_examples_pairs_images_with_labels(synthetic: Path) -> None:
    pairs = list_examples(synthetic, "val")
    assert [(i.name, lab.name) for i, lab in pairs] == [
        ("2007_000004.jpg", "2007_000004.png"),
        ("2007_000005.jpg", "2007_000005.png"),
    ]
    assert all(i.parent.name == "JPEGImages" for i, _ in pairs)
    assert list_names(synthetic, "trainval") == [f"2007_{n:06d}" for n in range(1, 6)]


def test_is_voc_tree_and_resolve(synthetic: Path, tmp_path: Path) -> None:
    assert is_voc_tree(synthetic) and not is_voc_tree(tmp_path)
    root = synthetic.parent.parent
    assert resolve_voc_dir(root) == synthetic and resolve_voc_dir(synthetic) == synthetic
    with pytest.raises(FileNotFoundError, match=r"JPEGImages not found"):
        resolve_voc_dir(tmp_path)


def test_missing_tree_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"JPEGImages not found.*VOCdevkit/VOC2012.*"
                       r"download_voc.*make_synthetic_voc"):  # fmt: skip
        check_voc_tree(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"JPEGImages not found"):
        read_voc_images(tmp_path / "nowhere")


def test_hints_at_the_nested_tree(synthetic: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"did you mean voc_dir=.*VOCdevkit/VOC2012\?"):
        list_examples(synthetic.parent.parent, "train")


def test_missing_split_or_listed_file(tmp_path: Path) -> None:
    voc_dir = _empty_tree(tmp_path / "VOC2012", "2007_000000\n")
    with pytest.raises(FileNotFoundError, match=r"split file .*val\.txt not found"):
        list_examples(voc_dir, "val")
    with pytest.raises(FileNotFoundError, match=r"2007_000000\.jpg not found, but train\.txt"):
        list_examples(voc_dir, "train")


def test_blank_lines_and_spaces_are_skipped(tmp_path: Path) -> None:
    voc_dir = _empty_tree(tmp_path / "VOC2012", "\n  a  \n\nb\n")
    assert list_names(voc_dir, "train") == ["a", "b"]


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd", "..", "sub/2007_000001", "/etc/passwd", "a\\..\\b", "C:evil", "x/../y"],
)
def test_names_that_leave_the_tree_are_refused(tmp_path: Path, name: str) -> None:
    # bug 8: a listed name with '..', a separator or an absolute path read files outside the tree
    voc_dir = _empty_tree(tmp_path / "VOC2012", f"2007_000001\n{name}\n", split="val")
    with pytest.raises(ValueError, match=r"val\.txt, line 2: an example name must be") as info:
        list_examples(voc_dir, "val")
    assert str(split_file(voc_dir, "val")) in str(info.value)
    assert f"got {name!r}" in str(info.value)


def _listing(voc_dir: Path, split: str, data: bytes) -> Path:
    listing = voc_dir / "ImageSets" / "Segmentation" / f"{split}.txt"
    listing.write_bytes(data)
    return listing


def test_a_byte_order_mark_is_no_part_of_a_name(tmp_path: Path) -> None:
    # issue 16: "JPEGImages/\ufeff2007_000001.jpg not found" after saving the list in Notepad
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    _listing(voc_dir, "train", "\ufeff2007_000001\r\n2007_000002\r\n".encode())
    assert list_names(voc_dir, "train") == ["2007_000001", "2007_000002"]


def test_a_split_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    # issue 16: a codec error with no file name
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    _listing(voc_dir, "train", b"2007_000001\n2007_00000\xe9\n")
    with pytest.raises(
        ValueError,
        match=r"^.*train\.txt, line 2: a split file must be UTF-8 text, got the byte b'\\xe9'; "
        r"save it as UTF-8",
    ):
        list_names(voc_dir, "train")


def test_an_empty_split_says_it_is_empty(tmp_path: Path) -> None:
    # issue 16: an empty val.txt ended in "use a smaller --crop"
    voc_dir = make_synthetic_voc(tmp_path, 2, 1, size=(8, 8))
    _listing(voc_dir, "val", b"\n  \n")
    with pytest.raises(
        ValueError, match=r"^.*val\.txt must list at least one example, got an empty file; list"
    ):
        list_examples(voc_dir, "val")
