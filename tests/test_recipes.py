"""Tests for transconv.recipes: the two recipes, their checks, fused SGD, cuDNN autotuning."""

import pytest
import torch
from torch import nn

from transconv.recipes import RECIPES, Recipe, autocast, cudnn_autotune, make_optimizer


def test_recipes():
    assert RECIPES["d2l"].lr == 0.001 and RECIPES["d2l"].weight_decay == 1e-3
    assert RECIPES["d2l"].loss == "d2l" and RECIPES["d2l"].amp_dtype is None
    fast = RECIPES["fast"]
    assert fast.on("cuda") == fast and fast.torch_amp_dtype == torch.bfloat16
    cpu = fast.on("cpu")
    assert (cpu.amp_dtype, cpu.channels_last, cpu.fused, cpu.cudnn_benchmark, cpu.loader) == (
        None,
        False,
        False,
        False,
        "device",
    )
    assert fast.cudnn_benchmark and not RECIPES["d2l"].cudnn_benchmark


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"loss": "sum"}, r"Recipe.loss must be one of \('mean', 'fused', 'd2l'\), got 'sum'"),
        ({"loader": "gpu"}, r"Recipe.loader must be one of"),
        ({"amp_dtype": "float16"}, r"Recipe.amp_dtype must be one of"),
        ({"lr": 0.0}, r"lr > 0.*got lr=0.0"),
    ],
)
def test_recipe_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recipe(**{"name": "x", "lr": 0.1, **kwargs})


def test_fused_sgd_requested_only_on_cuda():
    net = nn.Linear(2, 2)
    assert make_optimizer(net, RECIPES["fast"], "cuda").defaults.get("fused") is True
    assert not make_optimizer(net, RECIPES["fast"], "cpu").defaults.get("fused")


def test_fused_falls_back_where_sgd_has_no_fused_argument(monkeypatch):
    class OldSGD(torch.optim.SGD):  # torch.optim.SGD before torch 2.3: no fused argument
        def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
            super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    monkeypatch.setattr(torch.optim, "SGD", OldSGD)
    opt = make_optimizer(nn.Linear(2, 2), RECIPES["fast"], "cuda")
    assert type(opt) is OldSGD and not opt.defaults.get("fused")
    assert (opt.defaults["lr"], opt.defaults["momentum"]) == (0.01, 0.9)


def test_cudnn_autotune_sets_and_restores_the_flag():
    before = torch.backends.cudnn.benchmark
    for wanted in (True, False):
        with pytest.raises(KeyError), cudnn_autotune(wanted):
            assert torch.backends.cudnn.benchmark is wanted
            raise KeyError  # restored on the way out of an error too
        assert torch.backends.cudnn.benchmark is before


def test_autocast_bf16_and_off():
    with autocast("cpu", torch.bfloat16):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast("cpu", None):
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


def test_autocast_refuses_float16():
    with pytest.raises(ValueError, match=r"amp_dtype must be None or torch.bfloat16.*GradScaler"):
        autocast("cpu", torch.float16)


def test_fast_recipe_uses_the_fused_loss_equal_to_the_mean():
    from transconv.losses import LOSSES, loss_fn

    assert RECIPES["fast"].loss == "fused" and RECIPES["d2l"].loss == "d2l"
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 21, 6, 8, generator=gen)
    target = torch.randint(0, 21, (2, 6, 8), generator=gen)
    target[:, 0] = 255
    torch.testing.assert_close(
        LOSSES[RECIPES["fast"].loss](logits, target), loss_fn(logits, target), rtol=1e-5, atol=0
    )
