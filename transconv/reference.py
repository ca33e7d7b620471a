"""Transposed convolution from first principles.

``trans_conv`` and ``corr2d`` are the teaching loops (they *are* the definition);
``conv_transpose2d`` is the same idea vectorised over pixels and channels, with every argument
of ``torch.nn.functional.conv_transpose2d`` and the same results.
"""

from __future__ import annotations

import torch
from torch import Tensor

from transconv.shapes import IntOrTuple, _pair, conv_transpose_output_size

__all__ = ["conv_transpose2d", "corr2d", "trans_conv"]


def _check_2d(**tensors: Tensor) -> None:
    for name, t in tensors.items():
        if t.dim() != 2:
            raise ValueError(
                f"{name} must be a 2-D (height, width) tensor, got shape {tuple(t.shape)}"
            )


def trans_conv(X: Tensor, K: Tensor) -> Tensor:
    """Single-channel, stride-1 transposed convolution as a loop (the definition).

    Every input element ``X[i, j]`` scales the whole kernel and adds it into the output at
    offset ``(i, j)``: ``Y[i:i + kh, j:j + kw] += X[i, j] * K``. The output is
    ``(h + kh - 1) x (w + kw - 1)``.

    Parameters
    ----------
    X : Tensor
        2-D input ``(h, w)``.
    K : Tensor
        2-D kernel ``(kh, kw)``.

    Returns
    -------
    Tensor
        ``(h + kh - 1, w + kw - 1)``, dtype of ``X * K``.

    Raises
    ------
    ValueError
        If ``X`` or ``K`` is not 2-D.

    Examples
    --------
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    >>> trans_conv(X, X)
    tensor([[ 0.,  0.,  1.],
            [ 0.,  4.,  6.],
            [ 4., 12.,  9.]])
    """
    _check_2d(X=X, K=K)
    h, w = K.shape
    Y = torch.zeros(X.shape[0] + h - 1, X.shape[1] + w - 1, dtype=torch.result_type(X, K))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i : i + h, j : j + w] += X[i, j] * K
    return Y


def corr2d(X: Tensor, K: Tensor) -> Tensor:
    """2-D cross-correlation as a loop (what deep-learning "convolution" computes).

    ``Y[i, j] = sum(X[i:i + kh, j:j + kw] * K)``; the output is ``(h - kh + 1) x (w - kw + 1)``.

    Parameters
    ----------
    X : Tensor
        2-D input ``(h, w)``.
    K : Tensor
        2-D kernel ``(kh, kw)``, no larger than ``X``.

    Returns
    -------
    Tensor
        ``(h - kh + 1, w - kw + 1)``.

    Raises
    ------
    ValueError
        If ``X`` or ``K`` is not 2-D, or ``K`` is larger than ``X``.

    Examples
    --------
    >>> corr2d(torch.arange(9.0).reshape(3, 3), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor([[27., 37.],
            [57., 67.]])
    """
    _check_2d(X=X, K=K)
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(
            f"kernel {tuple(K.shape)} is larger than the input {tuple(X.shape)}; "
            f"a valid cross-correlation needs a kernel no larger than the input (pad the input first)"
        )
    Y = torch.zeros(X.shape[0] - h + 1, X.shape[1] - w + 1, dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def _check_operands(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int) -> None:
    """Raise ``ValueError`` when shapes of input/weight/bias/groups do not fit together."""
    if input.dim() not in (3, 4):
        raise ValueError(
            f"input must be 3-D (C_in, H, W) or 4-D (N, C_in, H, W), got shape {tuple(input.shape)}"
        )
    if weight.dim() != 4:
        raise ValueError(
            f"weight must be 4-D (C_in, C_out / groups, kH, kW) -- the ConvTranspose2d layout -- "
            f"got shape {tuple(weight.shape)}"
        )
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups ({groups!r}) must be a positive integer")
    c_in = weight.shape[0]
    if c_in % groups != 0:
        raise ValueError(
            f"weight.shape[0] (C_in = {c_in}) must be divisible by groups ({groups}); "
            f"use a groups value that divides {c_in}"
        )
    if input.shape[-3] != c_in:
        raise ValueError(
            f"input has {input.shape[-3]} channels but weight {tuple(weight.shape)} expects "
            f"weight.shape[0] = {c_in}; for conv_transpose2d the weight is (C_in, C_out / groups, kH, kW), "
            f"so swap the first two weight dimensions if you passed a Conv2d weight"
        )
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(
            f"bias must have shape ({c_out},) = (weight.shape[1] {weight.shape[1]} * groups {groups},), "
            f"got {tuple(bias.shape)}"
        )


def _phases(kernel_size: int, stride: int, dilation: int) -> list[list[tuple[int, int]]]:
    """Group kernel taps by the output phase they land on (one spatial dimension).

    Tap ``a`` sends input ``i`` to ``i * stride + a * dilation = (i + q) * stride + r`` with
    ``q, r = divmod(a * dilation, stride)``: phase ``r``, shifted by ``q`` on the coarse grid.
    Returns, for each phase ``r``, the list of ``(a, q)``.
    """
    phases: list[list[tuple[int, int]]] = [[] for _ in range(stride)]
    for a in range(kernel_size):
        q, r = divmod(a * dilation, stride)
        phases[r].append((a, q))
    return phases


def _stack_shifted(x: Tensor, shifts: list[tuple[int, int]], size: tuple[int, int]) -> Tensor:
    """``x (n, g, c, h, w)`` placed at each ``(top, left)`` of a zero grid: ``(n, g, T * c, *size)``."""
    n, g, c, h, w = x.shape
    stacked = x.new_zeros(n, g, len(shifts), c, *size)
    for t, (top, left) in enumerate(shifts):
        stacked[:, :, t, :, top : top + h, left : left + w] = x
    return stacked.reshape(n, g, len(shifts) * c, *size)


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    groups: int = 1,
    dilation: IntOrTuple = 1,
) -> Tensor:
    """Transposed convolution built from tensor primitives; same as ``F.conv_transpose2d``.

    The definition, one kernel tap ``(a, b)`` at a time: every input pixel ``(i, j)`` sends
    ``sum_c input[n, c, i, j] * weight[c, o, a, b]`` (channels summed within its group) to the
    output position ``(i * stride + a * dilation, j * stride + b * dilation)`` of a *full*
    output, which is extended by ``output_padding`` rows/columns at the bottom/right and then
    cropped by ``padding`` rows/columns on each side.

    Vectorised by output *phase*: position ``i * s + a * d`` is ``(i + q) * s + r`` with
    ``q, r = divmod(a * d, s)``, so each tap writes only to the output rows ``r, r + s, ...``
    (its phase), shifted by ``q``. Per phase ``(r_y, r_x)``, the taps landing there are summed
    in one matrix product of their stacked, shifted inputs (``s_H * s_W`` products in all, no
    scatter-adds). Phases that receive a different number of taps are the source of
    checkerboard artifacts; phases that receive none (stride > dilated kernel) stay zero.
    Shape:

    .. math::

        H_\\text{out} = (H - 1) s - 2p + d (k_H - 1) + \\text{output\\_padding} + 1

    Parameters
    ----------
    input : Tensor
        ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    weight : Tensor
        ``(C_in, C_out / groups, kH, kW)`` (the ``ConvTranspose2d`` layout).
    bias : Tensor, optional
        ``(C_out,)``.
    stride, padding, output_padding, dilation : int or tuple of (int, int)
        As in ``torch.nn.functional.conv_transpose2d``.
    groups : int
        Input channels are split into ``groups`` groups; group ``g`` produces output channels
        ``g * C_out / groups`` to ``(g + 1) * C_out / groups - 1``.

    Returns
    -------
    Tensor
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` for unbatched input).

    Raises
    ------
    ValueError
        For a wrong number of dimensions, channel/group/bias mismatches, or illegal stride,
        padding, output_padding or dilation (validated by
        :func:`transconv.shapes.conv_transpose_output_size`).

    Examples
    --------
    >>> X = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> conv_transpose2d(X, X)
    tensor([[[[ 0.,  0.,  1.],
              [ 0.,  4.,  6.],
              [ 4., 12.,  9.]]]])
    >>> conv_transpose2d(X, X, stride=2)
    tensor([[[[0., 0., 0., 1.],
              [0., 0., 2., 3.],
              [0., 2., 0., 3.],
              [4., 6., 6., 9.]]]])
    >>> g = torch.Generator().manual_seed(0)
    >>> x, w = torch.randn(2, 4, 5, 5, generator=g), torch.randn(4, 3, 3, 3, generator=g)
    >>> y = conv_transpose2d(x, w, stride=2, padding=1, output_padding=1, groups=2)
    >>> y.shape, torch.allclose(y, torch.nn.functional.conv_transpose2d(
    ...     x, w, stride=2, padding=1, output_padding=1, groups=2), atol=1e-5)
    (torch.Size([2, 6, 10, 10]), True)
    """
    _check_operands(input, weight, bias, groups)
    x = input.unsqueeze(0) if input.dim() == 3 else input
    n, c_in, h, w = x.shape
    _, c_out_per_group, kh, kw = weight.shape
    out_h, out_w = conv_transpose_output_size(
        (h, w), (kh, kw), stride, padding, output_padding, dilation
    )
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    # coarse grid: output row m * sh + r is phase r, coarse row m; big enough for every tap and the crop
    hq = max(h + dh * (kh - 1) // sh, -(-(ph + out_h) // sh))
    wq = max(w + dw * (kw - 1) // sw, -(-(pw + out_w) // sw))
    xg = x.reshape(n, groups, c_in // groups, h, w)
    wg = weight.reshape(groups, c_in // groups, c_out_per_group, kh, kw)
    full = x.new_zeros(n, groups, c_out_per_group, hq, sh, wq, sw)
    for ry, rows in enumerate(_phases(kh, sh, dh)):
        for rx, cols in enumerate(_phases(kw, sw, dw)):
            taps = [(a, qa, b, qb) for a, qa in rows for b, qb in cols]
            if not taps:  # no tap lands on this phase: it stays zero
                continue
            stacked = _stack_shifted(xg, [(qa, qb) for _, qa, _, qb in taps], (hq, wq))
            w_phase = torch.cat([wg[..., a, b] for a, _, b, _ in taps], dim=1)  # (g, T * c, o)
            summed = w_phase.transpose(1, 2) @ stacked.flatten(3)  # (n, g, o, hq * wq)
            full[:, :, :, :, ry, :, rx] = summed.reshape(n, groups, c_out_per_group, hq, wq)
    y = full.reshape(n, groups * c_out_per_group, hq * sh, wq * sw)[
        ..., ph : ph + out_h, pw : pw + out_w
    ]
    y = y.contiguous()
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if input.dim() == 3 else y
