"""mkdocs hook: drop Sphinx role prefixes that mkdocstrings leaves in rendered docstrings.

The package's docstrings use Sphinx roles (``:func:`name```); mkdocstrings renders the name as
code but keeps the role as text (``:func:name``). This removes the prefix in front of code.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:func|mod|data|class|meth|attr|exc|obj):(?=<code>)")


def strip_roles(html: str) -> str:
    """Remove Sphinx role prefixes in front of ``<code>`` elements.

    Examples
    --------
    >>> strip_roles("see :func:<code>predict</code> and :mod:<code>transconv.data</code>")
    'see <code>predict</code> and <code>transconv.data</code>'
    """
    return ROLE.sub("", html)


def on_page_content(html, page, config, files):
    """Strip the roles from every page's HTML."""
    return strip_roles(html)
