# %% [markdown]
# # Shape arithmetic
#
# How big is the output? For convolution and transposed convolution the answer is one line
# of integer arithmetic each. This page states both (after Dumoulin & Visin's
# *A guide to convolution arithmetic*, "conv_arithmetic" below, with dilation and
# `output_padding` as in PyTorch), works through conv_arithmetic's named cases, calls the
# calculators in `transconv.shapes`, and checks every number against PyTorch.
#
# ## The two formulas
#
# Per spatial dimension, with input size $n$, kernel size $k$, stride $s$, padding $p$,
# dilation $d$ (a dilated, or atrous, convolution spreads its $k$ taps $d$ pixels apart, so
# they span $d(k - 1) + 1$ pixels) and output padding $a$:
#
# $$o_\text{conv} = \left\lfloor \frac{n + 2p - d(k - 1) - 1}{s} \right\rfloor + 1$$
#
# $$o_\text{trans} = (n - 1)\,s - 2p + d(k - 1) + a + 1, \qquad 0 \le a < \max(s, d)$$
#
# A convolution with stride $s > 1$ is a downsampling: it divides the size by about $s$ and
# rounds down, so $s$ neighbouring input sizes share one output size. A transposed
# convolution with the same $(k, s, p)$ maps that output size back to the smallest of them;
# $a$ picks among the $s$ input sizes the floor merged. In code:

# %%
from transconv.shapes import conv_output_size, conv_transpose_output_size

k, s, p = 3, 2, 1
for n in (7, 8):
    o = conv_output_size(n, k, s, p)
    back = [conv_transpose_output_size(o, k, s, p, a) for a in range(s)]
    print(f"{n} -> conv -> {o} -> transposed conv with a = 0, 1 -> {back}")

# %% [markdown]
# Checked for every output size up to 20 and a few layers: the sizes reached with
# $a = 0, \dots, s - 1$ are exactly the input sizes the convolution maps to that output size.

# %% tags=["remove-input"]
assert [conv_output_size(n, 3, 2, 1) for n in (7, 8)] == [4, 4]
for k, s, p in [(3, 2, 1), (4, 2, 1), (5, 3, 2), (7, 4, 3), (2, 2, 0)]:
    for o in range(1, 21):
        sizes = range(max(1, k - 2 * p), 200)  # inputs the kernel fits in
        merged = {n for n in sizes if conv_output_size(n, k, s, p) == o}
        back = {conv_transpose_output_size(o, k, s, p, output_padding=a) for a in range(s)}
        assert merged == back and len(back) == s, (k, s, p, o)
        assert min(merged) == conv_transpose_output_size(o, k, s, p)  # a = 0: the smallest

# %% [markdown]
# The transposed formula is conv_arithmetic's "equivalent direct convolution": insert $s - 1$
# zeros between input pixels (size $(n - 1)s + 1$), pad by $d(k - 1) - p$ on every side
# (plus $a$ at the bottom and right), and run a stride-1 convolution with the flipped kernel.
# Checked on values, not just sizes:


# %%
import torch
from torch.nn import functional as F


def as_direct_convolution(x, weight, stride, padding, output_padding=0, dilation=1):
    """Single-channel conv_transpose2d as a stride-1 conv2d."""
    m = (x.shape[-1] - 1) * stride + 1
    spread = torch.zeros(1, 1, m, m, dtype=x.dtype)
    spread[..., ::stride, ::stride] = x  # zero insertion
    edge = dilation * (weight.shape[-1] - 1) - padding
    far = edge + output_padding
    spread = F.pad(spread, (edge, far, edge, far))
    return F.conv2d(spread, weight.flip(-1, -2), dilation=dilation)


# %%
gen = torch.Generator().manual_seed(0)
x = torch.randn(1, 1, 5, 5, generator=gen, dtype=torch.float64)
w = torch.randn(1, 1, 3, 3, generator=gen, dtype=torch.float64)
args = dict(stride=2, padding=1, output_padding=1, dilation=2)
direct = as_direct_convolution(x, w, **args)
difference = direct - F.conv_transpose2d(x, w, **args)
print(tuple(direct.shape), float(difference.abs().max()))

# %% tags=["remove-input"]
torch.testing.assert_close(direct, F.conv_transpose2d(x, w, **args))

# %% [markdown]
# ## conv_arithmetic's named cases
#
# conv_arithmetic derives the convolution's size in six steps (its Relationships 1–6) and
# then, for each, the transposed convolution that goes back (Relationships 8–14), written as
# an equivalent stride-1 convolution of the zero-inserted input with padding
# $p' = k - p - 1$:
#
# | case | convolution: $o$ | transposed: $o'$ from $i'$ | example |
# | --- | --- | --- | --- |
# | no padding, unit stride (1, 8) | $i - k + 1$ | $i' + (k - 1)$ | $i = 4$, $k = 3$ |
# | zero padding, unit stride (2, 9) | $i - k + 2p + 1$ | $i' + (k - 1) - 2p$ | $i = 5$, $k = 4$, $p = 2$ |
# | half ("same") padding, $p = \lfloor k/2 \rfloor$, odd $k$ (3, 10) | $i$ | $i'$ | $i = 5$, $k = 3$, $p = 1$ |
# | full padding, $p = k - 1$ (4, 11) | $i + (k - 1)$ | $i' - (k - 1)$ | $i = 5$, $k = 3$, $p = 2$ |
# | no padding, stride $s$ (5, 12) | $\lfloor (i - k)/s \rfloor + 1$ | $s(i' - 1) + k$ | $i = 5$, $k = 3$, $s = 2$ |
# | padding and stride (6, 13) | $\lfloor (i + 2p - k)/s \rfloor + 1$ | $s(i' - 1) + k - 2p$ | $i = 5$, $k = 3$, $s = 2$, $p = 1$ |
# | odd sizes with strides (6, 14) | the same | $s(i' - 1) + a + k - 2p$, $a = (i + 2p - k) \bmod s$ | $i = 6$, $k = 3$, $s = 2$, $p = 1$ |
#
# Half padding keeps the size and full padding grows it by $k - 1$; the transposed
# convolution of a "same" convolution is again "same", and that of a fully padded one is an
# unpadded one ($p' = 0$). Each row, on its own example, measured on PyTorch layers (the
# transposed convolution starts from the convolution's output and must return to $i$):

# %%
CASES = {  # name: (i, k, s, p)
    "no padding, unit stride": (4, 3, 1, 0),
    "zero padding, unit stride": (5, 4, 1, 2),
    "half (same) padding": (5, 3, 1, 1),
    "full padding": (5, 3, 1, 2),
    "no padding, stride 2": (5, 3, 2, 0),
    "padding and stride 2": (5, 3, 2, 1),
    "odd size, stride 2": (6, 3, 2, 1),
}


def measured(i, k, s, p):
    """(o, o', a): conv size, the size its transpose returns to, output_padding."""
    w = torch.zeros(1, 1, k, k)
    y = F.conv2d(torch.zeros(1, 1, i, i), w, stride=s, padding=p)
    a = (i + 2 * p - k) % s
    back = F.conv_transpose2d(y, w, stride=s, padding=p, output_padding=a)
    return y.shape[-1], back.shape[-1], a


# %%
from IPython.display import Markdown

from transconv.viz import markdown_table

rows = [[name, *case, *measured(*case)] for name, case in CASES.items()]
Markdown(markdown_table(["case", "i", "k", "s", "p", "o", "o' (back)", "a"], rows))

# %% tags=["remove-input"]
def relationship(i, k, s, p):
    """conv_arithmetic's o (Relationships 1-6) and o' from i' = o (8-14), p' = k - p - 1."""
    o = (i + 2 * p - k) // s + 1
    a = (i + 2 * p - k) % s
    o_back = s * (o - 1) + a + k - 2 * p
    # the equivalent direct convolution: zero-inserted input padded by p', stride 1
    o_direct = conv_output_size((o - 1) * s + 1 + a, k, 1, k - p - 1)
    return o, o_back, o_direct


for name, (i, k, s, p) in CASES.items():
    o, o_back, o_direct = relationship(i, k, s, p)
    assert measured(i, k, s, p)[:2] == (o, o_back) and o_back == o_direct == i, name
    a = (i + 2 * p - k) % s
    assert conv_output_size(i, k, s, p) == o, name
    assert conv_transpose_output_size(o, k, s, p, output_padding=a) == o_back, name
for i in range(3, 12):  # the named cases' claims, for many sizes
    for k in (1, 3, 5, 7):
        assert measured(i, k, 1, k // 2)[:2] == (i, i)  # half padding keeps the size
    for k in range(1, 6):
        assert measured(i, k, 1, k - 1)[0] == i + k - 1  # full padding grows by k - 1
        # its transpose (p = k - 1) shrinks back by k - 1, like an unpadded convolution
        assert conv_transpose_output_size(i + k - 1, k, 1, k - 1) == i
        assert conv_output_size(i + k - 1, k, 1, 0) == i
assert [r[5] for r in rows if r[0].startswith(("padding and", "odd"))] == [3, 3]
assert [r[7] for r in rows if r[0].startswith("odd")] == [1]

# %% [markdown]
# The last two rows are conv_arithmetic's "odd" pair: inputs 5 and 6 both give 3, and only
# `output_padding` $a = 1$ brings 3 back to 6.
#
# ## The calculators
#
# Arguments are ints or tuples (one entry per spatial dimension), as in `torch.nn.Conv2d`:

# %%
print(conv_output_size(32, kernel_size=3, padding=1))
print(conv_output_size((224, 320), kernel_size=7, stride=2, padding=3))
print(conv_transpose_output_size(16, kernel_size=4, stride=2, padding=1))
print(conv_transpose_output_size((7, 10), 64, stride=32, padding=16))
print(conv_transpose_output_size(5, 3, stride=2, padding=1, output_padding=1,
                                 dilation=2))

# %% [markdown]
# Each of those agrees with the shape PyTorch produces (asserted when this page is built).

# %% tags=["remove-input"]
from torch import nn

conv = F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 3, 3), padding=1)
assert conv.shape[-1] == conv_output_size(32, kernel_size=3, padding=1)
conv = F.conv2d(torch.zeros(1, 1, 224, 320), torch.zeros(1, 1, 7, 7), stride=2, padding=3)
assert tuple(conv.shape[-2:]) == conv_output_size((224, 320), 7, stride=2, padding=3)
up = F.conv_transpose2d(torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 4, 4), stride=2, padding=1)
assert up.shape[-1] == conv_transpose_output_size(16, kernel_size=4, stride=2, padding=1)
up = F.conv_transpose2d(
    torch.zeros(1, 1, 7, 10), torch.zeros(1, 1, 64, 64), stride=32, padding=16
)
assert tuple(up.shape[-2:]) == conv_transpose_output_size((7, 10), 64, stride=32, padding=16)
layer = nn.ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=1, output_padding=1, dilation=2)
out = layer(torch.zeros(1, 1, 5, 5))
assert out.shape[-1] == conv_transpose_output_size(
    5, 3, stride=2, padding=1, output_padding=1, dilation=2
)

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
COMMON = [(3, 1, 1), (2, 2, 0), (3, 2, 1), (4, 2, 1), (5, 2, 2),
          (3, 3, 0), (5, 3, 1), (8, 4, 2), (16, 8, 4), (64, 32, 16)]


def table_row(k, s, p):
    conv = conv_output_size(32, k, s, p)
    trans = conv_transpose_output_size(8, k, s, p)
    sizes = range(1, 65)
    exact = all(conv_transpose_output_size(n, k, s, p) == n * s for n in sizes)
    yes = {True: "yes", False: "no"}
    return [k, s, p, conv, trans, yes[exact], yes[k % s == 0]]


header = ["k", "s", "p", "conv 32 →", "transposed 8 →", "exact ×s", "even overlap"]
Markdown(markdown_table(header, [table_row(*ksp) for ksp in COMMON]))

# %% tags=["remove-input"]
from transconv.overlap import overlap_counts


def torch_sizes(k, s, p, n_conv=32, n_trans=8):
    """Output sizes measured on real PyTorch layers."""
    w = torch.zeros(1, 1, k, k)
    conv = F.conv2d(torch.zeros(1, 1, n_conv, n_conv), w, stride=s, padding=p)
    trans = F.conv_transpose2d(torch.zeros(1, 1, n_trans, n_trans), w, stride=s, padding=p)
    return conv.shape[-1], trans.shape[-1]


def even_overlap(k, s):
    """Whether the interior of a long row is covered by equally many kernel taps."""
    n = 2 * k + 2
    row = overlap_counts((1, n), (1, k), (1, s))[0][k - 1 : (n - 1) * s + 1]
    return bool(row.min() == row.max())


for k, s, p in COMMON:
    assert tuple(table_row(k, s, p)[3:5]) == torch_sizes(k, s, p), (k, s, p)
    assert even_overlap(k, s) == (k % s == 0), (k, s)

# %% [markdown]
# ## Choosing k, s, p for an exact ×f
#
# Put $s = f$ and $a = 0$ in the transposed formula: $o = nf + (k - f - 2p)$, so the output is
# exactly $nf$ for every $n$ iff $k = f + 2p$. Taking $p = \lfloor f/2 \rfloor$ gives
# $k = 2f - (f \bmod 2)$: a kernel two input pixels wide (odd when $f$ is odd, so it has a
# centre tap), the support of the bilinear kernel. `upsampling_params` returns that choice:

# %%
from transconv.shapes import upsampling_params

for f in (1, 2, 3, 4, 8, 16, 32):
    k, s, p = upsampling_params(f)
    outputs = [conv_transpose_output_size(n, k, s, p) for n in (1, 7, 10)]
    print(f"x{f:<2}: k={k:<2} s={s:<2} p={p:<2}  sizes 1, 7, 10 -> {outputs}")

# %% tags=["remove-input"]
for f in (1, 2, 3, 4, 8, 16, 32):
    k, s, p = upsampling_params(f)
    outputs = [conv_transpose_output_size(n, k, s, p) for n in (1, 7, 10)]
    assert (k, s, p) == (2 * f - f % 2, f, f // 2) and outputs == [f, 7 * f, 10 * f]
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
out.shape

# %% tags=["remove-input"]
assert out.shape == (1, 1, 224, 320)

# %% [markdown]
# ## PyTorch's output_padding rule
#
# Output padding exists because of the stride: the $s$ values $a = 0, \dots, s - 1$ reach
# exactly the $s$ input sizes the floor merged (checked at the top of this page). Dilation
# never makes sizes ambiguous: a stride-1 convolution, dilated or not, maps
# $n \mapsto n + 2p - d(k - 1)$, one size to one size. PyTorch nevertheless checks the looser
# rule $a < \max(s, d)$: it accepts $a = \max(s, d) - 1$ and refuses $a = \max(s, d)$.

# %%
for s, d in [(2, 1), (1, 2), (3, 2), (2, 3)]:
    for a in (max(s, d) - 1, max(s, d)):
        layer = nn.ConvTranspose2d(1, 1, 3, stride=s, dilation=d, output_padding=a)
        try:
            layer(torch.zeros(1, 1, 4, 4))
            print(f"s={s} d={d} a={a}: accepted")
        except RuntimeError:
            print(f"s={s} d={d} a={a}: refused")

# %% tags=["remove-input"]
def accepted(s, d, a):
    layer = nn.ConvTranspose2d(1, 1, 3, stride=s, dilation=d, output_padding=a)
    try:
        layer(torch.zeros(1, 1, 4, 4))
    except RuntimeError:
        return False
    return True


for s, d in [(2, 1), (1, 2), (3, 2), (2, 3)]:
    assert accepted(s, d, max(s, d) - 1) and not accepted(s, d, max(s, d)), (s, d)
for d in (1, 2, 3):  # stride 1: a dilated convolution maps sizes one to one
    for k in (2, 3):
        outputs = [conv_output_size(n, k, 1, 0, dilation=d) for n in range(d * (k - 1) + 1, 40)]
        assert len(set(outputs)) == len(outputs)

# %% [markdown]
# So with $s = 1$, $d = 2$ PyTorch accepts $a = 1$, although no convolution size needs it:
# the extra row and column hold only zeros (plus the bias, if the layer has one), appended
# at the bottom and right of the $a = 0$ result.

# %%
x4 = torch.randn(1, 1, 4, 4, generator=gen)
w3 = torch.randn(1, 1, 3, 3, generator=gen)
plain = F.conv_transpose2d(x4, w3, dilation=2)
padded = F.conv_transpose2d(x4, w3, dilation=2, output_padding=1)
print(tuple(plain.shape), "->", tuple(padded.shape))
print("last row:", padded[0, 0, -1].tolist())

# %% tags=["remove-input"]
assert torch.equal(padded[..., :-1, :-1], plain)
assert not padded[..., -1, :].any() and not padded[..., :, -1].any()
biased = nn.ConvTranspose2d(1, 1, 3, dilation=2, output_padding=1)
with torch.no_grad():
    assert bool((biased(x4)[..., -1, :] == biased.bias).all())

# %% [markdown]
# `output_padding_for` computes the legal value for a target size, which PyTorch then reaches:

# %%
from transconv.shapes import output_padding_for

a = output_padding_for(4, target=8, kernel_size=3, stride=2, padding=1)
a2 = output_padding_for((4, 4), (7, 8), kernel_size=3, stride=2, padding=1)
print(a, a2)

# %% tags=["remove-input"]
w3 = torch.zeros(1, 1, 3, 3)
y = F.conv_transpose2d(torch.zeros(1, 1, 4, 4), w3, stride=2, padding=1, output_padding=a)
assert y.shape[-1] == 8
y = F.conv_transpose2d(torch.zeros(1, 1, 4, 4), w3, stride=2, padding=1, output_padding=a2)
assert y.shape[-2:] == (7, 8)

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

# %% [markdown]
# ## Exercises
#
# **1.** FCN-16s upsamples its stride-16 scores by $16\times$ in one transposed convolution.
# Which $(k, s, p)$ lands a $14 \times 20$ score map exactly on a $224 \times 320$ image, with
# a kernel two input pixels wide?

# %% tags=["solution"]
k, s, p = 32, 16, 8  # s = f, k = 2f, p = f/2: k = f + 2p holds
scores = torch.zeros(1, 1, 14, 20)
up = F.conv_transpose2d(scores, torch.zeros(1, 1, k, k), stride=s, padding=p)
assert up.shape[-2:] == (224, 320) and (k, s, p) == upsampling_params(16)
up.shape

# %% [markdown]
# **2.** A convolution with $k = 3$, $s = 2$, $p = 1$ maps 13 and 14 to the same size.
# Which size, and which `output_padding` makes the transposed convolution return to each?

# %% tags=["solution"]
o = conv_output_size(13, 3, 2, 1)
answers = {n: output_padding_for(o, n, 3, stride=2, padding=1) for n in (13, 14)}
w33 = torch.zeros(1, 1, 3, 3)
for n, a in answers.items():  # check on torch: conv down, transposed conv back up
    y = F.conv2d(torch.zeros(1, 1, n, n), w33, stride=2, padding=1)
    back = F.conv_transpose2d(y, w33, stride=2, padding=1, output_padding=a)
    assert y.shape[-1] == o and back.shape[-1] == n
assert (o, answers) == (7, {13: 0, 14: 1})
o, answers

# %% [markdown]
# **3.** For which kernel sizes $k \le 9$ and paddings $p$ does a stride-1 transposed
# convolution keep every size ($o' = i'$)? Compare with half padding.

# %% tags=["solution"]
keeps = []
for k in range(1, 10):
    for p in range(k):
        kept = []
        for n in (k, 12, 25):  # several sizes: "every size", not one lucky one
            y = F.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=p)
            kept.append(y.shape[-1] == n)
        if all(kept):
            keeps.append((k, p))
# odd k and p = k // 2: exactly half padding
assert keeps == [(k, k // 2) for k in range(1, 10, 2)]
keeps

# %% [markdown]
# **4.** How many input sizes does a convolution with $k = 5$, $s = 4$, $p = 2$ map to the
# output size 10, and which are they?

# %% tags=["solution"]
merged = [n for n in range(1, 100) if conv_output_size(n, 5, 4, 2) == 10]
back = [conv_transpose_output_size(10, 5, 4, 2, output_padding=a) for a in range(4)]
assert merged == back == [37, 38, 39, 40]  # s = 4 sizes, one per output_padding
merged
