"""What the docs build runs inside each page's kernel: before the page, and after it.

This is the one place that decides how a page's run is observed and how its figures reach the
page. ``sitebuild.execute`` runs this file's source in the kernel in a namespace of its own
(so nothing here leaks into the page), calls ``start`` before the first cell and prints
``report`` after the last; both cells are removed from the executed notebook.

The story of a figure, from the page to the site:

1. A ``transconv.viz`` function returns a matplotlib ``Figure`` carrying its alt text (the
   attribute ``transconv_alt``, see ``transconv.viz.display``), or ``show(fig)`` wraps it as an
   ``<img alt>`` HTML output. Figures made with matplotlib directly may carry one too.
2. In the build's kernel, ``show_figures`` makes *every* ``Figure`` a cell ends in display as a
   PNG whose output metadata carries that alt text, whether or not the page imported pyplot
   and whatever ``MPLBACKEND`` says. (The kernel also runs with matplotlib's inline backend, so
   a page that draws with ``plt.plot`` and never returns the figure still shows it.)
3. ``sitebuild.render`` writes each image, PNG or ``<img src="data:...">``, to a file beside the
   page and keeps its alt text.
"""

from __future__ import annotations

import json
import os
import sys

#: The matplotlib backend the build's kernels start with.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
#: Where a figure keeps its alt text (the attribute ``transconv.viz`` sets).
ALT_ATTRIBUTE = "transconv_alt"
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def record_usage(root: str) -> dict[str, set[str]]:
    """From now on, note every path under ``root`` this process reads, stats or lists.

    Returns the sets it fills: ``{"read": ..., "stat": ..., "list": ...}`` of absolute paths.
    Stats and listings made by the import system (probing ``sys.path``, torch looking for CUDA
    libraries) are not noted: only what the page itself looked at.
    """
    seen: dict[str, set[str]] = {"read": set(), "stat": set(), "list": set()}

    def note(kind: str, path) -> None:
        try:
            path = os.path.abspath(os.fsdecode(os.fspath(path)))
        except TypeError:  # a file descriptor
            return
        # IPython asks whether a Markdown or HTML string is a file name: not a real path
        if not path.startswith(root) or "\n" in path or len(os.path.basename(path)) > 255:
            return
        if kind != "read" and _during_import():
            return
        seen[kind].add(path)

    def audit(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None or isinstance(path, int):
                return
            if (mode and any(c in mode for c in "wax+")) or (mode is None and flags & _WRITES):
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


def _during_import() -> bool:
    frame = sys._getframe(2)  # from stat or audit (_during_import <- note <- there) outwards
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def show_figures() -> None:
    """Make a ``Figure`` that ends a cell display as a PNG with its alt text in the metadata."""
    from IPython import get_ipython
    from IPython.core.pylabtools import print_figure

    def png(fig) -> str:
        return print_figure(fig, fmt="png", bbox_inches="tight", base64=True)

    def alt(fig, include=None, exclude=None):
        text = getattr(fig, ALT_ATTRIBUTE, None)
        return ({}, {"image/png": {"alt": text}}) if text else None

    formatter = get_ipython().display_formatter
    formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", png)
    formatter.mimebundle_formatter.for_type_by_name("matplotlib.figure", "Figure", alt)


def start(root: str) -> dict[str, set[str]]:
    """Everything the build needs before a page's first cell; returns what ``report`` reads."""
    show_figures()
    return record_usage(root)


def report(seen: dict[str, set[str]]) -> str:
    """JSON: the ``transconv`` modules loaded and the paths read, stat-ed and listed."""
    modules = sorted(
        module.__file__
        for name, module in list(sys.modules.items())
        if (name == "transconv" or name.startswith("transconv."))
        and getattr(module, "__file__", None)
    )
    return json.dumps({"modules": modules, **{kind: sorted(p) for kind, p in seen.items()}})
