"""Command line: `transconv train` and `transconv predict` (also `python -m transconv`).

Train an FCN on synthetic VOC-format data (generated offline) or on a real VOC tree, and write
everything a results page needs into one directory:

    transconv train --data synthetic --epochs 5 --crop 320 480 --out runs/d2l
    transconv train --data ~/data/VOCdevkit/VOC2012 --recipe fast --device cuda --out runs/fast
    transconv predict --checkpoint runs/d2l/checkpoint.pt --image photo.jpg --out labels.png

`train` writes `metrics.json` (final scores, per-epoch history, provenance), `history.csv`,
`checkpoint.pt` (after every finished epoch whose losses and weights are finite),
`predictions.png` and `curves.png` (written by `transconv.runs`). Several GPUs:
`torchrun --standalone --nproc_per_node=N -m transconv train ...` (see
`transconv.distributed`).

A user's work is never replaced or mixed:

- an `--out` that already holds a run is refused unless `--resume` (continue it) or
  `--overwrite` (delete its results files first) is given;
- `--resume` continues the run *as it was configured*: `--model`, `--recipe`, `--lr`,
  `--momentum`, `--weight-decay`, `--crop`, `--batch-size`, `--seed` and `--upsample` default
  to the checkpoint's values, and a value that differs from the checkpoint's is refused with
  a message listing every difference (train into a new `--out` to change them);
- Ctrl-C and SIGTERM stop with one line and the checkpoint of the last finished epoch intact;
  temporary files of a run killed while saving are removed at the next start.

Errors end with one line `transconv: error: ...` on stderr: status 2 for bad input (flags,
data, checkpoint, image, sizes that do not fit in memory), 1 for a diverging loss or a failing
system, 130/143 after Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from transconv._validation import check_allocation
from transconv.checkpoint import (
    load_checkpoint,
    remove_partial_checkpoints,
    restore_checkpoint,
)
from transconv.data.loaders import make_loaders
from transconv.distributed import setup_distributed, wrap_ddp
from transconv.models import MODELS, build_model
from transconv.recipes import RECIPES, Recipe, make_optimizer
from transconv.runs import jsonable, provenance, write_figures, write_history_csv, write_metrics
from transconv.tiling import predict
from transconv.train import NonFiniteLossError, train

__all__ = ["build_parser", "main"]

NUM_CLASSES = 21  # the VOC classes, background included; synthetic data uses the same labels
_SYNTHETIC_SIZE = (352, 512)
_RESULTS = ("checkpoint.pt", "metrics.json", "history.csv", "predictions.png", "curves.png")
# what --resume takes from the checkpoint; None = the flag's default when not resuming
_RUN_DEFAULTS: dict[str, Any] = {
    "model": "fcn_resnet18",
    "recipe": "d2l",
    "lr": None,
    "momentum": None,
    "weight_decay": None,
    "crop": [320, 480],
    "batch_size": 32,
    "seed": 0,
    "upsample": "transposed",
}
_KEPT = "; with --resume: the checkpoint's"


def _data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default="synthetic",
        metavar="synthetic|PATH",
        help="'synthetic' (generated offline, default) or a VOCdevkit/VOC2012 "
        "directory (or a directory containing VOCdevkit/VOC2012)",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        metavar="DIR",
        help="where synthetic data is written (default: OUT/data); reused if present",
    )
    p.add_argument(
        "--num-train",
        type=int,
        default=128,
        metavar="N",
        help="synthetic training images (default 128)",
    )
    p.add_argument(
        "--num-val",
        type=int,
        default=32,
        metavar="N",
        help="synthetic validation images (default 32)",
    )
    p.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="synthetic image size (default 352 512, or the crop + 32 if larger)",
    )


def _run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--epochs",
        type=int,
        default=5,
        metavar="N",
        help="total epochs, counting those a resumed run has done (default 5)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        metavar="B",
        help="images per step and process (default 32, as d2l" + _KEPT + ")",
    )
    p.add_argument(
        "--crop",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="random crop size; smaller images are dropped (default 320 480" + _KEPT + ")",
    )
    p.add_argument(
        "--lr",
        type=float,
        help="learning rate (default: the recipe's, d2l 0.001, fast 0.01" + _KEPT + ")",
    )
    p.add_argument(
        "--momentum", type=float, help="SGD momentum (default: the recipe's" + _KEPT + ")"
    )
    p.add_argument(
        "--weight-decay", type=float, help="SGD weight decay (default: the recipe's" + _KEPT + ")"
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto = cuda when available (default auto)",
    )
    p.add_argument(
        "--model",
        choices=list(MODELS),
        help="architecture (default fcn_resnet18, d2l's FCN-32s" + _KEPT + ")",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="NAME",
        help="backbone weights for torchvision, e.g. DEFAULT (needs internet once); "
        "default: random initialisation",
    )
    p.add_argument(
        "--recipe",
        choices=list(RECIPES),
        help="d2l: fp32 and a CPU DataLoader; fast: bf16, channels_last, fused SGD "
        "and a GPU-resident loader on CUDA (default d2l" + _KEPT + ")",
    )
    p.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="wrap the model in torch.compile (default: the recipe's, off)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="W",
        help="DataLoader worker processes for the d2l pipeline (default 0)",
    )
    p.add_argument(
        "--seed", type=int, help="seeds init, shuffling, crops, data (default 0" + _KEPT + ")"
    )
    p.add_argument(
        "--upsample",
        choices=["transposed", "subpixel"],
        help="how the model's transposed convolutions compute: ConvTranspose2d, or the same "
        "weights as a stride-1 convolution and a pixel shuffle (default transposed" + _KEPT + ")",
    )


def _train_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train an FCN and write metrics, history, checkpoint, figures",
        description="Train an FCN on VOC-format data; results go to --out. An --out that "
        "already holds a run needs --resume or --overwrite.",
    )
    _data_flags(p)
    _run_flags(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="results directory: metrics.json, history.csv, checkpoint.pt, figures",
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--resume",
        action="store_true",
        help="continue OUT/checkpoint.pt after its last finished epoch, with its settings: "
        "--model, --recipe, --lr, --momentum, --weight-decay, --crop, --batch-size, --seed "
        "and --upsample default to the checkpoint's, and different values are refused",
    )
    again.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the results files of a run already in OUT, then train",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)


def _predict_parser(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="label an image with a trained checkpoint",
        description="Label every pixel of an image of any size with overlapping "
        "tiles; write a VOC palette PNG.",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        required=True,
        metavar="CKPT",
        help="checkpoint.pt written by `transconv train`",
    )
    p.add_argument("--image", type=Path, required=True, metavar="IN", help="JPEG or PNG image")
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="OUT.png",
        help="label PNG (palette mode: VOC colours, pixel values = class indices); an "
        "existing file is refused unless --overwrite",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument(
        "--tile",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="tile size (default: the training crop)",
    )
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto = cuda when available (default auto)",
    )
    p.set_defaults(func=_cmd_predict)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (the usage block stays behind ``--help``)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``transconv`` argument parser with its ``train`` and ``predict`` subcommands.

    Returns
    -------
    argparse.ArgumentParser
        Its errors are one line; flags that ``--resume`` takes from the checkpoint parse to
        None when not given.

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--out", "runs/x", "--crop", "64", "96"])
    >>> args.crop, args.recipe, args.resume
    ([64, 96], None, False)
    """
    parser = _Parser(
        prog="transconv",
        description="Train fully convolutional networks and label images with them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,predict}")
    _train_parser(sub)
    _predict_parser(sub)
    return parser


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "--device cuda, but torch.cuda.is_available() is False; use --device cpu or auto"
        )
    return torch.device(name)


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _shown(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _checkpoint_settings(config: dict[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint was trained with, read from the config `train` stores."""
    recipe, args = config.get("recipe") or {}, config.get("args") or {}
    return {
        "model": config.get("model"),
        "recipe": recipe.get("name"),
        "lr": recipe.get("lr"),
        "momentum": recipe.get("momentum"),
        "weight_decay": recipe.get("weight_decay"),
        "crop": config.get("crop"),
        "batch_size": args.get("batch_size"),
        "seed": args.get("seed"),
        "upsample": config.get("upsample"),
    }


def _settle(args: argparse.Namespace, state: dict[str, Any] | None) -> None:
    """Fill the run's settings: from the checkpoint when resuming (refusing changes), else the
    defaults."""
    if state is None:
        for key, default in _RUN_DEFAULTS.items():
            if getattr(args, key) is None:
                setattr(args, key, default)
        return
    saved = _checkpoint_settings(state["config"])
    asked = {k: getattr(args, k) for k in _RUN_DEFAULTS if getattr(args, k) is not None}
    changed = {k: v for k, v in asked.items() if saved.get(k) is not None and saved[k] != v}
    if changed:
        was = " ".join(f"{_flag(k)} {_shown(saved[k])}" for k in changed)
        now = " ".join(f"{_flag(k)} {_shown(v)}" for k, v in changed.items())
        raise ValueError(
            f"--resume must keep the checkpoint's settings, got {now} for a run trained with "
            f"{was} ({args.out / 'checkpoint.pt'}); drop these flags to continue as trained, "
            "or train into a new --out"
        )
    for key, default in _RUN_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, saved.get(key) if saved.get(key) is not None else default)


def _check_sizes(args: argparse.Namespace) -> None:
    for flag, values in (
        ("--crop", args.crop),
        ("--image-size", args.image_size or [1]),
        ("--epochs", [args.epochs]),
        ("--batch-size", [args.batch_size]),
        ("--num-train", [args.num_train]),
        ("--num-val", [args.num_val]),
    ):
        if min(values) < 1:
            raise ValueError(f"{flag} must be positive, got {_shown(values)}")
    if args.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {args.workers}")
    (h, w), batch = args.crop, args.batch_size
    # Per image the step holds at least its float32 input (3 x 4 B/px), its int64 labels
    # (8 B/px) and the float32 logits with their gradient (2 x 21 classes x 4 B/px), 188 B/px;
    # the backbone's activations come on top, so this is a lower bound.
    check_allocation(
        batch * h * w * (12 + 8 + 2 * NUM_CLASSES * 4),
        f"--crop {h} {w} with --batch-size {batch}",
        "use a smaller --crop or --batch-size",
    )
    if args.data == "synthetic" and args.image_size:
        ih, iw = args.image_size
        # the generator renders one image at a time: a float32 RGB image and its float32 noise
        # (2 x 12 B/px), a float64 wave (8 B/px), the uint8 image and label (4 B/px), 36 B/px
        check_allocation(ih * iw * 36, f"--image-size {ih} {iw}", "use a smaller --image-size")


def _check_out(args: argparse.Namespace) -> None:
    """Refuse an --out that cannot be written or that holds a run (unless asked), before any
    work."""
    out = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise ValueError(
            f"--out must be a writable directory, got {out} ({err.strerror}); pick another --out"
        ) from err
    present = [name for name in _RESULTS[:3] if (out / name).exists()]
    if present and not (args.resume or args.overwrite):
        raise ValueError(
            f"--out must not hold another run, got {out} with {', '.join(present)}; pass "
            "--resume to continue it, --overwrite to replace it, or another --out"
        )


def _synthetic(args: argparse.Namespace, rank: int) -> tuple[Path, dict[str, Any]]:
    """Generate (or reuse) synthetic VOC data; return its VOC2012 path and a description."""
    from transconv.data.synthetic import make_synthetic_voc

    size = args.image_size or [
        max(_SYNTHETIC_SIZE[0], args.crop[0] + 32),
        max(_SYNTHETIC_SIZE[1], args.crop[1] + 32),
    ]
    root = args.data_root or args.out / "data"
    info = {
        "kind": "synthetic",
        "root": str(root),
        "num_train": args.num_train,
        "num_val": args.num_val,
        "size": list(size),
        "seed": args.seed,
    }
    # make_synthetic_voc marks what it makes with its parameters: reuse the tree when they match
    from transconv.data.synthetic import SYNTHETIC_MARKER

    marker = root / SYNTHETIC_MARKER
    made = json.loads(marker.read_text()) if marker.is_file() else {}
    wanted = {
        "num_train": args.num_train,
        "num_val": args.num_val,
        "sizes": [list(size)],
        "seed": args.seed,
    }
    voc_dir = root / "VOCdevkit" / "VOC2012"
    if rank == 0 and any(made.get(key) != value for key, value in wanted.items()):
        try:
            voc_dir = make_synthetic_voc(
                root,
                args.num_train,
                args.num_val,
                size=size,
                seed=args.seed,
                progress=not args.quiet,
            )
        except ValueError as err:  # name the flag the user typed, not the function's argument
            flag = "--data-root" if args.data_root else "--out"
            raise ValueError(f"{flag} {root}: {err}") from None
    return voc_dir, info


def _voc(path: Path) -> tuple[Path, dict[str, Any]]:
    from transconv.data.layout import list_examples, resolve_voc_dir

    if not path.is_dir():
        raise FileNotFoundError(
            f"data directory {path} not found; pass a VOCdevkit/VOC2012 directory (get one "
            "with transconv.data.download_voc) or --data synthetic"
        )
    voc_dir = resolve_voc_dir(path)
    counts = {f"num_{split}": len(list_examples(voc_dir, split)) for split in ("train", "val")}
    return voc_dir, {"kind": "voc", "path": str(voc_dir.resolve()), **counts}


def _val_examples(voc_dir: Path, count: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The first ``count`` validation images (uint8) and their class-index labels."""
    from transconv.data import list_examples, read_rgb, read_voc_label

    pairs = list_examples(voc_dir, "val")[:count]
    return [read_rgb(image) for image, _ in pairs], [read_voc_label(label) for _, label in pairs]


def _prepare(args: argparse.Namespace, rank: int, world_size: int) -> tuple[Path, dict]:
    if args.data == "synthetic":
        voc_dir, data = _synthetic(args, rank)
    else:
        voc_dir, data = _voc(Path(args.data).expanduser())
    if world_size > 1:
        torch.distributed.barrier()
    return voc_dir, data


def _recipe(args: argparse.Namespace, device: torch.device) -> Recipe:
    overrides = {
        k: v
        for k, v in (
            ("lr", args.lr),
            ("momentum", args.momentum),
            ("weight_decay", args.weight_decay),
            ("compile", args.compile),
        )
        if v is not None
    }
    return replace(RECIPES[args.recipe], **overrides).on(device)


def _model_and_optimizer(
    args: argparse.Namespace, recipe: Recipe, device: torch.device, state: dict | None
) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """Build model + optimizer; with a checkpoint ``state`` load both from it."""
    torch.manual_seed(args.seed)  # builders initialise through torch's global generator
    net = build_model(
        args.model, num_classes=NUM_CLASSES, weights=args.weights, upsample=args.upsample
    ).to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, recipe, device)
    if state is not None:  # read once by _start; optimizer state follows its parameters
        restore_checkpoint(state, net, optimizer, path=args.out / "checkpoint.pt")
    return net, optimizer


def _start(args: argparse.Namespace, rank: int) -> dict[str, Any] | None:
    """Settle the run's settings, check sizes and --out before any work; the checkpoint's
    state when resuming."""
    checkpoint = args.out / "checkpoint.pt"
    state = load_checkpoint(checkpoint) if args.resume else None
    if state is not None and args.epochs <= state["epoch"]:
        raise ValueError(
            f"--epochs must exceed the {state['epoch']} epoch(s) {checkpoint} has finished to "
            f"resume, got {args.epochs}; pass --epochs {state['epoch'] + 1} or more (the total)"
        )
    _settle(args, state)
    _check_sizes(args)
    _check_out(args)
    if rank == 0:
        removed = remove_partial_checkpoints(checkpoint)
        if removed:
            print(
                f"transconv: removed {len(removed)} partial checkpoint file(s) left in "
                f"{args.out} by a run that was killed while saving",
                file=sys.stderr,
            )
        if args.overwrite:
            for name in _RESULTS:
                (args.out / name).unlink(missing_ok=True)
    return state


def _run(
    args: argparse.Namespace, device: torch.device, rank: int, world_size: int, done: dict[str, int]
) -> None:
    """Data, loaders, model, the loop, results: one training run, after the checks."""
    state = _start(args, rank)
    done["epoch"] = state["epoch"] if state else 0
    voc_dir, data = _prepare(args, rank, world_size)
    recipe = _recipe(args, device)
    train_iter, test_iter = make_loaders(
        voc_dir, recipe, batch_size=args.batch_size, crop_size=args.crop, device=device,
        seed=args.seed, num_workers=args.workers, rank=rank, world_size=world_size,
    )  # fmt: skip
    net, optimizer = _model_and_optimizer(args, recipe, device, state)
    model = wrap_ddp(net, device)
    model = torch.compile(model) if recipe.compile else model
    config = jsonable({
        "model": args.model, "num_classes": NUM_CLASSES, "crop": args.crop,
        "upsample": args.upsample, "recipe": asdict(recipe), "world_size": world_size,
        "args": _args_dict(args),
    })  # fmt: skip
    history = train(
        model, train_iter, test_iter, epochs=args.epochs, optimizer=optimizer, device=device,
        num_classes=NUM_CLASSES, recipe=recipe, config=config,
        checkpoint_path=args.out / "checkpoint.pt" if rank == 0 else None,
        start_epoch=done["epoch"], history=state["history"] if state else None,
        progress=not args.quiet, on_epoch_end=lambda row: done.update(epoch=row["epoch"]),
    )  # fmt: skip
    if rank == 0:
        prov = provenance(device, world_size=world_size, data=data)
        _write_results(args, net, voc_dir, history, config, prov, device)


def _cmd_train(args: argparse.Namespace) -> int:
    device = _resolve_device(args.device)
    rank, world_size, local_rank = setup_distributed(device.type)
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", local_rank)
    done = {"epoch": 0}  # the last finished epoch, for the message after Ctrl-C or SIGTERM
    try:
        _run(args, device, rank, world_size, done)
    except NonFiniteLossError:
        if world_size > 1:  # every rank raised it at the same check: leave together, so a
            torch.distributed.barrier()  # launcher sees every rank's own exit status 1
        raise
    except KeyboardInterrupt as stop:
        raise _Stopped(stop, args.out, done) from None
    finally:
        if world_size > 1 and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()
    return 0


def _args_dict(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k != "func"}


def _write_results(
    args: argparse.Namespace,
    net: Any,
    voc_dir: Path,
    history: list,
    config: dict[str, Any],
    prov: dict[str, Any],
    device: torch.device,
) -> None:
    out = args.out
    final = dict(history[-1]) if history else {}
    write_metrics(
        out,
        {
            "final": final,
            "history": history,
            "provenance": prov,
            "recipe": config["recipe"],
            "model": args.model,
            "upsample": args.upsample,
            "args": config["args"],
        },
    )
    write_history_csv(out, history)
    figures = write_figures(
        out, net, _val_examples(voc_dir, 4), history, tile_size=args.crop, device=device
    )
    print(f"wrote {', '.join(['metrics.json', 'history.csv', 'checkpoint.pt', *figures])} to {out}")


def _cmd_predict(args: argparse.Namespace) -> int:
    from PIL import Image

    from transconv.data import read_rgb
    from transconv.data.voc import voc_palette

    if args.out.exists() and not args.overwrite:  # checked before any work: never a user's file
        raise ValueError(
            f"--out must not exist, got {args.out} (an existing file); pass --overwrite to "
            "replace it, or another --out"
        )
    if args.out.resolve() == args.image.resolve():
        raise ValueError(
            f"--out must differ from --image, got {args.out} for both; write the labels to "
            "another file"
        )
    device = _resolve_device(args.device)
    state = load_checkpoint(args.checkpoint)
    config = state["config"]
    if config.get("model") not in MODELS or not isinstance(config.get("num_classes"), int):
        raise ValueError(
            f"checkpoint {args.checkpoint} names no known model "
            f"({config.get('model')!r}); use a checkpoint written by "
            "`transconv train`"
        )
    net = build_model(
        config["model"],
        num_classes=config["num_classes"],
        upsample=config.get("upsample", "transposed"),
    )
    restore_checkpoint(state, net, path=args.checkpoint)
    image = read_rgb(args.image)  # decoding failures are one-line ImageReadErrors
    tile = args.tile or config.get("crop") or [320, 480]
    if min(tile) < 1:
        raise ValueError(f"--tile must be positive, got {tile[0]} {tile[1]}")
    labels = predict(net.to(device), image, tile_size=tuple(tile), device=device)
    png = Image.fromarray(labels.to(torch.uint8).numpy(), mode="P")
    png.putpalette(voc_palette().flatten().tolist())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png.save(args.out)
    print(
        f"wrote {args.out} ({labels.shape[0]}x{labels.shape[1]}, classes "
        f"{sorted(set(labels.unique().tolist()))})"
    )
    return 0


class _Stopped(Exception):
    """Ctrl-C or SIGTERM during `train`: which signal, and what the checkpoint holds."""

    def __init__(self, stop: BaseException, out: Path, done: dict | None) -> None:
        name = getattr(stop, "signal_name", "SIGINT")
        self.code = 143 if name == "SIGTERM" else 130
        kept = (
            f"{out / 'checkpoint.pt'} holds epoch {done['epoch']}; continue with --resume"
            if done and done["epoch"]
            else "no epoch finished, no checkpoint written"
        )
        super().__init__(f"stopped by {name}; {kept}")


class _Terminated(KeyboardInterrupt):
    signal_name = "SIGTERM"


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler, torchrun, `kill`) stops like Ctrl-C: a clean one-line stop."""

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(err: BaseException, code: int) -> None:
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"transconv: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``transconv`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    SystemExit
        After one ``transconv: error: ...`` line on stderr: status 2 for bad input (missing
        or unreadable data, checkpoint or image, an --out that holds another run or cannot be
        written, a --resume that changes the run's settings, sizes that do not fit in
        memory); 1 when the loss diverges or the system fails (e.g. no network to fetch
        ``--weights DEFAULT``); 130 after Ctrl-C and 143 after SIGTERM, the checkpoint of the
        last finished epoch kept.

    Examples
    --------
    >>> main(["train", "--out", "runs/x", "--crop", "0", "96"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            return args.func(args)
    except NonFiniteLossError as err:
        _fail(err, 1)
    except _Stopped as err:
        _fail(err, err.code)
    except KeyboardInterrupt as err:  # Ctrl-C in predict
        _fail(_Stopped(err, args.out, None), 130)
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        _fail(err, 2)
    except OSError as err:  # e.g. no network for --weights DEFAULT, a full disk
        _fail(err, 1)
    return 1
