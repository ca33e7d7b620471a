# %% [markdown]
# # Shape arithmetic
#
# How big is the output? For convolution and transposed convolution the answer is one line
# of integer arithmetic each. This page states both (after Dumoulin & Visin's
# *A guide to convolution arithmetic*, with dilation and `output_padding` as in PyTorch),
# calls the calculators in `transconv.shapes`, and checks every number against PyTorch.

# %%
import torch
from IPython.display import Markdown
from torch import nn
from torch.nn import functional as F

import transconv
from transconv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    output_padding_for,
    upsampling_params,
)
from transconv.viz import markdown_table

# %% [markdown]
# ## The two formulas
#
# Per spatial dimension, with input size $n$, kernel size $k$, stride $s$, padding $p$,
# dilation $d$ and output padding $a$ (the dilated kernel spans $d(k - 1) + 1$ pixels):
#
# $$o_\text{conv} = \left\lfloor \frac{n + 2p - d(k - 1) - 1}{s} \right\rfloor + 1$$
#
# $$o_\text{trans} = (n - 1)\,s - 2p + d(k - 1) + a + 1, \qquad 0 \le a < \max(s, d)$$
#
# A transposed convolution with parameters $(k, s, p)$ maps the output size of the
# convolution with the same parameters back to its input size, up to the floor; $a$ picks
# among the $s$ input sizes the floor merged. Checked for every output size up to 20 and a
# few layers: the sizes reached with $a = 0, \dots, s - 1$ are exactly the input sizes the
# convolution maps to that output size.

# %%
for k, s, p in [(3, 2, 1), (4, 2, 1), (5, 3, 2), (7, 4, 3), (2, 2, 0)]:
    for o in range(1, 21):
        sizes = range(max(1, k - 2 * p), 200)  # inputs the kernel fits in
        merged = {n for n in sizes if conv_output_size(n, k, s, p) == o}
        back = {
            conv_transpose_output_size(o, k, s, p, output_padding=a) for a in range(s)
        }
        assert merged == back and len(back) == s, (k, s, p, o)
print(
    "conv, then transposed conv: the s sizes the floor merged, one per output_padding"
)

# %% [markdown]
# The transposed formula is conv_arithmetic's "equivalent direct convolution": insert $s - 1$
# zeros between input pixels (size $(n - 1)s + 1$), pad by $d(k - 1) - p$ on every side
# (plus $a$ at the bottom and right), and run a stride-1 convolution with the flipped kernel.
# Checked on values, not just sizes:


# %%
def as_direct_convolution(x, weight, stride, padding, output_padding=0, dilation=1):
    """Single-channel conv_transpose2d as a stride-1 conv2d."""
    m = (x.shape[-1] - 1) * stride + 1
    spread = torch.zeros(1, 1, m, m, dtype=x.dtype)
    spread[..., ::stride, ::stride] = x  # zero insertion
    edge = dilation * (weight.shape[-1] - 1) - padding
    far = edge + output_padding
    spread = F.pad(spread, (edge, far, edge, far))
    return F.conv2d(spread, weight.flip(-1, -2), dilation=dilation)


gen = torch.Generator().manual_seed(0)
x = torch.randn(1, 1, 5, 5, generator=gen, dtype=torch.float64)
w = torch.randn(1, 1, 3, 3, generator=gen, dtype=torch.float64)
args = dict(stride=2, padding=1, output_padding=1, dilation=2)
direct = as_direct_convolution(x, w, **args)
torch.testing.assert_close(direct, F.conv_transpose2d(x, w, **args))
direct.shape

# %% [markdown]
# ## The calculators
#
# Arguments are ints or tuples (one entry per spatial dimension), as in `torch.nn.Conv2d`:

# %%
print(conv_output_size(32, kernel_size=3, padding=1))
print(conv_output_size((224, 320), kernel_size=7, stride=2, padding=3))
print(conv_transpose_output_size(16, kernel_size=4, stride=2, padding=1))
print(conv_transpose_output_size((7, 10), 64, stride=32, padding=16))
print(
    conv_transpose_output_size(
        5, 3, stride=2, padding=1, output_padding=1, dilation=2
    )
)

# %% [markdown]
# Each of those agrees with the shape PyTorch produces (asserted); the last one, for example:

# %%
conv = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 3, 3), padding=1)
assert conv.shape[-1] == conv_output_size(32, kernel_size=3, padding=1)
conv = F.conv2d(
    torch.zeros(1, 1, 224, 320), torch.zeros(1, 1, 7, 7), stride=2, padding=3
)
assert tuple(conv.shape[-2:]) == conv_output_size((224, 320), 7, stride=2, padding=3)
up = F.conv_transpose2d(
    torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 4, 4), stride=2, padding=1
)
assert up.shape[-1] == conv_transpose_output_size(
    16, kernel_size=4, stride=2, padding=1
)
up = F.conv_transpose2d(
    torch.zeros(1, 1, 7, 10), torch.zeros(1, 1, 64, 64), stride=32, padding=16
)
assert tuple(up.shape[-2:]) == conv_transpose_output_size(
    (7, 10), 64, stride=32, padding=16
)
layer = nn.ConvTranspose2d(
    1, 1, kernel_size=3, stride=2, padding=1, output_padding=1, dilation=2
)
out = layer(torch.zeros(1, 1, 5, 5))
assert out.shape[-1] == conv_transpose_output_size(
    5, 3, stride=2, padding=1, output_padding=1, dilation=2
)
out.shape

# %% [markdown]
# ## A table for common (k, s, p)
#
# Generated below for a $32$-pixel convolution input and an $8$-pixel transposed
# convolution input. "exact $\times s$" asks whether the transposed convolution multiplies
# *every* input size $n = 1 \dots 64$ by exactly $s$; "even overlap" whether $k$ is divisible
# by $s$ (otherwise output pixels receive different numbers of kernel taps: the
# [checkerboard](../checkerboard/) page). Each entry is also checked against the shape of a
# real PyTorch layer.

# %%
COMMON = [
    (3, 1, 1),
    (2, 2, 0),
    (3, 2, 1),
    (4, 2, 1),
    (5, 2, 2),
    (3, 3, 0),
    (5, 3, 1),
    (8, 4, 2),
    (16, 8, 4),
    (64, 32, 16),
]


def torch_sizes(k, s, p, n_conv=32, n_trans=8):
    """Output sizes measured on real PyTorch layers."""
    w = torch.zeros(1, 1, k, k)
    conv = F.conv2d(torch.zeros(1, 1, n_conv, n_conv), w, stride=s, padding=p)
    x = torch.zeros(1, 1, n_trans, n_trans)
    trans = F.conv_transpose2d(x, w, stride=s, padding=p)
    return conv.shape[-1], trans.shape[-1]


def even_overlap(k, s):
    """Whether the interior of a long row is covered by equally many kernel taps."""
    n = 2 * k + 2
    row = transconv.overlap_counts((1, n), (1, k), (1, s))[0][k - 1 : (n - 1) * s + 1]
    return bool(row.min() == row.max())


def table_row(k, s, p):
    conv = conv_output_size(32, k, s, p)
    trans = conv_transpose_output_size(8, k, s, p)
    assert (conv, trans) == torch_sizes(k, s, p), (k, s, p)
    assert even_overlap(k, s) == (k % s == 0), (k, s)
    sizes = range(1, 65)
    exact = all(conv_transpose_output_size(n, k, s, p) == n * s for n in sizes)
    yes = {True: "yes", False: "no"}
    return [k, s, p, conv, trans, yes[exact], yes[k % s == 0]]


# %%
header = ["k", "s", "p", "conv 32 →", "transposed 8 →", "exact ×s", "even overlap"]
Markdown(markdown_table(header, [table_row(*ksp) for ksp in COMMON]))

# %% [markdown]
# ## Choosing k, s, p for an exact ×f
#
# Put $s = f$ and $a = 0$ in the transposed formula: $o = nf + (k - f - 2p)$, so the output is
# exactly $nf$ for every $n$ iff $k = f + 2p$. Taking $p = \lfloor f/2 \rfloor$ gives
# $k = 2f - (f \bmod 2)$: a kernel two input pixels wide (odd when $f$ is odd, so it has a
# centre tap), the support of the bilinear kernel. `upsampling_params` returns that choice:

# %%
for f in (1, 2, 3, 4, 8, 16, 32):
    k, s, p = upsampling_params(f)
    outputs = [conv_transpose_output_size(n, k, s, p) for n in (1, 7, 10)]
    assert (k, s, p) == (2 * f - f % 2, f, f // 2) and outputs == [f, 7 * f, 10 * f]
    print(f"x{f:<2}: k={k:<2} s={s:<2} p={p:<2}  sizes 1, 7, 10 -> {outputs}")
# and the rule itself: with s = f, a = 0, exact for every n iff k = f + 2p
for f in (2, 3, 4):
    for k in range(1, 3 * f + 1):
        for p in range(0, k):
            exact = all(
                conv_transpose_output_size(n, k, f, p) == n * f
                for n in range(1, 30)
                if (n - 1) * f + k - 2 * p > 0
            )
            assert exact == (k == f + 2 * p), (f, k, p)

# %% [markdown]
# FCN-32s upsamples a $7 \times 10$ score map of a $224 \times 320$ image with
# `upsampling_params(32)`, and PyTorch agrees that it lands exactly on the image size:

# %%
k, s, p = upsampling_params(32)
scores = torch.zeros(1, 1, 7, 10)
out = F.conv_transpose2d(scores, torch.zeros(1, 1, k, k), stride=s, padding=p)
assert out.shape == (1, 1, 224, 320)
out.shape

# %% [markdown]
# ## PyTorch's output_padding rule
#
# Output padding only chooses among sizes the stride (or the dilation) made ambiguous, so
# PyTorch requires $a < \max(s, d)$ — checked here by asking PyTorch for $a = \max(s, d) - 1$
# (accepted) and $a = \max(s, d)$ (refused):

# %%
for s, d in [(2, 1), (1, 2), (3, 2), (2, 3)]:
    limit = max(s, d)
    for a, accepted in [(limit - 1, True), (limit, False)]:
        layer = nn.ConvTranspose2d(1, 1, 3, stride=s, dilation=d, output_padding=a)
        try:
            layer(torch.zeros(1, 1, 4, 4))
            ok = True
        except RuntimeError:
            ok = False
        assert ok == accepted, (s, d, a)
print(
    "output_padding < max(stride, dilation) accepted, = max(stride, dilation) refused"
)

# %% [markdown]
# `output_padding_for` computes the legal value for a target size, which PyTorch then reaches:

# %%
a = output_padding_for(4, target=8, kernel_size=3, stride=2, padding=1)
a2 = output_padding_for((4, 4), (7, 8), kernel_size=3, stride=2, padding=1)
print(a)
print(a2)
w3 = torch.zeros(1, 1, 3, 3)
assert (
    F.conv_transpose2d(
        torch.zeros(1, 1, 4, 4), w3, stride=2, padding=1, output_padding=a
    ).shape[-1]
    == 8
)
assert F.conv_transpose2d(
    torch.zeros(1, 1, 4, 4), w3, stride=2, padding=1, output_padding=a2
).shape[-2:] == (7, 8)

# %% [markdown]
# Asking for too much fails in both libraries. `transconv.shapes` raises a `ValueError` that
# names the values, the rule and the fix:

# %%
try:
    conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=2)
except ValueError as err:
    print("ValueError:", err)

# %%
try:
    output_padding_for(4, target=9, kernel_size=3, stride=2, padding=1)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# PyTorch raises a `RuntimeError` when the layer runs:

# %%
layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=2)
try:
    layer(torch.zeros(1, 1, 4, 4))
except RuntimeError as err:
    print("RuntimeError:", err)
