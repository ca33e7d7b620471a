"""Tests for transconv.data.crops: seed mixing and uniform crop origins."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from transconv.data.crops import FIXED_EPOCH, mix_seed, random_crop_origin


def test_mix_seed_by_hand() -> None:
    p = 1_000_003
    assert mix_seed(2, 3, 4) == (2 * p + 3) * p + 4
    assert mix_seed(np.int64(2), 3) == 2 * p + 3
    assert mix_seed(0, FIXED_EPOCH, 5) == (-p + 5) % 2**63
    assert 0 <= mix_seed(-1) < 2**63


@settings(max_examples=50)
@given(a=st.tuples(*[st.integers(0, 10**6)] * 3), b=st.tuples(*[st.integers(0, 10**6)] * 3))
def test_mix_seed_distinct_parts_give_distinct_seeds(a, b) -> None:
    assert (mix_seed(*a) == mix_seed(*b)) == (a == b)


def test_mix_seed_rejects_non_integers() -> None:
    with pytest.raises(TypeError, match=r"each part of mix_seed must be an int, got 1.5"):
        mix_seed(0, 1.5)


@settings(max_examples=30)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    ch=st.integers(1, 9),
    cw=st.integers(1, 9),
    seed=st.integers(0, 2**31),
)
def test_crop_origin_stays_inside(h, w, ch, cw, seed) -> None:
    ch, cw = min(ch, h), min(cw, w)
    top, left = random_crop_origin((h, w), (ch, cw), torch.Generator().manual_seed(seed))
    assert 0 <= top <= h - ch and 0 <= left <= w - cw


def test_crop_origin_covers_every_position() -> None:
    gen = torch.Generator().manual_seed(0)
    seen = {random_crop_origin((6, 5), (4, 4), gen) for _ in range(200)}
    assert seen == {(t, left) for t in range(3) for left in range(2)}
