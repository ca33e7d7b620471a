"""Sub-pixel convolution vs ConvTranspose2d on CPU: forward and backward time of FCN's upsamplers.

For each layer, both forms are checked to agree (outputs and gradients), then timed in
interleaved rounds (each round runs every form once, so load from other processes hits both
alike). Printed, for the forward pass and for the backward pass (gradients of input and
weight): the median and min-max wall time, the median CPU time of this process (all its
threads; less disturbed than wall time on a shared machine), and the ratios sub-pixel /
ConvTranspose2d of the median wall, the min wall and the median CPU times (below 1: the
sub-pixel form is faster).

Layers: FCN-32s's x32 upsampler (21 -> 21 channels, kernel 64, stride 32, padding 16, input
2x21x10x15, i.e. a 320x480 image) and FCN-8s's x2 upsampler (kernel 4, stride 2, padding 1,
input 2x21x40x60).

Usage: ``python benchmarks/subpixel_vs_convtranspose.py [--repeats 20] [--threads N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transconv.subpixel import conv_transpose2d_subpixel


@dataclass(frozen=True)
class Layer:
    name: str
    input_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int
    padding: int


LAYERS = (
    Layer("FCN x32 (k=64, s=32, p=16)", (2, 21, 10, 15), 64, 32, 16),
    Layer("FCN x2 (k=4, s=2, p=1)", (2, 21, 40, 60), 4, 2, 1),
)
FORMS: dict[str, Callable[..., torch.Tensor]] = {
    "ConvTranspose2d": F.conv_transpose2d,
    "sub-pixel": conv_transpose2d_subpixel,
}


def _operands(layer: Layer, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    channels = layer.input_shape[1]
    x = torch.randn(*layer.input_shape, generator=g).requires_grad_()
    w = torch.randn(channels, channels, layer.kernel_size, layer.kernel_size, generator=g)
    return x, w.requires_grad_()


def _check_agree(layer: Layer) -> None:
    x, w = _operands(layer)
    kwargs = {"stride": layer.stride, "padding": layer.padding}
    ys = [form(x.double(), w.double(), **kwargs) for form in FORMS.values()]
    torch.testing.assert_close(ys[0], ys[1])
    probe = torch.randn_like(ys[0])
    grads = [torch.autograd.grad(y, (x, w), probe) for y in ys]
    torch.testing.assert_close(grads[0], grads[1])


def _now() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def time_layer(layer: Layer, repeats: int) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """(wall, CPU) seconds of forward and backward per form over ``repeats`` interleaved rounds."""
    x, w = _operands(layer)
    kwargs = {"stride": layer.stride, "padding": layer.padding}
    times = {name: {"forward": [], "backward": []} for name in FORMS}
    for round_ in range(repeats + 1):  # round 0 warms up
        for name, form in FORMS.items():
            start = _now()
            y = form(x, w, **kwargs)
            middle = _now()
            torch.autograd.grad(y, (x, w), torch.ones_like(y))
            end = _now()
            if round_:
                times[name]["forward"].append((middle[0] - start[0], middle[1] - start[1]))
                times[name]["backward"].append((end[0] - middle[0], end[1] - middle[1]))
    return times


def _summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    wall, cpu = [s[0] for s in samples], [s[1] for s in samples]
    return {
        "median": statistics.median(wall),
        "min": min(wall),
        "max": max(wall),
        "cpu": statistics.median(cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds (default 20)")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.repeats} rounds")
    print("ms: wall median (min-max), CPU median; ratio = sub-pixel / ConvTranspose2d")
    for layer in LAYERS:
        _check_agree(layer)
        times = time_layer(layer, args.repeats)
        print(f"\n{layer.name}, input {'x'.join(map(str, layer.input_shape))}")
        for phase in ("forward", "backward"):
            stats = {name: _summary(times[name][phase]) for name in FORMS}
            for name, st in stats.items():
                print(
                    f"  {phase:8s} {name:16s} wall {1e3 * st['median']:8.2f} "
                    f"({1e3 * st['min']:.2f}-{1e3 * st['max']:.2f})  CPU {1e3 * st['cpu']:8.2f}"
                )
            ours, theirs = stats["sub-pixel"], stats["ConvTranspose2d"]
            ratios = {key: ours[key] / theirs[key] for key in ("median", "min", "cpu")}
            print(
                f"  {phase:8s} ratio            wall median {ratios['median']:.2f}x, "
                f"wall min {ratios['min']:.2f}x, CPU median {ratios['cpu']:.2f}x"
            )


if __name__ == "__main__":
    main()
