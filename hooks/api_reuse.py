"""mkdocs hook: a translated edition reuses the English build's API HTML (``sitebuild.api_reuse``).

Listed under ``hooks:`` in ``mkdocs.yml``: the English build records, a translated one replays.
It also keeps the theme's compiled templates in ``.cache/jinja/`` for the next build.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jinja2 import FileSystemBytecodeCache

sys.path.append(str(Path(__file__).resolve().parents[1]))  # sitebuild/ is not installed

from sitebuild import api_reuse  # noqa: E402

RECORD = ".cache/api.json"
record: api_reuse.ApiRecord | None = None  # what the English build records (None: nothing)


def on_config(config):
    global record
    record = None
    if "mkdocstrings" not in config.plugins:
        return config
    lang = config.theme.get("language") or "en"
    replay = not lang.startswith("en")
    mkdocstrings = config.plugins["mkdocstrings"]
    root = Path(config.config_file_path).parent
    fingerprint = api_reuse.fingerprint(root, mkdocstrings.config.handlers)
    blocks = api_reuse.ApiRecord(root / RECORD, fingerprint)
    blocks = blocks.load() if replay else blocks
    labels = api_reuse.section_labels(lang) if replay else {}
    extension = api_reuse.ApiReuse(
        blocks, replay, labels, config.plugins["autorefs"], lambda: mkdocstrings.handlers
    )
    record = None if replay else blocks
    config.markdown_extensions.append(extension)
    return config


def on_post_build(config) -> None:
    if record is not None:
        record.save()


def on_env(env, config, files):
    """Keep the theme's compiled templates between builds (jinja checks each source's hash)."""
    cache = Path(config.config_file_path).parent / ".cache" / "jinja"
    cache.mkdir(parents=True, exist_ok=True)
    env.bytecode_cache = FileSystemBytecodeCache(str(cache))
    return env
