"""Execute a notebook page, recording what it used; keep it until something it used changes.

A page's cache entry holds its executed notebook and the fingerprints of everything the run
depended on, recorded *while it ran* (not guessed from its text):

- its own source;
- every ``transconv`` module in the kernel's ``sys.modules`` after the last cell (so modules
  imported through other modules, or loaded by ``transconv``'s lazy re-exports, count too);
- every file under the project root the kernel opened for reading or ``os.stat``-ed
  (``Path.is_file()``, ``exists()``), and every directory it listed, e.g. ``docs/results/``.
  A file that was looked for and missing is recorded as missing, so it appearing later counts.

The page is executed again exactly when one of those fingerprints differs. Used by
``hooks/notebooks.py``; the entries live in ``.cache/pages/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

#: Bump when the entry layout changes: older entries are then ignored.
FORMAT = 4
#: Recorded paths under the root are ignored inside these directories (build output, caches).
IGNORED_PARTS = frozenset({"__pycache__", ".git", ".cache", ".venv", "site", ".hypothesis"})

# Runs first in the kernel (and is removed from the page): records reads, stats and listings.
_RECORD = r"""
def _transconv_record(root):
    import os, sys
    seen = {"read": set(), "stat": set(), "list": set()}
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND

    def note(kind, path):
        try:
            path = os.path.abspath(os.fsdecode(os.fspath(path)))
        except TypeError:  # a file descriptor
            return
        # IPython asks whether a Markdown or HTML string is a file name: not a real path
        if not path.startswith(root) or "\n" in path or len(os.path.basename(path)) > 255:
            return
        if kind != "read" and during_import():
            return  # the import system probing sys.path, torch looking for CUDA libraries
        seen[kind].add(path)

    def during_import():
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                return True
            frame = frame.f_back
        return False

    def audit(event, args):
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            if (mode and any(c in mode for c in "wax+")) or (mode is None and flags & writes):
                return
            note("read", path)
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            note("list", args[0])

    real_stat = os.stat

    def stat(path, *args, **kwargs):
        note("stat", path)
        return real_stat(path, *args, **kwargs)

    os.stat = stat
    sys.addaudithook(audit)
    return seen

_transconv_seen = _transconv_record(ROOT)
del _transconv_record
"""

# Also in the first cell: a cell ending in a matplotlib Figure shows it as a PNG even when the
# page never imported pyplot (transconv.viz draws without it, so the inline backend never starts),
# with the Figure's alt text (transconv.viz puts it in the attribute `transconv_alt`) in the
# output's metadata, where hooks/notebooks.py reads it.
_FIGURE_ALT = r"""
def _transconv_figures():
    from IPython.core.pylabtools import print_figure

    def png(fig):
        return print_figure(fig, fmt="png", bbox_inches="tight", base64=True)

    def alt(fig, include=None, exclude=None):
        text = getattr(fig, "transconv_alt", None)
        return ({}, {"image/png": {"alt": text}}) if text else None

    formatter = get_ipython().display_formatter
    formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", png)
    formatter.mimebundle_formatter.for_type_by_name("matplotlib.figure", "Figure", alt)

_transconv_figures()
del _transconv_figures
"""

# Runs last (and is removed from the page): prints what the run used.
_REPORT = """\
import json as _json, sys as _sys
print(_json.dumps({
    "modules": sorted(m.__file__ for name, m in list(_sys.modules.items())
                      if (name == "transconv" or name.startswith("transconv."))
                      and getattr(m, "__file__", None)),
    **{kind: sorted(paths) for kind, paths in _transconv_seen.items()},
}))
"""


def digest(data: bytes) -> str:
    """16 hex digits of SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint(path: Path) -> str | None:
    """What a dependency looks like now: a content digest, a listing digest, or None if missing.

    Examples
    --------
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


def _relative(path: str, root: Path) -> str | None:
    """``path`` relative to ``root`` (POSIX), or None when it is ignored build output."""
    try:
        rel = Path(path).resolve().relative_to(root)
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


class PageError(RuntimeError):
    """A cell of a page raised: the message names the page and shows the traceback."""


def execute(source: Path, root: Path, *, kernel_name: str = "python3", timeout: int = 900):
    """Execute the jupytext page ``source`` with ``root`` as working directory.

    Returns the executed notebook (without the recording cells) and the dependencies, as
    ``{path relative to root: fingerprint}``.
    """
    nb = jupytext.read(source)
    prelude = _RECORD.replace("ROOT", repr(str(root) + os.sep)) + _FIGURE_ALT
    nb.cells.insert(0, nbformat.v4.new_code_cell(prelude))
    nb.cells.append(nbformat.v4.new_code_cell(_REPORT))
    with tempfile.TemporaryDirectory(prefix="transconv-kernel-") as sockets:
        # IPC transport (Unix sockets in a private folder): no TCP port, no warning about it
        client = NotebookClient(
            nb,
            kernel_name=kernel_name,
            timeout=timeout,
            allow_errors=False,
            resources={"metadata": {"path": str(root)}},
        )
        client.km = client.kernel_manager_class(
            kernel_name=kernel_name, transport="ipc", ip=os.path.join(sockets, "kernel")
        )
        # no bytecode written into transconv/: `mkdocs serve` watches it and would rebuild again
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        try:
            client.execute(env=env)
        except CellExecutionError as err:
            raise PageError(f"{source.name}: a cell raised\n{err}") from None
    report = json.loads("".join(o.get("text", "") for o in nb.cells[-1].outputs))
    nb.cells = nb.cells[1:-1]
    paths = {source.resolve().as_posix()}  # the source is keyed separately
    deps: dict[str, str | None] = {}
    for kind in ("modules", "read", "stat", "list"):
        for path in report[kind]:
            rel = _relative(path, root)
            if rel is not None and Path(path).resolve().as_posix() not in paths:
                deps[rel] = fingerprint(Path(path))
    return nb, dict(sorted(deps.items()))


def run_or_reuse(cache: PageCache, page: str, source: Path, root: Path, log) -> tuple[Entry, bool]:
    """The page's entry, and whether it was executed now (else nothing it used changed)."""
    source_digest = digest(source.read_bytes())
    entry = cache.load(page)
    reason = "not cached yet" if entry is None else entry.stale_reason(source_digest, root)
    if reason is None:
        log.debug("%s: from the cache", page)
        return entry, False
    start = time.perf_counter()
    nb, deps = execute(source, root)
    entry = Entry(source_digest, deps, nbformat.from_dict(nb), time.perf_counter() - start)
    cache.store(page, entry)
    log.info("Executed %s in %.1f s (%s)", page, entry.seconds, reason)
    return entry, True
