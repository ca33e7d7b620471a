r"""Transposed convolution as a sub-pixel convolution: a small stride-1 convolution, then a shuffle.

A transposed convolution with stride $s$ sends input pixel $i$ through kernel tap $a$ to output
position $i s + a$. Write $a = j s + r$ with phase $r \in [0, s)$: output row $t s + r$
receives $\sum_j x[t - j]\, w[j s + r]$, a stride-1 convolution of the input with the
$\lceil k / s \rceil$ taps of phase $r$. All $s^2$ phases (per output channel) are computed at
once by **one** stride-1 convolution with $C_\text{out} s^2$ output channels;
`torch.nn.functional.pixel_shuffle` interleaves them into the $s\times$ larger grid, and
cropping `padding` rows gives exactly `F.conv_transpose2d` (Shi et al. 2016, "Is the
deconvolution layer the same as a convolutional layer?").

[`subpixel_weight`][transconv.subpixel.subpixel_weight] is that rearrangement of the weight,
[`conv_transpose2d_subpixel`][transconv.subpixel.conv_transpose2d_subpixel] the functional form,
and [`SubpixelConvTranspose2d`][transconv.subpixel.SubpixelConvTranspose2d] a drop-in
`nn.ConvTranspose2d` (same parameters, same `state_dict`) that computes this way.

Examples
--------
>>> import torch.nn.functional as F
>>> g = torch.Generator().manual_seed(0)
>>> x, w = torch.randn(1, 3, 5, 5, generator=g), torch.randn(3, 2, 4, 4, generator=g)
>>> y = conv_transpose2d_subpixel(x, w, stride=2, padding=1)
>>> y.shape, torch.allclose(y, F.conv_transpose2d(x, w, stride=2, padding=1), atol=1e-5)
(torch.Size([1, 2, 10, 10]), True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from transconv._validation import as_hw
from transconv.reference import check_operands
from transconv.shapes import IntOrTuple, conv_transpose_output_size

__all__ = ["SubpixelConvTranspose2d", "conv_transpose2d_subpixel", "subpixel_weight"]


def subpixel_weight(weight: Tensor, stride: IntOrTuple) -> Tensor:
    """Rearrange a transposed-convolution weight into the equivalent stride-1 convolution weight.

    Tap $(a, b)$ of the kernel, with $a = j s_H + r_H$ and $b = l s_W + r_W$, moves to output
    channel $o s_H s_W + r_H s_W + r_W$ (phase $(r_H, r_W)$ of output channel $o$, the order
    `pixel_shuffle` reads), at the *flipped* position $(J_H - 1 - j, J_W - 1 - l)$ of a
    $J_H \\times J_W$ kernel, $J = \\lceil k / s \\rceil$. Taps beyond $k$ are zeros.

    Parameters
    ----------
    weight : Tensor
        Transposed-convolution weight in the `nn.ConvTranspose2d` layout, shape
        ``(C_in, C_out, kH, kW)`` (groups 1).
    stride : int or tuple of (int, int)
        Stride of the transposed convolution, one int for both axes or ``(s_H, s_W)``.

    Returns
    -------
    Tensor
        Convolution weight in the `nn.Conv2d` layout, shape
        ``(C_out * s_H * s_W, C_in, ceil(kH / s_H), ceil(kW / s_W))``; differentiable in
        ``weight``.

    Raises
    ------
    ValueError
        If ``weight`` is not 4-D or ``stride`` is not a positive int or pair.
    TypeError
        If ``stride`` is not an int or a pair of ints.

    Examples
    --------
    >>> w = torch.arange(1.0, 5.0).reshape(1, 1, 2, 2)   # taps 1 2 / 3 4, stride 2
    >>> subpixel_weight(w, 2).flatten(1)                  # one tap per phase
    tensor([[1.],
            [2.],
            [3.],
            [4.]])
    >>> subpixel_weight(torch.ones(3, 5, 64, 64), 32).shape   # FCN's x32 upsampler
    torch.Size([5120, 3, 2, 2])
    """
    if weight.dim() != 4:
        raise ValueError(
            f"weight must be 4-D (C_in, C_out, kH, kW), got shape {tuple(weight.shape)}; "
            "pass an nn.ConvTranspose2d weight"
        )
    sh, sw = as_hw(stride, "stride", example="(2, 2)")
    c_in, c_out, kh, kw = weight.shape
    jh, jw = -(-kh // sh), -(-kw // sw)
    padded = F.pad(weight, (0, jw * sw - kw, 0, jh * sh - kh))  # zero taps up to J * s
    taps = padded.reshape(c_in, c_out, jh, sh, jw, sw).flip(2, 4)
    return taps.permute(1, 3, 5, 0, 2, 4).reshape(c_out * sh * sw, c_in, jh, jw)


def _shuffle(x: Tensor, sh: int, sw: int) -> Tensor:
    """`F.pixel_shuffle` generalised to a different factor per axis."""
    if sh == sw:
        return F.pixel_shuffle(x, sh)
    n, c, h, w = x.shape
    x = x.reshape(n, c // (sh * sw), sh, sw, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // (sh * sw), h * sh, w * sw)


def _window(n: int, k: int, s: int, p: int, out: int) -> tuple[int, int, int]:
    """Input padding (before, after) and crop offset for one axis.

    Phase-grid row $t$ covers output rows $[t s, (t + 1) s)$ of the uncropped output; only
    rows $t_0 = \\lfloor p / s \\rfloor$ to $t_1 = \\lceil (p + out) / s \\rceil$ are kept, so
    the convolution computes just those (negative padding drops input rows no kept row reads).
    """
    j = -(-k // s)
    t0, t1 = p // s, -(-(p + out) // s)
    before = j - 1 - t0
    after = (t1 - t0 + j - 1) - before - n
    return before, after, p - t0 * s


def conv_transpose2d_subpixel(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
) -> Tensor:
    """`F.conv_transpose2d` computed as a stride-1 convolution, a pixel shuffle and a crop.

    The input is zero-padded by $J - 1$ ($J = \\lceil k / s \\rceil$) and convolved (stride 1)
    with [`subpixel_weight`][transconv.subpixel.subpixel_weight] to $C_\\text{out} s_H s_W$
    channels; `pixel_shuffle` interleaves the phases into an $s\\times$ larger grid, which is
    cropped by `padding` at the top/left to

    $$H_\\text{out} = (H - 1) s_H - 2 p_H + k_H + \\mathrm{output\\_padding}_H$$

    rows (and likewise columns). Only the phase-grid rows that survive the crop are computed.
    Dilation is 1 and groups 1.

    Parameters
    ----------
    input : Tensor
        Input of shape ``(B, C_in, H, W)``, or unbatched ``(C_in, H, W)``.
    weight : Tensor
        Weight in the `nn.ConvTranspose2d` layout, shape ``(C_in, C_out, kH, kW)``.
    bias : Tensor or None, optional
        Shape ``(C_out,)``, added to every output pixel; default None (no bias).
    stride : int or tuple of (int, int), optional
        Upsampling factor $s$ per axis; default 1.
    padding : int or tuple of (int, int), optional
        Rows/columns cropped from each side of the full output; default 0.
    output_padding : int or tuple of (int, int), optional
        Extra rows/columns kept at the bottom/right, each smaller than the stride; default 0.

    Returns
    -------
    Tensor
        Shape ``(B, C_out, H_out, W_out)`` (``(C_out, H_out, W_out)`` for unbatched input),
        equal to ``F.conv_transpose2d(input, weight, bias, stride, padding, output_padding)``
        up to floating-point rounding, with the same gradients.

    Raises
    ------
    ValueError
        For a wrong number of dimensions, mismatched channels or bias, or a stride, padding or
        output_padding that `F.conv_transpose2d` rejects.
    TypeError
        For a non-integer stride, padding or output_padding, or mismatched dtypes.

    Notes
    -----
    The stride-1 convolution also multiplies the zero padding around the input, so a weight
    holding ``inf`` or ``nan`` gives NaN ($0 \\cdot \\infty$) at outputs where
    `F.conv_transpose2d` is finite; [`conv_transpose2d`][transconv.reference.conv_transpose2d]
    matches PyTorch there. Finite weights are exact.

    Examples
    --------
    >>> x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> conv_transpose2d_subpixel(x, x, stride=2)
    tensor([[[[0., 0., 0., 1.],
              [0., 0., 2., 3.],
              [0., 2., 0., 3.],
              [4., 6., 6., 9.]]]])
    >>> from transconv.bilinear import bilinear_kernel
    >>> w = bilinear_kernel(21, 21, 64)                      # FCN's x32 upsampler
    >>> conv_transpose2d_subpixel(torch.ones(2, 21, 10, 15), w, stride=32, padding=16).shape
    torch.Size([2, 21, 320, 480])
    """
    check_operands(input, weight, bias, 1)
    x = input.unsqueeze(0) if input.dim() == 3 else input
    (sh, sw), (ph, pw) = (
        as_hw(stride, "stride", example="(2, 2)"),
        as_hw(padding, "padding", minimum=0, example="(1, 1)"),
    )
    oph, opw = as_hw(output_padding, "output_padding", minimum=0, example="(0, 0)")
    h, w = x.shape[-2:]
    kh, kw = weight.shape[-2:]
    out_h, out_w = conv_transpose_output_size(
        (h, w), (kh, kw), (sh, sw), (ph, pw), (oph, opw), (1, 1)
    )
    top, bottom, crop_h = _window(h, kh, sh, ph, out_h)
    left, right, crop_w = _window(w, kw, sw, pw, out_w)
    x = F.pad(x, (left, right, top, bottom))
    phase_bias = None if bias is None else bias.repeat_interleave(sh * sw)
    y = _shuffle(F.conv2d(x, subpixel_weight(weight, (sh, sw)), phase_bias), sh, sw)
    y = y[..., crop_h : crop_h + out_h, crop_w : crop_w + out_w]
    return y.squeeze(0) if input.dim() == 3 else y


class SubpixelConvTranspose2d(nn.ConvTranspose2d):
    """An `nn.ConvTranspose2d` (dilation 1, groups 1) whose forward is the sub-pixel convolution.

    Same constructor, same ``weight`` ``(C_in, C_out, kH, kW)`` and ``bias`` parameters, same
    initialisation and `state_dict` as `nn.ConvTranspose2d`, so either loads the other's
    weights; ``forward(input, output_size=None)`` accepts ``output_size`` as it does.

    Shape: ``(B, C_in, H, W)`` -> ``(B, C_out, H_out, W_out)``.

    Parameters
    ----------
    in_channels : int
        Input channels $C_\\text{in}$.
    out_channels : int
        Output channels $C_\\text{out}$.
    kernel_size : int or tuple of (int, int)
        Kernel size $k$.
    stride : int or tuple of (int, int), optional
        Upsampling factor $s$; default 1.
    padding : int or tuple of (int, int), optional
        Rows/columns cropped from each side; default 0.
    output_padding : int or tuple of (int, int), optional
        Extra bottom/right rows/columns, smaller than the stride; default 0.
    bias : bool, optional
        Learn an additive bias; default True.
    device : torch.device or None, optional
        Where to create the parameters; default None (the current default device).
    dtype : torch.dtype or None, optional
        Parameter dtype; default None (the current default dtype).

    Raises
    ------
    ValueError
        From `nn.ConvTranspose2d` for invalid sizes.

    Examples
    --------
    >>> layer = nn.ConvTranspose2d(4, 4, kernel_size=4, stride=2, padding=1)
    >>> fast = SubpixelConvTranspose2d.from_conv_transpose(layer)
    >>> x = torch.randn(1, 4, 7, 9)
    >>> torch.allclose(fast(x, output_size=(15, 19)), layer(x, output_size=(15, 19)), atol=1e-5)
    True
    >>> sorted(fast.state_dict()) == sorted(layer.state_dict())
    True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: IntOrTuple = 0,
        output_padding: IntOrTuple = 0,
        bias: bool = True,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            bias=bias,
            device=device,
            dtype=dtype,
        )

    @classmethod
    def from_conv_transpose(cls, layer: nn.ConvTranspose2d) -> SubpixelConvTranspose2d:
        """A sub-pixel layer sharing ``layer``'s parameters (the same tensors, not copies).

        Parameters
        ----------
        layer : nn.ConvTranspose2d
            A transposed convolution with dilation 1, groups 1 and zero padding mode.

        Returns
        -------
        SubpixelConvTranspose2d
            Same configuration; its ``weight``/``bias`` *are* ``layer``'s parameters, with
            their ``requires_grad``.

        Raises
        ------
        ValueError
            If ``layer`` has dilation other than 1, groups other than 1 or a non-zero padding
            mode (no sub-pixel form here).
        """
        unsupported = {
            "dilation": (layer.dilation, (1, 1)),
            "groups": (layer.groups, 1),
            "padding_mode": (layer.padding_mode, "zeros"),
        }
        for name, (value, wanted) in unsupported.items():
            if value != wanted:
                raise ValueError(
                    f"layer.{name} must be {wanted!r} for the sub-pixel form, got {value!r}; "
                    "keep this layer an nn.ConvTranspose2d"
                )
        new = cls.__new__(cls)
        # same parameters, buffers and settings; the registries are copied, not shared
        new.__dict__.update(
            {k: v.copy() if isinstance(v, dict) else v for k, v in vars(layer).items()}
        )
        return new

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        """Transposed convolution of ``input``, computed as a sub-pixel convolution.

        Parameters
        ----------
        input : Tensor
            Shape ``(B, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        output_size : list of int or None, optional
            Wanted ``(H_out, W_out)`` (or the full shape); sets ``output_padding`` as in
            `nn.ConvTranspose2d`; default None (use ``self.output_padding``).

        Returns
        -------
        Tensor
            Shape ``(B, C_out, H_out, W_out)``.
        """
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation
        )
        return conv_transpose2d_subpixel(
            input, self.weight, self.bias, self.stride, self.padding, output_padding
        )
