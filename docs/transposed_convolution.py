# %% [markdown]
# # Transposed convolution
#
# A convolution maps a large input to a smaller output: each output pixel *gathers* a window
# of input pixels. A transposed convolution runs the other way: each **input** pixel
# *scatters* a scaled copy of the kernel into a larger output. That is all it is; this page
# builds it from a loop, checks it against PyTorch, then adds padding, stride and channels.

# %%
import inspect

import torch
from torch import nn
from torch.nn import functional as F

from transconv import reference
from transconv.shapes import (
    conv_output_size,
    conv_transpose_output_size,
    output_padding_for,
)

torch.set_printoptions(precision=4, sci_mode=False)

# %% [markdown]
# ## The basic operation
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
# $(n_h + k_h - 1) \times (n_w + k_w - 1)$ output. The classic example, with input and kernel
# both $\begin{bmatrix} 0 & 1 \\ 2 & 3 \end{bmatrix}$:

# %%
X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
Y = reference.trans_conv(X, K)
Y

# %% [markdown]
# Each of the four input pixels stamped a copy of $K$ (scaled by itself) into a $3 \times 3$
# output, and overlapping stamps were summed: the centre pixel collects one tap from each of
# the four stamps. `nn.ConvTranspose2d` with this kernel as its weight computes exactly the same:

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
# `torch.nn.functional.conv_transpose2d` and is written from tensor primitives (one
# scatter-add per kernel tap, no convolution call). Below, every result is computed twice,
# by PyTorch and by the reference, and compared with `torch.testing.assert_close`.

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
both(x, w, padding=1)

# %% [markdown]
# **Stride** works on the *input*: input pixels stamp their kernels $s$ apart. With stride 2
# the four $2 \times 2$ stamps no longer overlap and tile a $4 \times 4$ output:

# %%
both(x, w, stride=2)

# %% [markdown]
# **Multiple channels**: the weight has shape $(C_\text{in}, C_\text{out}, k_h, k_w)$ (note the
# order: the transpose of `Conv2d`'s $(C_\text{out}, C_\text{in}, k_h, k_w)$). Each output
# channel sums the scatters of all input channels:

# %%
gen = torch.Generator().manual_seed(0)
x3 = torch.rand(1, 3, 4, 4, generator=gen, dtype=torch.float64)
w3 = torch.rand(3, 2, 3, 3, generator=gen, dtype=torch.float64)
y3 = both(x3, w3, stride=2, padding=1)
print("input", tuple(x3.shape), "weight", tuple(w3.shape))
print("output", tuple(y3.shape))

# %% [markdown]
# Groups, dilation and `output_padding` are covered the same way (the reference is tested
# against PyTorch on hundreds of random configurations); here is all of them at once:

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
X = torch.rand(1, 10, 16, 16, generator=gen)
conv = nn.Conv2d(10, 20, kernel_size=5, padding=2, stride=3)
tconv = nn.ConvTranspose2d(20, 10, kernel_size=5, padding=2, stride=3)
print(tuple(conv(X).shape), "->", tuple(tconv(conv(X)).shape))
tconv(conv(X)).shape == X.shape

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

# %% [markdown]
# `output_padding` picks the other one: it adds rows and columns at the bottom and right of
# the output (it must be smaller than the stride). `transconv.shapes.output_padding_for`
# finds it, and PyTorch accepts the target size directly via `output_size`:

# %%
op = output_padding_for(4, 8, kernel_size=3, stride=2, padding=1)
x8 = torch.rand(1, 1, 8, 8, generator=gen)
down = nn.Conv2d(1, 1, kernel_size=3, stride=2, padding=1)(x8)
up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=op)
up_auto = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
print("output_padding =", op)
print(tuple(down.shape), "->", tuple(up(down).shape))
print("with output_size:", tuple(up_auto(down, output_size=(8, 8)).shape))

# %% [markdown]
# The [shape arithmetic](../shape_arithmetic/) page derives these sizes and the rule for
# `output_padding`; the [matrix view](../matrix_view/) explains the name "transposed".
