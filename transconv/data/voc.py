"""Pascal VOC 2012 semantic segmentation: reading, label decoding, cropping, loading, download.

The pipeline follows d2l.ai's "Semantic Segmentation and the Dataset" chapter with three
corrections:

* the object-boundary colour (224, 224, 192) and every other colour outside the 21 classes
  become :data:`IGNORE_INDEX` (255), not background (see :func:`voc_label_indices`);
* label PNGs are palette images whose palette indices *are* the class indices, so
  :func:`read_voc_label` reads them exactly and fast, without an RGB round trip;
* :func:`normalize_image` divides by 255 before the ImageNet mean/std (d2l PR #1980).

The directory a function calls ``voc_dir`` is ``ROOT/VOCdevkit/VOC2012`` with ``JPEGImages/``,
``SegmentationClass/`` and ``ImageSets/Segmentation/{train,val}.txt``.
"""

from __future__ import annotations

import http.client
import numbers
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, get_worker_info
from torchvision.datasets.utils import download_and_extract_archive

__all__ = [
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VOC2012_MD5",
    "VOC2012_MIRRORS",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "VOCSegDataset",
    "download_voc",
    "label2image",
    "load_data_voc",
    "normalize_image",
    "read_rgb",
    "read_voc_images",
    "read_voc_label",
    "voc_colormap2label",
    "voc_label_indices",
    "voc_palette",
]

VOC_CLASSES: tuple[str, ...] = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus",
    "car", "cat", "chair", "cow", "diningtable", "dog", "horse", "motorbike",
    "person", "potted plant", "sheep", "sofa", "train", "tv/monitor",
)  # fmt: skip
"""The 21 class names; the position in the tuple is the class index."""

VOC_COLORMAP: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128),
    (128, 0, 128), (0, 128, 128), (128, 128, 128), (64, 0, 0), (192, 0, 0),
    (64, 128, 0), (192, 128, 0), (64, 0, 128), (192, 0, 128), (64, 128, 128),
    (192, 128, 128), (0, 64, 0), (128, 64, 0), (0, 192, 0), (128, 192, 0),
    (0, 64, 128),
)  # fmt: skip
"""RGB colour of each class in the label PNGs (d2l's ``VOC_COLORMAP``)."""

IGNORE_INDEX = 255
"""Label of pixels that neither the loss nor the metrics may count (VOC's object outlines)."""

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

VOC2012_FILENAME = "VOCtrainval_11-May-2012.tar"
VOC2012_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
VOC2012_MIRRORS: tuple[str, ...] = (
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "http://d2l-data.s3-accelerate.amazonaws.com/" + VOC2012_FILENAME,
    "http://pjreddie.com/media/files/" + VOC2012_FILENAME,
)
"""Where :func:`download_voc` looks for the trainval tar, in order.

The Oxford host is the official one (``thor`` is the name torchvision uses since the host moved);
it is often down (torchvision issues #3830, #4243, #9269). d2l's S3 bucket and Joseph Redmon's
mirror (pjreddie.com, set up for YOLO) serve byte-identical copies; the md5 check rejects
anything else.
"""

_EXPECTED_TREE = (
    "a Pascal VOC tree ROOT/VOCdevkit/VOC2012 holding JPEGImages/, SegmentationClass/ and "
    "ImageSets/Segmentation/{train,val}.txt; get it with download_voc(ROOT) or make an "
    "offline stand-in with make_synthetic_voc(ROOT, num_train, num_val)"
)


def read_rgb(path: str | os.PathLike) -> Tensor:
    """Read an image file as a uint8 RGB tensor of shape (3, H, W).

    Does what d2l's ``torchvision.io.read_image(path, ImageReadMode.RGB)`` does (a palette
    PNG comes back in its palette's colours), through Pillow, because torchvision's image
    decoders are deprecated since torchvision 0.29.

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG or PNG file.

    Returns
    -------
    Tensor
        uint8 tensor of shape (3, H, W).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Image.new("RGB", (3, 2), (128, 0, 0)).save(Path(tmp) / "red.png")
    ...     image = read_rgb(Path(tmp) / "red.png")
    >>> image.shape, image[:, 0, 0].tolist()
    (torch.Size([3, 2, 3]), [128, 0, 0])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    with Image.open(path) as image:
        array = np.array(image.convert("RGB"), dtype=np.uint8)
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def voc_palette() -> Tensor:
    """Return the 256-colour VOC palette stored in every ``SegmentationClass`` PNG.

    Entry ``i`` is the colour of label ``i``: the first 21 are :data:`VOC_COLORMAP`, entry 255
    is the boundary colour (224, 224, 192). The bits of ``i`` are spread over R, G and B from
    the most significant bit down (the devkit's ``labelcolormap.m``).

    Returns
    -------
    Tensor
        uint8 tensor of shape (256, 3).

    Examples
    --------
    >>> palette = voc_palette()
    >>> palette[15].tolist(), palette[255].tolist()
    ([192, 128, 128], [224, 224, 192])
    """
    index = torch.arange(256)
    palette = torch.zeros(256, 3, dtype=torch.int64)
    for bit in range(8):
        for channel in range(3):
            palette[:, channel] |= ((index >> (3 * bit + channel)) & 1) << (7 - bit)
    return palette.to(torch.uint8)


def voc_colormap2label() -> Tensor:
    """Build d2l's lookup table from a packed RGB colour to a class index.

    Colour ``(r, g, b)`` sits at position ``(r * 256 + g) * 256 + b``. The 21 class colours map
    to their index; every other colour maps to :data:`IGNORE_INDEX`.

    Returns
    -------
    Tensor
        int64 tensor of length ``256 ** 3`` (128 MiB: build it once and reuse it).

    Examples
    --------
    >>> table = voc_colormap2label()
    >>> table.shape, table[(128 * 256 + 0) * 256 + 0].item()
    (torch.Size([16777216]), 1)
    >>> table[(224 * 256 + 224) * 256 + 192].item()  # the object boundary: ignored
    255
    """
    table = torch.full((256**3,), IGNORE_INDEX, dtype=torch.int64)
    for index, (r, g, b) in enumerate(VOC_COLORMAP):
        table[(r * 256 + g) * 256 + b] = index
    return table


def voc_label_indices(colormap: Tensor, colormap2label: Tensor) -> Tensor:
    """Map an RGB label image to class indices; unknown colours become 255.

    VOC draws a 5-pixel band of colour (224, 224, 192) along every object outline: the
    annotators were unsure there. d2l's table maps that colour (and any other colour outside
    the 21) to 0, *background*. That is wrong twice over: the loss then teaches the network
    that the outline of every object is background, so predicted masks shrink, and the metrics
    count the band as background pixels, which VOC's own evaluation leaves out. Mapping it to
    :data:`IGNORE_INDEX` and giving the loss ``ignore_index=255`` removes both errors.

    Parameters
    ----------
    colormap : Tensor
        uint8 RGB image of shape (3, H, W), as :func:`read_rgb` returns it.
    colormap2label : Tensor
        The table from :func:`voc_colormap2label`.

    Returns
    -------
    Tensor
        int64 tensor of shape (H, W).

    Raises
    ------
    ValueError
        If ``colormap`` is not a uint8 3xHxW tensor or the table has the wrong length.

    Examples
    --------
    >>> rgb = torch.tensor([[[0, 128, 224]], [[0, 0, 224]], [[0, 0, 192]]], dtype=torch.uint8)
    >>> voc_label_indices(rgb, voc_colormap2label())
    tensor([[  0,   1, 255]])
    """
    if colormap.dtype != torch.uint8 or colormap.dim() != 3 or colormap.shape[0] != 3:
        raise ValueError(
            f"colormap must be a uint8 RGB image of shape 3xHxW, got dtype {colormap.dtype} "
            f"and shape {tuple(colormap.shape)}; read it with "
            "read_rgb(path)"
        )
    if colormap2label.shape != (256**3,):
        raise ValueError(
            f"colormap2label must have length 256**3 = {256**3}, got shape "
            f"{tuple(colormap2label.shape)}; build it with voc_colormap2label()"
        )
    rgb = colormap.to(torch.int64)
    return colormap2label[(rgb[0] * 256 + rgb[1]) * 256 + rgb[2]]


def _palette_to_labels(palette: Sequence[int]) -> Tensor:
    """Class index of each palette entry of a "P" PNG (255 for colours outside the 21)."""
    colors = torch.zeros(256, 3, dtype=torch.int64)
    entries = torch.tensor(list(palette)[: 256 * 3], dtype=torch.int64).reshape(-1, 3)
    colors[: len(entries)] = entries
    matches = (colors[:, None, :] == torch.tensor(VOC_COLORMAP)[None]).all(dim=2)
    labels = matches.to(torch.int64).argmax(dim=1)
    return torch.where(matches.any(dim=1), labels, IGNORE_INDEX)


def read_voc_label(path: str | os.PathLike, *, colormap2label: Tensor | None = None) -> Tensor:
    """Read a VOC label PNG as class indices.

    VOC's label PNGs are palette ("P" mode) images: each pixel stores a palette index, and the
    palette gives index ``i`` the colour of class ``i`` (255, the boundary, is 224,224,192).
    So the indices are the labels; this reads them directly, with each palette entry checked
    against :data:`VOC_COLORMAP` (an entry with another colour reads as 255, exactly as the RGB
    path would). Other PNGs go through RGB and :func:`voc_label_indices`.

    Parameters
    ----------
    path : str or os.PathLike
        A ``SegmentationClass/*.png`` file.
    colormap2label : Tensor, optional
        Table for the RGB fallback; built on demand when not given (pass one to read many
        non-palette PNGs).

    Returns
    -------
    Tensor
        int64 tensor of shape (H, W) with values in 0..20 or 255.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.

    Examples
    --------
    >>> import tempfile
    >>> from PIL import Image
    >>> png = Image.fromarray(np.array([[0, 15, 255]], dtype=np.uint8))
    >>> png.putpalette(voc_palette().flatten().tolist())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     png.save(Path(tmp) / "label.png")
    ...     read_voc_label(Path(tmp) / "label.png")
    tensor([[  0,  15, 255]])
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"label PNG {path} not found")
    with Image.open(path) as image:
        if image.mode == "P":
            indices = torch.from_numpy(np.asarray(image, dtype=np.int64))
            return _palette_to_labels(image.getpalette() or [])[indices]
    rgb = read_rgb(path)
    table = voc_colormap2label() if colormap2label is None else colormap2label
    return voc_label_indices(rgb, table)


def _check_voc_tree(voc_dir: Path) -> None:
    """Raise FileNotFoundError naming the first missing part of a VOC tree."""
    for part in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        if not (voc_dir / part).is_dir():
            nested = voc_dir / "VOCdevkit" / "VOC2012"
            hint = f" (did you mean voc_dir={nested}?)" if nested.is_dir() else ""
            raise FileNotFoundError(
                f"{voc_dir / part} not found{hint}: voc_dir must be {_EXPECTED_TREE}"
            )


def _list_examples(voc_dir: str | os.PathLike, is_train: bool) -> list[tuple[Path, Path]]:
    """(image path, label path) of each example listed in the split file; all checked."""
    voc_dir = Path(voc_dir)
    _check_voc_tree(voc_dir)
    split = voc_dir / "ImageSets" / "Segmentation" / ("train.txt" if is_train else "val.txt")
    if not split.is_file():
        raise FileNotFoundError(f"split file {split} not found: voc_dir must be {_EXPECTED_TREE}")
    names = split.read_text().split()
    pairs = [
        (voc_dir / "JPEGImages" / f"{n}.jpg", voc_dir / "SegmentationClass" / f"{n}.png")
        for n in names
    ]
    for path in (p for pair in pairs for p in pair):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found, but {split.name} lists it; the tree is incomplete "
                "(re-extract the VOC tar or regenerate it with make_synthetic_voc)"
            )
    return pairs


def read_voc_images(
    voc_dir: str | os.PathLike, is_train: bool = True
) -> tuple[list[Tensor], list[Tensor]]:
    """Read every image of a split and its RGB label image, as d2l's ``read_voc_images``.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    is_train : bool, default True
        Read the ``train`` split, else ``val``.

    Returns
    -------
    features, labels : list of Tensor
        uint8 RGB images of shape (3, H, W) and their label images, also uint8 RGB (3, H, W);
        turn a label into class indices with :func:`voc_label_indices`.

    Raises
    ------
    FileNotFoundError
        If the tree, the split file or a file it lists is missing; the message names the path.

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
    for image_path, label_path in _list_examples(voc_dir, is_train):
        features.append(read_rgb(image_path))
        labels.append(read_rgb(label_path))
    return features, labels


def normalize_image(img: Tensor) -> Tensor:
    """Scale a uint8 image to [0, 1], then standardise with the ImageNet mean and std.

    .. math:: x' = (x / 255 - \\mu_c) / \\sigma_c

    with :math:`\\mu = (0.485, 0.456, 0.406)` and :math:`\\sigma = (0.229, 0.224, 0.225)`, the
    statistics the torchvision backbones were trained with.

    Parameters
    ----------
    img : Tensor
        uint8 tensor of shape (3, H, W) or (B, 3, H, W).

    Returns
    -------
    Tensor
        float32 tensor of the same shape.

    Raises
    ------
    TypeError
        If ``img`` is not uint8 (a float image was probably normalised already).
    ValueError
        If ``img`` is not 3xHxW or Bx3xHxW.

    Examples
    --------
    >>> normalize_image(torch.full((3, 1, 1), 255, dtype=torch.uint8)).flatten()
    tensor([2.2489, 2.4286, 2.6400])
    """
    if img.dtype != torch.uint8:
        raise TypeError(
            f"normalize_image expects a uint8 image (values 0..255), got dtype {img.dtype}; "
            "pass the image as read_rgb returns it, it divides by 255 itself"
        )
    if img.dim() not in (3, 4) or img.shape[-3] != 3:
        raise ValueError(
            f"normalize_image expects shape 3xHxW or Bx3xHxW, got {tuple(img.shape)}; "
            "read the image with read_rgb so it has 3 channels first"
        )
    mean = torch.tensor(IMAGENET_MEAN).reshape(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).reshape(3, 1, 1)
    return (img.to(torch.float32) / 255 - mean) / std


def _check_crop_size(crop_size: Sequence[int]) -> tuple[int, int]:
    """Return ``crop_size`` as (height, width) or raise ValueError."""
    values = tuple(crop_size) if isinstance(crop_size, Sequence) else ()
    integral = all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values)
    if len(values) != 2 or not integral or min(values) < 1:
        raise ValueError(
            f"crop_size must be two positive ints (height, width), got {crop_size!r}; "
            "e.g. (320, 480) as in d2l"
        )
    return int(values[0]), int(values[1])


class VOCSegDataset(Dataset):
    """VOC segmentation examples, randomly cropped to ``crop_size``, as d2l's ``VOCSegDataset``.

    Images smaller than the crop in either dimension are dropped (d2l's ``filter``); the
    numbers kept and dropped are in :attr:`num_kept` and :attr:`num_dropped` and in the message
    printed on construction. Images are decoded when an item is read, so the dataset holds
    only paths and works with ``num_workers > 0``.

    Parameters
    ----------
    is_train : bool
        ``train`` split, else ``val``.
    crop_size : (int, int)
        (height, width) of every item.
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    generator : torch.Generator, optional
        Draws the crop origins (torch's global generator when None). Inside a DataLoader
        worker each worker draws from its own generator seeded with the worker's seed, so
        workers never repeat each other's crops.
    use_palette : bool, default True
        Read labels straight from the palette PNGs (:func:`read_voc_label`); False decodes the
        RGB label image through :func:`voc_label_indices`, as d2l does. Both give equal labels.
    verbose : bool, default True
        Print ``read N examples (dropped M smaller than HxW)``.

    Raises
    ------
    ValueError
        If ``crop_size`` is not two positive ints, or an image and its label differ in size.
    FileNotFoundError
        As :func:`read_voc_images`.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, 3, 1, size=(40, 60), sizes=[(40, 60), (20, 60)])
    ...     dataset = VOCSegDataset(True, (32, 48), voc_dir)
    ...     image, label = dataset[0]
    read 2 examples (dropped 1 smaller than 32x48)
    >>> image.dtype, image.shape, label.dtype, label.shape
    (torch.float32, torch.Size([3, 32, 48]), torch.int64, torch.Size([32, 48]))
    """

    def __init__(
        self,
        is_train: bool,
        crop_size: Sequence[int],
        voc_dir: str | os.PathLike,
        *,
        generator: torch.Generator | None = None,
        use_palette: bool = True,
        verbose: bool = True,
    ) -> None:
        self.crop_size = _check_crop_size(crop_size)
        examples = _list_examples(voc_dir, is_train)
        self.examples = [pair for pair in examples if self._fits(pair[0])]
        self.num_kept = len(self.examples)
        self.num_dropped = len(examples) - self.num_kept
        self.generator = generator
        self.use_palette = use_palette
        self._colormap2label: Tensor | None = None
        self._worker_generator: torch.Generator | None = None
        if verbose:
            print(self.summary())

    def summary(self) -> str:
        """One line: how many examples were kept and how many dropped for being too small."""
        height, width = self.crop_size
        return (
            f"read {self.num_kept} examples "
            f"(dropped {self.num_dropped} smaller than {height}x{width})"
        )

    def _fits(self, image_path: Path) -> bool:
        with Image.open(image_path) as image:  # reads the header only
            width, height = image.size
        return height >= self.crop_size[0] and width >= self.crop_size[1]

    def _read_label(self, path: Path) -> Tensor:
        if self.use_palette:
            return read_voc_label(path)
        if self._colormap2label is None:
            self._colormap2label = voc_colormap2label()
        return voc_label_indices(read_rgb(path), self._colormap2label)

    def _crop_generator(self) -> torch.Generator | None:
        worker = get_worker_info()
        if worker is None or self.generator is None:
            return self.generator
        if self._worker_generator is None:
            self._worker_generator = torch.Generator().manual_seed(worker.seed)
        return self._worker_generator

    def crop_origin(self, height: int, width: int) -> tuple[int, int]:
        """Draw the (top, left) corner of a crop inside a ``height`` x ``width`` image."""
        generator = self._crop_generator()
        top = torch.randint(height - self.crop_size[0] + 1, (1,), generator=generator)
        left = torch.randint(width - self.crop_size[1] + 1, (1,), generator=generator)
        return int(top), int(left)

    def __getitem__(self, idx: int) -> tuple[Tensor, Tensor]:
        image_path, label_path = self.examples[idx]
        image = read_rgb(image_path)
        label = self._read_label(label_path)
        if image.shape[1:] != label.shape:
            raise ValueError(
                f"{image_path} is {tuple(image.shape[1:])} but its label {label_path} is "
                f"{tuple(label.shape)}; image and label must have the same height and width"
            )
        top, left = self.crop_origin(*label.shape)
        rows = slice(top, top + self.crop_size[0])
        cols = slice(left, left + self.crop_size[1])
        return normalize_image(image[:, rows, cols]), label[rows, cols]

    def __len__(self) -> int:
        return len(self.examples)


def load_data_voc(
    batch_size: int,
    crop_size: Sequence[int],
    voc_dir: str | os.PathLike,
    num_workers: int = 0,
    *,
    seed: int = 0,
) -> tuple[DataLoader, DataLoader]:
    """Build the training and validation loaders, as d2l's ``load_data_voc``.

    The training loader shuffles and drops the last incomplete batch; the validation loader
    keeps every example (unlike d2l's, which drops the remainder from the evaluation too).
    Shuffling and crops are drawn from generators seeded with ``seed`` and ``seed + 1``.

    Parameters
    ----------
    batch_size : int
        Examples per batch.
    crop_size : (int, int)
        (height, width) of the random crops.
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    num_workers : int, default 0
        DataLoader worker processes.
    seed : int, default 0
        Seed of the shuffling and cropping.

    Returns
    -------
    train_iter, test_iter : DataLoader
        Batches of (float32 Bx3xhxw normalised images, int64 Bxhxw labels, 255 = ignore).

    Raises
    ------
    ValueError
        If ``batch_size`` is not a positive int, or as :class:`VOCSegDataset`.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=4, num_val=2, size=(40, 60))
    ...     train_iter, test_iter = load_data_voc(2, (32, 48), voc_dir)
    ...     images, labels = next(iter(train_iter))
    read 4 examples (dropped 0 smaller than 32x48)
    read 2 examples (dropped 0 smaller than 32x48)
    >>> images.shape, labels.shape
    (torch.Size([2, 3, 32, 48]), torch.Size([2, 32, 48]))
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    train = VOCSegDataset(True, crop_size, voc_dir, generator=_seeded(seed + 1))
    test = VOCSegDataset(False, crop_size, voc_dir, generator=_seeded(seed + 2))
    train_iter = DataLoader(
        train, batch_size, shuffle=True, drop_last=True,
        num_workers=num_workers, generator=_seeded(seed),
    )  # fmt: skip
    test_iter = DataLoader(test, batch_size, num_workers=num_workers, generator=_seeded(seed))
    return train_iter, test_iter


def _seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def label2image(pred: Tensor) -> Tensor:
    """Colour class indices with the VOC palette, as d2l's ``label2image``.

    Indices 0..20 get :data:`VOC_COLORMAP`; :data:`IGNORE_INDEX` (255) gets the boundary colour
    (224, 224, 192), the cream VOC draws its outlines in, so ignored pixels stay visible
    against black background; 21..254 get the rest of :func:`voc_palette`.

    Parameters
    ----------
    pred : Tensor
        Integer tensor of class indices in 0..255, any shape (typically (H, W)).

    Returns
    -------
    Tensor
        uint8 tensor of shape ``(*pred.shape, 3)``, ready for ``plt.imshow``.

    Raises
    ------
    TypeError
        If ``pred`` is not an integer tensor (take ``logits.argmax(dim=1)`` first).
    ValueError
        If a value lies outside 0..255.

    Examples
    --------
    >>> label2image(torch.tensor([[0, 1, 255]]))
    tensor([[[  0,   0,   0],
             [128,   0,   0],
             [224, 224, 192]]], dtype=torch.uint8)
    """
    if pred.dtype.is_floating_point or pred.dtype.is_complex or pred.dtype == torch.bool:
        raise TypeError(
            f"label2image expects integer class indices, got dtype {pred.dtype}; "
            "take logits.argmax(dim=1) first"
        )
    if pred.numel() and (int(pred.min()) < 0 or int(pred.max()) > 255):
        raise ValueError(
            f"label2image expects class indices in 0..255, got values from {int(pred.min())} "
            f"to {int(pred.max())}"
        )
    return voc_palette()[pred.to(torch.int64)]


def _voc_tree_present(voc_dir: Path) -> bool:
    split_dir = voc_dir / "ImageSets" / "Segmentation"
    return all((voc_dir / d).is_dir() for d in ("JPEGImages", "SegmentationClass")) and all(
        (split_dir / f).is_file() for f in ("train.txt", "val.txt")
    )


def download_voc(
    root: str | os.PathLike, *, mirrors: Sequence[str] = VOC2012_MIRRORS
) -> Path:
    """Download and extract VOC 2012 trainval (2 GB) into ``root``; try each mirror in turn.

    Each URL goes through :func:`torchvision.datasets.utils.download_and_extract_archive`,
    which verifies the md5 (:data:`VOC2012_MD5`) before extracting, so a mirror can only
    supply the genuine file. Network errors and checksum failures move on to the next URL.
    Nothing is downloaded when the tree is already there.

    Parameters
    ----------
    root : str or os.PathLike
        Directory that receives the tar and ``VOCdevkit/VOC2012``.
    mirrors : sequence of str, default :data:`VOC2012_MIRRORS`
        URLs of ``VOCtrainval_11-May-2012.tar``, tried in order.

    Returns
    -------
    Path
        ``root/VOCdevkit/VOC2012``.

    Raises
    ------
    ValueError
        If ``mirrors`` is empty.
    RuntimeError
        If every URL failed; the message lists each URL with its error and says where to
        place a manually downloaded copy.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=1, num_val=1, size=(8, 8))
    ...     download_voc(tmp) == voc_dir  # already there: no download
    True
    """
    if not mirrors:
        raise ValueError("mirrors must list at least one URL, got an empty sequence")
    root = Path(root).expanduser()
    voc_dir = root / "VOCdevkit" / "VOC2012"
    if _voc_tree_present(voc_dir):
        return voc_dir
    failures = []
    for url in mirrors:
        try:
            download_and_extract_archive(url, str(root), filename=VOC2012_FILENAME, md5=VOC2012_MD5)
        except (OSError, RuntimeError, http.client.HTTPException, tarfile.TarError) as error:
            failures.append(f"  {url}: {type(error).__name__}: {error}")
            continue
        if _voc_tree_present(voc_dir):
            return voc_dir
        failures.append(f"  {url}: extracted, but {voc_dir} is still incomplete")
    raise RuntimeError(
        "could not download Pascal VOC 2012 from any URL tried:\n" + "\n".join(failures) + "\n"
        f"Download {VOC2012_FILENAME} (md5 {VOC2012_MD5}) by hand and extract it in {root}, "
        f"so that {voc_dir}/JPEGImages, SegmentationClass and "
        "ImageSets/Segmentation/{train,val}.txt exist; offline, make_synthetic_voc(root, "
        "num_train, num_val) writes a small stand-in with the same layout"
    )
