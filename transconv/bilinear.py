r"""Bilinear initialisation of transposed convolutions (FCN's upsampling layers).

A transposed convolution with stride $f$ whose kernel is the separable "tent"
$(1 - |i - c| / f)(1 - |j - c| / f)$ performs bilinear interpolation by a factor $f$:
[`bilinear_kernel`][transconv.bilinear.bilinear_kernel] is that weight,
[`bilinear_upsampler`][transconv.bilinear.bilinear_upsampler] the initialised layer.

Examples
--------
>>> up = bilinear_upsampler(1, 2)
>>> up(torch.ones(1, 1, 4, 4))[0, 0, 2:6, 2:6].detach()   # interior of a constant image
tensor([[1., 1., 1., 1.],
        [1., 1., 1., 1.],
        [1., 1., 1., 1.],
        [1., 1., 1., 1.]])
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from transconv._validation import as_int
from transconv.shapes import upsampling_params

__all__ = ["bilinear_kernel", "bilinear_upsampler"]


def bilinear_kernel(in_channels: int, out_channels: int, kernel_size: int) -> Tensor:
    r"""Bilinear upsampling weight in the `nn.ConvTranspose2d` layout ``(C_in, C_out, k, k)``.

    The d2l / FCN formula: with $f = \lfloor (k + 1) / 2 \rfloor$ and centre $c = f - 1$ for
    odd $k$ or $c = f - 0.5$ for even $k$,

    $$w[i, i, a, b] = \left(1 - \frac{|a - c|}{f}\right)\left(1 - \frac{|b - c|}{f}\right),$$

    and every off-diagonal channel pair $(i, j \ne i)$ is zero, so channel $i$ is upsampled
    into channel $i$ only. If ``in_channels != out_channels`` the first
    ``min(in_channels, out_channels)`` channels are paired and the rest stay zero.

    Parameters
    ----------
    in_channels : int
        Input channels $C_\text{in}$ of the transposed convolution (positive).
    out_channels : int
        Output channels $C_\text{out}$ of the transposed convolution (positive).
    kernel_size : int
        Side $k$ of the square kernel (positive); take it from
        [`upsampling_params`][transconv.shapes.upsampling_params].

    Returns
    -------
    Tensor
        float32 tensor of shape ``(in_channels, out_channels, kernel_size, kernel_size)``.

    Raises
    ------
    ValueError
        If a channel count or the kernel size is below 1.
    TypeError
        If a channel count or the kernel size is not an integer.

    Examples
    --------
    >>> bilinear_kernel(1, 1, 4)[0, 0]
    tensor([[0.0625, 0.1875, 0.1875, 0.0625],
            [0.1875, 0.5625, 0.5625, 0.1875],
            [0.1875, 0.5625, 0.5625, 0.1875],
            [0.0625, 0.1875, 0.1875, 0.0625]])
    >>> w = bilinear_kernel(3, 3, 4)
    >>> w.shape, w[0, 1].abs().sum().item()
    (torch.Size([3, 3, 4, 4]), 0.0)
    """
    in_channels = as_int(in_channels, "in_channels", minimum=1)
    out_channels = as_int(out_channels, "out_channels", minimum=1)
    kernel_size = as_int(kernel_size, "kernel_size", minimum=1, example="4")
    factor = (kernel_size + 1) // 2
    center = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = torch.arange(kernel_size, dtype=torch.float64)
    tent = 1 - (taps - center).abs() / factor
    filt = (tent[:, None] * tent[None, :]).to(torch.float32)
    weight = torch.zeros(in_channels, out_channels, kernel_size, kernel_size)
    diag = torch.arange(min(in_channels, out_channels))
    weight[diag, diag] = filt
    return weight


def bilinear_upsampler(channels: int, factor: int) -> nn.ConvTranspose2d:
    r"""A bias-free `nn.ConvTranspose2d` initialised to upsample bilinearly by ``factor``.

    Kernel size, stride and padding come from
    [`upsampling_params`][transconv.shapes.upsampling_params], so an ``(H, W)`` input gives
    exactly ``(factor * H, factor * W)``; the weight is
    [`bilinear_kernel`][transconv.bilinear.bilinear_kernel].

    Away from a band of ``factor // 2`` output pixels ($\lfloor f/2 \rfloor$ for $f$ =
    ``factor``) along each edge the result equals
    ``F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=False)``; the
    Bilinear initialisation page measures that band for several factors. In the band it
    differs: the transposed convolution implicitly treats pixels outside the input as zeros,
    so border values are attenuated (a constant image of ones comes out below 1 along the
    edges, e.g. 0.75 next to an edge and 0.5625 in a corner for ``factor=2``), whereas
    ``interpolate`` clamps coordinates to the edge pixel and keeps a constant image constant.
    Precisely, the layer equals ``interpolate`` applied to the input padded with one ring of
    zeros, cropped by ``f = factor`` pixels on each side:
    ``F.interpolate(F.pad(x, (1, 1, 1, 1)), scale_factor=f, mode="bilinear")[..., f:-f, f:-f]``.

    Shape: ``(B, channels, H, W)`` -> ``(B, channels, factor * H, factor * W)``.

    Parameters
    ----------
    channels : int
        Number of channels (in = out; each channel is upsampled on its own).
    factor : int
        Upsampling factor, ``>= 1``.

    Returns
    -------
    nn.ConvTranspose2d
        The initialised layer (weight trainable, float32).

    Raises
    ------
    ValueError
        If ``channels`` or ``factor`` is below 1.
    TypeError
        If ``channels`` or ``factor`` is not an integer.

    Examples
    --------
    >>> up = bilinear_upsampler(3, 2)
    >>> up
    ConvTranspose2d(3, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)
    >>> up(torch.ones(1, 3, 5, 7)).shape
    torch.Size([1, 3, 10, 14])
    >>> up(torch.ones(1, 3, 3, 3))[0, 0, :3, :3].detach()  # ones in, attenuated border out
    tensor([[0.5625, 0.7500, 0.7500],
            [0.7500, 1.0000, 1.0000],
            [0.7500, 1.0000, 1.0000]])

    The band is ``factor // 2`` pixels wide: for ``factor=4``, rows 0 and 1 differ from
    ``interpolate``, row 2 onwards agree.

    >>> x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(0)) + 0.5
    >>> ref = torch.nn.functional.interpolate(x, scale_factor=4, mode="bilinear")
    >>> diff = (bilinear_upsampler(1, 4)(x) - ref).abs().detach()[0, 0]
    >>> [bool(diff[row, 2:-2].max() < 1e-6) for row in range(4)]
    [False, False, True, True]
    """
    channels = as_int(channels, "channels", minimum=1, example="21")
    factor = as_int(factor, "factor", minimum=1, example="2")
    kernel_size, stride, padding = upsampling_params(factor)
    layer = nn.ConvTranspose2d(
        channels, channels, kernel_size, stride=stride, padding=padding, bias=False
    )
    with torch.no_grad():
        layer.weight.copy_(bilinear_kernel(channels, channels, kernel_size))
    return layer
