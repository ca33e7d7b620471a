"""A small synthetic dataset in Pascal VOC 2012's exact layout, for running everything offline.

Each image shows a few objects on a noisy, wavy background. An object's class decides its
*shape* and its *texture*; its two colours are random, so colour alone says nothing and a
network has to learn shape and texture, as on real photographs. Labels are palette PNGs with
VOC's palette and a 255 band along every outline, as in VOC's ``SegmentationClass``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from transconv._validation import as_hw, as_int
from transconv.data.labels import IGNORE_INDEX, VOC_CLASSES, write_voc_label
from transconv.data.layout import SPLITS, image_file, label_file, split_file, voc_dir_in

__all__ = ["SYNTHETIC_CLASSES", "SYNTHETIC_MARKER", "make_synthetic_voc", "synthetic_params"]

SYNTHETIC_MARKER = ".transconv-synthetic.json"
"""File [`make_synthetic_voc`][transconv.data.synthetic.make_synthetic_voc] writes in the
folder it fills, with its parameters, once the data is complete: the proof that the tree is
whole and that it may write there again."""

_PARTIAL = ".transconv-synthetic.partial"
# the folder, inside root, that a generation writes into before its tree is moved into place
_MARKER_VERSION = 2  # markers without it were written *before* the data and prove nothing

Array = np.ndarray

SYNTHETIC_CLASSES: dict[int, tuple[str, str]] = {
    3: ("triangle", "dots"),  # bird
    7: ("square", "checker"),  # car
    8: ("disc", "stripes"),  # cat
    12: ("ring", "grid"),  # dog
    15: ("cross", "solid"),  # person
}
"""VOC class index -> (shape, texture) of its synthetic objects."""


def _triangle(u: Array, v: Array) -> Array:
    angles = np.deg2rad([90.0, 210.0, 330.0])  # edge normals; the apex points up
    return np.all([u * np.cos(a) + v * np.sin(a) <= 0.5 for a in angles], axis=0)


_SHAPES: dict[str, Callable[[Array, Array], Array]] = {
    "disc": lambda u, v: u**2 + v**2 <= 1.0,
    "square": lambda u, v: np.maximum(abs(u), abs(v)) <= 0.8,
    "triangle": _triangle,
    "ring": lambda u, v: (u**2 + v**2 <= 1.0) & (u**2 + v**2 >= 0.3),
    "cross": lambda u, v: (np.minimum(abs(u), abs(v)) <= 0.3) & (np.maximum(abs(u), abs(v)) <= 1),
}
"""Shape masks in object coordinates (u, v): the object's radius is 1."""

_TEXTURES: dict[str, Callable[[Array, Array, float], Array]] = {
    "stripes": lambda x, y, a: (x * np.cos(a) + y * np.sin(a)) % 10 < 5,
    "checker": lambda x, y, a: (x // 8 + y // 8) % 2 == 1,
    "dots": lambda x, y, a: (x % 10 - 5) ** 2 + (y % 10 - 5) ** 2 < 9,
    "grid": lambda x, y, a: (x % 12 < 3) | (y % 12 < 3),
    "solid": lambda x, y, a: np.zeros(np.broadcast(x, y).shape, dtype=bool),
}
"""Texture masks in pixel coordinates (x, y) given a random angle a: True -> first colour."""


def _background(rng: np.random.Generator, height: int, width: int) -> Array:
    """A float32 HxWx3 background: a random colour modulated by three slow plane waves."""
    y = np.arange(height, dtype=np.float32)[:, None]
    x = np.arange(width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = rng.uniform(50, 205, 3)
    for _ in range(3):
        fx, fy = 2 * np.pi * rng.uniform(-1, 1, 2) / rng.uniform(80, 300)
        phase = rng.uniform(0, 2 * np.pi)
        # sin(a + b) = sin a cos b + cos a sin b: two outer products instead of H*W sines
        wave = np.sin(fy * y + phase) * np.cos(fx * x) + np.cos(fy * y + phase) * np.sin(fx * x)
        image += wave[..., None] * rng.uniform(-25, 25, 3).astype(np.float32)
    return image


def _paint_object(rng: np.random.Generator, image: Array, label: Array, cls: int) -> None:
    """Draw one object of class ``cls`` at a random place, size and angle, in place."""
    height, width = label.shape
    radius = rng.uniform(0.12, 0.3) * min(height, width)
    cy, cx = rng.uniform(0.5 * radius, (height - 0.5 * radius, width - 0.5 * radius))
    angle = rng.uniform(0, 2 * np.pi)
    top, left = max(0, int(cy - 1.5 * radius)), max(0, int(cx - 1.5 * radius))
    y, x = np.mgrid[top : int(cy + 1.5 * radius) + 1, left : int(cx + 1.5 * radius) + 1]
    y, x = y[: height - top, : width - left], x[: height - top, : width - left]
    du, dv = (x - cx) / radius, (y - cy) / radius
    u = du * np.cos(angle) + dv * np.sin(angle)
    v = -du * np.sin(angle) + dv * np.cos(angle)
    shape, texture = SYNTHETIC_CLASSES[cls]
    mask = _SHAPES[shape](u, v)
    first = rng.uniform(0, 255, 3)
    second = (first + 128 + rng.uniform(-40, 40, 3)) % 256  # always far from the first
    pattern = _TEXTURES[texture](x, y, rng.uniform(0, np.pi))
    box = (slice(top, top + mask.shape[0]), slice(left, left + mask.shape[1]))
    image[box][mask] = np.where(pattern[mask][:, None], first, second)
    label[box][mask] = cls


def _add_boundary(label: Array, boundary: int) -> Array:
    """Set to 255 every pixel within ``boundary`` pixels (a square's radius) of a label change."""
    if boundary == 0:
        return label
    change = np.zeros(label.shape, dtype=np.float32)
    change[1:] += label[1:] != label[:-1]
    change[:, 1:] += label[:, 1:] != label[:, :-1]
    size = 2 * boundary  # the change sits between two pixels: grow it boundary-1 more each way
    grown = torch.from_numpy(change)[None, None]
    grown = F.max_pool2d(F.pad(grown, (boundary - 1, boundary, boundary - 1, boundary)), size, 1)
    return np.where(grown[0, 0].numpy() > 0, IGNORE_INDEX, label).astype(np.uint8)


def _render(
    rng: np.random.Generator,
    size: tuple[int, int],
    classes: Sequence[int],
    max_objects: int,
    boundary: int,
) -> tuple[Array, Array]:
    """One example: (uint8 HxWx3 image, uint8 HxW label with a 255 band on the outlines)."""
    image = _background(rng, *size)
    label = np.zeros(size, dtype=np.uint8)
    for _ in range(rng.integers(1, max_objects + 1)):
        _paint_object(rng, image, label, int(rng.choice(classes)))
    image += 10 * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), _add_boundary(label, boundary)


def _check_classes(classes: Sequence[int]) -> list[int]:
    unknown = sorted(set(classes) - set(SYNTHETIC_CLASSES))
    if unknown or not classes:
        known = ", ".join(f"{c} ({VOC_CLASSES[c]})" for c in SYNTHETIC_CLASSES)
        raise ValueError(
            f"classes must be a non-empty subset of the synthetic classes {known}, "
            f"got {list(classes)!r}; pass e.g. classes=[15]"
        )
    return [int(c) for c in classes]


def synthetic_params(root: str | os.PathLike) -> dict | None:
    """The parameters of the complete synthetic tree in ``root``, or None if there is none.

    None for a folder without [`SYNTHETIC_MARKER`][transconv.data.synthetic.SYNTHETIC_MARKER],
    with an unreadable one, or with one written by an older version (which wrote it before
    the data, so a tree interrupted half-way carried it too).

    Parameters
    ----------
    root : str or os.PathLike
        The folder given to [`make_synthetic_voc`][transconv.data.synthetic.make_synthetic_voc].

    Returns
    -------
    dict or None
        The keyword arguments the tree was made with (``num_train``, ``num_val``, ``sizes``,
        ``seed``, ``classes``, ``max_objects``, ``boundary``).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(synthetic_params(tmp))
    ...     _ = make_synthetic_voc(tmp, num_train=1, num_val=1, size=(8, 8), seed=3)
    ...     print(synthetic_params(tmp)["seed"])
    None
    3
    """
    try:
        made = json.loads((Path(root) / SYNTHETIC_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(made, dict) or made.pop("version", None) != _MARKER_VERSION:
        return None
    return made


def _claim_folder(root: Path) -> None:
    """Refuse a folder holding anything this function did not write."""
    if root.exists() and not root.is_dir():
        raise ValueError(f"root must be a folder, got the file {root}; pass a folder path")
    ours = (root / SYNTHETIC_MARKER).is_file() or (root / _PARTIAL).is_dir()
    if root.is_dir() and not ours:
        found = sorted(p.name for p in root.iterdir())
        if found:
            shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
            raise ValueError(
                f"root must be an empty folder or one make_synthetic_voc made (it holds "
                f"{SYNTHETIC_MARKER}), got {root} holding {shown}; make_synthetic_voc never "
                "writes over files it did not make: pass a new or empty folder"
            )
    root.mkdir(parents=True, exist_ok=True)


def _move_into_place(root: Path, partial: Path, params: dict) -> None:
    """Replace ``root``'s tree by the complete one in ``partial``; the marker comes last.

    Only renames, within one folder: the marker goes first, so that an interruption between
    two renames leaves a tree without a marker, which is regenerated, never trusted.
    """
    marker = root / SYNTHETIC_MARKER
    marker.unlink(missing_ok=True)
    devkit = voc_dir_in(root).parent
    if devkit.exists():
        devkit.rename(partial / "previous")
    voc_dir_in(partial).parent.rename(devkit)
    staged = partial / SYNTHETIC_MARKER
    staged.write_text(json.dumps({**params, "version": _MARKER_VERSION}, indent=1) + "\n")
    staged.replace(marker)
    shutil.rmtree(partial)


def _write_example(voc_dir: Path, name: str, image: Array, label: Array) -> None:
    Image.fromarray(image).save(image_file(voc_dir, name), format="JPEG", quality=95)
    write_voc_label(label_file(voc_dir, name), label)


def make_synthetic_voc(
    root: str | os.PathLike,
    num_train: int,
    num_val: int,
    size: Sequence[int] = (352, 512),
    seed: int = 0,
    *,
    sizes: Sequence[Sequence[int]] | None = None,
    classes: Sequence[int] = tuple(SYNTHETIC_CLASSES),
    max_objects: int = 3,
    boundary: int = 2,
    progress: bool = False,
    reuse: bool = False,
) -> Path:
    """Write a synthetic dataset laid out as Pascal VOC 2012; return its ``VOC2012`` path.

    Writes ``root/VOCdevkit/VOC2012`` with ``JPEGImages/*.jpg``, ``SegmentationClass/*.png``
    (palette PNGs written by [`write_voc_label`][transconv.data.labels.write_voc_label]) and
    ``ImageSets/Segmentation/{train,val,trainval}.txt``; files are named ``2007_000001``
    onwards, training examples first. Each image holds 1 to ``max_objects`` objects; the class
    fixes shape and texture ([`SYNTHETIC_CLASSES`][transconv.data.synthetic.SYNTHETIC_CLASSES]),
    colours, place, size and angle are random. The same seed writes the same files.

    **Your files are safe.** ``root`` must be new, empty, or a folder this function filled
    before (it holds [`SYNTHETIC_MARKER`][transconv.data.synthetic.SYNTHETIC_MARKER], a JSON
    file with its parameters); it refuses any other non-empty folder, so it never writes over
    a real VOC tree (whose names, ``2007_000032`` and so on, fall in the generated range).

    **A tree is whole or absent.** The data is generated into a folder beside the tree and
    renamed into place, the marker last. Interrupted (Ctrl-C, a full disk), it leaves the
    previous tree and marker as they were; killed half-way through the renames, it leaves a
    tree without a marker, which the next call regenerates. Never a mix of old and new images.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to write into (created if needed).
    num_train : int
        Number of examples in the ``train`` split.
    num_val : int
        Number of examples in the ``val`` split.
    size : tuple of int, optional
        ``(H, W)`` of every image (default ``(352, 512)``, a little larger than d2l's
        320x480 crop).
    seed : int, optional
        Seed of the numpy generator that draws everything (default 0).
    sizes : sequence of tuple of int or None, optional
        Varying sizes instead of ``size`` (default None): example $i$ of each split is
        ``sizes[i % len(sizes)]``. Put in sizes smaller than the crop to exercise filtering.
    classes : sequence of int, optional
        VOC class indices to draw objects from (default: all of ``SYNTHETIC_CLASSES``).
    max_objects : int, optional
        Most objects per image (default 3; later ones may hide earlier ones).
    boundary : int, optional
        Pixels within this distance of an outline are labelled 255, a band about
        ``2 * boundary`` wide, like VOC's (default 2; 0 for none).
    progress : bool, optional
        Show a tqdm progress bar (default False; worth it from a few hundred images on).
    reuse : bool, optional
        Keep a complete tree made with the same parameters instead of regenerating it
        (default False: always regenerate).

    Returns
    -------
    Path
        ``root/VOCdevkit/VOC2012``.

    Raises
    ------
    TypeError
        If a count, a size, ``seed``, ``max_objects`` or ``boundary`` is not an int.
    ValueError
        If a count, a size, ``classes``, ``max_objects`` or ``boundary`` is out of range, or
        ``root`` is a non-empty folder this function did not make; the message says which.
    OSError
        If writing fails (e.g. a full disk); the previous tree, if any, is left untouched.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     voc_dir = make_synthetic_voc(tmp, num_train=2, num_val=1, size=(64, 96))
    ...     print(voc_dir.relative_to(tmp), sorted(p.name for p in voc_dir.iterdir()))
    ...     print((voc_dir / "ImageSets/Segmentation/val.txt").read_text().split())
    VOCdevkit/VOC2012 ['ImageSets', 'JPEGImages', 'SegmentationClass']
    ['2007_000003']
    """
    num_train = as_int(num_train, "num_train", minimum=0)
    num_val = as_int(num_val, "num_val", minimum=0)
    if sizes is None:
        cycle = [as_hw(size, "size", minimum=4, example="(352, 512)")]
    else:
        cycle = [as_hw(s, "each of sizes", minimum=4, example="(352, 512)") for s in sizes]
    if not cycle:
        raise ValueError(
            "sizes must list at least one (height, width), got an empty sequence; "
            "pass e.g. sizes=[(352, 512)]"
        )
    classes = _check_classes(classes)
    max_objects = as_int(max_objects, "max_objects", minimum=1)
    boundary = as_int(boundary, "boundary", minimum=0)
    seed = as_int(seed, "seed", example="0")
    params = {
        "num_train": num_train,
        "num_val": num_val,
        "sizes": [list(c) for c in cycle],
        "seed": seed,
        "classes": classes,
        "max_objects": max_objects,
        "boundary": boundary,
    }
    root = Path(root).expanduser()
    _claim_folder(root)
    partial = root / _PARTIAL
    shutil.rmtree(partial, ignore_errors=True)  # left by a killed run: never trusted
    if reuse and synthetic_params(root) == params:
        return voc_dir_in(root)
    try:
        _generate(voc_dir_in(partial), params, progress)
    except BaseException as err:  # Ctrl-C or a full disk: the previous tree stays as it was
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(err, OSError):
            raise OSError(
                err.errno,
                f"could not write the synthetic data under {root} ({err.strerror or err}); the "
                "previous data there, if any, is untouched: free some space and run again",
            ) from err
        raise
    _move_into_place(root, partial, params)
    return voc_dir_in(root)


def _generate(voc_dir: Path, params: dict, progress: bool) -> None:
    """Write the images, labels and split lists ``params`` describe into ``voc_dir``."""
    for sub in (
        image_file(voc_dir, "x").parent,
        label_file(voc_dir, "x").parent,
        split_file(voc_dir, "train").parent,
    ):
        sub.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(params["seed"])
    num_train, cycle = params["num_train"], [tuple(size) for size in params["sizes"]]
    names = [f"2007_{n:06d}" for n in range(1, num_train + params["num_val"] + 1)]
    splits = {"train": names[:num_train], "val": names[num_train:]}
    bar = tqdm(total=len(names), desc="synthetic VOC", unit="img", disable=not progress)
    draw = (params["classes"], params["max_objects"], params["boundary"])
    for split_names in splits.values():
        for i, name in enumerate(split_names):
            _write_example(voc_dir, name, *_render(rng, cycle[i % len(cycle)], *draw))
            bar.update()
    bar.close()
    splits["trainval"] = names
    for split in SPLITS:
        split_file(voc_dir, split).write_text("".join(f"{n}\n" for n in splits[split]))
