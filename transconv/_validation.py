"""One place that checks arguments, with one error grammar for the whole package.

Every message reads ``name must be <rule>, got <value>; <fix>``. A wrong type or dtype raises
`TypeError`, a wrong value `ValueError`. The checks of plain Python values (``as_int``,
``as_hw``, ``as_float``, the memory budget) live in ``transconv._arguments``, which imports
neither torch nor numpy, and are re-exported here; this module adds the checks of tensors: an
RGB image, a map of class indices, a 2-D tensor.

Examples
--------
>>> as_hw(3, "kernel_size")
(3, 3)
>>> check_rgb_image(torch.zeros(3, 2, 2), "image")
Traceback (most recent call last):
    ...
TypeError: image must be a uint8 RGB image tensor, got dtype torch.float32; read it with transconv.data.read_rgb(path) (uint8, 3 channels first)
>>> check_label_map(torch.tensor([[0, 21]]), "label", num_classes=21)
Traceback (most recent call last):
    ...
ValueError: label must hold class indices in [0, 20] or 255 (ignore), got values from 0 to 21; map other values to 255 (ignore) or raise num_classes
"""  # noqa: E501

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from transconv._arguments import (
    as_float,
    as_hw,
    as_int,
    check_allocation,
    format_bytes,
    is_int,
    memory_budget,
    parse_bytes,
)

__all__ = [
    "as_float",
    "as_hw",
    "as_int",
    "check_2d",
    "check_allocation",
    "check_label_map",
    "check_rgb_image",
    "format_bytes",
    "is_int",
    "memory_budget",
    "parse_bytes",
    "seeded",
]

_READ_RGB = "read it with transconv.data.read_rgb(path) (uint8, 3 channels first)"


def seeded(seed: int) -> torch.Generator:
    """A fresh CPU generator seeded with ``seed``: one generator per purpose, never shared.

    Examples
    --------
    >>> a, b = seeded(0), seeded(0)
    >>> bool(torch.equal(torch.rand(3, generator=a), torch.rand(3, generator=b)))
    True
    """
    return torch.Generator().manual_seed(int(seed))


def _check_tensor(value: Any, name: str, fix: str) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}; {fix}")
    return value


def check_rgb_image(image: Any, name: str = "image", *, batched: bool = False) -> Tensor:
    """Check that ``image`` is a ``uint8`` RGB image, channels first, as ``read_rgb`` returns it.

    Parameters
    ----------
    image : Any
        What the caller passed.
    name : str, optional
        The argument's name, for the message (default ``"image"``).
    batched : bool, optional
        Accept a batch ``(B, 3, H, W)`` as well (default False).

    Returns
    -------
    Tensor
        ``image``, unchanged.

    Raises
    ------
    TypeError
        If ``image`` is not a tensor, or not ``uint8`` (a float image was probably normalised
        already).
    ValueError
        If ``image`` is not ``(3, H, W)`` (or ``(B, 3, H, W)`` when ``batched``).
    """
    image = _check_tensor(image, name, _READ_RGB)
    if image.dtype != torch.uint8:
        raise TypeError(
            f"{name} must be a uint8 RGB image tensor, got dtype {image.dtype}; {_READ_RGB}"
        )
    dims = (3, 4) if batched else (3,)
    if image.dim() not in dims or image.shape[-3] != 3:
        rule = "(3, H, W) or (B, 3, H, W)" if batched else "(3, H, W)"
        raise ValueError(f"{name} must have shape {rule}, got {tuple(image.shape)}; {_READ_RGB}")
    return image


def check_label_map(
    label: Any,
    name: str = "label",
    *,
    num_classes: int | None = None,
    ignore_index: int | None = 255,
    fix: str = "map other values to 255 (ignore) or raise num_classes",
    values: bool = True,
) -> Tensor:
    """Check that ``label`` holds integer class indices (reads two values back from a device).

    Parameters
    ----------
    label : Any
        A tensor of class indices, any shape.
    name : str, optional
        The argument's name, for the message (default ``"label"``).
    num_classes : int or None, optional
        Classes are ``0 .. num_classes - 1``; None allows ``0 .. 255`` (what a label PNG
        stores).
    ignore_index : int or None, optional
        One more value allowed besides the classes (default 255, VOC's ignore index); None for
        none.
    fix : str, optional
        How to fix a value out of range, for the message.
    values : bool, optional
        Check the values (default True); False checks only the type and dtype, without
        reading anything back from the device.

    Returns
    -------
    Tensor
        ``label``, unchanged.

    Raises
    ------
    TypeError
        If ``label`` is not a tensor, or its dtype is not an integer type.
    ValueError
        If a value is neither a class index nor ``ignore_index``.
    """
    label = _check_tensor(label, name, "convert it with torch.as_tensor")
    if label.is_floating_point() or label.is_complex() or label.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer class indices, got dtype {label.dtype}; take "
            "logits.argmax(dim=1) first, or convert with .long()"
        )
    high = 255 if num_classes is None else int(num_classes) - 1
    if not values or not label.numel():
        return label
    lo, hi = (int(v) for v in torch.aminmax(label))  # the one read back
    if lo >= 0 and hi <= high:
        return label
    allowed = ignore_index is not None and ignore_index > high
    if not allowed or bool(((label < 0) | (label > high) & (label != ignore_index)).any()):
        extra = f" or {ignore_index} (ignore)" if allowed else ""
        raise ValueError(
            f"{name} must hold class indices in [0, {high}]{extra}, got values from {lo} to "
            f"{hi}; {fix}"
        )
    return label


def check_2d(tensor: Any, name: str) -> Tensor:
    """Check that ``tensor`` is a 2-D ``(H, W)`` tensor: one channel of one image.

    Parameters
    ----------
    tensor : Any
        What the caller passed.
    name : str
        The argument's name, for the message.

    Returns
    -------
    Tensor
        ``tensor``, unchanged.

    Raises
    ------
    TypeError
        If ``tensor`` is not a tensor.
    ValueError
        If it is not 2-D.

    Examples
    --------
    >>> check_2d(torch.zeros(1, 1, 2, 2), "X")
    Traceback (most recent call last):
        ...
    ValueError: X must be 2-D (H, W), got shape (1, 1, 2, 2); take one channel, e.g. X[0, 0] of a (B, C, H, W) tensor
    """  # noqa: E501
    fix = f"pass e.g. {name}=torch.tensor([[0.0, 1.0], [2.0, 3.0]])"
    tensor = _check_tensor(tensor, name, fix)
    if tensor.dim() != 2:
        raise ValueError(
            f"{name} must be 2-D (H, W), got shape {tuple(tensor.shape)}; take one channel, "
            f"e.g. {name}[0, 0] of a (B, C, H, W) tensor"
        )
    return tensor
