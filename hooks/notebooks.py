"""mkdocs hook: the site's pages come from ``sitebuild``; this file only plugs it into MkDocs.

- ``docs/*.py`` pages are executed (or reused from ``.cache/pages/``) and rendered to Markdown
  by ``sitebuild.pages.Site``; their figures and notebook downloads become files of the site.
- A translated edition (``theme.language`` other than ``en``, see ``mkdocs.zh.yml``) executes
  nothing: it renders the English build's runs with each Markdown cell, ``.md`` block, alt text
  and navigation title swapped for its translation in ``docs/i18n/<lang>/``. A missing or stale
  translation is a warning (so ``--strict`` fails).
- Every page's language switch (``extra.alternate``) goes to the same page in the other one.

Listed under ``hooks:`` in ``mkdocs.yml``; ``python -m sitebuild`` does the same without MkDocs.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Section

sys.path.append(str(Path(__file__).resolve().parents[1]))  # sitebuild/ is not installed

from sitebuild import i18n  # noqa: E402
from sitebuild.execute import PageError  # noqa: E402
from sitebuild.pages import CACHE_DIR, Site  # noqa: E402

log = logging.getLogger("mkdocs.hooks.notebooks")
#: Where each language's site lives, relative to the English one.
EDITIONS = {"en": "", "zh": "zh/"}


class NotebookPage(File):
    """A ``docs/*.py`` page: a documentation page (its Markdown comes from ``sitebuild``)."""

    def is_documentation_page(self) -> bool:
        return True


class _State:
    site: Site
    markdown: dict[str, str] = {}


state = _State()


def on_config(config):
    lang = config.theme.get("language") or "en"
    lang = "en" if lang.startswith("en") else lang
    state.site = Site(Path(config.config_file_path).parent, Path(config.docs_dir), lang)
    state.markdown = {}
    logging.getLogger("sitebuild").handlers = logging.getLogger("mkdocs").handlers
    logging.getLogger("sitebuild").setLevel(logging.INFO)
    return config


def on_files(files: Files, config) -> Files:
    """Render every ``docs/*.py`` page; add its figures and notebook as files."""
    sources = frozenset(f.src_uri for f in files if f.src_uri.endswith((".py", ".md")))
    result, extra, executed = [], [], []
    for file in files:
        if not file.src_uri.endswith(".py"):
            result.append(file)
            continue
        dest = File(file.src_uri[:-3] + ".md", None, file.dest_dir, config.use_directory_urls)
        page = NotebookPage(
            file.src_uri, file.src_dir, file.dest_dir, config.use_directory_urls,
            dest_uri=dest.dest_uri,
        )  # fmt: skip
        result.append(page)
        try:
            rendered = state.site.render(page.src_uri, sources)
        except PageError as err:
            raise PluginError(str(err)) from None
        state.markdown[page.src_uri] = rendered.markdown
        extra += [File.generated(config, name, content=c) for name, c in rendered.files.items()]
        executed += [page.src_uri] if rendered.executed else []
        _warn_untranslated(page.src_uri, rendered.translator)
    if not state.site.translated:
        state.site.cache.keep_only({f.src_uri for f in result if isinstance(f, NotebookPage)})
    if executed:
        log.info("Executed %d of %d pages; the others came from %s/", len(executed),
                 len(state.markdown), CACHE_DIR)  # fmt: skip
    return Files(result + extra)


def _warn_untranslated(page: str, translator: i18n.Translator | None) -> None:
    if translator is None or not (translator.missing or translator.stale()):
        return
    log.warning(
        "%s: %d texts not translated into %s, %d stale translations in %s; "
        "update it with: python -m sitebuild i18n stubs --lang %s %s",
        page, len(translator.missing), translator.lang, len(translator.stale()),
        i18n.catalogue_path(Path("docs"), translator.lang, page), translator.lang, page,
    )  # fmt: skip


def on_page_read_source(page, config) -> str | None:
    """The rendered Markdown of a notebook page (``None``: mkdocs reads the file itself)."""
    return state.markdown.get(page.file.src_uri)


def on_page_markdown(markdown: str, page, config, files) -> str:
    """A ``.md`` page of a translated edition, block by block in its language."""
    translator = state.site.translator(page.file.src_uri)
    if translator is None or page.file.src_uri in state.markdown:
        return markdown
    markdown = translator.translate_blocks(markdown)
    _warn_untranslated(page.file.src_uri, translator)
    return markdown


def on_nav(nav, config, files):
    """The navigation's titles in the edition's language (``docs/i18n/<lang>/_nav.yml``)."""
    translator = state.site.translator("_nav")
    if translator is None:
        return nav

    def walk(items) -> None:
        for item in items:
            if item.title:
                item.title = translator(item.title)
            if isinstance(item, Section):
                walk(item.children)

    walk(nav.items)
    _warn_untranslated("_nav", translator)
    return nav


def on_page_context(context, page, config, nav):
    """Point the language switch at this page in each edition (``link``: at its home page)."""
    here = EDITIONS.get(state.site.lang, "")
    for alternate in config.extra.get("alternate", []):
        edition = "../" * here.count("/") + EDITIONS.get(alternate["lang"], "")
        alternate["link"] = edition or "./"  # <link rel=alternate>: Material reads its sitemap
        alternate["href"] = "../" * page.url.count("/") + edition + page.url or "./"
    return context
