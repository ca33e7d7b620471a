# %% [markdown]
# # Matrix view
#
# Why "transposed"? A convolution is linear, so it is a matrix: flatten the input $x$ and
# the output $y$, and $y = W x$ for one sparse matrix $W$ built from the kernel. The
# transposed convolution is then literally $W^\top$: it maps the output shape back to the
# input shape, and backpropagating through a convolution multiplies by the same $W^\top$.
# This page builds $W$ with `transconv.matrix.conv_matrix` and checks both claims against
# PyTorch.

# %%
import torch
from torch.nn import functional as F

from transconv.matrix import conv_matrix
from transconv.reference import corr2d, trans_conv
from transconv.shapes import output_padding_for
from transconv.viz import plot_series, show_matrix

torch.set_printoptions(precision=4, sci_mode=False, linewidth=120)

# %% [markdown]
# ## The 4 × 9 matrix
#
# A $2 \times 2$ kernel $K$ on a $3 \times 3$ input gives a $2 \times 2$ output: 4 outputs,
# 9 inputs, so $W$ is $4 \times 9$. Row $r$ holds the kernel at the positions that output
# pixel $r$ reads, and zeros elsewhere:

# %%
K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
W = conv_matrix(3, K)
W

# %%
show_matrix(W, title="W for a 3x3 input and a 2x2 kernel", annotate=True)

# %% [markdown]
# ## W x is the convolution
#
# Multiplying the flattened input by $W$ gives the cross-correlation computed by the loop
# `corr2d` and by `F.conv2d`:

# %%
X = torch.arange(9.0).reshape(3, 3)
Wx = (W @ X.flatten()).reshape(2, 2)
torch.testing.assert_close(Wx, corr2d(X, K))
torch.testing.assert_close(Wx, F.conv2d(X[None, None], K[None, None])[0, 0])
Wx

# %% [markdown]
# ## Wᵀ y is the transposed convolution
#
# Going back, $W^\top$ maps 4 values to 9: exactly the transposed convolution of the
# $2 \times 2$ map with the same kernel, as computed by the `trans_conv` loop and by
# `F.conv_transpose2d`:

# %%
Y = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
WTy = (W.T @ Y.flatten()).reshape(3, 3)
torch.testing.assert_close(WTy, trans_conv(Y, K))
torch_WTy = F.conv_transpose2d(Y[None, None], K[None, None])[0, 0]
torch.testing.assert_close(WTy, torch_WTy)
WTy

# %% [markdown]
# ## With stride, padding and channels
#
# The same holds for every configuration. A $6 \times 6$ input with $k = 3$, $s = 2$,
# $p = 1$ and 2 to 3 channels gives a $3 \times 3$ output per channel; $W^\top$ maps back to
# $6 \times 6$, which the transposed convolution reaches only with the right
# `output_padding` (see [shape arithmetic](../shape_arithmetic/)):

# %%
gen = torch.Generator().manual_seed(0)
# kernel layout (C_out, C_in, kh, kw)
kernel = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
x = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64)
W = conv_matrix(6, kernel, stride=2, padding=1)
y = F.conv2d(x, kernel, stride=2, padding=1)
torch.testing.assert_close(W @ x.flatten(), y.flatten())
print("W:", tuple(W.shape), " x:", tuple(x.shape), "-> y:", tuple(y.shape))

# %%
op = output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
back = F.conv_transpose2d(y, kernel, stride=2, padding=1, output_padding=op)
torch.testing.assert_close(W.T @ y.flatten(), back.flatten())
print(f"output_padding={op}: W.T @ y has {W.shape[1]} entries,")
print(f"the transposed convolution gives {tuple(back.shape)}")

# %% [markdown]
# The structure is easiest to see for one channel pair: each row of $W$ is one output
# pixel, three groups of three kernel taps (one per kernel row), shifted by the stride from
# row to row. With several channels $W$ is a grid of such blocks, one per
# (output, input) channel pair.

# %%
show_matrix(conv_matrix(6, kernel[0, 0], stride=2, padding=1),
            title="W for one channel pair: k=3, s=2, p=1, 6x6 input")

# %% [markdown]
# ## Why nobody computes it this way
#
# $W$ has one row per output value and one column per input value, so a dense $W$ grows
# with the **square** of the image area, while almost all of it is zero: a row holds at most
# $C_\text{in} k^2$ non-zeros. A sparse matrix stores only those; `F.conv2d` stores only the
# kernel. Measured for a single-channel $3 \times 3$ kernel, padding 1, float32, on
# $n \times n$ inputs (the dense size is computed from the shape; no dense matrix is built):

# %%
def sparse_bytes(S):
    """Bytes held by a sparse COO tensor: its values and its int64 indices."""
    values, indices = S.values(), S.indices()
    return (values.numel() * values.element_size()
            + indices.numel() * indices.element_size())


sides = [8, 16, 32, 64, 128, 256]
memory = {"dense W": [], "sparse W (COO)": [], "conv2d kernel": []}
for n in sides:
    S = conv_matrix(n, torch.ones(3, 3), padding=1, sparse=True)
    memory["dense W"].append(S.shape[0] * S.shape[1] * 4)
    memory["sparse W (COO)"].append(sparse_bytes(S))
    memory["conv2d kernel"].append(9 * 4)
MiB = 2**20
for n, dense, sparse in zip(sides, memory["dense W"], memory["sparse W (COO)"]):
    dense, sparse = dense / MiB, sparse / MiB
    print(f"{n:>3}x{n:<3} dense {dense:>9.2f} MiB  sparse {sparse:>6.2f} MiB")

# %%
plot_series(sides, memory, xlabel="input side n (n x n image)", ylabel="bytes",
            logx=True, logy=True, title="memory of W for a 3x3 convolution")

# %% [markdown]
# Dense memory grows as $n^4$ (look at the $256 \times 256$ row above), sparse memory
# as $n^2$ with a large constant (indices cost more than the values), and the kernel not at
# all. Convolution layers therefore slide the kernel instead, and a transposed convolution
# layer is implemented as the **gradient** of a convolution, which is how PyTorch computes
# `conv_transpose2d`. The matrix view is for understanding, not for computing.
