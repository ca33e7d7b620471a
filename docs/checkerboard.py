# %% [markdown]
# # Checkerboard artifacts
#
# Images generated or upsampled by transposed convolutions often carry a faint checkerboard.
# Odena, Dumoulin and Olah traced it to *uneven overlap* ("Deconvolution and Checkerboard
# Artifacts", Distill, 2016): when the kernel size is not divisible by the stride, some output
# pixels receive more kernel taps than their neighbours. This page computes that overlap, checks
# the divisibility rule over a table of kernel sizes and strides, separates it from what the
# *weights* do, and compares a randomly initialised transposed convolution with the fix they
# propose, resize-then-convolve. Every rule stated here is asserted by the cell below it.

# %%
import torch
from torch import nn
from torch.nn import functional as F

import transconv
from transconv.bilinear import bilinear_kernel, bilinear_upsampler
from transconv.shapes import upsampling_params
from transconv.viz import plot_overlap, show, show_images

overlap_counts = transconv.overlap_counts

# %% [markdown]
# ## Counting overlaps in one dimension
#
# A transposed convolution with stride $s$ stamps a $k$-tap kernel at every $s$-th output
# position. Feeding it ones, with a kernel of ones, counts how many stamps cover each output
# pixel. `overlap_counts` does exactly that (a `(1, n)` input is one row):

# %%
rows = {k: overlap_counts((1, 8), (1, k), (1, 2))[0] for k in (3, 4)}
for k, counts in rows.items():
    print(f"k={k}, s=2:", counts.tolist())
inner3, inner4 = rows[3][2:-2], rows[4][2:-2]
assert inner3.tolist() == [2, 1] * (len(inner3) // 2) + [2] * (len(inner3) % 2)
assert set(inner4.tolist()) == {2} and rows[4][0] == 1

# %% [markdown]
# With $k = 3$ the interior alternates 2, 1, 2, 1: every other pixel gets twice the
# contribution. With $k = 4$ every interior pixel is covered twice; only the borders, where
# fewer stamps reach, differ (the asserts above check both rows).
#
# ## Overlap maps in two dimensions
#
# In 2-D the two directions multiply (the map is the outer product of the 1-D rows), and the
# alternation becomes a checkerboard:

# %%
for k in (3, 4):
    row = overlap_counts((1, 5), (1, k), (1, 2))[0]
    assert torch.equal(overlap_counts(5, k, 2), row[:, None] * row[None, :])
show(plot_overlap(
    [overlap_counts(5, 3, 2), overlap_counts(5, 4, 2)],
    ["k=3, s=2: uneven", "k=4, s=2: even inside"],
))

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


ratios = {
    k: [
        interior_ratio(overlap_counts(12, k, 2, layers=n), margin=2**n * k)
        for n in (1, 2, 3)
    ]
    for k in (3, 4)
}
for k, values in ratios.items():
    print(f"k={k}, s=2, max/min interior overlap for 1, 2, 3 layers:", values)
assert ratios[3][0] < ratios[3][1] < ratios[3][2]
assert ratios[4] == [1.0, 1.0, 1.0]

# %%
show(plot_overlap(
    [overlap_counts(3, 3, 2, layers=n) for n in (1, 2, 3)],
    [f"k=3, s=2, {n} layer{'s' * (n > 1)}" for n in (1, 2, 3)],
))

# %% [markdown]
# ## The rule for counts: uniform if and only if the stride divides the kernel size
#
# The stamps that reach output pixel $o$ are the kernel taps $j \equiv o \pmod s$, so an
# interior pixel is covered by $\lfloor k/s \rfloor$ or $\lceil k/s \rceil$ stamps: all
# pixels get the same count exactly when $s$ divides $k$. We check both statements for every
# pair with $1 \le k \le 12$ and $1 \le s \le 6$, computing the interior of a long row each time:


# %%
def interior_counts(k: int, s: int) -> torch.Tensor:
    """Overlap counts of the output pixels that every stamp position can reach."""
    n = 2 * k + 2
    row = overlap_counts((1, n), (1, k), (1, s))[0]
    return row[k - 1 : (n - 1) * s + 1]


def interior_is_even(k: int, s: int) -> bool:
    inside = interior_counts(k, s)
    return bool(inside.min() == inside.max())


pairs = [(k, s) for k in range(1, 13) for s in range(1, 7)]
for k, s in pairs:
    assert set(interior_counts(k, s).tolist()) <= {k // s, -(-k // s)}, (k, s)
    assert interior_is_even(k, s) == (k % s == 0), (k, s)
print("     " + "".join(f"{f's={s}':>8}" for s in range(1, 7)))
for k in range(1, 13):
    print(
        f"k={k:<2}"
        + "".join(
            f"{'even' if interior_is_even(k, s) else 'uneven':>8}"
            for s in range(1, 7)
        )
    )
print(f"counts uniform exactly when k % s == 0: checked for all {len(pairs)} pairs")

# %% [markdown]
# ## Counts are not the whole story: weights can compensate
#
# Overlap *counts* describe a kernel of ones. A real kernel has different weights, and on a
# constant image what each output pixel receives is the **sum of the weights** of its taps.
# For one channel and a separable kernel, output pixel $o$ of a constant image gets
# $\sum_{j \equiv o \ (\mathrm{mod}\ s)} w_j$ per direction, so the interior is flat exactly
# when these $s$ *phase sums* are equal. That is a condition on the weights, separate from
# divisibility:
#
# * **Not necessary.** `upsampling_params(f)` picks $k = 2f - (f \bmod 2)$, so for odd $f$
#   the kernel is *not* divisible by the stride ($k = 5, s = 3$ for $f = 3$), and the overlap
#   counts are uneven; yet the bilinear tent's weights fall by exactly $1/f$ per tap, so
#   every phase sums to 1 and a constant image stays constant.
# * **Not sufficient.** With random weights, $k = 4, s = 2$ has uniform counts, but its two
#   phases sum different taps (see the constant-image experiment below).
#
# Computed for the bilinear upsamplers, with the overlap counts of the same $(k, s)$ beside them:


# %%
def phase_sums(kernel: torch.Tensor, s: int) -> list[float]:
    """Sum of the taps landing on each output phase (o mod s per direction)."""
    if kernel.dim() == 1:
        return [round(kernel[r::s].sum().item(), 6) for r in range(s)]
    return [
        round(kernel[r::s, q::s].sum().item(), 6) for r in range(s) for q in range(s)
    ]


for factor in (2, 3, 4, 5, 32):
    k, s, p = upsampling_params(factor)
    sums = phase_sums(bilinear_kernel(1, 1, k)[0, 0].double(), s)
    with torch.no_grad():
        out = bilinear_upsampler(1, factor)(torch.ones(1, 1, 8, 8))[0, 0]
    inside = out[2 * factor : -2 * factor, 2 * factor : -2 * factor]
    low, high = inside.min().item(), inside.max().item()
    counts = "even" if interior_is_even(k, s) else "uneven"
    assert (counts == "even") == (k % s == 0) == (factor % 2 == 0)
    assert all(abs(v - 1) < 1e-6 for v in sums) and high - low < 1e-5
    print(
        f"factor {factor:>2}: k={k:>2} s={s:>2}  counts {counts:<6}  "
        f"{len(sums):>4} phase sums {min(sums):.4f}..{max(sums):.4f}  "
        f"interior on ones {low:.4f}..{high:.4f}"
    )

# %% [markdown]
# The same uneven $(k, s) = (5, 3)$ with a kernel of ones, or $(3, 2)$ with ones, is not flat;
# and $(3, 2)$ with the $\times 2$ tent $[\tfrac12, 1, \tfrac12]$ is, because its phase sums
# are $\tfrac12 + \tfrac12 = 1$ and $1$. A 1-D layer with stride $s$ and kernel $w$, on a row of
# ones:


# %%
def constant_response(kernel_1d: torch.Tensor, s: int) -> torch.Tensor:
    """Interior of a 1-D transposed convolution of a row of ones."""
    k = len(kernel_1d)
    out = torch.nn.functional.conv_transpose1d(
        torch.ones(1, 1, 12, dtype=torch.float64), kernel_1d.view(1, 1, k), stride=s
    )
    return out[0, 0, k:-k]


examples = {
    "k=5, s=3, ones": (torch.ones(5, dtype=torch.float64), 3),
    "k=3, s=2, ones": (torch.ones(3, dtype=torch.float64), 2),
    "k=3, s=2, tent [1/2, 1, 1/2]": (
        torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64),
        2,
    ),
    "k=5, s=3, tent [1/3, 2/3, 1, 2/3, 1/3]": (
        torch.tensor([1, 2, 3, 2, 1.0]).double() / 3,
        3,
    ),
}
flat = {}
for name, (kernel_1d, s) in examples.items():
    response = constant_response(kernel_1d, s)
    flat[name] = bool(response.max() - response.min() < 1e-12)
    equal_sums = max(phase_sums(kernel_1d, s)) == min(phase_sums(kernel_1d, s))
    assert flat[name] == equal_sums, name
    print(f"{name:<38} phase sums {phase_sums(kernel_1d, s)}  flat: {flat[name]}")
assert list(flat.values()) == [False, False, True, True]

# %% [markdown]
# ## What a network produces: a constant image
#
# A randomly initialised layer has no reason to balance its phases. We look at what such
# layers do to the most boring input there is — a constant image. Any pattern in the output is
# an artifact. All weights come from one seeded generator:

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
    "transposed k=3, s=2": randomise(
        nn.ConvTranspose2d(
            channels, channels, 3, stride=2, padding=1, output_padding=1, bias=False
        )
    ),
    "transposed k=4, s=2": randomise(
        nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    ),
    "nearest, then conv": nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        randomise(nn.Conv2d(channels, channels, 3, padding=1)),
    ),
    "bilinear, then conv": nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"),
        randomise(nn.Conv2d(channels, channels, 3, padding=1)),
    ),
}
with torch.no_grad():
    outputs = {name: layer(constant) for name, layer in upsamplers.items()}
interior_std = {}
for name, out in outputs.items():
    inside = out[..., 2:-2, 2:-2]
    interior_std[name] = inside.std(dim=(-2, -1)).mean().item()
    print(
        f"{name:>20}: {tuple(out.shape)}  interior std across pixels "
        f"{interior_std[name]:.4f}"
    )
assert (
    min(interior_std["transposed k=3, s=2"], interior_std["transposed k=4, s=2"])
    > 0.1
)
assert (
    max(interior_std["nearest, then conv"], interior_std["bilinear, then conv"])
    < 1e-5
)

# %% [markdown]
# Both transposed convolutions paint a pattern onto the constant image — **including**
# $k = 4$. Uniform overlap only says every pixel gets the same *number* of taps; with random
# weights, the four output phases $(o_y \bmod 2, o_x \bmod 2)$ of the stride-2 layer sum four
# different subsets of the kernel, and those sums differ:

# %%
weight = upsamplers["transposed k=4, s=2"].weight.detach()  # (C_in, C_out, 4, 4)
# on a constant input, channel c of phase (r, q) gets the taps w[:, c, r::2, q::2]
sums = torch.stack(
    [weight[:, :, r::2, q::2].sum(dim=(0, 2, 3)) for r in range(2) for q in range(2)]
)
print("phase sums for output channel 0:", [round(v, 3) for v in sums[:, 0].tolist()])
assert (sums.max(dim=0).values - sums.min(dim=0).values).min() > 0.1

# %% [markdown]
# The resize-then-convolve layers give a constant interior (std 0 up to rounding, asserted
# above): every output pixel sees the same neighbourhood of identical values. (Each panel below
# has its own colour scale; the edges of the last two differ only because the convolution pads
# with zeros.)

# %%
maps = [out[0, 0] for out in outputs.values()]
show(show_images(maps, list(outputs), cmap="magma", scale=2.6))

# %% [markdown]
# ## The sub-pixel view: one convolution per phase, then a shuffle
#
# The phases can be taken apart literally. Output pixel $o = t s + r$ of a stride-$s$
# transposed convolution only ever receives the taps $j s + r$, so each of the $s^2$ output
# phases $(r, q)$ is an ordinary stride-1 convolution of the input with its own
# $\lceil k/s \rceil \times \lceil k/s \rceil$ kernel; a *pixel shuffle* interleaves the $s^2$
# results into the $s\times$ larger grid (Shi et al. 2016, "Is the deconvolution layer the
# same as a convolutional layer?"). `transconv.conv_transpose2d_subpixel` computes it that
# way, and equals `F.conv_transpose2d` (float64, random weights, several layers):

# %%
gen64 = torch.Generator().manual_seed(1)
for k, s, p, a in [(3, 2, 1, 1), (4, 2, 1, 0), (5, 3, 1, 0), (64, 32, 16, 0)]:
    x = torch.randn(1, 3, 6, 7, generator=gen64, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=gen64, dtype=torch.float64)
    ours = transconv.conv_transpose2d_subpixel(
        x, w, stride=s, padding=p, output_padding=a
    )
    torch.testing.assert_close(
        ours, F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=a)
    )
    sub = transconv.subpixel_weight(w, s)
    print(
        f"k={k:>2} s={s:>2}: {s * s:>4} phase kernels per output channel, "
        f"stride-1 weight {tuple(sub.shape)}"
    )

# %% [markdown]
# In this view the checkerboard is plain to see: on a constant image every phase kernel
# returns its own sum, so the output is flat exactly when the $s^2$ phase kernels of each output
# channel have equal sums — the phase sums of the previous sections. Checked on the random
# $k = 4$ layer from above, whose four phases differ:

# %%
sub = transconv.subpixel_weight(weight, 2)  # (C_out * 4, C_in, 2, 2), phases last
sub_sums = sub.sum(dim=(1, 2, 3)).view(channels, 4).T  # (phase, output channel)
torch.testing.assert_close(sub_sums, sums)
print(
    "sums of the 4 phase kernels of output channel 0:",
    [round(v, 3) for v in sub_sums[:, 0].tolist()],
)

# %% [markdown]
# **ICNR** (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution") removes the
# artifact at initialisation: draw *one* kernel per output channel and give it to all $s^2$
# phases. The layer then starts as a stride-1 (transposed) convolution followed by
# nearest-neighbour upsampling, so no phase differs from another, and training can still make
# them differ later. As a transposed-convolution weight, ICNR is a kernel made of constant
# $s \times s$ blocks ($k = s \lceil k/s \rceil$). Built that way with the page's generator,
# checked against that description on a random input, and applied to the constant image:


# %%
def icnr_weight(c_in: int, c_out: int, s: int, taps: int) -> torch.Tensor:
    """A (c_in, c_out, s*taps, s*taps) transposed-conv weight, equal phase kernels."""
    small = 0.3 * torch.randn(c_in, c_out, taps, taps, generator=generator)
    return small.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)


w_icnr = icnr_weight(channels, channels, s=2, taps=2)  # k = 4, s = 2
small = w_icnr[:, :, ::2, ::2]  # the one kernel per output channel
x = torch.randn(1, channels, 5, 6, generator=generator)
torch.testing.assert_close(  # = stride-1 transposed conv, then nearest x2
    F.conv_transpose2d(x, w_icnr, stride=2),
    F.interpolate(F.conv_transpose2d(x, small), scale_factor=2, mode="nearest"),
)
phase_kernels = transconv.subpixel_weight(w_icnr, 2).view(channels, 4, channels, 2, 2)
assert all(torch.equal(phase_kernels[:, r], phase_kernels[:, 0]) for r in range(4))
with torch.no_grad():
    icnr_out = transconv.conv_transpose2d_subpixel(
        constant, w_icnr, stride=2, padding=1
    )
    random_out = outputs["transposed k=4, s=2"]
torch.testing.assert_close(
    icnr_out, F.conv_transpose2d(constant, w_icnr, stride=2, padding=1)
)
icnr_std = icnr_out[..., 2:-2, 2:-2].std(dim=(-2, -1)).max().item()
random_std = interior_std["transposed k=4, s=2"]
print(
    f"interior std on the constant image: random k=4 {random_std:.4f}, "
    f"ICNR k=4 {icnr_std:.1e}"
)
assert icnr_std < 1e-5
show(show_images(
    [random_out[0, 0], icnr_out[0, 0]],
    ["random k=4, s=2", "ICNR k=4, s=2"],
    cmap="magma",
    scale=2.6,
))

# %% [markdown]
# ## The rule, stated precisely
#
# * **Overlap counts** (a kernel of ones) are uniform in the interior **if and only if** $s$
#   divides $k$ — checked above for all $k \le 12$, $s \le 6$.
# * **A flat response to a constant image** needs equal phase sums of the *weights* (the sums
#   of the sub-pixel view's phase kernels). That is neither implied by divisibility (random
#   $k = 4, s = 2$ is not flat) nor requires it (the bilinear kernels for factors 3 and 5,
#   $k = 5, s = 3$ and $k = 9, s = 5$, are flat); ICNR makes it hold at initialisation.
#
# So divisibility removes the bias built into the *structure*, and the weights decide the
# rest: a trained network has to *learn* to balance the phases, and the pattern returns
# whenever it does not. Resize-then-convolve removes the problem by construction, at the price
# of a fixed (not learnt) interpolation step. FCN's upsamplers start from the bilinear kernel,
# whose phases balance exactly (asserted above for factors 2, 3, 4, 5 and 32); training may
# move them off that balance.
