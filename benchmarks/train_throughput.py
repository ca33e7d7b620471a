"""Training throughput of FCN-ResNet18: d2l's step, transconv's step, transconv end to end.

In one run on one device this times

(a) a d2l-style step written out below: float32, NCHW, d2l's loss
    (``F.cross_entropy(reduction="none").mean(1).mean(1)``, then ``.sum().backward()``),
    ``SGD(lr=0.001, weight_decay=1e-3)``, on a random batch, with torch's default settings
    (cuDNN autotuning off; cuDNN convolutions may use TF32, torch's default);
(b) transconv's step, compute only: :data:`transconv.train.RECIPES` ``["fast"]`` (bfloat16
    autocast, channels_last, fused SGD, cuDNN autotuning, optionally ``torch.compile``) with
    :func:`transconv.train.train_step` on the same random batch;
(c) transconv end to end: one epoch of :func:`transconv.train.train` fed by the GPU-resident
    :class:`transconv.data.gpu.DeviceSegLoader` over VOC-format data (``--voc PATH``, else
    synthetic data written by :func:`transconv.data.make_synthetic_voc`: 1,114 images, the size
    of VOC's train split after dropping images smaller than 320x480, at VOC's typical 375x500);

and prints images per second, the ratios b/a and c/b (targets on an H100: b/a >= 6, c/b >= 0.9)
and the achieved TFLOP/s (FLOPs of one forward and backward pass counted with
``torch.utils.flop_counter.FlopCounterMode``). ``--write`` saves the figures with their
provenance to ``docs/results/benchmark.json``.

GPU, as in the published figures::

    python benchmarks/train_throughput.py --write

The figures' provenance names the commit from ``git`` or, where the tree has no ``.git`` (a
copy on a GPU machine), from the environment variable ``TRANSCONV_COMMIT``.

CPU smoke test (seconds)::

    python benchmarks/train_throughput.py --device cpu --batch-size 2 --size 64 96 \
        --images 8 --steps 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from transconv.data.gpu import DeviceSegLoader
from transconv.data.synthetic import make_synthetic_voc
from transconv.models import build_model
from transconv.train import (
    RECIPES,
    Recipe,
    cudnn_autotune,
    d2l_loss,
    loss_fn,
    make_optimizer,
    train,
    train_step,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "results" / "benchmark.json"
TARGETS = {"b_over_a": 6.0, "c_over_b": 0.9}
VOC_TYPICAL = (375, 500)  # the usual VOC image size, for the synthetic stand-in
NUM_CLASSES = 21


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto (cuda if present), cuda or cpu")
    parser.add_argument("--model", default="fcn_resnet18")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, nargs=2, default=(320, 480), metavar=("H", "W"),
                        help="crop / input size (default 320 480)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps for (a) and (b)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before timing")
    parser.add_argument("--images", type=int, default=1114,
                        help="synthetic training images for (c) (ignored with --voc)")
    parser.add_argument("--voc", type=Path, default=None,
                        help="a VOCdevkit/VOC2012 directory for (c) instead of synthetic data")
    parser.add_argument("--compile", action="store_true", help="torch.compile the fast model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"write {DEFAULT_OUT}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where --write writes")
    return parser.parse_args(argv)


def say(message: str) -> None:
    """Progress on stderr, at once (a remote log shows where the time went)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], object], steps: int, warmup: int,
               device: torch.device) -> float:
    """Seconds for ``steps`` calls of ``step`` after ``warmup`` untimed ones.

    On CUDA the time is measured between two CUDA events recorded on the stream around the
    timed steps, after a ``torch.cuda.synchronize``; on a CPU with ``time.perf_counter``.
    """
    for _ in range(warmup):
        step()
    sync(device)
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            step()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000
    start_s = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start_s


def random_batch(batch: int, size: tuple[int, int], device: torch.device,
                 seed: int) -> tuple[Tensor, Tensor]:
    """A normalised-looking image batch and labels in [0, 21) (d2l's loss has no ignore label)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    X = torch.randn(batch, 3, *size, generator=gen, device=device)
    Y = torch.randint(0, NUM_CLASSES, (batch, *size), generator=gen, device=device)
    return X, Y


def d2l_step(net: nn.Module, X: Tensor, Y: Tensor, trainer: torch.optim.Optimizer) -> None:
    """d2l's ``train_batch_ch13`` for FCN: fp32, per-image mean loss, ``l.sum().backward()``."""
    net.train()
    trainer.zero_grad()
    pred = net(X)
    loss = F.cross_entropy(pred, Y, reduction="none").mean(1).mean(1)
    loss.sum().backward()
    trainer.step()


def flops_per_image(model: str, X: Tensor, Y: Tensor) -> float:
    """FLOPs of one forward + backward pass per image (the same count in fp32 and bf16)."""
    net = build_model(model, num_classes=NUM_CLASSES).to(X.device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(X), Y).backward()
    return counter.get_total_flops() / X.shape[0]


def bench_d2l(args: argparse.Namespace, X: Tensor, Y: Tensor, device: torch.device) -> float:
    """(a): images per second of the d2l-style step."""
    torch.manual_seed(args.seed)
    net = build_model(args.model, num_classes=NUM_CLASSES).to(device)
    trainer = torch.optim.SGD(net.parameters(), lr=0.001, weight_decay=1e-3)
    with cudnn_autotune(False):  # torch's default, as d2l runs
        seconds = time_steps(lambda: d2l_step(net, X, Y, trainer), args.steps, args.warmup,
                             device)
    return args.steps * X.shape[0] / seconds


def fast_recipe(args: argparse.Namespace, device: torch.device) -> Recipe:
    """``RECIPES["fast"]`` as it runs on ``device`` (CUDA-only parts off on a CPU)."""
    return replace(RECIPES["fast"], compile=args.compile).on(device)


def fast_model(args: argparse.Namespace, device: torch.device):
    """The fast recipe as it runs on ``device``, its model and its optimizer."""
    recipe = fast_recipe(args, device)
    torch.manual_seed(args.seed)
    net = build_model(args.model, num_classes=NUM_CLASSES).to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, recipe, device)
    return recipe, (torch.compile(net) if recipe.compile else net), optimizer


def bench_fast_step(args: argparse.Namespace, X: Tensor, Y: Tensor,
                    device: torch.device) -> float:
    """(b): images per second of transconv's step on the same batch, compute only."""
    recipe, net, optimizer = fast_model(args, device)
    if recipe.channels_last:
        X = X.contiguous(memory_format=torch.channels_last)
    criterion = {"mean": loss_fn, "d2l": d2l_loss}[recipe.loss]

    def step() -> Tensor:
        return train_step(net, X, Y, optimizer, amp_dtype=recipe.torch_amp_dtype,
                          criterion=criterion)

    with cudnn_autotune(recipe.cudnn_benchmark):  # as transconv.train.train runs the recipe
        seconds = time_steps(step, args.steps, args.warmup, device)
    return args.steps * X.shape[0] / seconds


def voc_for_epoch(args: argparse.Namespace, tmp: str) -> tuple[Path, str]:
    """The VOC directory for (c) and a description of it (synthetic unless --voc is given)."""
    if args.voc is not None:
        return args.voc, f"VOC-format data at {args.voc}"
    h, w = args.size
    size = (round(h * VOC_TYPICAL[0] / 320), round(w * VOC_TYPICAL[1] / 480))
    voc = make_synthetic_voc(tmp, num_train=args.images, num_val=1, size=size, seed=args.seed)
    return Path(voc), f"synthetic VOC format, {args.images} images of {size[0]}x{size[1]}"


def bench_epoch(args: argparse.Namespace, device: torch.device) -> dict[str, object]:
    """(c): one epoch of transconv.train.train fed by DeviceSegLoader; images per second."""
    recipe, net, optimizer = fast_model(args, device)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        voc, description = voc_for_epoch(args, tmp)
        data_seconds = time.perf_counter() - start
        say(f"(c) data ready in {data_seconds:.1f} s: {description}; loading onto {device}")
        start = time.perf_counter()
        loader = DeviceSegLoader.from_voc(voc, True, crop_size=tuple(args.size),
                                          batch_size=args.batch_size, device=device,
                                          channels_last=recipe.channels_last, seed=args.seed)
        sync(device)
        load_seconds = time.perf_counter() - start
    say(f"(c) {loader!r} loaded in {load_seconds:.1f} s; warming up, then one timed epoch")
    warm = [batch for _, batch in zip(range(max(1, args.warmup)), loader)]
    train(net, warm, warm[:1], epochs=1, optimizer=optimizer, device=device,
          num_classes=NUM_CLASSES, recipe=recipe, progress=False)
    (row,) = train(net, loader, warm[:1], epochs=1, optimizer=optimizer, device=device,
                   num_classes=NUM_CLASSES, recipe=recipe, progress=False)
    return {"img_per_s": row["img_per_s"], "data": description, "images": loader.num_kept,
            "dropped": loader.num_dropped, "batches": len(loader),
            "data_seconds": round(data_seconds, 2), "load_seconds": round(load_seconds, 2)}


def git_commit() -> str | None:
    """``TRANSCONV_COMMIT`` if set, else git's HEAD (``+dirty`` when the sources differ)."""
    if os.environ.get("TRANSCONV_COMMIT"):
        return os.environ["TRANSCONV_COMMIT"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "transconv", "benchmarks"],
                               cwd=ROOT, capture_output=True, timeout=10).returncode == 1
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("+dirty" if dirty else "")) or None


def provenance(device: torch.device) -> dict[str, object]:
    import torchvision

    cuda = device.type == "cuda"
    return {"device": torch.cuda.get_device_name(device) if cuda else "cpu",
            "gpu_count": torch.cuda.device_count() if cuda else 0,
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if cuda else None,
            "commit": git_commit(), "python": sys.version.split()[0],
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def cudnn_tf32() -> bool | None:
    """Whether cuDNN may run float32 convolutions in TF32 (torch's default: yes), if readable."""
    try:
        return bool(torch.backends.cudnn.allow_tf32)
    except (AttributeError, RuntimeError):  # a future torch may drop the legacy flag
        return None


def run(args: argparse.Namespace) -> dict[str, object]:
    """Time (a), (b) and (c) and return the figures with their provenance."""
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                          else "cpu" if args.device == "auto" else args.device)
    X, Y = random_batch(args.batch_size, tuple(args.size), device, args.seed)
    say(f"counting FLOPs of {args.model} at batch {args.batch_size}, {args.size[0]}x{args.size[1]}")
    flops = flops_per_image(args.model, X, Y)
    say("(a) d2l step")
    a = bench_d2l(args, X, Y, device)
    say(f"(a) {a:.1f} img/s; (b) transconv step")
    b = bench_fast_step(args, X, Y, device)
    say(f"(b) {b:.1f} img/s; (c) transconv epoch")
    c = bench_epoch(args, device)
    results = {"d2l_step": {"img_per_s": a}, "fast_step": {"img_per_s": b}, "fast_epoch": c}
    for entry in results.values():
        entry["tflop_per_s"] = flops * entry["img_per_s"] / 1e12
    config = {"model": args.model, "batch_size": args.batch_size, "size": list(args.size),
              "steps": args.steps, "warmup": args.warmup, "compile": args.compile,
              "fast_recipe": repr(fast_recipe(args, device)),
              "gflop_per_image_fwd_bwd": flops / 1e9,
              "cudnn_benchmark": {"d2l_step": False,
                                  "fast": fast_recipe(args, device).cudnn_benchmark},
              "cudnn_allow_tf32": cudnn_tf32()}
    ratios = {"b_over_a": b / a, "c_over_b": c["img_per_s"] / b}
    return {**results, "ratios": ratios, "targets_h100": TARGETS, "config": config,
            "provenance": provenance(device)}


def report(res: dict[str, object]) -> str:
    rows = [("(a) d2l step, fp32 NCHW", res["d2l_step"]),
            ("(b) transconv step, compute only", res["fast_step"]),
            ("(c) transconv epoch, DeviceSegLoader", res["fast_epoch"])]
    lines = [f"{res['provenance']['device']}, torch {res['provenance']['torch']}, "
             f"batch {res['config']['batch_size']} at {res['config']['size']}, "
             f"{res['config']['gflop_per_image_fwd_bwd']:.1f} GFLOP/image (fwd+bwd)"]
    lines += [f"{name:<40} {r['img_per_s']:9.1f} img/s {r['tflop_per_s']:8.2f} TFLOP/s"
              for name, r in rows]
    lines.append(f"(c) data: {res['fast_epoch']['data']} ({res['fast_epoch']['images']} kept, "
                 f"{res['fast_epoch']['dropped']} dropped, loaded in "
                 f"{res['fast_epoch']['load_seconds']} s)")
    for key, value in res["ratios"].items():
        lines.append(f"{key.replace('_over_', '/')} = {value:.2f} "
                     f"(H100 target >= {TARGETS[key]})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(argv)
    results = run(args)
    print(report(results))
    if args.write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.out}")
    return results


if __name__ == "__main__":
    main()
