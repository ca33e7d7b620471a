"""Label an image file with a checkpoint: the run layer of ``transconv predict``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from transconv.checkpoint import load_checkpoint, restore_checkpoint
from transconv.models import build_model
from transconv.run.config import checkpoint_settings

__all__ = ["NonFiniteLogitsError", "check_label_out", "predict_file"]


class NonFiniteLogitsError(RuntimeError):
    """The model's logits were NaN or infinite: an argmax over them would be meaningless."""


class _FiniteLogits(nn.Module):
    """``net`` whose every output is checked to be finite (argmax reads NaN as the maximum)."""

    def __init__(self, net: nn.Module, what: str) -> None:
        super().__init__()
        self.net, self.what = net, what

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if not torch.isfinite(out).all():
            raise NonFiniteLogitsError(
                f"logits must be finite, got NaN or infinity from {self.what}; the weights are "
                "finite, so an activation overflowed: retrain with a lower --lr or in float32"
            )
        return out


def _first_existing(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path(".")


def check_label_out(out: Path, image: Path, *, overwrite: bool = False) -> None:
    """Refuse an ``--out`` that `predict_file` could not write, before any work.

    Raises
    ------
    ValueError
        If ``out`` is ``image`` (also as a hard link), a directory, not a ``.png`` file name,
        in a folder that is a file or cannot be written, or exists without ``overwrite``.

    Examples
    --------
    >>> check_label_out(Path("labels.jpg"), Path("photo.jpg"))
    Traceback (most recent call last):
    ...
    ValueError: --out must end in .png (a palette PNG stores the class indices exactly), ...
    """
    if out.resolve() == image.resolve() or (
        out.exists() and image.exists() and os.path.samefile(out, image)
    ):
        raise ValueError(
            f"--out must differ from --image, got {out} for both; write the labels to another file"
        )
    if out.is_dir():
        raise ValueError(
            f"--out must be a file, got the directory {out}; pass e.g. {out / 'labels.png'}"
        )
    if out.suffix.lower() != ".png":
        raise ValueError(
            f"--out must end in .png (a palette PNG stores the class indices exactly), got "
            f"{out}; pass e.g. {out.with_suffix('.png')}"
        )
    if out.exists() and not overwrite:
        raise ValueError(
            f"--out must not exist, got {out} (an existing file); pass --overwrite to "
            "replace it, or another --out"
        )
    folder = _first_existing(out)
    if not folder.is_dir():
        raise ValueError(
            f"--out must be in a folder, got {out} whose parent {folder} is a file; pick "
            "another --out"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"--out must be in a writable folder, got {out} ({folder} is not writable); pick "
            "another --out"
        )


def predict_file(
    checkpoint: str | os.PathLike,
    image: str | os.PathLike,
    out: str | os.PathLike,
    *,
    tile: Sequence[int] | None = None,
    device: str | torch.device = "cpu",
    overwrite: bool = False,
) -> torch.Tensor:
    """Label ``image`` with the model in ``checkpoint``; write a VOC palette PNG to ``out``.

    Everything about ``out`` is checked before the model is loaded; the PNG is written by
    [`write_voc_label`][transconv.data.labels.write_voc_label] to a temporary file and renamed
    into place.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        A ``checkpoint.pt`` written by `transconv train`.
    image : str or os.PathLike
        A JPEG or PNG image.
    out : str or os.PathLike
        The label PNG to write.
    tile : (int, int), optional
        Tile size; default the training crop.
    device : str or torch.device, default "cpu"
        Where to run.
    overwrite : bool, default False
        Replace an existing ``out``.

    Returns
    -------
    Tensor
        The int64 ``(H, W)`` labels written.

    Raises
    ------
    ValueError
        For an ``out`` that cannot be written (see `check_label_out`), a checkpoint that is not
        one of `transconv train` or holds non-finite weights, an unreadable image, or a tile
        that does not fit in memory.
    NonFiniteLogitsError
        When the model's logits are not finite.
    """
    from transconv.data import read_rgb, write_voc_label
    from transconv.tiling import predict

    checkpoint, image, out = Path(checkpoint), Path(image), Path(out)
    check_label_out(out, image, overwrite=overwrite)
    state = load_checkpoint(checkpoint)  # refuses non-finite weights, naming the tensor
    settings = checkpoint_settings(state["config"], checkpoint)
    net = build_model(
        settings["model"],
        num_classes=settings["num_classes"],
        upsample=settings["upsample"] or "transposed",
    )
    restore_checkpoint(state, net, path=checkpoint)
    pixels = read_rgb(image)  # decoding failures are one-line ImageReadErrors
    tile = list(tile or settings["crop"] or [320, 480])
    if min(tile) < 1:
        raise ValueError(f"--tile must be positive, got {tile[0]} {tile[1]}")
    checked = _FiniteLogits(net.to(device), f"{checkpoint} on {image}")
    labels = predict(checked, pixels, tile_size=tuple(tile), device=device)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        write_voc_label(partial, labels)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return labels
