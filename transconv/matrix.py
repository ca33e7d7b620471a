"""Convolution as a matrix, and transposed convolution as its transpose.

A convolution is linear in its input, so it is a matrix $W$:
``conv2d(x).flatten() == W @ x.flatten()``. The transposed convolution is multiplication by
$W^\top$ -- hence the name. [`conv_matrix`][transconv.matrix.conv_matrix] builds $W$.

Examples
--------
>>> import torch.nn.functional as F
>>> K, y = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.arange(4.0).reshape(1, 1, 2, 2)
>>> W = conv_matrix(3, K)
>>> torch.equal((W.T @ y.flatten()).reshape(3, 3), F.conv_transpose2d(y, K[None, None])[0, 0])
True
"""

from __future__ import annotations

import torch
from torch import Tensor

from transconv._validation import as_hw, check_allocation
from transconv.shapes import IntOrTuple, conv_output_size

__all__ = ["conv_matrix"]


def _as_4d(kernel: Tensor) -> Tensor:
    if not isinstance(kernel, Tensor):
        raise TypeError(
            f"kernel must be a torch.Tensor, got {type(kernel).__name__}; "
            "wrap it with torch.tensor(kernel)"
        )
    if kernel.dim() == 2:
        return kernel[None, None]
    if kernel.dim() == 4:
        return kernel
    raise ValueError(
        f"kernel must be 2-D (kh, kw) or 4-D (C_out, C_in, kh, kw), got shape "
        f"{tuple(kernel.shape)}; pass one channel as K[0, 0] or a Conv2d weight"
    )


def _entries(
    size: tuple[int, int],
    out: tuple[int, int],
    kernel: Tensor,
    stride: IntOrTuple,
    padding: IntOrTuple,
    dilation: IntOrTuple,
) -> tuple[Tensor, Tensor]:
    """Row/column indices (2, nnz) and values (nnz,) of every non-zero entry of ``W``.

    Entry ``(o, y, x) <- (c, y * s - p + a * d, x * s - p + b * d)`` holds ``kernel[o, c, a, b]``
    whenever that input position lies inside the image (padding contributes nothing).
    """
    c_out, c_in, kh, kw = kernel.shape
    (h, w), (h_out, w_out) = size, out
    sh, sw = as_hw(stride, "stride")
    ph, pw = as_hw(padding, "padding", minimum=0)
    dh, dw = as_hw(dilation, "dilation")
    o, y, x, c, a, b = torch.meshgrid(
        *(torch.arange(n) for n in (c_out, h_out, w_out, c_in, kh, kw)), indexing="ij"
    )
    rows_in, cols_in = y * sh - ph + a * dh, x * sw - pw + b * dw
    inside = (rows_in >= 0) & (rows_in < h) & (cols_in >= 0) & (cols_in < w)
    row = ((o * h_out + y) * w_out + x)[inside]
    col = ((c * h + rows_in) * w + cols_in)[inside]
    return torch.stack([row, col]), kernel[o[inside], c[inside], a[inside], b[inside]]


def conv_matrix(
    input_size: IntOrTuple,
    kernel: Tensor,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    sparse: bool = False,
) -> Tensor:
    r"""The matrix $W$ of a convolution: ``conv2d(x).flatten() == W @ x.flatten()``.

    Rows index output elements $(o, y, x)$ and columns input elements $(c, i, j)$, both
    flattened in C order. The transposed convolution of ``y`` with the same weight is
    ``W.T @ y.flatten()``, i.e. ``conv_transpose2d(y, kernel, stride, padding, output_padding,
    dilation=dilation)`` with the ``output_padding`` that restores ``(H, W)`` (see
    [`output_padding_for`][transconv.shapes.output_padding_for]).

    Shape: ``input_size = (H, W)`` and kernel ``(C_out, C_in, kH, kW)`` ->
    ``(C_out * H_out * W_out, C_in * H * W)``.

    Memory: the dense matrix has $(C_	ext{out} H_	ext{out} W_	ext{out})(C_	ext{in} H W)$
    entries, which grows as $N^2$ in the pixel count $N = H W$ (a 64×64 single-channel input
    with a 3×3 kernel and padding 1 already needs $4096^2$ floats, 64 MiB), so a dense matrix
    larger than the memory budget is refused before any work. Almost all entries are zero: the
    sparse COO tensor stores only $	ext{nnz} \le C_	ext{out} C_	ext{in} k_H k_W H_	ext{out}
    W_	ext{out}$ values (plus two int64 indices each), which grows linearly in $N$.

    Parameters
    ----------
    input_size : int or tuple of (int, int)
        Input height and width ``(H, W)``; an int means a square input.
    kernel : Tensor
        Kernel of shape ``(kH, kW)`` (one channel in and out) or ``(C_out, C_in, kH, kW)``
        (the `nn.Conv2d` layout).
    stride : int or tuple of (int, int), optional
        Convolution stride; default 1.
    padding : int or tuple of (int, int), optional
        Zero padding on each side of the input; default 0.
    dilation : int or tuple of (int, int), optional
        Spacing between kernel taps; default 1.
    sparse : bool, optional
        Return a coalesced `torch.sparse_coo_tensor` built directly from the non-zero entries
        (no dense matrix is ever materialised); default False.

    Returns
    -------
    Tensor
        Shape ``(C_out * H_out * W_out, C_in * H * W)``, dtype of ``kernel``; dense or sparse
        COO.

    Raises
    ------
    ValueError
        If ``kernel`` is not 2-D or 4-D; if the sizes are illegal or give an empty output
        (validated by [`conv_output_size`][transconv.shapes.conv_output_size]); or if the
        dense matrix would not fit in memory (half the machine's RAM, or
        ``TRANSCONV_MAX_BYTES``; the message gives its size and suggests ``sparse=True``).
    TypeError
        If ``kernel`` is not a tensor or a size is not an integer.

    Examples
    --------
    >>> K = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> W = conv_matrix(3, K)
    >>> W
    tensor([[1., 2., 0., 3., 4., 0., 0., 0., 0.],
            [0., 1., 2., 0., 3., 4., 0., 0., 0.],
            [0., 0., 0., 1., 2., 0., 3., 4., 0.],
            [0., 0., 0., 0., 1., 2., 0., 3., 4.]])
    >>> X = torch.arange(9.0).reshape(3, 3)
    >>> (W @ X.flatten()).reshape(2, 2)  # = corr2d(X, K)
    tensor([[27., 37.],
            [57., 67.]])
    >>> S = conv_matrix((64, 64), torch.ones(3, 3), padding=1, sparse=True)
    >>> S.shape, S.is_sparse, S._nnz()
    (torch.Size([4096, 4096]), True, 36100)
    """
    kernel4 = _as_4d(kernel)
    c_out, c_in, kh, kw = kernel4.shape
    size = as_hw(input_size, "input_size", example="(64, 64)")
    out = conv_output_size(size, (kh, kw), stride, padding, dilation)
    shape = (c_out * out[0] * out[1], c_in * size[0] * size[1])
    if not sparse:  # refuse before computing the entries, not when the zeros fail to allocate
        check_allocation(
            shape[0] * shape[1] * kernel4.element_size(),
            f"dense conv_matrix of shape {shape} (input_size={size})",
            "pass sparse=True (memory linear in the pixel count) or a smaller input_size",
        )
    indices, values = _entries(size, out, kernel4, stride, padding, dilation)
    if sparse:
        return torch.sparse_coo_tensor(indices, values, shape, check_invariants=True).coalesce()
    W = torch.zeros(shape, dtype=kernel4.dtype)
    W[indices[0], indices[1]] = values
    return W
