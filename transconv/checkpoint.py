"""Checkpoints: written atomically, read back into a model and an optimizer with clear errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from transconv.distributed import unwrap_model

__all__ = [
    "CheckpointWriteError",
    "load_checkpoint",
    "remove_partial_checkpoints",
    "restore_checkpoint",
    "save_checkpoint",
]

_KEYS = ("model", "optimizer", "epoch", "history", "config")


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (a full disk, a vanished folder); the previous one
    is kept."""


def _write(state: dict[str, Any], tmp: str, path: Path) -> None:
    """torch.save into ``tmp`` with a run's file mode; a failed write named by ``path``."""
    mask = os.umask(0)
    os.umask(mask)
    try:
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; a run's files share one mode
        torch.save(state, tmp)
    except (OSError, RuntimeError) as err:  # ENOSPC as OSError, or torch's "enforce fail"
        reason = getattr(err, "strerror", None) or str(err).split("\n")[0][:120]
        raise CheckpointWriteError(
            f"checkpoint {path} could not be written ({reason}); free space or pick another "
            "--out (the previous checkpoint, if any, is kept)"
        ) from err


def _temporaries(path: Path) -> list[Path]:
    """The temporary files [`save_checkpoint`][transconv.checkpoint.save_checkpoint] makes."""
    return sorted(path.parent.glob(f".{path.name}.*.tmp"))


def save_checkpoint(
    path: str | os.PathLike,
    net: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    epoch: int,
    history: Sequence[dict[str, Any]],
    config: dict[str, Any] | None = None,
    schedule: dict[str, Any] | None = None,
) -> Path:
    """Write model, optimizer, epoch, history and config atomically.

    ``torch.save`` writes a temporary file ``.NAME.*.tmp`` in the same directory, which
    ``os.replace`` then renames over ``path`` in one step: an interruption leaves the previous
    checkpoint whole. A process killed outright (``kill -9``) can leave the temporary file
    behind; [`remove_partial_checkpoints`][transconv.checkpoint.remove_partial_checkpoints]
    removes it at the next start.

    Parameters
    ----------
    path : str or os.PathLike
        Where the checkpoint goes (its folder is made if missing).
    net : nn.Module
        Saved without its ``torch.compile``/DDP wrappers, so any copy of the plain model loads it.
    optimizer : torch.optim.Optimizer
        Its state (momentum buffers) is saved too, so a resumed run continues exactly.
    epoch : int
        Epochs finished.
    history : sequence of dict
        One row per finished epoch.
    config : dict, optional
        Plain data (str, numbers, lists, dicts) describing the run; default empty.
    schedule : dict, optional
        The learning-rate scheduler's ``state_dict()``, stored as ``"schedule"`` for
        [`train`][transconv.train.train]'s ``schedule_state`` on resume; default empty.

    Returns
    -------
    Path
        ``path``, with the mode ``open()`` gives new files (``0o666`` less the umask).

    Raises
    ------
    CheckpointWriteError
        If the file cannot be written (a full disk): one line naming ``path``; the previous
        checkpoint is kept.

    Examples
    --------
    >>> net = nn.Conv2d(3, 2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(Path(tmp) / "ckpt.pt", net, opt, epoch=1, history=[])
    ...     sorted(load_checkpoint(path))
    ['config', 'epoch', 'history', 'model', 'optimizer', 'schedule']
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": unwrap_model(net).state_dict(),
        "optimizer": optimizer.state_dict(),
        "epoch": epoch,
        "history": list(history),
        "config": dict(config or {}),
        "schedule": dict(schedule or {}),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        _write(state, tmp, path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def remove_partial_checkpoints(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that a killed `save_checkpoint` left beside ``path``.

    Only files named ``.NAME.*.tmp`` beside ``path`` are touched (what ``save_checkpoint``
    writes before its rename); ``path`` itself is kept. Call it when a run starts, before any
    checkpoint of this run is being written.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint whose leftovers to remove.

    Returns
    -------
    list of Path
        The files removed.

    Examples
    --------
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = (Path(tmp) / ".checkpoint.pt.x1y2.tmp").write_bytes(b"half")
    ...     [p.name for p in remove_partial_checkpoints(Path(tmp) / "checkpoint.pt")]
    ['.checkpoint.pt.x1y2.tmp']
    """
    removed = []
    for leftover in _temporaries(Path(path)):
        leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    """torch.load with every way a file can fail to be a checkpoint turned into one line."""
    fix = "pass a checkpoint.pt written by `transconv train` (or save_checkpoint)"
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (0 bytes); {fix}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # EOFError, UnpicklingError, KeyError, RuntimeError from zip ...
        reason = str(err).split(".")[0].strip() or type(err).__name__
        raise ValueError(
            f"checkpoint {path} cannot be read, it is truncated or not a checkpoint "
            f"({type(err).__name__}: {reason[:120]}); {fix}"
        ) from err
    missing = [k for k in _KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise ValueError(f"checkpoint {path} has no {', '.join(missing)} entry; {fix}")
    _check_finite(state["model"], path)
    return state


def _check_finite(weights: Any, path: Path) -> None:
    """Refuse weights holding NaN or infinity (an argmax over NaN logits picks class 0)."""
    if not isinstance(weights, dict):
        return  # _mismatch names what is wrong when the weights are loaded
    for name, tensor in weights.items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise ValueError(
                    f"checkpoint {path} must hold finite weights, got {bad} NaN or infinite "
                    f"value(s) of {tensor.numel()} in {name} (the first such tensor); use an "
                    "earlier checkpoint, or train again with a lower --lr"
                )


def _mismatch(path: Path, net: nn.Module, weights: dict[str, Any], config: dict) -> str | None:
    """A one-line description of how ``weights`` fail to fit ``net``, or None if they fit."""
    own = net.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    shapes = [
        f"{k} {tuple(weights[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in weights and hasattr(weights[k], "shape") and weights[k].shape != own[k].shape
    ]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if items:
            parts.append(f"{len(items)} {label} (e.g. {items[0]})")
    written = (
        f"it was written for {config.get('model', 'another model')} with num_classes "
        f"{config.get('num_classes', '?')}"
    )
    return (
        f"checkpoint {path} does not fit this model: {', '.join(parts)}; {written}, so build "
        "that model (or pass the matching --model)"
    )


def load_checkpoint(
    path: str | os.PathLike,
    net: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint of `save_checkpoint`; load it into ``net``/``optimizer`` if given.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    net : nn.Module, optional
        Receives the weights (through any ``torch.compile``/DDP wrapper); checked first, so a
        checkpoint of another model or class count leaves ``net`` untouched.
    optimizer : torch.optim.Optimizer, optional
        Receives the optimizer state.
    map_location : str or torch.device, default "cpu"
        Where the tensors are loaded.

    Returns
    -------
    dict
        ``model``, ``optimizer``, ``epoch``, ``history``, ``config``.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If the file is empty, truncated, not a checkpoint, holds NaN or infinite weights (the
        message names the first such tensor), or holds weights that do not fit ``net`` (the
        message names the file, the first differing entry and the model the checkpoint was
        written for).

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
    state = _read(path, map_location)
    restore_checkpoint(state, net, optimizer, path=path)
    return state


def restore_checkpoint(
    state: dict[str, Any],
    net: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    path: str | os.PathLike,
) -> None:
    """Load a checkpoint already read by [`load_checkpoint`][transconv.checkpoint.load_checkpoint]
    into ``net``/``optimizer``.

    For callers that must read the checkpoint before they can build its model (the model's
    name and class count are in its config): the file is read once, not twice.

    Parameters
    ----------
    state : dict
        What `load_checkpoint(path)` returned.
    net : nn.Module, optional
        Receives the weights (through any ``torch.compile``/DDP wrapper); checked first, so a
        checkpoint of another model or class count leaves ``net`` untouched.
    optimizer : torch.optim.Optimizer, optional
        Receives the optimizer state (moved to its parameters' device).
    path : str or os.PathLike
        The file ``state`` came from, for messages.

    Raises
    ------
    ValueError
        If the weights do not fit ``net`` (the message names the file, the first differing
        entry and the model the checkpoint was written for).

    Examples
    --------
    >>> import tempfile
    >>> net = nn.Conv2d(3, 2, 1)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.1)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_checkpoint(Path(tmp) / "ckpt.pt", net, opt, epoch=1, history=[])
    ...     state = load_checkpoint(path)
    >>> copy = nn.Conv2d(3, 2, 1)
    >>> restore_checkpoint(state, copy, path=path)
    >>> bool(torch.equal(copy.weight, net.weight))
    True
    """
    if net is not None:
        bare = unwrap_model(net)
        problem = _mismatch(Path(path), bare, state["model"], state.get("config") or {})
        if problem:
            raise ValueError(problem)
        bare.load_state_dict(state["model"])
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
