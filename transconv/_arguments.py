"""Argument checks that need neither torch nor numpy, with the package's one error grammar.

Every message reads ``name must be <rule>, got <value>; <fix>``. A wrong type raises
`TypeError`, a wrong value `ValueError`. Integers are Python ``int`` or numpy integers (what
``torch`` accepts too); ``bool`` is never an integer here. Shape arithmetic
([`transconv.shapes`][transconv.shapes]) imports only this module, so ``import transconv.shapes``
loads neither torch nor numpy; the tensor checks live in ``transconv._validation``.

Examples
--------
>>> as_hw(3, "kernel_size")
(3, 3)
>>> as_hw((320, 480), "crop_size", example="(320, 480)")
(320, 480)
>>> as_hw((320,), "crop", example="(320, 480)")
Traceback (most recent call last):
    ...
ValueError: crop must be an int or a pair (h, w) of ints, got (320,); pass e.g. crop=(320, 480)
>>> as_int(-1, "batch_size", minimum=1)
Traceback (most recent call last):
    ...
ValueError: batch_size must be an int >= 1, got -1; pass batch_size=1 or larger
>>> parse_bytes("10GB"), parse_bytes("2GiB"), parse_bytes("4e8")
(10000000000, 2147483648, 400000000)
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "as_float",
    "as_hw",
    "as_int",
    "check_allocation",
    "format_bytes",
    "is_int",
    "memory_budget",
    "parse_bytes",
]


def is_int(value: Any) -> bool:
    """True for ``int`` and numpy integers, False for ``bool`` (a bool is not a size)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_int(value: Any, name: str, *, minimum: int | None = None, example: str | None = None) -> int:
    """Return ``value`` as an ``int``, checking its type and an optional lower bound.

    Parameters
    ----------
    value : Any
        What the caller passed.
    name : str
        The argument's name, as the user typed it.
    minimum : int or None, optional
        Smallest allowed value.
    example : str or None, optional
        A valid value shown in the fix (defaults to ``minimum``).

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value`` is below ``minimum``.
    """
    if not is_int(value):
        hint = example if example is not None else (minimum if minimum is not None else 1)
        raise TypeError(f"{name} must be an int, got {value!r}; pass e.g. {name}={hint}")
    if minimum is not None and value < minimum:
        raise ValueError(
            f"{name} must be an int >= {minimum}, got {value!r}; pass {name}={minimum} or larger"
        )
    return int(value)


def as_float(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    high_open: bool = False,
    example: str | None = None,
) -> float:
    """Return ``value`` as a finite ``float`` in ``[low, high]`` (or ``[low, high)``).

    Parameters
    ----------
    value : Any
        What the caller passed.
    name : str
        The argument's name.
    low : float or None, optional
        Smallest allowed value.
    high : float or None, optional
        Largest allowed value.
    high_open : bool, optional
        Exclude ``high`` itself.
    example : str or None, optional
        A valid value shown in the fix.

    Returns
    -------
    float
        ``float(value)``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is not finite or lies outside the range.
    """
    fix = f"pass e.g. {name}={example}" if example is not None else "pass a finite number"
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {value!r}; {fix}")
    value = float(value)
    too_low = low is not None and value < low
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        rule = "a finite number"
        if low is not None or high is not None:
            right = ")" if high_open else "]"
            rule += f" in [{low if low is not None else '-inf'}, "
            rule += f"{high if high is not None else 'inf'}{right}"
        raise ValueError(f"{name} must be {rule}, got {value!r}; {fix}")
    return value


def as_hw(value: Any, name: str, *, minimum: int = 1, example: str = "(3, 3)") -> tuple[int, int]:
    """Return an int or a pair of ints as ``(h, w)``, each at least ``minimum``.

    Parameters
    ----------
    value : Any
        An int (used for both axes) or a sequence of two ints.
    name : str
        The argument's name.
    minimum : int, optional
        Smallest allowed entry.
    example : str, optional
        A valid value shown in the fix.

    Returns
    -------
    tuple of int
        ``(h, w)``.

    Raises
    ------
    TypeError
        If ``value`` is neither an int nor a sequence.
    ValueError
        If ``value`` does not have two integer entries, or one is below ``minimum``.
    """
    if is_int(value):
        pair: tuple[Any, ...] = (value, value)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        pair = tuple(value)
    else:
        raise TypeError(
            f"{name} must be an int or a pair (h, w) of ints, got {value!r}; "
            f"pass e.g. {name}={example}"
        )
    if len(pair) != 2 or not all(is_int(v) for v in pair):
        raise ValueError(
            f"{name} must be an int or a pair (h, w) of ints, got {value!r}; "
            f"pass e.g. {name}={example}"
        )
    if min(pair) < minimum:
        raise ValueError(
            f"{name} must have entries >= {minimum}, got {value!r}; pass e.g. {name}={example}"
        )
    return int(pair[0]), int(pair[1])


def format_bytes(nbytes: float) -> str:
    """``3.5 * 2**30 -> '3.5 GiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    raise AssertionError("unreachable")


_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_BINARY_UNITS = {"ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}
_BYTES = re.compile(r"\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]i?)?b?\s*", re.IGNORECASE)


def parse_bytes(text: str, name: str = "TRANSCONV_MAX_BYTES") -> int:
    """A byte count written as ``400000000``, ``4e8``, ``400MB`` (powers of 1000) or ``2GiB``.

    Parameters
    ----------
    text : str
        What the user wrote.
    name : str, optional
        Where it came from, for the message (default the environment variable that sets the
        memory budget).

    Returns
    -------
    int
        The number of bytes, at least 1.

    Raises
    ------
    ValueError
        If ``text`` is not a positive, finite number of bytes in one of those forms.

    Examples
    --------
    >>> parse_bytes("400MB"), parse_bytes("1.5KiB"), parse_bytes("1000")
    (400000000, 1536, 1000)
    >>> parse_bytes("inf")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: TRANSCONV_MAX_BYTES must be a positive number of bytes such as ..., got 'inf'; ...
    """
    match = _BYTES.fullmatch(text)
    nbytes = 0.0
    if match:
        unit = (match.group(2) or "").lower()
        scale = _BINARY_UNITS[unit] if unit.endswith("i") else _UNITS[unit]
        nbytes = float(match.group(1)) * scale
    if not math.isfinite(nbytes) or nbytes < 1 or nbytes > 2**62:
        raise ValueError(
            f"{name} must be a positive number of bytes such as 400000000, 4e8, 400MB or 2GiB, "
            f"got {text!r}; fix the value or unset {name}"
        )
    return int(nbytes)


def memory_budget() -> int:
    """Bytes one allocation may take: ``TRANSCONV_MAX_BYTES`` or half the machine's memory.

    Raises
    ------
    ValueError
        If ``TRANSCONV_MAX_BYTES`` is set to something
        [`parse_bytes`][transconv._arguments.parse_bytes] does not read.
    """
    env = os.environ.get("TRANSCONV_MAX_BYTES")
    if env is not None and env.strip():
        return parse_bytes(env)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: trust the caller
        return 1 << 62
    return total // 2


def check_allocation(nbytes: int, what: str, fix: str) -> None:
    """Refuse, before allocating, work whose buffers would not fit in memory.

    Parameters
    ----------
    nbytes : int
        Bytes the work would allocate.
    what : str
        What would be allocated, for the message (e.g. ``"crop_size=(30000, 30000)"``).
    fix : str
        How to make it fit.

    Raises
    ------
    ValueError
        If ``nbytes`` exceeds [`memory_budget`][transconv._arguments.memory_budget].
    """
    budget = memory_budget()
    if nbytes > budget:
        raise ValueError(
            f"{what} must fit in memory (budget {format_bytes(budget)}, half this machine's RAM "
            f"or TRANSCONV_MAX_BYTES), got {format_bytes(nbytes)}; {fix}"
        )
