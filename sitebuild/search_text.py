"""Maths as readable text for the search index: ``H_out = (H − 1)s``, not TeX source.

MathJax typesets ``\\(H_{out} = (H - 1)s\\)`` in the page, but the search plugin indexes the
HTML before any browser has seen it, so its result snippets would show the TeX.
[`rewrite_index`][sitebuild.search_text.rewrite_index] rewrites every maths span of a written
``search_index.json`` as plain text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
SYMBOLS = {
    "times": "×",
    "cdot": "·",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "to": "→",
    "rightarrow": "→",
    "in": "∈",
    "infty": "∞",
    "sum": "Σ",
    "prod": "∏",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
    "ldots": "…",
    "dots": "…",
    "cdots": "⋯",
    "pm": "±",
    "star": "⋆",
    "ast": "∗",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "theta": "θ",
    "lambda": "λ",
    "mu": "μ",
    "pi": "π",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "omega": "ω",
    "Delta": "Δ",
    "Sigma": "Σ",
}
SPACING = re.compile(r"\\(?:left|right|big|Big|bigl|bigr|displaystyle)\b|\\[,;:! ]|\\q?quad\b")
FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
WRAPPER = re.compile(r"\\(?:text|mathrm|mathbf|mathit|mathcal|operatorname|boldsymbol)\{([^{}]*)\}")
COMMAND = re.compile(r"\\([A-Za-z]+)")


def tex_to_text(tex: str) -> str:
    """A plain-text reading of a TeX formula, for search snippets.

    Examples
    --------
    >>> tex_to_text(r"H_{out} = (H - 1) \\times s + \\frac{k}{2}")
    'H_out = (H - 1) × s + k/2'
    >>> tex_to_text(r"\\left\\lfloor \\frac{n + 2p}{s} \\right\\rfloor")
    '⌊ (n + 2p)/s ⌋'
    """
    text = SPACING.sub(" ", tex)
    while True:
        new = FRAC.sub(lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", text)
        new = WRAPPER.sub(r"\1", new)
        if new == text:
            break
        text = new
    text = COMMAND.sub(lambda m: SYMBOLS.get(m.group(1), m.group(1)), text)
    text = text.replace("{", "").replace("}", "")
    return " ".join(text.split())


def _group(part: str) -> str:
    part = part.strip()
    return part if re.fullmatch(r"[\w.]+", part) else f"({part})"


def plain_maths(text: str) -> str:
    """Every ``\\(...\\)`` and ``\\[...\\]`` in ``text`` read as plain text.

    Examples
    --------
    >>> plain_maths(r"stride \\(s\\) and \\[k = 2s\\]")
    'stride s and k = 2s'
    """
    return MATH.sub(lambda m: tex_to_text(m.group(1) or m.group(2)), text)


def rewrite_index(index: Path) -> None:
    """Rewrite the maths in the titles and texts of a search index file as plain text."""
    if not index.is_file():
        return
    data = json.loads(index.read_text(encoding="utf-8"))
    for doc in data.get("docs", []):
        for key in ("title", "text"):
            if key in doc:
                doc[key] = plain_maths(doc[key])
    index.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), "utf-8")
