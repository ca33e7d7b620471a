"""VOC segmentation as a PyTorch ``Dataset`` of random crops (the loaders are in `loaders`).

The pipeline follows d2l.ai's "Semantic Segmentation and the Dataset" chapter, with the
object outlines ignored rather than called background (see
[`voc_label_indices`][transconv.data.labels.voc_label_indices]), with images decoded once
and kept as ``uint8`` (a quarter of d2l's preloaded ``float32`` tensors), and with crops that
are a pure function of ``(seed, epoch, index)``:

* a training crop of example $i$ in epoch $e$ comes from a generator seeded with
  [`mix_seed`][transconv.data.crops.mix_seed]$(seed, e, i)$, so it is the same whatever the
  number of DataLoader workers, and a run resumed at epoch $e$ sees the crops a straight run
  sees;
* a validation crop comes from $\\mathrm{mix\\_seed}(seed, -1, i)$: the same every epoch, so
  a validation score changes only when the weights do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset
from tqdm import tqdm

from transconv._moved import moved_names
from transconv._validation import as_hw, as_int, seeded
from transconv.data.crops import FIXED_EPOCH, mix_seed, random_crop_origin
from transconv.data.images import image_size, normalize_image, read_rgb
from transconv.data.labels import (
    check_scorable_labels,
    read_voc_label,
    voc_colormap2label,
    voc_label_indices,
)
from transconv.data.layout import list_examples

__all__ = ["VOCSegDataset", "collate_normalize", "read_examples", "read_voc_images"]


def read_voc_images(
    voc_dir: str | os.PathLike, is_train: bool = True
) -> tuple[list[Tensor], list[Tensor]]:
    """Read every image of a split and its RGB label image, as d2l's ``read_voc_images``.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    is_train : bool, optional
        Read the ``train`` split (default), else ``val``.

    Returns
    -------
    features : list of Tensor
        ``uint8`` RGB images.
    labels : list of Tensor
        Their label images, also ``uint8`` RGB; turn one into class indices with
        [`voc_label_indices`][transconv.data.labels.voc_label_indices].

    Shape
    -----
    Each feature and each label: ``(3, H, W)``, ``H`` and ``W`` varying between examples.

    Raises
    ------
    FileNotFoundError
        If the tree, the split file or a file it lists is missing; the message names the path.
    ImageReadError
        If a file cannot be decoded.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=2, num_val=1, size=(40, 60))
    ...     features, labels = read_voc_images(voc_dir, is_train=True)
    >>> len(features), features[0].shape, labels[0].dtype
    (2, torch.Size([3, 40, 60]), torch.uint8)
    """
    features, labels = [], []
    for image_path, label_path in list_examples(voc_dir, "train" if is_train else "val"):
        features.append(read_rgb(image_path))
        labels.append(read_rgb(label_path))
    return features, labels


def _read_pair(paths: tuple[Path, Path], table: Tensor | None) -> tuple[Tensor, Tensor]:
    image_path, label_path = paths
    image = read_rgb(image_path)
    if table is None:
        label = read_voc_label(label_path)
    else:
        label = voc_label_indices(read_rgb(label_path), table)
    if image.shape[1:] != label.shape:
        raise ValueError(
            f"{image_path} is {tuple(image.shape[1:])} but its label {label_path} is "
            f"{tuple(label.shape)}; image and label must have the same height and width"
        )
    return image, label.to(torch.uint8)  # 0..20 or 255: a byte, an eighth of int64


def read_examples(
    pairs: Sequence[tuple[Path, Path]],
    *,
    use_palette: bool = True,
    progress: bool = False,
    desc: str = "decode",
    delay: float = 0.0,
) -> tuple[list[Tensor], list[Tensor]]:
    """Decode (image, label) file pairs into ``uint8`` images and ``uint8`` class-index maps.

    Threads decode in parallel (Pillow releases the GIL while it decodes).

    Parameters
    ----------
    pairs : sequence of (Path, Path)
        Image and label files, as [`list_examples`][transconv.data.layout.list_examples]
        returns them.
    use_palette : bool, optional
        Read labels with [`read_voc_label`][transconv.data.labels.read_voc_label] (default);
        False decodes the RGB label image through
        [`voc_label_indices`][transconv.data.labels.voc_label_indices], as d2l does.
    progress : bool, optional
        Show a tqdm progress bar (default False).
    desc : str, optional
        The progress bar's label (default ``"decode"``).
    delay : float, optional
        Seconds before the bar appears (default 0; tqdm's ``delay``): reading that ends
        sooner prints nothing.

    Returns
    -------
    images : list of Tensor
        ``uint8`` RGB images.
    labels : list of Tensor
        ``uint8`` class indices, 255 = ignore.

    Shape
    -----
    ``images[k]``: ``(3, H_k, W_k)``; ``labels[k]``: ``(H_k, W_k)``.

    Raises
    ------
    ValueError
        If an image and its label differ in size.
    ImageReadError
        If a file cannot be decoded.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.layout import list_examples
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=2, num_val=1, size=(40, 60))
    ...     images, labels = read_examples(list_examples(voc_dir, "train"))
    >>> images[0].shape, labels[0].shape, labels[0].dtype
    (torch.Size([3, 40, 60]), torch.Size([40, 60]), torch.uint8)
    """
    table = None if use_palette else voc_colormap2label()
    bar = tqdm(total=len(pairs), desc=desc, unit="img", disable=not progress, delay=delay)
    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        examples = []
        for example in pool.map(lambda pair: _read_pair(pair, table), pairs):
            examples.append(example)
            bar.update()
    bar.close()
    return [image for image, _ in examples], [label for _, label in examples]


class VOCSegDataset(Dataset):
    """VOC segmentation examples, randomly cropped to ``crop_size``, as d2l's ``VOCSegDataset``.

    Images smaller than the crop in either dimension are dropped (d2l's ``filter``); the
    numbers kept and dropped are in ``num_kept`` and ``num_dropped`` and in the message
    printed on construction.

    **Memory.** With ``cache=True`` (the default) every kept image is decoded once, at
    construction (with a progress bar when ``verbose`` and decoding takes over a second), and
    held as ``uint8``: 3 bytes per pixel plus 1 for the label, a quarter of d2l's ``float32``
    images. An item is then a crop,
    converted to ``float32`` and normalised. ``cache=False`` holds only paths and decodes an
    image every time an item is read; use it when the split does
    not fit in memory. With DataLoader workers the cache is shared copy-on-write (fork).

    **Crops.** With ``seed`` the crop of example ``idx`` is drawn from a fresh generator
    seeded with [`mix_seed`][transconv.data.crops.mix_seed]``(seed, epoch, idx)`` for the
    training split, and ``mix_seed(seed, -1, idx)`` for validation (fixed across epochs).
    Crops are then identical for any number of DataLoader workers and after a resume. Call
    [`set_epoch`][transconv.data.dataset.VOCSegDataset.set_epoch] before iterating each
    epoch; the epoch lives in shared memory, so persistent workers see it too. Without
    ``seed`` the training split draws from torch's global generator (as d2l does) and the
    validation split uses ``seed=0``.

    Parameters
    ----------
    is_train : bool
        The ``train`` split, else ``val``.
    crop_size : int or tuple of int
        ``(h, w)`` of every item (an int for a square crop).
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    seed : int or None, optional
        Makes every crop a function of ``(seed, epoch, idx)`` (default None: see above).
    cache : bool, optional
        Decode once and keep ``uint8`` images in memory (default True).
    as_uint8 : bool, optional
        Return the ``uint8`` crop and ``uint8`` label (default False: ``float32`` normalised
        image, ``int64`` label). A ``DataLoader`` with
        ``collate_fn=``[`collate_normalize`][transconv.data.dataset.collate_normalize] then
        converts a whole batch at once, which saves one ``float32`` copy per image (and, with
        workers, sends a quarter of the bytes between processes).
    use_palette : bool, optional
        Read labels straight from the palette PNGs
        ([`read_voc_label`][transconv.data.labels.read_voc_label], default); False decodes
        the RGB label image through
        [`voc_label_indices`][transconv.data.labels.voc_label_indices], as d2l does. Both give
        equal labels.
    verbose : bool, optional
        Print ``read N examples (dropped M smaller than hxw)`` and show the decoding bar
        (default True).

    Shape
    -----
    An item: image ``(3, h, w)`` ``float32``, label ``(h, w)`` ``int64`` (255 = ignore);
    both ``uint8`` with ``as_uint8``.

    Raises
    ------
    TypeError
        If ``crop_size`` or ``seed`` has the wrong type.
    ValueError
        If ``crop_size`` is not positive, an image and its label differ in size, or every
        label pixel of the kept examples is 255 (nothing to learn from or to score).
    FileNotFoundError
        If the tree, the split file or a listed file is missing.
    ImageReadError
        If a file cannot be decoded.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, 3, 1, size=(40, 60), sizes=[(40, 60), (20, 60)])
    ...     dataset = VOCSegDataset(True, (32, 48), voc_dir, seed=0, verbose=False)
    ...     print(dataset.summary())
    read 2 examples (dropped 1 smaller than 32x48)
    >>> image, label = dataset[0]
    >>> image.dtype, image.shape, label.dtype, label.shape
    (torch.float32, torch.Size([3, 32, 48]), torch.int64, torch.Size([32, 48]))
    >>> dataset.set_epoch(1)
    >>> torch.equal(dataset[0][0], image)  # a new epoch, a new crop
    False
    """

    def __init__(
        self,
        is_train: bool,
        crop_size: int | Sequence[int],
        voc_dir: str | os.PathLike,
        *,
        seed: int | None = None,
        cache: bool = True,
        as_uint8: bool = False,
        use_palette: bool = True,
        verbose: bool = True,
    ) -> None:
        self.crop_size = as_hw(crop_size, "crop_size", example="(320, 480)")
        if seed is None and not is_train:
            seed = 0  # validation crops are fixed by default
        self.seed = None if seed is None else as_int(seed, "seed", example="0")
        self.is_train = bool(is_train)
        self.split = "train" if is_train else "val"
        self.use_palette, self.cached, self.as_uint8 = use_palette, bool(cache), bool(as_uint8)
        examples = list_examples(voc_dir, self.split)
        self.examples = [pair for pair in examples if self._fits(pair[0])]
        self.num_kept, self.num_dropped = len(self.examples), len(examples) - len(self.examples)
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self._colormap2label: Tensor | None = None
        self.images: list[Tensor] = []
        self.labels: list[Tensor] = []
        if self.cached:
            self.images, self.labels = read_examples(
                self.examples,
                use_palette=use_palette,
                progress=verbose,
                desc=f"decoding {self.split} images",
                delay=1.0,  # a bar for the real dataset, silence for a few test images
            )
        if self.num_kept:
            labels = self.labels if self.cached else (self._read_label(p) for _, p in self.examples)
            check_scorable_labels(labels, f"the {self.split} split of {voc_dir}")
        if verbose:
            print(self.summary())

    def summary(self) -> str:
        """One line: how many examples were kept and how many dropped for being too small."""
        height, width = self.crop_size
        return (
            f"read {self.num_kept} examples "
            f"(dropped {self.num_dropped} smaller than {height}x{width})"
        )

    @property
    def epoch(self) -> int:
        """The epoch whose crops items are drawn from (see ``set_epoch``)."""
        return int(self._epoch[0])

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose training crops the next items are drawn from.

        Call it before ``iter(loader)`` each epoch (as with ``DistributedSampler``); it has
        no effect on validation crops, nor without ``seed``.

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
        self._epoch[0] = as_int(epoch, "epoch", minimum=0)

    def _fits(self, image_path: Path) -> bool:
        height, width = image_size(image_path)
        return height >= self.crop_size[0] and width >= self.crop_size[1]

    def _read_label(self, path: Path) -> Tensor:
        if self.use_palette:
            return read_voc_label(path)
        return voc_label_indices(read_rgb(path), self._table())

    def crop_generator(self, idx: int) -> torch.Generator | None:
        """The generator the crop of item ``idx`` is drawn from, at the current epoch.

        Parameters
        ----------
        idx : int
            Index of the item.

        Returns
        -------
        torch.Generator or None
            With ``seed``: a fresh generator seeded with ``mix_seed(seed, epoch, idx)``
            (``epoch`` is -1 for validation); without ``seed``, None: torch's global generator.
        """
        if self.seed is None:
            return None
        epoch = self.epoch if self.is_train else FIXED_EPOCH
        return seeded(mix_seed(self.seed, epoch, idx))

    def _example(self, idx: int) -> tuple[Tensor, Tensor]:
        if self.cached:
            return self.images[idx], self.labels[idx]
        return _read_pair(self.examples[idx], None if self.use_palette else self._table())

    def _table(self) -> Tensor:
        if self._colormap2label is None:
            self._colormap2label = voc_colormap2label()
        return self._colormap2label

    def __getitem__(self, idx: int) -> tuple[Tensor, Tensor]:
        image, label = self._example(idx)
        generator = self.crop_generator(idx)
        top, left = random_crop_origin(tuple(label.shape), self.crop_size, generator)
        rows = slice(top, top + self.crop_size[0])
        cols = slice(left, left + self.crop_size[1])
        image, label = image[:, rows, cols], label[rows, cols]
        if self.as_uint8:  # collate_normalize converts the whole batch at once
            return image.contiguous(), label.to(torch.uint8).contiguous()
        return normalize_image(image), label.long()

    def __len__(self) -> int:
        return len(self.examples)


def collate_normalize(batch: Sequence[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Stack ``uint8`` crops into a batch and normalise it in one go: a ``DataLoader``'s
    ``collate_fn`` for [`VOCSegDataset`][transconv.data.dataset.VOCSegDataset] with
    ``as_uint8=True``.

    The batch equals what the default collation of the ``float32`` items gives (bit for bit:
    [`normalize_image`][transconv.data.images.normalize_image] works pixel by pixel).

    Parameters
    ----------
    batch : sequence of (Tensor, Tensor)
        ``uint8`` image crops and their ``uint8`` labels.

    Returns
    -------
    images : Tensor
        ``float32``, normalised.
    labels : Tensor
        ``int64`` (255 = ignore).

    Shape
    -----
    Each input image ``(3, h, w)``, label ``(h, w)``. Output: ``(B, 3, h, w)`` and
    ``(B, h, w)``.

    Examples
    --------
    >>> crop = torch.full((3, 2, 2), 255, dtype=torch.uint8)
    >>> images, labels = collate_normalize([(crop, torch.zeros(2, 2, dtype=torch.uint8))] * 4)
    >>> images.shape, images.dtype, labels.dtype
    (torch.Size([4, 3, 2, 2]), torch.float32, torch.int64)
    """
    images = torch.stack([image for image, _ in batch])
    labels = torch.stack([label for _, label in batch])
    return normalize_image(images), labels.long()


__getattr__ = moved_names(
    __name__,
    {"load_data_voc": "transconv.data.loaders", "set_loader_epoch": "transconv.data.loaders"},
)
