"""Segmentation models: FCN builders and a registry to build them by name.

Every model maps a float batch ``(B, 3, H, W)`` to logits ``(B, C, H, W)`` of the same size;
the builders live in `transconv.models.fcn`, documented below.

Examples
--------
>>> sorted(MODELS)[:2]
['fcn_resnet18', 'fcn_vgg16_16s']

"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import nn

from transconv.models.backbones import Weights
from transconv.models.fcn import fcn_resnet18, fcn_vgg16, fcn_vgg16_deconv

__all__ = ["MODELS", "build_model", "fcn_resnet18", "fcn_vgg16", "fcn_vgg16_deconv"]

MODELS: dict[str, Callable[..., nn.Module]] = {
    "fcn_resnet18": fcn_resnet18,
    "fcn_vgg16_8s": partial(fcn_vgg16, variant="8s"),
    "fcn_vgg16_16s": partial(fcn_vgg16, variant="16s"),
    "fcn_vgg16_32s": partial(fcn_vgg16, variant="32s"),
    "fcn_vgg16_deconv": fcn_vgg16_deconv,
}
"""Builders by name: ``fcn_resnet18``, ``fcn_vgg16_8s`` / ``_16s`` / ``_32s`` (the variants of
[`fcn_vgg16`][transconv.models.fcn.fcn_vgg16]) and ``fcn_vgg16_deconv``; each takes the
keywords ``num_classes``, ``weights`` and ``upsample``."""


def build_model(
    name: str, *, num_classes: int = 21, weights: Weights = None, upsample: str = "transposed"
) -> nn.Module:
    """Build the model registered in [`MODELS`][transconv.models.MODELS] under ``name``.

    Parameters
    ----------
    name : str
        One of the keys of [`MODELS`][transconv.models.MODELS], e.g. ``"fcn_resnet18"`` or
        ``"fcn_vgg16_8s"``.
    num_classes : int, optional
        Number of classes; default 21 (Pascal VOC).
    weights : str, WeightsEnum or None, optional
        Backbone weights, passed to the builder; default None (random initialisation).
    upsample : {"transposed", "subpixel"}, optional
        How the model's transposed convolutions compute, passed to the builder:
        ``"transposed"`` (default, `nn.ConvTranspose2d`) or ``"subpixel"`` (same parameters
        and results, computed as a stride-1 convolution and a pixel shuffle).

    Returns
    -------
    nn.Module
        Maps a float ``(B, 3, H, W)`` batch to logits ``(B, num_classes, H, W)``.

    Raises
    ------
    ValueError
        If ``name`` is not a key of [`MODELS`][transconv.models.MODELS] (the message lists
        them), or the builder rejects ``num_classes``, ``weights`` or ``upsample``.
    TypeError
        If the builder rejects the type of ``num_classes``, ``weights`` or ``upsample``.

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
