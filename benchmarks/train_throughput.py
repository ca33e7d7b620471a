"""Training throughput of FCN-ResNet18: d2l's step, transconv's step, transconv end to end.

In one run on one device this times

(a) a d2l-style step written out below: float32, NCHW, d2l's loss
    (`F.cross_entropy(reduction="none").mean(1).mean(1)`, then `.sum().backward()`),
    `SGD(lr=0.001, weight_decay=1e-3)`, on a random batch, with torch's default settings
    (cuDNN autotuning off; cuDNN convolutions may use TF32, torch's default);
(b) transconv's step, compute only: `RECIPES["fast"]` (bfloat16 autocast, channels_last,
    fused SGD, cuDNN autotuning, its loss, optionally `torch.compile` of the model *and* the
    loss) with `transconv.train.train_step` on the same random batch;
(c) transconv end to end: one epoch of `transconv.train.train` fed by the GPU-resident
    `DeviceSegLoader` over VOC-format data (`--voc PATH`, else synthetic data written by
    `make_synthetic_voc`: on CUDA 1,114 images, the size of VOC's train split after dropping
    images smaller than 320x480, at VOC's typical 375x500).

(a), (b) and (c) take turns, `--repeats` rounds of each (a window of `--steps` steps for (a)
and (b), one epoch for (c)), so a slow moment of the machine hits all three alike; the report
gives each one's median and min-max in images per second, the ratios b/a and c/b per round
(targets on an H100: b/a >= 6, c/b >= 0.9), the achieved TFLOP/s (FLOPs of one forward and
backward pass, `torch.utils.flop_counter.FlopCounterMode`) and GB/s (bytes of one step counted
per operator as the tensors it reads and writes, a lower bound for unfused kernels).
`--profile DIR` writes `torch.profiler` key averages of one step of (a) and of (b) to `DIR`.
`--loss` and `--upsample` swap the fast recipe's loss (e.g. `fused`) and the form of its x32
upsampling (`subpixel`) to measure what each gains.
`--write` saves the figures with their provenance to `docs/results/benchmark.json`.

GPU, as in the published figures::

    python benchmarks/train_throughput.py --write --profile runs/profile

The figures' provenance is `transconv.runs.provenance`: device, versions, date and the commit
from `git` (`+dirty` when `transconv/` or `benchmarks/` differ from it) or, where the tree has
no `.git` (a copy on a GPU machine), from the environment variable `TRANSCONV_COMMIT`.

CPU smoke test (seconds; `tests/test_benchmarks.py` runs it)::

    python benchmarks/train_throughput.py --device cpu --batch-size 2 --crop 64 96 \
        --steps 2 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from transconv.data.gpu import DeviceSegLoader
from transconv.data.synthetic import make_synthetic_voc
from transconv.losses import LOSSES
from transconv.models import build_model
from transconv.recipes import RECIPES, Recipe, cudnn_autotune, make_optimizer
from transconv.runs import provenance
from transconv.train import train, train_step

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "results" / "benchmark.json"
TARGETS = {"b_over_a": 6.0, "c_over_b": 0.9}
VOC_TYPICAL = (375, 500)  # the usual VOC image size, for the synthetic stand-in
VOC_TRAIN_KEPT = 1114  # VOC 2012 train images of at least 320x480
NUM_CLASSES = 21
NAMES = {
    "d2l_step": "(a) d2l step, fp32 NCHW",
    "fast_step": "(b) transconv step, compute only",
    "fast_epoch": "(c) transconv epoch, DeviceSegLoader",
}


def positive_int(text: str) -> int:
    """An argparse type: an int of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1, got {value}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; see the module's docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto", help="auto (cuda if present), cuda or cpu")
    p.add_argument("--model", default="fcn_resnet18")
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument(
        "--crop",
        "--size",
        dest="crop",
        type=positive_int,
        nargs=2,
        default=(320, 480),
        metavar=("H", "W"),
        help="crop size (default 320 480)",
    )
    p.add_argument(
        "--steps", type=positive_int, default=20, help="timed steps per round of (a) and of (b)"
    )
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before the rounds")
    p.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        help="rounds; (a), (b) and (c) take turns in each (default 5)",
    )
    p.add_argument(
        "--images",
        type=positive_int,
        default=None,
        help=f"synthetic training images for (c) (default {VOC_TRAIN_KEPT} on CUDA, "
        "4 batches on a CPU; ignored with --voc)",
    )
    p.add_argument(
        "--voc",
        type=Path,
        default=None,
        help="a VOCdevkit/VOC2012 directory for (c) instead of synthetic data",
    )
    p.add_argument(
        "--loss",
        choices=sorted(set(LOSSES) - {"d2l"}),
        default=None,
        help="the fast recipe's loss (default: the recipe's own)",
    )
    p.add_argument(
        "--upsample",
        choices=("transposed", "subpixel"),
        default=None,
        help="how the fast model's x32 upsampling computes (default: the recipe's, else "
        "transposed; (a) always uses ConvTranspose2d)",
    )
    p.add_argument(
        "--compile", action="store_true", help="torch.compile the fast recipe's model and its loss"
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="write torch.profiler key averages of one step of (a) and (b) to DIR",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help=f"write {DEFAULT_OUT}")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where --write writes")
    return p.parse_args(argv)


def say(message: str) -> None:
    """Progress on stderr, at once (a remote log shows where the time went)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sync(device: torch.device) -> None:
    """Wait for the device: a CPU-GPU sync point, so the clock measures finished work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], object], steps: int, device: torch.device) -> float:
    """Seconds for `steps` calls of `step`.

    On CUDA the time is measured between two CUDA events recorded on the stream around the
    steps, after a `torch.cuda.synchronize`; on a CPU with `time.perf_counter`.
    """
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


def random_batch(
    batch: int, size: tuple[int, int], device: torch.device, seed: int
) -> tuple[Tensor, Tensor]:
    """A normalised-looking image batch and labels in [0, 21) (d2l's loss has no ignore label)."""
    gen = torch.Generator(device=device).manual_seed(seed)
    X = torch.randn(batch, 3, *size, generator=gen, device=device)
    Y = torch.randint(0, NUM_CLASSES, (batch, *size), generator=gen, device=device)
    return X, Y


class ByteCounter(TorchDispatchMode):
    """Bytes every operator reads and writes: its tensor arguments plus its tensor results.

    Views move nothing and are skipped; an in-place operator counts its operand as read and
    written. Each operator is charged as if it were its own kernel, so the sum is what an
    unfused step moves at least (caches aside) and what fusion can save.
    """

    def __init__(self) -> None:
        super().__init__()
        self.nbytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        returns = func._schema.returns
        if returns and all(r.alias_info is not None and not r.alias_info.is_write for r in returns):
            return out  # a view
        flat = [*args, *(kwargs or {}).values(), out]
        self.nbytes += sum(t.numel() * t.element_size() for t in _tensors(flat))
        return out


def _tensors(values: Any) -> list[Tensor]:
    """The tensors in a nest of lists and tuples."""
    if isinstance(values, Tensor):
        return [values]
    if isinstance(values, (list, tuple)):
        return [t for v in values for t in _tensors(v)]
    return []


def count_bytes(step: Callable[[], object], device: torch.device) -> int:
    """Bytes one call of `step` reads and writes, per [`ByteCounter`]."""
    sync(device)
    with ByteCounter() as counter:
        step()
    sync(device)
    return counter.nbytes


def flops_per_image(model: str, X: Tensor, Y: Tensor) -> float:
    """FLOPs of one forward + backward pass per image (the same count in fp32 and bf16)."""
    net = build_model(model, num_classes=NUM_CLASSES).to(X.device)
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(net(X), Y).backward()
    return counter.get_total_flops() / X.shape[0]


def d2l_step(net: nn.Module, X: Tensor, Y: Tensor, trainer: torch.optim.Optimizer) -> None:
    """d2l's `train_batch_ch13` for FCN: fp32, per-image mean loss, `l.sum().backward()`."""
    net.train()
    trainer.zero_grad()
    pred = net(X)
    loss = F.cross_entropy(pred, Y, reduction="none").mean(1).mean(1)
    loss.sum().backward()
    trainer.step()


def make_d2l(
    args: argparse.Namespace, X: Tensor, Y: Tensor, device: torch.device
) -> Callable[[], None]:
    """(a): the d2l step on the batch, as a function of no arguments."""
    torch.manual_seed(args.seed)
    net = build_model(args.model, num_classes=NUM_CLASSES).to(device)
    trainer = torch.optim.SGD(net.parameters(), lr=0.001, weight_decay=1e-3)

    def step() -> None:
        with cudnn_autotune(False):  # torch's default, as d2l runs
            d2l_step(net, X, Y, trainer)

    return step


def fast_recipe(args: argparse.Namespace, device: torch.device) -> Recipe:
    """`RECIPES["fast"]` as it runs on `device`, with `--compile` and `--loss` applied."""
    recipe = replace(RECIPES["fast"], compile=args.compile)
    if args.loss is not None and args.loss != recipe.loss:
        recipe = replace(recipe, loss=args.loss)
    return recipe.on(device)


def fast_upsample(args: argparse.Namespace, recipe: Recipe) -> str:
    """`--upsample`, else the recipe's `upsample` field where it has one, else transposed."""
    return args.upsample or getattr(recipe, "upsample", None) or "transposed"


def fast_model(args: argparse.Namespace, device: torch.device):
    """The fast recipe as it runs on `device`, its (compiled) model, loss and optimizer."""
    recipe = fast_recipe(args, device)
    torch.manual_seed(args.seed)
    net = build_model(args.model, num_classes=NUM_CLASSES, upsample=fast_upsample(args, recipe))
    net = net.to(device)
    if recipe.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(net, recipe, device)
    criterion = LOSSES[recipe.loss]
    if recipe.compile:  # the loss too: the logits' cast, softmax and gradient fuse there
        net, criterion = torch.compile(net), torch.compile(criterion)
    return recipe, net, criterion, optimizer


def make_fast(
    args: argparse.Namespace, X: Tensor, Y: Tensor, device: torch.device
) -> Callable[[], Tensor]:
    """(b): transconv's step on the same batch, compute only."""
    recipe, net, criterion, optimizer = fast_model(args, device)
    if recipe.channels_last:
        X = X.contiguous(memory_format=torch.channels_last)

    def step() -> Tensor:
        with cudnn_autotune(recipe.cudnn_benchmark):  # as transconv.train.train runs it
            return train_step(
                net, X, Y, optimizer, amp_dtype=recipe.torch_amp_dtype, criterion=criterion
            )

    return step


def voc_for_epoch(args: argparse.Namespace, tmp: str, device: torch.device) -> tuple[Path, str]:
    """The VOC directory for (c) and a description of it (synthetic unless --voc is given)."""
    if args.voc is not None:
        return args.voc, f"VOC-format data at {args.voc}"
    images = args.images or (VOC_TRAIN_KEPT if device.type == "cuda" else 4 * args.batch_size)
    h, w = args.crop
    size = (round(h * VOC_TYPICAL[0] / 320), round(w * VOC_TYPICAL[1] / 480))
    voc = make_synthetic_voc(tmp, num_train=images, num_val=1, size=size, seed=args.seed)
    return Path(voc), f"synthetic VOC format, {images} images of {size[0]}x{size[1]}"


def make_epoch(args: argparse.Namespace, device: torch.device):
    """(c): a function timing one epoch of `train` over the GPU-resident loader, and the data.

    The model is compiled (with `--compile`); `train` computes the recipe's loss eagerly.
    """
    recipe, net, _, optimizer = fast_model(args, device)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        voc, description = voc_for_epoch(args, tmp, device)
        data_seconds = time.perf_counter() - start
        say(f"(c) data ready in {data_seconds:.1f} s: {description}; loading onto {device}")
        start = time.perf_counter()
        loader = DeviceSegLoader.from_voc(
            voc,
            True,
            crop_size=tuple(args.crop),
            batch_size=args.batch_size,
            device=device,
            channels_last=recipe.channels_last,
            seed=args.seed,
        )
        sync(device)
        load_seconds = time.perf_counter() - start
    warm = [batch for _, batch in zip(range(max(1, args.warmup)), loader, strict=False)]
    kwargs = {
        "optimizer": optimizer,
        "device": device,
        "num_classes": NUM_CLASSES,
        "recipe": recipe,
        "progress": False,
    }
    train(net, warm, warm[:1], epochs=1, **kwargs)  # warm-up (and compilation) off the clock

    def epoch() -> float:
        (row,) = train(net, loader, warm[:1], epochs=1, **kwargs)
        return row["img_per_s"]

    info = {
        "data": description,
        "images": loader.num_kept,
        "dropped": loader.num_dropped,
        "batches": len(loader),
        "data_seconds": round(data_seconds, 2),
        "load_seconds": round(load_seconds, 2),
    }
    return epoch, info


def spread(samples: list[float]) -> dict[str, Any]:
    """Median, min and max of `samples`, and the samples."""
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
    }


def alternate(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Call each of `runs` in turn, `repeats` rounds; images per second of every call."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats):
        for name, run_once in runs.items():
            samples[name].append(run_once())
        say(
            f"round {round_ + 1}/{repeats}: "
            + ", ".join(f"{name} {values[-1]:.1f} img/s" for name, values in samples.items())
        )
    return samples


def profile_step(step: Callable[[], object], device: torch.device, path: Path) -> list[dict]:
    """`torch.profiler` key averages of one call of `step`, written to `path`; the top ten."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync(device)
    with profile(activities=activities, record_shapes=True) as prof:
        step()
        sync(device)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    averages = prof.key_averages()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(averages.table(sort_by=key, row_limit=40) + "\n")
    top = sorted(averages, key=lambda e: getattr(e, key), reverse=True)[:10]
    return [{"name": e.key, "count": e.count, "self_ms": getattr(e, key) / 1000} for e in top]


def cudnn_tf32() -> bool | None:
    """Whether cuDNN may run float32 convolutions in TF32 (torch's default: yes), if readable."""
    try:
        return bool(torch.backends.cudnn.allow_tf32)
    except (AttributeError, RuntimeError):  # a future torch may drop the legacy flag
        return None


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA where there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def warm_up(step: Callable[[], object], steps: int) -> None:
    """Untimed calls: cuDNN autotuning, `torch.compile` and the allocator settle here."""
    for _ in range(steps):
        step()


def per_step(
    step: Callable[[], object], steps: int, batch: int, device: torch.device
) -> Callable[[], float]:
    """A function timing `steps` calls of `step`, returning images per second."""
    return lambda: steps * batch / time_steps(step, steps, device)


def measure(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Build (a), (b) and (c), count their FLOPs and bytes, profile them, time them in turns."""
    X, Y = random_batch(args.batch_size, tuple(args.crop), device, args.seed)
    say(f"counting FLOPs of {args.model} at batch {args.batch_size}, {args.crop[0]}x{args.crop[1]}")
    flops = flops_per_image(args.model, X, Y)
    steps = {"d2l_step": make_d2l(args, X, Y, device), "fast_step": make_fast(args, X, Y, device)}
    for name, step in steps.items():
        say(f"{NAMES[name]}: {args.warmup} warm-up steps")
        warm_up(step, args.warmup)
    # one step's bytes; the compiled step hides its kernels' traffic, so count it eagerly
    eager = dict(steps)
    if args.compile:
        eager["fast_step"] = make_fast(
            argparse.Namespace(**{**vars(args), "compile": False}), X, Y, device
        )
    nbytes = {name: count_bytes(step, device) / args.batch_size for name, step in eager.items()}
    nbytes["fast_epoch"] = nbytes["fast_step"]
    profiles = {}
    if args.profile is not None:
        for name, step in steps.items():
            profiles[name] = profile_step(step, device, args.profile / f"{name}.txt")
    epoch, data = make_epoch(args, device)
    runs = {
        name: per_step(step, args.steps, args.batch_size, device) for name, step in steps.items()
    }
    samples = alternate({**runs, "fast_epoch": epoch}, args.repeats)
    return {"flops": flops, "bytes": nbytes, "samples": samples, "data": data, "profiles": profiles}


def run(args: argparse.Namespace) -> dict[str, object]:
    """Time (a), (b) and (c) and return the figures with their provenance."""
    device = resolve_device(args.device)
    m = measure(args, device)
    results: dict[str, Any] = {}
    for name, samples in m["samples"].items():
        s = spread(samples)
        results[name] = {
            "img_per_s": s["median"],
            "img_per_s_min": s["min"],
            "img_per_s_max": s["max"],
            "img_per_s_samples": s["samples"],
            "tflop_per_s": m["flops"] * s["median"] / 1e12,
            "gb_per_image": m["bytes"][name] / 1e9,
            "gb_per_s": m["bytes"][name] * s["median"] / 1e9,
        }
    results["fast_epoch"].update(m["data"])
    a, b, c = (m["samples"][k] for k in ("d2l_step", "fast_step", "fast_epoch"))
    ratios = {
        "b_over_a": spread([bi / ai for ai, bi in zip(a, b, strict=True)]),
        "c_over_b": spread([ci / bi for bi, ci in zip(b, c, strict=True)]),
    }
    recipe = fast_recipe(args, device)
    config = {
        "model": args.model,
        "batch_size": args.batch_size,
        "crop": list(args.crop),
        "steps": args.steps,
        "warmup": args.warmup,
        "repeats": args.repeats,
        "compile": args.compile,
        "loss": recipe.loss,
        "upsample": fast_upsample(args, recipe),
        "fast_recipe": repr(recipe),
        "gflop_per_image_fwd_bwd": m["flops"] / 1e9,
        "cudnn_benchmark": {"d2l_step": False, "fast": recipe.cudnn_benchmark},
        "cudnn_allow_tf32": cudnn_tf32(),
    }
    out = {
        **results,
        "ratios": ratios,
        "targets_h100": TARGETS,
        "config": config,
        "provenance": provenance(device, world_size=1, commit_paths=("transconv", "benchmarks")),
    }
    if m["profiles"]:
        out["profile"] = {"dir": str(args.profile), "top": m["profiles"]}
    return out


def report(res: dict[str, Any]) -> str:
    """The figures as text: one line per configuration, then the ratios."""
    prov, config = res["provenance"], res["config"]
    lines = [
        f"{prov['device']}, torch {prov['torch']}, batch {config['batch_size']} at "
        f"{config['crop']}, {config['gflop_per_image_fwd_bwd']:.1f} GFLOP/image "
        f"(fwd+bwd), {config['repeats']} rounds, median [min-max]"
    ]
    for key, name in NAMES.items():
        r = res[key]
        lines.append(
            f"{name:<38} {r['img_per_s']:9.1f} img/s "
            f"[{r['img_per_s_min']:.1f}-{r['img_per_s_max']:.1f}] "
            f"{r['tflop_per_s']:8.3f} TFLOP/s {r['gb_per_s']:9.1f} GB/s "
            f"({r['gb_per_image']:.3f} GB/image)"
        )
    epoch = res["fast_epoch"]
    lines.append(
        f"(c) data: {epoch['data']} ({epoch['images']} kept, {epoch['dropped']} "
        f"dropped, loaded in {epoch['load_seconds']} s)"
    )
    for key, value in res["ratios"].items():
        lines.append(
            f"{key.replace('_over_', '/')} = {value['median']:.2f} "
            f"[{value['min']:.2f}-{value['max']:.2f}] (H100 target >= {TARGETS[key]})"
        )
    if "profile" in res:
        lines.append(f"profiles: {res['profile']['dir']}/{{d2l_step,fast_step}}.txt")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Parse `argv`, measure, print the report and, with `--write`, save the JSON."""
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
