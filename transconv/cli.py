"""Command line: ``transconv train`` and ``transconv predict`` (also ``python -m transconv``).

Train an FCN on synthetic VOC-format data (generated offline) or on a real VOC tree, and write
everything a results page needs into one directory::

    transconv train --data synthetic --epochs 5 --crop 320 480 --out runs/d2l
    transconv train --data ~/data/VOCdevkit/VOC2012 --recipe fast --device cuda --out runs/fast
    transconv predict --checkpoint runs/d2l/checkpoint.pt --image photo.jpg --out labels.png

``train`` writes ``metrics.json`` (final scores, per-epoch history, provenance), ``history.csv``,
``checkpoint.pt`` (after every epoch; ``--resume`` continues from it), ``predictions.png`` and
``curves.png``. Several GPUs: ``torchrun --standalone --nproc_per_node=N -m transconv train ...``
(see :mod:`transconv.train`). Bad input ends with one line ``transconv: error: ...`` on stderr and
exit status 2; a diverging loss with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from transconv.models import MODELS, build_model
from transconv.runs import jsonable, provenance, write_figures, write_history_csv, write_metrics
from transconv.train import (
    RECIPES,
    NonFiniteLossError,
    Recipe,
    load_checkpoint,
    make_loaders,
    make_optimizer,
    predict,
    setup_distributed,
    train,
    wrap_ddp,
)

__all__ = ["build_parser", "main"]

NUM_CLASSES = 21  # the VOC classes, background included; synthetic data uses the same labels
_SYNTHETIC_SIZE = (352, 512)


def _train_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train an FCN and write metrics, history, checkpoint, figures",
        description="Train an FCN on VOC-format data; results go to --out.",
    )
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
    p.add_argument("--epochs", type=int, default=5, metavar="N", help="total epochs (default 5)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="B",
        help="images per step and process (default 32, as d2l)",
    )
    p.add_argument(
        "--crop",
        type=int,
        nargs=2,
        default=[320, 480],
        metavar=("H", "W"),
        help="random crop size; smaller images are dropped (default 320 480)",
    )
    p.add_argument(
        "--lr", type=float, help="learning rate (default: the recipe's, d2l 0.001, fast 0.01)"
    )
    p.add_argument("--momentum", type=float, help="SGD momentum (default: the recipe's)")
    p.add_argument("--weight-decay", type=float, help="SGD weight decay (default: the recipe's)")
    p.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default="auto",
        help="auto = cuda when available (default auto)",
    )
    p.add_argument(
        "--model",
        choices=list(MODELS),
        default="fcn_resnet18",
        help="architecture (default fcn_resnet18, d2l's FCN-32s)",
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
        default="d2l",
        help="d2l: fp32 and a CPU DataLoader; fast: bf16, channels_last, fused SGD and "
        "a GPU-resident loader on CUDA (default d2l)",
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
    p.add_argument("--seed", type=int, default=0, help="seeds init, shuffling, crops, data")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/checkpoint.pt after its last finished epoch",
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
        help="label PNG (palette mode: VOC colours, pixel values = class indices)",
    )
    p.add_argument(
        "--tile",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="tile size (default: the training crop)",
    )
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.set_defaults(func=_cmd_predict)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (the usage block stays behind ``--help``)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``transconv`` argument parser with its ``train`` and ``predict`` subcommands.

    Examples
    --------
    >>> args = build_parser().parse_args(["train", "--out", "runs/x", "--crop", "64", "96"])
    >>> args.crop, args.recipe, args.model
    ([64, 96], 'd2l', 'fcn_resnet18')
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


def _check_train_args(args: argparse.Namespace) -> None:
    for flag, values in (
        ("--crop", args.crop),
        ("--image-size", args.image_size or [1]),
        ("--epochs", [args.epochs]),
        ("--batch-size", [args.batch_size]),
        ("--num-train", [args.num_train]),
        ("--num-val", [args.num_val]),
    ):
        if min(values) < 1:
            shown = " ".join(map(str, values))
            raise ValueError(f"{flag} must be positive, got {shown}")
    if args.workers < 0:
        raise ValueError(f"--workers must be >= 0, got {args.workers}")


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
    marker = root / "transconv-synthetic.json"
    voc_dir = root / "VOCdevkit" / "VOC2012"
    if rank == 0 and (not marker.is_file() or json.loads(marker.read_text()) != info):
        voc_dir = make_synthetic_voc(
            root, args.num_train, args.num_val, size=size, seed=args.seed, progress=not args.quiet
        )
        marker.write_text(json.dumps(info))
    return voc_dir, info


def _voc(path: Path) -> tuple[Path, dict[str, Any]]:
    if not path.is_dir():
        raise FileNotFoundError(
            f"data directory {path} not found; pass a VOCdevkit/VOC2012 directory (get one "
            "with transconv.data.download_voc) or --data synthetic"
        )
    nested = path / "VOCdevkit" / "VOC2012"
    voc_dir = nested if nested.is_dir() else path
    counts = {}
    for split in ("train", "val"):
        listing = voc_dir / "ImageSets" / "Segmentation" / f"{split}.txt"
        counts[f"num_{split}"] = len(listing.read_text().split()) if listing.is_file() else None
    return voc_dir, {"kind": "voc", "path": str(voc_dir.resolve()), **counts}


def _val_examples(voc_dir: Path, count: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The first ``count`` validation images (uint8) and their class-index labels."""
    from transconv.data.voc import read_rgb, read_voc_label

    names = (voc_dir / "ImageSets" / "Segmentation" / "val.txt").read_text().split()[:count]
    images = [read_rgb(voc_dir / "JPEGImages" / f"{n}.jpg") for n in names]
    labels = [read_voc_label(voc_dir / "SegmentationClass" / f"{n}.png") for n in names]
    return images, labels


def _prepare(
    args: argparse.Namespace, device: torch.device, rank: int, world_size: int
) -> tuple[Path, dict[str, Any]]:
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
    args: argparse.Namespace, recipe: Recipe, device: torch.device, checkpoint: Path
) -> tuple[torch.nn.Module, torch.optim.Optimizer, int, list[dict[str, Any]]]:
    """Build model + optimizer; with --resume load both from ``checkpoint``."""
    torch.manual_seed(args.seed)  # builders initialise through torch's global generator
    net = build_model(args.model, num_classes=NUM_CLASSES, weights=args.weights).to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, recipe, device)
    if not args.resume:
        return net, optimizer, 0, []
    state = load_checkpoint(checkpoint, map_location=device)
    if state["config"].get("model") != args.model:
        raise ValueError(
            f"{checkpoint} holds a {state['config'].get('model')} model, not "
            f"--model {args.model}; pass the same --model or drop --resume"
        )
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return net, optimizer, state["epoch"], state["history"]


def _cmd_train(args: argparse.Namespace) -> int:
    _check_train_args(args)
    device = _resolve_device(args.device)
    rank, world_size, local_rank = setup_distributed(device.type)
    if device.type == "cuda" and world_size > 1:
        device = torch.device("cuda", local_rank)
    try:
        voc_dir, data = _prepare(args, device, rank, world_size)
        recipe = _recipe(args, device)
        train_iter, test_iter = make_loaders(
            voc_dir,
            recipe,
            batch_size=args.batch_size,
            crop_size=args.crop,
            device=device,
            seed=args.seed,
            num_workers=args.workers,
            rank=rank,
            world_size=world_size,
        )
        checkpoint = args.out / "checkpoint.pt"
        net, optimizer, start, history = _model_and_optimizer(args, recipe, device, checkpoint)
        model = wrap_ddp(net, device)
        model = torch.compile(model) if recipe.compile else model
        config = jsonable(
            {
                "model": args.model,
                "num_classes": NUM_CLASSES,
                "crop": args.crop,
                "recipe": asdict(recipe),
                "args": _args_dict(args),
            }
        )
        history = train(
            model,
            train_iter,
            test_iter,
            epochs=args.epochs,
            optimizer=optimizer,
            device=device,
            num_classes=NUM_CLASSES,
            recipe=recipe,
            checkpoint_path=checkpoint if rank == 0 else None,
            config=config,
            start_epoch=start,
            history=history,
            progress=not args.quiet,
        )
        if rank == 0:
            _write_results(
                args,
                net,
                voc_dir,
                history,
                config,
                provenance(device, world_size=world_size, data=data),
                device,
            )
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
    provenance: dict[str, Any],
    device: torch.device,
) -> None:
    out = args.out
    final = dict(history[-1]) if history else {}
    metrics = {
        "final": final,
        "history": history,
        "provenance": provenance,
        "recipe": config["recipe"],
        "model": args.model,
        "args": config["args"],
    }
    write_metrics(out, metrics)
    write_history_csv(out, history)
    figures = write_figures(
        out, net, _val_examples(voc_dir, 4), history, tile_size=args.crop, device=device
    )
    print(f"wrote {', '.join(['metrics.json', 'history.csv', 'checkpoint.pt', *figures])} to {out}")


def _cmd_predict(args: argparse.Namespace) -> int:
    from PIL import Image, UnidentifiedImageError

    from transconv.data.voc import read_rgb, voc_palette

    device = _resolve_device(args.device)
    state = load_checkpoint(args.checkpoint, map_location=device)
    config = state["config"]
    if config.get("model") not in MODELS:
        raise ValueError(
            f"{args.checkpoint} names no known model ({config.get('model')!r}); "
            "use a checkpoint written by `transconv train`"
        )
    net = build_model(config["model"], num_classes=config["num_classes"]).to(device)
    net.load_state_dict(state["model"])
    try:
        image = read_rgb(args.image)
    except UnidentifiedImageError as err:
        raise ValueError(f"cannot decode image {args.image} ({err}); pass a JPEG or PNG") from err
    tile = args.tile or config.get("crop") or [320, 480]
    if min(tile) < 1:
        raise ValueError(f"--tile must be positive, got {tile[0]} {tile[1]}")
    labels = predict(net, image, tile_size=tuple(tile), device=device)
    png = Image.fromarray(labels.to(torch.uint8).numpy(), mode="P")
    png.putpalette(voc_palette().flatten().tolist())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    png.save(args.out)
    print(
        f"wrote {args.out} ({labels.shape[0]}x{labels.shape[1]}, classes "
        f"{sorted(set(labels.unique().tolist()))})"
    )
    return 0


def _fail(err: BaseException, code: int) -> None:
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"transconv: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``transconv`` command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    SystemExit
        Status 2 after one ``transconv: error: ...`` line on stderr for bad input (missing data,
        checkpoint or image, bad crop, unknown model); status 1 when the loss diverges or the
        system fails (e.g. no network to fetch ``--weights DEFAULT``).

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
        return args.func(args)
    except NonFiniteLossError as err:
        _fail(err, 1)
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        _fail(err, 2)
    except OSError as err:  # e.g. no network for --weights DEFAULT, a full disk
        _fail(err, 1)
    return 1
