"""mkdocs hook: the jupytext pages in ``docs/*.py`` are executed and rendered as Markdown pages.

Every ``.py`` file under ``docs/`` is a jupytext percent-format page. At build time this hook

1. executes it in a Jupyter kernel, or reuses its last run when nothing the run used has
   changed (``hooks/page_cache.py``: its source, the ``transconv`` modules it imported, the
   files under the project it read); any exception in a cell fails the build;
2. turns the executed notebook into Markdown that the site's own extensions render like any
   other page: code cells become fenced ``python`` blocks (Material's copy button, no
   ``In [n]:`` prompts), printed output becomes ``text`` blocks, Markdown and HTML outputs pass
   through, figures become image files next to the page with the alt text the figure carries;
3. offers the page's source as a notebook (``<page>.ipynb``) from a link under its title.

Cells tagged ``remove-input``, ``remove-output`` or ``remove-cell`` lose their code, their
output or both. Listed under ``hooks:`` in ``mkdocs.yml``.
"""

from __future__ import annotations

import base64
import logging
import posixpath
import re
from pathlib import Path, PurePosixPath

import jupytext
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from page_cache import PageCache, PageError, run_or_reuse

log = logging.getLogger("mkdocs.hooks.notebooks")

CACHE_DIR = ".cache/pages"
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg"}
#: Output types in the order a rich output is shown by (the first one it has wins).
PREFERENCE = ("text/markdown", "text/html", *IMAGE_TYPES, "text/latex", "text/plain")
#: ``text/plain`` of objects whose repr says nothing (not usable as an alt text).
DEFAULT_REPR = re.compile(r"^<([\w.]+ object( at 0x[0-9a-f]+)?|Figure size .*)>$", re.DOTALL)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SITE_LINK = re.compile(r"\]\(((?:\.\./)+[\w./-]*?)/?(#[\w-]+)?\)")
DATA_URI = re.compile(r"""(src=["'])data:image/(png|gif|jpeg|svg\+xml);base64,([^"']+)(["'])""")


class NotebookPage(File):
    """A ``docs/*.py`` page: a documentation page (its Markdown comes from ``render``)."""

    def is_documentation_page(self) -> bool:
        return True


class _State:
    root: Path
    cache: PageCache
    markdown: dict[str, str] = {}
    sources: frozenset[str] = frozenset()


state = _State()


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


def _text(value) -> str:
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
        plain = _text(output.get("data", {}).get("text/plain", "")).strip()
        alt = "" if DEFAULT_REPR.match(plain) else plain
    return " ".join(alt.split())


class Renderer:
    """Markdown for one executed notebook; images collected as ``{src_uri: bytes}``.

    ``sources`` are the docs-relative paths of the site's pages: a Markdown link written as a
    site URL (``../fcn/``, as a reader sees it) is turned into a link to the page's source
    (``fcn.py``), which mkdocs checks and rewrites like any other.
    """

    def __init__(self, stem: str, sources: frozenset[str] = frozenset()) -> None:
        self.stem = stem
        self.sources = sources
        self.assets: dict[str, bytes] = {}

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

    def asset(self, data: bytes, extension: str) -> str:
        """Store ``data`` as a file beside the page; return its docs-relative path."""
        name = f"{self.stem}/figure-{len(self.assets) + 1:02d}.{extension}"
        self.assets[name] = data
        return name

    def html(self, html: str) -> str:
        """HTML output, its base64 images moved to files."""

        def to_file(match: re.Match) -> str:
            kind = match.group(2)
            name = self.asset(base64.b64decode(match.group(3)), IMAGE_TYPES[f"image/{kind}"])
            return f"{match.group(1)}{PurePosixPath(name).name}{match.group(4)}"

        html = DATA_URI.sub(to_file, html)
        return f'<div class="nb-output nb-html" markdown="0">\n{html.strip()}\n</div>'

    def rich(self, output: dict) -> str:
        data = output.get("data", {})
        mime = next((m for m in PREFERENCE if m in data), None)
        if mime is None:
            return ""
        value = data[mime]
        if mime in ("text/markdown", "text/latex"):
            return _text(value).strip()
        if mime == "text/html":
            return self.html(_text(value))
        if mime in IMAGE_TYPES:
            raw = _text(value).encode() if mime == "image/svg+xml" else base64.b64decode(value)
            name = self.asset(raw, IMAGE_TYPES[mime])
            alt = re.sub(r"([\\\[\]])", r"\\\1", alt_text(output, mime))
            return f"![{alt}]({name}){{ .nb-figure }}"
        return fence(ANSI.sub("", _text(value)), "{ .text .nb-output .no-copy }")

    def outputs(self, outputs: list) -> list[str]:
        blocks, streams = [], {}
        for output in outputs:
            if output["output_type"] == "stream":
                text = ANSI.sub("", _text(output["text"]))
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

    def markdown(self, notebook: dict, download: str) -> str:
        blocks: list[str] = []
        linked = False
        for cell in notebook["cells"]:
            tags = set(cell.get("metadata", {}).get("tags", []))
            source = _text(cell["source"])
            if "remove-cell" in tags:
                continue
            if cell["cell_type"] == "markdown":
                blocks.append(self.site_links(source))
                if not linked and re.search(r"^# ", source, re.MULTILINE):
                    blocks.append(_download_link(download))
                    linked = True
            elif cell["cell_type"] == "code":
                if source.strip() and "remove-input" not in tags:
                    blocks.append(fence(source, "python"))
                if "remove-output" not in tags:
                    blocks += self.outputs(cell.get("outputs", []))
        return "\n\n".join(blocks) + "\n"


def _download_link(download: str) -> str:
    """The link placed right after the cell holding the page's title."""
    name = PurePosixPath(download).name
    return (
        f"[Download this page as a notebook (.ipynb)]({download})"
        f'{{ .nb-download download="{name}" title="Run this page in your own Jupyter" }}'
    )


def on_config(config):
    state.root = Path(config.config_file_path).resolve().parent
    state.cache = PageCache(state.root / CACHE_DIR)
    state.markdown = {}
    return config


def on_files(files: Files, config) -> Files:
    """Execute (or reuse) every ``docs/*.py`` page; add its figures and notebook as files."""
    state.sources = frozenset(f.src_uri for f in files if f.src_uri.endswith((".py", ".md")))
    result = []
    extra: list[File] = []
    executed = []
    for file in files:
        if not file.src_uri.endswith(".py"):
            result.append(file)
            continue
        stem = file.src_uri[: -len(".py")]
        page_uri = stem + ".md"
        page = NotebookPage(
            file.src_uri,
            file.src_dir,
            file.dest_dir,
            config.use_directory_urls,
            dest_uri=File(page_uri, None, file.dest_dir, config.use_directory_urls).dest_uri,
        )
        result.append(page)
        extra += _render(page, Path(file.abs_src_path), stem, config, executed)
    state.cache.keep_only({f.src_uri for f in result if isinstance(f, NotebookPage)})
    if executed:
        log.info(
            "Executed %d of %d pages; the others came from %s/",
            len(executed),
            len(state.markdown),
            CACHE_DIR,
        )
    return Files(result + extra)


def _render(page: NotebookPage, source: Path, stem: str, config, executed: list) -> list[File]:
    try:
        entry, ran = run_or_reuse(state.cache, page.src_uri, source, state.root, log)
    except PageError as err:
        raise PluginError(str(err)) from None
    if ran:
        executed.append(page.src_uri)
    download = f"{stem}/{PurePosixPath(stem).name}.ipynb"
    renderer = Renderer(stem, state.sources)
    state.markdown[page.src_uri] = renderer.markdown(entry.notebook, download)
    notebook = jupytext.writes(jupytext.read(source), fmt="ipynb")
    files = [File.generated(config, download, content=notebook)]
    files += [File.generated(config, name, content=data) for name, data in renderer.assets.items()]
    return files


def on_page_read_source(page, config) -> str | None:
    """The rendered Markdown of a notebook page (``None``: mkdocs reads the file itself)."""
    return state.markdown.get(page.file.src_uri)
