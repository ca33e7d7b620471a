"""A site's pages, rendered: what the MkDocs hooks and the command line both call.

[`Site`][sitebuild.pages.Site] knows the project root, the cache and the language;
[`Site.render`][sitebuild.pages.Site.render] turns one ``docs/*.py`` page into Markdown, its
figures and its notebook download, executing it only when its cache entry is stale (and never
for a translation, which reuses the English run).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

from sitebuild import i18n, notebook
from sitebuild.cache import PageCache
from sitebuild.execute import run_or_reuse
from sitebuild.render import Renderer

CACHE_DIR = ".cache/pages"


@dataclass
class RenderedPage:
    """One page ready for the site: Markdown, and the files it links to."""

    page: str  # docs-relative source: "fcn.py"
    markdown: str
    files: dict[str, bytes | str]  # docs-relative path: content (figures, the .ipynb)
    executed: bool
    translator: i18n.Translator | None = None


@dataclass
class Site:
    """The pages under ``root/docs_dir`` in ``lang`` (``"en"`` is the source language)."""

    root: Path
    docs_dir: Path
    lang: str = "en"
    cache: PageCache = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.root.resolve()
        self.cache = PageCache(self.root / CACHE_DIR)

    @property
    def translated(self) -> bool:
        return self.lang != "en"

    def translator(self, page: str) -> i18n.Translator | None:
        """The translations of ``page`` into this site's language (None for English)."""
        if not self.translated:
            return None
        path = i18n.catalogue_path(self.docs_dir, self.lang, page)
        return i18n.Translator(self.lang, i18n.load(path))

    def render(self, page: str, sources: frozenset[str] = frozenset()) -> RenderedPage:
        """Execute (or reuse) ``docs_dir/page`` and render it.

        ``sources``: the site's page sources, for links written as site URLs.
        """
        source = self.docs_dir / page
        entry, ran = run_or_reuse(
            self.cache, page, source, self.root, execute_stale=not self.translated
        )
        stem = page[: -len(".py")]
        download = f"{stem}/{PurePosixPath(stem).name}.ipynb"
        translator = self.translator(page)
        renderer = Renderer(stem, sources, translate=translator or (lambda s: s), lang=self.lang)
        markdown = renderer.markdown(entry.notebook, download)
        files: dict[str, bytes | str] = dict(renderer.assets)
        files[download] = notebook.downloadable(source, self.version())
        return RenderedPage(page, markdown, files, ran, translator)

    def version(self) -> str:
        """The documented package's version, which a page's notebook pins when it installs it.

        The project's own ``pyproject.toml`` says it (the site documents the tree it is built
        from); without one, the installed ``transconv``'s metadata.
        """
        pyproject = self.root / "pyproject.toml"
        if pyproject.is_file():  # as transconv/__init__.py reads it (tomllib needs 3.11)
            found = re.search(r'^version = "([^"]+)"$', pyproject.read_text(), re.MULTILINE)
            if found:
                return found[1]
        return metadata.version("transconv")

    def units(self, page: str) -> list[str]:
        """The texts of ``page`` to translate, in page order (from its cached run)."""
        if page.endswith(".md"):
            text = (self.docs_dir / page).read_text(encoding="utf-8")
            return [b for b in i18n.split_blocks(text) if i18n.is_prose(b)]
        seen: list[str] = []
        collector = i18n.Translator(self.lang, {})

        def collect(text: str) -> str:
            seen.append(text)
            return collector(text)

        entry, _ = run_or_reuse(self.cache, page, self.docs_dir / page, self.root)
        stem = page[: -len(".py")]
        Renderer(stem, translate=collect).markdown(entry.notebook, f"{stem}/x.ipynb")
        return [text for text in seen if i18n.normalise(text)]

    def pages(self) -> list[str]:
        """Every page source under ``docs_dir`` (``.py`` and ``.md``), docs-relative, sorted."""
        found = [
            p.relative_to(self.docs_dir).as_posix()
            for p in self.docs_dir.rglob("*")
            if p.suffix in (".py", ".md") and "i18n" not in p.relative_to(self.docs_dir).parts
        ]
        return sorted(found)
