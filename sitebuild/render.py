"""An executed notebook as light Markdown that the site's own extensions render.

Code cells become fenced ``python`` blocks (Material's copy button, no ``In [n]:`` prompts),
printed output becomes ``text`` blocks, Markdown and HTML outputs pass through, and images,
PNG outputs or ``<img src="data:...">`` inside HTML alike, become files beside the page that
keep their alt text (see ``kernel_prelude`` for how a figure gets there).

On a phone (a column of ``PHONE_COLUMN_PX``) no figure's text may shrink below
``MIN_TEXT_PX``. A figure with a phone variant (its panels re-flowed by the kernel) becomes a
``<picture>`` whose ``<source>`` phones pick; one that would still have to shrink its text too
far keeps its drawn size and scrolls in its box, below a line that says so. A figure wider than
a phone's column whose smallest text is known carries it, in pixels of its image, as
``data-text-px``.

Cell tags: ``remove-input``, ``remove-output`` and ``remove-cell`` drop a cell's code, its
output or both; ``solution`` puts the cell, code and output, in a collapsed
``<details class="solution">`` (consecutive solution cells share one).
"""

from __future__ import annotations

import base64
import html
import posixpath
import re
from collections.abc import Callable
from pathlib import PurePosixPath

from sitebuild.kernel_prelude import MIN_TEXT_PX, PHONE_COLUMN_PX, PHONE_MIME, TEXT_PX_KEY

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg"}
#: Output types in the order a rich output is shown by (the first one it has wins).
PREFERENCE = ("text/markdown", "text/html", *IMAGE_TYPES, "text/latex", "text/plain")
#: ``text/plain`` of objects whose repr says nothing (not usable as an alt text).
DEFAULT_REPR = re.compile(r"^<([\w.]+ object( at 0x[0-9a-f]+)?|Figure size .*)>$", re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SITE_LINK = re.compile(r"\]\(((?:\.\./)+[\w./-]*?)/?(#[\w-]+)?\)")
DATA_URI = re.compile(r"""(src=["'])data:image/(png|gif|jpeg|svg\+xml);base64,([^"']+)(["'])""")
IMG_ALT = re.compile(r'(<img\b[^>]*\balt=")([^"]*)(")')
IMG_TAG = re.compile(r"<img\b[^>]*>")
#: Phones: Material's breakpoint below which the text column is a single narrow one.
PHONE_MEDIA = "(max-width: 44.9375em)"

#: Words of the rendered page that are not in a page's source, per language.
LABELS = {
    "en": {
        "solution": "Solution",
        "download": "Download this page as a notebook (.ipynb)",
        "download_title": "Run this page in your own Jupyter",
        "scroll": "Scroll sideways for the whole figure →",
    },
    "zh": {
        "solution": "解答",
        "download": "下载本页的 Jupyter 笔记本（.ipynb）",
        "download_title": "在你自己的 Jupyter 中运行本页",
        "scroll": "左右滑动查看整幅图 →",
    },
}


def fence(code: str, info: str) -> str:
    """A fenced block holding ``code`` verbatim (the fence outgrows any backtick run inside).

    Examples
    --------
    >>> print(fence("x = 1", "python"))
    ```python
    x = 1
    ```
    """
    ticks = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", code)), default=0))
    return f"{ticks}{info}\n{code.rstrip()}\n{ticks}"


def text_of(value) -> str:
    """A notebook's multi-line string field (a string or a list of lines) as one string."""
    return value if isinstance(value, str) else "".join(value)


def alt_text(output: dict, mime: str) -> str:
    """The figure's description: ``alt`` in its metadata, else a ``text/plain`` that says more
    than a default repr, else empty.

    Examples
    --------
    >>> alt_text({"metadata": {"image/png": {"alt": "A 4x4 grid"}}, "data": {}}, "image/png")
    'A 4x4 grid'
    >>> alt_text({"data": {"text/plain": "<Figure size 640x480 with 1 Axes>"}}, "image/png")
    ''
    """
    metadata = output.get("metadata", {})
    alt = metadata.get(mime, {}).get("alt") or metadata.get("alt")
    if not alt:
        plain = text_of(output.get("data", {}).get("text/plain", "")).strip()
        alt = "" if DEFAULT_REPR.match(plain) else plain
    return " ".join(alt.split())


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG or GIF from its header (None for other images).

    Examples
    --------
    >>> image_size(b"GIF89a" + (300).to_bytes(2, "little") + (20).to_bytes(2, "little"))
    (300, 20)
    """
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:3] == b"GIF":
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    return None


def must_scroll(width: int, text_px: float | None) -> bool:
    """Whether an image ``width`` px wide, smallest text ``text_px`` px (None: unknown), can't
    shrink to a phone's column without text below ``MIN_TEXT_PX``.

    Examples
    --------
    >>> must_scroll(300, None), must_scroll(600, 20.0), must_scroll(600, 11.0)
    (False, False, True)
    """
    if width <= PHONE_COLUMN_PX:
        return False
    return text_px is None or text_px * PHONE_COLUMN_PX / width < MIN_TEXT_PX


def _identity(text: str) -> str:
    return text


class Renderer:
    """Markdown for one executed notebook; images collected as ``{src_uri: bytes}``.

    ``sources`` are the docs-relative paths of the site's pages: a Markdown link written as a
    site URL (``../fcn/``, as a reader sees it) is turned into a link to the page's source
    (``fcn.py``), which mkdocs checks and rewrites like any other. ``translate`` maps each
    Markdown cell and each alt text to the page's language (by default: unchanged), and
    ``lang`` picks the words the renderer adds itself.
    """

    def __init__(
        self,
        stem: str,
        sources: frozenset[str] = frozenset(),
        *,
        translate: Callable[[str], str] = _identity,
        lang: str = "en",
    ) -> None:
        self.stem = stem
        self.sources = sources
        self.translate = translate
        self.labels = LABELS.get(lang, LABELS["en"])
        self.assets: dict[str, bytes] = {}
        self.figures = 0

    def site_links(self, markdown: str) -> str:
        """Markdown with links to other pages' URLs pointed at their sources.

        Examples
        --------
        >>> r = Renderer("bilinear", frozenset({"fcn.py", "index.md"}))
        >>> r.site_links("see [FCN](../fcn/#skips), [home](../) and [x](../x/)")
        'see [FCN](fcn.py#skips), [home](index.md) and [x](../x/)'
        """

        def to_source(match: re.Match) -> str:
            url, anchor = match.group(1), match.group(2) or ""
            target = posixpath.normpath(posixpath.join(self.stem, url)).strip("./")
            for candidate in (f"{target}.py", f"{target}.md", f"{target}/index.md".lstrip("/")):
                if candidate in self.sources:
                    return f"]({candidate}{anchor})"
            return match.group(0)

        return SITE_LINK.sub(to_source, markdown)

    def asset(self, data: bytes, extension: str, variant: str = "") -> str:
        """Store ``data`` as a file beside the page; return its docs-relative path.

        A ``variant`` (``"phone"``) is another file of the figure stored last.
        """
        self.figures += not variant
        suffix = f"-{variant}" if variant else ""
        name = f"{self.stem}/figure-{self.figures:02d}{suffix}.{extension}"
        self.assets[name] = data
        return name

    def picture(self, img: str, output: dict, width: int | None) -> tuple[str, bool]:
        """The ``<img>`` tag of the figure ``output`` holds, with its phone variant as a
        ``<picture>`` and its smallest text as ``data-text-px``; and whether it must scroll
        on a phone."""
        text_px = output.get("metadata", {}).get(TEXT_PX_KEY)
        if text_px and (width or 0) > PHONE_COLUMN_PX:  # a phone shows it scaled down
            img = img.replace("<img ", f'<img data-text-px="{text_px}" ', 1)
        phone = output.get("data", {}).get(PHONE_MIME)
        if not phone:
            return img, must_scroll(width or 0, text_px)
        raw = base64.b64decode(phone)
        phone_width, phone_height = image_size(raw) or (0, 0)
        name = PurePosixPath(self.asset(raw, "png", variant="phone")).name
        source = (
            f'<source media="{PHONE_MEDIA}" srcset="{name}" '
            f'width="{phone_width}" height="{phone_height}">'
        )
        return f"<picture>{source}{img}</picture>", must_scroll(phone_width, text_px)

    def figure_box(self, markup: str, scroll: bool) -> str:
        """HTML output holding a figure; one that must scroll on a phone says so above it
        (a tall figure's foot may be a screen away)."""
        cls = "nb-output nb-html nb-scroll" if scroll else "nb-output nb-html"
        box = f'<div class="{cls}" markdown="0">\n{markup.strip()}\n</div>'
        if scroll:
            box = f'<p class="nb-scroll-cue" markdown="0">{self.labels["scroll"]}</p>\n\n{box}'
        return box

    def html(self, markup: str, output: dict | None = None) -> str:
        """HTML output, its base64 images moved to files, their alt texts translated; a lone
        image gets its phone variant and its text size from ``output`` (see ``picture``)."""
        widths: list[int | None] = []

        def to_file(match: re.Match) -> str:
            kind = match.group(2)
            data = base64.b64decode(match.group(3))
            widths.append((image_size(data) or (None,))[0])
            name = self.asset(data, IMAGE_TYPES[f"image/{kind}"])
            return f"{match.group(1)}{PurePosixPath(name).name}{match.group(4)}"

        def translated_alt(match: re.Match) -> str:
            alt = self.translate(html.unescape(match.group(2)))
            return f"{match.group(1)}{html.escape(alt, quote=True)}{match.group(3)}"

        markup = IMG_ALT.sub(translated_alt, DATA_URI.sub(to_file, markup))
        if len(widths) != 1:
            scroll = any(must_scroll(w or 0, None) for w in widths)
            return self.figure_box(markup, scroll)
        scroll = False

        def to_picture(match: re.Match) -> str:
            nonlocal scroll
            tag, scroll = self.picture(match.group(0), output or {}, widths[0])
            return tag

        return self.figure_box(IMG_TAG.sub(to_picture, markup, count=1), scroll)

    def rich(self, output: dict) -> str:
        data = output.get("data", {})
        mime = next((m for m in PREFERENCE if m in data), None)
        if mime is None:
            return ""
        value = data[mime]
        if mime in ("text/markdown", "text/latex"):
            return text_of(value).strip()
        if mime == "text/html":
            return self.html(text_of(value), output)
        if mime in IMAGE_TYPES:
            return self.image(output, mime)
        return fence(ANSI.sub("", text_of(value)), "{ .text .nb-output .no-copy }")

    def image(self, output: dict, mime: str) -> str:
        """An image output: Markdown ``![alt](file)``, or a ``<picture>`` for phones."""
        value = output["data"][mime]
        raw = text_of(value).encode() if mime == "image/svg+xml" else base64.b64decode(value)
        name = self.asset(raw, IMAGE_TYPES[mime])
        alt = alt_text(output, mime)
        alt = self.translate(alt) if alt else alt
        width = (image_size(raw) or (None,))[0]
        size = f' width="{width}"' if width else ""
        img, scroll = self.picture(
            f'<img src="{PurePosixPath(name).name}" alt="{html.escape(alt, quote=True)}" '
            f'class="nb-figure"{size}>',
            output,
            width,
        )
        if not scroll and not img.startswith("<picture"):
            text_px = 'data-text-px="' in img and output["metadata"][TEXT_PX_KEY]
            attrs = f' data-text-px="{text_px}"' if text_px else ""
            alt = re.sub(r"([\\\[\]])", r"\\\1", alt)
            return f"![{alt}]({name}){{ .nb-figure{attrs} }}"
        return self.figure_box(img, scroll)

    def outputs(self, outputs: list) -> list[str]:
        blocks, streams = [], {}
        for output in outputs:
            if output["output_type"] == "stream":
                text = ANSI.sub("", text_of(output["text"]))
                streams[output["name"]] = streams.get(output["name"], "") + text
                continue
            blocks += self._flush(streams) + [self.rich(output)]
            streams = {}
        return [block for block in blocks + self._flush(streams) if block]

    @staticmethod
    def _flush(streams: dict) -> list[str]:
        # a progress bar rewrites its line with \r: keep what the line finally said
        blocks = []
        for name, text in streams.items():
            lines = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
            cls = ".nb-output .nb-stderr" if name == "stderr" else ".nb-output"
            blocks.append(fence("\n".join(lines), f"{{ .text {cls} .no-copy }}"))
        return blocks

    def cell(self, cell: dict) -> list[str]:
        """The blocks one cell shows (none for a ``remove-cell``)."""
        tags = set(cell.get("metadata", {}).get("tags", []))
        source = text_of(cell["source"])
        if "remove-cell" in tags:
            return []
        if cell["cell_type"] == "markdown":
            return [self.site_links(self.translate(source))]
        if cell["cell_type"] != "code":
            return []
        blocks = []
        if source.strip() and "remove-input" not in tags:
            blocks.append(fence(source, "python"))
        if "remove-output" not in tags:
            blocks += self.outputs(cell.get("outputs", []))
        return blocks

    def markdown(self, notebook: dict, download: str) -> str:
        """The page: its cells' blocks, the notebook link under the title, solutions folded."""
        blocks: list[str] = []
        solution: list[str] | None = None  # the blocks of the solution being collected
        linked = False
        for cell in notebook["cells"]:
            cell_blocks = self.cell(cell)
            if "solution" in cell.get("metadata", {}).get("tags", []):
                solution = (solution or []) + cell_blocks
                continue
            if solution is not None:
                blocks.append(self.details(solution))
                solution = None
            blocks += cell_blocks
            if not linked and cell["cell_type"] == "markdown" and cell_blocks:
                if re.search(r"^# ", cell_blocks[0], re.MULTILINE):
                    blocks.append(self.download_link(download))
                    linked = True
        if solution is not None:
            blocks.append(self.details(solution))
        return "\n\n".join(blocks) + "\n"

    def details(self, blocks: list[str]) -> str:
        """``blocks`` folded away under the summary *Solution* (``pymdownx.details``).

        Examples
        --------
        >>> print(Renderer("p").details(["```python\\nx = 1\\n```"]))
        ??? solution "Solution"
        <BLANKLINE>
            ```python
            x = 1
            ```
        """
        body = "\n\n".join(blocks)
        indented = "\n".join(f"    {line}" if line.strip() else "" for line in body.split("\n"))
        return f'??? solution "{self.labels["solution"]}"\n\n{indented}'

    def download_link(self, download: str) -> str:
        """The link placed right after the cell holding the page's title."""
        name = PurePosixPath(download).name
        return (
            f"[{self.labels['download']}]({download})"
            f'{{ .nb-download download="{name}" title="{self.labels["download_title"]}" }}'
        )
