"""Segmentation models: FCN builders and a registry to build them by name.

Every model maps a float ``Bx3xHxW`` batch to logits ``BxCxHxW`` of the same size; see
:mod:`transconv.models.fcn`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from transconv.models.fcn import Weights, fcn_resnet18, fcn_vgg16, fcn_vgg16_deconv

__all__ = ["MODELS", "build_model", "fcn_resnet18", "fcn_vgg16", "fcn_vgg16_deconv"]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "fcn_resnet18": fcn_resnet18,
    "fcn_vgg16_8s": partial(fcn_vgg16, variant="8s"),
    "fcn_vgg16_16s": partial(fcn_vgg16, variant="16s"),
    "fcn_vgg16_32s": partial(fcn_vgg16, variant="32s"),
    "fcn_vgg16_deconv": fcn_vgg16_deconv,
}


def build_model(
    name: str, *, num_classes: int = 21, weights: Weights = None, upsample: str = "transposed"
) -> nn.Module:
    """Build the model registered in :data:`MODELS` under ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`MODELS`, e.g. ``"fcn_resnet18"`` or ``"fcn_vgg16_8s"``.
    num_classes : int, optional
        Number of classes (21 for Pascal VOC).
    weights : str, WeightsEnum or None, optional
        Backbone weights, passed to the builder (``None``: random initialisation).
    upsample : {"transposed", "subpixel"}, optional
        How the model's transposed convolutions compute, passed to the builder:
        ``"transposed"`` (default, `nn.ConvTranspose2d`) or ``"subpixel"`` (same parameters
        and results, computed as a stride-1 convolution and a pixel shuffle).

    Returns
    -------
    nn.Module
        Maps float ``Bx3xHxW`` to logits ``Bxnum_classesxHxW``.

    Raises
    ------
    ValueError
        If ``name`` is not a key of :data:`MODELS` (the message lists them), or the builder
        rejects ``num_classes`` or ``weights``.

    Examples
    --------
    >>> net = build_model("fcn_resnet18", num_classes=5)
    >>> net.final_conv
    Conv2d(512, 5, kernel_size=(1, 1), stride=(1, 1))
    >>> build_model("fcn_vgg16_4s")
    Traceback (most recent call last):
        ...
    ValueError: unknown model 'fcn_vgg16_4s'; use one of 'fcn_resnet18', 'fcn_vgg16_8s', ...
    """
    if name not in MODELS:
        known = ", ".join(repr(key) for key in MODELS)
        raise ValueError(f"unknown model {name!r}; use one of {known}")
    return MODELS[name](num_classes=num_classes, weights=weights, upsample=upsample)
