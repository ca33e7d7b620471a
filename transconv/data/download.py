"""Downloading Pascal VOC 2012 trainval, md5-checked, from the first mirror that answers.

The tar is extracted into a temporary folder beside the destination and renamed into place only
once every example the train and val lists name is there, so an interrupted run never leaves a
half-extracted tree that a later run would take for a complete one.
"""

from __future__ import annotations

import hashlib
import http.client
import math
import os
import shutil
import tarfile
import tempfile
import urllib.request
import warnings
from collections.abc import Sequence
from pathlib import Path

from transconv.data.layout import is_voc_tree, list_examples, voc_dir_in

__all__ = [
    "DOWNLOAD_TIMEOUT",
    "VOC2012_FILENAME",
    "VOC2012_MD5",
    "VOC2012_MIRRORS",
    "download_voc",
]

VOC2012_FILENAME = "VOCtrainval_11-May-2012.tar"
"""Name of the trainval tar (2 GB) on every mirror."""

VOC2012_MD5 = "6cd6e144f989b92b3379bac3b3de84fd"
"""md5 of the genuine trainval tar; a download with another checksum is rejected."""

VOC2012_MIRRORS: tuple[str, ...] = (
    "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "http://host.robots.ox.ac.uk/pascal/VOC/voc2012/" + VOC2012_FILENAME,
    "http://d2l-data.s3-accelerate.amazonaws.com/" + VOC2012_FILENAME,
    "http://pjreddie.com/media/files/" + VOC2012_FILENAME,
)
"""Where [`download_voc`][transconv.data.download.download_voc] looks for the tar, in order.

The Oxford host first, under the name ``thor`` that torchvision uses since the host moved
(``host.robots.ox.ac.uk`` only redirects there); it is often down (torchvision issues #3830,
#4243, #9269). d2l's S3 bucket and Joseph Redmon's mirror (pjreddie.com, set up for YOLO) serve
byte-identical copies; the md5 check rejects anything else.
"""

DOWNLOAD_TIMEOUT = 60.0
"""Seconds a connection or a single read may stall before the mirror counts as failed."""

_CHUNK = 1 << 20


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


def _as_timeout(timeout: object) -> float:
    """A positive, finite number of seconds; anything else is refused."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(
            f"timeout must be a number of seconds, got {timeout!r}; pass e.g. timeout=60"
        )
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(
            f"timeout must be a positive, finite number of seconds, got {timeout!r}; "
            "pass e.g. timeout=60"
        )
    return float(timeout)


def _is_complete(voc_dir: Path) -> bool:
    """Whether every example that train.txt and val.txt list has its image and label."""
    if not is_voc_tree(voc_dir):
        return False
    try:
        for split in ("train", "val"):
            list_examples(voc_dir, split)
    except (FileNotFoundError, ValueError):
        return False
    return True


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, tar: Path, timeout: float) -> None:
    """Download ``url`` to ``tar`` unless a file with the right md5 is already there."""
    if tar.is_file() and _md5(tar) == VOC2012_MD5:
        return
    partial = tar.with_name(tar.name + ".part")
    digest = hashlib.md5()
    request = urllib.request.Request(url, headers={"User-Agent": "transconv"})
    try:
        # the timeout bounds the connection and every read: a silent server fails in seconds
        with urllib.request.urlopen(request, timeout=timeout) as response:
            with open(partial, "wb") as out:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != VOC2012_MD5:
            raise RuntimeError(f"md5 of the download is {digest.hexdigest()}, not {VOC2012_MD5}")
        os.replace(partial, tar)
    finally:
        partial.unlink(missing_ok=True)


def _extract(tar: Path, voc_dir: Path) -> None:
    """Extract ``tar`` into a temporary folder, check it, then rename it to ``voc_dir``."""
    root = voc_dir.parent.parent
    staging = Path(tempfile.mkdtemp(prefix=".VOC2012-extracting-", dir=root))
    try:
        with tarfile.open(tar) as archive:
            # the "data" filter refuses absolute paths and links out of the folder
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            archive.extractall(staging, **safe)
        extracted = voc_dir_in(staging)
        if not _is_complete(extracted):
            raise RuntimeError(f"extracted, but the tar holds no complete {voc_dir.name} tree")
        voc_dir.parent.mkdir(exist_ok=True)
        if voc_dir.exists():
            aside = Path(tempfile.mkdtemp(prefix=f"{voc_dir.name}.incomplete-", dir=voc_dir.parent))
            os.replace(voc_dir, aside)
            warnings.warn(f"incomplete {voc_dir} moved to {aside}", UserWarning, stacklevel=3)
        os.replace(extracted, voc_dir)  # one rename: the tree appears whole or not at all
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def download_voc(
    root: str | os.PathLike,
    *,
    mirrors: str | Sequence[str] = VOC2012_MIRRORS,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> Path:
    """Download and extract VOC 2012 trainval (2 GB) into ``root``; try each mirror in turn.

    The tar is saved as ``root/VOCtrainval_11-May-2012.tar`` only when its md5 is
    [`VOC2012_MD5`][transconv.data.download.VOC2012_MD5], so a mirror can only supply the
    genuine file; a tar already there with that md5 is not downloaded again. It is extracted
    into a temporary folder in ``root`` and renamed to ``root/VOCdevkit/VOC2012`` once every
    example of the train and val lists is there. Network errors, timeouts, checksum failures
    and broken tars move on to the next URL. Nothing is downloaded when the tree is already
    complete; an incomplete one (an interrupted extraction) is moved aside, never deleted.

    Parameters
    ----------
    root : str or os.PathLike
        Directory that receives the tar and ``VOCdevkit/VOC2012``.
    mirrors : str or sequence of str, optional
        One URL of ``VOCtrainval_11-May-2012.tar``, or several tried in order (default
        [`VOC2012_MIRRORS`][transconv.data.download.VOC2012_MIRRORS]).
    timeout : float, optional
        Seconds a connection or a read may stall before the URL counts as failed (default
        [`DOWNLOAD_TIMEOUT`][transconv.data.download.DOWNLOAD_TIMEOUT]).

    Returns
    -------
    Path
        ``root/VOCdevkit/VOC2012``.

    Raises
    ------
    TypeError
        If ``mirrors`` is neither a str nor a sequence of str, or ``timeout`` is not a number.
    ValueError
        If ``mirrors`` is empty or ``timeout`` is not positive and finite.
    RuntimeError
        If every URL failed; the message lists each URL with its error and says where to
        place a manually downloaded copy.

    Warns
    -----
    UserWarning
        When an incomplete ``VOC2012`` folder is moved aside to ``VOC2012.incomplete-*``.

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
    timeout = _as_timeout(timeout)
    root = Path(root).expanduser()
    voc_dir = voc_dir_in(root)
    if _is_complete(voc_dir):
        return voc_dir
    root.mkdir(parents=True, exist_ok=True)
    tar = root / VOC2012_FILENAME
    failures = []
    for url in urls:
        try:
            _fetch(url, tar, timeout)
            _extract(tar, voc_dir)
        except (OSError, RuntimeError, http.client.HTTPException, tarfile.TarError) as error:
            failures.append(f"  {url}: {type(error).__name__}: {error}")
            continue
        return voc_dir
    raise RuntimeError(
        "could not download Pascal VOC 2012 from any URL tried:\n" + "\n".join(failures) + "\n"
        f"Download {VOC2012_FILENAME} (md5 {VOC2012_MD5}) by hand and extract it in {root}, "
        f"so that {voc_dir}/JPEGImages, SegmentationClass and "
        "ImageSets/Segmentation/{train,val}.txt exist; offline, make_synthetic_voc(root, "
        "num_train, num_val) writes a small stand-in with the same layout"
    )
