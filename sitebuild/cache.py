"""The per-page cache: a page runs again exactly when something its last run used has changed.

A page's entry holds its executed notebook and the fingerprints of everything the run used,
recorded *while it ran* by [`kernel_prelude`](kernel_prelude.py), not guessed from its text:

- its own source;
- every ``transconv`` module in the kernel's ``sys.modules`` after the last cell (so modules
  imported through other modules, or loaded by ``transconv``'s lazy re-exports, count too);
- every file under the project root the kernel opened for reading or ``os.stat``-ed
  (``Path.is_file()``, ``exists()``), and every directory it listed, e.g. ``docs/results/``.
  A file that was looked for and missing is recorded as missing, so it appearing later counts.

Entries live in ``.cache/pages/``, one JSON file per page; an entry made by another
``kernel_prelude`` (which decides what outputs hold) is ignored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sitebuild import kernel_prelude

#: Recorded paths under the root are ignored inside these directories (build output, caches).
IGNORED_PARTS = frozenset({"__pycache__", ".git", ".cache", ".venv", "site", ".hypothesis"})


def digest(data: bytes) -> str:
    """16 hex digits of SHA-256.

    Examples
    --------
    >>> digest(b"")
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()[:16]


#: Bump when the entry layout changes: older entries are then ignored. 5: figures' phone
#: variants (outputs the kernel adds).
LAYOUT = 5
#: What an entry must have been made with: this layout and this ``kernel_prelude`` (it decides
#: what a page's outputs hold: an edit to it runs every page again).
FORMAT = f"{LAYOUT}:{digest(Path(kernel_prelude.__file__).read_bytes())}"


def fingerprint(path: Path) -> str | None:
    """What a dependency looks like now: a content digest, a listing digest, or None if missing.

    Examples
    --------
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> fingerprint(root / "absent.json") is None
    True
    >>> _ = (root / "a.json").write_text("{}")
    >>> fingerprint(root / "a.json") == digest(b"{}")
    True
    >>> fingerprint(root).startswith("dir:")
    True
    """
    try:
        if path.is_dir():
            names = sorted(p.name for p in path.iterdir() if p.name not in IGNORED_PARTS)
            return "dir:" + digest("\0".join(names).encode())
        if path.is_file():
            return digest(path.read_bytes())
    except OSError:  # unreadable or not a valid name: as good as missing
        pass
    return None


def relative_dependency(path: str, root: Path) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it is ignored build output.

    Examples
    --------
    >>> relative_dependency("/repo/docs/results/a.json", Path("/repo"))
    'docs/results/a.json'
    >>> relative_dependency("/repo/site/index.html", Path("/repo")) is None
    True
    """
    try:
        rel = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return Path(path).resolve().as_posix()  # e.g. transconv installed elsewhere
    if IGNORED_PARTS.intersection(rel.parts):
        return None
    return rel.as_posix()


@dataclass
class Entry:
    """One executed page: its notebook and the fingerprints of what it used."""

    source: str
    deps: dict[str, str | None]
    notebook: dict
    seconds: float

    def stale_reason(self, source: str, root: Path) -> str | None:
        """Why this entry can't be reused for a page whose source digest is ``source``."""
        if source != self.source:
            return "the page changed"
        for name, recorded in self.deps.items():
            path = Path(name) if Path(name).is_absolute() else root / name
            if fingerprint(path) != recorded:
                return f"{name} changed"
        return None


class PageCache:
    """Entries in ``directory``, one JSON file per page."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, page: str) -> Path:
        return self.directory / (page.replace("/", "__") + ".json")

    def load(self, page: str) -> Entry | None:
        try:
            data = json.loads(self.path(page).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.pop("format", None) != FORMAT:
            return None
        return Entry(**data)

    def store(self, page: str, entry: Entry) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(page)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps({"format": FORMAT, **entry.__dict__}), encoding="utf-8")
        tmp.replace(target)  # atomic: an interrupted build never leaves half an entry

    def keep_only(self, pages: set[str]) -> list[str]:
        """Delete entries of pages that no longer exist; return their file names."""
        keep = {self.path(page).name for page in pages}
        removed = []
        for stale in self.directory.glob("*.json"):
            if stale.name not in keep:
                stale.unlink()
                removed.append(stale.name)
        return removed
