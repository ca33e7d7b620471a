"""Reading photographs as ``uint8`` RGB tensors, and normalising them for an ImageNet backbone.

Every image file in the package is opened by [`open_image`][transconv.data.images.open_image],
so a file Pillow cannot decode (truncated, not an image, too large to be safe) fails with one
[`ImageReadError`][transconv.data.images.ImageReadError] whose message names the file and the
problem, instead of a long traceback from deep inside Pillow.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from transconv._validation import check_rgb_image

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "ImageReadError",
    "image_size",
    "normalize_image",
    "open_image",
    "read_rgb",
]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
"""Per-channel mean $\\mu$ of ImageNet (RGB, values in $[0, 1]$), which the backbones expect."""

IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
"""Per-channel standard deviation $\\sigma$ of ImageNet (RGB, values in $[0, 1]$)."""

_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")

# (x / 255 - mean) / std = (x - 255 mean) * (1 / (255 std)): one subtraction, one product, in
# place on the one float copy; the constants are worked out in float64
_SHIFT = (255 * torch.tensor(IMAGENET_MEAN, dtype=torch.float64)).reshape(3, 1, 1).float()
_SCALE = (1 / (255 * torch.tensor(IMAGENET_STD, dtype=torch.float64))).reshape(3, 1, 1).float()


class ImageReadError(OSError, ValueError):
    """An image or label file exists but cannot be decoded; ``str(error)`` names file and cause.

    Raised for truncated or garbage files, files too large for Pillow's decompression-bomb
    guard, and pixel formats the readers refuse (e.g. float images). The message is one line:
    ``cannot decode <what> <path>: <problem>; <fix>``. Like the standard library's
    ``io.UnsupportedOperation`` it is both an `OSError` (what Pillow raises for the same files,
    so code catching that keeps working) and a `ValueError` (the file's content is a bad
    input value, which is how the CLI reports it).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bad = Path(tmp) / "bad.jpg"
    ...     _ = bad.write_bytes(b"not an image")
    ...     try:
    ...         read_rgb(bad)
    ...     except ImageReadError as error:
    ...         print(str(error).replace(tmp, "TMP"))
    cannot decode image TMP/bad.jpg: not a JPEG or PNG file Pillow recognises; replace the file
    """


def _damage(error: BaseException) -> str:
    """Pillow's reason for failing, in a few words."""
    if "truncat" in str(error).lower():
        return f"the file is truncated ({error})"
    return f"the file is damaged ({type(error).__name__}: {error})"


@contextmanager
def open_image(path: str | os.PathLike, what: str = "image") -> Iterator[Image.Image]:
    """Open ``path`` with Pillow and load its pixels; turn every decoding failure into one line.

    Parameters
    ----------
    path : str or os.PathLike
        The file to open.
    what : str, optional
        What the file is, for messages (default ``"image"``; e.g. ``"label PNG"``).

    Yields
    ------
    PIL.Image.Image
        The opened image, its pixels loaded (so a truncated file fails here, not later).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ImageReadError
        If Pillow cannot identify or decode the file, or it exceeds Pillow's
        ``Image.MAX_IMAGE_PIXELS`` (the decompression-bomb guard).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Image.new("RGB", (4, 2)).save(Path(tmp) / "black.png")
    ...     with open_image(Path(tmp) / "black.png") as image:
    ...         print(image.size, image.mode)
    (4, 2) RGB
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} not found")
    prefix = f"cannot decode {what} {path}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageReadError(
            f"{prefix}: it is larger than Pillow's safety limit of {Image.MAX_IMAGE_PIXELS} "
            f"pixels ({error}); resize it, or raise PIL.Image.MAX_IMAGE_PIXELS if you trust it"
        ) from None
    except Image.UnidentifiedImageError:
        raise ImageReadError(
            f"{prefix}: not a JPEG or PNG file Pillow recognises; replace the file"
        ) from None
    except Exception as error:  # truncated or corrupt data, whatever the decoder raises
        raise ImageReadError(f"{prefix}: {_damage(error)}; replace the file") from None
    with image:
        yield image


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """The ``(height, width)`` of an image file, from its header (no pixel is decoded).

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG or PNG file.

    Returns
    -------
    tuple of int
        ``(H, W)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageReadError
        If Pillow does not recognise the file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Image.new("RGB", (4, 2)).save(Path(tmp) / "black.png")
    ...     image_size(Path(tmp) / "black.png")
    (2, 4)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} not found")
    try:
        with Image.open(path) as image:  # reads the header only
            width, height = image.size
    except Image.UnidentifiedImageError:
        problem = "not a JPEG or PNG file Pillow recognises"
        raise ImageReadError(f"cannot decode image {path}: {problem}; replace the file") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(
            f"cannot decode image {path}: {_damage(error)}; replace the file"
        ) from None
    return height, width


def _to_rgb_array(image: Image.Image, path: Path) -> np.ndarray:
    """An HxWx3 uint8 array of ``image``; 16-bit grey is scaled, float images are refused."""
    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "I":
        grey = np.asarray(image, dtype=np.int64)
        if grey.size and (grey.min() < 0 or grey.max() > 65535):
            raise ImageReadError(
                f"cannot decode image {path}: 32-bit integer pixels outside 0..65535 "
                "have no colour scale; save it as an 8- or 16-bit image"
            )
        grey = (grey >> 8).astype(np.uint8)  # the high byte, as Pillow reads 16-bit RGB
        return np.repeat(grey[..., None], 3, axis=2)
    if image.mode == "F":
        raise ImageReadError(
            f"cannot decode image {path}: float pixels (mode F) have no agreed range "
            "(0..1 or 0..255); save it as an 8-bit image"
        )
    return np.array(image.convert("RGB"), dtype=np.uint8)


def read_rgb(path: str | os.PathLike) -> Tensor:
    """Read an image file as a ``uint8`` RGB tensor.

    Does what d2l's ``torchvision.io.read_image(path, ImageReadMode.RGB)`` does (a palette
    PNG comes back in its palette's colours), through Pillow, because torchvision's image
    decoders are deprecated since torchvision 0.29. A 16-bit image keeps each value's high
    byte, $x_8 = \\lfloor x_{16} / 256 \\rfloor$, rather than being clipped at 255: what Pillow
    does for 16-bit RGB, done here for 16-bit grey too.

    Parameters
    ----------
    path : str or os.PathLike
        A JPEG or PNG file (any format Pillow reads).

    Returns
    -------
    Tensor
        The pixels, ``uint8``.

    Shape
    -----
    Output: ``(3, H, W)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ImageReadError
        If the file cannot be decoded (see [`open_image`][transconv.data.images.open_image]),
        or holds float pixels, whose range is ambiguous.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Image.new("RGB", (3, 2), (128, 0, 0)).save(Path(tmp) / "red.png")
    ...     image = read_rgb(Path(tmp) / "red.png")
    >>> image.shape, image[:, 0, 0].tolist()
    (torch.Size([3, 2, 3]), [128, 0, 0])
    """
    with open_image(path) as image:
        array = _to_rgb_array(image, Path(path))
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def normalize_image(img: Tensor) -> Tensor:
    """Scale a ``uint8`` image to $[0, 1]$, then standardise with the ImageNet mean and std.

    $$x' = \\frac{x / 255 - \\mu_c}{\\sigma_c}$$

    with $\\mu$ = [`IMAGENET_MEAN`][transconv.data.images.IMAGENET_MEAN] $= (0.485, 0.456,
    0.406)$ and $\\sigma$ = [`IMAGENET_STD`][transconv.data.images.IMAGENET_STD] $= (0.229,
    0.224, 0.225)$, the statistics the torchvision backbones were trained with (d2l PR #1980
    added the division by 255). It is computed as $(x - 255\\mu_c) \\cdot \\frac{1}{255
    \\sigma_c}$, two in-place passes over one ``float32`` copy, equal to the formula up to
    ``float32`` rounding.

    Parameters
    ----------
    img : Tensor
        ``uint8`` image or batch of images.

    Returns
    -------
    Tensor
        ``float32``, the same shape.

    Shape
    -----
    Input: ``(3, H, W)`` or ``(B, 3, H, W)``. Output: the same.

    Raises
    ------
    TypeError
        If ``img`` is not ``uint8`` (a float image was probably normalised already).
    ValueError
        If ``img`` is not ``(3, H, W)`` or ``(B, 3, H, W)``.

    Examples
    --------
    >>> normalize_image(torch.full((3, 1, 1), 255, dtype=torch.uint8)).flatten()
    tensor([2.2489, 2.4286, 2.6400])
    """
    check_rgb_image(img, "img", batched=True)  # uint8: normalize_image divides by 255 itself
    shift, scale = _SHIFT.to(img.device), _SCALE.to(img.device)  # no-ops on the CPU
    return img.to(torch.float32).sub_(shift).mul_(scale)
