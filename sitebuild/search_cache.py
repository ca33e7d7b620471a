"""The search index's entries of a page, kept between builds while the page does not change.

Material's search plugin parses each page's HTML and cuts its Chinese into words with jieba
(whose dictionary takes a second to load); on a warm build most pages are the HTML of the
build before. [`SearchCache`][sitebuild.search_cache.SearchCache] wraps the plugin's
``add_entry_from_context``: it returns the entries stored under a hash of everything they are
made from (the page's HTML, URL, title, metadata and table of contents, the plugin's version
and settings, the glossary terms jieba is given), or computes and stores them. jieba loads
only when a page has to be indexed afresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from sitebuild import i18n


def load_glossary_terms(glossary: Path) -> None:
    """Let jieba, which Material's search cuts Chinese with, keep the glossary's terms whole."""
    try:
        import jieba
    except ImportError:  # Material indexes Chinese unsegmented: search finds less
        return
    jieba.setLogLevel(logging.WARNING)
    if glossary.is_file():
        for term in i18n.glossary_terms(glossary.read_text(encoding="utf-8")):
            jieba.add_word(term, freq=100_000)


def _toc(items) -> list:
    return [[item.id, item.url, item.title, _toc(item.children)] for item in items]


class SearchCache:
    """Entries of the search index by page, stored in ``path`` (one JSON file per edition).

    Parameters
    ----------
    path
        The JSON file the entries are kept in.
    index
        Material's ``SearchIndex`` (``entries`` and ``add_entry_from_context``).
    settings
        Anything else the entries depend on (plugin version and settings).
    glossary
        The glossary page, whose terms jieba gets before it first cuts a page.
    """

    def __init__(self, path: Path, index, settings: object, glossary: Path) -> None:
        self.path, self.index, self.glossary = path, index, glossary
        terms = glossary.read_text(encoding="utf-8") if glossary.is_file() else ""
        try:
            import jieba
        except ImportError:
            jieba = None
        parts = [settings, getattr(jieba, "__version__", None), i18n.key(terms)]
        self.salt = json.dumps(parts, sort_keys=True, default=str)
        try:
            self.old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.old = {}
        self.new: dict[str, list] = {}
        self.jieba_ready = False
        self.compute = index.add_entry_from_context
        index.add_entry_from_context = self.add_entry_from_context

    def key(self, page) -> str:
        parts = [self.salt, page.content, page.url, str(page.title), _toc(page.toc)]
        parts.append(json.dumps(page.meta, sort_keys=True, default=str))
        data = json.dumps(parts, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(data).hexdigest()

    def add_entry_from_context(self, page) -> None:
        key = self.key(page)
        if key in self.old:
            entries = self.old[key]
            self.index.entries.extend(entries)
        else:
            if not self.jieba_ready:
                load_glossary_terms(self.glossary)
                self.jieba_ready = True
            count = len(self.index.entries)
            self.compute(page)
            entries = self.index.entries[count:]
        self.new[key] = entries

    def save(self) -> None:
        """Keep this build's entries (only those: a page that changed drops its old ones)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.new, ensure_ascii=False), encoding="utf-8")
