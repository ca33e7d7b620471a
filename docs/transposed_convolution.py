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
import inspect
from collections import Counter

from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from transconv import reference
from transconv.overlap import overlap_counts, scatter_stamps
from transconv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    output_padding_for,
)
from transconv.viz import animate_scatter

torch.set_printoptions(precision=4, sci_mode=False)

stamps = scatter_stamps(X, K)
Y = stamps.sum(dim=(0, 1))
torch.testing.assert_close(Y, F.conv_transpose2d(X[None, None], K[None, None])[0, 0])
covering = scatter_stamps(torch.ones(2, 2), torch.ones(2, 2))[:, :, 1, 1]
assert covering.sum() == 4 and bool((covering == 1).all())  # one tap from each stamp
Y

# %% [markdown]
# With **stride** 2 the stamps start two pixels apart: the four $2 \times 2$ stamps no longer
# overlap and tile a $4 \times 4$ output.

# %%
tiles = overlap_counts(2, 2, 2)
assert tiles.shape == (4, 4) and bool((tiles == 1).all())
show(plot_scatter(X, K, stride=2))

# %% [markdown]
# The same view as an animation, one frame per input pixel, for a $3 \times 3$ kernel with
# stride 2: neighbouring stamps now share one row or column, so the middle row and column of
# the $5 \times 5$ output collect taps from two stamps and the centre pixel from all four,
# while every other pixel has one (the start of [checkerboard artifacts](../checkerboard/)).

# %%
K3 = torch.arange(9.0).reshape(3, 3)
animate_scatter(X, K3, stride=2)

# %% [markdown]
# How many stamps cover each output pixel (`transconv.overlap.overlap_counts`):

# %%
counts = overlap_counts(2, 3, 2)
assert counts[2].tolist() == counts[:, 2].tolist() == [2, 2, 4, 2, 2]
assert int((counts == 1).sum()) == 25 - 9
counts

# %% [markdown]
# ## The basic operation, as a loop
#
# With stride 1 and no padding, input element $X_{ij}$ adds $X_{ij} K$ into the output window
# starting at $(i, j)$. The loop in `transconv.reference` *is* the definition:

# %%
def without_docstring(fn):
    """Source of ``fn`` without its docstring: signature and body."""
    head, _, rest = inspect.getsource(fn).partition('"""')
    return head.rstrip() + rest.split('"""', 1)[1]


print(without_docstring(reference.trans_conv))

# %% [markdown]
# An $n_h \times n_w$ input and a $k_h \times k_w$ kernel give an
# $(n_h + k_h - 1) \times (n_w + k_w - 1)$ output. For the example above:

# %%
Y = reference.trans_conv(X, K)
assert Y.shape == (X.shape[0] + K.shape[0] - 1, X.shape[1] + K.shape[1] - 1)
Y

# %% [markdown]
# `nn.ConvTranspose2d` with this kernel as its weight computes exactly the same:

# %%
tconv = nn.ConvTranspose2d(1, 1, kernel_size=2, bias=False)
tconv.weight.data = K.reshape(1, 1, 2, 2)
torch_Y = tconv(X.reshape(1, 1, 2, 2)).detach()
torch.testing.assert_close(torch_Y[0, 0], Y)
torch_Y

# %% [markdown]
# ## Padding, stride and the general operator
#
# `transconv.reference.conv_transpose2d` has the signature of
# `torch.nn.functional.conv_transpose2d` and is written from tensor primitives, without a
# convolution call. It does not scatter tap by tap: kernel tap $a$ sends input row $i$ to
# output row $i s + a d = (i + q)s + r$ with $q, r = \operatorname{divmod}(a d, s)$, so the
# taps fall into $s$ **phases** $r$ (output rows $r, r + s, r + 2s, \dots$). Per phase pair
# $(r_y, r_x)$ the reference stacks the shifted inputs of the taps landing there and sums
# them with **one matrix product**: $s_H \cdot s_W$ products in all. For $k = 3$, $s = 2$:

# %%
k, s = 3, 2
phases = {r: [a for a in range(k) if a % s == r] for r in range(s)}
print("taps per phase:", phases)


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
assert calls.names["matmul"] == s * s
forbidden = ("conv", "scatter", "index_add")
assert not any(word in name for word in forbidden for name in calls.names)
torch.testing.assert_close(ours, F.conv_transpose2d(x5, w5, stride=s))

# %% [markdown]
# Each phase only sees its own taps: keeping only the taps of phase 0 (rows and columns 0
# and 2 of the kernel) leaves the even output rows and columns unchanged.

# %%
phase0 = torch.zeros_like(w5)
phase0[..., ::2, ::2] = w5[..., ::2, ::2]
even = (..., slice(0, None, 2), slice(0, None, 2))
only_phase0 = reference.conv_transpose2d(x5, phase0, stride=s)
torch.testing.assert_close(only_phase0[even], ours[even])

# %% [markdown]
# Below, every result is computed twice, by PyTorch and by the reference, and compared with
# `torch.testing.assert_close`.

# %%
def both(x, weight, **kwargs):
    """Run torch's and the reference version, check they agree."""
    ours = reference.conv_transpose2d(x, weight, **kwargs)
    theirs = F.conv_transpose2d(x, weight, **kwargs)
    torch.testing.assert_close(ours, theirs)
    return theirs


x, w = X.reshape(1, 1, 2, 2), K.reshape(1, 1, 2, 2)

# %% [markdown]
# **Padding** works on the *output*: `padding=p` removes $p$ rows and columns from each
# border of the full result. Padding 1 strips the $3 \times 3$ output above down to its
# centre:

# %%
padded = both(x, w, padding=1)
assert torch.equal(padded[0, 0], Y[1:-1, 1:-1])
padded

# %% [markdown]
# **Stride** works on the *input*: input pixels stamp their kernels $s$ apart, as drawn above:

# %%
strided = both(x, w, stride=2)
stamped = scatter_stamps(X, K, stride=2).sum(dim=(0, 1))
torch.testing.assert_close(strided[0, 0], stamped)
strided

# %% [markdown]
# **Multiple channels**: the weight has shape $(C_\text{in}, C_\text{out}, k_h, k_w)$ (note the
# order: the transpose of `Conv2d`'s $(C_\text{out}, C_\text{in}, k_h, k_w)$). Each output
# channel sums the scatters of all input channels:

# %%
assert nn.ConvTranspose2d(3, 2, 3).weight.shape == (3, 2, 3, 3)
assert nn.Conv2d(3, 2, 3).weight.shape == (2, 3, 3, 3)
x3 = torch.rand(1, 3, 4, 4, generator=gen, dtype=torch.float64)
w3 = torch.rand(3, 2, 3, 3, generator=gen, dtype=torch.float64)
y3 = both(x3, w3, stride=2, padding=1)
per_channel = sum(
    F.conv_transpose2d(x3[:, c:c + 1], w3[c:c + 1], stride=2, padding=1)
    for c in range(3)
)
torch.testing.assert_close(y3, per_channel)
print("input", tuple(x3.shape), "weight", tuple(w3.shape))
print("output", tuple(y3.shape))

# %% [markdown]
# Groups, dilation and `output_padding` are covered the same way (the test suite compares the
# reference with PyTorch on random configurations); here is all of them at once:

# %%
x4 = torch.rand(2, 4, 5, 3, generator=gen, dtype=torch.float64)
w4 = torch.rand(4, 3, 3, 2, generator=gen, dtype=torch.float64)
kwargs = dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1),
              groups=2, dilation=(1, 2))
print(tuple(both(x4, w4, **kwargs).shape))

# %% [markdown]
# ## Convolution then transposed convolution restores the shape
#
# A transposed convolution with the same $(k, s, p)$ as a convolution maps the convolution's
# output size back to its input size. It undoes the **shape**, not the values. With 10
# channels, a $16 \times 16$ input, $k = 5$, $p = 2$, $s = 3$:

# %%
X16 = torch.rand(1, 10, 16, 16, generator=gen)
conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
restored = tconv(conv(X16))
print(tuple(conv(X16).shape), "->", tuple(restored.shape))
assert restored.shape == X16.shape and not torch.allclose(restored, X16)

# %% [markdown]
# ## ... and when it does not
#
# With stride $s > 1$ the convolution rounds down, so $s$ different input sizes share one
# output size, and the transposed convolution can only return one of them. For $k = 3$,
# $s = 2$, $p = 1$, sizes 7 and 8 both become 4, and 4 goes back to 7:

# %%
for n in (7, 8):
    m = conv_output_size(n, kernel_size=3, stride=2, padding=1)
    back = conv_transpose_output_size(m, kernel_size=3, stride=2, padding=1)
    print(f"{n} -> conv -> {m} -> transposed conv -> {back}")
    assert (m, back) == (4, 7)

# %% [markdown]
# `output_padding` picks the other one: it adds rows and columns at the bottom and right of
# the output (it must be smaller than the stride or the dilation).
# `transconv.shapes.output_padding_for` finds it, and PyTorch accepts the target size
# directly via `output_size`:

# %%
op = output_padding_for(4, 8, kernel_size=3, stride=2, padding=1)
x8 = torch.rand(1, 1, 8, 8, generator=gen)
down = nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1)(x8)
up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=op)
up_auto = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
print("output_padding =", op)
print(tuple(down.shape), "->", tuple(up(down).shape))
print("with output_size:", tuple(up_auto(down, output_size=(8, 8)).shape))
assert up(down).shape[-2:] == up_auto(down, output_size=(8, 8)).shape[-2:] == (8, 8)
try:
    F.conv_transpose2d(down, up.weight, stride=2, padding=1, output_padding=2)
except RuntimeError as error:
    print("output_padding=2 with stride 2:", str(error).splitlines()[0])
else:
    raise AssertionError("output_padding as large as the stride was accepted")

# %% [markdown]
# The [shape arithmetic](../shape_arithmetic/) page derives these sizes and the rule for
# `output_padding`; the [matrix view](../matrix_view/) explains the name "transposed"; the
# [explorer](../explorer/) runs any setting in your browser, scatter, gather and matrix side by
# side.
