"""Alt texts: every figure says what it shows, and reaches the page with it.

Every figure function of `transconv.viz` returns a matplotlib ``Figure`` with its alt text
attached ([`attach_alt_text`][transconv.viz.display.attach_alt_text], the attribute
``transconv_alt``), and every animation function returns a
[`Gif`][transconv.viz.display.Gif]: the GIF's bytes, its alt text, and an HTML form,
``<img src="data:image/gif;base64,..." alt="...">``, that Jupyter shows when a cell ends in
it. [`alt_text`][transconv.viz.display.alt_text] reads the alt text of either (and of a GIF
file written with ``path=``, which carries it as its GIF comment).

In your own Jupyter, a cell that ends in a figure made here shows as an ``<img>`` with its alt
text ([`register_html_display`][transconv.viz.display.register_html_display], done when the
figure is made). [`show(fig)`][transconv.viz.display.show] gives the same ``<img>`` anywhere,
for GIF bytes too, and with an alt text of your own. This site's build additionally shows
*every* figure a cell ends in as a PNG with the alt text in its output metadata, and writes
each image to a file beside the page with its alt text (``sitebuild/kernel_prelude.py`` tells
that part of the story).

Examples
--------
>>> from transconv.viz import alt_text, show, show_images
>>> import torch
>>> fig = show_images([torch.zeros(4, 4)], ["zeros"])
>>> alt_text(fig)
'1 image: zeros (4×4, grey).'
>>> show(fig).html.startswith('<img src="data:image/png;base64,')
True
"""

from __future__ import annotations

import base64
import html
import io
import sys
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

__all__ = ["Gif", "ShownImage", "alt_text", "attach_alt_text", "register_html_display", "show"]

#: The attribute of a ``Figure`` that holds its alt text.
ALT_ATTRIBUTE = "transconv_alt"


class Gif(bytes):
    """The bytes of a GIF with its alt text; a notebook shows it as an ``<img>`` with ``alt``.

    A ``bytes`` subclass: everything that reads bytes reads it (``gif[:6] == b"GIF89a"``,
    ``Path(...).write_bytes(gif)``).

    Parameters
    ----------
    data : bytes
        The GIF file's contents.
    alt_text : str
        What the animation shows, in words.

    Examples
    --------
    >>> gif = Gif(b"GIF89a...", "a square")
    >>> gif.alt_text, gif[:6]
    ('a square', b'GIF89a')
    >>> 'alt="a square"' in gif._repr_html_()
    True
    """

    def __new__(cls, data: bytes, alt_text: str) -> Gif:
        return super().__new__(cls, data)

    def __init__(self, data: bytes, alt_text: str) -> None:
        self.alt_text = alt_text

    def _repr_html_(self) -> str:
        return _img_tag("image/gif", bytes(self), self.alt_text, _gif_width(bytes(self)))

    def __repr__(self) -> str:
        # short: a notebook stores the text form beside the HTML one
        return f"Gif({len(self)} bytes, alt_text={self.alt_text!r})"


class ShownImage:
    """An image as the HTML ``<img>`` a page shows, with its alt text.

    What [`show`][transconv.viz.display.show] returns.

    Parameters
    ----------
    html : str
        The ``<img ...>`` element, image data inline.
    alt_text : str
        The alt text inside it.
    figure : Figure, optional
        The figure drawn, when it is one (a site build draws a phone layout of it).
    """

    def __init__(self, html: str, alt_text: str, figure: Figure | None = None) -> None:
        self.html = html
        self.alt_text = alt_text
        self.figure = figure

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"ShownImage(alt_text={self.alt_text!r})"


def _img_tag(mime: str, data: bytes, alt: str, width: int | None) -> str:
    """``<img>`` with the data inline; ``width`` in CSS pixels (the image's natural size)."""
    size = f' width="{width}"' if width else ""
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:{mime};base64,{encoded}" alt="{html.escape(alt, quote=True)}"'
        f'{size} style="max-width: 100%; height: auto;">'
    )


def _gif_width(data: bytes) -> int | None:
    """Logical screen width of a GIF (bytes 6-7, little-endian), None if not a GIF."""
    return int.from_bytes(data[6:8], "little") if data[:3] == b"GIF" else None


def _gif_comment(data: bytes) -> str | None:
    """The comment stored in a GIF (where the animation functions put the alt text)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        comment = image.info.get("comment")
    return comment.decode("utf-8") if isinstance(comment, bytes) else comment


def alt_text(obj: Any) -> str:
    """The alt text of a figure, an animation, or a GIF file written by this package.

    Parameters
    ----------
    obj : Figure or Gif or bytes or str or Path
        A ``Figure`` returned by a figure function, a [`Gif`][transconv.viz.display.Gif]
        returned by an animation function, the bytes of a GIF written by one, or the path
        such a function wrote.

    Returns
    -------
    str
        What the figure or animation shows, in words.

    Raises
    ------
    TypeError
        If ``obj`` is none of those types.
    ValueError
        If ``obj`` carries no alt text (a figure not made by `transconv.viz`).

    Examples
    --------
    >>> from transconv.viz import animate_convolution
    >>> alt_text(animate_convolution(2, 2))[:32]
    'Animation of conv2d kernel_size='
    """
    if isinstance(obj, Gif):
        return obj.alt_text
    if isinstance(obj, Figure):
        text = getattr(obj, ALT_ATTRIBUTE, None)
    elif isinstance(obj, (bytes, str, Path)):
        text = _gif_comment(obj if isinstance(obj, bytes) else Path(obj).read_bytes())
    else:
        raise TypeError(
            f"obj must be a Figure, a Gif, GIF bytes or a GIF path, got "
            f"{type(obj).__name__}; pass what a transconv.viz function returned"
        )
    if not text:
        raise ValueError(
            f"obj must carry an alt text, got a {type(obj).__name__} without one; "
            f"make it with a transconv.viz function or pass alt= to show()"
        )
    return text


def attach_alt_text(fig: Figure, alt: str) -> Figure:
    """Give ``fig`` its alt text, and a running IPython kernel an ``<img alt>`` display for it.

    Parameters
    ----------
    fig : Figure
        The figure.
    alt : str
        What it shows, in words.

    Returns
    -------
    Figure
        ``fig`` itself.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> alt_text(attach_alt_text(Figure(), "An empty canvas"))
    'An empty canvas'
    """
    setattr(fig, ALT_ATTRIBUTE, alt)
    register_html_display()
    return fig


def _figure_html(fig: Figure) -> str | None:
    """IPython's HTML form of a figure: an ``<img>`` with its alt text, or None (no HTML)."""
    return show(fig).html if getattr(fig, ALT_ATTRIBUTE, None) else None


def register_html_display() -> bool:
    """Make a running IPython kernel show figures that carry an alt text as ``<img alt>``.

    Called by every figure function, so a page needs nothing: outside IPython it does
    nothing. Figures without an alt text keep the inline backend's PNG.

    Returns
    -------
    bool
        Whether an IPython shell was found (and the display registered).

    Examples
    --------
    >>> register_html_display()  # no IPython kernel here
    False
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    shell.display_formatter.formatters["text/html"].for_type(Figure, _figure_html)
    return True


def show(obj: Figure | Gif | bytes, alt: str | None = None) -> ShownImage:
    """The figure or animation as an ``<img>`` with its alt text, for a page to display.

    In an IPython kernel a figure of this package already shows as this ``<img>``
    ([`register_html_display`][transconv.viz.display.register_html_display]); ``show`` gives
    the same HTML anywhere, for GIF bytes too, and with an alt text of your own. The PNG is
    rendered like the inline backend's, at the figure's dpi with a tight bounding box, and
    ``width`` is its natural size in CSS pixels.

    Parameters
    ----------
    obj : Figure or Gif or bytes
        What a `transconv.viz` function returned (or GIF bytes).
    alt : str, optional
        The alt text; by default the one the figure carries
        ([`alt_text`][transconv.viz.display.alt_text]).

    Returns
    -------
    ShownImage
        ``.html`` (the ``<img>``), ``.alt_text``; Jupyter displays it as HTML.

    Raises
    ------
    TypeError
        If ``obj`` is not a ``Figure``, a ``Gif`` or bytes.
    ValueError
        If no ``alt`` is given and ``obj`` carries none.

    Examples
    --------
    >>> from transconv.viz import plot_series
    >>> shown = show(plot_series([1, 2], {"a": [1, 4]}, xlabel="x", ylabel="y"))
    >>> shown.alt_text
    'Line plot of y against x: a.'
    >>> 'alt="Line plot of y against x: a."' in shown.html
    True
    """
    if not isinstance(obj, (Figure, bytes)):
        raise TypeError(
            f"obj must be a Figure, a Gif or GIF bytes, got {type(obj).__name__}; "
            f"pass what a transconv.viz function returned"
        )
    text = alt if alt is not None else alt_text(obj)
    if isinstance(obj, bytes):
        return ShownImage(_img_tag("image/gif", bytes(obj), text, _gif_width(obj)), text)
    buffer = io.BytesIO()
    obj.savefig(buffer, format="png", dpi=obj.dpi, bbox_inches="tight", facecolor="white")
    png = buffer.getvalue()
    width = int.from_bytes(png[16:20], "big")  # IHDR: width, then height, big-endian
    return ShownImage(_img_tag("image/png", png, text, width), text, obj)
