"""Command line: `transconv train` and `transconv predict` (also `python -m transconv`).

Train an FCN on synthetic VOC-format data (generated offline) or on a real VOC tree, and write
everything a results page needs into one directory:

    transconv train --data synthetic --epochs 5 --crop 320 480 --out runs/d2l
    transconv train --data ~/data/VOCdevkit/VOC2012 --recipe fast --device cuda --out runs/fast
    transconv predict --checkpoint runs/d2l/checkpoint.pt --image photo.jpg --out labels.png

This module holds only the flags, their help and the exit codes; the run itself is
[`train_run`][transconv.run.training.train_run] and
[`predict_file`][transconv.run.predicting.predict_file], callable without argparse.
`train` writes the files of [`RUN_FILES`][transconv.run.files.RUN_FILES]: `checkpoint.pt`
(after every finished epoch whose losses and weights are finite), then `metrics.json`,
`history.csv`, `predictions.png` and `curves.png` together, as one set. Several GPUs:
`torchrun --standalone --nproc_per_node=N -m transconv train ...`.

A user's work is never replaced or mixed:

- an `--out` holding any file a run writes is refused unless `--resume` (continue it) or
  `--overwrite` (replace it: the old run is set aside, and put back if the new one fails
  before its first epoch); everything is checked before the old run is touched;
- one run at a time per `--out`: a second is refused, naming the first one's pid;
- `--resume` continues the run *as it was configured*: `--model`, `--recipe`, `--lr`,
  `--momentum`, `--weight-decay`, `--crop`, `--batch-size`, `--seed`, `--upsample`,
  `--num-train`, `--num-val` and `--image-size` default to the checkpoint's values, and a
  value that differs from the checkpoint's is refused with a message listing every difference;
- Ctrl-C and SIGTERM stop with one line saying what the folder holds.

Errors end with one line `transconv: error: ...` on stderr: status 2 for bad input (flags,
data, checkpoint, image, an --out in use, sizes that do not fit in memory), 1 for a diverging
loss, non-finite logits or a failing system (a full disk), 130/143 after Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from transconv._moved import moved_names
from transconv.models import MODELS
from transconv.recipes import RECIPES
from transconv.run import (
    NonFiniteLogitsError,
    RunConfig,
    RunStopped,
    predict_file,
    resolve_device,
    sigterm_handler,
    train_run,
)
from transconv.train import NonFiniteLossError

__all__ = ["build_parser", "main"]

_KEPT = "; with --resume: the checkpoint's"
_DEVICE = {"choices": ["auto", "cpu", "cuda"], "default": "auto", "help": "auto = cuda when "
           "available (default auto)"}  # fmt: skip


def _path(text: str) -> Path:
    """A path flag; an empty one would silently mean the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the path must not be empty, got ''; name a file or folder, e.g. ./runs/first"
        )
    return Path(text)


def _data_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="synthetic", metavar="synthetic|PATH", help="'synthetic' "
                   "(generated offline, default) or a VOCdevkit/VOC2012 directory (or a "
                   "directory containing VOCdevkit/VOC2012)")  # fmt: skip
    p.add_argument("--data-root", type=_path, metavar="DIR", help="where synthetic data is "
                   "written (default: OUT/data); reused if present")  # fmt: skip
    p.add_argument("--num-train", type=int, metavar="N",
                   help="synthetic training images (default 128" + _KEPT + ")")  # fmt: skip
    p.add_argument("--num-val", type=int, metavar="N",
                   help="synthetic validation images (default 32" + _KEPT + ")")  # fmt: skip
    p.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), help="synthetic "
                   "image size (default 352 512, or the crop + 32 if larger"
                   + _KEPT + ")")  # fmt: skip


def _run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=int, default=5, metavar="N", help="total epochs, "
                   "counting those a resumed run has done (default 5)")  # fmt: skip
    p.add_argument("--batch-size", type=int, metavar="B", help="images per step and "
                   "process (default 32, as d2l" + _KEPT + ")")  # fmt: skip
    p.add_argument("--crop", type=int, nargs=2, metavar=("H", "W"), help="random crop size; "
                   "smaller images are dropped (default 320 480" + _KEPT + ")")  # fmt: skip
    p.add_argument("--lr", type=float, help="learning rate (default: the recipe's, d2l 0.001, "
                   "fast 0.01" + _KEPT + ")")  # fmt: skip
    p.add_argument(
        "--momentum", type=float, help="SGD momentum (default: the recipe's" + _KEPT + ")"
    )
    p.add_argument("--weight-decay", type=float,
                   help="SGD weight decay (default: the recipe's" + _KEPT + ")")  # fmt: skip
    p.add_argument("--device", **_DEVICE)
    p.add_argument("--model", choices=list(MODELS), help="architecture (default "
                   "fcn_resnet18, d2l's FCN-32s" + _KEPT + ")")  # fmt: skip
    p.add_argument("--weights", metavar="NAME", help="backbone weights for torchvision, e.g. "
                   "DEFAULT (needs internet once); default: random initialisation")  # fmt: skip
    p.add_argument("--recipe", choices=list(RECIPES), help="d2l: fp32 and a CPU DataLoader; "
                   "fast: bf16, channels_last, fused SGD and a GPU-resident loader on CUDA "
                   "(default d2l" + _KEPT + ")")  # fmt: skip
    p.add_argument("--compile", action=argparse.BooleanOptionalAction,
                   help="wrap the model in torch.compile (default: the recipe's, off)")  # fmt: skip
    p.add_argument("--workers", type=int, default=0, metavar="W",
                   help="DataLoader worker processes for the d2l pipeline (default 0)")  # fmt: skip
    p.add_argument("--seed", type=int, help="seeds init, shuffling, crops, data; 0..2**63 - 1 "
                   "(default 0" + _KEPT + ")")  # fmt: skip
    p.add_argument("--upsample", choices=["transposed", "subpixel"], help="how the model's "
                   "transposed convolutions compute: ConvTranspose2d, or the same weights as a "
                   "stride-1 convolution and a pixel shuffle (default transposed"
                   + _KEPT + ")")  # fmt: skip


def _train_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train an FCN and write metrics, history, checkpoint, "
                       "figures", description="Train an FCN on VOC-format data; results go to "
                       "--out. An --out holding any of a run's files needs --resume or "
                       "--overwrite; one run at a time per --out.")  # fmt: skip
    _data_flags(p)
    _run_flags(p)
    p.add_argument("--out", type=_path, required=True, metavar="DIR", help="results "
                   "directory: checkpoint.pt, metrics.json, history.csv, predictions.png, "
                   "curves.png")  # fmt: skip
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true", help="continue OUT/checkpoint.pt after "
                       "its last finished epoch, with its settings: --model, --recipe, --lr, "
                       "--momentum, --weight-decay, --crop, --batch-size, --seed, --upsample, "
                       "--num-train, --num-val and --image-size default to the checkpoint's, "
                       "and different values are refused")  # fmt: skip
    again.add_argument("--overwrite", action="store_true", help="replace the run in OUT: it "
                       "is set aside once every input is checked, and put back if the new run "
                       "fails before its first epoch")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_train)


def _predict_parser(sub: Any) -> None:
    p = sub.add_parser("predict", help="label an image with a trained checkpoint",
                       description="Label every pixel of an image of any size with overlapping "
                       "tiles; write a VOC palette PNG.")  # fmt: skip
    p.add_argument("--checkpoint", type=_path, required=True, metavar="CKPT",
                   help="checkpoint.pt written by `transconv train`")  # fmt: skip
    p.add_argument("--image", type=_path, required=True, metavar="IN", help="JPEG or PNG image")
    p.add_argument("--out", type=_path, required=True, metavar="OUT.png", help="label PNG "
                   "(palette mode: VOC colours, pixel values = class indices), checked before "
                   "any work; an existing file is refused unless --overwrite")  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--tile", type=int, nargs=2, metavar=("H", "W"),
                   help="tile size (default: the training crop)")  # fmt: skip
    p.add_argument("--device", **_DEVICE)
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
    from transconv import __version__

    parser = _Parser(
        prog="transconv",
        description="Train fully convolutional networks and label images with them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{train,predict}")
    _train_parser(sub)
    _predict_parser(sub)
    return parser


def _cmd_train(args: argparse.Namespace) -> int:
    result = train_run(RunConfig.from_dict(vars(args)))
    print(f"wrote {', '.join(result.files)} to {result.out}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    labels = predict_file(
        args.checkpoint, args.image, args.out, tile=args.tile,
        device=resolve_device(args.device), overwrite=args.overwrite,
    )  # fmt: skip
    classes = sorted(set(labels.unique().tolist()))
    print(f"wrote {args.out} ({labels.shape[0]}x{labels.shape[1]}, classes {classes})")
    return 0


class _Terminated(KeyboardInterrupt):
    signal_name = "SIGTERM"


def _sigterm_as_interrupt() -> AbstractContextManager[None]:
    """SIGTERM (a scheduler, torchrun, `kill`) stops like Ctrl-C: a clean one-line stop."""

    def handler(signum: int, frame: Any) -> None:
        raise _Terminated()

    return sigterm_handler(handler)


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
        or unreadable data, checkpoint or image, an --out that holds another run, is in use or
        cannot be written, a --resume that changes the run's settings, sizes that do not fit
        in memory); 1 when the loss or the logits are not finite or the system fails (a full
        disk, no network for ``--weights DEFAULT``); 130 after Ctrl-C and 143 after SIGTERM.

    Examples
    --------
    >>> main(["train", "--out", "runs/x", "--crop", "0", "96"])
    Traceback (most recent call last):
    ...
    SystemExit: 2
    """
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            return args.func(args)
    except (NonFiniteLossError, NonFiniteLogitsError) as err:
        _fail(err, 1)
    except RunStopped as err:
        _fail(err, err.code)
    except KeyboardInterrupt as err:  # in predict
        stop = RunStopped(getattr(err, "signal_name", "SIGINT"), "nothing was written")
        _fail(stop, stop.code)
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        _fail(err, 2)
    except OSError as err:  # e.g. no network for --weights DEFAULT, a full disk
        _fail(err, 1)
    return 1


__getattr__ = moved_names(__name__, {"NUM_CLASSES": "transconv.run"})
