r"""Measuring checkerboard artifacts, and ICNR, the initialisation that avoids them.

A stride-$s$ upsampler computes each output phase $(o_y \bmod s, o_x \bmod s)$ with its own taps,
so its artifacts are an offset that repeats every $s$ pixels.
[`phase_means`][transconv.artifacts.phase_means] averages an image over each of the $s^2$ phases;
[`checkerboard_score`][transconv.artifacts.checkerboard_score] first removes the smooth part of
the image (a $3 \times 3$ binomial blur, which keeps constants and ramps exactly and removes every
2-pixel period), then reports how far apart the phase means of what is left are.
[`icnr_`][transconv.artifacts.icnr_] initialises a sub-pixel convolution so that all $s^2$ phases
start equal (Aitken et al. 2017).

Examples
--------
>>> flat = torch.ones(1, 1, 8, 8)
>>> checkerboard_score(flat)
0.0
>>> board = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(4, 4)  # a 2x2 checkerboard
>>> checkerboard_score(board)
1.0
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from transconv._validation import as_int

__all__ = ["checkerboard_score", "icnr_", "phase_means"]


def _check_image(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = type(x).__name__ if not isinstance(x, Tensor) else f"dtype {x.dtype}"
        raise TypeError(f"{name} must be a floating-point tensor, got {got}; pass x.float()")
    if x.dim() < 2:
        raise ValueError(
            f"{name} must have at least 2 dimensions (..., H, W), got shape {tuple(x.shape)}; "
            "pass an image"
        )


def phase_means(x: Tensor, stride: int = 2) -> Tensor:
    r"""Mean of ``x`` over each output phase $(o_y \bmod s, o_x \bmod s)$.

    Rows and columns beyond the last whole $s \times s$ block are left out.

    Shape: ``(..., H, W)`` -> ``(..., s, s)``.

    Parameters
    ----------
    x : Tensor
        Floating-point image(s), ``H, W >= stride``.
    stride : int, optional
        The period $s$ of the phases (default 2).

    Returns
    -------
    Tensor
        Entry ``[..., r, q]`` is the mean of ``x[..., r::s, q::s]`` over the whole blocks.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``stride`` not an int.
    ValueError
        If ``x`` has fewer than 2 dimensions, ``stride < 1`` or an image side below ``stride``.

    Examples
    --------
    >>> phase_means(torch.arange(16.0).view(4, 4))
    tensor([[ 5.,  6.],
            [ 9., 10.]])
    """
    _check_image(x, "x")
    s = as_int(stride, "stride", minimum=1, example="2")
    h, w = x.shape[-2:]
    if h < s or w < s:
        raise ValueError(
            f"x must be at least stride x stride = {s} x {s}, got {h} x {w}; pass a larger image"
        )
    blocks = x[..., : h - h % s, : w - w % s].unflatten(-2, (-1, s)).unflatten(-1, (-1, s))
    return blocks.mean(dim=(-4, -2))


def checkerboard_score(x: Tensor, stride: int = 2) -> float:
    r"""How strongly ``x`` repeats every ``stride`` pixels: 0 for smooth images.

    The image minus its $3 \times 3$ binomial blur ($[1, 2, 1] / 4$ per direction; the border row
    and column that the blur cannot reach are dropped) keeps every 2-pixel period whole and
    removes constants and ramps exactly. The score is the spread (max - min) of the
    [`phase_means`][transconv.artifacts.phase_means] of that residual, averaged over all leading
    dimensions: a checkerboard of amplitude $a$ (values $\pm a/2$) scores $a$.

    Parameters
    ----------
    x : Tensor
        Floating-point image(s), shape ``(..., H, W)`` with ``H, W >= stride + 2``.
    stride : int, optional
        The period to look for (default 2).

    Returns
    -------
    float
        The mean spread of the phase means of the high-pass residual.

    Raises
    ------
    TypeError
        If ``x`` is not a floating-point tensor or ``stride`` not an int.
    ValueError
        If ``x`` has fewer than 2 dimensions, ``stride < 1`` or an image side below
        ``stride + 2``.

    Examples
    --------
    >>> ramp = torch.arange(64.0).view(8, 8)
    >>> checkerboard_score(ramp)
    0.0
    >>> stripes = torch.tensor([0.0, 3.0]).repeat(8, 4)  # columns alternate 0, 3
    >>> checkerboard_score(stripes)
    3.0
    """
    _check_image(x, "x")
    images = x.reshape(-1, 1, *x.shape[-2:])
    binomial = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device) / 4
    blur = (binomial[:, None] * binomial[None, :]).view(1, 1, 3, 3)
    residual = images[..., 1:-1, 1:-1] - F.conv2d(images, blur)
    means = phase_means(residual, stride).flatten(-2)
    return round((means.max(-1).values - means.min(-1).values).mean().item(), 12)


def icnr_(weight: Tensor, upscale: int) -> Tensor:
    r"""ICNR in place: every group of ``upscale**2`` output channels gets one kernel.

    ``weight`` belongs to a convolution followed by ``nn.PixelShuffle(upscale)``, which sends
    output channel $c s^2 + r s + q$ to phase $(r, q)$ of channel $c$. Copying output channel
    $c s^2$'s kernel to the other $s^2 - 1$ of its group makes all phases equal, so the layer
    starts as a stride-1 convolution followed by nearest-neighbour upsampling: no checkerboard
    (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution").

    Parameters
    ----------
    weight : Tensor
        Shape ``(C * upscale**2, C_in, kH, kW)``, or a bias ``(C * upscale**2,)``; the first
        entry of each group of ``upscale**2`` is kept.
    upscale : int
        The pixel shuffle's factor $s$.

    Returns
    -------
    Tensor
        ``weight``, changed in place.

    Raises
    ------
    TypeError
        If ``weight`` is not a floating-point tensor or ``upscale`` not an int.
    ValueError
        If ``upscale < 1`` or ``weight.shape[0]`` is not a multiple of ``upscale**2``.

    Examples
    --------
    >>> conv = torch.nn.Conv2d(1, 4, 3)
    >>> _ = icnr_(conv.weight, 2), icnr_(conv.bias, 2)
    >>> all(torch.equal(conv.weight[i], conv.weight[0]) for i in range(4))
    True
    >>> x = torch.rand(1, 1, 5, 5)
    >>> y = torch.nn.functional.pixel_shuffle(conv(x), 2)  # = nearest x2 of one convolution
    >>> torch.allclose(y, y[..., ::2, ::2].repeat_interleave(2, -2).repeat_interleave(2, -1))
    True
    """
    if not isinstance(weight, Tensor) or not weight.is_floating_point():
        got = type(weight).__name__ if not isinstance(weight, Tensor) else f"dtype {weight.dtype}"
        raise TypeError(f"weight must be a floating-point tensor, got {got}; pass conv.weight")
    s = as_int(upscale, "upscale", minimum=1, example="2")
    if weight.dim() not in (1, 4) or weight.shape[0] % (s * s):
        raise ValueError(
            f"weight must have shape (C * upscale**2, C_in, kH, kW) or (C * upscale**2,) with "
            f"upscale={s}, got "
            f"{tuple(weight.shape)}; give the convolution C * {s * s} output channels"
        )
    with torch.no_grad():
        weight.copy_(weight[:: s * s].repeat_interleave(s * s, dim=0))
    return weight
