"""Train, evaluate and predict with fully convolutional networks.

Two recipes (:data:`RECIPES`) share one loop, :func:`train`:

``d2l``
    d2l.ai's FCN recipe: float32, NCHW, ``SGD(lr=0.001, weight_decay=1e-3)``, the
    per-image mean cross-entropy *summed* over the batch (d2l's ``l.sum().backward()``) and a
    CPU ``DataLoader``. One difference: the loss ignores VOC's boundary pixels
    (``ignore_index=255``), where d2l maps them to background and trains on them.
``fast``
    On CUDA: bfloat16 autocast, ``channels_last``, a fused SGD with momentum, cuDNN autotuning
    (the crops have one fixed size), optional ``torch.compile``, and the GPU-resident
    :class:`transconv.data.gpu.DeviceSegLoader`; the loss is the mean over non-ignored pixels
    (:func:`loss_fn`). The training loop reads nothing back from the GPU between steps except
    a NaN check every 20 steps. On a CPU the CUDA-only parts are switched off
    (:meth:`Recipe.on`).

Multi-GPU training uses ``DistributedDataParallel`` (d2l uses ``DataParallel``). Launch one
process per GPU with torchrun::

    torchrun --standalone --nproc_per_node=NUM_GPUS -m transconv train --recipe fast --out runs/ddp

:func:`setup_distributed` reads torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``; each process
trains on its shard of the data (``--batch-size`` is per process), gradients are averaged by DDP,
the confusion matrices of the evaluation are summed over processes, and only rank 0 shows
progress and writes the checkpoint. Without ``WORLD_SIZE`` (or with 1) everything runs in one
plain process.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm  # text bars: tqdm.auto would need ipywidgets inside notebooks

from transconv.data.voc import IGNORE_INDEX, normalize_image
from transconv.metrics import confusion_matrix, segmentation_scores

__all__ = [
    "NonFiniteLossError",
    "RECIPES",
    "Recipe",
    "cudnn_autotune",
    "d2l_loss",
    "evaluate",
    "load_checkpoint",
    "loss_fn",
    "make_loaders",
    "make_optimizer",
    "predict",
    "save_checkpoint",
    "setup_distributed",
    "train",
    "train_step",
    "wrap_ddp",
]

_CHECK_EVERY = 20  # steps between host syncs that look for a non-finite loss


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss."""


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
        choices = {"loss": ("mean", "d2l"), "amp_dtype": (None, "bfloat16"),
                   "loader": ("dataloader", "device")}
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
        return replace(self, amp_dtype=None, channels_last=False, fused=False,
                       cudnn_benchmark=False)

    @property
    def torch_amp_dtype(self) -> torch.dtype | None:
        """``amp_dtype`` as a ``torch.dtype`` (None: no autocast)."""
        return None if self.amp_dtype is None else getattr(torch, self.amp_dtype)


#: The two recipes; override fields with ``dataclasses.replace`` (the CLI flags do).
RECIPES: dict[str, Recipe] = {
    "d2l": Recipe("d2l", lr=0.001, weight_decay=1e-3, loss="d2l"),
    "fast": Recipe("fast", lr=0.01, momentum=0.9, weight_decay=1e-4, loss="mean",
                   amp_dtype="bfloat16", channels_last=True, fused=True, loader="device",
                   cudnn_benchmark=True),
}


def _check_logits(logits: Tensor, target: Tensor) -> None:
    if logits.dim() != 4 or target.shape != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(
            f"expected logits BxCxHxW and target BxHxW of the same B, H, W, got logits "
            f"{tuple(logits.shape)} and target {tuple(target.shape)}"
        )


def loss_fn(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """Cross-entropy averaged over the pixels whose target is not ``ignore_index``.

    .. math:: \\ell = \\frac{1}{|K|} \\sum_{p \\in K} -\\log \\operatorname{softmax}(z_p)_{y_p},
        \\quad K = \\{p : y_p \\ne \\text{ignore\\_index}\\}

    A batch whose pixels are all ignored has loss 0 (not 0/0 = NaN).

    Parameters
    ----------
    logits : Tensor
        ``BxCxHxW`` scores (any float dtype; computed in float32).
    target : Tensor
        ``BxHxW`` int64 class indices, ``ignore_index`` for pixels to leave out.
    ignore_index : int, default 255

    Returns
    -------
    Tensor
        Scalar loss.

    Raises
    ------
    ValueError
        If the shapes do not match.

    Examples
    --------
    >>> logits = torch.zeros(1, 4, 1, 2)
    >>> round(loss_fn(logits, torch.tensor([[[1, 255]]])).item(), 4)  # log 4
    1.3863
    """
    _check_logits(logits, target)
    total = F.cross_entropy(logits.float(), target, ignore_index=ignore_index, reduction="sum")
    return total / (target != ignore_index).sum().clamp(min=1)


def d2l_loss(logits: Tensor, target: Tensor, ignore_index: int = IGNORE_INDEX) -> Tensor:
    """d2l's loss: per-pixel cross-entropy averaged per image, one value per image.

    As d2l's ``loss(inputs, targets) = F.cross_entropy(..., reduction='none').mean(1).mean(1)``
    with ``l.sum().backward()``: :func:`train_step` backpropagates the *sum*, so the gradient
    grows with the batch size. Here ignored pixels add 0 but still count in each image's mean
    (d2l trains them as background instead).

    Parameters
    ----------
    logits, target, ignore_index
        As :func:`loss_fn`.

    Returns
    -------
    Tensor
        Shape ``(B,)``.

    Examples
    --------
    >>> logits = torch.zeros(2, 4, 1, 2)
    >>> d2l_loss(logits, torch.tensor([[[1, 255]], [[0, 3]]])).numpy().round(4)
    array([0.6931, 1.3863], dtype=float32)
    """
    _check_logits(logits, target)
    per_pixel = F.cross_entropy(logits.float(), target, ignore_index=ignore_index,
                                reduction="none")
    return per_pixel.mean(1).mean(1)


_LOSSES: dict[str, Callable[..., Tensor]] = {"mean": loss_fn, "d2l": d2l_loss}


def _autocast(device_type: str, amp_dtype: torch.dtype | None) -> torch.autocast:
    if amp_dtype not in (None, torch.bfloat16):
        raise ValueError(
            f"amp_dtype must be None or torch.bfloat16, got {amp_dtype}; float16 autocast "
            "needs a GradScaler, which this loop does not use"
        )
    return torch.autocast(device_type, dtype=amp_dtype or torch.bfloat16,
                          enabled=amp_dtype is not None)


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


def _step(net: nn.Module, X: Tensor, Y: Tensor, optimizer: torch.optim.Optimizer,
          amp_dtype: torch.dtype | None, criterion: Callable[..., Tensor]) -> tuple[Tensor, Tensor]:
    """One optimisation step; returns (detached mean loss, detached logits)."""
    net.train()
    optimizer.zero_grad(set_to_none=True)
    with _autocast(X.device.type, amp_dtype):
        logits = net(X)
        loss = criterion(logits, Y)
    loss.sum().backward()
    optimizer.step()
    return loss.detach().float().mean(), logits.detach()


def train_step(
    net: nn.Module,
    X: Tensor,
    Y: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    amp_dtype: torch.dtype | None = None,
    criterion: Callable[..., Tensor] = loss_fn,
) -> Tensor:
    """Forward, loss, backward and optimizer step on one batch.

    Parameters
    ----------
    net : nn.Module
        Maps ``Bx3xHxW`` to logits ``BxCxHxW``; put in training mode.
    X, Y : Tensor
        Images ``Bx3xHxW`` and int64 labels ``BxHxW`` on the model's device.
    optimizer : torch.optim.Optimizer
    amp_dtype : torch.dtype, optional
        ``torch.bfloat16`` runs forward and loss under autocast; None runs in full precision.
    criterion : callable, default :func:`loss_fn`
        ``criterion(logits, Y)`` returning a scalar or per-sample losses (backward runs on
        their sum, as d2l's ``l.sum().backward()``).

    Returns
    -------
    Tensor
        The loss (mean of the criterion's values), detached, on the device: reading it with
        ``.item()`` is the caller's choice of when to synchronise.

    Raises
    ------
    ValueError
        If ``amp_dtype`` is neither None nor ``torch.bfloat16``.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> X, Y = torch.zeros(1, 3, 2, 2), torch.ones(1, 2, 2, dtype=torch.long)
    >>> first = train_step(net, X, Y, opt)
    >>> bool(train_step(net, X, Y, opt) < first)
    True
    """
    return _step(net, X, Y, optimizer, amp_dtype, criterion)[0]


def _bare(net: nn.Module) -> nn.Module:
    """The module inside ``torch.compile`` and ``DistributedDataParallel`` wrappers."""
    while True:
        if isinstance(net, nn.parallel.DistributedDataParallel):
            net = net.module
        elif isinstance(getattr(net, "_orig_mod", None), nn.Module):
            net = net._orig_mod
        else:
            return net


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _rank() -> int:
    return dist.get_rank() if _distributed() else 0


def setup_distributed(device_type: str = "cuda") -> tuple[int, int, int]:
    """Join the process group when launched by torchrun with ``WORLD_SIZE > 1``.

    Parameters
    ----------
    device_type : {"cuda", "cpu"}
        ``"cuda"`` uses NCCL and selects GPU ``LOCAL_RANK``; ``"cpu"`` uses gloo.

    Returns
    -------
    rank, world_size, local_rank : int
        ``(0, 1, 0)`` in a plain single process (``WORLD_SIZE`` unset or 1).

    Examples
    --------
    >>> setup_distributed("cpu") if "WORLD_SIZE" not in os.environ else (0, 1, 0)
    (0, 1, 0)
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1, 0
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return rank, world_size, local_rank


def wrap_ddp(net: nn.Module, device: str | torch.device) -> nn.Module:
    """``DistributedDataParallel(net)`` inside a process group of several, else ``net`` itself.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> wrap_ddp(net, "cpu") is net  # no process group: a plain module
    True
    """
    if not _distributed():
        return net
    device = torch.device(device)
    if device.type != "cuda":
        return nn.parallel.DistributedDataParallel(net)
    index = device.index if device.index is not None else torch.cuda.current_device()
    return nn.parallel.DistributedDataParallel(net, device_ids=[index])


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
    kwargs: dict[str, Any] = {"lr": recipe.lr, "momentum": recipe.momentum,
                              "weight_decay": recipe.weight_decay}
    fused_ok = "fused" in inspect.signature(torch.optim.SGD).parameters
    if recipe.on(device).fused and fused_ok:
        kwargs["fused"] = True
    return torch.optim.SGD(net.parameters(), **kwargs)


def _to_device(X: Tensor, Y: Tensor, device: torch.device,
               channels_last: bool) -> tuple[Tensor, Tensor]:
    X = X.to(device, non_blocking=True)
    if channels_last:
        X = X.contiguous(memory_format=torch.channels_last)
    return X, Y.to(device, non_blocking=True)


class _EpochMeter:
    """Loss/accuracy sums kept on the device (no sync per step); also the first bad loss."""

    def __init__(self, device: torch.device, epoch: int) -> None:
        self.epoch, self.steps, self.images = epoch, 0, 0
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, labelled
        self.bad = torch.full((2,), -1.0, dtype=torch.float64, device=device)  # step, value

    def update(self, loss: Tensor, logits: Tensor, Y: Tensor) -> None:
        keep = Y != IGNORE_INDEX
        correct = ((logits.argmax(1) == Y) & keep).sum()
        loss64 = loss.double()
        self.sums += torch.stack([loss64, correct.double(), keep.sum().double()])
        new_bad = ~torch.isfinite(loss64) & (self.bad[0] < 0)
        here = torch.stack([torch.full_like(loss64, self.steps + 1), loss64])
        self.bad = torch.where(new_bad, here, self.bad)
        self.steps += 1
        self.images += Y.shape[0]

    def check(self, optimizer: torch.optim.Optimizer) -> None:
        """Raise :class:`NonFiniteLossError` if a step so far had a NaN or infinite loss."""
        step, value = self.bad.tolist()
        if step >= 0:
            lr = optimizer.param_groups[0]["lr"]
            raise NonFiniteLossError(
                f"loss is {value} at epoch {self.epoch} step {int(step)}; lower --lr (now "
                f"{lr:g}), check that labels are class indices below num_classes or 255, or "
                "train in float32 (--recipe d2l)"
            )

    def totals(self) -> tuple[float, float, int]:
        """(mean loss per step, pixel accuracy, images), summed over processes under DDP."""
        sums = torch.cat([self.sums, self.sums.new_tensor([self.steps, self.images])])
        if _distributed():
            dist.all_reduce(sums)
        loss_sum, correct, labelled, steps, images = sums.tolist()
        return loss_sum / max(steps, 1), correct / max(labelled, 1), int(images)


def _train_epoch(net: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer,
                 device: torch.device, recipe: Recipe, meter: _EpochMeter,
                 bar: Any) -> None:
    criterion = _LOSSES[recipe.loss]
    for X, Y in loader:
        X, Y = _to_device(X, Y, device, recipe.channels_last)
        loss, logits = _step(net, X, Y, optimizer, recipe.torch_amp_dtype, criterion)
        meter.update(loss, logits, Y)
        bar.update(1)
        if meter.steps % _CHECK_EVERY == 0:
            meter.check(optimizer)  # the one host sync: every _CHECK_EVERY steps
            if not bar.disable:
                bar.set_postfix(loss=f"{meter.sums[0].item() / meter.steps:.4f}")
    meter.check(optimizer)


def _set_epoch(loader: Any, epoch: int) -> None:
    """Tell a DeviceSegLoader or a DistributedSampler which epoch comes next."""
    target = loader if hasattr(loader, "set_epoch") else getattr(loader, "sampler", None)
    if hasattr(target, "set_epoch"):
        target.set_epoch(epoch)


def _check_epochs(epochs: int, start_epoch: int) -> None:
    if not (isinstance(epochs, int) and isinstance(start_epoch, int) and 0 <= start_epoch
            and epochs >= 1):
        raise ValueError(
            f"need epochs >= 1 and start_epoch >= 0, got epochs={epochs!r}, "
            f"start_epoch={start_epoch!r}; epochs is the total, start_epoch the epochs done"
        )


def _history_row(meter: _EpochMeter, scores: dict[str, Any], optimizer: torch.optim.Optimizer,
                 train_seconds: float, seconds: float) -> dict[str, Any]:
    loss, acc, images = meter.totals()
    return {"epoch": meter.epoch, "train_loss": loss, "train_acc": acc, **scores,
            "lr": optimizer.param_groups[0]["lr"], "train_seconds": train_seconds,
            "seconds": seconds, "img_per_s": images / max(train_seconds, 1e-9)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def evaluate(
    net: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    *,
    num_classes: int,
    device: str | torch.device,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool = False,
) -> dict[str, Any]:
    """Segmentation scores of ``net`` over every batch of ``loader``.

    One confusion matrix is accumulated on the device (summed over processes under DDP)
    and turned into scores by :func:`transconv.metrics.segmentation_scores`.

    Parameters
    ----------
    net : nn.Module
        Maps ``Bx3xHxW`` to ``BxCxHxW`` logits; put in eval mode.
    loader : iterable of (Tensor, Tensor)
        Batches of images and int64 labels (255 = ignore).
    num_classes : int
    device : str or torch.device
    amp_dtype : torch.dtype, optional
        ``torch.bfloat16`` to run the forward pass under autocast.
    channels_last : bool, default False
        Convert batches to ``channels_last`` first.

    Returns
    -------
    dict
        ``pixel_acc``, ``mean_acc``, ``mean_iou``, ``fw_iou`` and per-class ``iou``.

    Raises
    ------
    ValueError
        If the loader yields no labelled pixel, or a label is out of range.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> batch = (torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 2, dtype=torch.long))
    >>> sorted(evaluate(net, [batch], num_classes=2, device="cpu"))
    ['fw_iou', 'iou', 'mean_acc', 'mean_iou', 'pixel_acc']
    """
    device = torch.device(device)
    net = _bare(net) if _distributed() else net  # every rank sees its own shard: no DDP sync
    net.eval()
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    for X, Y in loader:
        X, Y = _to_device(X, Y, device, channels_last)
        with _autocast(device.type, amp_dtype):
            logits = net(X)
        cm += confusion_matrix(logits.argmax(1), Y, num_classes)
    if _distributed():
        dist.all_reduce(cm)
    return segmentation_scores(cm)


def train(
    net: nn.Module,
    train_iter: Iterable[tuple[Tensor, Tensor]],
    test_iter: Iterable[tuple[Tensor, Tensor]],
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: str | torch.device,
    num_classes: int,
    recipe: Recipe | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    config: dict[str, Any] | None = None,
    start_epoch: int = 0,
    history: Sequence[dict[str, Any]] | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train for epochs ``start_epoch + 1 .. epochs``, evaluating and checkpointing each one.

    After every epoch the history gets one row (``epoch``, ``train_loss``, ``train_acc``, the
    test scores of :func:`evaluate`, ``lr``, ``train_seconds``, ``seconds``, ``img_per_s``) and,
    on rank 0, the checkpoint is rewritten atomically (:func:`save_checkpoint`). To resume, load
    it with :func:`load_checkpoint` and pass ``start_epoch=state["epoch"]`` and
    ``history=state["history"]``. Multi-GPU: see the module docstring (torchrun).

    Parameters
    ----------
    net : nn.Module
        The model, already on ``device`` (and wrapped by :func:`wrap_ddp` under torchrun).
    train_iter, test_iter : iterable of (Tensor, Tensor)
        Batches of images ``Bx3xHxW`` and int64 labels ``BxHxW`` (255 = ignore).
    epochs : int
        Total number of epochs, counting the ``start_epoch`` already done.
    optimizer : torch.optim.Optimizer
    device : str or torch.device
    num_classes : int
    recipe : Recipe, optional
        Loss, autocast and memory format (as run on ``device``); default: float32, NCHW,
        :func:`loss_fn`.
    checkpoint_path : path, optional
        Where to write the checkpoint after each epoch.
    config : dict, optional
        Stored in the checkpoint (the CLI stores model name, num_classes, recipe, arguments).
    start_epoch : int, default 0
        Epochs already done.
    history : list of dict, optional
        Rows of the epochs already done.
    progress : bool, default True
        Show a tqdm bar per epoch and a summary line (rank 0 only).
    on_epoch_end : callable, optional
        Called with each new history row after the checkpoint is written.

    Returns
    -------
    list of dict
        The history, earlier rows first.

    Raises
    ------
    NonFiniteLossError
        When a step's loss is NaN or infinite; names the epoch and step.
    ValueError
        If ``epochs``/``start_epoch`` are not valid counts.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> _ = nn.init.zeros_(net.weight)
    >>> batch = (torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0)),
    ...          torch.ones(2, 4, 4, dtype=torch.long))
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.5)
    >>> hist = train(net, [batch], [batch], epochs=2, optimizer=opt, device="cpu",
    ...              num_classes=2, progress=False)
    >>> [row["epoch"] for row in hist], hist[-1]["pixel_acc"]
    ([1, 2], 1.0)
    """
    _check_epochs(epochs, start_epoch)
    device = torch.device(device)
    recipe = (recipe or Recipe("plain", lr=optimizer.param_groups[0]["lr"])).on(device)
    history = list(history or [])
    show = progress and _rank() == 0
    # autotuning when the recipe asks; otherwise the process's own setting stays in force
    autotune = cudnn_autotune(True) if recipe.cudnn_benchmark else contextlib.nullcontext()
    with autotune:
        for epoch in range(start_epoch + 1, epochs + 1):
            row = _fit_epoch(net, train_iter, test_iter, optimizer, device=device, recipe=recipe,
                             epoch=epoch, epochs=epochs, num_classes=num_classes, show=show)
            history.append(row)
            if checkpoint_path is not None and _rank() == 0:
                save_checkpoint(checkpoint_path, net, optimizer, epoch=epoch, history=history,
                                config=config)
            if show:
                tqdm.write(_summary(row, epochs))
            if on_epoch_end is not None:
                on_epoch_end(row)
    return history


def _fit_epoch(net: nn.Module, train_iter: Iterable, test_iter: Iterable,
               optimizer: torch.optim.Optimizer, *, device: torch.device, recipe: Recipe,
               epoch: int, epochs: int, num_classes: int, show: bool) -> dict[str, Any]:
    """Train one epoch, then evaluate; return the epoch's history row."""
    _set_epoch(train_iter, epoch - 1)
    meter = _EpochMeter(device, epoch)
    _sync(device)  # the clock starts with an idle GPU
    start = time.perf_counter()
    total = len(train_iter) if hasattr(train_iter, "__len__") else None
    with tqdm(total=total, desc=f"epoch {epoch}/{epochs}", disable=not show,
              leave=False, dynamic_ncols=True) as bar:
        _train_epoch(net, train_iter, optimizer, device, recipe, meter, bar)
    _sync(device)
    train_seconds = time.perf_counter() - start
    _set_epoch(test_iter, 0)  # a DeviceSegLoader then evaluates the same crops every epoch
    scores = evaluate(net, test_iter, num_classes=num_classes, device=device,
                      amp_dtype=recipe.torch_amp_dtype, channels_last=recipe.channels_last)
    return _history_row(meter, scores, optimizer, train_seconds, time.perf_counter() - start)


def _summary(row: dict[str, Any], epochs: int) -> str:
    return (f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}, train acc "
            f"{row['train_acc']:.3f}, test acc {row['pixel_acc']:.3f}, mIoU "
            f"{row['mean_iou']:.3f}, {row['img_per_s']:.1f} img/s, {row['seconds']:.1f} s")


def save_checkpoint(
    path: str | os.PathLike,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    history: Sequence[dict[str, Any]],
    config: dict[str, Any] | None = None,
) -> Path:
    """Write model, optimizer, epoch, history and config atomically.

    ``torch.save`` writes a temporary file in the same directory, which ``os.replace`` then
    renames over ``path`` in one step: an interruption leaves the previous checkpoint whole.

    Parameters
    ----------
    path : path
    net : nn.Module
        Saved without its ``torch.compile``/DDP wrappers, so any copy of the plain model loads it.
    optimizer : torch.optim.Optimizer
    epoch : int
        Epochs finished.
    history : list of dict
    config : dict, optional
        Plain data (str, numbers, lists, dicts) describing the run.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(Path(tmp) / "ckpt.pt", net, opt, epoch=1, history=[])
    ...     sorted(load_checkpoint(path))
    ['config', 'epoch', 'history', 'model', 'optimizer']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"model": _bare(net).state_dict(), "optimizer": optimizer.state_dict(),
             "epoch": epoch, "history": list(history), "config": dict(config or {})}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    net: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint of :func:`save_checkpoint`; load it into ``net``/``optimizer`` if given.

    Parameters
    ----------
    path : path
    net : nn.Module, optional
    optimizer : torch.optim.Optimizer, optional
    map_location : str or torch.device, default "cpu"

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``epoch``, ``history``, ``config``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.

    Examples
    --------
    >>> load_checkpoint("no/such/checkpoint.pt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: checkpoint no/such/checkpoint.pt not found; ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} not found; `transconv train --out DIR` writes DIR/checkpoint.pt"
        )
    state = torch.load(path, map_location=map_location, weights_only=True)
    if net is not None:
        _bare(net).load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state


def _tile_starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile origins along one axis: step ``tile * (1 - overlap)``, the last tile flush with the end.

    Examples
    --------
    >>> _tile_starts(10, 4, 0.5), _tile_starts(4, 4, 0.5), _tile_starts(9, 4, 0.0)
    ([0, 2, 4, 6], [0], [0, 4, 5])
    """
    step = max(1, int(tile * (1 - overlap)))
    return list(range(0, length - tile, step)) + [length - tile]


def _check_predict_args(image: Tensor, tile_size: Sequence[int], overlap: float,
                        batch_size: int) -> tuple[int, int]:
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(
            f"image must be a uint8 tensor 3xHxW (as torchvision.io.read_image returns), got "
            f"dtype {image.dtype} and shape {tuple(image.shape)}"
        )
    tile = tuple(tile_size)
    if len(tile) != 2 or not all(isinstance(v, int) and v > 0 for v in tile):
        raise ValueError(f"tile_size must be two positive ints (h, w), got {tile_size!r}")
    if not 0 <= overlap < 1:
        raise ValueError(
            f"overlap must be a fraction of the tile in [0, 1), got {overlap}; 0.25 overlaps "
            "neighbouring tiles by a quarter"
        )
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return tile  # type: ignore[return-value]


def _tile_logits(net: nn.Module, X: Tensor, tile: tuple[int, int],
                 boxes: list[tuple[int, int]], batch_size: int) -> tuple[Tensor, Tensor]:
    """Sum of the tiles' logits over the padded image, and how many tiles cover each pixel."""
    (th, tw), (_, H, W) = tile, X.shape
    logit_sum, count = None, torch.zeros(1, H, W, device=X.device)
    for i in range(0, len(boxes), batch_size):
        chunk = boxes[i:i + batch_size]
        out = net(torch.stack([X[:, t:t + th, l:l + tw] for t, l in chunk])).float()
        if out.shape[-2:] != (th, tw):
            raise ValueError(
                f"the network maps a {th}x{tw} tile to {tuple(out.shape[-2:])} logits; predict "
                "needs outputs of the input's size (an FCN)"
            )
        if logit_sum is None:
            logit_sum = torch.zeros(out.shape[1], H, W, device=X.device)
        for (t, l), tile_logits in zip(chunk, out):
            logit_sum[:, t:t + th, l:l + tw] += tile_logits
            count[:, t:t + th, l:l + tw] += 1
    return logit_sum, count


@torch.no_grad()
def predict(
    net: nn.Module,
    image: Tensor,
    *,
    tile_size: Sequence[int] = (320, 480),
    overlap: float = 0.25,
    device: str | torch.device | None = None,
    batch_size: int = 4,
) -> Tensor:
    """Label every pixel of an image of any size with overlapping tiles.

    The image is normalised (:func:`~transconv.data.voc.normalize_image`). An image smaller
    than the tile is zero-padded at the bottom/right *after* normalisation, i.e. with the
    ImageNet mean colour, a neutral grey (reflection would fail for images less than half the
    tile), and the padding is cropped away at the end. A larger image is covered by tiles
    whose origins step by ``tile * (1 - overlap)``, the last flush with the edge; each pixel's
    logits are averaged over the tiles that cover it, then the argmax is taken. Sizes need
    not be multiples of 32.

    Parameters
    ----------
    net : nn.Module
        Maps ``Bx3xhxw`` to ``BxCxhxw`` logits (any FCN); run in eval mode, mode restored after.
    image : Tensor
        uint8 ``3xHxW``.
    tile_size : (int, int), default (320, 480)
        Tile height and width (d2l's crop size).
    overlap : float, default 0.25
        Fraction of the tile that neighbouring tiles share, in ``[0, 1)``.
    device : str or torch.device, optional
        Where to run; default: the device of ``net``'s first parameter.
    batch_size : int, default 4
        Tiles per forward pass.

    Returns
    -------
    Tensor
        int64 ``HxW`` class indices, on the CPU.

    Raises
    ------
    ValueError
        For a non-uint8 or non-3xHxW image, a bad ``tile_size``/``overlap``/``batch_size``, or
        a network whose output size differs from its input's.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> image = torch.zeros(3, 50, 70, dtype=torch.uint8)
    >>> predict(net, image, tile_size=(32, 32)).shape
    torch.Size([50, 70])
    """
    tile = _check_predict_args(image, tile_size, overlap, batch_size)
    if device is None:
        device = next(iter(net.parameters()), torch.empty(0)).device
    H, W = image.shape[1:]
    X = normalize_image(image).to(device)
    X = F.pad(X, (0, max(tile[1] - W, 0), 0, max(tile[0] - H, 0)))
    boxes = [(t, left) for t in _tile_starts(X.shape[1], tile[0], overlap)
             for left in _tile_starts(X.shape[2], tile[1], overlap)]
    was_training = net.training
    net.eval()
    try:
        logit_sum, count = _tile_logits(net, X, tile, boxes, batch_size)
    finally:
        net.train(was_training)
    return (logit_sum / count).argmax(0)[:H, :W].cpu()


def _shard(dataset: Any, rank: int, world_size: int) -> Any:
    """Every ``world_size``-th example from ``rank`` (an exact split for evaluation)."""
    if world_size == 1:
        return dataset
    return torch.utils.data.Subset(dataset, range(rank, len(dataset), world_size))


def _dataloaders(voc_dir: Path, *, batch_size: int, crop_size: tuple[int, int],
                 device: torch.device, seed: int, num_workers: int, rank: int,
                 world_size: int) -> tuple[Any, Any]:
    """d2l's pipeline: VOCSegDataset crops on the CPU, a DataLoader (sharded under DDP)."""
    from torch.utils.data import DataLoader, DistributedSampler

    from transconv.data.voc import VOCSegDataset

    gen = torch.Generator().manual_seed
    train_set = VOCSegDataset(True, crop_size, voc_dir, generator=gen(seed + 1 + rank),
                              verbose=rank == 0)
    test_set = VOCSegDataset(False, crop_size, voc_dir, generator=gen(seed + 2 + rank),
                             verbose=rank == 0)
    for name, data, need in (("training", train_set, batch_size * world_size),
                             ("validation", test_set, world_size)):
        if data.num_kept < need:
            raise ValueError(
                f"crop {crop_size[0]}x{crop_size[1]} keeps {data.num_kept} of "
                f"{data.num_kept + data.num_dropped} {name} images, fewer than the {need} "
                "needed (batch size x processes); use a smaller --crop or --batch-size"
            )
    sampler = (DistributedSampler(train_set, world_size, rank, seed=seed, drop_last=True)
               if world_size > 1 else None)
    common = {"batch_size": batch_size, "num_workers": num_workers,
              "pin_memory": device.type == "cuda", "persistent_workers": num_workers > 0}
    train_iter = DataLoader(train_set, shuffle=sampler is None, sampler=sampler,
                            drop_last=True, generator=gen(seed), **common)
    test_iter = DataLoader(_shard(test_set, rank, world_size), **common)
    return train_iter, test_iter


def make_loaders(
    voc_dir: str | os.PathLike,
    recipe: Recipe,
    *,
    batch_size: int,
    crop_size: Sequence[int],
    device: str | torch.device,
    seed: int = 0,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
) -> tuple[Any, Any]:
    """Training and validation batches of a VOC-format tree, the way ``recipe`` asks.

    ``recipe.loader == "dataloader"``: d2l's pipeline (``VOCSegDataset`` random crops in a
    ``DataLoader``, ``DistributedSampler`` under DDP). ``"device"``: two
    :class:`~transconv.data.gpu.DeviceSegLoader` holding the decoded images on ``device``.
    Both drop images smaller than the crop and evaluate on random crops of the validation
    images, as d2l does.

    Parameters
    ----------
    voc_dir : path
        A ``VOCdevkit/VOC2012`` directory (real or synthetic).
    recipe : Recipe
    batch_size : int
        Per process.
    crop_size : (int, int)
    device : str or torch.device
    seed : int, default 0
        Seeds shuffling and crops.
    num_workers : int, default 0
        DataLoader workers (ignored by the device loader).
    rank, world_size : int
        This process's shard under DDP.

    Returns
    -------
    train_iter, test_iter

    Raises
    ------
    ValueError
        If the crop leaves fewer training images than one batch per process, or no
        validation image.
    FileNotFoundError
        If the VOC tree is incomplete.

    Examples
    --------
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc = make_synthetic_voc(tmp, num_train=4, num_val=2, size=(40, 48))
    ...     train_iter, test_iter = make_loaders(voc, RECIPES["fast"], batch_size=2,
    ...                                          crop_size=(32, 32), device="cpu")
    >>> X, Y = next(iter(train_iter))
    >>> X.shape, Y.dtype, len(train_iter)
    (torch.Size([2, 3, 32, 32]), torch.int64, 2)
    """
    device, crop = torch.device(device), (int(crop_size[0]), int(crop_size[1]))
    recipe = recipe.on(device)
    if recipe.loader == "dataloader":
        return _dataloaders(Path(voc_dir), batch_size=batch_size, crop_size=crop, device=device,
                            seed=seed, num_workers=num_workers, rank=rank, world_size=world_size)
    from transconv.data.gpu import DeviceSegLoader

    common = {"crop_size": crop, "batch_size": batch_size, "device": device, "seed": seed,
              "channels_last": recipe.channels_last, "rank": rank, "world_size": world_size}
    train_iter = DeviceSegLoader.from_voc(voc_dir, True, **common)
    test_iter = DeviceSegLoader.from_voc(voc_dir, False, shuffle=False, drop_last=False,
                                         **{**common, "seed": seed + 1})
    return train_iter, test_iter
