# %% [markdown]
# # Fully convolutional networks
#
# A fully convolutional network (FCN; Long, Shelhamer & Darrell, 2015) turns an image
# classifier into a per-pixel classifier: drop the global pooling and fully connected layers,
# score every cell of the last feature map with a $1 \times 1$ convolution, and upsample the
# scores back to the image with a **transposed convolution** initialised as bilinear
# interpolation. This page builds the three FCNs in `transconv.models` and prints their shapes.

# %%
import torch
from IPython.display import Markdown

from transconv.bilinear import bilinear_kernel
from transconv.models import (
    MODELS,
    build_model,
    fcn_resnet18,
    fcn_vgg16,
    fcn_vgg16_deconv,
)
from transconv.shapes import conv_transpose_output_size, upsampling_params
from transconv.viz import markdown_table, plot_fcn_skips

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
print(grid, "->", conv_transpose_output_size(grid, k, s, p))

# %% [markdown]
# Its weights start as bilinear interpolation, so the untrained network already upsamples
# smoothly; training only refines them:

# %%
bilinear = bilinear_kernel(21, 21, 64)
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
plot_fcn_skips()

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
        upsamplers = sum(count(m) for n, m in model.named_children() if "upscore" in n)
        frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
        rows.append([f"FCN-{variant}", count(model), count(model.backbone),
                     count(model.head), upsamplers, frozen])
Markdown(markdown_table(
    ["model", "parameters", "backbone", "conv6 + conv7", "upsamplers", "frozen"], rows))

# %% [markdown]
# Unlike the paper, which pads the image by 100 pixels and crops each map into place, the
# transconv version pads every convolution "same" and passes `output_size=` to each
# transposed convolution, so every map lines up with no crop at all and any image of at least
# 32 pixels works.
#
# ## A learned decoder
#
# A third design replaces the fixed upsamplers with a decoder of five learned stride-2
# transposed convolutions ($k=3$, $s=2$, $p=1$, `output_padding=1`: exactly $\times 2$), each
# followed by ReLU and BatchNorm, with the encoder's pool4 … pool1 maps *added* on the way up:

# %%
with torch.device("meta"):
    deconv = fcn_vgg16_deconv()
    print(deconv.decoder.deconv1)
    pools, x = {}, torch.empty(1, 3, 320, 480)
    for name, stage in deconv.backbone.named_children():
        x = pools[name] = stage(x)
    for (name, block), skip in zip(deconv.decoder.named_children(),
                                   ["pool4", "pool3", "pool2", "pool1", None]):
        x = block(x) + (pools[skip] if skip else 0)
        print(f"{name} -> {tuple(x.shape)}" + (f"  (+ {skip})" if skip else ""))
    print("classifier ->", tuple(deconv.classifier(x).shape))

# %% [markdown]
# ## Every model at a glance
#
# All builders take `num_classes` and `weights` (ImageNet weights for the backbone, `None` by
# default; the name is checked before anything is downloaded), and `build_model(name)` looks
# them up by the names the command line uses:

# %%
rows = []
with torch.device("meta"):
    for name in MODELS:
        model = build_model(name, num_classes=21)
        out = model(torch.empty(1, 3, 321, 479)).shape
        rows.append([f"`{name}`", count(model), str(tuple(out))])
Markdown(markdown_table(["name", "parameters", "output for a 1x3x321x479 input"], rows))
