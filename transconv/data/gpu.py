"""A GPU-resident segmentation loader: decoded images live on the device, crops happen there.

d2l's VOC pipeline decodes, crops and normalises every image on the CPU in a ``DataLoader``
and copies each batch to the GPU. On a fast GPU that pipeline, not the network, sets the pace.
[`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader] decodes once, keeps every image as
``uint8`` on the device (VOC's 1,464 training images are about 1 GB), and builds each batch
there:

1. draw one random crop offset per sample with a ``torch.Generator`` on the device;
2. gather all crops of the batch with one advanced-indexing operation (no per-sample Python);
3. convert to float and normalise with the ImageNet mean and standard deviation, as
   [`normalize_image`][transconv.data.images.normalize_image] does (to float32 rounding), in
   two in-place passes; optionally in ``channels_last`` layout.

Nothing in an iteration reads a value back to the host, so the host can queue the next
batches while the GPU is still busy with earlier steps.

For ``DistributedDataParallel`` each process builds the loader with its ``rank`` and
``world_size``: every epoch all processes draw the same permutation and each takes a disjoint
shard of equal length, as ``torch.utils.data.DistributedSampler`` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from transconv._validation import as_hw, as_int, check_label_map, check_rgb_image, seeded
from transconv.data.crops import FIXED_EPOCH, mix_seed
from transconv.data.dataset import read_examples
from transconv.data.images import IMAGENET_MEAN, IMAGENET_STD
from transconv.data.labels import IGNORE_INDEX, check_scorable_labels
from transconv.data.layout import list_examples

__all__ = ["DeviceSegLoader"]


def _check_pairs(images: Sequence[Tensor], labels: Sequence[Tensor]) -> None:
    """Check that ``images`` are uint8 (3, H, W) and ``labels`` class maps of the same (H, W)."""
    if len(images) != len(labels):
        raise ValueError(
            f"labels must have one entry per image, got {len(images)} images and {len(labels)} "
            "labels; pass one label per image"
        )
    for i, (img, lab) in enumerate(zip(images, labels, strict=True)):
        check_rgb_image(img, f"images[{i}]")
        if lab.dim() != 2 or tuple(lab.shape) != tuple(img.shape[1:]):
            raise ValueError(
                f"labels[{i}] must have its image's shape {tuple(img.shape[1:])}, got "
                f"{tuple(lab.shape)}; a label is an (H, W) class map of its image"
            )
        check_label_map(lab, f"labels[{i}]", fix="read labels with transconv.data.read_voc_label")


def _pad_stack(
    images: Sequence[Tensor], labels: Sequence[Tensor], device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Stack images/labels into zero/255-padded uint8 tensors on ``device`` with their sizes."""
    sizes = torch.tensor([tuple(img.shape[1:]) for img in images], dtype=torch.long)
    h_max, w_max = (int(s) for s in sizes.max(0).values)
    image_stack = torch.zeros((len(images), 3, h_max, w_max), dtype=torch.uint8, device=device)
    label_stack = torch.full(
        (len(images), h_max, w_max), IGNORE_INDEX, dtype=torch.uint8, device=device
    )
    for i, (img, lab) in enumerate(zip(images, labels, strict=True)):
        h, w = img.shape[1:]
        image_stack[i, :, :h, :w].copy_(img)  # copy_ moves across devices itself
        label_stack[i, :h, :w].copy_(lab)  # values checked to lie in [0, 255]
    return image_stack, label_stack, sizes.to(device)


class DeviceSegLoader:
    """Random crops of device-resident images, gathered and normalised on the device.

    **Determinism.** Every batch is a function of ``(seed, epoch, rank)``: the permutation of
    epoch $e$ comes from a generator seeded with
    [`mix_seed`][transconv.data.crops.mix_seed]$(seed, e)$, shared by every rank, and the crop
    offsets from one seeded with $\\mathrm{mix\\_seed}(seed, e, rank)$. Two loaders built with
    the same arguments and set to the same epoch
    ([`set_epoch`][transconv.data.gpu.DeviceSegLoader.set_epoch]) give bit-identical batches.
    With ``fixed_crops`` (validation), each image's crop is drawn once, at construction, from
    $\\mathrm{mix\\_seed}(seed, -1)$: the same in every epoch, whatever the rank or batch.

    Parameters
    ----------
    images : sequence of Tensor
        Decoded images, ``uint8`` (sizes may differ), on any device.
    labels : sequence of Tensor
        Class-index maps (``uint8`` or ``int64``; 255 = ignore), one per image.
    batch_size : int
        Samples per batch (per process when ``world_size > 1``).
    crop_size : int or tuple of int
        Crop ``(h, w)`` (an int for a square). Images smaller than the crop are dropped; see
        ``num_kept`` and ``num_dropped``.
    device : str or torch.device
        Where the images live and the batches are made, e.g. ``"cuda"`` or ``"cpu"``.
    shuffle : bool, optional
        Draw a new permutation every epoch (default True; False keeps the image order).
    drop_last : bool, optional
        Drop the last incomplete batch (default True), and, with several processes, the
        samples that do not divide evenly among them. Without it, shards are padded by
        wrapping around.
    seed : int, optional
        Seeds both the permutation and the crop offsets (default 0).
    channels_last : bool, optional
        Return images in ``torch.channels_last`` memory format (default False; free: the
        crops are gathered straight into that layout).
    rank : int, optional
        This process's index among the data-parallel processes (default 0).
    world_size : int, optional
        Number of data-parallel processes (default 1).
    fixed_crops : bool, optional
        Crop each image at the same place every epoch (default False; what validation wants;
        [`from_voc`][transconv.data.gpu.DeviceSegLoader.from_voc] turns it on for the ``val``
        split).

    Attributes
    ----------
    num_kept : int
        Images kept.
    num_dropped : int
        Images dropped for being smaller than ``crop_size``.

    Shape
    -----
    ``images[k]``: ``(3, H_k, W_k)``; ``labels[k]``: ``(H_k, W_k)``. A batch: images
    ``(B, 3, h, w)`` ``float32``, labels ``(B, h, w)`` ``int64``.

    Raises
    ------
    TypeError
        If ``crop_size``, ``batch_size``, ``seed``, ``rank`` or ``world_size`` is not an int
        (or pair of ints).
    ValueError
        For mismatched or malformed images/labels, labels that are 255 everywhere, a
        non-positive ``crop_size``/``batch_size``, a ``rank`` outside ``[0, world_size)``, or
        when no full batch is left after filtering and sharding.

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
        fixed_crops: bool = False,
    ) -> None:
        self.crop_size = as_hw(crop_size, "crop_size", example="(320, 480)")
        self.batch_size = as_int(batch_size, "batch_size", minimum=1)
        world_size = as_int(world_size, "world_size", minimum=1)
        rank = as_int(rank, "rank", minimum=0)
        if rank >= world_size:
            raise ValueError(
                f"rank must satisfy 0 <= rank < world_size ({world_size}), got {rank}; "
                "under torchrun pass rank=int(os.environ['RANK']), "
                "world_size=int(os.environ['WORLD_SIZE'])"
            )
        _check_pairs(images, labels)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.seed, self.channels_last = as_int(seed, "seed", example="0"), channels_last
        self.rank, self.world_size, self.epoch = rank, world_size, 0
        self.fixed_crops = bool(fixed_crops)
        self.device = torch.device(device)
        h, w = self.crop_size
        keep = [i for i, img in enumerate(images) if img.shape[1] >= h and img.shape[2] >= w]
        self.num_kept, self.num_dropped = len(keep), len(images) - len(keep)
        if len(self) == 0:
            raise ValueError(self._empty_message(images))
        kept_images, kept_labels = [images[i] for i in keep], [labels[i] for i in keep]
        check_scorable_labels(kept_labels, f"the labels of the {self.num_kept} kept images")
        self.images, self.labels, self.sizes = _pad_stack(kept_images, kept_labels, self.device)
        # Made once: a host-to-device copy per batch would make the host wait for the GPU.
        # (x / 255 - mean) / std = (x - 255 mean) * (1 / (255 std)): one subtraction, one product
        mean, std = (
            torch.tensor(v, dtype=torch.float64).view(1, 3, 1, 1)
            for v in (IMAGENET_MEAN, IMAGENET_STD)
        )
        self._shift = (255 * mean).to(self.device, torch.float32)
        self._scale = (1 / (255 * std)).to(self.device, torch.float32)
        self._crop = torch.tensor(self.crop_size, device=self.device)
        self._ranges = [torch.arange(n, device=self.device) for n in (h, w, 3)]
        self._fixed = None
        if self.fixed_crops:  # drawn on the CPU, so every device gets the same crops
            top, left = self._draw_offsets(
                self.sizes.cpu(), seeded(mix_seed(self.seed, FIXED_EPOCH))
            )
            self._fixed = torch.stack([top, left], 1).to(self.device)

    def _empty_message(self, images: Sequence[Tensor]) -> str:
        """Explain why no full batch is left and what to change."""
        h, w = self.crop_size
        if not images:
            return "images must hold at least one image, got none; pass the images to load"
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

        Parameters
        ----------
        epoch : int
            The epoch, from 0.

        Raises
        ------
        TypeError
            If ``epoch`` is not an int.
        ValueError
            If ``epoch`` is negative.
        """
        self.epoch = as_int(epoch, "epoch", minimum=0)

    def shard_indices(self, epoch: int) -> Tensor:
        """Indices (into the kept images) this process visits in ``epoch``, in order.

        Every rank draws the same permutation from a CPU generator seeded by
        ``mix_seed(seed, epoch)`` and takes every ``world_size``-th entry starting at ``rank``.

        Parameters
        ----------
        epoch : int
            The epoch.

        Returns
        -------
        Tensor
            ``int64`` indices.

        Shape
        -----
        Output: ``(len(self) * batch_size,)`` with ``drop_last``, else the shard's length.

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
            gen = seeded(mix_seed(self.seed, epoch))
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
            ``int64`` indices into the kept images, on the loader's device.
        generator : torch.Generator
            A generator on the loader's device.

        Returns
        -------
        top : Tensor
            ``int64``, $0 \\le top_i \\le H_i - h$.
        left : Tensor
            ``int64``, $0 \\le left_i \\le W_i - w$.

        Shape
        -----
        ``index``, ``top``, ``left``: ``(B,)``.
        """
        return self._draw_offsets(self.sizes[index], generator)

    def _draw_offsets(self, sizes: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        span = sizes - self._crop.to(sizes.device) + 1  # (B, 2)
        draws = torch.randint(0, 1 << 62, span.shape, generator=generator, device=sizes.device)
        offsets = draws % span  # modulo bias < span / 2**62: negligible
        return offsets[:, 0], offsets[:, 1]

    def gather(self, index: Tensor, top: Tensor, left: Tensor) -> tuple[Tensor, Tensor]:
        """Crop images ``index`` at ``(top, left)`` in one indexing op; normalise on the device.

        Parameters
        ----------
        index : Tensor
            ``int64`` indices of the kept images to crop, on the loader's device.
        top : Tensor
            ``int64`` first row of each crop.
        left : Tensor
            ``int64`` first column of each crop.

        Returns
        -------
        images : Tensor
            ``float32``, normalised as [`normalize_image`][transconv.data.images.normalize_image]
            does, in ``channels_last`` memory format when the loader was built with it.
        labels : Tensor
            ``int64`` (255 = ignore).

        Shape
        -----
        ``index``, ``top``, ``left``: ``(B,)``. Output: ``(B, 3, h, w)`` and ``(B, h, w)``.

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
        gen.manual_seed(mix_seed(self.seed, epoch, self.rank))
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            if self._fixed is None:
                top, left = self.crop_offsets(index, gen)
            else:
                top, left = self._fixed[index].unbind(1)
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

        Images are decoded with [`read_rgb`][transconv.data.images.read_rgb]; labels are read
        as class indices with [`read_voc_label`][transconv.data.labels.read_voc_label] (the
        palette fast path, boundary pixels 255), so no RGB label image is ever decoded.
        The ``val`` split gets ``fixed_crops=True`` unless ``kwargs`` says otherwise.

        Parameters
        ----------
        voc_dir : str or Path
            The ``VOCdevkit/VOC2012`` directory (real or from ``make_synthetic_voc``).
        is_train : bool, optional
            Read the ``train`` split (default), else ``val``.
        crop_size : int or tuple of int
            As for [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
        batch_size : int
            As for [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
        device : str or torch.device
            As for [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
        **kwargs
            Any other argument of [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].

        Returns
        -------
        DeviceSegLoader
            The loader, its images on ``device``.

        Raises
        ------
        FileNotFoundError
            When the VOC tree, the split file or a listed image or label is missing.
        ValueError
            When every label pixel of the split is 255, or as
            [`DeviceSegLoader`][transconv.data.gpu.DeviceSegLoader].
        ImageReadError
            When a file cannot be decoded.

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
        split = "train" if is_train else "val"
        images, labels = read_examples(list_examples(voc_dir, split))
        check_scorable_labels(labels, f"the {split} split of {voc_dir}")
        kwargs.setdefault("fixed_crops", not is_train)
        return cls(
            images, labels, crop_size=crop_size, batch_size=batch_size, device=device, **kwargs
        )
