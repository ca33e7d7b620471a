"""Tests for transconv.models: output sizes, bilinear initialisation, skips, weights, registry."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.testing import assert_close
from torchvision.models import ResNet18_Weights, VGG16_Weights, resnet18
from torchvision.models.vgg import cfgs, make_layers

from transconv.bilinear import bilinear_kernel
from transconv.models import (
    MODELS,
    backbones,
    build_model,
    fcn_resnet18,
    fcn_vgg16,
    fcn_vgg16_deconv,
)
from transconv.models import fcn as fcn_module

C = 3  # classes in the small test models
SMALL_FC = 16  # conv6/conv7 width of the light VGG models


def _image(height: int, width: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, height, width, generator=generator, dtype=torch.float64)


@pytest.fixture(scope="module")
def resnet_net() -> nn.Module:
    torch.manual_seed(0)
    return fcn_resnet18(num_classes=C).double().eval()


@pytest.fixture(scope="module")
def resnet_net32(resnet_net) -> nn.Module:
    """A float32 copy for the large images (float64 convolutions are slow on CPU)."""
    return copy.deepcopy(resnet_net).float()


@pytest.fixture(scope="module")
def vgg_nets() -> dict[str, nn.Module]:
    torch.manual_seed(0)
    return {
        v: fcn_vgg16(num_classes=C, variant=v, fc_channels=SMALL_FC).double().eval()
        for v in ("8s", "16s", "32s")
    }


@pytest.fixture(scope="module")
def deconv_net() -> nn.Module:
    torch.manual_seed(0)
    return fcn_vgg16_deconv(num_classes=C).double().eval()


# --- fcn_resnet18 -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("size", "cells"), [((320, 480), (10, 15)), ((321, 479), (11, 15))])
def test_resnet_backbone_and_output_shape_for_voc_tiles(resnet_net32, size, cells):
    x = _image(*size).float()
    with torch.no_grad():
        assert resnet_net32.backbone(x).shape == (1, 512, *cells)
        assert resnet_net32(x).shape == (1, C, *size)


def test_resnet_transpose_conv_is_d2l_bilinear_layer(resnet_net):
    layer = resnet_net.transpose_conv
    assert (layer.kernel_size, layer.stride, layer.padding) == ((64, 64), (32, 32), (16, 16))
    assert layer.weight.requires_grad
    assert_close(layer.weight, bilinear_kernel(C, C, 64).double(), rtol=0, atol=0)
    assert (resnet_net.final_conv.in_channels, resnet_net.final_conv.kernel_size) == (512, (1, 1))


@pytest.mark.parametrize("size", [(100, 100), (32, 32), (33, 65), (7, 40)])
def test_resnet_any_size_is_top_left_crop_of_x32_upsampling(resnet_net, size):
    x = _image(*size)
    with torch.no_grad():
        out = resnet_net(x)
        cells = resnet_net.final_conv(resnet_net.backbone(x))
        full = F.conv_transpose2d(cells, bilinear_kernel(C, C, 64).double(), stride=32, padding=16)
    assert cells.shape[-2:] == (-(-size[0] // 32), -(-size[1] // 32))  # ceil(H/32)
    assert out.shape == (1, C, *size)
    assert_close(out, full[..., : size[0], : size[1]])


def test_resnet_parameter_count():
    reference = sum(p.numel() for p in resnet18().parameters()) - (512 * 1000 + 1000)  # minus fc
    expected = reference + (512 * 21 + 21) + 21 * 21 * 64 * 64
    assert sum(p.numel() for p in fcn_resnet18().parameters()) == expected == 12_993_621


# --- fcn_vgg16 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["8s", "16s", "32s"])
@pytest.mark.parametrize("size", [(64, 64), (32, 45), (56, 88), (71, 100)])
def test_vgg_output_size_equals_input_size(vgg_nets, variant, size):
    with torch.no_grad():
        assert vgg_nets[variant](_image(*size)).shape == (1, C, *size)


@pytest.mark.parametrize(("variant", "factor"), [("8s", 8), ("16s", 16), ("32s", 32)])
def test_vgg_upsamplers_are_bilinear(vgg_nets, variant, factor):
    net = vgg_nets[variant]
    final = net.upscore
    assert final.kernel_size == (2 * factor,) * 2
    assert (final.stride, final.padding) == ((factor,) * 2, (factor // 2,) * 2)
    assert_close(final.weight, bilinear_kernel(C, C, 2 * factor).double(), rtol=0, atol=0)
    assert not final.weight.requires_grad  # fixed, as in the paper
    skips = {"8s": ["pool4", "pool3"], "16s": ["pool4"], "32s": []}[variant]
    ups = [m for n, m in net.named_children() if n.startswith("upscore2_")]
    assert len(ups) == len(skips)
    for pool in skips:
        up = getattr(net, f"upscore2_{pool}")
        assert (up.kernel_size, up.stride, up.padding) == ((4, 4), (2, 2), (1, 1))
        assert up.weight.requires_grad  # learned
        assert_close(up.weight, bilinear_kernel(C, C, 4).double(), rtol=0, atol=0)


def test_vgg_score_layers_start_at_zero(vgg_nets):
    net = vgg_nets["8s"]
    for name in ("score_fr", "score_pool4", "score_pool3"):
        layer = getattr(net, name)
        assert layer.kernel_size == (1, 1)
        assert torch.count_nonzero(layer.weight) == 0 and torch.count_nonzero(layer.bias) == 0
    assert (net.score_pool4.in_channels, net.score_pool3.in_channels) == (512, 256)


def _randomised(net: nn.Module, seed: int) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    for name, param in net.named_parameters():
        if name.startswith("score_"):
            param.data = torch.randn(param.shape, generator=generator, dtype=param.dtype)
    return net


def _up(score: torch.Tensor, factor: int, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear transposed conv by ``factor``, output_padding computed by hand from ``size``."""
    pad = tuple(s - factor * n for s, n in zip(size, score.shape[-2:], strict=True))
    weight = bilinear_kernel(C, C, 2 * factor).double()
    return F.conv_transpose2d(score, weight, stride=factor, padding=factor // 2, output_padding=pad)


@pytest.mark.slow
def test_vgg_8s_equals_hand_composed_skip_net(vgg_nets):
    # 56x88: pool3 7x11, pool4 3x5, pool5 1x2 -- every level is odd, so every output_padding is used
    net = _randomised(
        fcn_vgg16(num_classes=C, variant="8s", fc_channels=SMALL_FC).double().eval(), seed=1
    )
    x = _image(56, 88)
    with torch.no_grad():
        pool3 = net.backbone[:3](x)
        pool4 = net.backbone[3](pool3)
        score = net.score_fr(net.head(net.backbone[4](pool4)))
        assert (pool3.shape[-2:], pool4.shape[-2:], score.shape[-2:]) == ((7, 11), (3, 5), (1, 2))
        score = _up(score, 2, (3, 5)) + F.conv2d(
            pool4, net.score_pool4.weight, net.score_pool4.bias
        )
        score = _up(score, 2, (7, 11)) + F.conv2d(
            pool3, net.score_pool3.weight, net.score_pool3.bias
        )
        assert_close(net(x), _up(score, 8, (56, 88)))


def test_vgg_parameter_count_matches_hand_formula():
    width, k = SMALL_FC, C
    features = 14_714_688  # torchvision's VGG-16 features
    head = (512 * 49 * width + width) + (width * width + width)
    score = (width * k + k) + (512 * k + k) + (256 * k + k)
    ups = 2 * (k * k * 4 * 4) + k * k * 16 * 16
    net = fcn_vgg16(num_classes=k, variant="8s", fc_channels=width)
    assert sum(p.numel() for p in net.backbone.parameters()) == features
    assert sum(p.numel() for p in net.parameters()) == features + head + score + ups


def test_vgg_rejects_images_below_32_pixels(vgg_nets):
    with pytest.raises(
        ValueError, match=r"at least 32 .* got \(H, W\) = \(31, 64\); pad or resize"
    ):
        vgg_nets["16s"](_image(31, 64))


def test_vgg_unknown_variant():
    with pytest.raises(
        ValueError,
        match=r"variant must be a known variant, got '4s'; use one of '32s', '16s', '8s'",
    ):
        fcn_vgg16(variant="4s")


def test_vgg_rejects_bad_fc_channels():
    with pytest.raises(ValueError, match=r"^fc_channels must be an int >= 1, got 0"):
        fcn_vgg16(fc_channels=0)


# --- fcn_vgg16_deconv ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("size", [(64, 64), (32, 96), (33, 65), (100, 100), (5, 40)])
def test_deconv_output_size_equals_input_size(deconv_net, size):
    with torch.no_grad():
        assert deconv_net(_image(*size)).shape == (1, C, *size)


@pytest.mark.slow
def test_deconv_odd_size_is_zero_padded_then_cropped(deconv_net):
    x = _image(33, 65)
    padded = torch.zeros(1, 3, 64, 96, dtype=torch.float64)
    padded[..., :33, :65] = x
    with torch.no_grad():
        assert_close(deconv_net(x), deconv_net(padded)[..., :33, :65])


def test_deconv_structure(deconv_net):
    blocks = list(deconv_net.decoder.children())
    assert len(blocks) == 5
    channels = [(b.deconv.in_channels, b.deconv.out_channels) for b in blocks]
    assert channels == [(512, 512), (512, 256), (256, 128), (128, 64), (64, 32)]
    for block in blocks:
        d = block.deconv
        assert (d.kernel_size, d.stride, d.padding, d.output_padding) == (
            (3, 3),
            (2, 2),
            (1, 1),
            (1, 1),
        )
        assert isinstance(block.bn, nn.BatchNorm2d)
    assert (deconv_net.classifier.in_channels, deconv_net.classifier.out_channels) == (32, C)


# --- inputs, num_classes, weights ---------------------------------------------------------------

BUILDERS = [fcn_resnet18, fcn_vgg16, fcn_vgg16_deconv]


@pytest.mark.parametrize("builder", BUILDERS)
def test_unknown_weights_name_lists_choices(builder):
    with pytest.raises(
        ValueError,
        match=r"weights must name \w+ weights for this backbone, got 'IMAGENET22K'.*use one of "
        r"'IMAGENET1K_V1'.*None",
    ):
        builder(weights="IMAGENET22K")


def test_weights_of_another_network_are_rejected():
    match = r"weights must be VGG16_Weights for this backbone, got ResNet18_Weights.IMAGENET1K_V1, "
    match += r"which belong to another network"
    with pytest.raises(ValueError, match=match):
        fcn_vgg16_deconv(weights=ResNet18_Weights.IMAGENET1K_V1)


def test_weights_of_wrong_type_are_rejected():
    match = r"weights must be None, a string or a ResNet18_Weights, got int \(1\)"
    with pytest.raises(TypeError, match=match):
        fcn_resnet18(weights=1)


@pytest.mark.parametrize("builder", BUILDERS)
def test_bad_num_classes(builder):
    with pytest.raises(ValueError, match=r"^num_classes must be an int >= 1, got 0"):
        builder(num_classes=0)
    with pytest.raises(TypeError, match=r"^num_classes must be an int, got 21.0"):
        builder(num_classes=21.0)


def test_numpy_integer_num_classes_is_accepted():
    net = fcn_resnet18(num_classes=np.int64(4))
    assert net.final_conv.out_channels == 4 and type(net.final_conv.out_channels) is int


@pytest.mark.parametrize(
    "weights",
    ["DEFAULT", "IMAGENET1K_V1", "ResNet18_Weights.IMAGENET1K_V1", ResNet18_Weights.DEFAULT],
)
def test_resnet_weights_pass_through_without_download(monkeypatch, weights):
    seen = []

    def fake_resnet18(*, weights):
        seen.append(weights)
        return resnet18()

    monkeypatch.setattr(backbones, "resnet18", fake_resnet18)
    fcn_resnet18(num_classes=C, weights=weights)
    assert seen == [ResNet18_Weights.IMAGENET1K_V1]


def _fake_vgg16_classifier(width: int, fill: float | None) -> nn.Sequential:
    generator = torch.Generator().manual_seed(2)
    fc6, fc7 = nn.Linear(512 * 7 * 7, width), nn.Linear(width, width)
    classifier = nn.Sequential(fc6, nn.ReLU(), nn.Dropout(), fc7)
    for p in classifier.parameters():
        p.data = (
            torch.randn(p.shape, generator=generator) if fill is None else torch.full(p.shape, fill)
        )
    return classifier


@pytest.mark.parametrize(
    ("name", "copied"), [("IMAGENET1K_V1", True), ("IMAGENET1K_FEATURES", False)]
)
def test_vgg_weights_convolutionalize_fc6_fc7(monkeypatch, name, copied):
    seen = []
    classifier = _fake_vgg16_classifier(SMALL_FC, fill=None if copied else float("nan"))

    def fake_vgg16(*, weights):
        seen.append(weights)
        return SimpleNamespace(features=make_layers(cfgs["D"]), classifier=classifier)

    monkeypatch.setattr(backbones, "vgg16", fake_vgg16)
    head = fcn_vgg16(num_classes=C, weights=name, fc_channels=SMALL_FC).head.double()
    assert seen == [VGG16_Weights[name]]
    assert all(p.isfinite().all() for p in head.parameters())
    pool5 = torch.randn(
        1, 512, 7, 7, generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    fc6, fc7 = classifier.double()[0], classifier[3]
    with torch.no_grad():
        expected = fc7(F.relu(fc6(pool5.flatten(1))))
        conv7 = head.conv7(F.relu(head.conv6(pool5)))[..., 3, 3]  # the centre cell sees all 7x7
    assert torch.allclose(conv7, expected) == copied


def test_vgg_width_mismatch_keeps_random_head():
    head = fcn_module.VGGHead(512, 8)
    assert not backbones.convolutionalize(
        _fake_vgg16_classifier(SMALL_FC, fill=None), head.conv6, head.conv7
    )


@pytest.mark.parametrize(
    ("x", "error", "match"),
    [
        (
            torch.zeros(3, 64, 64),
            ValueError,
            r"input must be a float batch of shape \(B, 3, H, W\), got shape \(3, 64, 64\)",
        ),
        (torch.zeros(1, 1, 64, 64), ValueError, r"got shape \(1, 1, 64, 64\)"),
        (
            torch.zeros(1, 3, 64, 64, dtype=torch.uint8),
            TypeError,
            r"got dtype torch.uint8; convert uint8",
        ),
    ],
)
def test_bad_input_is_named(resnet_net, deconv_net, vgg_nets, x, error, match):
    for net in (resnet_net, deconv_net, vgg_nets["32s"]):
        with pytest.raises(error, match=match):
            net(x)


# --- registry -----------------------------------------------------------------------------------


def test_models_registry_names_and_variants():
    assert sorted(MODELS) == sorted(
        ["fcn_resnet18", "fcn_vgg16_8s", "fcn_vgg16_16s", "fcn_vgg16_32s", "fcn_vgg16_deconv"]
    )
    for variant in ("8s", "16s", "32s"):
        assert (
            MODELS[f"fcn_vgg16_{variant}"](num_classes=C, fc_channels=SMALL_FC).variant == variant
        )


def test_build_model_passes_options():
    net = build_model("fcn_vgg16_deconv", num_classes=4)
    assert net.classifier.out_channels == 4
    with pytest.raises(
        ValueError, match="weights must name .* weights for this backbone, got 'nope'; "
    ):
        build_model("fcn_resnet18", weights="nope")


def test_build_model_unknown_name_lists_known_names():
    match = r"name must be a known model, got 'fcn_unet'; use one of 'fcn_resnet18', "
    match += r".*'fcn_vgg16_deconv'"
    with pytest.raises(ValueError, match=match):
        build_model("fcn_unet")


# --- upsample="subpixel" ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("builder", "kwargs", "size"),
    [
        (fcn_resnet18, {}, (40, 70)),
        (fcn_vgg16, {"variant": "8s", "fc_channels": SMALL_FC}, (56, 88)),
        (fcn_vgg16, {"variant": "32s", "fc_channels": SMALL_FC}, (33, 40)),
        (fcn_vgg16_deconv, {}, (33, 65)),
    ],
)
def test_subpixel_upsampling_equals_transposed(builder, kwargs, size):
    nets = {}
    for upsample in ("transposed", "subpixel"):
        torch.manual_seed(0)  # same initialisation: the sub-pixel layers hold the same parameters
        nets[upsample] = builder(num_classes=C, upsample=upsample, **kwargs).double().eval()
    plain, fast = nets["transposed"], nets["subpixel"]
    assert any(type(m).__name__ == "SubpixelConvTranspose2d" for m in fast.modules())
    assert not any(type(m).__name__ == "SubpixelConvTranspose2d" for m in plain.modules())
    state = plain.state_dict()
    assert state.keys() == fast.state_dict().keys()
    fast.load_state_dict(state)
    x = _image(*size, seed=2)
    outputs = {name: net(x) for name, net in nets.items()}
    assert_close(outputs["subpixel"], outputs["transposed"])
    probe = torch.randn_like(outputs["transposed"])
    grads = {
        name: torch.autograd.grad(
            outputs[name], [p for p in net.parameters() if p.requires_grad], probe
        )
        for name, net in nets.items()
    }
    assert_close(grads["subpixel"], grads["transposed"])


def test_build_model_passes_upsample():
    net = build_model("fcn_resnet18", num_classes=C, upsample="subpixel")
    assert type(net.transpose_conv).__name__ == "SubpixelConvTranspose2d"


@pytest.mark.parametrize(
    ("upsample", "error", "match"),
    [
        ("pixelshuffle", ValueError, r"upsample must be 'transposed' or 'subpixel', got 'pix"),
        (None, TypeError, r"upsample must be a string, got None"),
    ],
)
@pytest.mark.parametrize("builder", [fcn_resnet18, fcn_vgg16, fcn_vgg16_deconv])
def test_bad_upsample(builder, upsample, error, match):
    with pytest.raises(error, match=match):
        builder(num_classes=C, upsample=upsample)
