"""The Pascal VOC 2012 folder layout: the one place that knows where each file lives.

A VOC tree, as the tar extracts it and as
[`make_synthetic_voc`][transconv.data.synthetic.make_synthetic_voc] writes it::

    ROOT/VOCdevkit/VOC2012/          <- what the package calls voc_dir
        JPEGImages/NAME.jpg          <- the photographs
        SegmentationClass/NAME.png   <- their labels (palette PNGs)
        ImageSets/Segmentation/      <- one NAME per line for each split
            train.txt  val.txt  trainval.txt

Everything else reads the tree through
[`list_examples`][transconv.data.layout.list_examples] or the path helpers below, never by
re-typing these names.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = [
    "SPLITS",
    "check_voc_tree",
    "image_file",
    "is_voc_tree",
    "label_file",
    "list_examples",
    "list_names",
    "resolve_voc_dir",
    "split_file",
    "voc_dir_in",
]

SPLITS: tuple[str, ...] = ("train", "val", "trainval")
"""The segmentation splits a VOC tree lists in ``ImageSets/Segmentation``."""

_IMAGE_DIR = "JPEGImages"
_LABEL_DIR = "SegmentationClass"
_SPLIT_DIR = ("ImageSets", "Segmentation")

_EXPECTED_TREE = (
    "a Pascal VOC tree ROOT/VOCdevkit/VOC2012 holding JPEGImages/, SegmentationClass/ and "
    "ImageSets/Segmentation/{train,val}.txt; get it with download_voc(ROOT) or make an "
    "offline stand-in with make_synthetic_voc(ROOT, num_train, num_val)"
)


def voc_dir_in(root: str | os.PathLike) -> Path:
    """The ``VOCdevkit/VOC2012`` directory under ``root``, where the tar extracts.

    Parameters
    ----------
    root : str or os.PathLike
        The folder given to [`download_voc`][transconv.data.download.download_voc].

    Returns
    -------
    Path
        ``root/VOCdevkit/VOC2012`` (whether or not it exists).

    Examples
    --------
    >>> voc_dir_in("data").as_posix()
    'data/VOCdevkit/VOC2012'
    """
    return Path(root) / "VOCdevkit" / "VOC2012"


def split_file(voc_dir: str | os.PathLike, split: str) -> Path:
    """The list file of ``split``: ``voc_dir/ImageSets/Segmentation/<split>.txt``.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    split : str
        One of [`SPLITS`][transconv.data.layout.SPLITS].

    Returns
    -------
    Path
        The path (whether or not it exists).

    Raises
    ------
    ValueError
        If ``split`` is not one of ``"train"``, ``"val"``, ``"trainval"``.

    Examples
    --------
    >>> split_file("VOC2012", "val").as_posix()
    'VOC2012/ImageSets/Segmentation/val.txt'
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}; pass e.g. split='val'")
    return Path(voc_dir).joinpath(*_SPLIT_DIR, f"{split}.txt")


def image_file(voc_dir: str | os.PathLike, name: str) -> Path:
    """The photograph of example ``name``: ``voc_dir/JPEGImages/<name>.jpg``.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    name : str
        An example's name, e.g. ``"2007_000032"``.

    Returns
    -------
    Path
        The path (whether or not it exists).

    Examples
    --------
    >>> image_file("VOC2012", "2007_000032").as_posix()
    'VOC2012/JPEGImages/2007_000032.jpg'
    """
    return Path(voc_dir) / _IMAGE_DIR / f"{name}.jpg"


def label_file(voc_dir: str | os.PathLike, name: str) -> Path:
    """The label PNG of example ``name``: ``voc_dir/SegmentationClass/<name>.png``.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    name : str
        An example's name, e.g. ``"2007_000032"``.

    Returns
    -------
    Path
        The path (whether or not it exists).

    Examples
    --------
    >>> label_file("VOC2012", "2007_000032").as_posix()
    'VOC2012/SegmentationClass/2007_000032.png'
    """
    return Path(voc_dir) / _LABEL_DIR / f"{name}.png"


def is_voc_tree(voc_dir: str | os.PathLike) -> bool:
    """Whether ``voc_dir`` holds both image folders and the train and val lists.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The directory to look at.

    Returns
    -------
    bool
        True when ``JPEGImages/``, ``SegmentationClass/``, ``train.txt`` and ``val.txt`` exist.

    Examples
    --------
    >>> is_voc_tree("/nonexistent")
    False
    """
    voc_dir = Path(voc_dir)
    folders = (voc_dir / _IMAGE_DIR, voc_dir / _LABEL_DIR)
    lists = (split_file(voc_dir, "train"), split_file(voc_dir, "val"))
    return all(p.is_dir() for p in folders) and all(p.is_file() for p in lists)


def check_voc_tree(voc_dir: str | os.PathLike) -> None:
    """Raise `FileNotFoundError` naming the first missing folder of a VOC tree.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The directory that should be ``VOCdevkit/VOC2012``.

    Raises
    ------
    FileNotFoundError
        If a folder is missing; when ``voc_dir`` is the tree's root the message suggests the
        nested ``VOCdevkit/VOC2012``.

    Examples
    --------
    >>> check_voc_tree("/nonexistent")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    FileNotFoundError: /nonexistent/JPEGImages not found: voc_dir must be a Pascal VOC tree ...
    """
    voc_dir = Path(voc_dir)
    for part in (voc_dir / _IMAGE_DIR, voc_dir / _LABEL_DIR, voc_dir.joinpath(*_SPLIT_DIR)):
        if not part.is_dir():
            nested = voc_dir_in(voc_dir)
            hint = f" (did you mean voc_dir={nested}?)" if nested.is_dir() else ""
            raise FileNotFoundError(f"{part} not found{hint}: voc_dir must be {_EXPECTED_TREE}")


def resolve_voc_dir(path: str | os.PathLike) -> Path:
    """Accept either a VOC tree's root or its ``VOCdevkit/VOC2012``; return the latter.

    Parameters
    ----------
    path : str or os.PathLike
        ``ROOT`` (as given to [`download_voc`][transconv.data.download.download_voc]) or
        ``ROOT/VOCdevkit/VOC2012``.

    Returns
    -------
    Path
        ``path/VOCdevkit/VOC2012`` when that directory exists, else ``path``.

    Raises
    ------
    FileNotFoundError
        If neither is a VOC tree (as [`check_voc_tree`][transconv.data.layout.check_voc_tree]).

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=1, num_val=1, size=(8, 8))
    ...     resolve_voc_dir(tmp) == resolve_voc_dir(voc_dir) == voc_dir
    True
    """
    path = Path(path)
    nested = voc_dir_in(path)
    voc_dir = nested if nested.is_dir() else path
    check_voc_tree(voc_dir)
    return voc_dir


def _check_name(name: str, listing: Path, line: int) -> str:
    """Refuse a listed name that would lead outside ``JPEGImages`` / ``SegmentationClass``."""
    escapes = (
        name in (".", "..")
        or ".." in PurePosixPath(name).parts
        or "/" in name
        or "\\" in name
        or PurePosixPath(name).is_absolute()
        or PureWindowsPath(name).is_absolute()
        or bool(PureWindowsPath(name).drive)
    )
    if escapes:
        raise ValueError(
            f"{listing}, line {line}: an example name must be a plain file name without "
            f"'..', path separators or a drive, got {name!r}; list names such as 2007_000032 "
            "(files outside JPEGImages/ and SegmentationClass/ are never read)"
        )
    return name


def list_names(voc_dir: str | os.PathLike, split: str) -> list[str]:
    """The example names ``split`` lists, in order, each checked to stay inside the tree.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    split : str
        One of [`SPLITS`][transconv.data.layout.SPLITS].

    Returns
    -------
    list of str
        One name per non-empty line.

    Raises
    ------
    FileNotFoundError
        If the tree or the split's list file is missing.
    ValueError
        If a listed name contains ``..``, a path separator or is absolute, or the file is not
        UTF-8; the message names the list file and the line.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=2, num_val=1, size=(8, 8))
    ...     list_names(voc_dir, "val")
    ['2007_000003']
    """
    check_voc_tree(voc_dir)
    listing = split_file(voc_dir, split)
    if not listing.is_file():
        raise FileNotFoundError(f"split file {listing} not found: voc_dir must be {_EXPECTED_TREE}")
    try:  # utf-8-sig: a byte-order mark (Windows editors add one) is no part of a name
        lines = listing.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as err:
        line = listing.read_bytes()[: err.start].count(b"\n") + 1
        raise ValueError(
            f"{listing}, line {line}: a split file must be UTF-8 text, got the byte "
            f"{err.object[err.start : err.start + 1]!r}; save it as UTF-8 (or ASCII: names "
            "such as 2007_000032)"
        ) from None
    return [_check_name(ln.strip(), listing, n) for n, ln in enumerate(lines, 1) if ln.strip()]


def list_examples(voc_dir: str | os.PathLike, split: str) -> list[tuple[Path, Path]]:
    """The (image, label) file pairs of ``split``, every file checked to exist.

    Parameters
    ----------
    voc_dir : str or os.PathLike
        The ``VOCdevkit/VOC2012`` directory.
    split : str
        One of [`SPLITS`][transconv.data.layout.SPLITS].

    Returns
    -------
    list of (Path, Path)
        ``(JPEGImages/NAME.jpg, SegmentationClass/NAME.png)`` in the list file's order.

    Raises
    ------
    FileNotFoundError
        If the tree, the list file or a listed file is missing; the message names the path.
    ValueError
        As [`list_names`][transconv.data.layout.list_names], or if the list names no example.

    Examples
    --------
    >>> import tempfile
    >>> from transconv.data.synthetic import make_synthetic_voc
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=2, num_val=1, size=(8, 8))
    ...     [(image.name, label.name) for image, label in list_examples(voc_dir, "train")]
    [('2007_000001.jpg', '2007_000001.png'), ('2007_000002.jpg', '2007_000002.png')]
    """
    names = list_names(voc_dir, split)
    if not names:
        raise ValueError(
            f"{split_file(voc_dir, split)} must list at least one example, got an empty file; "
            "list example names, one per line (such as 2007_000032)"
        )
    pairs = [(image_file(voc_dir, n), label_file(voc_dir, n)) for n in names]
    for path in (p for pair in pairs for p in pair):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found, but {split}.txt lists it; the tree is incomplete "
                "(re-extract the VOC tar or regenerate it with make_synthetic_voc)"
            )
    return pairs
