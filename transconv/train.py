"""Train and evaluate fully convolutional networks: the step, the epoch loop, evaluation.

The pieces around the loop live in their own modules and are re-exported here, so
`from transconv.train import X` keeps working for every name it ever offered:
[`recipes`][transconv.recipes] (what to run), [`losses`][transconv.losses],
[`distributed`][transconv.distributed] (torchrun/DDP plumbing),
[`checkpoint`][transconv.checkpoint] and [`tiling`][transconv.tiling] (tiled `predict`).

The loop reads nothing back from the GPU between steps except a NaN check every 20 steps.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from tqdm import tqdm  # text bars: tqdm.auto would need ipywidgets inside notebooks

from transconv.checkpoint import load_checkpoint, save_checkpoint
from transconv.data.voc import IGNORE_INDEX
from transconv.distributed import (
    get_rank,
    is_distributed,
    setup_distributed,
    unwrap_model,
    wrap_ddp,
)
from transconv.losses import LOSSES, d2l_loss, loss_fn
from transconv.metrics import confusion_matrix, segmentation_scores
from transconv.recipes import RECIPES, Recipe, autocast, cudnn_autotune, make_optimizer
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


def _step(
    net: nn.Module,
    X: Tensor,
    Y: Tensor,
    optimizer: torch.optim.Optimizer,
    amp_dtype: torch.dtype | None,
    criterion: Callable[..., Tensor],
) -> tuple[Tensor, Tensor]:
    """One optimisation step; returns (detached mean loss, detached logits)."""
    net.train()
    optimizer.zero_grad(set_to_none=True)
    with autocast(X.device.type, amp_dtype):
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


def _to_device(
    X: Tensor, Y: Tensor, device: torch.device, channels_last: bool
) -> tuple[Tensor, Tensor]:
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
        if is_distributed():
            dist.all_reduce(sums)
        loss_sum, correct, labelled, steps, images = sums.tolist()
        return loss_sum / max(steps, 1), correct / max(labelled, 1), int(images)


def _train_epoch(
    net: nn.Module,
    loader: Iterable,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    recipe: Recipe,
    meter: _EpochMeter,
    bar: Any,
) -> None:
    criterion = LOSSES[recipe.loss]
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
    net = (
        unwrap_model(net) if is_distributed() else net
    )  # every rank sees its own shard: no DDP sync
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
    progress: bool = True,
    on_epoch_end: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train for epochs ``start_epoch + 1 .. epochs``, evaluating and checkpointing each one.

    After every epoch the history gets one row (``epoch``, ``train_loss``, ``train_acc``, the
    test scores of :func:`evaluate`, ``lr``, ``train_seconds``, ``seconds``, ``img_per_s``) and,
    on rank 0, the checkpoint is rewritten atomically ([`save_checkpoint`][transconv.checkpoint.save_checkpoint]). To resume, load
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
    show = progress and get_rank() == 0
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
            )
            history.append(row)
            if checkpoint_path is not None and get_rank() == 0:
                save_checkpoint(
                    checkpoint_path, net, optimizer, epoch=epoch, history=history, config=config
                )
            if show:
                tqdm.write(_summary(row, epochs))
            if on_epoch_end is not None:
                on_epoch_end(row)
    return history


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
) -> dict[str, Any]:
    """Train one epoch, then evaluate; return the epoch's history row."""
    _set_epoch(train_iter, epoch - 1)
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
        _train_epoch(net, train_iter, optimizer, device, recipe, meter, bar)
    _sync(device)
    train_seconds = time.perf_counter() - start
    _set_epoch(test_iter, 0)  # a DeviceSegLoader then evaluates the same crops every epoch
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


def _shard(dataset: Any, rank: int, world_size: int) -> Any:
    """Every ``world_size``-th example from ``rank`` (an exact split for evaluation)."""
    if world_size == 1:
        return dataset
    return torch.utils.data.Subset(dataset, range(rank, len(dataset), world_size))


def _dataloaders(
    voc_dir: Path,
    *,
    batch_size: int,
    crop_size: tuple[int, int],
    device: torch.device,
    seed: int,
    num_workers: int,
    rank: int,
    world_size: int,
) -> tuple[Any, Any]:
    """d2l's pipeline: VOCSegDataset crops on the CPU, a DataLoader (sharded under DDP)."""
    from torch.utils.data import DataLoader, DistributedSampler

    from transconv.data.voc import VOCSegDataset

    gen = torch.Generator().manual_seed
    train_set = VOCSegDataset(
        True, crop_size, voc_dir, generator=gen(seed + 1 + rank), verbose=rank == 0
    )
    test_set = VOCSegDataset(
        False, crop_size, voc_dir, generator=gen(seed + 2 + rank), verbose=rank == 0
    )
    for name, data, need in (
        ("training", train_set, batch_size * world_size),
        ("validation", test_set, world_size),
    ):
        if data.num_kept < need:
            raise ValueError(
                f"crop {crop_size[0]}x{crop_size[1]} keeps {data.num_kept} of "
                f"{data.num_kept + data.num_dropped} {name} images, fewer than the {need} "
                "needed (batch size x processes); use a smaller --crop or --batch-size"
            )
    sampler = (
        DistributedSampler(train_set, world_size, rank, seed=seed, drop_last=True)
        if world_size > 1
        else None
    )
    common = {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": num_workers > 0,
    }
    train_iter = DataLoader(
        train_set,
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=True,
        generator=gen(seed),
        **common,
    )
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
    >>> import tempfile
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
        return _dataloaders(
            Path(voc_dir),
            batch_size=batch_size,
            crop_size=crop,
            device=device,
            seed=seed,
            num_workers=num_workers,
            rank=rank,
            world_size=world_size,
        )
    from transconv.data.gpu import DeviceSegLoader

    common = {
        "crop_size": crop,
        "batch_size": batch_size,
        "device": device,
        "seed": seed,
        "channels_last": recipe.channels_last,
        "rank": rank,
        "world_size": world_size,
    }
    train_iter = DeviceSegLoader.from_voc(voc_dir, True, **common)
    test_iter = DeviceSegLoader.from_voc(
        voc_dir, False, shuffle=False, drop_last=False, **{**common, "seed": seed + 1}
    )
    return train_iter, test_iter
