# %% [markdown]
# # Checkerboard artifacts
#
# Images generated or upsampled by transposed convolutions often carry a faint checkerboard.
# Odena, Dumoulin and Olah traced it to *uneven overlap* ("Deconvolution and Checkerboard
# Artifacts", Distill, 2016): when the kernel size is not divisible by the stride, some output
# pixels receive more kernel taps than their neighbours. This page computes that overlap, checks
# the divisibility rule over a table of kernel sizes and strides, and compares a randomly
# initialised transposed convolution with the fix they propose, resize-then-convolve.

# %%
import torch
from torch import nn
from torch.nn import functional as F

from transconv.bilinear import bilinear_upsampler
from transconv.shapes import upsampling_params
from transconv.viz import overlap_counts, plot_overlap, show_images

# %% [markdown]
# ## Counting overlaps in one dimension
#
# A transposed convolution with stride $s$ stamps a $k$-tap kernel at every $s$-th output
# position. Feeding it ones, with a kernel of ones, counts how many stamps cover each output
# pixel. `overlap_counts` does exactly that (a `(1, n)` input is one row):

# %%
for k in (3, 4):
    counts = overlap_counts((1, 8), (1, k), (1, 2))
    print(f"k={k}, s=2:", counts[0].tolist())

# %% [markdown]
# With $k = 3$ the interior alternates 2, 1, 2, 1: every other pixel gets twice the
# contribution. With $k = 4$ every interior pixel is covered twice; only the borders, where
# fewer stamps reach, differ.
#
# ## Overlap maps in two dimensions
#
# In 2-D the two directions multiply, and the alternation becomes a checkerboard:

# %%
plot_overlap([overlap_counts(5, 3, 2), overlap_counts(5, 4, 2)],
             ["k=3, s=2: uneven", "k=4, s=2: even inside"])

# %% [markdown]
# ## Stacked layers make it worse
#
# A generator upsamples with several transposed convolutions in a row. Stacking them counts
# *paths* from the input to each output pixel, and the uneven pattern compounds into a
# multi-scale grid. The ratio between the most- and least-covered interior pixel grows with
# every layer for $k = 3$ and stays 1 for $k = 4$:

# %%
def interior_ratio(counts: torch.Tensor, margin: int) -> float:
    """Max / min overlap away from a border of ``margin`` pixels."""
    inside = counts[margin:-margin, margin:-margin]
    return (inside.max() / inside.min()).item()


for k in (3, 4):
    ratios = [interior_ratio(overlap_counts(12, k, 2, layers=n), margin=2**n * k)
              for n in (1, 2, 3)]
    print(f"k={k}, s=2, max/min interior overlap for 1, 2, 3 layers:", ratios)

# %%
plot_overlap([overlap_counts(3, 3, 2, layers=n) for n in (1, 2, 3)],
             [f"k=3, s=2, {n} layer{'s' * (n > 1)}" for n in (1, 2, 3)])

# %% [markdown]
# ## The rule: even overlap if and only if $k$ is divisible by $s$
#
# Each output pixel is covered by $\lfloor k/s \rfloor$ or $\lceil k/s \rceil$ stamps, so the
# interior is even exactly when $s$ divides $k$. We check that for every pair with
# $1 \le k \le 7$ and $1 \le s \le 4$, computing the interior overlap of a long row each time:

# %%
def interior_is_even(k: int, s: int) -> bool:
    """Whether every output pixel that all stamps can reach is covered equally."""
    n = 2 * k + 2
    row = overlap_counts((1, n), (1, k), (1, s))[0]
    inside = row[k - 1:(n - 1) * s + 1]
    return bool(inside.min() == inside.max())


print("     " + "".join(f"{f's={s}':>8}" for s in range(1, 5)))
for k in range(1, 8):
    print(f"k={k}:" + "".join(f"{'even' if interior_is_even(k, s) else 'uneven':>8}"
                             for s in range(1, 5)))
pairs = [(k, s) for k in range(1, 8) for s in range(1, 5)]
agree = all(interior_is_even(k, s) == (k % s == 0) for k, s in pairs)
print(f"even overlap exactly when k % s == 0, for all {len(pairs)} pairs:", agree)

# %% [markdown]
# That is why FCN-style upsamplers use $k = 2f$ for an even factor $f$: the kernel is
# divisible by the stride. `transconv.shapes.upsampling_params` picks $k = 2f - (f \bmod 2)$,
# so for odd $f$ the kernel is *not* divisible — yet the bilinear weights still turn a constant
# image into a constant interior, because the taps that reach each output phase sum to the
# same value. Computed:

# %%
for factor in (2, 3, 4, 5, 32):
    k, s, p = upsampling_params(factor)
    with torch.no_grad():
        out = bilinear_upsampler(1, factor)(torch.ones(1, 1, 8, 8))[0, 0]
    inside = out[2 * factor:-2 * factor, 2 * factor:-2 * factor]
    low, high = inside.min().item(), inside.max().item()
    print(f"factor {factor:>2}: k={k:>2} s={s:>2} p={p:>2}  k % s = {k % s}  "
          f"interior min/max on ones: {low:.4f} / {high:.4f}")

# %% [markdown]
# ## What a network produces: a constant image
#
# Overlap counts assume a kernel of ones. A real layer has different weights on each tap, so
# we look at what randomly initialised layers do to the most boring input there is — a
# constant image. Any pattern in the output is an artifact. All weights come from one seeded
# generator:

# %%
generator = torch.Generator().manual_seed(0)
channels = 4


def randomise(layer: nn.Module) -> nn.Module:
    """Replace every parameter with N(0, 0.3^2) samples from the page's generator."""
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
    return layer


constant = torch.ones(1, channels, 16, 16)

# %% [markdown]
# Four ways to double the size: transposed convolutions with $k = 3$ and $k = 4$ (stride 2,
# padding chosen so that $16 \to 32$), and the fix from the Distill article — resize with
# nearest or bilinear interpolation, *then* apply an ordinary $3 \times 3$ convolution.

# %%
upsamplers = {
    "transposed k=3, s=2": randomise(nn.ConvTranspose2d(
        channels, channels, 3, stride=2, padding=1, output_padding=1, bias=False)),
    "transposed k=4, s=2": randomise(nn.ConvTranspose2d(
        channels, channels, 4, stride=2, padding=1, bias=False)),
    "nearest, then conv": nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        randomise(nn.Conv2d(channels, channels, 3, padding=1))),
    "bilinear, then conv": nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        randomise(nn.Conv2d(channels, channels, 3, padding=1))),
}
with torch.no_grad():
    outputs = {name: layer(constant) for name, layer in upsamplers.items()}
for name, out in outputs.items():
    inside = out[..., 2:-2, 2:-2]
    print(f"{name:>20}: {tuple(out.shape)}  interior std across pixels "
          f"{inside.std(dim=(-2, -1)).mean().item():.4f}")

# %% [markdown]
# Both transposed convolutions paint a pattern onto the constant image — **including**
# $k = 4$. Even overlap only says every pixel gets the same *number* of taps; with random
# weights, the four output phases of a stride-2 layer still sum four different subsets of the
# kernel. The resize-then-convolve layers give a constant interior (std 0 up to rounding): every
# output pixel sees the same neighbourhood of identical values. (Each panel below has its own
# colour scale; the edges of the last two differ only because the convolution pads with zeros.)

# %%
maps = [out[0, 0] for out in outputs.values()]
show_images(maps, list(outputs), cmap="magma", scale=2.6)

# %% [markdown]
# So divisibility is necessary for artifact-free transposed convolutions, not sufficient:
# a trained network has to *learn* to balance the phases, and the pattern returns whenever it
# does not. Resize-then-convolve removes the problem by construction, at the price of a fixed
# (not learnt) interpolation step. FCN, whose upsampling starts from bilinear weights with
# $k = 2s$, sits in between: it starts balanced and can drift.
