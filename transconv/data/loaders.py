"""Batches for training and evaluation: one pipeline for the CLI, the loop and d2l's entry point.

[`make_loaders`][transconv.data.loaders.make_loaders] builds the loaders a recipe asks for:
[`VOCSegDataset`][transconv.data.dataset.VOCSegDataset] crops in a ``DataLoader`` (sharded
under DDP), or the GPU-resident [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
d2l's [`load_data_voc`][transconv.data.loaders.load_data_voc] is the ``DataLoader`` path on one
process, so the same seed gives the same batches through either name.

Every random draw has its own generator, seeded from the run's seed and its purpose
([`mix_seed`][transconv.data.crops.mix_seed]): the training crops, the validation crops, the
shuffle and the workers' seeds. None of them touches torch's global generator.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, DistributedSampler, Subset

from transconv._validation import as_hw, as_int, seeded
from transconv.data.crops import mix_seed
from transconv.data.dataset import VOCSegDataset, collate_normalize

__all__ = ["load_data_voc", "make_loaders", "set_loader_epoch"]

# one generator per purpose, each seeded from the run's seed and the purpose (mix_seed)
_TRAIN_CROPS, _VAL_CROPS, _SHUFFLE, _WORKERS = 1, 2, 3, 4


def _ignore_interrupt(worker_id: int) -> None:
    """A worker's first act: ignore Ctrl-C, then let signals through again (see `_Loader`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _Loader(DataLoader):
    """A ``DataLoader`` whose workers leave Ctrl-C to the main process.

    The terminal sends SIGINT to the whole process group. A worker that receives it while it
    starts dies with its own traceback, and the main process then reports "DataLoader worker
    exited unexpectedly" instead of a plain interruption. So SIGINT is blocked while workers
    start (they inherit the mask) and each ignores it before unblocking; the main process
    receives a Ctrl-C pressed meanwhile as soon as the workers are up.
    """

    def __iter__(self) -> Any:
        if self.num_workers == 0 or not hasattr(signal, "pthread_sigmask"):
            return super().__iter__()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().__iter__()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


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
    return Subset(dataset, range(rank, len(dataset), world_size))


def _check_kept(train_set: VOCSegDataset, test_set: VOCSegDataset, need: int) -> None:
    height, width = train_set.crop_size
    for name, data, least in (("training", train_set, need), ("validation", test_set, 1)):
        if data.num_kept < least:
            raise ValueError(
                f"crop {height}x{width} keeps {data.num_kept} of "
                f"{data.num_kept + data.num_dropped} {name} images, fewer than the {least} "
                "needed (batch size x processes); use a smaller --crop or --batch-size"
            )


def _dataloaders(
    voc_dir: str | os.PathLike,
    *,
    batch_size: int,
    crop_size: tuple[int, int],
    pin_memory: bool,
    seed: int,
    num_workers: int,
    rank: int = 0,
    world_size: int = 1,
    cache: bool = True,
    verbose: bool = True,
) -> tuple[DataLoader, DataLoader]:
    """d2l's pipeline: ``uint8`` crops on the CPU, normalised per batch, sharded under DDP."""

    def dataset(is_train: bool, purpose: int) -> VOCSegDataset:
        # crops are a function of (seed, epoch, index); validation's of (seed, index) only
        return VOCSegDataset(
            is_train,
            crop_size,
            voc_dir,
            seed=mix_seed(seed, purpose),
            cache=cache,
            as_uint8=cache,
            verbose=verbose,
        )

    train_set, test_set = dataset(True, _TRAIN_CROPS), dataset(False, _VAL_CROPS)
    _check_kept(train_set, test_set, batch_size * world_size)
    # the permutation of epoch e comes from (seed, e) alone, the same on every rank, cut into
    # equal disjoint shards (drop_last): with one process too, so resuming needs no RNG state
    sampler = DistributedSampler(
        train_set, world_size, rank, shuffle=True, seed=mix_seed(seed, _SHUFFLE), drop_last=True
    )
    common: dict[str, Any] = {
        "batch_size": batch_size,
        "num_workers": num_workers,
        "pin_memory": pin_memory,
        "persistent_workers": num_workers > 0,
        "generator": seeded(mix_seed(seed, _WORKERS)),  # worker seeds; torch's global RNG untouched
        "worker_init_fn": _ignore_interrupt if num_workers > 0 else None,
        "collate_fn": collate_normalize if cache else None,
    }
    train_iter = _Loader(train_set, sampler=sampler, drop_last=True, **common)
    test_iter = _Loader(_shard(test_set, rank, world_size), **common)
    return train_iter, test_iter


def make_loaders(
    voc_dir: str | os.PathLike,
    recipe: Any,
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
    ([`VOCSegDataset`][transconv.data.dataset.VOCSegDataset] random crops in a ``DataLoader``).
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
        A [`Recipe`][transconv.recipes.Recipe]: its ``loader`` picks the pipeline,
        ``channels_last`` the device loader's layout.
    batch_size : int
        Images per batch and process.
    crop_size : (int, int)
        Crop height and width.
    device : str or torch.device
        Where the batches go (the device loader keeps the images there).
    seed : int, default 0
        Seeds shuffling and crops.
    num_workers : int, default 0
        DataLoader workers (ignored by the device loader); they leave Ctrl-C to the main
        process.
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
    >>> from transconv.recipes import RECIPES
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc = make_synthetic_voc(tmp, num_train=4, num_val=2, size=(40, 48))
    ...     train_iter, test_iter = make_loaders(voc, RECIPES["fast"], batch_size=2,
    ...                                          crop_size=(32, 32), device="cpu")
    >>> X, Y = next(iter(train_iter))
    >>> X.shape, Y.dtype, len(train_iter)
    (torch.Size([2, 3, 32, 32]), torch.int64, 2)
    """
    device, crop = torch.device(device), as_hw(crop_size, "crop_size", example="(320, 480)")
    recipe = recipe.on(device)
    if recipe.loader == "dataloader":
        return _dataloaders(
            voc_dir,
            batch_size=batch_size,
            crop_size=crop,
            pin_memory=device.type == "cuda",
            seed=seed,
            num_workers=num_workers,
            rank=rank,
            world_size=world_size,
            verbose=rank == 0,
        )
    from transconv.data.gpu import DeviceSegLoader  # decodes onto the device: only when asked

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


def load_data_voc(
    batch_size: int,
    crop_size: int | Sequence[int],
    voc_dir: str | os.PathLike,
    num_workers: int = 0,
    *,
    seed: int = 0,
    cache: bool = True,
    verbose: bool = True,
) -> tuple[DataLoader, DataLoader]:
    """Build the training and validation loaders, as d2l's ``load_data_voc``.

    The ``DataLoader`` path of [`make_loaders`][transconv.data.loaders.make_loaders] on one
    process: the same ``seed`` gives the same batches. The training loader shuffles and drops
    the last incomplete batch; the validation loader keeps every example (unlike d2l's, which
    drops the remainder from the evaluation too). Call
    [`set_loader_epoch`][transconv.data.loaders.set_loader_epoch] before each epoch.

    Parameters
    ----------
    batch_size : int
        Examples per batch.
    crop_size : int or tuple of int
        ``(h, w)`` of the random crops.
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    num_workers : int, optional
        DataLoader worker processes (default 0).
    seed : int, optional
        Seed of the shuffling and cropping (default 0).
    cache : bool, optional
        Keep decoded ``uint8`` images in memory and normalise whole batches with
        [`collate_normalize`][transconv.data.dataset.collate_normalize] (default True); False
        decodes every item from its files, as d2l's loader does per epoch.
    verbose : bool, optional
        Print what each dataset kept (default True).

    Returns
    -------
    train_iter : DataLoader
        Shuffled training batches.
    test_iter : DataLoader
        Validation batches, in order.

    Shape
    -----
    A batch: images ``(B, 3, h, w)`` ``float32`` normalised, labels ``(B, h, w)`` ``int64``
    (255 = ignore).

    Raises
    ------
    TypeError
        If ``batch_size`` or ``num_workers`` is not an int.
    ValueError
        If ``batch_size`` is below 1 or ``num_workers`` negative, the crop keeps fewer
        training images than one batch, or as
        [`VOCSegDataset`][transconv.data.dataset.VOCSegDataset].

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=4, num_val=2, size=(40, 60))
    ...     train_iter, test_iter = load_data_voc(2, (32, 48), voc_dir, verbose=False)
    >>> images, labels = next(iter(train_iter))
    >>> images.shape, labels.shape
    (torch.Size([2, 3, 32, 48]), torch.Size([2, 32, 48]))
    """
    return _dataloaders(
        voc_dir,
        batch_size=as_int(batch_size, "batch_size", minimum=1),
        crop_size=as_hw(crop_size, "crop_size", example="(320, 480)"),
        pin_memory=False,
        seed=seed,
        num_workers=as_int(num_workers, "num_workers", minimum=0),
        cache=cache,
        verbose=verbose,
    )


def set_loader_epoch(loader: Any, epoch: int) -> None:
    """Set the epoch of a loader, its sampler and its dataset, whichever have ``set_epoch``.

    One call for both loader paths: a
    [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader], or a ``DataLoader`` whose
    sampler (e.g. ``DistributedSampler``) and dataset (a
    [`VOCSegDataset`][transconv.data.dataset.VOCSegDataset], possibly inside a ``Subset``)
    draw per epoch. Call it before ``iter(loader)``.

    Parameters
    ----------
    loader : Any
        The loader.
    epoch : int
        The epoch, from 0.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=4, num_val=2, size=(40, 60))
    ...     train_iter, _ = load_data_voc(2, (32, 48), voc_dir, verbose=False)
    >>> set_loader_epoch(train_iter, 3)
    >>> train_iter.sampler.epoch, train_iter.dataset.epoch
    (3, 3)
    """
    epoch = as_int(epoch, "epoch", minimum=0)
    parts = [loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)]
    dataset = getattr(loader, "dataset", None)
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    parts.append(dataset)
    for part in parts:
        if part is not None and callable(getattr(part, "set_epoch", None)):
            part.set_epoch(epoch)
