"""Fully convolutional networks (FCN) for semantic segmentation.

Three builders, each a plain function returning an `nn.Module` that maps a float batch of
shape ``(B, 3, H, W)`` to class logits ``(B, C, H, W)`` of the *same* height and width:

* [`fcn_resnet18`][transconv.models.fcn.fcn_resnet18] -- d2l's FCN-32s: ResNet-18 without its
  pooling and fc, a 1×1 conv and one bilinear-initialised ×32 transposed convolution.
* [`fcn_vgg16`][transconv.models.fcn.fcn_vgg16] -- the FCN paper's skip architecture (Long,
  Shelhamer & Darrell, 2015) on VGG-16: FCN-32s, FCN-16s (+ pool4) and FCN-8s (+ pool4 +
  pool3).
* [`fcn_vgg16_deconv`][transconv.models.fcn.fcn_vgg16_deconv] -- a learned decoder: five
  stride-2 transposed convolutions with BatchNorm and additive skips from pool4 ... pool1.

Every backbone ([`transconv.models.backbones`][transconv.models.backbones]) divides the image
by 32, so ``H`` and ``W`` not divisible by 32 need care; each model uses the cleanest exact
method its layers allow (derived and checked on the [FCN page](../../fcn/)):

| model | odd sizes handled by | smallest input |
| --- | --- | --- |
| `fcn_resnet18` | backbone rounds up (`ceil(H/32)` cells); crop the ×32 output | 1 px |
| `fcn_vgg16` | `output_size=` in each transposed conv, no crop at all | 32 px |
| `fcn_vgg16_deconv` | zero-pad bottom/right to a multiple of 32, crop | 1 px |

All crops keep the *top-left* corner: the stride-2 layers anchor their grids at pixel
``(0, 0)``, so a kept output pixel sits exactly where it would in an image of divisible size.

Every builder takes ``weights`` (see [`Weights`][transconv.models.backbones.Weights]; names
are checked before anything is downloaded) and ``upsample`` (see
[`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]).
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import pairwise

import torch  # noqa: F401 - the examples use it
from torch import Tensor, nn
from torch.nn import functional as F

from transconv._validation import as_int
from transconv.bilinear import bilinear_upsampler
from transconv.models.backbones import Weights, convolutionalize, resnet18_trunk, vgg16_stages
from transconv.subpixel import SubpixelConvTranspose2d

__all__ = [
    "UPSAMPLE_MODES",
    "DeconvBlock",
    "FCNDeconv",
    "FCNResNet",
    "FCNVGG",
    "VGGHead",
    "fcn_resnet18",
    "fcn_vgg16",
    "fcn_vgg16_deconv",
]

_VGG_SKIPS = {"32s": (), "16s": ("pool4",), "8s": ("pool4", "pool3")}
_VGG_CHANNELS = {"pool1": 64, "pool2": 128, "pool3": 256, "pool4": 512, "pool5": 512}
_DECONV_CHANNELS = (512, 512, 256, 128, 64, 32)
_DECONV_SKIPS = ("pool4", "pool3", "pool2", "pool1", None)
UPSAMPLE_MODES = ("transposed", "subpixel")
"""How every model's transposed convolutions compute: ``"transposed"``, `nn.ConvTranspose2d`;
``"subpixel"``, [`SubpixelConvTranspose2d`][transconv.subpixel.SubpixelConvTranspose2d] (a
stride-1 convolution and a pixel shuffle). Same parameters, same ``state_dict`` keys, same
outputs and gradients up to rounding."""


def _check_upsample(upsample: str) -> None:
    if not isinstance(upsample, str):
        raise TypeError(
            f"upsample must be a string, got {upsample!r}; pass upsample='transposed' or 'subpixel'"
        )
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(
            f"upsample must be 'transposed' or 'subpixel', got {upsample!r}; "
            "pass upsample='subpixel' for the sub-pixel convolution form"
        )


def _as_upsample(layer: nn.ConvTranspose2d, upsample: str) -> nn.ConvTranspose2d:
    """``layer`` itself, or its sub-pixel form sharing the same parameters."""
    if upsample == "subpixel":
        return SubpixelConvTranspose2d.from_conv_transpose(layer)
    return layer


def _check_input(x: Tensor, model: str, min_size: int = 1) -> None:
    """Raise an error that names the problem if ``x`` is not a float ``(B, 3, H, W)`` batch."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(
            f"{model} input must be a float batch of shape (B, 3, H, W), got shape "
            f"{tuple(x.shape)}; add a batch dimension with x.unsqueeze(0) and give RGB images"
        )
    if not x.is_floating_point():
        raise TypeError(
            f"{model} input must be a float batch, got dtype {x.dtype}; "
            "convert uint8 images with transconv.data.normalize_image"
        )
    height, width = x.shape[-2:]
    if min(height, width) < min_size:
        raise ValueError(
            f"{model} input H and W must be at least {min_size} (five 2x2 poolings), got "
            f"{height}x{width}; pad or resize the image to at least {min_size}x{min_size}"
        )


def _stage_outputs(backbone: nn.Sequential, x: Tensor) -> dict[str, Tensor]:
    """Run ``backbone`` stage by stage and keep every stage's output under the stage's name."""
    outputs = {}
    for name, stage in backbone.named_children():
        x = outputs[name] = stage(x)
    return outputs


class FCNResNet(nn.Module):
    """FCN-32s on a ResNet trunk: ``backbone`` -> ``final_conv`` (1×1) -> ``transpose_conv`` (×32).

    Shape: ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)`` for any ``H, W >= 1``.

    Parameters
    ----------
    backbone : nn.Module
        Maps ``(B, 3, H, W)`` to ``(B, 512, ceil(H / 32), ceil(W / 32))``.
    num_classes : int
        Number of output channels.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.
    """

    def __init__(self, backbone: nn.Module, num_classes: int, upsample: str = "transposed") -> None:
        super().__init__()
        _check_upsample(upsample)
        self.backbone = backbone
        self.final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.transpose_conv = _as_upsample(bilinear_upsampler(num_classes, 32), upsample)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "fcn_resnet18")
        scores = self.transpose_conv(self.final_conv(self.backbone(x)))
        return scores[..., : x.shape[-2], : x.shape[-1]]


class VGGHead(nn.Sequential):
    """VGG-16's fc6 and fc7 as convolutions: ``conv6`` (7×7, padding 3) and ``conv7`` (1×1).

    Each is followed by ReLU and Dropout(0.5), as in the FCN paper. ``conv6`` is padded "same"
    so that a pool5 cell keeps its position (the paper pads the image by 100 px instead).

    Shape: ``(B, in_channels, h, w)`` -> ``(B, channels, h, w)``.

    Parameters
    ----------
    in_channels : int, optional
        Channels of pool5; default 512 (VGG-16).
    channels : int, optional
        Width of conv6 and conv7; default 4096 (the paper).
    """

    def __init__(self, in_channels: int = 512, channels: int = 4096) -> None:
        super().__init__(
            OrderedDict(
                conv6=nn.Conv2d(in_channels, channels, kernel_size=7, padding=3),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(0.5),
                conv7=nn.Conv2d(channels, channels, kernel_size=1),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(0.5),
            )
        )


def _zero_conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    """A 1x1 scoring convolution with zero weight and bias (the paper's initialisation)."""
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=1)
    nn.init.zeros_(conv.weight)
    nn.init.zeros_(conv.bias)
    return conv


class FCNVGG(nn.Module):
    """FCN-32s / 16s / 8s on VGG-16 (Long et al., 2015), "same" padding instead of the 100 px pad.

    Submodules: ``backbone`` (stages ``pool1`` ... ``pool5``), ``head``
    ([`VGGHead`][transconv.models.fcn.VGGHead]),
    ``score_fr`` on conv7; for 16s and 8s ``score_pool4`` and ``upscore2_pool4`` (the learned x2
    upsampler that lands on the pool4 grid); for 8s also ``score_pool3`` and
    ``upscore2_pool3``; and ``upscore``, the final x32 / x16 / x8 bilinear upsampler, which is
    frozen (``requires_grad=False``) as in the paper.

    Shape: ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)`` for any ``H, W >= 32``.

    Parameters
    ----------
    backbone : nn.Sequential
        Stages named ``pool1`` ... ``pool5``; stage ``k`` ends in a 2x2 max-pool.
    head : VGGHead
        conv6 / conv7, applied to pool5.
    num_classes : int
        Number of output channels.
    variant : {"8s", "16s", "32s"}
        Stride of the coarsest prediction that is upsampled in one step.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.
    """

    def __init__(
        self,
        backbone: nn.Sequential,
        head: VGGHead,
        num_classes: int,
        variant: str,
        upsample: str = "transposed",
    ) -> None:
        super().__init__()
        _check_upsample(upsample)
        self.variant = variant
        self.skips = _VGG_SKIPS[variant]
        self.backbone = backbone
        self.head = head
        self.score_fr = _zero_conv(head.conv7.out_channels, num_classes)
        for pool in self.skips:
            setattr(self, f"score_{pool}", _zero_conv(_VGG_CHANNELS[pool], num_classes))
            setattr(
                self, f"upscore2_{pool}", _as_upsample(bilinear_upsampler(num_classes, 2), upsample)
            )
        upscore = bilinear_upsampler(num_classes, 2 ** (5 - len(self.skips))).requires_grad_(False)
        self.upscore = _as_upsample(upscore, upsample)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, f"fcn_vgg16 (variant {self.variant!r})", min_size=32)
        pools = _stage_outputs(self.backbone, x)
        score = self.score_fr(self.head(pools["pool5"]))
        for pool in self.skips:
            skip = pools[pool]
            score = getattr(self, f"upscore2_{pool}")(score, output_size=skip.shape[-2:])
            score = score + getattr(self, f"score_{pool}")(skip)
        return self.upscore(score, output_size=x.shape[-2:])


class DeconvBlock(nn.Sequential):
    """``ConvTranspose2d(k=3, s=2, p=1, output_padding=1)`` -> ReLU -> BatchNorm: exactly ×2.

    Shape: ``(B, in_channels, H, W)`` -> ``(B, out_channels, 2H, 2W)``.

    Parameters
    ----------
    in_channels : int
        Channels before the block.
    out_channels : int
        Channels after the block.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.
    """

    def __init__(self, in_channels: int, out_channels: int, upsample: str = "transposed") -> None:
        _check_upsample(upsample)
        deconv = nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size=3, stride=2, padding=1, output_padding=1
        )
        super().__init__(
            OrderedDict(
                deconv=_as_upsample(deconv, upsample),
                relu=nn.ReLU(inplace=True),
                bn=nn.BatchNorm2d(out_channels),
            )
        )


class FCNDeconv(nn.Module):
    """VGG-16 encoder, a decoder of five stride-2 blocks with additive skips, a 1×1 classifier.

    Each block is a [`DeconvBlock`][transconv.models.fcn.DeconvBlock].

    ``score = deconv1(pool5) + pool4``, ``score = deconv2(score) + pool3``, ... ,
    ``score = deconv5(score)``, ``logits = classifier(score)`` (channels 512, 512, 256, 128, 64,
    32). Inputs are zero-padded at the bottom/right to a multiple of 32 and the logits cropped
    back to the top-left ``(H, W)``.

    Shape: ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)`` for any ``H, W >= 1``.

    Parameters
    ----------
    backbone : nn.Sequential
        Stages named ``pool1`` ... ``pool5`` (VGG-16 widths).
    num_classes : int
        Number of output channels.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.
    """

    def __init__(
        self, backbone: nn.Sequential, num_classes: int, upsample: str = "transposed"
    ) -> None:
        super().__init__()
        self.backbone = backbone
        blocks = [DeconvBlock(c_in, c_out, upsample) for c_in, c_out in pairwise(_DECONV_CHANNELS)]
        self.decoder = nn.Sequential(
            OrderedDict((f"deconv{i}", b) for i, b in enumerate(blocks, 1))
        )
        self.classifier = nn.Conv2d(_DECONV_CHANNELS[-1], num_classes, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "fcn_vgg16_deconv")
        height, width = x.shape[-2:]
        pools = _stage_outputs(self.backbone, F.pad(x, (0, -width % 32, 0, -height % 32)))
        score = pools["pool5"]
        for block, skip in zip(self.decoder, _DECONV_SKIPS, strict=True):
            score = block(score)
            if skip is not None:
                score = score + pools[skip]
        return self.classifier(score)[..., :height, :width]


def fcn_resnet18(
    *, num_classes: int = 21, weights: Weights = None, upsample: str = "transposed"
) -> FCNResNet:
    """FCN-32s on ResNet-18, as in d2l's FCN chapter: an
    [`FCNResNet`][transconv.models.fcn.FCNResNet].

    Unlike d2l, ``transpose_conv`` has no bias: ``final_conv`` already has one, and without it
    the layer starts as bilinear interpolation. Why the surplus rows are cropped at the
    bottom/right is derived on the [FCN page](../../fcn/).

    Parameters
    ----------
    num_classes : int, optional
        Number of classes; default 21 (Pascal VOC: 20 objects + background).
    weights : str, ResNet18_Weights or None, optional
        Backbone weights (``"DEFAULT"`` downloads the ImageNet ones); default None, random.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.

    Returns
    -------
    FCNResNet
        Shape ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)``, any ``H, W >= 1``.

    Raises
    ------
    ValueError
        If ``num_classes`` is below 1, ``weights`` is an unknown name or ``upsample`` an
        unknown mode.
    TypeError
        If ``num_classes`` is not an int, ``upsample`` not a string, or ``weights`` is
        neither None, a string nor a ``ResNet18_Weights``.

    Examples
    --------
    >>> net = fcn_resnet18(num_classes=21).eval()
    >>> sum(p.numel() for p in net.parameters())
    12993621
    >>> with torch.no_grad():
    ...     net.backbone(torch.zeros(1, 3, 320, 480)).shape, net(torch.zeros(1, 3, 33, 65)).shape
    (torch.Size([1, 512, 10, 15]), torch.Size([1, 21, 33, 65]))
    """
    num_classes = as_int(num_classes, "num_classes", minimum=1, example="21")
    _check_upsample(upsample)
    return FCNResNet(resnet18_trunk(weights), num_classes, upsample)


def fcn_vgg16(
    *,
    num_classes: int = 21,
    variant: str = "8s",
    weights: Weights = None,
    fc_channels: int = 4096,
    upsample: str = "transposed",
) -> FCNVGG:
    """FCN-32s, 16s or 8s on VGG-16 (Long, Shelhamer & Darrell, CVPR 2015): an
    [`FCNVGG`][transconv.models.fcn.FCNVGG].

    The scoring layers start at zero, so a skip starts by leaving the prediction unchanged.
    With ImageNet weights fc6/fc7 are copied into conv6/conv7
    ([`convolutionalize`][transconv.models.backbones.convolutionalize]). Why no crop is
    needed with "same" padding is derived on the [FCN page](../../fcn/).

    Parameters
    ----------
    num_classes : int, optional
        Number of classes; default 21 (Pascal VOC).
    variant : {"8s", "16s", "32s"}, optional
        Which skips to use: none (32s), pool4 (16s), pool4 and pool3 (8s, default).
    weights : str, VGG16_Weights or None, optional
        Backbone weights; default None, random. ``"IMAGENET1K_FEATURES"`` has no usable
        classifier, so conv6/conv7 stay random.
    fc_channels : int, optional
        Width of conv6 and conv7: the paper's 4096 (default) puts 119.5M of the 134M
        parameters there; a smaller width gives a light model for experiments and tests.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.

    Returns
    -------
    FCNVGG
        Shape ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)``, any ``H, W >= 32``.

    Raises
    ------
    ValueError
        For an unknown ``variant``, ``weights`` name or ``upsample`` mode, or a
        ``num_classes``/``fc_channels`` below 1.
    TypeError
        If ``num_classes``/``fc_channels`` is not an int, ``upsample`` not a string, or
        ``weights`` is neither None, a string nor a ``VGG16_Weights``.

    Examples
    --------
    >>> net = fcn_vgg16(num_classes=21, variant="8s").eval()
    >>> sum(p.numel() for p in net.parameters())
    134489759
    >>> with torch.no_grad():
    ...     net(torch.zeros(1, 3, 56, 88)).shape
    torch.Size([1, 21, 56, 88])
    >>> fcn_vgg16(num_classes=3, variant="16s", fc_channels=64).upscore.stride
    (16, 16)
    """
    if variant not in _VGG_SKIPS:
        raise ValueError(
            f"unknown variant {variant!r}; use one of {', '.join(map(repr, _VGG_SKIPS))}"
        )
    num_classes = as_int(num_classes, "num_classes", minimum=1, example="21")
    fc_channels = as_int(fc_channels, "fc_channels", minimum=1, example="4096")
    _check_upsample(upsample)
    backbone, classifier = vgg16_stages(weights)
    head = VGGHead(_VGG_CHANNELS["pool5"], fc_channels)
    if classifier is not None:
        convolutionalize(classifier, head.conv6, head.conv7)
    return FCNVGG(backbone, head, num_classes, variant, upsample)


def fcn_vgg16_deconv(
    *, num_classes: int = 21, weights: Weights = None, upsample: str = "transposed"
) -> FCNDeconv:
    """VGG-16 encoder with a learned deconvolution decoder: an
    [`FCNDeconv`][transconv.models.fcn.FCNDeconv].

    The decoder keeps PyTorch's default initialisation: its blocks change the channel count,
    so no bilinear kernel applies. Why the input is padded to a multiple of 32 is derived on
    the [FCN page](../../fcn/).

    Parameters
    ----------
    num_classes : int, optional
        Number of classes; default 21 (Pascal VOC).
    weights : str, VGG16_Weights or None, optional
        Encoder weights; default None, random.
    upsample : {"transposed", "subpixel"}, optional
        One of [`UPSAMPLE_MODES`][transconv.models.fcn.UPSAMPLE_MODES]; default
        ``"transposed"``.

    Returns
    -------
    FCNDeconv
        Shape ``(B, 3, H, W)`` -> ``(B, num_classes, H, W)``, any ``H, W >= 1``.

    Raises
    ------
    ValueError
        If ``num_classes`` is below 1, ``weights`` is an unknown name or ``upsample`` an
        unknown mode.
    TypeError
        If ``num_classes`` is not an int, ``upsample`` not a string, or ``weights`` is
        neither None, a string nor a ``VGG16_Weights``.

    Examples
    --------
    >>> net = fcn_vgg16_deconv(num_classes=21).eval()
    >>> sum(p.numel() for p in net.parameters())
    18644373
    >>> with torch.no_grad():
    ...     net(torch.zeros(1, 3, 64, 64)).shape, net(torch.zeros(1, 3, 33, 65)).shape
    (torch.Size([1, 21, 64, 64]), torch.Size([1, 21, 33, 65]))
    """
    num_classes = as_int(num_classes, "num_classes", minimum=1, example="21")
    _check_upsample(upsample)
    backbone, _ = vgg16_stages(weights)
    return FCNDeconv(backbone, num_classes, upsample)
