# %% [markdown]
# # Matrix view
#
# Why "transposed"? A convolution is linear, so it is a matrix: flatten the input $x$ and
# the output $y$, and $y = W x$ for one sparse matrix $W$ built from the kernel. The
# transposed convolution is then literally $W^\top$: it maps the output shape back to the
# input shape, and backpropagating through a convolution multiplies by the same $W^\top$.
# This page builds $W$ with `transconv.matrix.conv_matrix` and checks both claims against
# PyTorch: the first with `F.conv_transpose2d`, the second with autograd.

# %%
import torch
from torch.nn import functional as F

from transconv.matrix import conv_matrix
from transconv.reference import corr2d, trans_conv
from transconv.shapes import output_padding_for
from transconv.viz import plot_series, show, show_matrix

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
assert W.shape == (4, 9)
for r in range(4):  # output pixel (i, j) reads input pixels (i..i+1, j..j+1)
    i, j = divmod(r, 2)
    expected = torch.zeros(3, 3)
    expected[i : i + 2, j : j + 2] = K
    assert torch.equal(W[r], expected.flatten())
W

# %%
show(show_matrix(W, title="W for a 3x3 input and a 2x2 kernel", annotate=True))

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
# ## Wᵀ is also what back-propagation multiplies by
#
# If $y = W x$ and a loss $L$ has gradient $g = \partial L / \partial y$, then
# $\partial L / \partial x = W^\top g$. So the gradient that autograd sends back through
# `F.conv2d` must be the transposed convolution of $g$. Computed with autograd, for an
# arbitrary $g$ (the gradient of $L = \sum g \odot y$):

# %%
x_in = X[None, None].clone().requires_grad_(True)
y_out = F.conv2d(x_in, K[None, None])
g = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
(grad_x,) = torch.autograd.grad(y_out, x_in, grad_outputs=g[None, None])
torch.testing.assert_close(grad_x[0, 0], (W.T @ g.flatten()).reshape(3, 3))
torch.testing.assert_close(grad_x, F.conv_transpose2d(g[None, None], K[None, None]))
grad_x[0, 0]

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
assert y.shape == (1, 3, 3, 3) and W.shape == (y.numel(), x.numel())
print("W:", tuple(W.shape), " x:", tuple(x.shape), "-> y:", tuple(y.shape))

# %%
op = output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
back = F.conv_transpose2d(y, kernel, stride=2, padding=1, output_padding=op)
torch.testing.assert_close(W.T @ y.flatten(), back.flatten())
assert back.shape == x.shape and W.shape[1] == x.numel()
assert F.conv_transpose2d(y, kernel, stride=2, padding=1).shape[-2:] == (
    5,
    5,
)  # without it
print(f"output_padding={op}: W.T @ y has {W.shape[1]} entries,")
print(f"the transposed convolution gives {tuple(back.shape)}")

# %% [markdown]
# And back-propagation through this strided, padded, multi-channel convolution multiplies by
# the same $W^\top$ (here $g$ is random):

# %%
x_in = x.clone().requires_grad_(True)
g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
(grad_x,) = torch.autograd.grad(
    F.conv2d(x_in, kernel, stride=2, padding=1), x_in, grad_outputs=g
)
torch.testing.assert_close(grad_x.flatten(), W.T @ g.flatten())
torch.testing.assert_close(
    grad_x, F.conv_transpose2d(g, kernel, stride=2, padding=1, output_padding=op)
)
print("autograd's gradient == W.T @ g == conv_transpose2d(g):", tuple(grad_x.shape))

# %% [markdown]
# The structure is easiest to see for one channel pair: each row of $W$ is one output
# pixel, three groups of three kernel taps (one per kernel row), shifted by the stride from
# row to row. With several channels $W$ is a grid of such blocks, one per
# (output, input) channel pair.

# %%
W00 = conv_matrix(6, kernel[0, 0], stride=2, padding=1)
# output pixel (1, 1) reads input rows 1..3, columns 1..3;
# pixel (1, 2) reads the same, shifted by the stride
taps_11 = W00[1 * 3 + 1].nonzero().flatten()
taps_12 = W00[1 * 3 + 2].nonzero().flatten()
assert taps_11.tolist() == [c + 6 * r for r in (1, 2, 3) for c in (1, 2, 3)]
assert torch.equal(taps_12, taps_11 + 2)  # shifted by the stride
assert (W != 0).sum(dim=1).max() <= kernel.shape[
    1
] * 3 * 3  # at most C_in k^2 per row
show(show_matrix(W00, title="W for one channel pair: k=3, s=2, p=1, 6x6 input"))

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
    return (
        values.numel() * values.element_size()
        + indices.numel() * indices.element_size()
    )


sides = [8, 16, 32, 64, 128, 256]
memory = {"dense W": [], "sparse W (COO)": [], "conv2d kernel": []}
for n in sides:
    S = conv_matrix(n, torch.ones(3, 3), padding=1, sparse=True)
    memory["dense W"].append(S.shape[0] * S.shape[1] * 4)
    memory["sparse W (COO)"].append(sparse_bytes(S))
    memory["conv2d kernel"].append(9 * 4)
for i in range(len(sides) - 1):  # each step doubles n
    assert memory["dense W"][i + 1] == 16 * memory["dense W"][i]  # n^4
    assert (
        4 <= memory["sparse W (COO)"][i + 1] / memory["sparse W (COO)"][i] < 4.4
    )  # ~n^2
S = conv_matrix(8, torch.ones(3, 3), padding=1, sparse=True)
assert S.indices().numel() * 8 > S.values().numel() * 4  # indices outweigh the values
MiB = 2**20
for n, dense, sparse in zip(
    sides, memory["dense W"], memory["sparse W (COO)"], strict=True
):
    dense, sparse = dense / MiB, sparse / MiB
    print(f"{n:>3}x{n:<3} dense {dense:>9.2f} MiB  sparse {sparse:>6.2f} MiB")

# %%
show(plot_series(
    sides,
    memory,
    xlabel="input side n (n x n image)",
    ylabel="bytes",
    logx=True,
    logy=True,
    title="memory of W for a 3x3 convolution",
))

# %% [markdown]
# Dense memory grows as $n^4$ (16 times per doubling of $n$; look at the $256 \times 256$ row
# above), sparse memory as $n^2$ with a large constant (the int64 indices cost more than the
# float32 values), and the kernel not at all — each asserted above. Convolution layers
# therefore slide the kernel instead, and since a transposed convolution **is** the gradient
# of a convolution with respect to its input (asserted with autograd above), a library that
# can back-propagate through a convolution can already compute a transposed one. The matrix
# view is for understanding, not for computing.
