"""The encoders FCN is built on: torchvision's ResNet-18 and VGG-16, cut where FCN needs them.

Backbone surgery (what to keep, how to name the stages, turning VGG's fully connected fc6/fc7
into convolutions) and weight resolution (a name or a ``WeightsEnum`` member, checked before
anything is downloaded) live here; [`transconv.models.fcn`][transconv.models.fcn] wires
decoders onto them.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, VGG16_Weights, WeightsEnum, resnet18, vgg16
from torchvision.models.vgg import cfgs, make_layers

__all__ = ["Weights", "convolutionalize", "resnet18_trunk", "resolve_weights", "vgg16_stages"]

Weights = str | WeightsEnum | None
"""What a builder's ``weights`` accepts: None (random), a name such as ``"DEFAULT"``, a member."""


def resolve_weights(weights: Weights, enum: type[WeightsEnum]) -> WeightsEnum | None:
    """Turn ``weights`` into a member of ``enum`` (or None) without downloading anything.

    Parameters
    ----------
    weights : str, WeightsEnum or None
        None, a member name (``"DEFAULT"``, ``"IMAGENET1K_V1"``, also ``"VGG16_Weights.DEFAULT"``)
        or a member of ``enum``.
    enum : type of WeightsEnum
        The backbone's weights, e.g. ``ResNet18_Weights``.

    Returns
    -------
    WeightsEnum or None
        The member, or None for random initialisation.

    Raises
    ------
    ValueError
        For an unknown name or a member of another network's weights.
    TypeError
        For anything else.

    Examples
    --------
    >>> resolve_weights("DEFAULT", ResNet18_Weights)
    ResNet18_Weights.IMAGENET1K_V1
    """
    choices = ", ".join(repr(name) for name in enum.__members__)
    if weights is None or isinstance(weights, enum):
        return weights
    if isinstance(weights, str):
        key = weights.removeprefix(f"{enum.__name__}.")
        if key in enum.__members__:
            return enum[key]
        raise ValueError(
            f"unknown weights {weights!r} for this backbone ({enum.__name__}); "
            f"use one of {choices}, or None for random initialisation"
        )
    if isinstance(weights, WeightsEnum):
        raise ValueError(
            f"weights {weights} belong to another network, this backbone needs {enum.__name__}; "
            f"use one of {choices}, or None for random initialisation"
        )
    raise TypeError(
        f"weights must be None, a string or a {enum.__name__}, got {type(weights).__name__} "
        f"({weights!r}); use one of {choices}"
    )


def resnet18_trunk(weights: Weights = None) -> nn.Sequential:
    """ResNet-18 without its average pooling and fully connected layer, as d2l cuts it.

    Parameters
    ----------
    weights : str, ResNet18_Weights or None, optional
        As [`resolve_weights`][transconv.models.backbones.resolve_weights] takes them.

    Returns
    -------
    nn.Sequential
        Shape ``(B, 3, H, W)`` -> ``(B, 512, ceil(H / 32), ceil(W / 32))``.

    Examples
    --------
    >>> resnet18_trunk()(torch.zeros(1, 3, 33, 64)).shape
    torch.Size([1, 512, 2, 2])
    """
    resnet = resnet18(weights=resolve_weights(weights, ResNet18_Weights))
    return nn.Sequential(OrderedDict(list(resnet.named_children())[:-2]))


def _init_like_vgg(features: nn.Sequential) -> nn.Sequential:
    """torchvision's VGG initialisation of the convolutions (He normal, fan-out; zero bias)."""
    for module in features.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(module.bias)
    return features


def vgg16_stages(weights: Weights = None) -> tuple[nn.Sequential, nn.Sequential | None]:
    """VGG-16's features split into stages ``pool1`` ... ``pool5``, and its classifier.

    Without weights only the features are built (and initialised as torchvision does): the
    120-million-parameter classifier would be thrown away.

    Parameters
    ----------
    weights : str, VGG16_Weights or None, optional
        As [`resolve_weights`][transconv.models.backbones.resolve_weights] takes them.

    Returns
    -------
    stages : nn.Sequential
        Stage ``k`` ends in a 2x2 max-pool: shape ``(B, 3, H, W)`` -> ``(B, 512, H/32, W/32)``
        (each pooling floors).
    classifier : nn.Sequential or None
        The pretrained classifier, for
        [`convolutionalize`][transconv.models.backbones.convolutionalize]; None without weights.

    Examples
    --------
    >>> stages, classifier = vgg16_stages()
    >>> list(stages.named_children())[-1][0], classifier is None
    ('pool5', True)
    """
    weights = resolve_weights(weights, VGG16_Weights)
    if weights is None:
        features, classifier = _init_like_vgg(make_layers(cfgs["D"])), None
    else:
        net = vgg16(weights=weights)
        features, classifier = net.features, net.classifier
    stages: OrderedDict[str, nn.Module] = OrderedDict()
    start = 0
    for i, layer in enumerate(features):
        if isinstance(layer, nn.MaxPool2d):
            stages[f"pool{len(stages) + 1}"] = features[start : i + 1]
            start = i + 1
    return nn.Sequential(stages), classifier


def convolutionalize(classifier: nn.Sequential, conv6: nn.Conv2d, conv7: nn.Conv2d) -> bool:
    """Copy VGG's fc6/fc7 into ``conv6``/``conv7`` (the FCN paper's "convolutionalization").

    fc6 reads a flattened 512x7x7 pool5 map, so its weight is exactly a 7x7 convolution kernel.

    Parameters
    ----------
    classifier : nn.Sequential
        VGG-16's classifier (fc6 at index 0, fc7 at index 3).
    conv6 : nn.Conv2d
        Receives fc6, ``(C, 512, 7, 7)``.
    conv7 : nn.Conv2d
        Receives fc7, ``(C, C, 1, 1)``.

    Returns
    -------
    bool
        False, and nothing copied, when the widths differ or the classifier holds non-finite
        values (``VGG16_Weights.IMAGENET1K_FEATURES`` ships a NaN classifier).
    """
    pairs = ((classifier[0], conv6), (classifier[3], conv7))
    fits = all(fc.weight.shape == conv.weight.flatten(1).shape for fc, conv in pairs)
    if not fits or not all(p.isfinite().all() for p in classifier.parameters()):
        return False
    with torch.no_grad():
        for fc, conv in pairs:
            conv.weight.copy_(fc.weight.view_as(conv.weight))
            conv.bias.copy_(fc.bias)
    return True
