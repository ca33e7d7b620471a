# %% [markdown]
# # Transposed convolution
#
# A convolution maps a large input to a smaller output: each output pixel *gathers* a window
# of input pixels. A transposed convolution runs the other way: each **input** pixel
# *scatters* a scaled copy of the kernel into a larger output, and where copies overlap they
# are summed. That is all it is. Here it is for a $2 \times 2$ input and a $2 \times 2$
# kernel, both $\begin{bmatrix} 0 & 1 \\ 2 & 3 \end{bmatrix}$, drawn by
# `transconv.viz.plot_scatter` (every number in it is computed):

# %%
import torch

from transconv.viz import plot_scatter, show

X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
show(plot_scatter(X, K))

# %% [markdown]
# Input pixel $(i, j)$ stamps $X_{ij} K$ with its top-left corner at $(i, j)$; the four
# stamps overlap, and the centre pixel collects one tap from each of them. The stamps are
# `transconv.overlap.scatter_stamps`; their sum is PyTorch's transposed convolution:

# %%
from torch.nn import functional as F

from transconv.overlap import scatter_stamps

stamps = scatter_stamps(X, K)  # one 3 x 3 stamp per input pixel
Y = stamps.sum(dim=(0, 1))
Y, F.conv_transpose2d(X[None, None], K[None, None])[0, 0]

# %% tags=["remove-input"]
torch.set_printoptions(precision=4, sci_mode=False)
torch.testing.assert_close(Y, F.conv_transpose2d(X[None, None], K[None, None])[0, 0])
covering = scatter_stamps(torch.ones(2, 2), torch.ones(2, 2))[:, :, 1, 1]
assert covering.sum() == 4 and bool((covering == 1).all())  # one tap from each stamp

# %% [markdown]
# ## Two other names
#
# You will meet the same operation under two more names, and it helps to know why.
#
# - **Deconvolution** (反卷积), as in Caffe's `Deconvolution` layer that FCN uses and in
#   Zeiler et al.'s "deconvolutional networks" (2010). It is a misnomer: in signal processing a
#   deconvolution *undoes* a convolution, and a transposed convolution does not. It only
#   restores the **shape** (shown [below](#convolution-then-transposed-convolution-restores-the-shape)),
#   not the values. People keep the name because it runs a convolution "backwards", from the
#   small map to the large one.
# - **Fractionally strided convolution** (conv_arithmetic's name). With stride $s$ the same
#   result comes from a stride-1 convolution over the input with $s - 1$ zeros inserted
#   between its pixels: the kernel moves $1/s$ of an input pixel per step, a "stride of
#   $1/s$". The [shape arithmetic](../shape_arithmetic/) page derives the padding this needs
#   and checks it on values.
#
# This site says **transposed convolution** throughout: the [matrix view](../matrix_view/)
# shows it is the convolution's matrix, transposed.

# %% tags=["remove-input"]
def zero_inserted(x, s):
    """x with s - 1 zeros between neighbouring pixels."""
    out = torch.zeros(*x.shape[:-2], (x.shape[-2] - 1) * s + 1, (x.shape[-1] - 1) * s + 1)
    out[..., ::s, ::s] = x
    return out


# "fractionally strided": stride-1 convolution of the zero-inserted input, flipped kernel
for s_ in (1, 2, 3):
    k_ = K.shape[-1]
    spread = F.pad(zero_inserted(X[None, None], s_), (k_ - 1,) * 4)
    direct = F.conv2d(spread, K.flip(-1, -2)[None, None])
    torch.testing.assert_close(direct, F.conv_transpose2d(X[None, None], K[None, None], stride=s_))
# "not the inverse": a convolution followed by the transposed one does not give back x
x_ = torch.arange(16.0).reshape(1, 1, 4, 4)
round_trip = F.conv_transpose2d(F.conv2d(x_, K[None, None]), K[None, None])
assert round_trip.shape == x_.shape and not torch.allclose(round_trip, x_)

# %% [markdown]
# ## The basic operation, as a loop
#
# With stride 1 and no padding, input element $X_{ij}$ adds $X_{ij} K$ into the output window
# starting at $(i, j)$. The loop `transconv.reference.trans_conv` *is* the definition (its
# docstring left out):

# %% tags=["remove-input"]
import inspect

from transconv import reference


def without_docstring(fn):
    """Source of ``fn`` without its docstring: signature and body."""
    head, _, rest = inspect.getsource(fn).partition('"""')
    return head.rstrip() + rest.split('"""', 1)[1]


print(without_docstring(reference.trans_conv))

# %% [markdown]
# An $n_h \times n_w$ input and a $k_h \times k_w$ kernel give an
# $(n_h + k_h - 1) \times (n_w + k_w - 1)$ output. For the example above:

# %%
from transconv.reference import trans_conv

Y = trans_conv(X, K)
Y

# %% tags=["remove-input"]
assert Y.shape == (X.shape[0] + K.shape[0] - 1, X.shape[1] + K.shape[1] - 1)
torch.testing.assert_close(Y, stamps.sum(dim=(0, 1)))

# %% [markdown]
# `nn.ConvTranspose2d` with this kernel as its weight computes exactly the same:

# %%
from torch import nn

tconv = nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False)
tconv.weight.data = K.reshape(1, 1, 2, 2)
tconv(X.reshape(1, 1, 2, 2))

# %% tags=["remove-input"]
torch.testing.assert_close(tconv(X.reshape(1, 1, 2, 2)).detach()[0, 0], Y)

# %% [markdown]
# ## Padding
#
# In a convolution, padding adds zeros around the *input*. In a transposed convolution it
# works on the *output*: `padding=p` removes $p$ rows and columns from each border of the
# full result. Padding 1 strips the $3 \times 3$ output above down to its centre:

# %%
tconv = nn.ConvTranspose2d(1, 1, kernel_size=2, padding=1, bias=False)
tconv.weight.data = K.reshape(1, 1, 2, 2)
tconv(X.reshape(1, 1, 2, 2))

# %% tags=["remove-input"]
padded = tconv(X.reshape(1, 1, 2, 2)).detach()[0, 0]
assert torch.equal(padded, Y[1:-1, 1:-1])

# %% [markdown]
# ## Stride
#
# Stride works on the output too: input pixels stamp their kernels $s$ output pixels apart
# instead of 1. With stride 2 the four $2 \times 2$ stamps no longer overlap and tile a
# $4 \times 4$ output:

# %%
tconv = nn.ConvTranspose2d(1, 1, kernel_size=2, stride=2, bias=False)
tconv.weight.data = K.reshape(1, 1, 2, 2)
tconv(X.reshape(1, 1, 2, 2))

# %%
show(plot_scatter(X, K, stride=2))

# %% tags=["remove-input"]
from transconv.overlap import overlap_counts

strided = tconv(X.reshape(1, 1, 2, 2)).detach()[0, 0]
torch.testing.assert_close(strided, scatter_stamps(X, K, stride=2).sum(dim=(0, 1)))
tiles = overlap_counts(2, 2, 2)
assert tiles.shape == (4, 4) and bool((tiles == 1).all())

# %% [markdown]
# With a $3 \times 3$ kernel and stride 2, neighbouring stamps share one row or column: the
# middle row and column of the $5 \times 5$ output collect taps from two stamps and the
# centre pixel from all four, while every other pixel has one (the start of
# [checkerboard artifacts](../checkerboard/)). One frame per input pixel:

# %%
from transconv.viz import animate_scatter

K3 = torch.arange(9.0).reshape(3, 3)
animate_scatter(X, K3, stride=2)

# %% [markdown]
# How many stamps cover each output pixel (`transconv.overlap.overlap_counts`):

# %%
overlap_counts(2, 3, 2)

# %% tags=["remove-input"]
counts = overlap_counts(2, 3, 2)
assert counts[2].tolist() == counts[:, 2].tolist() == [2, 2, 4, 2, 2]
assert int((counts == 1).sum()) == 25 - 9

# %% [markdown]
# ## Channels
#
# With several channels the weight has shape $(C_\text{in}, C_\text{out}, k_h, k_w)$ (note
# the order: the transpose of `Conv2d`'s $(C_\text{out}, C_\text{in}, k_h, k_w)$). Each
# output channel sums the scatters of all input channels, each with its own kernel:

# %%
tconv = nn.ConvTranspose2d(3, 2, kernel_size=3, stride=2, padding=1, bias=False)
x3 = torch.rand(1, 3, 4, 4)
print("weight", tuple(tconv.weight.shape), "input", tuple(x3.shape),
      "-> output", tuple(tconv(x3).shape))

# %% tags=["remove-input"]
assert nn.Conv2d(3, 2, 3).weight.shape == (2, 3, 3, 3)
w3 = tconv.weight.detach()
per_channel = sum(
    F.conv_transpose2d(x3[:, c : c + 1], w3[c : c + 1], stride=2, padding=1) for c in range(3)
)
torch.testing.assert_close(tconv(x3).detach(), per_channel)

# %% [markdown]
# ## Convolution then transposed convolution restores the shape
#
# A transposed convolution with the same $(k, s, p)$ as a convolution maps the convolution's
# output size back to its input size. It undoes the **shape**, not the values. With 10
# channels, a $16 \times 16$ input, $k = 5$, $p = 2$, $s = 3$:

# %%
X16 = torch.rand(1, 10, 16, 16)
conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
print(tuple(conv(X16).shape), "->", tuple(tconv(conv(X16)).shape))

# %% tags=["remove-input"]
restored = tconv(conv(X16))
assert restored.shape == X16.shape and not torch.allclose(restored, X16)

# %% [markdown]
# ## ... and when it does not
#
# With stride $s > 1$ the convolution rounds down, so $s$ different input sizes share one
# output size, and the transposed convolution can only return one of them. For $k = 3$,
# $s = 2$, $p = 1$, sizes 7 and 8 both become 4, and 4 goes back to 7:

# %%
from transconv.shapes import conv_output_size, conv_transpose_output_size

for n in (7, 8):
    m = conv_output_size(n, kernel_size=3, stride=2, padding=1)
    back = conv_transpose_output_size(m, kernel_size=3, stride=2, padding=1)
    print(f"{n} -> conv -> {m} -> transposed conv -> {back}")

# %% tags=["remove-input"]
for n in (7, 8):
    m = conv_output_size(n, kernel_size=3, stride=2, padding=1)
    assert (m, conv_transpose_output_size(m, kernel_size=3, stride=2, padding=1)) == (4, 7)

# %% [markdown]
# `output_padding` picks the other one: it adds rows and columns at the bottom and right of
# the output. `transconv.shapes.output_padding_for` finds it, and PyTorch also accepts the
# target size directly via `output_size`:

# %%
from transconv.shapes import output_padding_for

op = output_padding_for(4, 8, kernel_size=3, stride=2, padding=1)
down = nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1)(torch.rand(1, 1, 8, 8))
up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=op)
print("output_padding =", op)
print(tuple(down.shape), "->", tuple(up(down).shape))
print("with output_size:", tuple(nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)(
    down, output_size=(8, 8)).shape))

# %% [markdown]
# It must be smaller than the stride (PyTorch also accepts values below the dilation: the
# [shape arithmetic](../shape_arithmetic/#pytorchs-output_padding-rule) page explains why
# that is looser than needed). One more is refused:

# %%
try:
    F.conv_transpose2d(down, up.weight, stride=2, padding=1, output_padding=2)
except RuntimeError as error:
    print("output_padding=2 with stride 2:", str(error).splitlines()[0])

# %% tags=["remove-input"]
assert up(down).shape[-2:] == (8, 8)
auto = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)(down, output_size=(8, 8))
assert auto.shape[-2:] == (8, 8)
try:
    F.conv_transpose2d(down, up.weight, stride=2, padding=1, output_padding=2)
except RuntimeError:
    pass
else:
    raise AssertionError("output_padding as large as the stride was accepted")

# %% [markdown]
# ## How the reference computes it
#
# `transconv.reference.conv_transpose2d` has the signature of
# `torch.nn.functional.conv_transpose2d` and is written from tensor primitives, without a
# convolution call. It does not scatter tap by tap. Kernel tap $a$ sends input row $i$ to
# output row $i s + a d = (i + q)s + r$ with $q, r = \operatorname{divmod}(a d, s)$, so the
# taps fall into $s$ **phases** $r$ (output rows $r, r + s, r + 2s, \dots$). Per phase pair
# $(r_y, r_x)$ the reference stacks the shifted inputs of the taps landing there and sums
# them with **one matrix product**: $s_H \cdot s_W$ products in all. For $k = 3$, $s = 2$
# the taps per phase are:

# %%
k, s = 3, 2
{r: [a for a in range(k) if a % s == r] for r in range(s)}

# %% [markdown]
# Counting the torch functions it calls (with a `TorchFunctionMode` that records each call;
# hidden here) shows $s \cdot s = 4$ matrix products and no convolution, scatter or
# `index_add`:

# %% tags=["remove-input"]
from collections import Counter

from torch.overrides import TorchFunctionMode


class Calls(TorchFunctionMode):
    """Record the name of every torch function a block of code calls."""

    def __init__(self):
        super().__init__()
        self.names = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names[getattr(func, "__name__", str(func))] += 1
        return func(*args, **(kwargs or {}))


gen = torch.Generator().manual_seed(0)
x5 = torch.rand(1, 2, 5, 5, generator=gen, dtype=torch.float64)
w5 = torch.rand(2, 3, k, k, generator=gen, dtype=torch.float64)
with Calls() as calls:
    ours = reference.conv_transpose2d(x5, w5, stride=s)
print("matrix products:", calls.names["matmul"])
forbidden = ("conv", "scatter", "index_add")
print("calls naming conv, scatter or index_add:",
      [name for name in calls.names if any(word in name for word in forbidden)])
assert calls.names["matmul"] == s * s
assert not any(word in name for word in forbidden for name in calls.names)
torch.testing.assert_close(ours, F.conv_transpose2d(x5, w5, stride=s))

# %% [markdown]
# Each phase only sees its own taps: keeping only the taps of phase 0 (rows and columns 0
# and 2 of the kernel) leaves the even output rows and columns unchanged.

# %%
phase0 = torch.zeros_like(w5)
phase0[..., ::2, ::2] = w5[..., ::2, ::2]
only_phase0 = reference.conv_transpose2d(x5, phase0, stride=s)
(only_phase0 - ours)[..., ::2, ::2].abs().max()  # even rows and columns: unchanged

# %% tags=["remove-input"]
torch.testing.assert_close(only_phase0[..., ::2, ::2], ours[..., ::2, ::2])

# %% [markdown]
# Groups, dilation and `output_padding` are covered the same way (the test suite compares the
# reference with PyTorch on random configurations); here is all of them at once, compared
# with `torch.testing.assert_close`:

# %%
x4 = torch.rand(2, 4, 5, 3, dtype=torch.float64)
w4 = torch.rand(4, 3, 3, 2, dtype=torch.float64)
kwargs = dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1),
              groups=2, dilation=(1, 2))
ours = reference.conv_transpose2d(x4, w4, **kwargs)
torch.testing.assert_close(ours, F.conv_transpose2d(x4, w4, **kwargs))
ours.shape

# %% [markdown]
# The [shape arithmetic](../shape_arithmetic/) page derives these sizes and the rule for
# `output_padding`; the [matrix view](../matrix_view/) explains the name "transposed"; the
# [explorer](../explorer/) runs any setting in your browser, scatter, gather and matrix side by
# side.
#
# ## Exercises
#
# **1.** Extend the `trans_conv` loop to a stride $s$: input pixel $(i, j)$ now stamps its
# kernel at $(is, js)$. Check it against `F.conv_transpose2d` for $s = 1, 2, 3$.

# %% tags=["solution"]
def trans_conv_strided(X, K, s):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - 1) * s + h, (X.shape[1] - 1) * s + w)
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i * s : i * s + h, j * s : j * s + w] += X[i, j] * K
    return Y


for s in (1, 2, 3):
    expected = F.conv_transpose2d(X[None, None], K3[None, None], stride=s)[0, 0]
    torch.testing.assert_close(trans_conv_strided(X, K3, s), expected)
trans_conv_strided(X, K3, 2)

# %% [markdown]
# **2.** Before running it: what shape does a $3 \times 3$ kernel with stride 2 and
# padding 1 give for a $4 \times 6$ input? Use the scatter picture: stamps $s$ apart, then
# $p$ removed from each border.

# %% tags=["solution"]
# the last stamp starts at (n - 1)s and is k wide; padding removes p per border
full = ((4 - 1) * 2 + 3, (6 - 1) * 2 + 3)
predicted = (full[0] - 2 * 1, full[1] - 2 * 1)
x46, k33 = torch.zeros(1, 1, 4, 6), torch.zeros(1, 1, 3, 3)
out = F.conv_transpose2d(x46, k33, stride=2, padding=1)
assert out.shape[-2:] == predicted == (7, 11)
predicted

# %% [markdown]
# **3.** A $1 \times 1$ kernel only mixes channels. Show that a $1 \times 1$ transposed
# convolution with weight $W$ of shape $(C_\text{in}, C_\text{out}, 1, 1)$ is the
# $1 \times 1$ convolution whose weight is $W$ with its two channel axes swapped.

# %% tags=["solution"]
w11 = torch.randn(4, 6, 1, 1, dtype=torch.float64)
x11 = torch.randn(2, 4, 5, 5, dtype=torch.float64)
swapped = F.conv2d(x11, w11.transpose(0, 1))  # (C_out, C_in, 1, 1): Conv2d's layout
torch.testing.assert_close(F.conv_transpose2d(x11, w11), swapped)
swapped.shape

# %% [markdown]
# **4.** "Deconvolution" suggests an inverse. Find a kernel for which a convolution followed
# by the transposed convolution *does* return the input, and show that $K$ from above does
# not.

# %% tags=["solution"]
x8 = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(8))
identity = torch.ones(1, 1, 1, 1)  # a single tap of 1
assert torch.equal(F.conv_transpose2d(F.conv2d(x8, identity), identity), x8)
round_trip = F.conv_transpose2d(F.conv2d(x8, K[None, None]), K[None, None])
assert round_trip.shape == x8.shape and not torch.allclose(round_trip, x8)
float((round_trip - x8).abs().max())
