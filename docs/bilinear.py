# %% [markdown]
# # Bilinear initialisation
#
# FCN initialises its upsampling layers so that, before any training, they perform bilinear
# interpolation. A transposed convolution with stride $f$ stamps one kernel per input pixel,
# $f$ output pixels apart; if that kernel is a "tent" falling linearly from the centre to zero
# $f$ output pixels away — one input pixel's spacing, where the neighbouring stamp is centred —
# overlapping stamps blend neighbouring pixels linearly. This page builds the kernel, upsamples
# a photo with it and compares the result with `F.interpolate`; each claim is asserted.

# %% [markdown]
# ## The kernel
#
# For kernel size $k$, factor $f = \lceil k / 2 \rceil$ and centre $c$ ($f - 1$ for odd $k$,
# $f - \tfrac12$ for even $k$), tap $(a, b)$ of the kernel is
#
# $$w_{ab} = \Bigl(1 - \frac{|a - c|}{f}\Bigr)\Bigl(1 - \frac{|b - c|}{f}\Bigr).$$
#
# Each factor $1 - |a - c|/f$ is a tent of half-width $f$: it reaches zero $f$ output pixels
# from the centre, and the kernel keeps exactly the taps closer than that, so every weight is
# positive and the next tap outwards would be 0 or less. With stride $s = f$, the next stamp
# is centred $f$ output pixels away: the tent of one input pixel ends where its neighbour's
# peaks. Checked for several factors against `bilinear_kernel`:

# %%
import torch

from transconv.bilinear import bilinear_kernel
from transconv.shapes import upsampling_params

for f in (2, 3, 4, 8):
    k, s, p = upsampling_params(f)
    c = f - 1 if k % 2 else f - 0.5
    # distance of each tap from the centre, in output pixels
    distance = torch.arange(k, dtype=torch.float64) - c
    tent = 1 - distance.abs() / f
    print(f"f={f}: k={k}, taps at distances {distance.tolist()[:5]}"
          f"{'...' if k > 5 else ''} from the centre; zero at distance {f}")

# %% tags=["remove-input"]
torch.set_printoptions(precision=4, sci_mode=False)
for f in (2, 3, 4, 8):
    k, s, p = upsampling_params(f)
    c = f - 1 if k % 2 else f - 0.5
    distance = torch.arange(k, dtype=torch.float64) - c
    tent = 1 - distance.abs() / f
    expected = tent[:, None] * tent[None, :]
    torch.testing.assert_close(bilinear_kernel(1, 1, k)[0, 0].double(), expected, rtol=0, atol=1e-7)
    assert s == f and tent.min() > 0 and f - 1 <= distance.abs().max() < f

# %% [markdown]
# For $\times 2$, `upsampling_params(2)` asks for $k = 4$:

# %%
k, s, p = upsampling_params(2)
print("kernel_size, stride, padding =", (k, s, p))
bilinear_kernel(1, 1, k)[0, 0]

# %% tags=["remove-input"]
assert (k, s, p) == (4, 2, 1)

# %% [markdown]
# Larger factors give wider tents; as images:

# %%
from transconv.viz import show, show_images

sizes = [upsampling_params(f)[0] for f in (2, 3, 4, 8)]
kernels = [bilinear_kernel(1, 1, k)[0, 0] for k in sizes]
show(show_images(kernels, [f"k = {k}" for k in sizes], cmap="viridis"))

# %% [markdown]
# The weight has the `ConvTranspose2d` layout $(C_\text{in}, C_\text{out}, k, k)$ and is
# diagonal in the channels: channel $i$ is upsampled into channel $i$ only, so colours do
# not mix. Here are the (input, output) channel pairs that hold any weight:

# %%
w = bilinear_kernel(3, 3, 4)
pairs = w.abs().sum(dim=(2, 3)).nonzero().tolist()
print(tuple(w.shape), [tuple(pair) for pair in pairs])

# %% tags=["remove-input"]
assert pairs == [[0, 0], [1, 1], [2, 2]]

# %% [markdown]
# ## Upsampling a photo
#
# Matplotlib ships a portrait of Grace Hopper with its sample data (nothing is downloaded).
# We shrink it to a thumbnail so the $\times 2$ and $\times 4$ results are easy to compare.

# %%
import matplotlib.cbook
import numpy as np
from PIL import Image

with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = Image.open(file).convert("RGB")
thumb = photo.resize((photo.width // 8, photo.height // 8), Image.BICUBIC)
x = torch.from_numpy(np.array(thumb)).permute(2, 0, 1)[None].double() / 255
print("photo (width, height)", photo.size, "-> thumbnail tensor", tuple(x.shape))

# %%
from transconv.bilinear import bilinear_upsampler

up2 = bilinear_upsampler(3, 2).double()
up4 = bilinear_upsampler(3, 4).double()
with torch.no_grad():
    y2, y4 = up2(x), up4(x)
print(up4)
print("x2:", tuple(y2.shape), " x4:", tuple(y4.shape))

# %%
show(show_images(
    [x[0], y2[0].clamp(0, 1), y4[0].clamp(0, 1)],
    ["input", "x2 transposed conv", "x4 transposed conv"],
))

# %% [markdown]
# ## Equal to F.interpolate, except at the border
#
# `F.interpolate(mode="bilinear", align_corners=False)` computes the same weighted averages.
# Away from the border the two agree to rounding error (the float32 kernel taps, converted
# to float64 here):

# %%
from torch.nn import functional as F

ref4 = F.interpolate(x, scale_factor=4, mode="bilinear", align_corners=False)
diff4 = (y4 - ref4).abs()
band = 2
inner = (..., slice(band, -band), slice(band, -band))
print(f"inside a {band}-pixel border: max |difference| {diff4[inner].max():.2e}")
print(f"overall:                  max |difference| {diff4.max():.4f}")

# %% tags=["remove-input"]
torch.testing.assert_close(y4[inner], ref4[inner])

# %% [markdown]
# At the border they differ. The transposed convolution treats pixels outside the image as
# **zero**, so border pixels lose the weight that would have come from outside and come out
# darker; `interpolate` **clamps** coordinates to the edge pixel instead. An image of ones
# shows the attenuation directly (top-left corner of a $\times 2$ upsampling):

# %%
with torch.no_grad():
    ones_up = bilinear_upsampler(1, 2)(torch.ones(1, 1, 4, 4))[0, 0]
print(ones_up[:3, :3])

# %% tags=["remove-input"]
assert ones_up[0].max() < 1 and ones_up[:, 0].max() < 1  # the border row and column: darker
assert torch.equal(ones_up[1:-1, 1:-1], torch.ones(6, 6))  # inside: exactly 1

# %% [markdown]
# How far in does the difference reach? The largest difference at each distance from the
# nearest border, for several factors, on the photo:


# %%
def border_profile(factor, depth=6):
    """Max |transposed conv - interpolate| at each distance from the border."""
    with torch.no_grad():
        ours = bilinear_upsampler(3, factor).double()(x)
    ref = F.interpolate(x, scale_factor=factor, mode="bilinear")
    diff = (ours - ref).abs()
    h, w = diff.shape[-2:]
    rows, cols = torch.arange(h), torch.arange(w)
    row_dist = torch.minimum(rows, h - 1 - rows)
    col_dist = torch.minimum(cols, w - 1 - cols)
    dist = torch.minimum(row_dist[:, None], col_dist[None, :])
    return [diff[..., dist == d].max().item() for d in range(depth)]


profiles = {f"x{f}": border_profile(f) for f in (2, 3, 4, 8)}
for name, values in profiles.items():
    print(name, " ".join(f"{v:.1e}" for v in values))

# %% tags=["remove-input"]
for name, values in profiles.items():
    band = int(name[1:]) // 2
    assert min(values[:band]) > 1e-3 and max(values[band:]) < 1e-6, name

# %%
from transconv.viz import plot_series

show(plot_series(
    list(range(6)),
    profiles,
    xlabel="distance from the border (pixels)",
    ylabel="max |difference|",
    title="transposed conv vs F.interpolate",
))

# %% [markdown]
# So the difference is confined to a band of $\lfloor f/2 \rfloor$ output pixels (asserted
# for each factor above): the stamps of the missing outside pixels would have reached that
# far. The top-left corner of the $\times 4$ difference map shows the frame:

# %%
from transconv.viz import show_matrix

corner = diff4[0].mean(0)[:12, :12]
show(show_matrix(corner, title="|x4 transposed conv - interpolate|, corner"))

# %% [markdown]
# ## Making them equal everywhere
#
# Replace the zeros outside by copies of the edge pixels, i.e. pad the input by one pixel in
# `replicate` mode, upsample, and crop the $f$ extra output pixels on each side. That is
# exactly what clamping does:

# %%
def replicate_then_crop(x, f):
    """Bilinear transposed convolution of x padded by copies of its edge pixels."""
    with torch.no_grad():
        up = bilinear_upsampler(x.shape[1], f).double()
        return up(F.pad(x, (1, 1, 1, 1), mode="replicate"))[..., f:-f, f:-f]


for f in (2, 3, 4, 8):
    ref = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
    difference = (replicate_then_crop(x, f) - ref).abs().max()
    print(f"x{f}: max |difference| {difference:.2e}")

# %% tags=["remove-input"]
for f in (2, 3, 4, 8):
    ref = F.interpolate(x, scale_factor=f, mode="bilinear", align_corners=False)
    torch.testing.assert_close(replicate_then_crop(x, f), ref)

# %% [markdown]
# In FCN the border is a few pixels of a large image, so FCN simply starts its upsamplers
# from the bilinear kernel without the padding. Whether training may then change them differs
# between implementations: the paper and the reference nets keep the final one fixed, d2l
# trains it ([Upsampling methods](../upsampling_methods/#learnt-or-frozen-at-bilinear) says
# which and why); the [FCN](../fcn/) page puts them to work.
#
# ## Exercises
#
# **1.** Write down the $\times 3$ kernel by hand: $k = 5$, $f = 3$, centre $c = 2$. What is
# the 1-D tent, and does its outer product match `bilinear_kernel(1, 1, 5)`?

# %% tags=["solution"]
tent3 = torch.tensor([1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])  # 1 - |a - 2| / 3
kernel5 = bilinear_kernel(1, 1, 5)[0, 0]
torch.testing.assert_close(kernel5, torch.outer(tent3, tent3))
tent3

# %% [markdown]
# **2.** Each input pixel stamps one kernel, and $\times f$ upsampling gives each input
# pixel $f^2$ output pixels. So what must the kernel's taps sum to for a constant image to
# stay constant? Check for $f = 2, 3, 4, 8$.

# %% tags=["solution"]
sums = {}
for f in (2, 3, 4, 8):
    sums[f] = bilinear_kernel(1, 1, upsampling_params(f)[0]).sum().item()
    assert abs(sums[f] - f**2) < 1e-4  # each input pixel fills f^2 outputs
    with torch.no_grad():  # and the constant image does stay constant, away from the border
        flat = bilinear_upsampler(1, f)(torch.ones(1, 1, 6, 6))[0, 0, f:-f, f:-f]
    assert torch.allclose(flat, torch.ones_like(flat))
sums

# %% [markdown]
# **3.** Bilinear interpolation reproduces straight lines. Upsample a horizontal ramp
# $0, 1, \dots, 7$ by $\times 2$: away from the border, are the steps between neighbouring
# output pixels all equal, and how large are they?

# %% tags=["solution"]
ramp = torch.arange(8.0).repeat(8, 1)[None, None]
with torch.no_grad():
    up = bilinear_upsampler(1, 2)(ramp)
row = up[0, 0, 8, 1:-1]  # a middle row, without the 1-pixel band (2 // 2)
steps = row.diff()
assert torch.allclose(steps, torch.full_like(steps, 0.5))  # half an input step
steps.unique()

# %% [markdown]
# **4.** How wide is the band for $f = 5$ and $f = 6$? Predict it from $\lfloor f/2 \rfloor$,
# then measure it on the photo with `border_profile`.

# %% tags=["solution"]
widths = {}
for f in (5, 6):
    profile = border_profile(f)
    widths[f] = next(d for d, v in enumerate(profile) if v < 1e-6)
assert widths == {5: 5 // 2, 6: 6 // 2}
widths
