"""Training recipes: optimizer settings, learning-rate schedule, loss, numerics, memory layout and
data pipeline.

Two recipes ([`RECIPES`][transconv.recipes.RECIPES]) share one loop,
[`train`][transconv.train.train]:

`d2l`
:   d2l.ai's FCN recipe: float32, NCHW, `SGD(lr=0.001, weight_decay=1e-3)` at a constant rate,
    the per-image mean
    cross-entropy *summed* over the batch (d2l's `l.sum().backward()`) and a CPU `DataLoader`.
    One difference: the loss ignores VOC's boundary pixels (`ignore_index=255`), where d2l maps
    them to background and trains on them.

`fast`
:   On CUDA: bfloat16 autocast, `channels_last`, a fused SGD with momentum, cuDNN autotuning
    (the crops have one fixed size), optional `torch.compile`, torchvision's "poly" learning-rate
    decay, and the GPU-resident
    [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader]; the loss is the mean over
    non-ignored pixels computed without a float32 copy of the logits or an NCHW copy of their
    gradient ([`fused_loss`][transconv.losses.fused_loss], equal to
    [`loss_fn`][transconv.losses.loss_fn] within float32 rounding). On a CPU the CUDA-only
    parts are switched off ([`Recipe.on`][transconv.recipes.Recipe.on]).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from transconv._validation import as_int
from transconv.losses import LOSSES

__all__ = [
    "RECIPES",
    "SCHEDULES",
    "Recipe",
    "autocast",
    "cudnn_autotune",
    "make_optimizer",
    "make_schedule",
]


def _constant(step: int, total: int) -> float:
    return 1.0


def _poly(step: int, total: int) -> float:
    return max(0.0, 1 - step / total) ** 0.9  # past the planned total (a longer resume): 0


SCHEDULES = {"constant": _constant, "poly": _poly}
"""Learning-rate factors by name: ``factor(step, total_steps)`` multiplies the recipe's ``lr``.

``"poly"`` is torchvision's segmentation schedule, $(1 - step / total)^{0.9}$.
"""


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer settings, loss, numerics, memory layout and data pipeline.

    Parameters
    ----------
    name : str
        Label stored with results.
    lr : float
        ``torch.optim.SGD`` learning rate, > 0.
    momentum : float, default 0.0
        ``torch.optim.SGD`` momentum, >= 0.
    weight_decay : float, default 0.0
        ``torch.optim.SGD`` weight decay, >= 0.
    schedule : {"constant", "poly"}, default "constant"
        A key of [`SCHEDULES`][transconv.recipes.SCHEDULES]: how the learning rate changes
        step by step ([`make_schedule`][transconv.recipes.make_schedule]).
    loss : {"mean", "fused", "d2l"}, default "mean"
        A key of [`LOSSES`][transconv.losses.LOSSES]: ``"mean"``,
        [`loss_fn`][transconv.losses.loss_fn]; ``"fused"``,
        [`fused_loss`][transconv.losses.fused_loss] (the same mean, no float32 copy of the
        logits); ``"d2l"``, [`d2l_loss`][transconv.losses.d2l_loss] (per-image means, summed).
    amp_dtype : {None, "bfloat16"}, default None
        Autocast dtype on CUDA (float16 would need a gradient scaler, so it is not offered).
    channels_last : bool, default False
        Model and batches in ``torch.channels_last`` memory format (CUDA only).
    fused : bool, default False
        ``SGD(fused=True)`` where this torch supports it (CUDA only; torch >= 2.3 has it).
    compile : bool, default False
        Wrap the model in ``torch.compile``.
    loader : {"dataloader", "device"}, default "dataloader"
        A CPU ``DataLoader`` of [`VOCSegDataset`][transconv.data.voc.VOCSegDataset], or the
        GPU-resident [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
    cudnn_benchmark : bool, default False
        Let cuDNN time its convolution algorithms for each new input shape and keep the
        fastest (``torch.backends.cudnn.benchmark``, CUDA only), for the duration of
        [`train`][transconv.train.train]; it pays off when every batch has the same size, as
        with fixed crops.

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
    schedule: str = "constant"
    loss: str = "mean"
    amp_dtype: str | None = None
    channels_last: bool = False
    fused: bool = False
    compile: bool = False
    loader: str = "dataloader"
    cudnn_benchmark: bool = False

    def __post_init__(self) -> None:
        choices = {
            "schedule": tuple(SCHEDULES),
            "loss": tuple(LOSSES),
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
        cuDNN autotuning.

        Parameters
        ----------
        device : str or torch.device
            Where the recipe will run.

        Returns
        -------
        Recipe
            ``self`` on CUDA, else a copy with the CUDA-only fields switched off.
        """
        if torch.device(device).type == "cuda":
            return self
        return replace(
            self, amp_dtype=None, channels_last=False, fused=False, cudnn_benchmark=False
        )

    @property
    def torch_amp_dtype(self) -> torch.dtype | None:
        """``amp_dtype`` as a ``torch.dtype`` (None: no autocast)."""
        return None if self.amp_dtype is None else getattr(torch, self.amp_dtype)


RECIPES: dict[str, Recipe] = {
    "d2l": Recipe("d2l", lr=0.001, weight_decay=1e-3, loss="d2l"),
    "fast": Recipe(
        "fast",
        lr=0.01,
        momentum=0.9,
        weight_decay=1e-4,
        schedule="poly",
        loss="fused",
        amp_dtype="bfloat16",
        channels_last=True,
        fused=True,
        loader="device",
        cudnn_benchmark=True,
    ),
}
"""The two recipes by name; override fields with ``dataclasses.replace`` (the CLI flags do)."""


def autocast(device_type: str, amp_dtype: torch.dtype | None) -> torch.autocast:
    """``torch.autocast`` to ``amp_dtype``, or a disabled one for None (full precision).

    Parameters
    ----------
    device_type : str
        ``"cuda"`` or ``"cpu"``, as ``torch.autocast`` takes it.
    amp_dtype : torch.dtype or None
        ``torch.bfloat16`` or None.

    Returns
    -------
    torch.autocast
        A context manager.

    Raises
    ------
    ValueError
        For any other dtype: float16 would need a gradient scaler, which the loop does not use.

    Examples
    --------
    >>> with autocast("cpu", torch.bfloat16):
    ...     torch.ones(2, 2).mm(torch.ones(2, 2)).dtype
    torch.bfloat16
    >>> with autocast("cpu", None):
    ...     torch.ones(2, 2).mm(torch.ones(2, 2)).dtype
    torch.float32
    """
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
    flag is process-wide, so [`train`][transconv.train.train] sets it only while it runs.

    Parameters
    ----------
    enabled : bool
        The value of ``torch.backends.cudnn.benchmark`` inside the block.

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

    Parameters
    ----------
    net : nn.Module
        The model whose parameters to optimise.
    recipe : Recipe
        Supplies ``lr``, ``momentum``, ``weight_decay`` and ``fused``.
    device : str or torch.device
        Where the model lives; fusing is asked for on CUDA only.

    Returns
    -------
    torch.optim.SGD
        The optimizer.

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


def make_schedule(
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    *,
    total_steps: int,
    state: dict[str, Any] | None = None,
    done_steps: int = 0,
) -> LambdaLR:
    """The learning-rate scheduler of ``recipe``, stepped once per optimizer step.

    Step $t$ trains at ``lr`` $\\times$ ``SCHEDULES[recipe.schedule](t, total_steps)``. A run
    resumed with the ``state`` its checkpoint saved continues at the rate, bit for bit, that an
    uninterrupted run reaches at the same step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Its groups' ``lr`` is set at every step.
    recipe : Recipe
        Supplies ``schedule``.
    total_steps : int
        Optimizer steps of the whole run (epochs times batches per epoch), >= 1.
    state : dict, optional
        ``scheduler.state_dict()`` of an earlier run, to continue from.
    done_steps : int, default 0
        Without ``state``: the steps already done (a checkpoint saved without a schedule).

    Returns
    -------
    torch.optim.lr_scheduler.LambdaLR
        Call its ``step()`` after each ``optimizer.step()``.

    Raises
    ------
    TypeError
        If ``total_steps`` is not an int.
    ValueError
        If ``total_steps`` is below 1.

    Examples
    --------
    >>> opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    >>> scheduler = make_schedule(opt, RECIPES["fast"], total_steps=10)
    >>> for _ in range(5):
    ...     opt.step()
    ...     scheduler.step()
    >>> round(opt.param_groups[0]["lr"], 6) == round(0.1 * 0.5**0.9, 6)
    True
    """
    total_steps = as_int(total_steps, "total_steps", minimum=1, example="epochs * len(loader)")
    factor = SCHEDULES[recipe.schedule]
    scheduler = LambdaLR(optimizer, lambda step: factor(step, total_steps))
    if not state and done_steps:
        state = {**scheduler.state_dict(), "last_epoch": done_steps}
    if state:
        scheduler.load_state_dict(state)
        for group, base in zip(optimizer.param_groups, scheduler.base_lrs, strict=True):
            # the expression LambdaLR evaluates at this step: the same float as a straight run
            group["lr"] = base * factor(scheduler.last_epoch, total_steps)
    return scheduler
