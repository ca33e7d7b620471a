"""mkdocs hook: the search index holds maths as readable text (``sitebuild.search_text``).

Listed under ``hooks:`` in ``mkdocs.yml``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.plugins import event_priority

sys.path.append(str(Path(__file__).resolve().parents[1]))  # sitebuild/ is not installed

from sitebuild.search_text import rewrite_index  # noqa: E402


@event_priority(-100)  # after the search plugin has written its index
def on_post_build(config) -> None:
    rewrite_index(Path(config.site_dir) / "search" / "search_index.json")
