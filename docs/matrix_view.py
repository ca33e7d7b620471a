# %% [markdown]
# # Matrix view
#
# Why "transposed"? A convolution is linear, so it is a matrix: flatten the input $x$ and
# the output $y$, and $y = C x$ for one sparse matrix $C$ built from the kernel, the
# **convolution matrix** (conv_arithmetic calls it $C$, and so does the
# [explorer](../explorer/), which draws $C^\top$ for any setting). The transposed
# convolution is then literally $C^\top$: it maps the output shape back to the input shape,
# and backpropagating through a convolution multiplies by the same $C^\top$. This page builds
# $C$ with `transconv.matrix.conv_matrix` and checks both claims against PyTorch: the first
# with `F.conv_transpose2d`, the second with autograd.
#
# ## The 4 × 9 matrix
#
# A $2 \times 2$ kernel $K$ on a $3 \times 3$ input gives a $2 \times 2$ output: 4 outputs,
# 9 inputs, so $C$ is $4 \times 9$. Row $r$ holds the kernel at the positions that output
# pixel $r$ reads, and zeros elsewhere:

# %%
import torch

from transconv.matrix import conv_matrix

K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
C = conv_matrix(3, K)
C

# %% tags=["remove-input"]
torch.set_printoptions(precision=4, sci_mode=False, linewidth=120)
assert C.shape == (4, 9)
for r in range(4):  # output pixel (i, j) reads input pixels (i..i+1, j..j+1)
    i, j = divmod(r, 2)
    expected = torch.zeros(3, 3)
    expected[i : i + 2, j : j + 2] = K
    assert torch.equal(C[r], expected.flatten())

# %%
from transconv.viz import show, show_matrix

show(show_matrix(C, title="C for a 3x3 input and a 2x2 kernel", annotate=True))

# %% [markdown]
# ## C x is the convolution
#
# Multiplying the flattened input by $C$ gives the cross-correlation (互相关: what deep
# learning calls "convolution", the kernel not flipped) computed by the loop `corr2d` and by
# `F.conv2d`:

# %%
from torch.nn import functional as F

from transconv.reference import corr2d

X = torch.arange(9.0).reshape(3, 3)
Cx = (C @ X.flatten()).reshape(2, 2)
Cx, corr2d(X, K), F.conv2d(X[None, None], K[None, None])[0, 0]

# %% tags=["remove-input"]
torch.testing.assert_close(Cx, corr2d(X, K))
torch.testing.assert_close(Cx, F.conv2d(X[None, None], K[None, None])[0, 0])

# %% [markdown]
# ## Cᵀ y is the transposed convolution
#
# Going back, $C^\top$ maps 4 values to 9: exactly the transposed convolution of the
# $2 \times 2$ map with the same kernel, as computed by the `trans_conv` loop and by
# `F.conv_transpose2d`:

# %%
from transconv.reference import trans_conv

Y = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
CTy = (C.T @ Y.flatten()).reshape(3, 3)
CTy, trans_conv(Y, K)

# %% tags=["remove-input"]
torch.testing.assert_close(CTy, trans_conv(Y, K))
torch.testing.assert_close(CTy, F.conv_transpose2d(Y[None, None], K[None, None])[0, 0])

# %% [markdown]
# ## Cᵀ is also what back-propagation multiplies by
#
# If $y = C x$ and a loss $L$ has gradient $g = \partial L / \partial y$, then
# $\partial L / \partial x = C^\top g$. So the gradient that autograd sends back through
# `F.conv2d` must be the transposed convolution of $g$. Computed with autograd, for an
# arbitrary $g$ (the gradient of $L = \sum g \odot y$):

# %%
x_in = X[None, None].clone().requires_grad_(True)
y_out = F.conv2d(x_in, K[None, None])
g = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
(grad_x,) = torch.autograd.grad(y_out, x_in, grad_outputs=g[None, None])
grad_x[0, 0], (C.T @ g.flatten()).reshape(3, 3)

# %% tags=["remove-input"]
torch.testing.assert_close(grad_x[0, 0], (C.T @ g.flatten()).reshape(3, 3))
torch.testing.assert_close(grad_x, F.conv_transpose2d(g[None, None], K[None, None]))

# %% [markdown]
# ## With stride, padding and channels
#
# The same holds for every configuration. A $6 \times 6$ input with 2 channels, convolved
# with $k = 3$, $s = 2$, $p = 1$ into 3 output channels, gives a $3 \times 3$ map per
# output channel; $C^\top$ maps back to $2 \times 6 \times 6$, which the transposed
# convolution reaches only with the right `output_padding` (see
# [shape arithmetic](../shape_arithmetic/)):

# %%
gen = torch.Generator().manual_seed(0)
# kernel layout (C_out, C_in, k, k): 2 input channels, 3 output channels
kernel = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
x = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64)
C = conv_matrix(6, kernel, stride=2, padding=1)
y = F.conv2d(x, kernel, stride=2, padding=1)
print("C:", tuple(C.shape), " x:", tuple(x.shape), "-> y:", tuple(y.shape))

# %% tags=["remove-input"]
torch.testing.assert_close(C @ x.flatten(), y.flatten())
assert y.shape == (1, 3, 3, 3) and C.shape == (y.numel(), x.numel())

# %%
from transconv.shapes import output_padding_for

op = output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
back = F.conv_transpose2d(y, kernel, stride=2, padding=1, output_padding=op)
print(f"output_padding={op}: C.T @ y has {C.shape[1]} entries,")
print(f"the transposed convolution gives {tuple(back.shape)}")

# %% tags=["remove-input"]
torch.testing.assert_close(C.T @ y.flatten(), back.flatten())
assert back.shape == x.shape and C.shape[1] == x.numel()
assert F.conv_transpose2d(y, kernel, stride=2, padding=1).shape[-2:] == (5, 5)  # without it

# %% [markdown]
# And back-propagation through this strided, padded, multi-channel convolution multiplies by
# the same $C^\top$ (here $g$ is random):

# %%
x_in = x.clone().requires_grad_(True)
g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
y_out = F.conv2d(x_in, kernel, stride=2, padding=1)
(grad_x,) = torch.autograd.grad(y_out, x_in, grad_outputs=g)
print("autograd's gradient == C.T @ g == conv_transpose2d(g):", tuple(grad_x.shape))

# %% tags=["remove-input"]
torch.testing.assert_close(grad_x.flatten(), C.T @ g.flatten())
torch.testing.assert_close(
    grad_x, F.conv_transpose2d(g, kernel, stride=2, padding=1, output_padding=op)
)

# %% [markdown]
# The structure is easiest to see for one channel pair: each row of $C$ is one output
# pixel, three groups of three kernel taps (one per kernel row), shifted by the stride from
# row to row. With several channels $C$ is a grid of such blocks, one per
# (output, input) channel pair.

# %%
C00 = conv_matrix(6, kernel[0, 0], stride=2, padding=1)
show(show_matrix(C00, title="C for one channel pair: k=3, s=2, p=1, 6x6 input"))

# %% tags=["remove-input"]
# output pixel (1, 1) reads input rows 1..3, columns 1..3;
# pixel (1, 2) reads the same, shifted by the stride
taps_11 = C00[1 * 3 + 1].nonzero().flatten()
taps_12 = C00[1 * 3 + 2].nonzero().flatten()
assert taps_11.tolist() == [c + 6 * r for r in (1, 2, 3) for c in (1, 2, 3)]
assert torch.equal(taps_12, taps_11 + 2)  # shifted by the stride
assert (C != 0).sum(dim=1).max() <= kernel.shape[1] * 3 * 3  # at most C_in k^2 per row
blocks = C.view(3, 9, 2, 36)  # (output channel, output pixel, input channel, input pixel)
for o in range(3):  # "a grid of such blocks, one per (output, input) channel pair"
    for i in range(2):
        block = conv_matrix(6, kernel[o, i], stride=2, padding=1)
        torch.testing.assert_close(blocks[o, :, i], block)

# %% [markdown]
# ## Why nobody computes it this way
#
# $C$ has one row per output value and one column per input value, so a dense $C$ grows
# with the **square** of the image area, while almost all of it is zero: a row holds at most
# $C_\text{in} k^2$ non-zeros. A sparse matrix stores only those; `F.conv2d` stores only the
# kernel. Measured for a single-channel $3 \times 3$ kernel, padding 1, float32, on
# $n \times n$ inputs (the dense size is computed from the shape; no dense matrix is built):


# %%
def sparse_bytes(S):
    """Bytes held by a sparse COO tensor: its values and its int64 indices."""
    values, indices = S.values(), S.indices()
    value_bytes = values.numel() * values.element_size()
    return value_bytes + indices.numel() * indices.element_size()


sides = [8, 16, 32, 64, 128, 256]
memory = {"dense C": [], "sparse C (COO)": [], "conv2d kernel": []}
for n in sides:
    S = conv_matrix(n, torch.ones(3, 3), padding=1, sparse=True)
    memory["dense C"].append(S.shape[0] * S.shape[1] * 4)
    memory["sparse C (COO)"].append(sparse_bytes(S))
    memory["conv2d kernel"].append(9 * 4)
MiB = 2**20
for n, dense, sparse in zip(sides, memory["dense C"], memory["sparse C (COO)"]):
    print(f"{n:>3}x{n:<3} dense {dense / MiB:>9.2f} MiB",
          f"sparse {sparse / MiB:>6.2f} MiB")

# %% tags=["remove-input"]
for i in range(len(sides) - 1):  # each step doubles n
    assert memory["dense C"][i + 1] == 16 * memory["dense C"][i]  # n^4
    assert 4 <= memory["sparse C (COO)"][i + 1] / memory["sparse C (COO)"][i] < 4.4  # ~n^2
S = conv_matrix(8, torch.ones(3, 3), padding=1, sparse=True)
assert S.indices().numel() * 8 > S.values().numel() * 4  # indices outweigh the values

# %%
from transconv.viz import plot_series

show(plot_series(
    sides,
    memory,
    xlabel="input side n (n x n image)",
    ylabel="bytes",
    logx=True,
    logy=True,
    title="memory of C for a 3x3 convolution",
))

# %% [markdown]
# Dense memory grows as $n^4$ (16 times per doubling of $n$; look at the $256 \times 256$ row
# above), sparse memory as $n^2$ with a large constant (the int64 indices cost more than the
# float32 values), and the kernel not at all — each asserted when this page is built.
# Convolution layers therefore slide the kernel instead, and since a transposed convolution
# **is** the gradient of a convolution with respect to its input (asserted with autograd
# above), a library that can back-propagate through a convolution can already compute a
# transposed one. The matrix view is for understanding, not for computing.
#
# ## Exercises
#
# **1.** Write down $C$ for a 1-D convolution: a $1 \times 5$ input and the kernel
# $[1, 2, 3]$ (no padding, stride 1). What shape is it, and what does each row look like?

# %% tags=["solution"]
C1 = conv_matrix((1, 5), torch.tensor([[1.0, 2.0, 3.0]]))
by_hand = torch.tensor([[1.0, 2, 3, 0, 0], [0, 1, 2, 3, 0], [0, 0, 1, 2, 3]])
assert torch.equal(C1, by_hand)  # 3 x 5: the kernel, shifted one column per row
C1

# %% [markdown]
# **2.** How many non-zero entries does $C$ have for an $n \times n$ input, a
# $3 \times 3$ kernel of ones and padding 1? Find a formula and check it for several $n$.

# %% tags=["solution"]
# per axis, output i and tap a pair up when 0 <= i + a - 1 < n: 3n - 2 pairs
for n in (2, 5, 8, 13):
    nonzero = int((conv_matrix(n, torch.ones(3, 3), padding=1) != 0).sum())
    assert nonzero == (3 * n - 2) ** 2, n
[(n, (3 * n - 2) ** 2) for n in (2, 5, 8, 13)]

# %% [markdown]
# **3.** The transposed convolution's own matrix is $C^\top$, so its gradient should
# multiply by $(C^\top)^\top = C$: the convolution. Check with autograd on
# `F.conv_transpose2d` (stride 2, padding 1, the multi-channel `kernel` from above).

# %% tags=["solution"]
z = torch.randn(1, 3, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
out = F.conv_transpose2d(z, kernel, stride=2, padding=1, output_padding=1)
h = torch.randn(out.shape, generator=gen, dtype=torch.float64)
(grad_z,) = torch.autograd.grad(out, z, grad_outputs=h)
torch.testing.assert_close(grad_z, F.conv2d(h, kernel, stride=2, padding=1))
torch.testing.assert_close(grad_z.flatten(), C @ h.flatten())
grad_z.shape

# %% [markdown]
# **4.** Is $C^\top$ the inverse of $C$? Compute $C^\top C$ for the first $4 \times 9$
# example and compare it with the identity.

# %% tags=["solution"]
C49 = conv_matrix(3, K)
gram = C49.T @ C49
assert gram.shape == (9, 9) and not torch.allclose(gram, torch.eye(9))
assert torch.linalg.matrix_rank(gram) == 4  # 9 inputs squeezed through 4 outputs
gram.diagonal()
