"""Shape arithmetic of convolution and transposed convolution.

Every function takes ``int`` or ``tuple`` arguments, following PyTorch's convention: a tuple
holds one entry per spatial dimension, an ``int`` applies to every dimension, and the result is
an ``int`` when every argument is an ``int`` and a tuple otherwise.

The two formulas (per spatial dimension, as in PyTorch's ``Conv2d`` / ``ConvTranspose2d`` docs):

.. math::

    n_\\text{conv} = \\left\\lfloor \\frac{n + 2p - d (k - 1) - 1}{s} \\right\\rfloor + 1,
    \\qquad
    n_\\text{trans} = (n - 1) s - 2p + d (k - 1) + \\text{output\\_padding} + 1.
"""

from __future__ import annotations

from collections.abc import Callable

IntOrTuple = int | tuple[int, ...]

__all__ = [
    "IntOrTuple",
    "conv_output_size",
    "conv_transpose_output_size",
    "output_padding_for",
    "upsampling_params",
]


def _pair(value: IntOrTuple) -> tuple[int, int]:
    """``3 -> (3, 3)``; a tuple passes through (validated elsewhere), like ``torch``'s ``_pair``."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _per_dimension(**values: IntOrTuple) -> tuple[int | None, list[dict[str, int]]]:
    """Broadcast int-or-tuple arguments to one ``dict`` of ints per spatial dimension.

    Returns ``(ndim, rows)`` where ``ndim`` is ``None`` when every argument is an int (then
    ``rows`` has one entry), else the common tuple length.
    """
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{name}={tuple(values[name])}" for name in lengths)
        raise ValueError(
            f"tuple arguments must all have the same length (one entry per spatial dimension), "
            f"got {given}; pass tuples of one length or plain ints"
        )
    ndim = next(iter(lengths.values()), None)
    for name, v in values.items():
        for item in v if isinstance(v, (tuple, list)) else (v,):
            if isinstance(item, bool) or not isinstance(item, int):
                raise ValueError(f"{name} must be an int or a tuple of ints, got {v!r}")
    rows = [
        {name: (v[i] if isinstance(v, (tuple, list)) else v) for name, v in values.items()}
        for i in range(ndim or 1)
    ]
    return ndim, rows


def _map_dimensions(
    fn: Callable[..., int], ndim: int | None, rows: list[dict[str, int]]
) -> IntOrTuple:
    """Apply ``fn(**row)`` per dimension, prefixing errors with the dimension for tuples."""
    if ndim is None:
        return fn(**rows[0])
    results = []
    for i, row in enumerate(rows):
        try:
            results.append(fn(**row))
        except ValueError as err:
            raise ValueError(f"in spatial dimension {i}: {err}") from None
    return tuple(results)


def _check_layer(
    kernel_size: int, stride: int, padding: int, dilation: int, output_padding: int = 0
) -> None:
    """Raise ``ValueError`` for layer arguments that PyTorch rejects (one dimension, ints)."""
    for name, value in (("kernel_size", kernel_size), ("stride", stride), ("dilation", dilation)):
        if value < 1:
            raise ValueError(f"{name} ({value}) must be a positive integer; use {name}=1 or larger")
    if padding < 0:
        raise ValueError(f"padding ({padding}) must be non-negative; use padding=0 or larger")
    if output_padding < 0:
        raise ValueError(
            f"output_padding ({output_padding}) must be non-negative; use output_padding=0 or larger"
        )
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding ({output_padding}) must be smaller than stride ({stride}) or "
            f"dilation ({dilation}); use output_padding <= {max(stride, dilation) - 1}"
        )


def _check_size(size: int) -> None:
    if size < 1:
        raise ValueError(f"size ({size}) must be a positive integer (the input's spatial size)")


def _conv_size(size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> int:
    _check_size(size)
    _check_layer(kernel_size, stride, padding, dilation)
    span = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(
            f"input size ({size}) plus 2 * padding ({padding}) is smaller than the dilated kernel "
            f"span ({span} = dilation {dilation} * (kernel_size {kernel_size} - 1) + 1), so the output "
            f"would be empty; use padding >= {(span - size + 1) // 2}, or a smaller kernel_size or dilation"
        )
    return (size + 2 * padding - span) // stride + 1


def conv_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    """Spatial output size of a convolution (``nn.Conv2d`` and friends).

    ``floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1`` per dimension.

    Parameters
    ----------
    size : int or tuple of int
        Input spatial size, one entry per spatial dimension.
    kernel_size, stride, padding, dilation : int or tuple of int
        As in ``torch.nn.Conv2d``; an int applies to every dimension.

    Returns
    -------
    int or tuple of int
        The output size, an int if every argument is an int, else a tuple.

    Raises
    ------
    ValueError
        If an argument is not a legal layer argument, tuple lengths differ, or the output
        would be empty (the message says which padding would make it non-empty).

    Examples
    --------
    >>> conv_output_size(32, kernel_size=3, padding=1)
    32
    >>> conv_output_size((224, 320), kernel_size=7, stride=2, padding=3)
    (112, 160)
    >>> conv_output_size(3, kernel_size=2)
    2
    """
    ndim, rows = _per_dimension(
        size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation
    )
    return _map_dimensions(_conv_size, ndim, rows)


def _transpose_size_unchecked(
    size: int, kernel_size: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


def _transpose_size(
    size: int, kernel_size: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    _check_size(size)
    _check_layer(kernel_size, stride, padding, dilation, output_padding)
    out = _transpose_size_unchecked(size, kernel_size, stride, padding, output_padding, dilation)
    if out < 1:
        full = out + 2 * padding
        raise ValueError(
            f"output size would be {out} = (size {size} - 1) * stride {stride} - 2 * padding {padding} "
            f"+ dilation {dilation} * (kernel_size {kernel_size} - 1) + output_padding {output_padding} + 1, "
            f"but it must be >= 1; use padding <= {(full - 1) // 2}, or a larger size, stride or kernel_size"
        )
    return out


def conv_transpose_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    """Spatial output size of a transposed convolution (``nn.ConvTranspose2d``).

    ``(size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
    per dimension. This is also the one place where transposed-convolution arguments are
    validated; :func:`transconv.reference.conv_transpose2d` calls it.

    Parameters
    ----------
    size : int or tuple of int
        Input spatial size, one entry per spatial dimension.
    kernel_size, stride, padding, output_padding, dilation : int or tuple of int
        As in ``torch.nn.ConvTranspose2d``; an int applies to every dimension.

    Returns
    -------
    int or tuple of int
        The output size, an int if every argument is an int, else a tuple.

    Raises
    ------
    ValueError
        If an argument is illegal (non-positive kernel_size/stride/dilation, negative padding,
        output_padding not smaller than stride or dilation -- PyTorch's rule), tuple lengths
        differ, or the output would be smaller than 1 (the message gives the largest padding
        that works).

    Examples
    --------
    >>> conv_transpose_output_size(2, kernel_size=2)
    3
    >>> conv_transpose_output_size(16, kernel_size=4, stride=2, padding=1)
    32
    >>> conv_transpose_output_size((7, 10), kernel_size=64, stride=32, padding=16)
    (224, 320)
    >>> conv_transpose_output_size(5, kernel_size=3, stride=2, padding=1, output_padding=2)
    Traceback (most recent call last):
    ...
    ValueError: output_padding (2) must be smaller than stride (2) or dilation (1); use output_padding <= 1
    """
    ndim, rows = _per_dimension(
        size=size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    return _map_dimensions(_transpose_size, ndim, rows)


def _output_padding(
    size: int, target: int, kernel_size: int, stride: int, padding: int, dilation: int
) -> int:
    _check_size(size)
    _check_layer(kernel_size, stride, padding, dilation)
    lowest = _transpose_size_unchecked(size, kernel_size, stride, padding, 0, dilation)
    largest_pad = max(stride, dilation) - 1
    low, high = max(lowest, 1), lowest + largest_pad
    if not low <= target <= high:
        reach = f"[{low}, {high}]" if low <= high else "no size >= 1"
        raise ValueError(
            f"target ({target}) is not reachable: with size {size}, kernel_size {kernel_size}, "
            f"stride {stride}, padding {padding}, dilation {dilation} the output is {lowest} "
            f"+ output_padding with 0 <= output_padding <= {largest_pad} (smaller than stride or "
            f"dilation), i.e. {reach}; "
            f"change stride, padding or kernel_size, or aim for a target in that range"
        )
    return target - lowest


def output_padding_for(
    size: IntOrTuple,
    target: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    """The ``output_padding`` that makes a transposed convolution output exactly ``target``.

    A strided convolution maps several input sizes to one output size (``conv_output_size(5, 3,
    stride=2, padding=1) == conv_output_size(6, 3, stride=2, padding=1) == 3``);
    ``output_padding`` chooses which of them the transposed convolution gives back.

    Parameters
    ----------
    size : int or tuple of int
        Input spatial size of the transposed convolution.
    target : int or tuple of int
        Wanted output size.
    kernel_size, stride, padding, dilation : int or tuple of int
        As in ``torch.nn.ConvTranspose2d``.

    Returns
    -------
    int or tuple of int
        The output_padding, in ``[0, max(stride, dilation) - 1]``.

    Raises
    ------
    ValueError
        If no legal output_padding reaches ``target``; the message gives the reachable range.

    Examples
    --------
    >>> output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
    1
    >>> output_padding_for((3, 3), target=(5, 6), kernel_size=3, stride=2, padding=1)
    (0, 1)
    >>> output_padding_for(3, target=8, kernel_size=3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    ValueError: target (8) is not reachable: ... i.e. [5, 6]; ...
    """
    ndim, rows = _per_dimension(
        size=size,
        target=target,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    return _map_dimensions(_output_padding, ndim, rows)


def _upsampling(factor: int) -> tuple[int, int, int]:
    if factor < 1:
        raise ValueError(
            f"factor ({factor}) must be a positive integer; use factor=1 (identity) or larger"
        )
    return 2 * factor - factor % 2, factor, factor // 2


def upsampling_params(factor: IntOrTuple) -> tuple[IntOrTuple, IntOrTuple, IntOrTuple]:
    """``(kernel_size, stride, padding)`` of a transposed convolution that upsamples exactly x``factor``.

    ``kernel_size = 2 * factor - factor % 2``, ``stride = factor``, ``padding = factor // 2``.
    Then ``(n - 1) * f - 2 * (f // 2) + (2 * f - f % 2) = n * f + f - (2 * (f // 2) + f % 2)
    = n * f`` for every input size ``n``, odd and even ``f`` alike (no adjustment is needed for
    odd factors), with ``output_padding = 0``. The kernel spans two input pixels' worth of output
    (``2f``, or ``2f - 1`` so that it has a centre tap when ``f`` is odd), which is exactly the
    support of the bilinear (tent) kernel of :func:`transconv.bilinear.bilinear_kernel`.

    Parameters
    ----------
    factor : int or tuple of int
        Upsampling factor, ``>= 1``; a tuple gives one factor per spatial dimension.

    Returns
    -------
    tuple
        ``(kernel_size, stride, padding)``, each an int (or a tuple for a tuple ``factor``).

    Raises
    ------
    ValueError
        If a factor is not a positive integer.

    Examples
    --------
    >>> upsampling_params(32)  # FCN-32s' final layer
    (64, 32, 16)
    >>> upsampling_params(2)
    (4, 2, 1)
    >>> upsampling_params(3)
    (5, 3, 1)
    >>> upsampling_params((2, 3))
    ((4, 5), (2, 3), (1, 1))
    """
    ndim, rows = _per_dimension(factor=factor)
    if ndim is None:
        return _upsampling(rows[0]["factor"])
    params = [_upsampling(row["factor"]) for row in rows]
    kernel_size, stride, padding = (tuple(p[j] for p in params) for j in range(3))
    return kernel_size, stride, padding
