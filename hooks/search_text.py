"""mkdocs hook: the search index holds maths as readable text (``sitebuild.search_text``), and
a page's entries are kept between builds while the page is unchanged (``sitebuild.search_cache``).

Listed under ``hooks:`` in ``mkdocs.yml``.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from pathlib import Path

from mkdocs.plugins import event_priority

sys.path.append(str(Path(__file__).resolve().parents[1]))  # sitebuild/ is not installed

from sitebuild.search_cache import SearchCache  # noqa: E402
from sitebuild.search_text import rewrite_index  # noqa: E402

cache: SearchCache | None = None


@event_priority(-100)  # after the search plugin has made its index
def on_config(config):
    global cache
    search = config.plugins.get("material/search") or config.plugins.get("search")
    index = getattr(search, "search_index", None)
    if index is None:
        cache = None
        return config
    lang = config.theme.get("language") or "en"
    path = Path(config.config_file_path).parent / ".cache" / "search" / f"{lang}.json"
    settings = [version("mkdocs-material"), dict(search.config)]
    cache = SearchCache(path, index, settings, Path(config.docs_dir) / "glossary.md")
    return config


@event_priority(-100)  # after the search plugin has written its index
def on_post_build(config) -> None:
    rewrite_index(Path(config.site_dir) / "search" / "search_index.json")
    if cache is not None:
        cache.save()
