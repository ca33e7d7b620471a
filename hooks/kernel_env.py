"""mkdocs hook: run the executed pages' kernels with matplotlib's inline backend.

``make`` exports ``MPLBACKEND=Agg`` (right for tests and scripts), and the Jupyter kernels that
hooks/notebooks.py starts inherit it. Under Agg a cell ending in a ``Figure`` renders as the text
``<Figure size ...>`` instead of an image, so this hook points the kernels at the inline backend,
which is what ipykernel picks when ``MPLBACKEND`` is unset.

Listed under ``hooks:`` in ``mkdocs.yml``.
"""

from __future__ import annotations

import os

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def on_config(config):
    """Set ``MPLBACKEND`` for the kernels started by this build."""
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    return config
