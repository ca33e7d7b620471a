"""Pascal VOC 2012 segmentation data (:mod:`transconv.data.voc`), an offline synthetic
stand-in in the same layout (:mod:`transconv.data.synthetic`), and a loader that keeps the
decoded data on the GPU (:mod:`transconv.data.gpu`)."""

from transconv.data.gpu import DeviceSegLoader
from transconv.data.synthetic import SYNTHETIC_CLASSES, make_synthetic_voc
from transconv.data.voc import (
    IGNORE_INDEX,
    IMAGENET_MEAN,
    IMAGENET_STD,
    VOC2012_MD5,
    VOC2012_MIRRORS,
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

__all__ = [
    "DeviceSegLoader",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SYNTHETIC_CLASSES",
    "VOC2012_MD5",
    "VOC2012_MIRRORS",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "VOCSegDataset",
    "download_voc",
    "label2image",
    "load_data_voc",
    "make_synthetic_voc",
    "normalize_image",
    "read_rgb",
    "read_voc_images",
    "read_voc_label",
    "voc_colormap2label",
    "voc_label_indices",
    "voc_palette",
]
