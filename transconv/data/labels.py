"""VOC class labels: the 21 classes, their colours, and label PNGs read *and* written.

VOC's label PNGs (``SegmentationClass/*.png``) are palette images: each pixel stores a palette
index, and the palette gives index $i$ the colour of class $i$. Index 255 marks the band
VOC draws along every object outline, where the annotators were unsure; its colour is
(224, 224, 192). That band is
[`IGNORE_INDEX`][transconv.data.labels.IGNORE_INDEX], neither background nor any class.

[`read_voc_label`][transconv.data.labels.read_voc_label] and
[`write_voc_label`][transconv.data.labels.write_voc_label] are inverses:

>>> import tempfile
>>> from pathlib import Path
>>> label = torch.tensor([[0, 15], [255, 3]])
>>> with tempfile.TemporaryDirectory() as tmp:
...     write_voc_label(Path(tmp) / "label.png", label)
...     torch.equal(read_voc_label(Path(tmp) / "label.png"), label)
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from transconv._validation import check_label_map, check_rgb_image
from transconv.data.images import ImageReadError, open_image

__all__ = [
    "IGNORE_INDEX",
    "VOC_CLASSES",
    "VOC_COLORMAP",
    "check_scorable_labels",
    "label2image",
    "read_voc_label",
    "voc_colormap2label",
    "voc_label_indices",
    "voc_palette",
    "write_voc_label",
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

_INDEX_MODES = ("L", "I", "I;16", "I;16B", "I;16L", "I;16N")
_COLOUR_MODES = ("RGB", "RGBA")


def voc_palette() -> Tensor:
    """Return the 256-colour VOC palette stored in every ``SegmentationClass`` PNG.

    Entry $i$ is the colour of label $i$: the first 21 are
    [`VOC_COLORMAP`][transconv.data.labels.VOC_COLORMAP], entry 255 is the boundary colour
    (224, 224, 192). The bits of $i$ are spread over R, G and B from the most significant bit
    down (the devkit's ``labelcolormap.m``).

    Returns
    -------
    Tensor
        ``uint8`` colours.

    Shape
    -----
    Output: ``(256, 3)``.

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

    Colour $(r, g, b)$ sits at position $(256 r + g) \\cdot 256 + b$. The 21 class colours map
    to their index; every other colour maps to
    [`IGNORE_INDEX`][transconv.data.labels.IGNORE_INDEX].

    Returns
    -------
    Tensor
        ``int64`` table (128 MiB: build it once and reuse it).

    Shape
    -----
    Output: ``(256 ** 3,)``.

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
    [`IGNORE_INDEX`][transconv.data.labels.IGNORE_INDEX] and giving the loss
    ``ignore_index=255`` removes both errors.

    Parameters
    ----------
    colormap : Tensor
        ``uint8`` RGB label image, as [`read_rgb`][transconv.data.images.read_rgb] returns it.
    colormap2label : Tensor
        The table from [`voc_colormap2label`][transconv.data.labels.voc_colormap2label].

    Returns
    -------
    Tensor
        ``int64`` class indices.

    Shape
    -----
    ``colormap``: ``(3, H, W)``; ``colormap2label``: ``(256 ** 3,)``. Output: ``(H, W)``.

    Raises
    ------
    TypeError
        If ``colormap`` is not a ``uint8`` tensor.
    ValueError
        If ``colormap`` is not ``(3, H, W)`` or the table has the wrong length.

    Examples
    --------
    >>> rgb = torch.tensor([[[0, 128, 224]], [[0, 0, 224]], [[0, 0, 192]]], dtype=torch.uint8)
    >>> voc_label_indices(rgb, voc_colormap2label())
    tensor([[  0,   1, 255]])
    """
    check_rgb_image(colormap, "colormap")
    if colormap2label.shape != (256**3,):
        raise ValueError(
            f"colormap2label must have length 256**3 = {256**3}, got shape "
            f"{tuple(colormap2label.shape)}; build it with voc_colormap2label()"
        )
    rgb = colormap.to(torch.int64)
    return colormap2label[(rgb[0] * 256 + rgb[1]) * 256 + rgb[2]]


def _palette_to_labels(palette: Sequence[int]) -> Tensor:
    """Class index of each palette entry of a "P" PNG (255 for colours outside the 21).

    A palette may hold fewer than 256 entries; an index past its end has no colour, so it
    reads as 255 (VOC's boundary index), never as the black of class 0.
    """
    colors = torch.full((256, 3), -1, dtype=torch.int64)
    entries = torch.tensor(list(palette)[: 256 * 3], dtype=torch.int64).reshape(-1, 3)
    colors[: len(entries)] = entries
    matches = (colors[:, None, :] == torch.tensor(VOC_COLORMAP)[None]).all(dim=2)
    labels = matches.to(torch.int64).argmax(dim=1)
    return torch.where(matches.any(dim=1), labels, IGNORE_INDEX)


def _palette_labels(
    indices: Tensor, palette: Sequence[int], path: Path, num_classes: int
) -> Tensor:
    """Class indices of a palette PNG: by VOC's colours, or the indices themselves.

    With VOC's palette (every index used is coloured as a VOC class, or is 255) the colours
    decide, as on the RGB path. With another palette (e.g. grey levels) the indices are the
    classes, provided each is a class index or 255 and no colour says otherwise; anything
    else is refused, never read as 255 (ignored) in silence.
    """
    by_colour = _palette_to_labels(palette)
    used = torch.bincount(indices.flatten(), minlength=256).nonzero().flatten()  # O(pixels)
    colour_of = by_colour[used]
    if bool(((colour_of != IGNORE_INDEX) | (used == IGNORE_INDEX)).all()):
        return by_colour[indices]
    valid = (used < num_classes) | (used == IGNORE_INDEX)
    bad = used[~valid | ((colour_of != IGNORE_INDEX) & (colour_of != used))]
    if bad.numel() == 0:
        return indices
    entries = list(palette)
    colours = [tuple(entries[3 * i : 3 * i + 3]) or "none" for i in bad[:5].tolist()]
    raise ValueError(
        f"label PNG {path} must use VOC's palette or hold class indices 0..{num_classes - 1} "
        f"or {IGNORE_INDEX} (ignore), got palette indices {bad[:5].tolist()} coloured "
        f"{colours}; map its values to class indices and save it with write_voc_label(path, "
        "label)"
    )


def _check_indices(indices: Tensor, path: Path, num_classes: int) -> Tensor:
    """Refuse grey-level label values that are neither a class nor the ignore index."""
    return check_label_map(
        indices,
        f"label PNG {path}",
        num_classes=num_classes,
        fix="a grey-level (L or I;16) label stores class indices: save it with "
        "write_voc_label(path, label)",
    )


def read_voc_label(
    path: str | os.PathLike,
    *,
    colormap2label: Tensor | None = None,
    num_classes: int = len(VOC_CLASSES),
) -> Tensor:
    """Read a VOC label PNG as class indices.

    Three kinds of PNG are read, each exactly:

    * palette ("P") images. With VOC's palette, VOC's own files, each palette entry used is
      checked against [`VOC_COLORMAP`][transconv.data.labels.VOC_COLORMAP] and the colour
      decides the class, as on the RGB path (index 255, VOC's outline band, reads as 255).
      With another palette (say grey levels), the indices are read as class indices, each
      below ``num_classes`` or 255; an index that is neither, or whose colour is another
      class's, is refused rather than read as 255;
    * grey-level ("L", "I;16") images store class indices directly; every value must be below
      ``num_classes`` or be 255;
    * RGB(A) images go through [`voc_label_indices`][transconv.data.labels.voc_label_indices].

    Parameters
    ----------
    path : str or os.PathLike
        A ``SegmentationClass/*.png`` file.
    colormap2label : Tensor or None, optional
        Table for RGB label images; built on demand when not given (pass one to read many).
    num_classes : int, optional
        Number of classes a grey-level label, or a palette label without VOC's palette, may
        hold (default 21, VOC's).

    Returns
    -------
    Tensor
        ``int64`` class indices in $0 \\ldots$ ``num_classes - 1``, or 255.

    Shape
    -----
    Output: ``(H, W)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageReadError
        If the file cannot be decoded, or its pixel format is not one of the three above.
    ValueError
        If a grey-level label, or a palette label without VOC's palette, holds a value that
        is not a class index nor 255.

    Examples
    --------
    >>> import tempfile
    >>> png = Image.fromarray(np.array([[0, 15, 255]], dtype=np.uint8))
    >>> png.putpalette(voc_palette().flatten().tolist())
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     png.save(Path(tmp) / "label.png")
    ...     read_voc_label(Path(tmp) / "label.png")
    tensor([[  0,  15, 255]])
    """
    path = Path(path)
    with open_image(path, "label PNG") as image:
        mode = image.mode
        if mode == "P":
            indices = torch.from_numpy(np.asarray(image, dtype=np.int64))
            return _palette_labels(indices, image.getpalette() or [], path, num_classes)
        if mode in _INDEX_MODES:
            indices = torch.from_numpy(np.asarray(image, dtype=np.int64))
            return _check_indices(indices, path, num_classes)
        if mode not in _COLOUR_MODES:
            raise ImageReadError(
                f"cannot decode label PNG {path}: mode {mode} is none of palette (P), grey-level "
                "class indices (L, I;16) or RGB colours; save it with write_voc_label(path, label)"
            )
        rgb = np.array(image.convert("RGB"), dtype=np.uint8)
    table = voc_colormap2label() if colormap2label is None else colormap2label
    return voc_label_indices(torch.from_numpy(rgb).permute(2, 0, 1), table)


def write_voc_label(path: str | os.PathLike, label: Tensor | np.ndarray) -> None:
    """Write class indices as a VOC label PNG: a palette image with VOC's palette.

    The inverse of [`read_voc_label`][transconv.data.labels.read_voc_label]: index $i$ is
    stored as palette index $i$, coloured by
    [`voc_palette`][transconv.data.labels.voc_palette], so viewers show VOC's colours and
    torchvision's ``VOCSegmentation`` reads the file too.

    Parameters
    ----------
    path : str or os.PathLike
        The PNG file to write (overwritten if it exists).
    label : Tensor or numpy.ndarray
        Integer class indices in 0..255 (255 = ignore).

    Shape
    -----
    ``label``: ``(H, W)``.

    Raises
    ------
    TypeError
        If ``label`` is not an integer tensor or array.
    ValueError
        If ``label`` is not 2-D or holds a value outside 0..255.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_voc_label(Path(tmp) / "label.png", np.array([[1, 255]]))
    ...     with Image.open(Path(tmp) / "label.png") as png:
    ...         print(png.mode, np.asarray(png).tolist())
    P [[1, 255]]
    """
    if not isinstance(label, Tensor):
        array = np.asarray(label)
        integer = np.issubdtype(array.dtype, np.integer)
        label = torch.from_numpy(array.astype(np.int64) if integer else array.astype(np.float64))
    check_label_map(label, "label", fix="a palette PNG stores one byte per pixel")
    if label.dim() != 2:
        raise ValueError(
            f"label must have shape (H, W), got {tuple(label.shape)}; write one label at a time"
        )
    png = Image.fromarray(label.detach().cpu().numpy().astype(np.uint8))
    png.putpalette(voc_palette().flatten().tolist())  # "L" + palette -> "P"
    png.save(Path(path), format="PNG")


def check_scorable_labels(labels: Iterable[Tensor], what: str) -> None:
    """Refuse labels in which every pixel is [`IGNORE_INDEX`][transconv.data.labels.IGNORE_INDEX].

    Such data has nothing to learn from or to score: every loss would be a mean over zero
    pixels and every IoU undefined. Checking before training costs one label read in the usual
    case, since the check stops at the first label that has a pixel to score.

    Parameters
    ----------
    labels : iterable of Tensor
        Class-index maps (any integer dtype), read lazily.
    what : str
        What the labels are, for the message (e.g. ``"the val split of data/VOC2012"``).

    Raises
    ------
    ValueError
        If there is no label, or every pixel of every label is 255.

    Examples
    --------
    >>> check_scorable_labels([torch.tensor([[255, 3]])], "the val split")
    >>> check_scorable_labels([torch.full((2, 2), 255)], "the val split")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: the val split must have at least one pixel that is not 255 (ignore), got 1 ...
    """
    count, pixels = 0, 0
    for label in labels:
        if (label != IGNORE_INDEX).any():
            return
        count, pixels = count + 1, pixels + label.numel()
    raise ValueError(
        f"{what} must have at least one pixel that is not {IGNORE_INDEX} (ignore), got "
        f"{count} labels with {pixels} pixels, all {IGNORE_INDEX}; fix the labels or pick a "
        "split with annotated pixels"
    )


def label2image(pred: Tensor) -> Tensor:
    """Colour class indices with the VOC palette, as d2l's ``label2image``.

    Indices 0..20 get [`VOC_COLORMAP`][transconv.data.labels.VOC_COLORMAP];
    [`IGNORE_INDEX`][transconv.data.labels.IGNORE_INDEX] (255) gets the boundary colour
    (224, 224, 192), the cream VOC draws its outlines in, so ignored pixels stay visible
    against black background; 21..254 get the rest of
    [`voc_palette`][transconv.data.labels.voc_palette].

    Parameters
    ----------
    pred : Tensor
        Integer class indices in 0..255.

    Returns
    -------
    Tensor
        ``uint8`` colours, ready for ``plt.imshow``.

    Shape
    -----
    Input: any, typically ``(H, W)``. Output: ``(*pred.shape, 3)``.

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
    check_label_map(pred, "pred", fix="the palette has 256 colours")
    return voc_palette()[pred.to(torch.int64)]
