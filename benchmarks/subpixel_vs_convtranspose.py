"""Sub-pixel convolution vs ConvTranspose2d on CPU: forward and backward time of FCN's upsamplers.

For each layer, both forms are checked to agree (outputs and gradients), then timed in
interleaved rounds (each round runs every form once, so load from other processes hits both
alike). Printed: median and min-max wall time of the forward pass and of the backward pass
(gradients of input and weight), and the ratio sub-pixel / ConvTranspose2d of the medians
(below 1: the sub-pixel form is faster).

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


def time_layer(layer: Layer, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Wall seconds of forward and backward for each form over ``repeats`` interleaved rounds."""
    x, w = _operands(layer)
    kwargs = {"stride": layer.stride, "padding": layer.padding}
    times = {name: {"forward": [], "backward": []} for name in FORMS}
    for round_ in range(repeats + 1):  # round 0 warms up
        for name, form in FORMS.items():
            start = time.perf_counter()
            y = form(x, w, **kwargs)
            middle = time.perf_counter()
            torch.autograd.grad(y, (x, w), torch.ones_like(y))
            end = time.perf_counter()
            if round_:
                times[name]["forward"].append(middle - start)
                times[name]["backward"].append(end - middle)
    return times


def _ms(values: list[float]) -> str:
    return (
        f"{1e3 * statistics.median(values):8.2f} ms "
        f"({1e3 * min(values):.2f}-{1e3 * max(values):.2f})"
    )


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
    print("wall time, median (min-max); ratio = sub-pixel / ConvTranspose2d of the medians")
    for layer in LAYERS:
        _check_agree(layer)
        times = time_layer(layer, args.repeats)
        print(f"\n{layer.name}, input {'x'.join(map(str, layer.input_shape))}")
        for phase in ("forward", "backward"):
            for name in FORMS:
                print(f"  {phase:8s} {name:16s} {_ms(times[name][phase])}")
            ratio = statistics.median(times["sub-pixel"][phase]) / statistics.median(
                times["ConvTranspose2d"][phase]
            )
            print(f"  {phase:8s} ratio            {ratio:8.2f}x")


if __name__ == "__main__":
    main()
