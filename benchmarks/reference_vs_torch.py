"""How close is transconv's reference implementation to PyTorch's? Time and memory, measured.

Prints, from one run:

1. the CPU time ratio ``reference.conv_transpose2d / F.conv_transpose2d`` for an 8x64x32x32
   input, a 64x64x4x4 weight, stride 2, padding 1 (target: <= 5x), after checking both agree;
2. how ``conv_matrix`` memory grows with the input size, dense vs sparse (dense bytes are
   computed analytically once the matrix would be too big to allocate).

Usage: ``python benchmarks/reference_vs_torch.py [--repeats 20] [--threads N]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from transconv.matrix import conv_matrix
from transconv.reference import conv_transpose2d
from transconv.shapes import conv_output_size

DENSE_ALLOCATE_UP_TO = 32  # side length; larger dense matrices are only computed on paper


def best_times(fns: list[Callable[[], object]], repeats: int) -> list[tuple[float, float]]:
    """Best (wall, process CPU) seconds of each function over ``repeats`` interleaved rounds.

    Each round calls every function once, so load from other processes on a shared machine
    hits all of them alike; CPU time counts all threads of this process.
    """
    for fn in fns:
        fn()  # warm-up
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            wall[i].append(time.perf_counter() - start)
            cpu[i].append(time.process_time() - start_cpu)
    return [(min(w), min(c)) for w, c in zip(wall, cpu, strict=True)]


def time_ratio(repeats: int, seed: int = 0) -> list[tuple[float, float]]:
    """Best (wall, CPU) times of [reference, torch] for an FCN-style x2 upsampling layer."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 64, 32, 32, generator=g)
    w = torch.randn(64, 64, 4, 4, generator=g)
    ours = lambda: conv_transpose2d(x, w, stride=2, padding=1)  # noqa: E731
    theirs = lambda: F.conv_transpose2d(x, w, stride=2, padding=1)  # noqa: E731
    torch.testing.assert_close(ours(), theirs(), rtol=1e-4, atol=1e-3)
    return best_times([ours, theirs], repeats)


def matrix_memory(side: int, kernel_size: int = 3) -> tuple[int, int, int]:
    """(dense bytes, sparse bytes, nnz) of conv_matrix, 1-channel side x side input, padding 1."""
    kernel = torch.ones(kernel_size, kernel_size)
    sparse = conv_matrix(side, kernel, padding=1, sparse=True)
    sparse_bytes = sparse.indices().nbytes + sparse.values().nbytes
    if side <= DENSE_ALLOCATE_UP_TO:
        dense_bytes = conv_matrix(side, kernel, padding=1).nbytes
    else:
        out = conv_output_size(side, kernel_size, padding=1)
        dense_bytes = out * out * side * side * kernel.element_size()
    return dense_bytes, sparse_bytes, sparse._nnz()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed calls per implementation (best is kept)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    ours, theirs = time_ratio(args.repeats)
    print(
        f"conv_transpose2d, input 8x64x32x32, weight 64x64x4x4, stride 2, padding 1, float32, "
        f"{torch.get_num_threads()} thread(s), best of {args.repeats}:"
    )
    for label, i in (("wall", 0), ("CPU ", 1)):
        print(
            f"  {label}  reference {ours[i] * 1e3:8.2f} ms   torch {theirs[i] * 1e3:8.2f} ms   "
            f"ratio {ours[i] / theirs[i]:.2f}x (target <= 5x)"
        )
    print(
        "\nconv_matrix memory, 1 channel, 3x3 kernel, padding 1, float32 (dense > "
        f"{DENSE_ALLOCATE_UP_TO}x{DENSE_ALLOCATE_UP_TO} computed, not allocated):"
    )
    print(
        f"  {'input':>9} {'pixels N':>9} {'dense bytes':>16} {'sparse bytes':>13} "
        f"{'nnz':>9} {'dense/sparse':>12}"
    )
    for side in (8, 16, 32, 64, 128, 256, 512):
        dense, sparse, nnz = matrix_memory(side)
        print(
            f"  {side:>4}x{side:<4} {side * side:>9} {dense:>16,} {sparse:>13,} "
            f"{nnz:>9,} {dense / sparse:>11.0f}x"
        )


if __name__ == "__main__":
    main()
