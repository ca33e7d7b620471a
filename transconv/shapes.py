r"""Shape arithmetic of convolution and transposed convolution.

Every function takes ``int`` or ``tuple`` arguments, following PyTorch's convention: a tuple
holds one entry per spatial dimension, an ``int`` applies to every dimension, and the result is
an ``int`` when every argument is an ``int`` and a tuple otherwise. Integers may be Python or
numpy integers, as in PyTorch.

The two formulas (per spatial dimension, as in PyTorch's `nn.Conv2d` / `nn.ConvTranspose2d`
docs), for input size $n$, kernel size $k$, stride $s$, padding $p$ and dilation $d$:

$$n_\text{conv} = \left\lfloor \frac{n + 2p - d (k - 1) - 1}{s} \right\rfloor + 1,
\qquad
n_\text{trans} = (n - 1) s - 2p + d (k - 1) + \mathrm{output\_padding} + 1.$$

Examples
--------
>>> conv_output_size((320, 480), kernel_size=3, stride=2, padding=1)
(160, 240)
>>> conv_transpose_output_size((10, 15), *upsampling_params(32))
(320, 480)
"""

from __future__ import annotations

from collections.abc import Callable

from transconv._arguments import as_int, is_int

IntOrTuple = int | tuple[int, ...]

__all__ = [
    "IntOrTuple",
    "conv_output_size",
    "conv_transpose_output_size",
    "output_padding_for",
    "solve_transposed_conv",
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
    for name, v in values.items():
        for item in v if isinstance(v, (tuple, list)) else (v,):
            if not is_int(item):
                raise TypeError(
                    f"{name} must be an int or a tuple of ints, got {v!r}; "
                    f"pass e.g. {name}=3 or {name}=(3, 3)"
                )
        if isinstance(v, (tuple, list)) and not v:
            raise ValueError(
                f"{name} must be an int or a non-empty tuple of ints (one per spatial "
                f"dimension), got {v!r}; pass e.g. {name}=3 or {name}=(3, 3)"
            )
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{name}={tuple(values[name])}" for name in lengths)
        raise ValueError(
            f"tuple arguments must all have the same length (one entry per spatial dimension), "
            f"got {given}; pass tuples of one length or plain ints"
        )
    ndim = next(iter(lengths.values()), None)
    rows = [
        {name: int(v[i] if isinstance(v, (tuple, list)) else v) for name, v in values.items()}
        for i in range(ndim or 1)
    ]
    return ndim, rows


def _map_dimensions(
    fn: Callable[..., int], ndim: int | None, rows: list[dict[str, int]]
) -> IntOrTuple:
    """Apply ``fn(**row)`` per dimension, prefixing errors with the dimension for tuples.

    An error that every dimension shares (an int argument broadcast to all of them) keeps no
    prefix: it is not about one dimension.
    """
    if ndim is None or all(row == rows[0] for row in rows):
        result = fn(**rows[0])
        return result if ndim is None else (result,) * ndim
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
        as_int(value, name, minimum=1)
    as_int(padding, "padding", minimum=0)
    as_int(output_padding, "output_padding", minimum=0)
    if output_padding >= max(stride, dilation):
        raise ValueError(
            f"output_padding must be smaller than stride ({stride}) or dilation ({dilation}), "
            f"got {output_padding}; pass output_padding <= {max(stride, dilation) - 1}"
        )


def _check_size(size: int) -> None:
    as_int(size, "size", minimum=1)


def _conv_size(size: int, kernel_size: int, stride: int, padding: int, dilation: int) -> int:
    _check_size(size)
    _check_layer(kernel_size, stride, padding, dilation)
    span = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < span:
        raise ValueError(
            f"size + 2 * padding must not be smaller than the dilated kernel span ({span} = "
            f"dilation {dilation} * (kernel_size {kernel_size} - 1) + 1), or the output is empty, "
            f"got {size} + 2 * {padding} = {size + 2 * padding}; pass padding >= "
            f"{(span - size + 1) // 2}, or a smaller kernel_size or dilation"
        )
    return (size + 2 * padding - span) // stride + 1


def conv_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> IntOrTuple:
    r"""Spatial output size of a convolution (`nn.Conv2d` and friends).

    $\lfloor (n + 2p - d (k - 1) - 1) / s \rfloor + 1$ per spatial dimension; an int argument
    applies to every dimension.

    Parameters
    ----------
    size : int or tuple of int
        Input spatial size $n$, one entry per spatial dimension.
    kernel_size : int or tuple of int
        Kernel size $k$ per spatial dimension.
    stride : int or tuple of int, optional
        Stride $s$; default 1.
    padding : int or tuple of int, optional
        Zero padding $p$ on each side; default 0.
    dilation : int or tuple of int, optional
        Spacing $d$ between kernel taps; default 1.

    Returns
    -------
    int or tuple of int
        The output size, an int if every argument is an int, else a tuple.

    Raises
    ------
    ValueError
        If an argument is not a legal layer argument, a tuple is empty, tuple lengths differ,
        or the output would be empty (the message says which padding would make it non-empty).
    TypeError
        If an argument is neither an int nor a tuple of ints.

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
            f"the output size (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) "
            f"+ output_padding + 1 must be >= 1, got ({size} - 1) * {stride} - 2 * {padding} "
            f"+ {dilation} * ({kernel_size} - 1) + {output_padding} + 1 = {out}; pass padding <= "
            f"{(full - 1) // 2}, or a larger size, stride or kernel_size"
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
    r"""Spatial output size of a transposed convolution (`nn.ConvTranspose2d`).

    $(n - 1) s - 2p + d (k - 1) + \mathrm{output\_padding} + 1$ per spatial dimension; an int
    argument applies to every dimension. This is also the one place where
    transposed-convolution arguments are validated;
    [`conv_transpose2d`][transconv.reference.conv_transpose2d] calls it.

    Parameters
    ----------
    size : int or tuple of int
        Input spatial size $n$, one entry per spatial dimension.
    kernel_size : int or tuple of int
        Kernel size $k$ per spatial dimension.
    stride : int or tuple of int, optional
        Stride $s$; default 1.
    padding : int or tuple of int, optional
        Zero padding $p$ on each side; default 0.
    output_padding : int or tuple of int, optional
        Extra rows/columns at the bottom/right, smaller than the stride or the dilation
        (PyTorch's rule); default 0.
    dilation : int or tuple of int, optional
        Spacing $d$ between kernel taps; default 1.

    Returns
    -------
    int or tuple of int
        The output size, an int if every argument is an int, else a tuple.

    Raises
    ------
    ValueError
        If an argument is illegal (non-positive kernel_size/stride/dilation, negative padding,
        output_padding not smaller than stride or dilation -- PyTorch's rule), a tuple is
        empty, tuple lengths differ, or the output would be smaller than 1 (the message gives
        the largest padding that works).
    TypeError
        If an argument is neither an int nor a tuple of ints.

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
    ValueError: output_padding must be smaller than stride (2) or dilation (1), got 2; ...
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
            f"target must be reachable, i.e. in {reach}: with size {size}, kernel_size "
            f"{kernel_size}, stride {stride}, padding {padding}, dilation {dilation} the output is "
            f"{lowest} + output_padding with 0 <= output_padding <= {largest_pad} (smaller than "
            f"stride or dilation), got {target}; change stride, padding or kernel_size, or aim for "
            f"a target in that range"
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
    kernel_size : int or tuple of int
        Kernel size $k$ per spatial dimension.
    stride : int or tuple of int, optional
        Stride $s$; default 1.
    padding : int or tuple of int, optional
        Zero padding $p$ on each side; default 0.
    dilation : int or tuple of int, optional
        Spacing $d$ between kernel taps; default 1.

    Returns
    -------
    int or tuple of int
        The output_padding, in ``[0, max(stride, dilation) - 1]``.

    Raises
    ------
    ValueError
        If no legal output_padding reaches ``target`` (the message gives the reachable range),
        or an argument is illegal.
    TypeError
        If an argument is neither an int nor a tuple of ints.

    Examples
    --------
    >>> output_padding_for(3, target=6, kernel_size=3, stride=2, padding=1)
    1
    >>> output_padding_for((3, 3), target=(5, 6), kernel_size=3, stride=2, padding=1)
    (0, 1)
    >>> output_padding_for(3, target=8, kernel_size=3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    ValueError: target must be reachable, i.e. in [5, 6]: ... got 8; ...
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
    as_int(factor, "factor", minimum=1)  # factor=1 is the identity
    return 2 * factor - factor % 2, factor, factor // 2


def upsampling_params(factor: IntOrTuple) -> tuple[IntOrTuple, IntOrTuple, IntOrTuple]:
    r"""``(kernel_size, stride, padding)`` of a transposed convolution upsampling exactly ×factor.

    $k = 2f - (f \bmod 2)$, $s = f$, $p = \lfloor f / 2 \rfloor$. Then
    $(n - 1) f - 2 \lfloor f / 2 \rfloor + 2f - (f \bmod 2) = n f$ for every input size $n$,
    odd and even $f$ alike (no adjustment is needed for odd factors), with
    ``output_padding = 0``. The kernel spans two input pixels' worth of output ($2f$, or
    $2f - 1$ so that it has a centre tap when $f$ is odd), which is exactly the support of the
    bilinear (tent) kernel of [`bilinear_kernel`][transconv.bilinear.bilinear_kernel].

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
        If a factor is not a positive integer, or the tuple is empty.
    TypeError
        If ``factor`` is neither an int nor a tuple of ints.

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


def solve_transposed_conv(input_size: int, target_size: int) -> list[dict[str, int]]:
    """Every transposed-convolution setting that maps ``input_size`` to exactly ``target_size``.

    The shape solver of the site's explorer page, which runs the same search in JavaScript
    (same bounds, same order). One axis: with $n$ = ``input_size`` and $T$ = ``target_size``
    it searches

    - strides $1 \\le s \\le S$ with $S = \\min(\\lceil T / n \\rceil, 64)$ (at least 1),
    - kernels and dilations whose dilated span $d (k - 1) + 1$ is at most $2 S$, with $d = 1$
      when $k = 1$ (dilating a single tap changes nothing),
    - for each $(k, s, d)$ the smallest padding $p \\ge 0$ for which an ``output_padding``
      $0 \\le o < \\max(s, d)$ (PyTorch's rule) gives $(n - 1) s - 2 p + d (k - 1) + o + 1 = T$.
      Other paddings for the same kernel add 1 to $p$ and 2 to $o$: the same size, with the
      output window shifted by one pixel.

    Simplest first: the FCN rule of [`upsampling_params`][transconv.shapes.upsampling_params]
    ($k = 2s$, $p = s / 2$ for even $s$; FCN-32s' 64/32/16 for $10 \\to 320$), then no
    dilation before dilation, smaller ``output_padding``, larger stride, smaller kernel.

    Parameters
    ----------
    input_size : int
        Size $n \\ge 1$ of the input along the axis.
    target_size : int
        Wanted output size $T \\ge 1$.

    Returns
    -------
    list of dict
        One ``{"kernel_size", "stride", "padding", "output_padding", "dilation"}`` dict of ints
        per setting, in the order above; empty when nothing in the bounds reaches the target.

    Raises
    ------
    TypeError
        If a size is not an integer.
    ValueError
        If a size is smaller than 1.

    Examples
    --------
    >>> settings = solve_transposed_conv(10, 320)
    >>> settings[0]
    {'kernel_size': 64, 'stride': 32, 'padding': 16, 'output_padding': 0, 'dilation': 1}
    >>> [(c["kernel_size"], c["stride"], c["padding"]) for c in solve_transposed_conv(3, 6)[:3]]
    [(4, 2, 1), (2, 2, 0), (4, 1, 0)]
    >>> all(conv_transpose_output_size(10, **c) == 320 for c in settings)
    True
    >>> solve_transposed_conv(10, 0)
    Traceback (most recent call last):
    ...
    ValueError: target_size must be an int >= 1, got 0; pass target_size=1 or larger
    """
    n = as_int(input_size, "input_size", minimum=1, example="10")
    target = as_int(target_size, "target_size", minimum=1, example="320")
    max_stride = min(max(1, -(-target // n)), 64)
    found = []
    for stride in range(1, max_stride + 1):
        for dilation in range(1, 2 * max_stride):
            for kernel_size in range(1 if dilation == 1 else 2, max_stride * 2 + 1):
                span = dilation * (kernel_size - 1) + 1
                if span > 2 * max_stride:
                    break
                full = (n - 1) * stride + span
                padding = max(0, -(-(full - target) // 2))
                output_padding = target - full + 2 * padding
                if output_padding < max(stride, dilation):
                    found.append(
                        {
                            "kernel_size": kernel_size,
                            "stride": stride,
                            "padding": padding,
                            "output_padding": output_padding,
                            "dilation": dilation,
                        }
                    )

    def simplest_first(c: dict[str, int]) -> tuple[int, ...]:
        fcn = (c["kernel_size"], c["stride"], c["padding"]) == _upsampling(c["stride"])
        fcn = fcn and c["output_padding"] == 0 and c["dilation"] == 1
        return (not fcn, c["dilation"], c["output_padding"], -c["stride"], c["kernel_size"])

    return sorted(found, key=simplest_first)
