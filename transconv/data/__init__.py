"""Pascal VOC 2012 segmentation data, an offline synthetic stand-in, and a GPU-resident loader.

One module per concept, each with its page section below:

* [`layout`][transconv.data.layout]: where each file of a VOC tree lives;
* [`images`][transconv.data.images]: reading photographs, ImageNet normalisation;
* [`labels`][transconv.data.labels]: the 21 classes, colours, label PNGs read and written;
* [`crops`][transconv.data.crops]: seeds of random crops;
* [`dataset`][transconv.data.dataset]: the cropping ``Dataset``;
* [`loaders`][transconv.data.loaders]: batches for training and evaluation (d2l's too);
* [`download`][transconv.data.download]: fetching the real data;
* [`synthetic`][transconv.data.synthetic]: a small dataset in VOC's layout, made offline;
* [`gpu`][transconv.data.gpu]: decoded data kept on the device, batches made there.

([`voc`][transconv.data.voc] re-exports the names it has always had.)
"""

from transconv.data.dataset import VOCSegDataset, collate_normalize, read_voc_images
from transconv.data.download import VOC2012_MD5, VOC2012_MIRRORS, download_voc
from transconv.data.gpu import DeviceSegLoader
from transconv.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageReadError,
    normalize_image,
    read_rgb,
)
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
from transconv.data.layout import list_examples, resolve_voc_dir
from transconv.data.loaders import load_data_voc, make_loaders, set_loader_epoch
from transconv.data.synthetic import SYNTHETIC_CLASSES, make_synthetic_voc

__all__ = [
    "DeviceSegLoader",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageReadError",
    "SYNTHETIC_CLASSES",
    "VOC2012_MD5",
    "VOC2012_MIRRORS",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "VOCSegDataset",
    "check_scorable_labels",
    "collate_normalize",
    "download_voc",
    "label2image",
    "list_examples",
    "load_data_voc",
    "make_loaders",
    "make_synthetic_voc",
    "normalize_image",
    "read_rgb",
    "read_voc_images",
    "read_voc_label",
    "resolve_voc_dir",
    "set_loader_epoch",
    "voc_colormap2label",
    "voc_label_indices",
    "voc_palette",
    "write_voc_label",
]
