"""Tests for transconv.data.voc: every name it has had still imports, and is the one object."""

from __future__ import annotations

import importlib

import pytest

import transconv.data
import transconv.data.voc as voc

# the names transconv.data.voc exported before it was split into one module per concept
NAMES_BEFORE_THE_SPLIT = {
    "IGNORE_INDEX": "labels",
    "IMAGENET_MEAN": "images",
    "IMAGENET_STD": "images",
    "VOC2012_FILENAME": "download",
    "VOC2012_MD5": "download",
    "VOC2012_MIRRORS": "download",
    "VOC_CLASSES": "labels",
    "VOC_COLORMAP": "labels",
    "VOCSegDataset": "dataset",
    "download_voc": "download",
    "label2image": "labels",
    "load_data_voc": "loaders",
    "normalize_image": "images",
    "read_rgb": "images",
    "read_voc_images": "dataset",
    "read_voc_label": "labels",
    "voc_colormap2label": "labels",
    "voc_label_indices": "labels",
    "voc_palette": "labels",
}


@pytest.mark.parametrize(("name", "module"), sorted(NAMES_BEFORE_THE_SPLIT.items()))
def test_old_names_are_the_new_objects(name: str, module: str) -> None:
    home = importlib.import_module(f"transconv.data.{module}")
    assert getattr(voc, name) is getattr(home, name)
    assert name in home.__all__


def test_voc_all_lists_the_old_names() -> None:
    assert set(NAMES_BEFORE_THE_SPLIT) == set(voc.__all__)


def test_package_names_resolve() -> None:
    for name in transconv.data.__all__:
        assert getattr(transconv.data, name) is not None
    for name in set(NAMES_BEFORE_THE_SPLIT) - {"VOC2012_FILENAME"}:
        assert getattr(transconv.data, name) is getattr(voc, name)
