"""One training run: check, lock, prepare the data, train, write the results (no argparse)."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from transconv.checkpoint import load_checkpoint, remove_partial_checkpoints, restore_checkpoint
from transconv.data.loaders import make_loaders
from transconv.distributed import setup_distributed, wrap_ddp
from transconv.models import build_model
from transconv.recipes import RECIPES, Recipe, make_optimizer
from transconv.run.config import NUM_CLASSES, RunConfig, check_values, settle
from transconv.run.files import (
    check_out_dir,
    lock_out,
    make_out_dir,
    remove_staging,
    replacing_run,
    write_result_set,
)
from transconv.runs import jsonable, provenance, write_figures, write_history_csv, write_metrics
from transconv.train import NonFiniteLossError, train

__all__ = [
    "RunResult",
    "RunStopped",
    "prepare_data",
    "resolve_device",
    "train_run",
    "write_run_results",
]


@dataclass
class RunResult:
    """What `train_run` made: the history and the files written into ``out``."""

    out: Path
    history: list[dict[str, Any]]
    files: list[str]


class RunStopped(Exception):
    """Ctrl-C or SIGTERM during a run: which signal (``code`` 130 or 143) and what is kept."""

    def __init__(self, signal_name: str, kept: str) -> None:
        self.code = 143 if signal_name == "SIGTERM" else 130
        super().__init__(f"stopped by {signal_name}; {kept}")


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else the CPU; refuse ``"cuda"`` without CUDA.

    Parameters
    ----------
    name : {"auto", "cpu", "cuda"}
        The ``--device`` flag.

    Returns
    -------
    torch.device
        Where to run.

    Raises
    ------
    ValueError
        For ``"cuda"`` on a machine without CUDA.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "--device cuda must name an available device, got torch.cuda.is_available() False; "
            "use --device cpu or auto"
        )
    return torch.device(name)


@contextmanager
def sigterm_handler(handler: Any) -> Iterator[None]:
    """SIGTERM handled by ``handler`` inside the block, the previous handler restored after.

    Outside the main thread Python cannot set a handler, and signals are left alone.
    """
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _synthetic(config: RunConfig, rank: int) -> tuple[Path, dict[str, Any]]:
    """Generate (or reuse) synthetic VOC data; return its VOC2012 path and a description."""
    from transconv.data.layout import is_voc_tree, voc_dir_in
    from transconv.data.synthetic import make_synthetic_voc, synthetic_params

    size, root = config.synthetic_size, config.data_root or config.out / "data"
    wanted = {
        "num_train": config.num_train,
        "num_val": config.num_val,
        "sizes": [size],
        "seed": config.seed,
    }
    info = {"kind": "synthetic", "root": str(root), "size": size, **wanted}
    del info["sizes"]
    made = synthetic_params(root) or {}  # None: no tree, a half-made one, or an old marker
    voc_dir = voc_dir_in(root)
    fresh = is_voc_tree(voc_dir) and all(made.get(k) == v for k, v in wanted.items())
    if rank == 0 and not fresh:
        try:
            voc_dir = make_synthetic_voc(
                root, config.num_train, config.num_val, size=size, seed=config.seed,
                progress=not config.quiet,
            )  # fmt: skip
        except ValueError as err:  # name the flag the user typed, not the function's argument
            flag = "--data-root" if config.data_root else "--out"
            raise ValueError(f"{flag} {root}: {err}") from None
    return voc_dir, info


def _voc(path: Path) -> tuple[Path, dict[str, Any]]:
    from transconv.data.layout import list_examples, resolve_voc_dir

    if not path.is_dir():
        raise FileNotFoundError(
            f"data directory {path} must exist, got no such folder; pass a VOCdevkit/VOC2012 "
            "directory (get one with transconv.data.download_voc) or --data synthetic"
        )
    voc_dir = resolve_voc_dir(path)
    counts = {f"num_{split}": len(list_examples(voc_dir, split)) for split in ("train", "val")}
    return voc_dir, {"kind": "voc", "path": str(voc_dir.resolve()), **counts}


def prepare_data(config: RunConfig, rank: int = 0, world_size: int = 1) -> tuple[Path, dict]:
    """The run's ``VOC2012`` folder and its description for the provenance.

    Synthetic data is made on rank 0, or reused when its marker records the same settings and
    its tree is whole; a real VOC tree is checked and counted.

    Parameters
    ----------
    config : RunConfig
        Settled settings (``data``, ``data_root``, ``num_train``, ``num_val``, sizes, seed).
    rank : int, default 0
        This process's rank; only rank 0 writes data.
    world_size : int, default 1
        Processes in the run; with several, all wait for rank 0's data.

    Returns
    -------
    (Path, dict)
        The ``VOC2012`` folder, and ``{"kind": "synthetic" | "voc", ...}``.

    Raises
    ------
    FileNotFoundError, ValueError
        For a missing or incomplete VOC tree, or a ``--data-root`` holding other files.
    """
    if config.data == "synthetic":
        voc_dir, data = _synthetic(config, rank)
    else:
        voc_dir, data = _voc(Path(config.data).expanduser())
    if world_size > 1:
        torch.distributed.barrier()
    return voc_dir, data


def _recipe(config: RunConfig, device: torch.device) -> Recipe:
    overrides = {
        k: getattr(config, k)
        for k in ("lr", "momentum", "weight_decay", "compile")
        if getattr(config, k) is not None
    }
    return replace(RECIPES[config.recipe], **overrides).on(device)


def _model_and_optimizer(
    config: RunConfig, recipe: Recipe, device: torch.device, state: dict | None
) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """Build model + optimizer; with a checkpoint ``state`` load both from it."""
    torch.manual_seed(config.seed)  # builders initialise through torch's global generator
    net = build_model(
        config.model, num_classes=NUM_CLASSES, weights=config.weights, upsample=config.upsample
    ).to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, recipe, device)
    if state is not None:  # read once; optimizer state follows its parameters
        restore_checkpoint(state, net, optimizer, path=config.checkpoint)
    return net, optimizer


def _val_examples(voc_dir: Path, count: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The first ``count`` validation images (uint8) and their class-index labels."""
    from transconv.data import list_examples, read_rgb, read_voc_label

    pairs = list_examples(voc_dir, "val")[:count]
    return [read_rgb(image) for image, _ in pairs], [read_voc_label(label) for _, label in pairs]


def _results_epoch(out: Path) -> int | None:
    """The epoch of the results files in ``out`` (None: none, or unreadable)."""
    try:
        return json.loads((out / "metrics.json").read_text())["final"]["epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_epochs(config: RunConfig, state: dict | None) -> bool:
    """Whether epochs remain to train; finished runs whose results are missing only write."""
    if state is None or config.epochs > state["epoch"]:
        return True
    if config.epochs == state["epoch"] and _results_epoch(config.out) != state["epoch"]:
        return False  # stopped while writing its results: write them now
    raise ValueError(
        f"--epochs must exceed the {state['epoch']} epoch(s) {config.checkpoint} has finished "
        f"to resume, got {config.epochs}; pass --epochs {state['epoch'] + 1} or more (the total)"
    )


def write_run_results(
    config: RunConfig, net: Any, voc_dir: Path, history: list, meta: dict[str, Any], device: Any
) -> list[str]:
    """Write ``metrics.json``, ``history.csv`` and the figures into ``config.out`` as one set.

    Parameters
    ----------
    config : RunConfig
        The run's settled settings.
    net : nn.Module
        The trained model (for ``predictions.png``).
    voc_dir : Path
        The data; its first four validation examples are drawn.
    history : list of dict
        One row per epoch.
    meta : dict
        ``provenance``, ``recipe`` and ``args`` for ``metrics.json``.
    device : torch.device
        Where the figures' predictions run.

    Returns
    -------
    list of str
        The names written.
    """
    metrics = {
        "final": dict(history[-1]) if history else {}, "history": history,
        "provenance": meta["provenance"], "recipe": meta["recipe"], "model": config.model,
        "upsample": config.upsample, "args": meta["args"],
    }  # fmt: skip
    examples = _val_examples(voc_dir, 4)
    return write_result_set(
        config.out,
        [
            lambda folder: write_metrics(folder, metrics),
            lambda folder: write_history_csv(folder, history),
            lambda folder: write_figures(
                folder, net, examples, history, tile_size=config.crop, device=device
            ),
        ],
    )


def _clean_leftovers(config: RunConfig) -> None:
    removed = remove_partial_checkpoints(config.checkpoint)
    remove_staging(config.out)  # results never moved into place: the old set stays whole
    if removed:
        print(
            f"transconv: removed {len(removed)} partial checkpoint file(s) left in "
            f"{config.out} by a run that was killed while saving",
            file=sys.stderr,
        )


def _run(
    config: RunConfig, device: torch.device, rank: int, world_size: int, progress: dict
) -> RunResult:
    """Everything checked first; then data, loaders, model, the loop, the results."""
    state = load_checkpoint(config.checkpoint) if config.resume else None
    config = settle(config, state)
    progress.update(epoch=state["epoch"] if state else 0, config=config)
    to_train = _check_epochs(config, state)
    check_values(config)
    make_out_dir(config.out)
    with lock_out(config.out) if rank == 0 else nullcontext():
        check_out_dir(config.out, continuing=config.resume or config.overwrite)
        if rank == 0:
            _clean_leftovers(config)
        voc_dir, data = prepare_data(config, rank, world_size)
        recipe = _recipe(config, device)
        train_iter, test_iter = make_loaders(
            voc_dir, recipe, batch_size=config.batch_size, crop_size=config.crop, device=device,
            seed=config.seed, num_workers=config.workers, rank=rank, world_size=world_size,
        )  # fmt: skip
        net, optimizer = _model_and_optimizer(config, recipe, device, state)
        meta = jsonable({
            "model": config.model, "num_classes": NUM_CLASSES, "crop": config.crop,
            "upsample": config.upsample, "recipe": asdict(recipe), "world_size": world_size,
            "args": config.as_dict(),
        })  # fmt: skip
        history = state["history"] if state else []
        with replacing_run(config.out, config.overwrite and rank == 0) as replaced:
            if to_train:
                model = wrap_ddp(net, device)
                model = torch.compile(model) if recipe.compile else model
                history = train(
                    model, train_iter, test_iter, epochs=config.epochs, optimizer=optimizer,
                    device=device, num_classes=NUM_CLASSES, recipe=recipe, config=meta,
                    checkpoint_path=config.checkpoint if rank == 0 else None,
                    start_epoch=progress["epoch"], history=history, progress=not config.quiet,
                    schedule_state=state.get("schedule") if state else None,
                    on_epoch_end=lambda row: (progress.update(epoch=row["epoch"]), replaced()),
                )  # fmt: skip
            files = []
            if rank == 0:
                progress["writing"] = True
                meta["provenance"] = provenance(device, world_size=world_size, data=data)
                files = write_run_results(config, net, voc_dir, history, meta, device)
                progress["writing"] = False
    return RunResult(config.out, history, ["checkpoint.pt", *files])


def _kept(progress: dict) -> str:
    """What a run stopped now leaves, said truthfully."""
    config, epoch = progress.get("config"), progress.get("epoch", 0)
    if config is None:
        return "nothing was written"
    if progress.get("writing"):
        return (
            f"{config.checkpoint} holds all {epoch} epochs but the results files were not "
            f"replaced; write them with --resume --epochs {epoch}"
        )
    if epoch:
        return f"{config.checkpoint} holds epoch {epoch}; continue with --resume"
    if config.overwrite:
        return f"no epoch finished; the run that was in {config.out} is kept"
    return "no epoch finished, no checkpoint written"


def train_run(config: RunConfig) -> RunResult:
    """Train as ``transconv train`` does, from a [`RunConfig`][transconv.run.config.RunConfig].

    Order: read the checkpoint (``resume``), settle and check the settings, check and lock
    ``out``, prepare the data and loaders, set an old run aside (``overwrite``: restored if the
    new run fails before its first epoch), train, write the results as one set.

    Parameters
    ----------
    config : RunConfig
        The run's settings.

    Returns
    -------
    RunResult
        The history and the names of the files written.

    Raises
    ------
    ValueError, FileNotFoundError
        For bad settings, data, checkpoints or an ``out`` that holds or runs another run; all
        before any file is changed.
    NonFiniteLossError
        When the loss or the weights stop being finite.
    RunStopped
        After Ctrl-C or SIGTERM (``code`` 130 or 143), saying what the folder holds.
    """
    device = resolve_device(config.device)
    # SIGTERM kills outright while in C++ code that never returns to Python (a rendezvous)
    with sigterm_handler(signal.SIG_DFL):
        rank, world_size, local_rank = setup_distributed(device.type)
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", local_rank)
    progress: dict[str, Any] = {}
    try:
        return _run(config, device, rank, world_size, progress)
    except NonFiniteLossError:
        if world_size > 1:  # every rank raised it at the same check: leave together, so a
            torch.distributed.barrier()  # launcher sees every rank's own exit status 1
        raise
    except KeyboardInterrupt as stop:
        raise RunStopped(getattr(stop, "signal_name", "SIGINT"), _kept(progress)) from None
    finally:
        if world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
