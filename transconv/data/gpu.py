"""A GPU-resident segmentation loader: decoded images live on the device, crops happen there.

d2l's VOC pipeline decodes, crops and normalises every image on the CPU in a ``DataLoader``
and copies each batch to the GPU. On a fast GPU that pipeline, not the network, sets the pace.
:class:`DeviceSegLoader` decodes once, keeps every image as ``uint8`` on the device (VOC's
1,464 training images are about 1 GB), and builds each batch there:

1. draw one random crop offset per sample with a :class:`torch.Generator` on the device;
2. gather all crops of the batch with one advanced-indexing operation (no per-sample Python);
3. convert to float and normalise with the ImageNet mean and standard deviation, as
   :func:`transconv.data.normalize_image` does (to float32 rounding), in two in-place passes;
   optionally in ``channels_last`` layout.

Nothing in an iteration reads a value back to the host, so the host can queue the next
batches while the GPU is still busy with earlier steps.

For ``DistributedDataParallel`` each process builds the loader with its ``rank`` and
``world_size``: every epoch all processes draw the same permutation and each takes a disjoint
shard of equal length, as :class:`torch.utils.data.DistributedSampler` does.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

from transconv.data.voc import (
    IGNORE_INDEX,
    IMAGENET_MEAN,
    IMAGENET_STD,
    _list_examples,
    read_rgb,
    read_voc_label,
)

__all__ = ["DeviceSegLoader"]


def _mixed_seed(*parts: int) -> int:
    """One generator seed from ``(seed, epoch[, rank])``: distinct parts give distinct seeds."""
    mixed = 0
    for part in parts:
        mixed = mixed * 1_000_003 + part  # a prime multiplier spreads the parts apart
    return mixed % (1 << 63)


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """Return ``value`` as ``(h, w)``, checking that both entries are positive integers."""
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
        raise ValueError(
            f"{name} must be a positive int or a pair (h, w) of positive ints, got {value!r}; "
            f"use e.g. {name}=(320, 480)"
        )
    return pair  # type: ignore[return-value]


def _check_pairs(images: Sequence[Tensor], labels: Sequence[Tensor]) -> None:
    """Check that ``images`` are uint8 3xHxW and ``labels`` HxW class maps of the same size."""
    if len(images) != len(labels):
        raise ValueError(
            f"got {len(images)} images but {len(labels)} labels; pass one label per image"
        )
    for i, (img, lab) in enumerate(zip(images, labels)):
        if img.dtype != torch.uint8 or img.dim() != 3 or img.shape[0] != 3:
            raise ValueError(
                f"image {i} has dtype {img.dtype} and shape {tuple(img.shape)}; expected a "
                "uint8 tensor of shape 3xHxW as torchvision.io.read_image returns"
            )
        if lab.dim() != 2 or tuple(lab.shape) != tuple(img.shape[1:]):
            raise ValueError(
                f"label {i} has shape {tuple(lab.shape)} but image {i} is "
                f"{tuple(img.shape[1:])}; a label must be an HxW class map of its image's size"
            )
        bad_range = lab.numel() > 0 and (lab.min() < 0 or lab.max() > IGNORE_INDEX)
        if lab.is_floating_point() or bad_range:
            raise ValueError(
                f"label {i} must hold integer class indices in [0, {IGNORE_INDEX}] "
                f"({IGNORE_INDEX} = ignore), got dtype {lab.dtype}; convert RGB label images with "
                "transconv.data.voc_label_indices first"
            )


def _pad_stack(
    images: Sequence[Tensor], labels: Sequence[Tensor], device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Stack images/labels into zero/255-padded uint8 tensors on ``device`` with their sizes."""
    sizes = torch.tensor([tuple(img.shape[1:]) for img in images], dtype=torch.long)
    h_max, w_max = (int(s) for s in sizes.max(0).values)
    image_stack = torch.zeros((len(images), 3, h_max, w_max), dtype=torch.uint8, device=device)
    label_stack = torch.full((len(images), h_max, w_max), IGNORE_INDEX, dtype=torch.uint8,
                             device=device)
    for i, (img, lab) in enumerate(zip(images, labels)):
        h, w = img.shape[1:]
        image_stack[i, :, :h, :w].copy_(img)  # copy_ moves across devices itself
        label_stack[i, :h, :w].copy_(lab)  # values checked to lie in [0, 255]
    return image_stack, label_stack, sizes.to(device)


class DeviceSegLoader:
    """Random crops of device-resident images, gathered and normalised on the device.

    Parameters
    ----------
    images : list of Tensor
        Decoded images, ``uint8`` of shape ``3xHxW`` (sizes may differ), on any device.
    labels : list of Tensor
        Class-index maps ``HxW`` (``uint8`` or ``int64``; 255 = ignore), one per image.
    batch_size : int
        Samples per batch (per process when ``world_size > 1``).
    crop_size : int or (int, int)
        Crop height and width ``(h, w)``. Images smaller than the crop are dropped; see
        :attr:`num_kept` and :attr:`num_dropped`.
    device : str or torch.device
        Where the images live and the batches are made, e.g. ``"cuda"`` or ``"cpu"``.
    shuffle : bool
        Draw a new permutation every epoch (else keep the image order).
    drop_last : bool
        Drop the last incomplete batch (and, with several processes, the samples that do not
        divide evenly among them). Without it, shards are padded by wrapping around.
    seed : int
        Seeds both the permutation and the crop offsets; equal seeds give equal batches.
    channels_last : bool
        Return images in ``torch.channels_last`` memory format (free: the crops are gathered
        straight into that layout).
    rank, world_size : int
        This process's index among ``world_size`` data-parallel processes.

    Attributes
    ----------
    num_kept, num_dropped : int
        Images kept, and dropped for being smaller than ``crop_size``.

    Raises
    ------
    ValueError
        For mismatched or malformed images/labels, a bad ``crop_size``/``batch_size``/``rank``,
        or when no full batch is left after filtering and sharding.

    Examples
    --------
    >>> imgs = [torch.full((3, 6, 8), 128, dtype=torch.uint8) for _ in range(5)]
    >>> labs = [torch.ones(6, 8, dtype=torch.long) for _ in range(5)]
    >>> loader = DeviceSegLoader(imgs, labs, batch_size=2, crop_size=(4, 4), device="cpu")
    >>> len(loader), loader.num_kept, loader.num_dropped
    (2, 5, 0)
    >>> X, Y = next(iter(loader))
    >>> X.shape, X.dtype, Y.shape, Y.dtype
    (torch.Size([2, 3, 4, 4]), torch.float32, torch.Size([2, 4, 4]), torch.int64)
    >>> round(X[0, 0, 0, 0].item(), 4)  # (128 / 255 - 0.485) / 0.229
    0.0741
    """

    def __init__(
        self,
        images: Sequence[Tensor],
        labels: Sequence[Tensor],
        *,
        batch_size: int,
        crop_size: int | Sequence[int],
        device: str | torch.device,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        channels_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.crop_size = _pair(crop_size, "crop_size")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if not (isinstance(world_size, int) and world_size >= 1 and 0 <= rank < world_size):
            raise ValueError(
                f"rank ({rank}) must satisfy 0 <= rank < world_size ({world_size}); "
                "under torchrun pass rank=int(os.environ['RANK']), "
                "world_size=int(os.environ['WORLD_SIZE'])"
            )
        _check_pairs(images, labels)
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.seed, self.channels_last = seed, channels_last
        self.rank, self.world_size, self.epoch = rank, world_size, 0
        self.device = torch.device(device)
        h, w = self.crop_size
        keep = [i for i, img in enumerate(images) if img.shape[1] >= h and img.shape[2] >= w]
        self.num_kept, self.num_dropped = len(keep), len(images) - len(keep)
        if len(self) == 0:
            raise ValueError(self._empty_message(images))
        kept_images, kept_labels = [images[i] for i in keep], [labels[i] for i in keep]
        self.images, self.labels, self.sizes = _pad_stack(kept_images, kept_labels, self.device)
        # Made once: a host-to-device copy per batch would make the host wait for the GPU.
        # (x / 255 - mean) / std = (x - 255 mean) * (1 / (255 std)): one subtraction, one product
        mean, std = (torch.tensor(v, dtype=torch.float64).view(1, 3, 1, 1)
                     for v in (IMAGENET_MEAN, IMAGENET_STD))
        self._shift = (255 * mean).to(self.device, torch.float32)
        self._scale = (1 / (255 * std)).to(self.device, torch.float32)
        self._crop = torch.tensor(self.crop_size, device=self.device)
        self._ranges = [torch.arange(n, device=self.device) for n in (h, w, 3)]

    def _empty_message(self, images: Sequence[Tensor]) -> str:
        """Explain why no full batch is left and what to change."""
        h, w = self.crop_size
        largest = max((tuple(img.shape[1:]) for img in images), default=None)
        return (
            f"no full batch of {self.batch_size}: {self.num_kept} of {len(images)} images are at "
            f"least {h}x{w} (largest image: {largest}), shared by {self.world_size} process(es); "
            "use a smaller crop_size or batch_size, or drop_last=False"
        )

    def __repr__(self) -> str:
        return (
            f"DeviceSegLoader(kept={self.num_kept}, dropped={self.num_dropped} smaller than "
            f"{self.crop_size[0]}x{self.crop_size[1]}, batches={len(self)}, device={self.device}, "
            f"rank={self.rank}/{self.world_size})"
        )

    def _shard_length(self) -> int:
        """Samples per process per epoch (equal on every rank, so DDP never waits forever)."""
        if self.drop_last:
            return self.num_kept // self.world_size
        return -(-self.num_kept // self.world_size)

    def __len__(self) -> int:
        """Batches per epoch on this process."""
        n = self._shard_length()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose permutation and crops the next iteration draws.

        Each ``iter()`` otherwise advances the epoch by one by itself, so calling this is
        only needed to repeat or skip epochs (e.g. when resuming).
        """
        self.epoch = epoch

    def shard_indices(self, epoch: int) -> Tensor:
        """Indices (into the kept images) this process visits in ``epoch``, in order.

        Every rank draws the same permutation from a CPU generator seeded by ``(seed, epoch)``
        and takes every ``world_size``-th entry starting at ``rank``.

        Examples
        --------
        >>> imgs = [torch.zeros(3, 4, 4, dtype=torch.uint8)] * 6
        >>> labs = [torch.zeros(4, 4, dtype=torch.uint8)] * 6
        >>> kw = dict(batch_size=1, crop_size=2, device="cpu", shuffle=False, world_size=2)
        >>> DeviceSegLoader(imgs, labs, rank=1, **kw).shard_indices(0).tolist()
        [1, 3, 5]
        """
        n = self.num_kept
        if self.shuffle:
            gen = torch.Generator().manual_seed(_mixed_seed(self.seed, epoch))
            order = torch.randperm(n, generator=gen)
        else:
            order = torch.arange(n)
        total = self._shard_length() * self.world_size
        order = order.repeat(-(-total // n))[:total]  # wrap-around padding when not drop_last
        return order[self.rank :: self.world_size]

    def crop_offsets(self, index: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Uniform random top/left crop offsets for the images ``index``, drawn on the device.

        Parameters
        ----------
        index : Tensor
            int64 indices (into the kept images) of shape ``(B,)``, on the loader's device.
        generator : torch.Generator
            A generator on the loader's device.

        Returns
        -------
        top, left : Tensor
            int64 ``(B,)``; ``0 <= top <= H_i - h`` and ``0 <= left <= W_i - w``.
        """
        span = self.sizes[index] - self._crop + 1  # (B, 2)
        draws = torch.randint(0, 1 << 62, span.shape, generator=generator, device=self.device)
        offsets = draws % span  # modulo bias < span / 2**62: negligible
        return offsets[:, 0], offsets[:, 1]

    def gather(self, index: Tensor, top: Tensor, left: Tensor) -> tuple[Tensor, Tensor]:
        """Crop images ``index`` at ``(top, left)`` in one indexing op; normalise on the device.

        Parameters
        ----------
        index, top, left : Tensor
            int64 ``(B,)`` on the loader's device: which kept images, and where each crop starts.

        Returns
        -------
        images : Tensor
            float32 ``Bx3xhxw`` normalised as :func:`transconv.data.normalize_image` does, in
            ``channels_last`` memory format when the loader was built with ``channels_last``.
        labels : Tensor
            int64 ``Bxhxw`` (255 = ignore).

        Examples
        --------
        >>> img = torch.arange(3 * 4 * 5, dtype=torch.uint8).view(3, 4, 5)
        >>> loader = DeviceSegLoader([img], [img[0]], batch_size=1, crop_size=(2, 3),
        ...                          device="cpu")
        >>> _, labels = loader.gather(torch.tensor([0]), torch.tensor([1]), torch.tensor([2]))
        >>> labels
        tensor([[[ 7,  8,  9],
                 [12, 13, 14]]])
        """
        arange_h, arange_w, chan = self._ranges
        rows = (top[:, None] + arange_h)[:, :, None]  # (B, h, 1)
        cols = (left[:, None] + arange_w)[:, None, :]  # (B, 1, w)
        i = index[:, None, None]
        labels = self.labels[i, rows, cols].long()
        if self.channels_last:  # gather as (B, h, w, 3): the NCHW view is then channels_last
            crops = self.images[i[..., None], chan, rows[..., None], cols[..., None]]
            crops = crops.permute(0, 3, 1, 2)
        else:
            crops = self.images[i[..., None], chan[:, None, None], rows[:, None], cols[:, None]]
        images = crops.float().sub_(self._shift).mul_(self._scale)  # keeps the memory format
        return images, labels

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        epoch = self.epoch
        self.epoch += 1
        order = self.shard_indices(epoch).to(self.device)
        gen = torch.Generator(device=self.device)
        gen.manual_seed(_mixed_seed(self.seed, epoch, self.rank))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            top, left = self.crop_offsets(index, gen)
            yield self.gather(index, top, left)

    @classmethod
    def from_voc(
        cls,
        voc_dir: str | Path,
        is_train: bool = True,
        *,
        crop_size: int | Sequence[int],
        batch_size: int,
        device: str | torch.device,
        **kwargs,
    ) -> DeviceSegLoader:
        """Read a VOC-format split and keep it on ``device``.

        Images are decoded with :func:`transconv.data.read_rgb`; labels are read as class
        indices with :func:`transconv.data.read_voc_label` (the palette fast path, boundary
        pixels 255), so no RGB label image is ever decoded or converted.

        Parameters
        ----------
        voc_dir : str or Path
            The ``VOCdevkit/VOC2012`` directory (real or from ``make_synthetic_voc``).
        is_train : bool
            Read ``ImageSets/Segmentation/train.txt`` (else ``val.txt``).
        crop_size, batch_size, device, **kwargs
            As for :class:`DeviceSegLoader`.

        Returns
        -------
        DeviceSegLoader

        Raises
        ------
        FileNotFoundError
            When the VOC tree, the split file or a listed image or label is missing.

        Examples
        --------
        >>> import tempfile
        >>> from transconv.data.synthetic import make_synthetic_voc
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     voc = make_synthetic_voc(tmp, num_train=4, num_val=1, size=(40, 48))
        ...     loader = DeviceSegLoader.from_voc(voc, True, crop_size=(32, 32),
        ...                                       batch_size=2, device="cpu")
        >>> len(loader), loader.num_kept
        (2, 4)
        """
        images, labels = _read_voc_indices(Path(voc_dir), is_train)
        return cls(images, labels, crop_size=crop_size, batch_size=batch_size,
                   device=device, **kwargs)


def _read_pair(paths: tuple[Path, Path]) -> tuple[Tensor, Tensor]:
    return read_rgb(paths[0]), read_voc_label(paths[1]).to(torch.uint8)


def _read_voc_indices(voc_dir: Path, is_train: bool) -> tuple[list[Tensor], list[Tensor]]:
    """Decode a split's JPEG images and its class-index labels (palette fast path).

    Threads decode in parallel (Pillow releases the GIL while it decodes); labels are kept as
    uint8, an eighth of int64's memory.
    """
    pairs = _list_examples(voc_dir, is_train)
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        examples = list(pool.map(_read_pair, pairs))
    return [img for img, _ in examples], [lab for _, lab in examples]
