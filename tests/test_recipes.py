"""Tests for transconv.recipes: the two recipes, their checks, fused SGD, cuDNN autotuning."""

import pytest
import torch
from torch import nn

from transconv.recipes import (
    RECIPES,
    Recipe,
    autocast,
    cudnn_autotune,
    make_optimizer,
    make_schedule,
)


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
        ({"schedule": "cosine"}, r"Recipe.schedule must be one of \('constant', 'poly'\)"),
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


def _rates(recipe: Recipe, total: int, steps: int) -> list[float]:
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=recipe.lr)
    scheduler = make_schedule(opt, recipe, total_steps=total)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return rates


def test_poly_schedule_is_torchvisions_and_the_fast_recipe_uses_it():
    assert RECIPES["fast"].schedule == "poly" and RECIPES["d2l"].schedule == "constant"
    total = 7
    expected = [0.01 * (1 - t / total) ** 0.9 for t in range(total)]  # torchvision's lambda
    torch.testing.assert_close(_rates(RECIPES["fast"], total, total), expected)
    assert _rates(RECIPES["d2l"], total, total) == [0.001] * total


def test_schedule_resumes_at_the_rate_of_a_straight_run():
    recipe = RECIPES["fast"]
    straight = _rates(recipe, 10, 6)
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=recipe.lr)
    first = make_schedule(opt, recipe, total_steps=10)
    for _ in range(4):
        opt.step()
        first.step()
    fresh = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=recipe.lr)
    fresh.load_state_dict(opt.state_dict())
    resumed = make_schedule(fresh, recipe, total_steps=10, state=first.state_dict())
    assert fresh.param_groups[0]["lr"] == straight[4]  # bit for bit, before the next step
    fresh.step()
    resumed.step()
    assert fresh.param_groups[0]["lr"] == straight[5]
    again = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=recipe.lr)
    make_schedule(again, recipe, total_steps=10, done_steps=4)  # no state: worked out
    assert again.param_groups[0]["lr"] == straight[4]


def test_poly_schedule_stops_at_zero_past_its_total():
    assert _rates(RECIPES["fast"], 2, 4)[2:] == [0.0, 0.0]


@pytest.mark.parametrize(
    "total, error, match",
    [
        (0, ValueError, r"total_steps must be an int >= 1, got 0"),
        (2.0, TypeError, r"total_steps must be an int, got 2.0; pass e.g. total_steps=epochs"),
        (True, TypeError, r"total_steps must be an int, got True"),
    ],
)
def test_make_schedule_refuses_a_bad_total(total, error, match):
    opt = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(error, match=match):
        make_schedule(opt, RECIPES["fast"], total_steps=total)
