"""The docs build as a library: execute the jupytext pages, cache their runs, render Markdown.

MkDocs reaches it through the thin adapters in ``hooks/``; ``python -m sitebuild`` uses it
without MkDocs::

    python -m sitebuild render docs/fcn.py --out /tmp/pages   # Markdown + figures
    python -m sitebuild i18n status --lang zh                  # what needs translating
    python -m sitebuild i18n stubs --lang zh docs/fcn.py       # write entries to translate

Modules: ``cache`` (what a run used, when it is stale), ``kernel_prelude`` (runs in the
kernel: records what the page uses, shows figures with their alt text), ``execute``
(nbclient), ``render`` (notebook to Markdown), ``i18n`` (translations keyed by the English),
``pages`` (all of it for one page), ``search_text`` (maths in the search index).
Not part of the ``transconv`` wheel: it builds this repository's site.
"""
