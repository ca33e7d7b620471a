"""Checkpoints: written atomically, read back into a model and an optimizer."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transconv.distributed import unwrap_model

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    path: str | os.PathLike,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    history: Sequence[dict[str, Any]],
    config: dict[str, Any] | None = None,
) -> Path:
    """Write model, optimizer, epoch, history and config atomically.

    ``torch.save`` writes a temporary file in the same directory, which ``os.replace`` then
    renames over ``path`` in one step: an interruption leaves the previous checkpoint whole.

    Parameters
    ----------
    path : path
    net : nn.Module
        Saved without its ``torch.compile``/DDP wrappers, so any copy of the plain model loads it.
    optimizer : torch.optim.Optimizer
    epoch : int
        Epochs finished.
    history : list of dict
    config : dict, optional
        Plain data (str, numbers, lists, dicts) describing the run.

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(Path(tmp) / "ckpt.pt", net, opt, epoch=1, history=[])
    ...     sorted(load_checkpoint(path))
    ['config', 'epoch', 'history', 'model', 'optimizer']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": unwrap_model(net).state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": list(history),
        "config": dict(config or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(
    path: str | os.PathLike,
    net: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint of [`save_checkpoint`][transconv.checkpoint.save_checkpoint]; load it into ``net``/``optimizer`` if given.

    Parameters
    ----------
    path : path
    net : nn.Module, optional
    optimizer : torch.optim.Optimizer, optional
    map_location : str or torch.device, default "cpu"

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``epoch``, ``history``, ``config``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.

    Examples
    --------
    >>> load_checkpoint("no/such/checkpoint.pt")
    Traceback (most recent call last):
    ...
    FileNotFoundError: checkpoint no/such/checkpoint.pt not found; ...
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {path} not found; `transconv train --out DIR` writes DIR/checkpoint.pt"
        )
    state = torch.load(path, map_location=map_location, weights_only=True)
    if net is not None:
        unwrap_model(net).load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    return state
