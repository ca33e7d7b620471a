# %% [markdown]
# # Upsampling methods
#
# A semantic segmentation network labels every pixel of an image with a class. It shrinks its
# input (pooling, strided convolutions) and must grow the result back to one prediction per
# pixel. There are five common ways to grow a feature map by an integer factor $f$. Four are fixed rules; the last, the **transposed convolution**, is a
# layer with weights that can be learnt (and initialised to behave like the bilinear rule).
#
# This page runs all five on the same photo — Grace Hopper's portrait, which ships with
# matplotlib, so nothing is downloaded — and prints every shape.

# %% [markdown]
# ## The photo and its downsampled version
#
# We crop the face to a $224 \times 224$ RGB tensor with values in $[0, 1]$, then shrink it by
# $f = 4$ with $4 \times 4$ max pooling. `return_indices=True` also remembers *where* each
# maximum was — max-unpooling needs that.

# %%
import matplotlib.cbook as cbook
import numpy as np
import torch
from PIL import Image

with cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = np.asarray(Image.open(file).convert("RGB"))
print("photo (H, W, C):", photo.shape)
face = photo[120:344, 150:374].copy()
# (H, W, C) bytes -> a batch of one (1, C, H, W) in [0, 1]
x = torch.from_numpy(face).permute(2, 0, 1).float().unsqueeze(0) / 255

# %%
from torch.nn import functional as F

f = 4
small, indices = F.max_pool2d(x, kernel_size=f, return_indices=True)
print("x:", tuple(x.shape), "-> small:", tuple(small.shape),
      "indices:", tuple(indices.shape))

# %% tags=["remove-input"]
assert x.shape == (1, 3, 224, 224) and 0 <= x.min() and x.max() <= 1
assert small.shape[-2:] == (224 // f, 224 // f)

# %% [markdown]
# Every method below turns `small` back into a $224 \times 224$ image.
#
# ## Nearest neighbour and bilinear interpolation
#
# Nearest-neighbour interpolation copies each pixel into an $f \times f$ block. Bilinear
# interpolation blends the four nearest input pixels, weighted by distance (with
# `align_corners=False`, pixel centres sit at half-integer positions, as in the rest of
# PyTorch).

# %%
nearest = F.interpolate(small, scale_factor=f, mode="nearest")
bilinear = F.interpolate(small, scale_factor=f, mode="bilinear",
                         align_corners=False)
print("nearest:", tuple(nearest.shape), " bilinear:", tuple(bilinear.shape))

# %% tags=["remove-input"]
blocks = small.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1)
assert torch.equal(nearest, blocks)  # "copies each pixel into an f x f block"

# %% [markdown]
# ## Bed of nails
#
# Put each input pixel in the top-left corner of its $f \times f$ block and fill the rest
# with zeros:

# %%
nails = torch.zeros_like(x)
nails[..., ::f, ::f] = small
fraction = (nails != 0).float().mean().item()
print("bed of nails:", tuple(nails.shape),
      f"non-zero fraction: {fraction:.4f} (1/f² = {1 / f**2:.4f})")

# %% tags=["remove-input"]
assert abs(fraction - 1 / f**2) < 1e-3

# %% [markdown]
# Bed of nails *is* a transposed convolution: stride $f$ and an $f \times f$ kernel that is 1
# in its top-left tap and 0 elsewhere (one kernel per channel, so `groups=3`). Each input
# pixel stamps the kernel, scaled by its value, into its own block:

# %%
one_hot = torch.zeros(3, 1, f, f)
one_hot[:, :, 0, 0] = 1
as_transposed = F.conv_transpose2d(small, one_hot, stride=f, groups=3)
print("equal to the transposed convolution:", torch.equal(as_transposed, nails))

# %% tags=["remove-input"]
assert torch.equal(as_transposed, nails)

# %% [markdown]
# ## Max-unpooling
#
# Max-unpooling (SegNet, Badrinarayanan et al. 2015) is bed of nails with the nail placed where
# the maximum came from: `F.max_unpool2d` writes each value back at the position recorded by
# `max_pool2d` and zeros everywhere else.

# %%
unpooled = F.max_unpool2d(small, indices, kernel_size=f)
unpooled_fraction = (unpooled != 0).float().mean().item()
print("max-unpooled:", tuple(unpooled.shape),
      f"non-zero fraction: {unpooled_fraction:.4f}")
gathered = unpooled.flatten(2).gather(2, indices.flatten(2))
back = torch.equal(gathered, small.flatten(2))
print("every value back where it came from:", back)

# %% tags=["remove-input"]
assert back and abs(unpooled_fraction - 1 / f**2) < 1e-3

# %% [markdown]
# ## Transposed convolution, initialised bilinearly
#
# `transconv.bilinear.bilinear_upsampler` builds an `nn.ConvTranspose2d` whose kernel size,
# stride and padding give exactly $f\times$ the input size and whose weights are the bilinear
# kernel. It is an ordinary layer: training can change the weights.

# %%
from transconv.bilinear import bilinear_upsampler

upsampler = bilinear_upsampler(3, f)
with torch.no_grad():
    transposed = upsampler(small)
print(upsampler)
parameters = sum(p.numel() for p in upsampler.parameters())
print("transposed convolution:", tuple(transposed.shape),
      " learnable parameters:", parameters)

# %% tags=["remove-input"]
assert transposed.shape == x.shape and parameters > 0
assert all(p.requires_grad for p in upsampler.parameters())  # training changes them

# %% [markdown]
# Away from the border it computes bilinear interpolation exactly; at the border it sees
# implicit zeros outside the image, so the outermost pixels come out darker:

# %%
inner = (..., slice(f, -f), slice(f, -f))
print(f"max |transposed - bilinear| inside a {f}-pixel border:",
      f"{(transposed - bilinear)[inner].abs().max().item():.2e}")
first_rows = [t[..., 0, :].mean().item() for t in (transposed, bilinear)]
print("mean brightness of the first row: transposed {:.3f}, bilinear {:.3f}"
      .format(*first_rows))

# %% tags=["remove-input"]
assert (transposed - bilinear)[inner].abs().max() < 1e-5
assert first_rows[0] < first_rows[1]

# %% [markdown]
# ## Side by side
#
# All five outputs are $224 \times 224$; `small` is drawn at the same size so its blocks show.
# The panels of a figure are scaled together, so compare them by eye within one figure.

# %%
from transconv.viz import show, show_images

results = {
    "original {}×{}".format(*x.shape[-2:]): x,
    "max-pooled {}×{}".format(*small.shape[-2:]): small, "nearest": nearest,
    "bilinear": bilinear, "bed of nails": nails, "max-unpooling": unpooled,
    "transposed conv (bilinear init)": transposed,
}
for name, tensor in results.items():
    print(f"{name:>32}: {tuple(tensor.shape)}")

# %% tags=["remove-input"]
outputs = list(results.values())[2:]
assert len(outputs) == 5 and all(t.shape == x.shape for t in outputs)

# %%
images = [t[0].clamp(0, 1) for t in results.values()]
show(show_images(images, list(results), ncols=4, scale=1.8))

# %% [markdown]
# Bed of nails and max-unpooling look dark because only $1/f^2$ of their pixels are non-zero
# (the fractions printed above). Zooming in on a $32 \times 32$ patch at the glasses shows
# the structure of each method: blocks (nearest), smooth ramps (bilinear and the transposed
# convolution), a regular grid of nails, and nails that follow the brightest pixel of each
# block (max-unpooling). Pooling works per channel, so the red, green and blue maxima of a
# block need not sit at the same position; in the blocks where they differ (the share is
# printed below) the unpooled nails come out coloured.

# %%
same_place = (indices[0, 0] == indices[0, 1]) & (indices[0, 1] == indices[0, 2])
print(f"blocks whose R, G and B maxima sit at different positions: "
      f"{1 - same_place.float().mean().item():.0%}")

# %% tags=["remove-input"]
assert 0 < same_place.float().mean() < 1
assert nails.mean() < x.mean() / 2 and unpooled.mean() < x.mean() / 2  # darker

# %%
patch = (0, slice(None), slice(64, 96), slice(64, 96))
patches = [t[patch].clamp(0, 1) for t in results.values()]
names = [name.split(" (")[0] for name in list(results)[2:]]
show(show_images(patches[2:], names, ncols=3, scale=2.3))

# %% [markdown]
# ## Learnt, or frozen at bilinear?
#
# Nearest, bilinear, bed of nails and max-unpooling have no parameters. The transposed
# convolution has weights, but whether they are trained is a choice, and the FCN
# implementations choose differently:
#
# - **The FCN paper** (Long et al. 2015) fixes the *final* upsampling layer to bilinear
#   interpolation and initialises the in-network $2\times$ upsamplers of FCN-16s and FCN-8s
#   bilinearly, then learns them.
# - **The authors' reference Caffe nets** (`voc-fcn32s`, `voc-fcn16s`, `voc-fcn8s` in
#   shelhamer/fcn.berkeleyvision.org, `net.py`) freeze *every* deconvolution, the $2\times$ ones
#   too, with `param=[dict(lr_mult=0)]`.
# - **`transconv.models.fcn_vgg16`** follows the paper: its final `upscore` has
#   `requires_grad=False`, its `upscore2_pool4` and `upscore2_pool3` are trained.
# - **d2l's FCN** (`transconv.models.fcn_resnet18` here) trains its single $32\times$ layer
#   like every other weight, starting from the bilinear kernel.
#
# Why freeze it? The reference implementation's FAQ ("Is learning the interpolation
# necessary?") reports no significant difference in accuracy between learnt and fixed bilinear
# kernels (their first experiments learnt them), and fixing them gives a slight speed-up. Why
# train it? It costs nothing to let the optimiser try, and it is the simplest code: d2l only
# initialises the layer and trains the whole network. Checked on the
# models here (a narrow VGG head keeps the check cheap):

# %%
from transconv.models import fcn_resnet18, fcn_vgg16

vgg = fcn_vgg16(variant="8s", fc_channels=8)
resnet = fcn_resnet18()
layers = {"fcn_vgg16 upscore": vgg.upscore,
          "fcn_vgg16 upscore2_pool4": vgg.upscore2_pool4,
          "fcn_resnet18 transpose_conv": resnet.transpose_conv}
for name, layer in layers.items():
    size = tuple(layer.weight.shape[-2:])
    print(f"{name}: kernel {size}, trained: {layer.weight.requires_grad}")

# %% tags=["remove-input"]
assert not vgg.upscore.weight.requires_grad
assert vgg.upscore2_pool4.weight.requires_grad and vgg.upscore2_pool3.weight.requires_grad
assert resnet.transpose_conv.weight.requires_grad
assert resnet.transpose_conv.weight.shape[-2:] == (64, 64)

# %% [markdown]
# The [FCN](../fcn/) page puts these upsamplers to work; kernel size and stride need care
# for the reasons on [Checkerboard artifacts](../checkerboard/).
