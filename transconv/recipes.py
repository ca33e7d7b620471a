"""Training recipes: optimizer settings, loss, numerics, memory layout and data pipeline.

Two recipes ([`RECIPES`][transconv.recipes.RECIPES]) share one loop,
[`train`][transconv.train.train]:

`d2l`
:   d2l.ai's FCN recipe: float32, NCHW, `SGD(lr=0.001, weight_decay=1e-3)`, the per-image mean
    cross-entropy *summed* over the batch (d2l's `l.sum().backward()`) and a CPU `DataLoader`.
    One difference: the loss ignores VOC's boundary pixels (`ignore_index=255`), where d2l maps
    them to background and trains on them.

`fast`
:   On CUDA: bfloat16 autocast, `channels_last`, a fused SGD with momentum, cuDNN autotuning
    (the crops have one fixed size), optional `torch.compile`, and the GPU-resident
    [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader]; the loss is the mean over
    non-ignored pixels ([`loss_fn`][transconv.losses.loss_fn]). On a CPU the CUDA-only parts are
    switched off ([`Recipe.on`][transconv.recipes.Recipe.on]).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

__all__ = ["RECIPES", "Recipe", "autocast", "cudnn_autotune", "make_optimizer"]


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer settings, loss, numerics, memory layout and data pipeline.

    Parameters
    ----------
    name : str
        Label stored with results.
    lr, momentum, weight_decay : float
        ``torch.optim.SGD`` settings.
    loss : {"mean", "d2l"}
        ``"mean"``: :func:`loss_fn`; ``"d2l"``: :func:`d2l_loss` (per-image means, summed).
    amp_dtype : {None, "bfloat16"}
        Autocast dtype on CUDA (float16 would need a gradient scaler, so it is not offered).
    channels_last : bool
        Model and batches in ``torch.channels_last`` memory format (CUDA only).
    fused : bool
        ``SGD(fused=True)`` where this torch supports it (CUDA only; torch >= 2.3 has it).
    cudnn_benchmark : bool
        Let cuDNN time its convolution algorithms for each new input shape and keep the
        fastest (``torch.backends.cudnn.benchmark``, CUDA only), for the duration of
        :func:`train`; it pays off when every batch has the same size, as with fixed crops.
    compile : bool
        Wrap the model in ``torch.compile``.
    loader : {"dataloader", "device"}
        A CPU ``DataLoader`` of :class:`~transconv.data.voc.VOCSegDataset`, or the GPU-resident
        :class:`~transconv.data.gpu.DeviceSegLoader`.

    Raises
    ------
    ValueError
        If a field has a value outside the choices above or ``lr`` is not positive.

    Examples
    --------
    >>> RECIPES["fast"].on("cpu").amp_dtype is None
    True
    >>> replace(RECIPES["d2l"], lr=0.01).lr
    0.01
    """

    name: str
    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    loss: str = "mean"
    amp_dtype: str | None = None
    channels_last: bool = False
    fused: bool = False
    compile: bool = False
    loader: str = "dataloader"
    cudnn_benchmark: bool = False

    def __post_init__(self) -> None:
        choices = {
            "loss": ("mean", "d2l"),
            "amp_dtype": (None, "bfloat16"),
            "loader": ("dataloader", "device"),
        }
        for field, allowed in choices.items():
            if getattr(self, field) not in allowed:
                raise ValueError(
                    f"Recipe.{field} must be one of {allowed}, got {getattr(self, field)!r}"
                )
        if not self.lr > 0 or self.momentum < 0 or self.weight_decay < 0:
            raise ValueError(
                f"Recipe needs lr > 0, momentum >= 0 and weight_decay >= 0, got lr={self.lr}, "
                f"momentum={self.momentum}, weight_decay={self.weight_decay}"
            )

    def on(self, device: str | torch.device) -> Recipe:
        """The recipe as it runs on ``device``: off CUDA, no autocast, channels_last, fusing or
        cuDNN autotuning."""
        if torch.device(device).type == "cuda":
            return self
        return replace(
            self, amp_dtype=None, channels_last=False, fused=False, cudnn_benchmark=False
        )

    @property
    def torch_amp_dtype(self) -> torch.dtype | None:
        """``amp_dtype`` as a ``torch.dtype`` (None: no autocast)."""
        return None if self.amp_dtype is None else getattr(torch, self.amp_dtype)


#: The two recipes; override fields with ``dataclasses.replace`` (the CLI flags do).
RECIPES: dict[str, Recipe] = {
    "d2l": Recipe("d2l", lr=0.001, weight_decay=1e-3, loss="d2l"),
    "fast": Recipe(
        "fast",
        lr=0.01,
        momentum=0.9,
        weight_decay=1e-4,
        loss="mean",
        amp_dtype="bfloat16",
        channels_last=True,
        fused=True,
        loader="device",
        cudnn_benchmark=True,
    ),
}


def autocast(device_type: str, amp_dtype: torch.dtype | None) -> torch.autocast:
    if amp_dtype not in (None, torch.bfloat16):
        raise ValueError(
            f"amp_dtype must be None or torch.bfloat16, got {amp_dtype}; float16 autocast "
            "needs a GradScaler, which this loop does not use"
        )
    return torch.autocast(
        device_type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None
    )


@contextlib.contextmanager
def cudnn_autotune(enabled: bool) -> Iterator[None]:
    """Set ``torch.backends.cudnn.benchmark`` to ``enabled`` inside the block, restore it after.

    With autotuning cuDNN times the algorithms for each new convolution shape once (the first
    steps are slower) and then runs the fastest; without it, it follows its heuristics. The
    flag is process-wide, so :func:`train` sets it only while it runs.

    Parameters
    ----------
    enabled : bool

    Examples
    --------
    >>> before = torch.backends.cudnn.benchmark
    >>> with cudnn_autotune(not before):
    ...     torch.backends.cudnn.benchmark == (not before)
    True
    >>> torch.backends.cudnn.benchmark == before
    True
    """
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = bool(enabled)
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def make_optimizer(net: nn.Module, recipe: Recipe, device: str | torch.device) -> torch.optim.SGD:
    """SGD with the recipe's settings; ``fused=True`` on CUDA when the recipe asks and torch can.

    The fused kernel updates all parameters in a few launches instead of a few per parameter.
    A torch whose ``SGD`` has no ``fused`` argument (before 2.3) gets the default
    implementation, with the same arithmetic.

    Examples
    --------
    >>> opt = make_optimizer(nn.Linear(2, 2), RECIPES["fast"], "cpu")
    >>> opt.defaults["lr"], opt.defaults["momentum"], opt.defaults.get("fused")
    (0.01, 0.9, None)
    """
    kwargs: dict[str, Any] = {
        "lr": recipe.lr,
        "momentum": recipe.momentum,
        "weight_decay": recipe.weight_decay,
    }
    fused_ok = "fused" in inspect.signature(torch.optim.SGD).parameters
    if recipe.on(device).fused and fused_ok:
        kwargs["fused"] = True
    return torch.optim.SGD(net.parameters(), **kwargs)
