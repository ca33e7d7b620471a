"""The arithmetic behind the pictures of transposed convolution: overlaps, stamps, inserted zeros.

Three views of one operation, each computed here with tensors and drawn by
`transconv.viz`:

- **overlap counts**: how many kernel taps land on each output pixel, the quantity behind
  checkerboard artifacts (Odena, Dumoulin & Olah, Distill 2016);
- **the scatter view**: every input pixel stamps its scaled copy of the kernel into the output
  and overlapping stamps are summed ([`scatter_stamps`][transconv.overlap.scatter_stamps]);
- **the gather view**: the same output as a stride-1 convolution with the flipped kernel over the
  input with $s - 1$ zeros inserted between pixels and $d(k - 1) - p$ zeros of padding around it
  ([`zero_insert`][transconv.overlap.zero_insert]).

Nothing here imports matplotlib.

Examples
--------
>>> import torch
>>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
>>> scatter_stamps(X, X).sum(dim=(0, 1))
tensor([[ 0.,  0.,  1.],
        [ 0.,  4.,  6.],
        [ 4., 12.,  9.]])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from transconv._validation import as_hw, as_int
from transconv.shapes import conv_transpose_output_size

__all__ = ["gather_taps", "overlap_counts", "scatter_stamps", "zero_insert"]


def overlap_counts(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int],
    *,
    layers: int = 1,
) -> torch.Tensor:
    """Count how many kernel taps land on each output pixel of a transposed convolution.

    A transposed convolution of an all-ones input with an all-ones kernel. With ``layers`` > 1
    the result is fed through the same transposed convolution again, so each entry counts the
    paths from the input to that output pixel. Away from the border the counts are equal
    exactly when ``kernel_size`` is divisible by ``stride``.

    Parameters
    ----------
    input_size : int or (int, int)
        Input height and width.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int)
        Stride of the transposed convolution.
    layers : int, optional
        How many identical transposed convolutions are stacked, default 1.

    Returns
    -------
    Tensor
        int64 counts. Shape ``(H_out, W_out)`` with $H_{out} = (H - 1)s + k$ after one layer
        (no padding).

    Raises
    ------
    TypeError
        If a size or ``layers`` is not an int (or a pair of ints).
    ValueError
        If a size is below 1 or ``layers`` is below 1.

    Examples
    --------
    In 1-D (one row), k = 3 and s = 2 alternate 1, 2, 1, 2 in the interior:

    >>> overlap_counts((1, 7), (1, 3), (1, 2))
    tensor([[1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 1]])

    while k = 4, s = 2 covers the interior evenly:

    >>> overlap_counts((1, 4), (1, 4), (1, 2))
    tensor([[1, 1, 2, 2, 2, 2, 2, 2, 1, 1]])
    """
    size = as_hw(input_size, "input_size", example="(4, 4)")
    kernel = as_hw(kernel_size, "kernel_size", example="(3, 3)")
    step = as_hw(stride, "stride", example="(2, 2)")
    layers = as_int(layers, "layers", minimum=1)
    counts = torch.ones(1, 1, *size, dtype=torch.float64)
    weight = torch.ones(1, 1, *kernel, dtype=torch.float64)
    for _ in range(layers):
        counts = F.conv_transpose2d(counts, weight, stride=step)
    return counts[0, 0].round().to(torch.int64)


def _check_2d(tensor: torch.Tensor, name: str) -> torch.Tensor:
    """``tensor`` as a 2-D floating tensor, or a teaching error."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(tensor).__name__}; "
            f"pass e.g. {name}=torch.tensor([[0.0, 1.0], [2.0, 3.0]])"
        )
    if tensor.dim() != 2:
        raise ValueError(
            f"{name} must be 2-D (H, W), got shape {tuple(tensor.shape)}; "
            f"select one channel, e.g. {name}[0, 0]"
        )
    return tensor if tensor.is_floating_point() else tensor.double()


def scatter_stamps(
    x: torch.Tensor,
    kernel: torch.Tensor,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
) -> torch.Tensor:
    """Each input pixel's scaled copy of the kernel, placed in the output (the scatter view).

    Input pixel $(i, j)$ adds $x_{ij} K$ into the output window whose top-left corner is
    $(i s - p, j s - p)$; entries that fall outside the output (the ``padding`` crop) are
    dropped. Summing the stamps over the input pixels gives
    [`conv_transpose2d`][transconv.reference.conv_transpose2d].

    Shape: ``x`` ``(H, W)``, ``kernel`` ``(kH, kW)`` -> ``(H, W, H_out, W_out)`` with
    $H_{out} = (H - 1)s - 2p + k_H$.

    Parameters
    ----------
    x : Tensor
        The input, 2-D. Integer tensors are read as float64.
    kernel : Tensor
        The kernel, 2-D.
    stride : int or (int, int), optional
        How far apart neighbouring stamps start, default 1.
    padding : int or (int, int), optional
        Rows and columns cropped from each border of the full output, default 0.

    Returns
    -------
    Tensor
        ``stamps[i, j]`` is the stamp of input pixel ``(i, j)``.

    Raises
    ------
    TypeError
        If ``x`` or ``kernel`` is not a tensor, or ``stride`` / ``padding`` is not an int pair.
    ValueError
        If ``x`` or ``kernel`` is not 2-D, or the sizes are impossible (checked by
        [`conv_transpose_output_size`][transconv.shapes.conv_transpose_output_size]).

    Examples
    --------
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> stamps = scatter_stamps(X, X, stride=2)
    >>> stamps[1, 1]
    tensor([[0., 0., 0., 0.],
            [0., 0., 0., 0.],
            [0., 0., 0., 3.],
            [0., 0., 6., 9.]])
    """
    x, kernel = _check_2d(x, "x"), _check_2d(kernel, "kernel")
    s = as_hw(stride, "stride", example="(2, 2)")
    p = as_hw(padding, "padding", minimum=0, example="(1, 1)")
    (h, w), (kh, kw) = x.shape, kernel.shape
    out = conv_transpose_output_size((h, w), (kh, kw), stride=s, padding=p)
    full = torch.zeros(
        h, w, (h - 1) * s[0] + kh, (w - 1) * s[1] + kw, dtype=torch.result_type(x, kernel)
    )
    for i in range(h):
        for j in range(w):
            top, left = i * s[0], j * s[1]
            full[i, j, top : top + kh, left : left + kw] = x[i, j] * kernel
    return full[..., p[0] : p[0] + out[0], p[1] : p[1] + out[1]].contiguous()


def zero_insert(
    x: torch.Tensor,
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> torch.Tensor:
    """The input of the gather view: zeros inserted between pixels and padded around.

    A transposed convolution equals a stride-1 convolution, with dilation $d$ and the kernel
    flipped in both directions, over ``x`` with $s - 1$ zeros inserted between neighbouring
    pixels, $d(k - 1) - p$ zeros of padding on each side and ``output_padding`` more at the
    bottom and right. This is how conv_arithmetic draws it (Dumoulin & Visin, 2016).

    Shape: ``x`` ``(H, W)`` -> ``(H_z, W_z)`` with
    $H_z = (H - 1)s + 1 + 2(d(k - 1) - p) + \\mathrm{output\\_padding}$.

    Parameters
    ----------
    x : Tensor
        The input, 2-D. Integer tensors are read as float64.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int), optional
        Stride of the transposed convolution, default 1.
    padding : int or (int, int), optional
        Its padding, default 0; at most $d(k - 1)$ (a larger one crops instead of padding).
    output_padding : int or (int, int), optional
        Extra rows and columns at the bottom and right, default 0.
    dilation : int or (int, int), optional
        Spacing of the kernel taps, default 1.

    Returns
    -------
    Tensor
        The zero-inserted, padded input.

    Raises
    ------
    TypeError
        If ``x`` is not a tensor or a size is not an int pair.
    ValueError
        If ``x`` is not 2-D, ``padding`` exceeds $d(k - 1)$, or the sizes are impossible.

    Examples
    --------
    >>> import torch.nn.functional as F
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> zero_insert(X, 2, stride=2)
    tensor([[0., 0., 0., 0., 0.],
            [0., 0., 0., 1., 0.],
            [0., 0., 0., 0., 0.],
            [0., 2., 0., 3., 0.],
            [0., 0., 0., 0., 0.]])
    >>> gathered = F.conv2d(zero_insert(X, 2, stride=2)[None, None], X.flip(0, 1)[None, None])
    >>> torch.equal(gathered, F.conv_transpose2d(X[None, None], X[None, None], stride=2))
    True
    """
    x = _check_2d(x, "x")
    k = as_hw(kernel_size, "kernel_size", example="(3, 3)")
    s = as_hw(stride, "stride", example="(2, 2)")
    p = as_hw(padding, "padding", minimum=0, example="(1, 1)")
    op = as_hw(output_padding, "output_padding", minimum=0, example="(1, 1)")
    d = as_hw(dilation, "dilation", example="(1, 1)")
    conv_transpose_output_size(
        tuple(x.shape), k, stride=s, padding=p, output_padding=op, dilation=d
    )
    border = [d[i] * (k[i] - 1) - p[i] for i in (0, 1)]
    if min(border) < 0:
        raise ValueError(
            f"padding must be <= dilation * (kernel_size - 1) = "
            f"{(d[0] * (k[0] - 1), d[1] * (k[1] - 1))} to be drawn as zero padding, got {p}; "
            f"a larger padding crops the output instead, so use padding <= dilation * "
            f"(kernel_size - 1)"
        )
    h, w = x.shape
    grid = x.new_zeros(
        (h - 1) * s[0] + 1 + 2 * border[0] + op[0], (w - 1) * s[1] + 1 + 2 * border[1] + op[1]
    )
    grid[
        border[0] : border[0] + (h - 1) * s[0] + 1 : s[0],
        border[1] : border[1] + (w - 1) * s[1] + 1 : s[1],
    ] = x
    return grid


def gather_taps(
    output_index: Sequence[int],
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Which input pixels reach one output pixel of a transposed convolution, through which taps.

    Input pixel $(a, b)$ stamps $x_{ab} K$ with its corner at $(a s - p, b s - p)$, so output
    pixel $(i, j)$ receives $x_{ab} K_{uv}$ with $u = i + p - a s$, $v = j + p - b s$, for every
    $(a, b)$ with $0 \\le u < k_h$ and $0 \\le v < k_w$:
    $y_{ij} = \\sum x_{ab} K_{i + p - a s,\\, j + p - b s}$.

    Parameters
    ----------
    output_index : (int, int)
        $(i, j)$, the output pixel.
    input_size : int or (int, int)
        Input height and width.
    kernel_size : int or (int, int)
        Kernel height and width.
    stride : int or (int, int), optional
        Stride, default 1.
    padding : int or (int, int), optional
        Padding, default 0.

    Returns
    -------
    list of ((int, int), (int, int))
        ``((a, b), (u, v))`` pairs, input pixels in row-major order; empty when no stamp
        reaches the pixel.

    Raises
    ------
    TypeError
        If a size, ``stride`` or ``padding`` is not an int or a pair of ints.
    ValueError
        If a size or ``stride`` is below 1 or ``padding`` negative.

    Examples
    --------
    >>> gather_taps((1, 1), 2, 3, stride=2)
    [((0, 0), (1, 1))]
    >>> [a for a, _ in gather_taps((2, 2), 2, 3, stride=2)]
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    i, j = as_hw(output_index, "output_index", minimum=0, example="(0, 0)")
    h, w = as_hw(input_size, "input_size", example="(2, 2)")
    kh, kw = as_hw(kernel_size, "kernel_size", example="(3, 3)")
    sh, sw = as_hw(stride, "stride", example="(2, 2)")
    ph, pw = as_hw(padding, "padding", minimum=0, example="(1, 1)")
    return [
        ((a, b), (i + ph - a * sh, j + pw - b * sw))
        for a in range(h)
        for b in range(w)
        if 0 <= i + ph - a * sh < kh and 0 <= j + pw - b * sw < kw
    ]
