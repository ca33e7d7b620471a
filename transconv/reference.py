"""Transposed convolution from first principles.

[`trans_conv`][transconv.reference.trans_conv] and [`corr2d`][transconv.reference.corr2d] are
the teaching loops (they *are* the definition);
[`conv_transpose2d`][transconv.reference.conv_transpose2d] is the same idea vectorised over
pixels and channels, with every argument of `torch.nn.functional.conv_transpose2d` and the same
results. [`conv_transpose2d_subpixel`][transconv.subpixel.conv_transpose2d_subpixel] computes
it a third way, as a stride-1 convolution and a pixel shuffle.

Examples
--------
>>> X = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
>>> torch.equal(trans_conv(X, X), conv_transpose2d(X[None, None], X[None, None])[0, 0])
True
"""

from __future__ import annotations

import torch
from torch import Tensor

from transconv._validation import as_hw, as_int, check_2d
from transconv.shapes import IntOrTuple, conv_transpose_output_size

__all__ = ["check_operands", "conv_transpose2d", "corr2d", "trans_conv"]


def trans_conv(X: Tensor, K: Tensor) -> Tensor:
    """Single-channel, stride-1 transposed convolution as a loop (the definition).

    Every input element ``X[i, j]`` scales the whole kernel and adds it into the output at
    offset ``(i, j)``: ``Y[i:i + kH, j:j + kW] += X[i, j] * K``.

    Shape: ``(H, W)`` and ``(kH, kW)`` -> ``(H + kH - 1, W + kW - 1)``.

    Parameters
    ----------
    X : Tensor
        Input of shape ``(H, W)``.
    K : Tensor
        Kernel of shape ``(kH, kW)``.

    Returns
    -------
    Tensor
        Shape ``(H + kH - 1, W + kW - 1)``, dtype of ``X * K``.

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
    check_2d(X, "X"), check_2d(K, "K")
    h, w = K.shape
    Y = torch.zeros(X.shape[0] + h - 1, X.shape[1] + w - 1, dtype=torch.result_type(X, K))
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            Y[i : i + h, j : j + w] += X[i, j] * K
    return Y


def corr2d(X: Tensor, K: Tensor) -> Tensor:
    """2-D cross-correlation as a loop (what deep-learning "convolution" computes).

    ``Y[i, j] = sum(X[i:i + kH, j:j + kW] * K)``.

    Shape: ``(H, W)`` and ``(kH, kW)`` -> ``(H - kH + 1, W - kW + 1)``.

    Parameters
    ----------
    X : Tensor
        Input of shape ``(H, W)``.
    K : Tensor
        Kernel of shape ``(kH, kW)``, no larger than ``X``.

    Returns
    -------
    Tensor
        Shape ``(H - kH + 1, W - kW + 1)``, dtype of ``X * K``.

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
    check_2d(X, "X"), check_2d(K, "K")
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(
            f"K must be no larger than X (a valid cross-correlation), got kernel "
            f"{tuple(K.shape)} and input {tuple(X.shape)}; pad the input first"
        )
    Y = torch.zeros(X.shape[0] - h + 1, X.shape[1] - w + 1, dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


def check_operands(input: Tensor, weight: Tensor, bias: Tensor | None, groups: int) -> None:
    """Raise when input, weight, bias and groups do not fit together, as `F.conv_transpose2d` would.

    The checks every transposed convolution of this package runs first
    ([`conv_transpose2d`][transconv.reference.conv_transpose2d] and
    [`conv_transpose2d_subpixel`][transconv.subpixel.conv_transpose2d_subpixel]).

    Parameters
    ----------
    input : Tensor
        ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    weight : Tensor
        ``(C_in, C_out / groups, kH, kW)``, the `nn.ConvTranspose2d` layout.
    bias : Tensor or None
        ``(C_out,)``, or None.
    groups : int
        Number of channel groups; must divide ``C_in``.

    Raises
    ------
    TypeError
        If ``groups`` is not an int, or ``weight``/``bias`` has another dtype than ``input``.
    ValueError
        For a wrong number of dimensions, or channels, groups and bias that do not match.

    Examples
    --------
    >>> check_operands(torch.zeros(1, 2, 3, 3), torch.zeros(3, 1, 2, 2), None, 1)
    Traceback (most recent call last):
        ...
    ValueError: input channels must equal weight.shape[0] = 3 (weight (3, 1, 2, 2)), got 2; for conv_transpose2d the weight is (C_in, C_out / groups, kH, kW), so swap the first two weight dimensions if you passed a Conv2d weight
    """  # noqa: E501
    if input.dim() not in (3, 4):
        raise ValueError(
            f"input must be 3-D (C_in, H, W) or 4-D (B, C_in, H, W), got shape "
            f"{tuple(input.shape)}; add a batch dimension with input.unsqueeze(0)"
        )
    if weight.dim() != 4:
        raise ValueError(
            f"weight must be 4-D (C_in, C_out / groups, kH, kW) -- the ConvTranspose2d layout, "
            f"got shape {tuple(weight.shape)}; pass an nn.ConvTranspose2d weight"
        )
    groups = as_int(groups, "groups", minimum=1)
    c_in = weight.shape[0]
    if c_in % groups != 0:
        raise ValueError(
            f"weight.shape[0] (C_in) must be divisible by groups ({groups}), got {c_in}; "
            f"use a groups value that divides {c_in}"
        )
    if input.shape[-3] != c_in:
        raise ValueError(
            f"input channels must equal weight.shape[0] = {c_in} (weight {tuple(weight.shape)}), "
            f"got {input.shape[-3]}; for conv_transpose2d the weight is (C_in, C_out / groups, "
            f"kH, kW), so swap the first two weight dimensions if you passed a Conv2d weight"
        )
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(
            f"bias must have shape ({c_out},) = (weight.shape[1] {weight.shape[1]} * groups "
            f"{groups},), got {tuple(bias.shape)}; pass one value per output channel"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:  # torch raises too: no silent promotion
            raise TypeError(
                f"{name} must have the dtype of input ({input.dtype}), got {t.dtype}; "
                f"convert it with {name}.to(input.dtype)"
            )


_check_operands = check_operands  # the name subpixel imported before it was public


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
    """``x (n, g, c, h, w)`` at each ``(top, left)`` of a zero grid: ``(n, g, T * c, *size)``."""
    n, g, c, h, w = x.shape
    stacked = x.new_zeros(n, g, len(shifts), c, *size)
    for t, (top, left) in enumerate(shifts):
        stacked[:, :, t, :, top : top + h, left : left + w] = x
    return stacked.reshape(n, g, len(shifts) * c, *size)


def _sum_by_phase(
    x: Tensor,
    weight: Tensor,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    size: tuple[int, int],
) -> Tensor:
    """Interleaved phase maps ``(n, g, o, size[0], sH, size[1], sW)``, one product per phase.

    ``x`` is ``(n, g, c, h, w)``, ``weight`` ``(g, c, o, kH, kW)``. The taps landing on a phase
    are summed by multiplying the weights with the stacked, shifted inputs (zero elsewhere).
    """
    n, g, _, _, _ = x.shape
    _, _, o, kh, kw = weight.shape
    out = x.new_zeros(n, g, o, size[0], stride[0], size[1], stride[1])
    for ry, rows in enumerate(_phases(kh, stride[0], dilation[0])):
        for rx, cols in enumerate(_phases(kw, stride[1], dilation[1])):
            taps = [(a, qa, b, qb) for a, qa in rows for b, qb in cols]
            if not taps:  # no tap lands on this phase: it stays zero
                continue
            stacked = _stack_shifted(x, [(qa, qb) for _, qa, _, qb in taps], size)
            w_phase = torch.cat([weight[..., a, b] for a, _, b, _ in taps], dim=1)  # (g, T * c, o)
            summed = w_phase.transpose(1, 2) @ stacked.flatten(3)  # (n, g, o, size[0] * size[1])
            out[:, :, :, :, ry, :, rx] = summed.reshape(n, g, o, *size)
    return out


def _sum_by_tap(
    x: Tensor,
    weight: Tensor,
    stride: tuple[int, int],
    dilation: tuple[int, int],
    size: tuple[int, int],
) -> Tensor:
    """Same as ``_sum_by_phase``, but multiplying only real input pixels, one tap at a time.

    The stacked inputs of ``_sum_by_phase`` hold zeros where a shifted copy does not reach,
    and ``0 * inf`` is NaN; here every input pixel times every tap is one product, and each
    tap's map is added at its phase and shift, so a non-finite tap reaches exactly the
    positions the definition sends it to.
    """
    n, g, c, h, w = x.shape
    _, _, o, kh, kw = weight.shape
    products = weight.reshape(g, c, o * kh * kw).transpose(1, 2) @ x.flatten(3)
    products = products.reshape(n, g, o, kh, kw, h, w)
    out = x.new_zeros(n, g, o, size[0], stride[0], size[1], stride[1])
    for a in range(kh):
        qa, ra = divmod(a * dilation[0], stride[0])
        for b in range(kw):
            qb, rb = divmod(b * dilation[1], stride[1])
            out[:, :, :, qa : qa + h, ra, qb : qb + w, rb] += products[:, :, :, a, b]
    return out


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
    r"""Transposed convolution built from tensor primitives; same as `F.conv_transpose2d`.

    The definition, one kernel tap $(a, b)$ at a time: every input pixel $(i, j)$ sends
    $\sum_c \text{input}[n, c, i, j]\, \text{weight}[c, o, a, b]$ (channels summed within
    its group) to position $(i s_H + a d_H,\ j s_W + b d_W)$ of a *full* output, which is
    extended by `output_padding` rows/columns at the bottom/right and then cropped by `padding`
    rows/columns on each side.

    Vectorised by output *phase*: position $i s + a d$ is $(i + q) s + r$ with
    $q, r = \operatorname{divmod}(a d, s)$, so tap $a$ writes only to the output rows
    $r, r + s, \dots$ (its phase), shifted by $q$. Per phase $(r_H, r_W)$, the taps landing
    there are summed in one matrix product of their stacked, shifted inputs ($s_H s_W$
    products in all, no scatter-adds). Phases that receive a different number of taps are the
    source of checkerboard artifacts; phases that receive none (stride larger than the dilated
    kernel) stay zero. The stacked inputs are zero where a shifted copy does not reach, and
    $0 \cdot \infty$ is NaN, so a weight with a non-finite tap is summed tap by tap instead
    (one product of every input pixel with every tap, each tap's map added at its phase and
    shift): the non-finite values then reach exactly the outputs the definition sends them
    to. PyTorch's CPU kernel can spread NaN further: with several NaN taps in ``float32`` it
    marks outputs NaN that no NaN tap reaches, so there the two differ.

    Shape: ``(B, C_in, H, W)`` -> ``(B, C_out, H_out, W_out)`` with

    $$H_\text{out} = (H - 1) s_H - 2 p_H + d_H (k_H - 1) + \mathrm{output\_padding}_H + 1$$

    and likewise $W_\text{out}$.

    Parameters
    ----------
    input : Tensor
        Input of shape ``(B, C_in, H, W)``, or unbatched ``(C_in, H, W)``.
    weight : Tensor
        Weight of shape ``(C_in, C_out / groups, kH, kW)`` (the `nn.ConvTranspose2d` layout),
        with the dtype of ``input``.
    bias : Tensor or None, optional
        Shape ``(C_out,)``, dtype of ``input``; default None (no bias).
    stride : int or tuple of (int, int), optional
        Step $s$ between the places two neighbouring input pixels write to; default 1.
    padding : int or tuple of (int, int), optional
        Rows/columns $p$ cropped from each side of the full output; default 0.
    output_padding : int or tuple of (int, int), optional
        Extra rows/columns kept at the bottom/right, smaller than the stride or the dilation;
        default 0.
    groups : int, optional
        Input channels are split into ``groups`` groups; group $g$ produces output channels
        $g\, C_\text{out} / \text{groups}$ to $(g + 1)\, C_\text{out} / \text{groups} - 1$;
        default 1.
    dilation : int or tuple of (int, int), optional
        Spacing $d$ between kernel taps; default 1.

    Returns
    -------
    Tensor
        Shape ``(B, C_out, H_out, W_out)`` (``(C_out, H_out, W_out)`` for unbatched input).

    Raises
    ------
    ValueError
        For a wrong number of dimensions, channel/group/bias mismatches, or illegal stride,
        padding, output_padding or dilation (validated by
        [`conv_transpose_output_size`][transconv.shapes.conv_transpose_output_size]).
    TypeError
        For a non-integer argument, or a weight or bias whose dtype differs from the input's
        (PyTorch refuses to promote them too).

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
    check_operands(input, weight, bias, groups)
    groups = int(groups)
    x = input.unsqueeze(0) if input.dim() == 3 else input
    n, c_in, h, w = x.shape
    _, c_out_per_group, kh, kw = weight.shape
    out_h, out_w = conv_transpose_output_size(
        (h, w), (kh, kw), stride, padding, output_padding, dilation
    )
    sh, sw = as_hw(stride, "stride")
    ph, pw = as_hw(padding, "padding", minimum=0)
    dh, dw = as_hw(dilation, "dilation")
    # output row m * sh + r is phase r, coarse row m: big enough for every tap and the crop
    hq = max(h + dh * (kh - 1) // sh, -(-(ph + out_h) // sh))
    wq = max(w + dw * (kw - 1) // sw, -(-(pw + out_w) // sw))
    xg = x.reshape(n, groups, c_in // groups, h, w)
    wg = weight.reshape(groups, c_in // groups, c_out_per_group, kh, kw)
    # the per-phase product is faster; a non-finite tap needs the exact tap-by-tap sum (meta
    # tensors have no values to look at: either path gives the shape)
    by_phase = weight.is_meta or bool(weight.isfinite().all())
    phases = (_sum_by_phase if by_phase else _sum_by_tap)(xg, wg, (sh, sw), (dh, dw), (hq, wq))
    full = phases.reshape(n, groups * c_out_per_group, hq * sh, wq * sw)
    y = full[..., ph : ph + out_h, pw : pw + out_w].contiguous()
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if input.dim() == 3 else y
