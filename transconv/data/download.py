"""Downloading Pascal VOC 2012 trainval, md5-checked, from the first mirror that answers."""

from __future__ import annotations

import http.client
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

from torchvision.datasets.utils import download_and_extract_archive

from transconv.data.layout import is_voc_tree, voc_dir_in

__all__ = ["VOC2012_FILENAME", "VOC2012_MD5", "VOC2012_MIRRORS", "download_voc"]

VOC2012_FILENAME = "VOCtrainval_11-May-2012.tar"
"""Name of the trainval tar (2 GB) on every mirror."""

VOC2012_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
"""md5 of the genuine trainval tar; a download with another checksum is rejected."""

VOC2012_MIRRORS: tuple[str, ...] = (
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "http://d2l-data.s3-accelerate.amazonaws.com/" + VOC2012_FILENAME,
    "http://pjreddie.com/media/files/" + VOC2012_FILENAME,
)
"""Where [`download_voc`][transconv.data.download.download_voc] looks for the tar, in order.

The Oxford host is the official one (``thor`` is the name torchvision uses since the host moved);
it is often down (torchvision issues #3830, #4243, #9269). d2l's S3 bucket and Joseph Redmon's
mirror (pjreddie.com, set up for YOLO) serve byte-identical copies; the md5 check rejects
anything else.
"""


def _as_mirrors(mirrors: object) -> tuple[str, ...]:
    """One URL or a sequence of URLs as a tuple; anything else is refused."""
    if isinstance(mirrors, (str, os.PathLike)):
        return (os.fspath(mirrors),)
    if not isinstance(mirrors, Sequence) or not all(isinstance(m, str) for m in mirrors):
        raise TypeError(
            f"mirrors must be a URL or a sequence of URLs (str), got {mirrors!r}; "
            f"pass e.g. mirrors=['http://host/{VOC2012_FILENAME}']"
        )
    if not mirrors:
        raise ValueError(
            "mirrors must list at least one URL, got an empty sequence; "
            "leave it out to use VOC2012_MIRRORS"
        )
    return tuple(mirrors)


def download_voc(
    root: str | os.PathLike, *, mirrors: str | Sequence[str] = VOC2012_MIRRORS
) -> Path:
    """Download and extract VOC 2012 trainval (2 GB) into ``root``; try each mirror in turn.

    Each URL goes through torchvision's ``download_and_extract_archive``, which verifies the
    md5 ([`VOC2012_MD5`][transconv.data.download.VOC2012_MD5]) before extracting, so a mirror
    can only supply the genuine file. Network errors and checksum failures move on to the next
    URL. Nothing is downloaded when the tree is already there.

    Parameters
    ----------
    root : str or os.PathLike
        Directory that receives the tar and ``VOCdevkit/VOC2012``.
    mirrors : str or sequence of str, optional
        One URL of ``VOCtrainval_11-May-2012.tar``, or several tried in order (default
        [`VOC2012_MIRRORS`][transconv.data.download.VOC2012_MIRRORS]).

    Returns
    -------
    Path
        ``root/VOCdevkit/VOC2012``.

    Raises
    ------
    TypeError
        If ``mirrors`` is neither a str nor a sequence of str.
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
    urls = _as_mirrors(mirrors)
    root = Path(root).expanduser()
    voc_dir = voc_dir_in(root)
    if is_voc_tree(voc_dir):
        return voc_dir
    failures = []
    for url in urls:
        try:
            download_and_extract_archive(url, str(root), filename=VOC2012_FILENAME, md5=VOC2012_MD5)
        except (OSError, RuntimeError, http.client.HTTPException, tarfile.TarError) as error:
            failures.append(f"  {url}: {type(error).__name__}: {error}")
            continue
        if is_voc_tree(voc_dir):
            return voc_dir
        failures.append(f"  {url}: extracted, but {voc_dir} is still incomplete")
    raise RuntimeError(
        "could not download Pascal VOC 2012 from any URL tried:\n" + "\n".join(failures) + "\n"
        f"Download {VOC2012_FILENAME} (md5 {VOC2012_MD5}) by hand and extract it in {root}, "
        f"so that {voc_dir}/JPEGImages, SegmentationClass and "
        "ImageSets/Segmentation/{train,val}.txt exist; offline, make_synthetic_voc(root, "
        "num_train, num_val) writes a small stand-in with the same layout"
    )
