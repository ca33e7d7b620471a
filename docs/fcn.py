# %% [markdown]
# # Fully convolutional networks
#
# A fully convolutional network (FCN; Long, Shelhamer & Darrell, 2015) turns an image
# classifier into a per-pixel classifier: drop the global pooling and fully connected layers,
# score every cell of the last feature map with a $1 \times 1$ convolution, and upsample the
# scores back to the image with a **transposed convolution** initialised as bilinear
# interpolation. This page builds the three FCNs in `transconv.models`, prints their shapes and
# asserts every size and count it states.

# %%
import inspect
import math

import torch
from IPython.display import Markdown
from torch import nn

import transconv
from transconv.bilinear import bilinear_kernel
from transconv.models import (
    MODELS,
    build_model,
    fcn_resnet18,
    fcn_vgg16,
    fcn_vgg16_deconv,
)
from transconv.models.fcn import DeconvBlock
from transconv.shapes import conv_transpose_output_size, upsampling_params
from transconv.viz import markdown_table, plot_fcn_skips, plot_overlap, show

_ = torch.manual_seed(0)

# %% [markdown]
# ## ResNet-18 FCN-32s (d2l's model)
#
# ResNet-18 without its average pooling and fully connected layer halves the resolution five
# times, so a $320 \times 480$ image becomes a $10 \times 15$ grid of 512-channel features:

# %%
net = fcn_resnet18(num_classes=21).eval()
X = torch.rand(1, 3, 320, 480)
with torch.no_grad():
    features = net.backbone(X)
    scores = net.final_conv(features)
    Y = net(X)
assert features.shape == (1, 512, 10, 15) and Y.shape == (1, 21, 320, 480)
print("image     ", X.shape)
print("backbone  ", features.shape)
print("final_conv", scores.shape)
print("output    ", Y.shape)

# %% [markdown]
# `final_conv` is a $1 \times 1$ convolution from 512 channels to the 21 VOC classes, and
# `transpose_conv` scales the $10 \times 15$ score map by exactly 32. The kernel, stride and
# padding come from `upsampling_params` ($k = 2f - f \bmod 2$, $s = f$, $p = \lfloor f/2
# \rfloor$), and the shape formula confirms the factor:

# %%
k, s, p = upsampling_params(32)
tconv = net.transpose_conv
print(tconv)
print("upsampling_params(32) =", (k, s, p))
grid = tuple(scores.shape[-2:])
final = net.final_conv
assert (final.in_channels, final.out_channels, final.kernel_size) == (512, 21, (1, 1))
assert (tconv.kernel_size, tconv.stride, tconv.padding) == ((k, k), (s, s), (p, p))
assert conv_transpose_output_size(grid, k, s, p) == (32 * grid[0], 32 * grid[1])
print(grid, "->", conv_transpose_output_size(grid, k, s, p))

# %% [markdown]
# Its weights start as bilinear interpolation, so the untrained network already upsamples
# smoothly; training only refines them:

# %%
bilinear = bilinear_kernel(21, 21, 64)
assert torch.equal(tconv.weight.data, bilinear)
print("bilinear-initialised:", torch.equal(tconv.weight.data, bilinear))

# %% [markdown]
# ### Sizes not divisible by 32
#
# ResNet's stride-2 layers round *up*, so an $H \times W$ image gives a
# $\lceil H/32 \rceil \times \lceil W/32 \rceil$ grid, the upsampled map is
# $32\lceil H/32\rceil \ge H$ rows, and the model crops the surplus at the bottom and right.
# The top-left crop keeps every pixel aligned with the grid (a centre crop would shift the
# prediction by half the surplus):

# %%
rows = []
for h, w in [(320, 480), (321, 479), (100, 100), (33, 65)]:
    with torch.no_grad():
        grid = net.backbone(torch.rand(1, 3, h, w)).shape[-2:]
        out = net(torch.rand(1, 3, h, w)).shape[-2:]
    up = conv_transpose_output_size(tuple(grid), k, s, p)
    assert tuple(grid) == (math.ceil(h / 32), math.ceil(w / 32)) and tuple(out) == (
        h,
        w,
    )
    rows.append([f"{a} x {b}" for a, b in [(h, w), grid, up, out]])
Markdown(markdown_table(["input", "backbone grid", "x32", "output (cropped)"], rows))

# %% [markdown]
# ## VGG-16 FCN-32s, 16s and 8s: the skip architecture
#
# Upsampling $\times 32$ in one step gives coarse, blobby masks. The FCN paper's remedy is to
# score the finer pool4 and pool3 maps too, upsample the coarse scores $\times 2$ (a learned
# transposed convolution, bilinear at the start), add them to the finer scores, and upsample
# the sum by only $\times 16$ (FCN-16s) or $\times 8$ (FCN-8s):

# %%
show(plot_fcn_skips())

# %% [markdown]
# The maps along the way for FCN-8s on a $320 \times 480$ image. The shapes come from running
# the model on PyTorch's `meta` device, which computes shapes without allocating or computing
# anything — so the 134-million-parameter network costs nothing here:

# %%
with torch.device("meta"):
    vgg8 = fcn_vgg16(variant="8s")
    x = torch.empty(1, 3, 320, 480)
    for name, stage in vgg8.backbone.named_children():
        x = stage(x)
        print(f"{name:6s}", tuple(x.shape))
    print("conv7 ", tuple(vgg8.head(x).shape))
    print("output", tuple(vgg8(torch.empty(1, 3, 320, 480)).shape))
    assert vgg8(torch.empty(1, 3, 320, 480)).shape == (1, 21, 320, 480)
assert round(sum(p.numel() for p in vgg8.parameters()) / 1e6) == 134

# %% [markdown]
# The skips cost almost nothing: conv6/conv7 (the paper's convolutionalised fc6/fc7) hold
# nearly all of the parameters, and the finer variants even *shrink* because their final
# upsampling kernel is smaller ($k = 16$ for $\times 8$ against $k = 64$ for $\times 32$):


# %%
def count(module):
    return sum(p.numel() for p in module.parameters())


rows = []
with torch.device("meta"):
    for variant in ("32s", "16s", "8s"):
        model = fcn_vgg16(variant=variant)
        upsamplers = sum(
            count(m) for n, m in model.named_children() if "upscore" in n
        )
        frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        rows.append(
            [
                f"FCN-{variant}",
                count(model),
                count(model.backbone),
                count(model.head),
                upsamplers,
                frozen,
            ]
        )
totals = [row[1] for row in rows]
assert all(row[3] > 0.85 * row[1] for row in rows)  # conv6 + conv7: nearly all
assert totals[0] > totals[1] > totals[2]  # 32s > 16s > 8s
Markdown(
    markdown_table(
        ["model", "parameters", "backbone", "conv6 + conv7", "upsamplers", "frozen"],
        rows,
    )
)

# %% [markdown]
# Unlike the paper, which pads the image by 100 pixels and crops each map into place, the
# transconv version pads every convolution "same" and passes `output_size=` to each
# transposed convolution, so every map lines up with no crop at all and any image of at least
# 32 pixels works:

# %%
with torch.device("meta"):
    for h, w in [(32, 32), (33, 47), (100, 77), (321, 479)]:
        assert vgg8(torch.empty(1, 3, h, w)).shape == (1, 21, h, w), (h, w)
print("FCN-8s output == input size for 32x32, 33x47, 100x77 and 321x479")

# %% [markdown]
# ## A learned decoder
#
# A third design replaces the fixed upsamplers with a decoder of five learned stride-2
# transposed convolutions ($k=3$, $s=2$, $p=1$, `output_padding=1`: exactly $\times 2$), each
# followed by ReLU and BatchNorm, with the encoder's pool4 … pool1 maps *added* on the way up
# (the decoder of the widely copied PyTorch port pochih/FCN-pytorch):

# %%
with torch.device("meta"):
    deconv = fcn_vgg16_deconv()
    print(deconv.decoder.deconv1)
    pools, x = {}, torch.empty(1, 3, 320, 480)
    for name, stage in deconv.backbone.named_children():
        x = pools[name] = stage(x)
    for (name, block), skip in zip(
        deconv.decoder.named_children(),
        ["pool4", "pool3", "pool2", "pool1", None],
        strict=True,
    ):
        before = x.shape[-2:]
        x = block(x) + (pools[skip] if skip else 0)
        layer = block.deconv
        assert (
            layer.kernel_size,
            layer.stride,
            layer.padding,
            layer.output_padding,
        ) == ((3, 3), (2, 2), (1, 1), (1, 1))
        assert [type(m) for m in block] == [
            nn.ConvTranspose2d,
            nn.ReLU,
            nn.BatchNorm2d,
        ]
        assert x.shape[-2:] == (2 * before[0], 2 * before[1])  # exactly x2
        print(f"{name} -> {tuple(x.shape)}" + (f"  (+ {skip})" if skip else ""))
    print("classifier ->", tuple(deconv.classifier(x).shape))
    assert deconv.classifier(x).shape == (1, 21, 320, 480)

# %% [markdown]
# ### Why kernel 3, stride 2 — and what it costs
#
# The block mirrors the encoder. $k = 3$ is VGG's kernel size, and a $k = 3, s = 2, p = 1$
# *convolution* is the usual way to halve a feature map ($2n \to n$); the transposed
# convolution with the same parameters is its transpose (see the
# [matrix view](../matrix_view/)), which maps $n$ back to $2n - 1$ or $2n$, and
# `output_padding=1` picks $2n$. It is also the cheapest kernel with a centre tap: 9 weights per
# channel pair. Checked:

# %%
for n in (5, 10, 15):
    assert transconv.conv_output_size(2 * n, 3, stride=2, padding=1) == n
    assert conv_transpose_output_size(n, 3, stride=2, padding=1) == 2 * n - 1
    assert (
        conv_transpose_output_size(n, 3, stride=2, padding=1, output_padding=1)
        == 2 * n
    )
print("conv k=3 s=2 p=1: 2n -> n;  transposed, output_padding=1: n -> 2n")

# %% [markdown]
# But $3$ is not divisible by $2$: the [checkerboard](../checkerboard/) page's uneven overlap.
# Measured with the package, one such layer covers interior output pixels 1, 2 or 4 times
# (1 or 2 per direction), while $k = 4, s = 2, p = 1$ — which also doubles exactly, with no
# `output_padding` — covers every interior pixel 4 times:

# %%
uneven = transconv.overlap_counts(6, 3, 2)
even = transconv.overlap_counts(6, 4, 2)
assert set(uneven[2:-2, 2:-2].unique().tolist()) == {1, 2, 4}
assert set(even[2:-2, 2:-2].unique().tolist()) == {4}
for n in (5, 10, 15):
    assert conv_transpose_output_size(n, 4, stride=2, padding=1) == 2 * n
show(plot_overlap([uneven, even], ["decoder now: k=3, s=2", "alternative: k=4, s=2"]))

# %% [markdown]
# The five stacked blocks compound it (the same count through five layers, as on the
# checkerboard page), and nothing in PyTorch's default initialisation balances the phases: on a
# constant input, the four output phases $(o_y \bmod 2, o_x \bmod 2)$ of a fresh block sum
# different taps (here the last block, 64 → 32 channels). The $k = 4$ alternative costs $16/9$
# as many decoder weights:

# %%
w = DeconvBlock(64, 32).deconv.weight.detach()  # (C_in, C_out, 3, 3), default init
phase = torch.stack(
    [w[:, :, r::2, q::2].sum(dim=(0, 2, 3)) for r in (0, 1) for q in (0, 1)]
)
assert (
    phase.max(dim=0).values - phase.min(dim=0).values
).min() > 0  # every output channel
print("phase sums of output channel 0:", [round(v, 3) for v in phase[:, 0].tolist()])
ratio5 = []
for kernel in (3, 4):
    stacked = transconv.overlap_counts(10, kernel, 2, layers=5)
    margin = 2**5 * kernel  # away from every layer's border
    inside = stacked[margin:-margin, margin:-margin]
    ratio5.append((inside.max() / inside.min()).item())
assert ratio5[0] > 100 and ratio5[1] == 1.0
pairs = [(b.deconv.in_channels, b.deconv.out_channels) for b in deconv.decoder]
weights = {kernel: sum(i * o * kernel**2 for i, o in pairs) for kernel in (3, 4)}
assert weights[4] * 9 == weights[3] * 16
print(
    f"5 stacked layers, max/min interior paths: k=3 {ratio5[0]:.0f}, "
    f"k=4 {ratio5[1]:.0f}"
)
print(f"decoder transposed-conv weights: k=3 {weights[3]:,}, k=4 {weights[4]:,}")

# %% [markdown]
# A drop-in $k = 4$ block, for a reader who wants even overlap (the package keeps the $k = 3$
# decoder, whose trained weights can still learn to balance the phases; the
# [checkerboard](../checkerboard/) page shows that flatness is a property of the weights):

# %%
block4 = nn.Sequential(
    nn.ConvTranspose2d(512, 512, kernel_size=4, stride=2, padding=1),
    nn.ReLU(inplace=True),
    nn.BatchNorm2d(512),
)
with torch.device("meta"):
    block4 = block4.to("meta")
    pool5 = torch.empty(1, 512, 10, 15)
    assert (
        block4(pool5).shape == deconv.decoder.deconv1(pool5).shape == (1, 512, 20, 30)
    )
print(
    block4[0], "->", tuple(block4(torch.empty(1, 512, 10, 15, device="meta")).shape)
)

# %% [markdown]
# ## Every model at a glance
#
# All builders take `num_classes` and `weights` (ImageNet weights for the backbone, `None` by
# default; the name is checked before anything is downloaded), and `build_model(name)` looks
# them up by the names the command line uses:

# %%
for name, builder in MODELS.items():
    params = inspect.signature(builder).parameters
    assert (
        params["num_classes"].default == 21 and params["weights"].default is None
    ), name
try:
    build_model("fcn_resnet18", weights="IMAGENET")
except ValueError as err:
    print("ValueError:", err)
else:
    raise AssertionError("an unknown weights name must fail before any download")

# %%
rows = []
with torch.device("meta"):
    for name in MODELS:
        model = build_model(name, num_classes=21)
        out = model(torch.empty(1, 3, 321, 479)).shape
        rows.append([f"`{name}`", count(model), str(tuple(out))])
Markdown(
    markdown_table(["name", "parameters", "output for a 1x3x321x479 input"], rows)
)
