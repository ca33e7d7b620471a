"""transconv: transposed convolution and fully convolutional networks, checked against PyTorch.

One module per concept, the same concepts as the pages of the documentation site:

* :mod:`transconv.shapes` -- output sizes of convolutions and transposed convolutions;
* :mod:`transconv.reference` -- the definition as loops, and a vectorised twin of
  ``F.conv_transpose2d``;
* :mod:`transconv.matrix` -- convolution as a matrix, transposed convolution as its transpose;
* :mod:`transconv.bilinear` -- bilinear kernels and upsamplers;
* :mod:`transconv.models` -- FCN builders;
* :mod:`transconv.data` -- Pascal VOC, a synthetic stand-in, a GPU-resident loader;
* :mod:`transconv.metrics`, :mod:`transconv.train` -- scores, training, tiled prediction;
* :mod:`transconv.viz` -- figures and animations.

The training loop stays under its module's name, ``from transconv.train import train``, so
that ``transconv.train`` is always the module.

Examples
--------
>>> import transconv
>>> transconv.conv_transpose_output_size((10, 15), *transconv.upsampling_params(32))
(320, 480)
"""

from transconv.bilinear import bilinear_kernel, bilinear_upsampler
from transconv.data import (
    IGNORE_INDEX,
    VOC_CLASSES,
    VOC_COLORMAP,
    DeviceSegLoader,
    VOCSegDataset,
    download_voc,
    label2image,
    load_data_voc,
    make_synthetic_voc,
    normalize_image,
    read_voc_images,
    read_voc_label,
    voc_colormap2label,
    voc_label_indices,
)
from transconv.matrix import conv_matrix
from transconv.metrics import confusion_matrix, segmentation_scores
from transconv.models import MODELS, build_model, fcn_resnet18, fcn_vgg16, fcn_vgg16_deconv
from transconv.reference import conv_transpose2d, corr2d, trans_conv
from transconv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    output_padding_for,
    upsampling_params,
)
from transconv.train import RECIPES, Recipe, evaluate, predict
from transconv.viz import (
    animate_convolution,
    overlap_counts,
    plot_fcn_skips,
    plot_history,
    plot_overlap,
    plot_palette,
    plot_predictions,
    plot_series,
    show_images,
    show_matrix,
)

__version__ = "0.1.0"

__all__ = [
    "IGNORE_INDEX",
    "MODELS",
    "RECIPES",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "DeviceSegLoader",
    "Recipe",
    "VOCSegDataset",
    "animate_convolution",
    "bilinear_kernel",
    "bilinear_upsampler",
    "build_model",
    "confusion_matrix",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose2d",
    "conv_transpose_output_size",
    "corr2d",
    "download_voc",
    "evaluate",
    "fcn_resnet18",
    "fcn_vgg16",
    "fcn_vgg16_deconv",
    "label2image",
    "load_data_voc",
    "make_synthetic_voc",
    "normalize_image",
    "output_padding_for",
    "overlap_counts",
    "plot_fcn_skips",
    "plot_history",
    "plot_overlap",
    "plot_palette",
    "plot_predictions",
    "plot_series",
    "predict",
    "read_voc_images",
    "read_voc_label",
    "segmentation_scores",
    "show_images",
    "show_matrix",
    "trans_conv",
    "upsampling_params",
    "voc_colormap2label",
    "voc_label_indices",
]
