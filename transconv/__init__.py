"""transconv: transposed convolution and fully convolutional networks, checked against PyTorch.

One module per concept, the same concepts as the pages of the documentation site (see the
API reference). Every public name is re-exported here *lazily*: ``import transconv.shapes``
loads the shape arithmetic alone, without matplotlib, torchvision or tqdm; a name such as
``transconv.plot_overlap`` imports its module on first use.

The training loop stays under its module's name, ``from transconv.train import train``, so
that ``transconv.train`` is always the module.

Examples
--------
>>> import transconv
>>> transconv.conv_transpose_output_size((10, 15), *transconv.upsampling_params(32))
(320, 480)
"""

from __future__ import annotations

import importlib
from typing import Any


def _version() -> str:
    """The version in ``pyproject.toml`` (its one source), as this copy of the package knows it.

    Installed from a wheel, the installed metadata says it. Run from a source tree (a checkout
    on ``PYTHONPATH``, or an editable install), the tree's own ``pyproject.toml`` says it: the
    metadata of an editable install is as old as its last ``pip install``, and another copy's
    metadata may be on the path.
    """
    import importlib.metadata
    import re
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8") if pyproject.is_file() else ""
    found = re.search(r'^version = "([^"]+)"$', text, re.MULTILINE)
    if found and re.search(r'^name = "transconv"$', text, re.MULTILINE):
        return found.group(1)
    try:
        return importlib.metadata.version("transconv")
    except importlib.metadata.PackageNotFoundError:  # a copied tree without either
        return "0+unknown"


__version__ = _version()
del _version

# public name -> the module that defines (or re-exports) it; modules load on first access
_EXPORTS: dict[str, str] = {
    "bilinear_kernel": "transconv.bilinear",
    "bilinear_upsampler": "transconv.bilinear",
    "IGNORE_INDEX": "transconv.data",
    "VOC_CLASSES": "transconv.data",
    "VOC_COLORMAP": "transconv.data",
    "DeviceSegLoader": "transconv.data",
    "VOCSegDataset": "transconv.data",
    "download_voc": "transconv.data",
    "label2image": "transconv.data",
    "load_data_voc": "transconv.data",
    "make_synthetic_voc": "transconv.data",
    "normalize_image": "transconv.data",
    "read_voc_images": "transconv.data",
    "read_voc_label": "transconv.data",
    "voc_colormap2label": "transconv.data",
    "voc_label_indices": "transconv.data",
    "conv_matrix": "transconv.matrix",
    "confusion_matrix": "transconv.metrics",
    "segmentation_scores": "transconv.metrics",
    "MODELS": "transconv.models",
    "build_model": "transconv.models",
    "fcn_resnet18": "transconv.models",
    "fcn_vgg16": "transconv.models",
    "fcn_vgg16_deconv": "transconv.models",
    "conv_transpose2d": "transconv.reference",
    "corr2d": "transconv.reference",
    "trans_conv": "transconv.reference",
    "conv_output_size": "transconv.shapes",
    "conv_transpose_output_size": "transconv.shapes",
    "output_padding_for": "transconv.shapes",
    "solve_transposed_conv": "transconv.shapes",
    "upsampling_params": "transconv.shapes",
    "SubpixelConvTranspose2d": "transconv.subpixel",
    "conv_transpose2d_subpixel": "transconv.subpixel",
    "subpixel_weight": "transconv.subpixel",
    "RECIPES": "transconv.recipes",
    "Recipe": "transconv.recipes",
    "evaluate": "transconv.train",
    "predict": "transconv.tiling",
    "animate_convolution": "transconv.viz",
    "overlap_counts": "transconv.overlap",
    "plot_fcn_skips": "transconv.viz",
    "plot_history": "transconv.viz",
    "plot_overlap": "transconv.viz",
    "plot_palette": "transconv.viz",
    "plot_predictions": "transconv.viz",
    "plot_series": "transconv.viz",
    "show_images": "transconv.viz",
    "show_matrix": "transconv.viz",
}

__all__ = sorted(_EXPORTS, key=lambda name: (not name.isupper(), name.lower()))


def __getattr__(name: str) -> Any:
    # PEP 562: runs only for names not yet in the module namespace (first access)
    module = _EXPORTS.get(name)
    if module is None:
        try:  # a submodule: ``transconv.train`` after only ``import transconv``
            return importlib.import_module(f"transconv.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"transconv.{name}":
                raise
        raise AttributeError(f"module 'transconv' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
