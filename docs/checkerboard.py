# %% [markdown]
# # Checkerboard artifacts
#
# Images generated or upsampled by transposed convolutions often carry a faint checkerboard.
# Odena, Dumoulin and Olah traced it to *uneven overlap* ("Deconvolution and Checkerboard
# Artifacts", Distill, 2016): when the kernel size is not divisible by the stride, some output
# pixels receive more kernel taps than their neighbours. This page computes that overlap, checks
# the divisibility rule over a table of kernel sizes and strides, separates it from what the
# *weights* do, trains three tiny upsamplers while the site is built to show the artifact in a
# trained output, and finds it again in the gradients of a strided convolution. Every rule
# stated here is asserted when the page is built.

# %% tags=["remove-cell"]
import torch

torch.set_num_threads(1)  # every tensor on this page is tiny: one thread is as fast, and waits less

# %% [markdown]
# ## Counting overlaps in one dimension
#
# A transposed convolution with stride $s$ stamps a $k$-tap kernel at every $s$-th output
# position. Feeding it ones, with a kernel of ones, counts how many stamps cover each output
# pixel. `overlap_counts` does exactly that (a `(1, n)` input is one row):

# %%
from transconv.overlap import overlap_counts

rows = {k: overlap_counts((1, 8), (1, k), (1, 2))[0] for k in (3, 4)}
for k, counts in rows.items():
    print(f"k={k}, s=2:", counts.tolist())

# %% tags=["remove-input"]
inner3, inner4 = rows[3][2:-2], rows[4][2:-2]
assert inner3.tolist() == [2, 1] * (len(inner3) // 2) + [2] * (len(inner3) % 2)
assert set(inner4.tolist()) == {2} and rows[4][0] == 1

# %% [markdown]
# With $k = 3$ the interior alternates 2, 1, 2, 1: every other pixel gets twice the
# contribution. With $k = 4$ every interior pixel is covered twice; only the borders, where
# fewer stamps reach, differ.
#
# ## Overlap maps in two dimensions
#
# In 2-D the two directions multiply (the map is the outer product of the 1-D rows), and the
# alternation becomes a checkerboard:

# %%
from transconv.viz import plot_overlap, show

show(plot_overlap(
    [overlap_counts(5, 3, 2), overlap_counts(5, 4, 2)],
    ["k=3, s=2: uneven", "k=4, s=2: even inside"],
))

# %% tags=["remove-input"]
for k in (3, 4):
    row = overlap_counts((1, 5), (1, k), (1, 2))[0]
    assert torch.equal(overlap_counts(5, k, 2), row[:, None] * row[None, :])

# %% [markdown]
# ## Stacked layers make it worse
#
# A generator upsamples with several transposed convolutions in a row. Stacking them counts
# *paths* from the input to each output pixel, and the uneven pattern compounds into a
# multi-scale grid. The ratio between the most- and least-covered interior pixel grows with
# every layer for $k = 3$ and stays 1 for $k = 4$:


# %%
def interior_ratio(counts, margin):
    """Max / min overlap away from a border of ``margin`` pixels."""
    inside = counts[margin:-margin, margin:-margin]
    return (inside.max() / inside.min()).item()


for k in (3, 4):
    ratios = [interior_ratio(overlap_counts(12, k, 2, layers=n), 2**n * k) for n in (1, 2, 3)]
    print(f"k={k}, s=2, max/min interior overlap for 1, 2, 3 layers:", ratios)

# %% tags=["remove-input"]
ratios = {
    k: [interior_ratio(overlap_counts(12, k, 2, layers=n), 2**n * k) for n in (1, 2, 3)]
    for k in (3, 4)
}
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
def interior_counts(k, s):
    """Overlap counts of the output pixels that every stamp position can reach."""
    n = 2 * k + 2
    row = overlap_counts((1, n), (1, k), (1, s))[0]
    return row[k - 1 : (n - 1) * s + 1]


def interior_is_even(k, s):
    inside = interior_counts(k, s)
    return bool(inside.min() == inside.max())


# %% tags=["remove-input"]
print("     " + "".join(f"{f's={s}':>8}" for s in range(1, 7)))
for k in range(1, 13):
    marks = ["even" if interior_is_even(k, s) else "uneven" for s in range(1, 7)]
    print(f"k={k:<2}" + "".join(f"{mark:>8}" for mark in marks))

# %% tags=["remove-input"]
pairs = [(k, s) for k in range(1, 13) for s in range(1, 7)]
for k, s in pairs:
    assert set(interior_counts(k, s).tolist()) <= {k // s, -(-k // s)}, (k, s)
    assert interior_is_even(k, s) == (k % s == 0), (k, s)
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
def phase_sums(kernel, s):
    """Sum of the taps landing on each output phase (o mod s per direction)."""
    if kernel.dim() == 1:
        return [round(kernel[r::s].sum().item(), 6) for r in range(s)]
    return [round(kernel[r::s, q::s].sum().item(), 6) for r in range(s) for q in range(s)]


# %%
import torch

from transconv.bilinear import bilinear_kernel, bilinear_upsampler
from transconv.shapes import upsampling_params

for factor in (2, 3, 4, 5, 32):
    k, s, p = upsampling_params(factor)
    sums = phase_sums(bilinear_kernel(1, 1, k)[0, 0].double(), s)
    with torch.no_grad():
        out = bilinear_upsampler(1, factor)(torch.ones(1, 1, 8, 8))[0, 0]
    inside = out[2 * factor : -2 * factor, 2 * factor : -2 * factor]
    counts = "even" if interior_is_even(k, s) else "uneven"
    print(f"factor {factor:>2}: k={k:>2} s={s:>2}, counts {counts:<6}, phase sums {min(sums):.4f}"
          f"..{max(sums):.4f}, interior on ones {inside.min():.4f}..{inside.max():.4f}")

# %% tags=["remove-input"]
for factor in (2, 3, 4, 5, 32):
    k, s, p = upsampling_params(factor)
    sums = phase_sums(bilinear_kernel(1, 1, k)[0, 0].double(), s)
    with torch.no_grad():
        out = bilinear_upsampler(1, factor)(torch.ones(1, 1, 8, 8))[0, 0]
    inside = out[2 * factor : -2 * factor, 2 * factor : -2 * factor]
    assert interior_is_even(k, s) == (k % s == 0) == (factor % 2 == 0)
    assert all(abs(v - 1) < 1e-6 for v in sums) and inside.max() - inside.min() < 1e-5

# %% [markdown]
# The same uneven $(k, s) = (5, 3)$ with a kernel of ones, or $(3, 2)$ with ones, is not flat;
# and $(3, 2)$ with the $\times 2$ tent $[\tfrac12, 1, \tfrac12]$ is, because its phase sums
# are $\tfrac12 + \tfrac12 = 1$ and $1$. A 1-D layer with stride $s$ and kernel $w$, on a row of
# ones:

# %%
from torch.nn import functional as F


def constant_response(kernel_1d, s):
    """Interior of a 1-D transposed convolution of a row of ones."""
    k = len(kernel_1d)
    ones = torch.ones(1, 1, 12, dtype=torch.float64)
    return F.conv_transpose1d(ones, kernel_1d.view(1, 1, k), stride=s)[0, 0, k:-k]


# %%
examples = {
    "k=5, s=3, ones": (torch.ones(5, dtype=torch.float64), 3),
    "k=3, s=2, ones": (torch.ones(3, dtype=torch.float64), 2),
    "k=3, s=2, tent [1/2, 1, 1/2]": (torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64), 2),
    "k=5, s=3, tent [1, 2, 3, 2, 1]/3": (torch.tensor([1, 2, 3, 2, 1.0]).double() / 3, 3),
}
for name, (kernel_1d, s) in examples.items():
    response = constant_response(kernel_1d, s)
    flat = bool(response.max() - response.min() < 1e-12)
    print(f"{name:<34} phase sums {phase_sums(kernel_1d, s)}  flat: {flat}")

# %% tags=["remove-input"]
flat = {}
for name, (kernel_1d, s) in examples.items():
    response = constant_response(kernel_1d, s)
    flat[name] = bool(response.max() - response.min() < 1e-12)
    assert flat[name] == (max(phase_sums(kernel_1d, s)) == min(phase_sums(kernel_1d, s))), name
assert list(flat.values()) == [False, False, True, True]

# %% [markdown]
# ## What a network produces: a constant image
#
# A randomly initialised layer has no reason to balance its phases. We look at what such
# layers do to the most boring input there is — a constant image. Any pattern in the output is
# an artifact. All weights come from one seeded generator:

# %%
from torch import nn

generator = torch.Generator().manual_seed(0)
channels = 4


def randomise(layer):
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
c = channels
upsamplers = {
    "transposed k=3, s=2": nn.ConvTranspose2d(c, c, 3, 2, padding=1, output_padding=1, bias=False),
    "transposed k=4, s=2": nn.ConvTranspose2d(c, c, 4, 2, padding=1, bias=False),
    "nearest, then conv": nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(c, c, 3, padding=1)),
    "bilinear, then conv": nn.Sequential(
        nn.Upsample(scale_factor=2, mode="bilinear"), nn.Conv2d(c, c, 3, padding=1)
    ),
}
with torch.no_grad():
    outputs = {name: randomise(layer)(constant) for name, layer in upsamplers.items()}
for name, out in outputs.items():
    std = out[..., 2:-2, 2:-2].std(dim=(-2, -1)).mean()
    print(f"{name:>20}: {tuple(out.shape)}  interior std across pixels {std:.4f}")

# %% tags=["remove-input"]
interior_std = {n: o[..., 2:-2, 2:-2].std(dim=(-2, -1)).mean().item() for n, o in outputs.items()}
assert min(interior_std["transposed k=3, s=2"], interior_std["transposed k=4, s=2"]) > 0.1
assert max(interior_std["nearest, then conv"], interior_std["bilinear, then conv"]) < 1e-5
# the prose below calls the k=4 layer's variation the larger one: keep it true
assert interior_std["transposed k=4, s=2"] > interior_std["transposed k=3, s=2"]

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

# %% tags=["remove-input"]
assert (sums.max(dim=0).values - sums.min(dim=0).values).min() > 0.1

# %% [markdown]
# **Is $k = 4$ worse, then?** Its variation above is the larger of the two, but that comes from
# its *weights*, not from its overlap. Each of its phases sums $4 C_\text{in}$ random taps, where
# $k = 3$'s phases sum $1, 2, 2$ or $4$ per input channel, so at the same weight scale its
# outputs are simply larger — on any input. Measured against the same layer's output on random
# noise, over many seeded draws of both layers, the pattern on a constant image is as strong for
# one as for the other (the measurement, its code hidden, draws 200 pairs of layers with
# $N(0, 0.3^2)$ weights and divides each layer's interior std on the constant image by its std
# on Gaussian noise):

# %% tags=["remove-input"]
def upsample(x, w, output_padding):
    """A stride-2 transposed convolution, 16 -> 32, border cut off."""
    out = F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=output_padding)
    return out[..., 2:-2, 2:-2]


draws = torch.Generator().manual_seed(1)
relative = {3: [], 4: []}
for _ in range(200):
    noise = torch.randn(1, c, 16, 16, generator=draws)
    for k, output_padding in [(3, 1), (4, 0)]:
        w = 0.3 * torch.randn(c, c, k, k, generator=draws)
        pattern = upsample(constant, w, output_padding).std(dim=(-2, -1)).mean()
        relative[k].append((pattern / upsample(noise, w, output_padding).std()).item())
k3_larger = sum(a > b for a, b in zip(relative[3], relative[4], strict=True))
mean = {k: sum(v) / len(v) for k, v in relative.items()}
print(f"pattern / output on noise, mean of 200 draws: k=3 {mean[3]:.3f}, k=4 {mean[4]:.3f}")
print(f"k=3 has the stronger pattern in {k3_larger} of 200 draws")

# %% tags=["remove-input"]
assert abs(mean[3] - mean[4]) < 0.05 and 70 < k3_larger < 130

# %% [markdown]
# The resize-then-convolve layers give a constant interior (std 0 up to rounding, asserted
# above): every output pixel sees the same neighbourhood of identical values. (Each panel below
# has its own colour scale; the edges of the last two differ only because the convolution pads
# with zeros.)

# %%
from transconv.viz import show_images

maps = [out[0, 0] for out in outputs.values()]
show(show_images(maps, list(outputs), cmap="magma", scale=2.6))

# %% [markdown]
# ## The sub-pixel view: one convolution per phase, then a shuffle
#
# The phases can be taken apart literally. Output pixel $o = t s + r$ of a stride-$s$
# transposed convolution only ever receives the taps $j s + r$ (with padding $p$, the taps
# $j s + r'$ with $r' = (r + p) \bmod s$), so each of the $s^2$ output
# phases $(r, q)$ is an ordinary stride-1 convolution of the input with its own
# $\lceil k/s \rceil \times \lceil k/s \rceil$ kernel; a *pixel shuffle* interleaves the $s^2$
# results into the $s\times$ larger grid (Shi et al. 2016, "Is the deconvolution layer the
# same as a convolutional layer?"). `conv_transpose2d_subpixel` computes it that way, and
# equals `F.conv_transpose2d` (float64, random weights, several layers):

# %%
from transconv.subpixel import conv_transpose2d_subpixel, subpixel_weight

gen64 = torch.Generator().manual_seed(1)
for k, s, p, a in [(3, 2, 1, 1), (4, 2, 1, 0), (5, 3, 1, 0), (64, 32, 16, 0)]:
    x = torch.randn(1, 3, 6, 7, generator=gen64, dtype=torch.float64)
    w = torch.randn(3, 2, k, k, generator=gen64, dtype=torch.float64)
    ours = conv_transpose2d_subpixel(x, w, stride=s, padding=p, output_padding=a)
    torch.testing.assert_close(ours, F.conv_transpose2d(x, w, None, s, p, a))
    sub = subpixel_weight(w, s)
    print(f"k={k:>2} s={s:>2}: {s * s:>4} phase kernels per output channel, weight {sub.shape}")

# %% tags=["remove-input"]
for k, s, p in [(3, 2, 0), (3, 2, 1), (5, 3, 1), (8, 4, 2)]:  # tap j reaches only o = j - p mod s
    for j in range(k):
        tap = torch.zeros(1, 1, k, dtype=torch.float64)
        tap[..., j] = 1
        out = F.conv_transpose1d(torch.ones(1, 1, 6, dtype=torch.float64), tap, stride=s, padding=p)
        reached = {o % s for o in out[0, 0].nonzero().flatten().tolist()}
        assert reached == {(j - p) % s}, (k, s, p, j)

# %% [markdown]
# In this view the checkerboard is plain to see: on a constant image every phase kernel
# returns its own sum, so the output is flat exactly when the $s^2$ phase kernels of each output
# channel have equal sums — the phase sums of the previous sections. Checked on the random
# $k = 4$ layer from above, whose four phases differ:

# %%
sub = subpixel_weight(weight, 2)  # (C_out * 4, C_in, 2, 2), phases last
sub_sums = sub.sum(dim=(1, 2, 3)).view(channels, 4).T  # (phase, output channel)
print("phase kernel sums, output channel 0:", [round(v, 3) for v in sub_sums[:, 0].tolist()])

# %% tags=["remove-input"]
torch.testing.assert_close(sub_sums, sums)

# %% [markdown]
# **ICNR** (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution") removes the
# artifact at initialisation: draw *one* kernel per output channel and give it to all $s^2$
# phases. The layer then starts as a stride-1 (transposed) convolution followed by
# nearest-neighbour upsampling, so no phase differs from another, and training can still make
# them differ later. As a transposed-convolution weight, ICNR is a kernel made of constant
# $s \times s$ blocks ($k = s \lceil k/s \rceil$):


# %%
def icnr_weight(c_in, c_out, s, taps):
    """A (c_in, c_out, s*taps, s*taps) transposed-conv weight, equal phase kernels."""
    small = 0.3 * torch.randn(c_in, c_out, taps, taps, generator=generator)
    return small.repeat_interleave(s, dim=2).repeat_interleave(s, dim=3)


w_icnr = icnr_weight(channels, channels, s=2, taps=2)  # k = 4, s = 2
with torch.no_grad():
    icnr_out = conv_transpose2d_subpixel(constant, w_icnr, stride=2, padding=1)
icnr_std = icnr_out[..., 2:-2, 2:-2].std(dim=(-2, -1)).max()
print(f"interior std on the constant image: ICNR k=4 {icnr_std:.1e}")

# %% tags=["remove-input"]
small = w_icnr[:, :, ::2, ::2]  # the one kernel per output channel
x = torch.randn(1, channels, 5, 6, generator=generator)
torch.testing.assert_close(  # = stride-1 transposed conv, then nearest x2
    F.conv_transpose2d(x, w_icnr, stride=2),
    F.interpolate(F.conv_transpose2d(x, small), scale_factor=2, mode="nearest"),
)
phase_kernels = subpixel_weight(w_icnr, 2).view(channels, 4, channels, 2, 2)
assert all(torch.equal(phase_kernels[:, r], phase_kernels[:, 0]) for r in range(4))
torch.testing.assert_close(icnr_out, F.conv_transpose2d(constant, w_icnr, stride=2, padding=1))
assert icnr_std < 1e-5

# %%
random_out = outputs["transposed k=4, s=2"]
show(show_images(
    [random_out[0, 0], icnr_out[0, 0]],
    ["random k=4, s=2", "ICNR k=4, s=2"],
    cmap="magma",
    scale=2.6,
))

# %% [markdown]
# ## After training: three upsamplers taught the same task
#
# Random weights are only the start. Does training remove the pattern? Distill answers with
# generative networks; here a task small enough to train on a CPU while this page builds (a
# few seconds of CPU time, printed below). **Data**: 32 random smooth $32 \times 32$ grey images
# (bilinear interpolation of a $5 \times 5$ grid of uniform noise) for training, 8 more for testing.
# **Task**: given the image shrunk $\times 2$ by averaging $2 \times 2$ blocks, predict the
# full-size image (mean squared error). **Models**, each one layer with one input and one
# output channel, default PyTorch initialisation under `torch.manual_seed(0)`:
#
# * a transposed convolution, $k = 3, s = 2$ (uneven overlap: 10 parameters);
# * resize-then-convolve: nearest $\times 2$, then a $3 \times 3$ convolution (10 parameters);
# * a sub-pixel convolution (a $3 \times 3$ convolution to 4 channels, then a pixel shuffle: 40
#   parameters) with ICNR, here from the library as `transconv.artifacts.icnr_`.

# %%
def smooth_images(n, generator):
    """n random smooth 32 x 32 grey images."""
    coarse = torch.rand(n, 1, 5, 5, generator=generator)
    return F.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=True)


data = torch.Generator().manual_seed(0)
train_images, test_images = smooth_images(32, data), smooth_images(8, data)

# %%
from transconv.artifacts import icnr_


def make_upsampler(kind):
    torch.manual_seed(0)  # default initialisation, seeded
    if kind == "transposed conv":
        return nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)
    if kind == "resize-conv":
        return nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(1, 1, 3, padding=1))
    conv = nn.Conv2d(1, 4, 3, padding=1)
    icnr_(conv.weight, 2), icnr_(conv.bias, 2)
    return nn.Sequential(conv, nn.PixelShuffle(2))


# %% [markdown]
# Each trains for 200 full-batch Adam steps:


# %%
def train(net, images, steps=200, lr=0.02):
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        loss = F.mse_loss(net(F.avg_pool2d(images, 2)), images)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


# %% tags=["remove-input"]
import time

started = time.process_time()  # CPU time: other jobs on the machine do not count
kinds = ["transposed conv", "resize-conv", "sub-pixel + ICNR"]
nets = {kind: train(make_upsampler(kind), train_images) for kind in kinds}
train_seconds = time.process_time() - started
print(f"trained 3 x 200 steps in {train_seconds:.1f} s of CPU time")

# %% [markdown]
# The **artifact score** (`transconv.artifacts.checkerboard_score`) measures how much an image
# repeats every 2 pixels: it subtracts a $3 \times 3$ binomial blur (which leaves constants and
# ramps exactly unchanged and removes every 2-pixel period), averages what is left over each of
# the four phases $(o_y \bmod 2, o_x \bmod 2)$ and reports the spread of those four means. A
# checkerboard of amplitude $a$ scores $a$; a smooth image scores almost 0. Scored on the test
# images (interior, 2 pixels in from the border) and on a constant grey image:

# %%
from transconv.artifacts import checkerboard_score

grey = torch.full((1, 1, 16, 16), 0.5)
with torch.no_grad():
    for kind, net in nets.items():
        test_out = net(F.avg_pool2d(test_images, 2))
        mse = F.mse_loss(test_out, test_images)
        on_test = checkerboard_score(test_out[..., 2:-2, 2:-2])
        on_grey = checkerboard_score(net(grey)[..., 2:-2, 2:-2])
        print(f"{kind:>16}: test MSE {mse:.5f}, score on test {on_test:.4f}, on grey {on_grey:.4f}")
print(f"{'targets':>16}:                    score on test "
      f"{checkerboard_score(test_images[..., 2:-2, 2:-2]):.4f}")

# %% tags=["remove-input"]
with torch.no_grad():
    score = {k: checkerboard_score(n(F.avg_pool2d(test_images, 2))[..., 2:-2, 2:-2])
             for k, n in nets.items()}
    grey_score = {k: checkerboard_score(n(grey)[..., 2:-2, 2:-2]) for k, n in nets.items()}
    start_score = checkerboard_score(make_upsampler("transposed conv")(grey)[..., 2:-2, 2:-2])
    mse = {k: F.mse_loss(n(F.avg_pool2d(test_images, 2)), test_images).item()
           for k, n in nets.items()}
target_score = checkerboard_score(test_images[..., 2:-2, 2:-2])
# the claims of the next paragraph
assert score["transposed conv"] > 1.3 * score["sub-pixel + ICNR"] > 1.3 * score["resize-conv"]
assert score["resize-conv"] > 2 * target_score
assert grey_score["resize-conv"] < 1e-6
assert grey_score["transposed conv"] > 10 * grey_score["sub-pixel + ICNR"]
assert 0 < grey_score["transposed conv"] < start_score
assert max(mse.values()) < 0.01  # all three learned the task
assert max(mse.values()) < 2 * min(mse.values())  # "test errors of the same order"
n_params = {k: sum(p.numel() for p in n.parameters()) for k, n in nets.items()}
assert list(n_params.values()) == [10, 10, 40]  # the counts in the list of models
board = 0.3 * (torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(6, 6) - 0.5)  # values +-0.15
assert abs(checkerboard_score(board) - 0.3) < 1e-6  # "a checkerboard of amplitude a scores a"
assert train_seconds < 10, train_seconds

# %% [markdown]
# All three learn the task (test errors of the same order), and their outputs differ in just the
# way the phases predict. The **transposed convolution** still paints a checkerboard on a grey
# image after training: 200 steps shrank its phase imbalance (asserted) but did not remove it,
# and it scores highest on the test images too. **Resize-then-convolve** is flat on grey by
# construction, and its test score, though above the smooth targets', is the lowest of the three.
# The **ICNR** sub-pixel layer started flat and is still nearly so on grey; its test score sits
# in between: it started as *nearest-neighbour* upsampling, whose $2 \times 2$ blocks also repeat
# every 2 pixels, and 200 steps have not fully smoothed them. One test image and the three
# predictions:

# %%
with torch.no_grad():
    preds = [net(F.avg_pool2d(test_images[:1], 2))[0, 0] for net in nets.values()]
target = test_images[0, 0]
show(show_images([target, *preds], ["target", *nets], cmap="gray", scale=2.2))

# %% [markdown]
# The predictions look alike; their errors do not. Prediction minus target, away from the
# border, on one colour scale for all three:

# %%
errors = [(pred - target)[2:-2, 2:-2] for pred in preds]
show(show_images(errors, list(nets), cmap="RdBu_r", scale=2.2, shared_scale=True))

# %% [markdown]
# ## Artifacts in gradients
#
# The pattern is not only a generator's problem. The backward pass of a strided convolution *is*
# a transposed convolution with the same kernel and stride (see the
# [matrix view](../matrix_view/)), so the gradient that a strided network sends back to its
# input is stamped just like an upsampled image. With a kernel of ones, the gradient of the sum of
# a $k = 3, s = 2$ convolution's outputs with respect to its input *is* the overlap map of the
# first section:

# %%
x = torch.rand(1, 1, 9, 9, requires_grad=True)
F.conv2d(x, torch.ones(1, 1, 3, 3), stride=2).sum().backward()
print(x.grad[0, 0, :5, :5])

# %% tags=["remove-input"]
assert torch.equal(x.grad[0, 0], overlap_counts(4, 3, 2)[:9, :9])

# %% [markdown]
# In a trained network the weights are not ones, and a ReLU makes the gradient depend on the
# input, so we measure instead. Two randomly initialised (seeded) layers of 8 channels with
# ReLUs, stride 2 against stride 1, a batch of 16 random $64 \times 64$ images, and the gradient
# of the mean squared output with respect to the image, scored (away from the border) after
# dividing it by its mean magnitude:


# %%
def gradient_score(k, s, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 8, k, stride=s, padding=1), nn.ReLU(),
        nn.Conv2d(8, 8, k, stride=s, padding=1), nn.ReLU(),
    )
    x = torch.rand(16, 1, 64, 64, requires_grad=True)
    net(x).square().mean().backward()
    grad = x.grad / x.grad.abs().mean()
    return checkerboard_score(grad[..., 8:-8, 8:-8]), grad.mean(dim=0)[0]  # score, mean map


grads = {(k, s): gradient_score(k, s) for k, s in [(3, 2), (4, 2), (3, 1)]}
for (k, s), (value, _) in grads.items():
    print(f"k={k}, s={s}: gradient artifact score {value:.3f}")

# %% tags=["remove-input"]
for seed in (1, 2):  # not one lucky draw
    strided = min(gradient_score(3, 2, seed)[0], gradient_score(4, 2, seed)[0])
    assert strided > 4 * gradient_score(3, 1, seed)[0], seed
assert min(grads[3, 2][0], grads[4, 2][0]) > 4 * grads[3, 1][0]

# %% [markdown]
# Both strided stacks send back a gradient with a strong 2-pixel pattern — $k = 4$ as much as
# $k = 3$, for the reason of the constant-image experiment: random weights do not balance the
# phases — while the stride-1 stack's gradient has none to speak of (the asserts check this for
# two more seeds). This is why Distill found checkerboards in images *optimised* through
# classifiers (feature visualisation, adversarial examples): the gradient steps carry the
# pattern into the image. The gradient averaged over the 16 images (which keeps what does not
# depend on the image), its central $16 \times 16$ pixels:

# %%
show(show_images(
    [g[24:40, 24:40] for _, g in grads.values()],
    [f"mean input gradient, k={k}, s={s}" for k, s in grads],
    cmap="RdBu_r",
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
# whose phases balance exactly (asserted above for factors 2, 3, 4, 5 and 32). Where they learn
# (d2l's $\times 32$ layer, the VGG FCNs' $\times 2$ layers; see the [FCN](../fcn/) page),
# training may move them off that balance; the VGG FCNs' final upsampler is frozen and stays on
# it.

# %% tags=["remove-input"]
from transconv.models import fcn_resnet18, fcn_vgg16

with torch.device("meta"):
    vgg = fcn_vgg16(variant="8s")
    assert fcn_resnet18().transpose_conv.weight.requires_grad
assert vgg.upscore2_pool4.weight.requires_grad and not vgg.upscore.weight.requires_grad

# %% [markdown]
# ## Exercises
#
# Solutions are computed and checked when the page is built.
#
# **1.** A transposed convolution with $k = 5$ and $s = 2$: how many stamps cover each interior
# output pixel in one dimension, and is the overlap even? Predict from
# $\lfloor k/s \rfloor, \lceil k/s \rceil$, then count.

# %% tags=["solution"]
row = overlap_counts((1, 10), (1, 5), (1, 2))[0]
inside = row[4:-4]
print(inside.tolist())  # alternates 3, 2: uneven, as 2 does not divide 5
assert set(inside.tolist()) == {5 // 2, -(-5 // 2)}

# %% [markdown]
# **2.** Which kernel sizes $1 \le k \le 12$ give even overlap for stride 3? And for a stack of
# two layers with stride 3, does the smallest of them stay even?

# %% tags=["solution"]
even3 = [k for k in range(1, 13) if interior_is_even(k, 3)]
print("even for s=3:", even3)
stacked = overlap_counts(8, 3, 3, layers=2)
print("2 layers, k=3, s=3, interior counts:", stacked[9:-9, 9:-9].unique().tolist())
assert even3 == [3, 6, 9, 12]
assert stacked[9:-9, 9:-9].unique().tolist() == [1]

# %% [markdown]
# **3.** A 1-D stride-2 transposed convolution with kernel $[a, b, c, d]$ turns a row of ones
# into a flat row exactly when its two phase sums are equal, $a + c = b + d$. Which of
# $[1, 3, 3, 1]/4$ (the bilinear $\times 2$ kernel), $[1, 2, 3, 4]$ and $[4, 1, 1, 4]$ are flat?
# Check with `constant_response`.

# %% tags=["solution"]
kernels = {
    "[1, 3, 3, 1]/4": torch.tensor([1, 3, 3, 1.0]).double() / 4,
    "[1, 2, 3, 4]": torch.tensor([1, 2, 3, 4.0]).double(),
    "[4, 1, 1, 4]": torch.tensor([4, 1, 1, 4.0]).double(),
}
for name, kernel_1d in kernels.items():
    response = constant_response(kernel_1d, 2)
    print(f"{name:>15}: phase sums {phase_sums(kernel_1d, 2)}, response {response[:4].tolist()}")
is_flat = {n: bool(constant_response(w, 2).std() == 0) for n, w in kernels.items()}
assert is_flat == {"[1, 3, 3, 1]/4": True, "[1, 2, 3, 4]": False, "[4, 1, 1, 4]": True}

# %% [markdown]
# **4.** Make the random $k = 4$ layer of the constant-image experiment flat without changing
# its overlap: shift each phase of its kernel so that all four phases of every output channel sum
# to their mean. Check the output on the constant image.

# %% tags=["solution"]
balanced = weight.clone()
target_sum = sums.mean(dim=0)  # (C_out,): the mean of the four phase sums
for i, (r, q) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
    taps = balanced[:, :, r::2, q::2]  # (C_in, C_out, 2, 2): this phase's 4 * C_in taps
    shift = (target_sum - sums[i]) / (taps.numel() // channels)
    balanced[:, :, r::2, q::2] = taps + shift.view(1, -1, 1, 1)
out = F.conv_transpose2d(constant, balanced, stride=2, padding=1)
after = out[..., 2:-2, 2:-2].std(dim=(-2, -1)).max()  # largest over output channels
print(f"interior std: before {interior_std['transposed k=4, s=2']:.3f}, after {after:.1e}")
assert after < 1e-5
