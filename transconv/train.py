"""Train and evaluate fully convolutional networks: the step, the epoch loop, evaluation.

The pieces around the loop live in their own modules and are re-exported here, so
`from transconv.train import X` keeps working for every name it ever offered:
`transconv.recipes` (what to run, with its learning-rate schedule), `transconv.losses`,
`transconv.distributed` (torchrun/DDP plumbing), `transconv.checkpoint` and
`transconv.tiling` (tiled `predict`). The batches come from `transconv.data.loaders`
(`make_loaders` still answers here, with a `FutureWarning`).

The loop reads nothing back from the GPU between steps except a NaN check every 20 steps,
which every rank takes together under DDP (see `transconv.distributed`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.optim.lr_scheduler import LRScheduler
from tqdm import tqdm  # text bars: tqdm.auto would need ipywidgets inside notebooks

from transconv._moved import moved_names
from transconv.checkpoint import load_checkpoint, remove_partial_checkpoints, save_checkpoint
from transconv.data.labels import IGNORE_INDEX
from transconv.data.loaders import set_loader_epoch
from transconv.distributed import (
    any_rank,
    broadcast_buffers,
    get_rank,
    get_world_size,
    is_distributed,
    setup_distributed,
    unwrap_model,
    wrap_ddp,
)
from transconv.losses import LOSSES, d2l_loss, loss_fn
from transconv.metrics import confusion_matrix, segmentation_scores
from transconv.recipes import (
    RECIPES,
    Recipe,
    autocast,
    cudnn_autotune,
    make_optimizer,
    make_schedule,
)
from transconv.tiling import predict

__all__ = [
    "NonFiniteLossError",
    "RECIPES",
    "Recipe",
    "cudnn_autotune",
    "d2l_loss",
    "evaluate",
    "load_checkpoint",
    "loss_fn",
    "make_optimizer",
    "predict",
    "save_checkpoint",
    "setup_distributed",
    "train",
    "train_step",
    "wrap_ddp",
]

_CHECK_EVERY = 20  # steps between host syncs that look for a non-finite loss
_KINDS = ("nan", "inf", "-inf")  # how a bad loss is sent between ranks: its index here


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss (or weights); raised on every rank alike."""


def train_step(
    net: nn.Module,
    X: Tensor,
    Y: Tensor,
    optimizer: torch.optim.Optimizer,
    *,
    amp_dtype: torch.dtype | None = None,
    criterion: Callable[..., Tensor] = loss_fn,
    return_logits: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Forward, loss, backward and optimizer step on one batch, without a host sync.

    Parameters
    ----------
    net : nn.Module
        Maps images to logits; put in training mode.
    X : Tensor
        Images ``(B, 3, H, W)`` on the model's device.
    Y : Tensor
        int64 labels ``(B, H, W)`` on the same device (255 = ignore).
    optimizer : torch.optim.Optimizer
        Steps ``net``'s parameters.
    amp_dtype : torch.dtype, optional
        ``torch.bfloat16`` runs forward and loss under autocast; None (default) runs in full
        precision.
    criterion : callable, optional
        ``criterion(logits, Y)`` returning a scalar or per-sample losses (backward runs on
        their sum, as d2l's ``l.sum().backward()``); default
        [`loss_fn`][transconv.losses.loss_fn].
    return_logits : bool, default False
        Also return the detached logits (the loop scores training accuracy with them).

    Returns
    -------
    Tensor or (Tensor, Tensor)
        The loss (mean of the criterion's values), detached, on the device: reading it with
        ``.item()`` is the caller's choice of when to synchronise; with ``return_logits`` also
        the logits ``(B, C, H, W)``.

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
    net.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast(X.device.type, amp_dtype):
        logits = net(X)
        loss = criterion(logits, Y)
    loss.sum().backward()
    optimizer.step()
    mean = loss.detach().float().mean()
    return (mean, logits.detach()) if return_logits else mean


def _to_device(
    X: Tensor, Y: Tensor, device: torch.device, channels_last: bool
) -> tuple[Tensor, Tensor]:
    X = X.to(device, non_blocking=True)
    if channels_last:
        X = X.contiguous(memory_format=torch.channels_last)
    return X, Y.to(device, non_blocking=True)


def _first_bad_step(bad: Tensor) -> tuple[int, int, int] | None:
    """(step, rank, kind) of the earliest bad loss on any rank, the same answer on every rank.

    Each rank writes its own row of a (world size, 2) table and one all_reduce (max) fills in
    the others' rows (the other entries are -1): a flag and its details in one collective.
    """
    rows = bad.new_full((get_world_size(), 2), -1.0)
    rows[get_rank()] = bad
    if is_distributed():
        dist.all_reduce(rows, op=dist.ReduceOp.MAX)
    found = [(int(s), r, int(k)) for r, (s, k) in enumerate(rows.tolist()) if s >= 0]
    return min(found) if found else None


class _EpochMeter:
    """Loss/accuracy sums kept on the device (no sync per step); also the first bad loss."""

    def __init__(self, device: torch.device, epoch: int) -> None:
        self.epoch, self.steps, self.images = epoch, 0, 0
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss, correct, labelled
        self.bad = torch.full((2,), -1.0, dtype=torch.float64, device=device)  # step, kind

    def update(self, loss: Tensor, logits: Tensor, Y: Tensor) -> None:
        keep = Y != IGNORE_INDEX
        correct = ((logits.argmax(1) == Y) & keep).sum()
        loss64 = loss.double()
        self.sums += torch.stack([loss64, correct.double(), keep.sum().double()])
        new_bad = ~torch.isfinite(loss64) & (self.bad[0] < 0)
        kind = torch.where(loss64.isnan(), 0.0, torch.where(loss64 > 0, 1.0, 2.0))
        here = torch.stack([torch.full_like(loss64, self.steps + 1), kind.double()])
        self.bad = torch.where(new_bad, here, self.bad)
        self.steps += 1
        self.images += Y.shape[0]

    def check(self, optimizer: torch.optim.Optimizer) -> None:
        """Raise NonFiniteLossError on every rank if any rank's loss was NaN or infinite."""
        first = _first_bad_step(self.bad)  # a collective: every rank calls it at the same step
        if first is None:
            return
        step, rank, kind = first
        where = f" on rank {rank} of {get_world_size()}" if is_distributed() else ""
        lr = optimizer.param_groups[0]["lr"]
        raise NonFiniteLossError(
            f"loss is {_KINDS[kind]} at epoch {self.epoch} step {step}{where}; lower --lr (now "
            f"{lr:g}), check that labels are class indices below num_classes or 255, or "
            "train in float32 (--recipe d2l)"
        )

    def totals(self) -> tuple[float, float, int]:
        """(mean loss per step, pixel accuracy, images), summed over processes under DDP."""
        sums = torch.cat([self.sums, self.sums.new_tensor([self.steps, self.images])])
        if is_distributed():
            dist.all_reduce(sums)
        loss_sum, correct, labelled, steps, images = sums.tolist()
        return loss_sum / max(steps, 1), correct / max(labelled, 1), int(images)


def _check_weights(net: nn.Module, epoch: int, optimizer: torch.optim.Optimizer) -> None:
    """Refuse to go on (and to checkpoint) with non-finite weights, on every rank alike."""
    params = [p for p in unwrap_model(net).parameters()]
    if not params:
        return
    bad = torch.stack([~torch.isfinite(p).all() for p in params]).any()
    if any_rank(bad, params[0].device):
        lr = optimizer.param_groups[0]["lr"]
        raise NonFiniteLossError(
            f"weights are not finite after epoch {epoch} although its losses were; lower --lr "
            f"(now {lr:g}) or train in float32 (--recipe d2l)"
        )


def _train_epoch(
    net: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    recipe: Recipe,
    meter: _EpochMeter,
    bar: Any,
    scheduler: LRScheduler,
) -> None:
    criterion = LOSSES[recipe.loss]
    for X, Y in loader:
        X, Y = _to_device(X, Y, device, recipe.channels_last)
        loss, logits = train_step(
            net,
            X,
            Y,
            optimizer,
            amp_dtype=recipe.torch_amp_dtype,
            criterion=criterion,
            return_logits=True,
        )
        scheduler.step()
        meter.update(loss, logits, Y)
        bar.update(1)
        if meter.steps % _CHECK_EVERY == 0:
            meter.check(optimizer)  # the one host sync: every _CHECK_EVERY steps
            if not bar.disable:
                bar.set_postfix(loss=f"{meter.sums[0].item() / meter.steps:.4f}")
    meter.check(optimizer)


def _check_epochs(epochs: int, start_epoch: int) -> None:
    if not (
        isinstance(epochs, int)
        and isinstance(start_epoch, int)
        and 0 <= start_epoch
        and epochs >= 1
    ):
        raise ValueError(
            f"need epochs >= 1 and start_epoch >= 0, got epochs={epochs!r}, "
            f"start_epoch={start_epoch!r}; epochs is the total, start_epoch the epochs done"
        )


def _history_row(
    meter: _EpochMeter,
    scores: dict[str, Any],
    optimizer: torch.optim.Optimizer,
    train_seconds: float,
    seconds: float,
) -> dict[str, Any]:
    loss, acc, images = meter.totals()
    return {
        "epoch": meter.epoch,
        "train_loss": loss,
        "train_acc": acc,
        **scores,
        "lr": optimizer.param_groups[0]["lr"],
        "train_seconds": train_seconds,
        "seconds": seconds,
        "img_per_s": images / max(train_seconds, 1e-9),
    }


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

    One confusion matrix is accumulated on the device and turned into scores by
    [`segmentation_scores`][transconv.metrics.segmentation_scores]. Under DDP each rank scores
    its own shard (give every rank a different, exact shard, as
    [`make_loaders`][transconv.data.loaders.make_loaders] does), the matrices are summed, and
    rank 0's BatchNorm statistics are first broadcast to every rank
    ([`broadcast_buffers`][transconv.distributed.broadcast_buffers]), so every rank evaluates
    the model that rank 0 checkpoints.

    Parameters
    ----------
    net : nn.Module
        Maps images ``(B, 3, H, W)`` to logits ``(B, C, H, W)``; put in eval mode.
    loader : iterable of (Tensor, Tensor)
        Batches of images and int64 labels ``(B, H, W)`` (255 = ignore).
    num_classes : int
        $C$, the size of the confusion matrix.
    device : str or torch.device
        Where the model runs.
    amp_dtype : torch.dtype, optional
        ``torch.bfloat16`` to run the forward pass under autocast; default None.
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
    if is_distributed():
        broadcast_buffers(net)
        net = unwrap_model(net)  # every rank sees its own shard: no DDP sync in the forward
    net.eval()
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64, device=device)
    for X, Y in loader:
        X, Y = _to_device(X, Y, device, channels_last)
        with autocast(device.type, amp_dtype):
            logits = net(X)
        cm += confusion_matrix(logits.argmax(1), Y, num_classes)
    if is_distributed():
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
    schedule_state: dict[str, Any] | None = None,
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train for epochs ``start_epoch + 1 .. epochs``, evaluating and checkpointing each one.

    After every epoch the history gets one row (``epoch``, ``train_loss``, ``train_acc``, the
    test scores of [`evaluate`][transconv.train.evaluate], ``lr``, ``train_seconds``,
    ``seconds``, ``img_per_s``) and, on rank 0, the checkpoint is rewritten atomically
    ([`save_checkpoint`][transconv.checkpoint.save_checkpoint]) — but only for an epoch whose
    losses and resulting weights are all finite, so a diverging run never replaces a good
    checkpoint. To resume, load it with [`load_checkpoint`][transconv.checkpoint.load_checkpoint]
    and pass ``start_epoch=state["epoch"]``, ``history=state["history"]`` and
    ``schedule_state=state.get("schedule")``: loaders with a ``set_epoch`` method (those of
    [`make_loaders`][transconv.data.loaders.make_loaders]) then draw the same batches as an
    uninterrupted run, the learning rate continues where it stopped, and validation sees the
    same crops every epoch.
    Multi-GPU: see the module `transconv.distributed`.

    Parameters
    ----------
    net : nn.Module
        The model, already on ``device`` (and wrapped by
        [`wrap_ddp`][transconv.distributed.wrap_ddp] under torchrun).
    train_iter : iterable of (Tensor, Tensor)
        Training batches: images ``(B, 3, H, W)`` and int64 labels ``(B, H, W)`` (255 = ignore).
        Before epoch ``e + 1``, ``set_epoch(e)`` is called on it, its sampler and its dataset,
        whichever have one ([`set_loader_epoch`][transconv.data.loaders.set_loader_epoch]).
    test_iter : iterable of (Tensor, Tensor)
        Validation batches, as ``train_iter``; epoch 0 is set before every evaluation.
    epochs : int
        Total number of epochs, counting the ``start_epoch`` already done.
    optimizer : torch.optim.Optimizer
        Steps ``net``'s parameters; its first group's ``lr`` is recorded in the history and
        set at every step by the recipe's schedule
        ([`make_schedule`][transconv.recipes.make_schedule], over ``epochs`` times
        ``len(train_iter)`` steps).
    device : str or torch.device
        Where batches are moved and the model runs.
    num_classes : int
        Classes scored by the evaluation (the model's output channels).
    recipe : Recipe, optional
        Loss, schedule, autocast and memory format (as run on ``device``); default: float32,
        NCHW, [`loss_fn`][transconv.losses.loss_fn], a constant learning rate.
    checkpoint_path : str or os.PathLike, optional
        Where to write the checkpoint after each epoch (rank 0 only); temporary files left
        there by a killed run are removed at the start. Default: no checkpoint.
    config : dict, optional
        Stored in the checkpoint (the CLI stores model name, num_classes, recipe, arguments).
    start_epoch : int, default 0
        Epochs already done.
    history : sequence of dict, optional
        Rows of the epochs already done.
    schedule_state : dict, optional
        The checkpoint's ``"schedule"`` entry when resuming; without it the schedule continues
        from ``start_epoch`` epochs of ``len(train_iter)`` steps.
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
        When a step's loss is NaN or infinite (the message names the epoch, the step and,
        under DDP, the rank; every rank raises it at the same check), or the weights are not
        finite at the end of an epoch.
    ValueError
        If ``epochs``/``start_epoch`` are not valid counts, or the schedule needs the number of
        steps and ``train_iter`` has no ``len``.

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
    show = progress and get_rank() == 0
    scheduler = _schedule(optimizer, recipe, train_iter, epochs, start_epoch, schedule_state)
    if checkpoint_path is not None and get_rank() == 0:
        remove_partial_checkpoints(checkpoint_path)  # left by a run killed while saving
    # autotuning when the recipe asks; otherwise the process's own setting stays in force
    autotune = cudnn_autotune(True) if recipe.cudnn_benchmark else contextlib.nullcontext()
    with autotune:
        for epoch in range(start_epoch + 1, epochs + 1):
            row = _fit_epoch(
                net,
                train_iter,
                test_iter,
                optimizer,
                device=device,
                recipe=recipe,
                epoch=epoch,
                epochs=epochs,
                num_classes=num_classes,
                show=show,
                scheduler=scheduler,
            )
            history.append(row)
            if checkpoint_path is not None and get_rank() == 0:
                save_checkpoint(
                    checkpoint_path,
                    net,
                    optimizer,
                    epoch=epoch,
                    history=history,
                    config=config,
                    schedule=scheduler.state_dict(),
                )
            if show:
                tqdm.write(_summary(row, epochs))
            if on_epoch_end is not None:
                on_epoch_end(row)
    return history


def _schedule(
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    train_iter: Iterable,
    epochs: int,
    start_epoch: int,
    state: dict[str, Any] | None,
) -> LRScheduler:
    """The recipe's schedule over the whole run, at the step where ``start_epoch`` ends."""
    if hasattr(train_iter, "__len__"):
        steps = len(train_iter)
    elif recipe.schedule == "constant":
        steps = 1  # a constant rate does not need to know
    else:
        raise ValueError(
            f"train_iter must have a len for the {recipe.schedule!r} schedule, got "
            f"{type(train_iter).__name__}; pass a DataLoader or a list of batches"
        )
    return make_schedule(
        optimizer,
        recipe,
        total_steps=max(epochs * steps, 1),
        state=state,
        done_steps=start_epoch * steps,  # where a straight run is when there is no state
    )


def _fit_epoch(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    optimizer: torch.optim.Optimizer,
    *,
    device: torch.device,
    recipe: Recipe,
    epoch: int,
    epochs: int,
    num_classes: int,
    show: bool,
    scheduler: LRScheduler,
) -> dict[str, Any]:
    """Train one epoch, check it stayed finite, then evaluate; return the epoch's history row."""
    set_loader_epoch(train_iter, epoch - 1)
    meter = _EpochMeter(device, epoch)
    _sync(device)  # the clock starts with an idle GPU
    start = time.perf_counter()
    total = len(train_iter) if hasattr(train_iter, "__len__") else None
    with tqdm(
        total=total,
        desc=f"epoch {epoch}/{epochs}",
        disable=not show,
        leave=False,
        dynamic_ncols=True,
    ) as bar:
        _train_epoch(net, train_iter, optimizer, device, recipe, meter, bar, scheduler)
    _sync(device)
    train_seconds = time.perf_counter() - start
    _check_weights(net, epoch, optimizer)  # before anything is evaluated or saved
    set_loader_epoch(test_iter, 0)  # fixed crops anyway; a loader of the caller may need it
    scores = evaluate(
        net,
        test_iter,
        num_classes=num_classes,
        device=device,
        amp_dtype=recipe.torch_amp_dtype,
        channels_last=recipe.channels_last,
    )
    return _history_row(meter, scores, optimizer, train_seconds, time.perf_counter() - start)


def _summary(row: dict[str, Any], epochs: int) -> str:
    return (
        f"epoch {row['epoch']}/{epochs}: loss {row['train_loss']:.4f}, train acc "
        f"{row['train_acc']:.3f}, test acc {row['pixel_acc']:.3f}, mIoU "
        f"{row['mean_iou']:.3f}, {row['img_per_s']:.1f} img/s, {row['seconds']:.1f} s"
    )


__getattr__ = moved_names(__name__, {"make_loaders": "transconv.data.loaders"})
