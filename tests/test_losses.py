"""Tests for transconv.losses: the fused cross-entropy against F.cross_entropy and loss_fn."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils._python_dispatch import TorchDispatchMode

from transconv.losses import LOSSES, fused_loss, loss_fn

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
LAYOUTS = [torch.contiguous_format, torch.channels_last]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def batch(
    shape=(3, 5, 6, 7),
    dtype=torch.float32,
    layout=torch.contiguous_format,
    seed=0,
    ignored=0.3,
    device="cpu",
):
    """Logits of `shape` in `dtype` and `layout`, and targets with about `ignored` left out."""
    b, c, h, w = shape
    logits = (3 * torch.randn(shape, generator=gen(seed), dtype=torch.float64)).to(dtype)
    target = torch.randint(0, c, (b, h, w), generator=gen(seed + 1))
    target[torch.rand(b, h, w, generator=gen(seed + 2)) < ignored] = 255
    logits = logits.contiguous(memory_format=layout).to(device)
    return logits.requires_grad_(), target.to(device)


def reference(logits, target):
    """The mean over labelled pixels written with F.cross_entropy on the kept pixels only."""
    keep = target != 255
    if not keep.any():
        return logits.sum() * 0
    return F.cross_entropy(logits.permute(0, 2, 3, 1)[keep], target[keep])


def value_and_grad(loss, logits, target, **kwargs):
    logits = logits.detach().requires_grad_()
    value = loss(logits, target, **kwargs)
    value.backward()
    return value.detach(), logits.grad


# ---------------------------------------------------------------- values and gradients


@settings(max_examples=30)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 7), st.integers(1, 7)),
    ignored=st.floats(0, 1),
    chunk=st.integers(1, 100),
    channels_last=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_fused_equals_cross_entropy_in_float64(shape, ignored, chunk, channels_last, seed):
    layout = torch.channels_last if channels_last else torch.contiguous_format
    logits, target = batch(shape, torch.float64, layout, seed, ignored)
    got, got_grad = value_and_grad(fused_loss, logits, target, chunk_pixels=chunk)
    expected, expected_grad = value_and_grad(reference, logits, target)
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(got_grad, expected_grad)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_equals_loss_fn_within_stated_tolerance(dtype, layout):
    logits, target = batch((4, 21, 24, 36), dtype, layout)
    got, got_grad = value_and_grad(fused_loss, logits, target, chunk_pixels=24 * 36)
    expected, expected_grad = value_and_grad(loss_fn, logits, target)
    assert got.dtype == expected.dtype == torch.float32
    # the loss: both sum in float32, in different orders (the docstring's rtol=1e-5)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=0)
    # the gradient: atol=1e-6 in float32; in bfloat16 both round the same float32 value, so
    # they differ by at most one bfloat16 step (2**-8 relative) where float32 rounding differs
    tol = {"rtol": 0, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 2**-8, "atol": 1e-6}
    torch.testing.assert_close(got_grad, expected_grad, **tol)


def test_fused_all_ignored_is_zero_with_zero_gradient():
    logits, target = batch(ignored=1.0)
    value, grad = value_and_grad(fused_loss, logits, target)
    assert value.item() == 0.0 and not value.isnan()
    assert torch.count_nonzero(grad) == 0


def test_fused_ignores_whatever_the_ignored_logits_hold():
    logits, target = batch()
    poked = logits.detach().clone()
    poked[0, :, 0, :] = float("nan")  # an ignored row may hold anything
    target[0, 0, :] = 255
    value, grad = value_and_grad(fused_loss, poked, target)
    expected, expected_grad = value_and_grad(reference, logits, target)
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(grad[1:], expected_grad[1:])
    torch.testing.assert_close(grad[0, :, 1:], expected_grad[0, :, 1:])


def test_fused_gradcheck():
    logits, target = batch((2, 3, 4, 5), torch.float64)
    assert torch.autograd.gradcheck(lambda z: fused_loss(z, target, chunk_pixels=20), (logits,))


def test_fused_follows_a_scaled_upstream_gradient():
    logits, target = batch(dtype=torch.float64)
    (3.5 * fused_loss(logits, target)).backward()
    _, expected = value_and_grad(reference, logits, target)
    torch.testing.assert_close(logits.grad, 3.5 * expected)


@pytest.mark.slow
def test_fused_compiles_as_one_graph_and_matches_eager():
    logits, target = batch((2, 21, 8, 12), torch.bfloat16, torch.channels_last)
    eager, eager_grad = value_and_grad(fused_loss, logits, target, chunk_pixels=96)
    compiled = torch.compile(fused_loss, fullgraph=True)  # a graph break would raise
    got, got_grad = value_and_grad(compiled, logits, target, chunk_pixels=96)
    torch.testing.assert_close(got, eager, rtol=1e-5, atol=0)
    torch.testing.assert_close(got_grad, eager_grad, rtol=2**-8, atol=1e-6)
    assert got_grad.stride() == logits.stride()


def test_fused_in_the_registry():
    assert LOSSES["fused"] is fused_loss and LOSSES["mean"] is loss_fn


# ---------------------------------------------------------------- memory: dtype and layout


class Allocations(TorchDispatchMode):
    """Every tensor an aten op returns: (op, dtype, numel, is NCHW-contiguous)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor):
                self.seen.append((str(func), t.dtype, t.numel(), t.is_contiguous()))
        return out


def allocations(loss, logits, target, **kwargs):
    logits = logits.detach().requires_grad_()
    with Allocations() as mode:
        loss(logits, target, **kwargs).backward()
    return mode.seen, logits.grad


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_gradient_has_the_logits_dtype_and_strides(dtype, layout):
    logits, target = batch((2, 5, 6, 7), dtype, layout)
    _, grad = value_and_grad(fused_loss, logits, target)
    assert grad.dtype == dtype and grad.stride() == logits.stride()


def test_fused_makes_no_float32_copy_nor_nchw_gradient_of_bf16_channels_last_logits():
    logits, target = batch((4, 21, 16, 24), torch.bfloat16, torch.channels_last)
    full = logits.numel()
    fused, grad = allocations(fused_loss, logits, target, chunk_pixels=16 * 24)
    plain, _ = allocations(loss_fn, logits, target)
    # the plain loss does both, so this test can fail
    assert any(d == torch.float32 and n == full for _, d, n, _ in plain)
    assert any(n == full and nchw for _, _, n, nchw in plain)
    # the fused one: float32 one image (a quarter) at a time, nothing full-size in NCHW
    assert max(n for _, d, n, _ in fused if d == torch.float32) <= full // 4
    assert not any(n == full and nchw for _, _, n, nchw in fused)
    # the mode saw the backward pass too: the gradient, written in bfloat16
    assert any(d == torch.bfloat16 and n == full and "empty" in op for op, d, n, _ in fused)
    assert grad.dtype == torch.bfloat16 and grad.stride() == logits.stride()


def test_fused_saves_the_logits_and_per_pixel_labels_for_backward():
    logits, target = batch((2, 21, 8, 12), torch.bfloat16, torch.channels_last)
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        fused_loss(logits, target)
    big = [t for t in saved if t.numel() >= target.numel() * 2]
    assert len(big) == 1 and big[0].data_ptr() == logits.data_ptr()  # no copy kept
    assert sum(t.numel() * t.element_size() for t in saved if t is not big[0]) <= (
        target.numel() * (4 + 8 + 1) + 8
    )  # float32 lse, int64 index, bool mask, count


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("logits", "target", "kwargs", "error", "match"),
    [
        (
            torch.zeros(1, 3, 2, 2),
            torch.zeros(1, 2, 3, dtype=torch.long),
            {},
            ValueError,
            r"logits must be \(B, C, H, W\) and target \(B, H, W\).*\(1, 3, 2, 2\).*\(1, 2, 3\); ",
        ),
        (torch.zeros(3, 2, 2), torch.zeros(3, 2, dtype=torch.long), {}, ValueError, r"\(3, 2, 2\)"),
        (
            torch.zeros(1, 3, 2, 2, dtype=torch.long),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {},
            TypeError,
            "logits must be floating point, got torch.int64",
        ),
        (
            torch.zeros(1, 3, 2, 2),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {"chunk_pixels": 0},
            ValueError,
            "chunk_pixels must be an int >= 1, got 0",
        ),
        (
            torch.zeros(1, 3, 2, 2),
            torch.zeros(1, 2, 2, dtype=torch.long),
            {"chunk_pixels": 2.5},
            TypeError,
            "chunk_pixels must be an int, got 2.5",
        ),
    ],
)
def test_fused_errors(logits, target, kwargs, error, match):
    with pytest.raises(error, match=match):
        fused_loss(logits, target, **kwargs)


# ---------------------------------------------------------------- CUDA (where a GPU is)


@CUDA
def test_fused_on_cuda_peak_memory_is_below_one_float32_copy():
    logits, target = batch((16, 21, 120, 160), torch.bfloat16, torch.channels_last, device="cuda")
    copy_bytes = logits.numel() * 4
    losses = {"plain": loss_fn, "fused": partial(fused_loss, chunk_pixels=120 * 160)}
    extra = {}
    for name, loss in losses.items():
        logits.grad = None
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        loss(logits, target).backward()
        torch.cuda.synchronize()
        extra[name] = torch.cuda.max_memory_allocated() - base
        assert logits.grad.stride() == logits.stride()
    # plain: a float32 copy and its float32 log-softmax; so the test can fail
    assert extra["plain"] > 1.5 * copy_bytes, extra
    # fused: the bf16 gradient (half a copy), two float32 images of 16 and per-pixel labels
    assert extra["fused"] < copy_bytes, extra


@CUDA
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fused_on_cuda_matches_cpu(dtype):
    logits, target = batch((2, 21, 32, 48), dtype, torch.channels_last)
    cpu, cpu_grad = value_and_grad(fused_loss, logits, target)
    gpu, gpu_grad = value_and_grad(fused_loss, logits.detach().cuda(), target.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=0)
    tol = {"rtol": 0, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 2**-8, "atol": 1e-6}
    torch.testing.assert_close(gpu_grad.cpu(), cpu_grad, **tol)


@CUDA
def test_fused_compiled_on_cuda_matches_eager():
    logits, target = batch((2, 21, 32, 48), torch.bfloat16, torch.channels_last, device="cuda")
    eager, eager_grad = value_and_grad(fused_loss, logits, target)
    compiled_loss = torch.compile(fused_loss, fullgraph=True)
    compiled, compiled_grad = value_and_grad(compiled_loss, logits, target)
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=0)
    torch.testing.assert_close(compiled_grad, eager_grad, rtol=2**-8, atol=1e-6)
