"""Execute a jupytext page in a Jupyter kernel, or reuse its last run from the cache.

The kernel runs with the project root as working directory and matplotlib's inline backend,
with ``kernel_prelude.py`` observing what the page uses; any exception in a cell is a
[`PageError`][sitebuild.execute.PageError] naming the page.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from sitebuild import kernel_prelude
from sitebuild.cache import Entry, PageCache, digest, fingerprint, relative_dependency

log = logging.getLogger("sitebuild")

PRELUDE = Path(kernel_prelude.__file__)


class PageError(RuntimeError):
    """A page could not be executed or reused: the message names the page and says why."""


def _prelude_cell(root: Path) -> str:
    # the prelude runs in a namespace of its own: the page sees only `_sitebuild`
    return (
        "_sitebuild = {'__name__': 'sitebuild_prelude'}\n"
        f"exec(compile({PRELUDE.read_text()!r}, {str(PRELUDE)!r}, 'exec'), _sitebuild)\n"
        f"_sitebuild['seen'] = _sitebuild['start']({str(root) + os.sep!r})"
    )


REPORT_CELL = "print(_sitebuild['report'](_sitebuild['seen']))"


def execute(source: Path, root: Path, *, kernel_name: str = "python3", timeout: int = 900):
    """Execute the jupytext page ``source`` with ``root`` as working directory.

    Returns the executed notebook (without the prelude and report cells) and the dependencies,
    as ``{path relative to root: fingerprint}``.
    """
    nb = jupytext.read(source)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_prelude_cell(root)))
    nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL))
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
        env = {
            **os.environ,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": kernel_prelude.INLINE_BACKEND,
        }
        try:
            client.execute(env=env)
        except CellExecutionError as err:
            raise PageError(f"{source.name}: a cell raised\n{err}") from None
    report = json.loads("".join(o.get("text", "") for o in nb.cells[-1].outputs))
    nb.cells = nb.cells[1:-1]
    itself = source.resolve().as_posix()  # the source is keyed separately
    deps: dict[str, str | None] = {}
    for kind in ("modules", "read", "stat", "list"):
        for path in report[kind]:
            rel = relative_dependency(path, root)
            if rel is not None and Path(path).resolve().as_posix() != itself:
                deps[rel] = fingerprint(Path(path))
    return nb, dict(sorted(deps.items()))


def run_or_reuse(
    cache: PageCache, page: str, source: Path, root: Path, *, execute_stale: bool = True
) -> tuple[Entry, bool]:
    """The page's entry, and whether it was executed now (else nothing it used changed).

    With ``execute_stale=False`` (a translated edition, which shows the English build's
    outputs) a missing or stale entry is a [`PageError`][sitebuild.execute.PageError].
    """
    source_digest = digest(source.read_bytes())
    entry = cache.load(page)
    reason = "not cached yet" if entry is None else entry.stale_reason(source_digest, root)
    if reason is None:
        log.debug("%s: from the cache", page)
        return entry, False
    if not execute_stale:
        raise PageError(
            f"{page}: no up-to-date run in {cache.directory} ({reason}); "
            "build the English site first (mkdocs build), which executes it"
        )
    start = time.perf_counter()
    nb, deps = execute(source, root)
    entry = Entry(source_digest, deps, nbformat.from_dict(nb), time.perf_counter() - start)
    cache.store(page, entry)
    log.info("Executed %s in %.1f s (%s)", page, entry.seconds, reason)
    return entry, True
