"""mkdocs hook: make mkdocs-jupyter's page cache follow the package sources and results.

mkdocs-jupyter caches each executed page in ``<cache_dir>/<key>.json`` (``cache: true`` and
``cache_dir: .cache/mkdocs-jupyter`` are its defaults). The key hashes the page text and the
plugin options only, so after a change to ``transconv/`` or ``docs/results/`` a rebuild would
serve the old outputs. This hook hashes those files too and moves the cache into a
sub-directory named after that hash: any change to them starts a fresh cache, an unchanged
tree keeps hitting the old one. Caches of older trees are deleted after a successful build.

Listed under ``hooks:`` in ``mkdocs.yml``.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.cache_key")

#: Files, relative to the directory of ``mkdocs.yml``, whose contents the executed pages depend on.
WATCHED_PATTERNS: tuple[str, ...] = ("transconv/**/*.py", "docs/results/**/*")

PLUGIN_NAME = "mkdocs-jupyter"
_BASE_ATTR = "_transconv_base_cache_dir"


def sources_digest(root: Path, patterns: tuple[str, ...] = WATCHED_PATTERNS) -> str:
    """Hash the names and contents of the files under ``root`` matching ``patterns``.

    Parameters
    ----------
    root : Path
        Directory the patterns are relative to (the one holding ``mkdocs.yml``).
    patterns : tuple of str
        ``Path.glob`` patterns; ``__pycache__`` directories are skipped.

    Returns
    -------
    str
        16 hex digits; equal trees give equal digests, any changed byte or renamed file
        changes it.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> before = sources_digest(root, ("*.txt",))
    >>> _ = (root / "a.txt").write_text("1")
    >>> before == sources_digest(root, ("*.txt",))
    False
    >>> len(before)
    16
    """
    files = {p for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    hasher = hashlib.sha256()
    for path in sorted(files):
        if "__pycache__" in path.parts:
            continue
        hasher.update(path.relative_to(root).as_posix().encode() + b"\0")
        hasher.update(path.read_bytes() + b"\0")
    return hasher.hexdigest()[:16]


def on_config(config):
    """Point mkdocs-jupyter's ``cache_dir`` at ``<cache_dir>/<sources digest>``."""
    plugin = config.plugins.get(PLUGIN_NAME)
    if plugin is None or not plugin.config.get("cache"):
        return config
    root = Path(config.config_file_path).resolve().parent
    if not hasattr(plugin, _BASE_ATTR):  # mkdocs serve may call on_config again
        setattr(plugin, _BASE_ATTR, root / plugin.config["cache_dir"])
    base = getattr(plugin, _BASE_ATTR)
    digest = sources_digest(root)
    plugin.config["cache_dir"] = str(base / digest)
    log.info("mkdocs-jupyter cache keyed on transconv/ and docs/results/: %s", digest)
    return config


def on_post_build(config):
    """Delete the caches of older source trees, keeping only the current one."""
    plugin = config.plugins.get(PLUGIN_NAME)
    if plugin is None or not hasattr(plugin, _BASE_ATTR):
        return
    current = Path(plugin.config["cache_dir"])
    for stale in getattr(plugin, _BASE_ATTR).glob("*"):
        if stale.is_dir() and stale != current:
            shutil.rmtree(stale, ignore_errors=True)
            log.info("Removed cache of an older source tree: %s", stale.name)
