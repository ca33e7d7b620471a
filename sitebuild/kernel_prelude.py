"""What the docs build runs inside each page's kernel: before the page, and after it.

This is the one place that decides how a page's run is observed and how its figures reach the
page. ``sitebuild.execute`` runs this file's source in the kernel in a namespace of its own
(so nothing here leaks into the page), calls ``start`` before the first cell and prints
``report`` after the last; both cells are removed from the executed notebook.

The story of a figure, from the page to the site:

1. A ``transconv.viz`` function returns a matplotlib ``Figure`` carrying its alt text (the
   attribute ``transconv_alt``, see ``transconv.viz.display``), or ``show(fig)`` wraps it as an
   ``<img alt>`` HTML output. Figures made with matplotlib directly may carry one too.
2. In the build's kernel, ``show_figures`` makes *every* ``Figure`` a cell ends in display as a
   PNG whose output metadata carries that alt text, whether or not the page imported pyplot
   and whatever ``MPLBACKEND`` says. (The kernel also runs with matplotlib's inline backend, so
   a page that draws with ``plt.plot`` and never returns the figure still shows it.)
3. On a phone a figure wider than the column would shrink its text below 10 px, so
   ``show_figures`` also draws a *phone variant* when one is needed: the figure's panels (each
   axes with its labels, each figure-level text) re-flowed into rows that fit
   ``PHONE_COLUMN_PX``, cut from the same rendering, so every label keeps its drawn size. It
   travels as ``PHONE_MIME`` beside the PNG; ``TEXT_PX_KEY`` in the output metadata says how
   tall the figure's smallest text is, in image pixels.
4. ``sitebuild.render`` writes each image, PNG or ``<img src="data:...">``, to a file beside the
   page and keeps its alt text; a phone variant becomes the ``<source>`` of a ``<picture>``.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sys

#: The matplotlib backend the build's kernels start with.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Where a figure keeps its alt text (the attribute ``transconv.viz`` sets).
ALT_ATTRIBUTE = "transconv_alt"
#: Output type of a figure's phone variant (a base64 PNG, like ``image/png``).
PHONE_MIME = "image/vnd.transconv.phone+png"
#: Output metadata key: the smallest text of the figure, in pixels of its PNG.
TEXT_PX_KEY = "transconv_text_px"
#: Widest figure a phone shows at its drawn size: a 375-px screen's text column, CSS px.
PHONE_COLUMN_PX = 336
#: No text on a page is shown smaller than this, CSS px.
MIN_TEXT_PX = 10
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def record_usage(root: str) -> dict[str, set[str]]:
    """From now on, note every path under ``root`` this process reads, stats or lists.

    Returns the sets it fills: ``{"read": ..., "stat": ..., "list": ...}`` of absolute paths.
    Stats and listings made by the import system (probing ``sys.path``, torch looking for CUDA
    libraries) are not noted: only what the page itself looked at.
    """
    seen: dict[str, set[str]] = {"read": set(), "stat": set(), "list": set()}

    def note(kind: str, path) -> None:
        try:
            path = os.path.abspath(os.fsdecode(os.fspath(path)))
        except TypeError:  # a file descriptor
            return
        # IPython asks whether a Markdown or HTML string is a file name: not a real path
        if not path.startswith(root) or "\n" in path or len(os.path.basename(path)) > 255:
            return
        if kind != "read" and _during_import():
            return
        seen[kind].add(path)

    def audit(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            if (mode and any(c in mode for c in "wax+")) or (mode is None and flags & _WRITES):
                return
            note("read", path)
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            note("list", args[0])

    real_stat = os.stat

    def stat(path, *args, **kwargs):
        note("stat", path)
        return real_stat(path, *args, **kwargs)

    os.stat = stat
    sys.addaudithook(audit)
    return seen


def _during_import() -> bool:
    frame = sys._getframe(2)  # from stat or audit (_during_import <- note <- there) outwards
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def show_figures() -> None:
    """Make a ``Figure`` that ends a cell display as a PNG with its alt text in the metadata."""
    from IPython import get_ipython
    from IPython.core.pylabtools import print_figure

    def png(fig) -> str:
        return print_figure(fig, fmt="png", bbox_inches="tight", base64=True)

    def alt_and_phone(fig, include=None, exclude=None):
        text = getattr(fig, ALT_ATTRIBUTE, None)
        text_px, phone = phone_variant(fig)
        data = {PHONE_MIME: base64.b64encode(phone).decode("ascii")} if phone else {}
        metadata = {TEXT_PX_KEY: text_px} if text_px else {}
        return data, ({"image/png": {"alt": text}} if text else {}) | metadata

    def phone_of_shown(shown, include=None, exclude=None):
        figure = getattr(shown, "figure", None)
        return alt_and_phone(figure) if figure is not None else None

    formatter = get_ipython().display_formatter
    formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", png)
    bundles = formatter.mimebundle_formatter
    bundles.for_type_by_name("matplotlib.figure", "Figure", alt_and_phone)
    # what `transconv.viz.show(fig)` returns: an <img> of the figure, which it keeps
    bundles.for_type_by_name("transconv.viz.display", "ShownImage", phone_of_shown)


def smallest_text_px(fig) -> float | None:
    """The size of the figure's smallest visible text, in pixels of a PNG at its dpi."""
    from matplotlib.text import Text

    sizes = [
        text.get_fontsize() * fig.dpi / 72
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip()
    ]
    return round(min(sizes), 2) if sizes else None


def panel_boxes(fig, renderer) -> list[list[float]]:
    """Pixel boxes ``[left, top, right, bottom]`` of what must not be cut apart: each axes
    with its titles, labels, unclipped artists and colorbar, and each figure-level artist."""
    from matplotlib.transforms import Bbox

    height = fig.bbox.height
    extents = []
    for ax in fig.get_axes():
        if not ax.get_visible():
            continue
        extent = ax.get_tightbbox(renderer)
        colorbar = getattr(ax, "_colorbar", None)  # a colorbar stays beside what it keys
        parent = getattr(getattr(colorbar, "mappable", None), "axes", None)
        if extent is not None and parent is not None and parent.get_visible():
            extent = Bbox.union([extent, parent.get_tightbbox(renderer)])
        extents.append(extent)
    for artist in (*fig.texts, *fig.legends, *fig.patches, *fig.lines, *fig.images):
        if artist.get_visible() and getattr(artist, "get_text", lambda: "x")().strip():
            extents.append(artist.get_window_extent(renderer))
    return [
        [e.x0, height - e.y1, e.x1, height - e.y0]
        for e in extents
        if e is not None and e.width > 0 and e.height > 0
    ]


def merge_boxes(boxes: list[list[float]], margin: float) -> list[list[float]]:
    """Boxes that overlap (closer than ``margin``) merged into one, until none do.

    Examples
    --------
    >>> merge_boxes([[0, 0, 10, 10], [12, 0, 20, 10], [50, 0, 60, 10]], margin=4)
    [[0, 0, 20, 10], [50, 0, 60, 10]]
    """
    boxes = [list(b) for b in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] + margin and b[0] < a[2] + margin:
                    if a[1] < b[3] + margin and b[1] < a[3] + margin:
                        boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                    max(a[3], b[3])]  # fmt: skip
                        del boxes[j]
                        merged = True
                        break
            if merged:
                break
    return sorted(boxes, key=lambda b: (b[1], b[0]))


def _groups(boxes: list[list[float]], lo: int, hi: int) -> list[list[list[float]]]:
    """``boxes`` grouped where their ``[lo, hi]`` intervals overlap, in order along that axis."""
    groups: list[list[list[float]]] = []
    for box in sorted(boxes, key=lambda b: b[lo]):
        if groups and box[lo] < max(b[hi] for b in groups[-1]):
            groups[-1].append(box)
        else:
            groups.append([box])
    return groups


def tiles(boxes: list[list[float]], margin: float = 4) -> list[list[list[int]]]:
    """The figure cut into tiles, ``[left, top, right, bottom]`` pixel boxes, as rows of
    tiles in reading order: a row is a band of the figure no box crosses, a tile a column of
    that band no box crosses.

    Examples
    --------
    >>> tiles([[10, 10, 90, 90], [110, 10, 190, 80], [10, 110, 190, 120]], margin=2)
    [[[8, 8, 92, 92], [108, 8, 192, 82]], [[8, 108, 192, 122]]]
    """
    rows = []
    for band in _groups(merge_boxes(boxes, margin), 1, 3):
        row = []
        for column in _groups(band, 0, 2):
            left, top, right, bottom = (f(b[i] for b in column) for f, i in zip(
                (min, min, max, max), range(4), strict=True))  # fmt: skip
            row.append([round(left - margin), round(top - margin),
                        round(right + margin), round(bottom + margin)])  # fmt: skip
        rows.append(row)
    return rows


def reflow(
    rows: list[list[list[int]]], width: float, gap: int = 8
) -> list[tuple[list[int], int, int]]:
    """Where each tile goes when rows are wrapped at ``width``: ``(tile, x, y)`` in the new
    image. A row of the figure starts a new line; tiles on a line keep their vertical offsets;
    a tile wider than ``width`` has a line of its own.

    Examples
    --------
    >>> reflow([[[0, 0, 100, 50], [120, 0, 220, 50], [240, 0, 340, 50]]], width=210)
    [([0, 0, 100, 50], 0, 0), ([120, 0, 220, 50], 108, 0), ([240, 0, 340, 50], 0, 58)]
    """
    placed, y = [], 0
    for row in rows:
        lines: list[list[tuple[list[int], int]]] = [[]]
        x = 0
        for tile in row:
            if lines[-1] and x + tile[2] - tile[0] > width:
                lines.append([])
                x = 0
            lines[-1].append((tile, x))
            x += tile[2] - tile[0] + gap
        for line in lines:
            top = min(tile[1] for tile, _ in line)
            placed += [(tile, x, y + tile[1] - top) for tile, x in line]
            y += max(tile[3] - top for tile, _ in line) + gap
    return placed


def _draw(fig):
    """The figure drawn at its dpi (RGBA pixels), the boxes of its panels, the renderer."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    original = fig.canvas
    canvas = FigureCanvasAgg(fig)
    try:
        canvas.draw()
        renderer = canvas.get_renderer()
        return np.asarray(canvas.buffer_rgba()).copy(), panel_boxes(fig, renderer), renderer
    finally:
        fig.set_canvas(original)


def _wrapped(text, width: float):
    """A figure-level text (a suptitle) drawn alone, its lines wrapped to ``width`` px."""
    import textwrap

    from matplotlib.figure import Figure
    from PIL import Image

    words = text.get_text()
    for chars in range(max(8, len(words)), 7, -4):
        fig = Figure(dpi=text.figure.dpi)
        fig.text(0, 0, textwrap.fill(words, chars), fontproperties=text.get_fontproperties(),
                 color=text.get_color(), ha="center", multialignment="center")  # fmt: skip
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", pad_inches=0.04)
        image = Image.open(buffer).convert("RGBA")
        if image.width <= width:
            break
    return image


def _narrowed(fig, width: float) -> bytes | None:
    """The figure drawn at most ``width`` px wide, its text as drawn and its axes narrower;
    None for a figure with images (their cells and annotations would not shrink together)."""
    if any(ax.get_images() or ax.collections for ax in fig.get_axes()):
        return None
    size = fig.get_size_inches().copy()
    try:
        for _ in range(4):  # the labels' width is fixed: shrink the axes until it all fits
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=fig.dpi, bbox_inches="tight", facecolor="white")
            drawn = int.from_bytes(buffer.getvalue()[16:20], "big")
            if drawn <= width:
                return buffer.getvalue()
            shrink = fig.get_size_inches()[0] - (drawn - width + 2) / fig.dpi
            fig.set_size_inches(shrink, size[1], forward=False)
    finally:
        fig.set_size_inches(size, forward=False)
    return None


def phone_variant(fig) -> tuple[float | None, bytes | None]:
    """The figure's smallest text (px) and, when a phone needs one, its phone variant (PNG).

    A phone needs one when the figure, scaled down to ``PHONE_COLUMN_PX``, would show text
    below ``MIN_TEXT_PX`` and re-flowing its panels makes it narrower. A figure-level text
    (a suptitle) too wide for the variant is drawn again with its lines wrapped; a lone plot
    too wide (lines, no image) is drawn again narrower.
    """
    from PIL import Image

    image, boxes, renderer = _draw(fig)
    text_px = smallest_text_px(fig)  # after drawing: tick labels exist only once drawn
    if not boxes:
        return text_px, None
    left, right = min(b[0] for b in boxes), max(b[2] for b in boxes)
    if right - left <= PHONE_COLUMN_PX or (
        text_px and text_px * PHONE_COLUMN_PX / (right - left) >= MIN_TEXT_PX
    ):
        return text_px, None  # fits, or may shrink to fit
    # text larger than needed lets the variant be wider, shown scaled down to the column
    pad = 4
    limit = max(PHONE_COLUMN_PX, (text_px or 0) * PHONE_COLUMN_PX / MIN_TEXT_PX) - 2 * pad
    wide = [
        t
        for t in fig.texts
        if t.get_visible()
        and "$" not in t.get_text()
        and t.get_window_extent(renderer).width > limit
    ]
    for text in wide:
        text.set_visible(False)
    try:
        image, boxes, _ = _draw(fig) if wide else (image, boxes, renderer)
    finally:
        for text in wide:
            text.set_visible(True)
    source = Image.fromarray(image)
    rows = tiles(boxes)
    crops = {id(t): source.crop(tuple(t)) for row in rows for t in row}
    for text in wide:  # each wrapped text a row of its own, where it stood
        top = fig.bbox.height - text.get_window_extent(renderer).y1
        crop = _wrapped(text, limit)
        tile = [0, round(top), crop.width, round(top) + crop.height]
        crops[id(tile)] = crop
        rows.insert(sum(r[0][1] < top for r in rows), [tile])
    placed = reflow(rows, limit)
    width = max(x + t[2] - t[0] for t, x, _ in placed)
    height = max(y + t[3] - t[1] for t, _, y in placed)
    if width > limit:  # a panel alone is too wide: a plot can be drawn narrower
        return text_px, _narrowed(fig, limit) if len(placed) == 1 else None
    # on white, as `transconv.viz.show` draws the figure; crops past the canvas stay white
    out = Image.new("RGB", (width + 2 * pad, height + 2 * pad), "white")
    for tile, x, y in placed:
        out.paste(crops[id(tile)], (x + pad, y + pad), mask=crops[id(tile)])
    buffer = io.BytesIO()
    out.save(buffer, format="png", optimize=True)
    return text_px, buffer.getvalue()


def start(root: str) -> dict[str, set[str]]:
    """Everything the build needs before a page's first cell; returns what ``report`` reads."""
    show_figures()
    return record_usage(root)


def report(seen: dict[str, set[str]]) -> str:
    """JSON: the ``transconv`` modules loaded and the paths read, stat-ed and listed."""
    modules = sorted(
        module.__file__
        for name, module in list(sys.modules.items())
        if (name == "transconv" or name.startswith("transconv."))
        and getattr(module, "__file__", None)
    )
    return json.dumps({"modules": modules, **{kind: sorted(p) for kind, p in seen.items()}})
