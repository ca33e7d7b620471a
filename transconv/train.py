"""Train and evaluate fully convolutional networks: the step, the epoch loop, evaluation.

The pieces around the loop live in their own modules and are re-exported here, so
`from transconv.train import X` keeps working for every name it ever offered:
`transconv.recipes` (what to run), `transconv.losses`, `transconv.distributed` (torchrun/DDP
plumbing), `transconv.checkpoint` and `transconv.tiling` (tiled `predict`).

The loop reads nothing back from the GPU between steps except a NaN check every 20 steps,
which every rank takes together under DDP (see `transconv.distributed`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from tqdm import tqdm  # text bars: tqdm.auto would need ipywidgets inside notebooks

from transconv._validation import seeded
from transconv.checkpoint import load_checkpoint, remove_partial_checkpoints, save_checkpoint
from transconv.data.crops import mix_seed
from transconv.data.dataset import set_loader_epoch
from transconv.data.labels import IGNORE_INDEX
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
    [`make_loaders`][transconv.train.make_loaders] does), the matrices are summed, and rank 0's
    BatchNorm statistics are first broadcast to every rank
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
    and pass ``start_epoch=state["epoch"]`` and ``history=state["history"]``: loaders with a
    ``set_epoch`` method (those of [`make_loaders`][transconv.train.make_loaders]) then draw the
    same batches as an uninterrupted run, and validation sees the same crops every epoch.
    Multi-GPU: see the module `transconv.distributed`.

    Parameters
    ----------
    net : nn.Module
        The model, already on ``device`` (and wrapped by
        [`wrap_ddp`][transconv.distributed.wrap_ddp] under torchrun).
    train_iter : iterable of (Tensor, Tensor)
        Training batches: images ``(B, 3, H, W)`` and int64 labels ``(B, H, W)`` (255 = ignore).
        Before epoch ``e + 1``, ``set_epoch(e)`` is called on it, its sampler and its dataset,
        whichever have one ([`set_loader_epoch`][transconv.data.dataset.set_loader_epoch]).
    test_iter : iterable of (Tensor, Tensor)
        Validation batches, as ``train_iter``; epoch 0 is set before every evaluation.
    epochs : int
        Total number of epochs, counting the ``start_epoch`` already done.
    optimizer : torch.optim.Optimizer
        Steps ``net``'s parameters; its first group's ``lr`` is recorded in the history.
    device : str or torch.device
        Where batches are moved and the model runs.
    num_classes : int
        Classes scored by the evaluation (the model's output channels).
    recipe : Recipe, optional
        Loss, autocast and memory format (as run on ``device``); default: float32, NCHW,
        [`loss_fn`][transconv.losses.loss_fn].
    checkpoint_path : str or os.PathLike, optional
        Where to write the checkpoint after each epoch (rank 0 only); temporary files left
        there by a killed run are removed at the start. Default: no checkpoint.
    config : dict, optional
        Stored in the checkpoint (the CLI stores model name, num_classes, recipe, arguments).
    start_epoch : int, default 0
        Epochs already done.
    history : sequence of dict, optional
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
        When a step's loss is NaN or infinite (the message names the epoch, the step and,
        under DDP, the rank; every rank raises it at the same check), or the weights are not
        finite at the end of an epoch.
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
        _train_epoch(net, train_iter, optimizer, device, recipe, meter, bar)
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


# one generator per purpose, each seeded from --seed and the purpose (mix_seed)
_TRAIN_CROPS, _VAL_CROPS, _SHUFFLE, _WORKERS = 1, 2, 3, 4


class _EveryNthBatch:
    """Batches ``rank, rank + world_size, ...`` of a loader: an exact shard, nothing repeated."""

    def __init__(self, loader: Any, rank: int, world_size: int) -> None:
        self.loader, self.rank, self.world_size = loader, rank, world_size

    def set_epoch(self, epoch: int) -> None:
        self.loader.set_epoch(epoch)

    def __len__(self) -> int:
        return len(range(self.rank, len(self.loader), self.world_size))

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        for i, batch in enumerate(self.loader):
            if i % self.world_size == self.rank:
                yield batch


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

    from transconv.data.dataset import VOCSegDataset

    def dataset(is_train: bool, purpose: int) -> VOCSegDataset:
        # crops are a function of (seed, epoch, index); validation's of (seed, index) only
        return VOCSegDataset(
            is_train, crop_size, voc_dir, seed=mix_seed(seed, purpose), verbose=rank == 0
        )

    train_set, test_set = dataset(True, _TRAIN_CROPS), dataset(False, _VAL_CROPS)
    for name, data, need in (
        ("training", train_set, batch_size * world_size),
        ("validation", test_set, 1),
    ):
        if data.num_kept < need:
            raise ValueError(
                f"crop {crop_size[0]}x{crop_size[1]} keeps {data.num_kept} of "
                f"{data.num_kept + data.num_dropped} {name} images, fewer than the {need} "
                "needed (batch size x processes); use a smaller --crop or --batch-size"
            )
    # the permutation of epoch e comes from (seed, e) alone, the same on every rank, cut into
    # equal disjoint shards (drop_last): with one process too, so resuming needs no RNG state
    sampler = DistributedSampler(
        train_set, world_size, rank, shuffle=True, seed=mix_seed(seed, _SHUFFLE), drop_last=True
    )
    common = {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "pin_memory": device.type == "cuda",
        "persistent_workers": num_workers > 0,
        "generator": seeded(mix_seed(seed, _WORKERS)),  # worker seeds; torch's global RNG untouched
    }
    train_iter = DataLoader(train_set, sampler=sampler, drop_last=True, **common)
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

    ``recipe.loader == "dataloader"``: d2l's pipeline
    ([`VOCSegDataset`][transconv.data.voc.VOCSegDataset] random crops in a ``DataLoader``).
    ``"device"``: two [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader] holding the decoded
    images on ``device``. Both drop images smaller than the crop and evaluate on random crops
    of the validation images, as d2l does, with these guarantees on both paths:

    - the shuffling and the training crops of epoch $e$ are a function of ``(seed, e)`` only
      (each from its own generator): a run resumed after epoch $e$ draws the same batches as
      an uninterrupted one, once [`train`][transconv.train.train] calls ``set_epoch``;
    - the validation crops are the same every epoch;
    - under DDP the training shards are equal and disjoint, and every validation crop is
      scored by exactly one rank.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        A ``VOCdevkit/VOC2012`` directory (real or synthetic).
    recipe : Recipe
        Its ``loader`` picks the pipeline; ``channels_last`` the device loader's layout.
    batch_size : int
        Images per batch and process.
    crop_size : (int, int)
        Crop height and width.
    device : str or torch.device
        Where the batches go (the device loader keeps the images there).
    seed : int, default 0
        Seeds shuffling and crops.
    num_workers : int, default 0
        DataLoader workers (ignored by the device loader).
    rank : int, default 0
        This process's index under DDP.
    world_size : int, default 1
        The number of processes under DDP.

    Returns
    -------
    tuple
        ``(train_iter, test_iter)``: iterables of ``(images, labels)`` batches with a
        ``len`` and, on the loader or its ``sampler``, ``set_epoch``.

    Raises
    ------
    ValueError
        If the crop leaves fewer training images than one batch per process, or no
        validation image, or every validation label is 255 (nothing to score).
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
        "channels_last": recipe.channels_last,
    }
    train_iter = DeviceSegLoader.from_voc(
        voc_dir,
        True,
        seed=mix_seed(seed, _TRAIN_CROPS),
        rank=rank,
        world_size=world_size,
        **common,
    )
    # one copy of the validation loader per rank, cut by batches: an exact shard (the
    # loader's own sharding would pad by wrapping around and count some crops twice)
    test_iter = DeviceSegLoader.from_voc(
        voc_dir, False, shuffle=False, drop_last=False, seed=mix_seed(seed, _VAL_CROPS), **common
    )
    if world_size > 1:
        test_iter = _EveryNthBatch(test_iter, rank, world_size)
    return train_iter, test_iter
