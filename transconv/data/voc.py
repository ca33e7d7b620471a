"""Pascal VOC 2012 segmentation, all in one import (the names ``transconv.data.voc`` has had).

The code lives in one module per concept; this module re-exports their names so that every
``from transconv.data.voc import X`` keeps working:

* [`transconv.data.layout`][transconv.data.layout]: where each file of a VOC tree lives;
* [`transconv.data.images`][transconv.data.images]: reading and normalising photographs;
* [`transconv.data.labels`][transconv.data.labels]: classes, colours, label PNGs read and
  written;
* [`transconv.data.dataset`][transconv.data.dataset]: the cropping ``Dataset``;
* [`transconv.data.loaders`][transconv.data.loaders]: the loaders;
* [`transconv.data.download`][transconv.data.download]: fetching the real data.
"""

from transconv.data.dataset import VOCSegDataset, read_voc_images
from transconv.data.download import VOC2012_FILENAME, VOC2012_MD5, VOC2012_MIRRORS, download_voc
from transconv.data.images import IMAGENET_MEAN, IMAGENET_STD, normalize_image, read_rgb
from transconv.data.labels import (
    IGNORE_INDEX,
    VOC_CLASSES,
    VOC_COLORMAP,
    label2image,
    read_voc_label,
    voc_colormap2label,
    voc_label_indices,
    voc_palette,
)
from transconv.data.loaders import load_data_voc

__all__ = [
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VOC2012_FILENAME",
    "VOC2012_MD5",
    "VOC2012_MIRRORS",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "VOCSegDataset",
    "download_voc",
    "label2image",
    "load_data_voc",
    "normalize_image",
    "read_rgb",
    "read_voc_images",
    "read_voc_label",
    "voc_colormap2label",
    "voc_label_indices",
    "voc_palette",
]
