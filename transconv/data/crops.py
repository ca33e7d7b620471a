"""Where random crops come from: one seed per (run seed, epoch, example), never a shared stream.

A crop drawn from a generator that every example, worker and epoch shares depends on the
order in which examples happen to be read: a different number of DataLoader workers, or a
run resumed at epoch 3, would see different crops. Seeding a fresh generator from
[`mix_seed`][transconv.data.crops.mix_seed]`(seed, epoch, index)` for each example makes its
crop a pure function of those three numbers.

>>> a = random_crop_origin((48, 64), (32, 32), seeded(mix_seed(0, 3, 7)))
>>> b = random_crop_origin((48, 64), (32, 32), seeded(mix_seed(0, 3, 7)))
>>> a == b
True
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from transconv._validation import as_int, seeded  # noqa: F401 - the examples use it

__all__ = ["FIXED_EPOCH", "mix_seed", "random_crop_origin"]

FIXED_EPOCH = -1
"""The epoch part of the seed of crops that must not change between epochs (validation)."""


def mix_seed(*parts: int) -> int:
    """One generator seed from several integers; distinct tuples give distinct seeds.

    The parts are read as digits in base $P = 1\\,000\\,003$ (a prime), so
    $\\mathrm{mix}(a, b, c) = (a P + b) P + c \\bmod 2^{63}$; tuples of parts below $P$ never
    collide.

    Parameters
    ----------
    *parts : int
        E.g. ``(seed, epoch, index)``; numpy integers are accepted, negative values too.

    Returns
    -------
    int
        A seed in $[0, 2^{63})$ for ``torch.Generator.manual_seed``.

    Raises
    ------
    TypeError
        If a part is not an integer.

    Examples
    --------
    >>> mix_seed(0, 1), mix_seed(1, 0)
    (1, 1000003)
    """
    mixed = 0
    for part in parts:
        mixed = mixed * 1_000_003 + as_int(part, "each part of mix_seed", example="0")
    return mixed % (1 << 63)


def random_crop_origin(
    size: Sequence[int], crop_size: Sequence[int], generator: torch.Generator | None
) -> tuple[int, int]:
    """Draw the ``(top, left)`` corner of a uniformly random crop inside an image.

    Parameters
    ----------
    size : sequence of int
        ``(H, W)`` of the image.
    crop_size : sequence of int
        ``(h, w)`` of the crop, at most ``(H, W)``.
    generator : torch.Generator or None
        Where the two draws come from (torch's global generator when None).

    Returns
    -------
    tuple of int
        ``(top, left)`` with $0 \\le top \\le H - h$ and $0 \\le left \\le W - w$.

    Examples
    --------
    >>> random_crop_origin((5, 5), (5, 5), seeded(0))
    (0, 0)
    """
    # one draw of two numbers: a torch call costs more than the arithmetic it does here
    draws = torch.randint(1 << 62, (2,), generator=generator).tolist()
    span = (size[0] - crop_size[0] + 1, size[1] - crop_size[1] + 1)
    return draws[0] % span[0], draws[1] % span[1]  # modulo bias < span / 2**62: negligible
