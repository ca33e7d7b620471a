"""The glossary's links: every row points at pages that use the row's English term.

A row reads ``| 中文 | English | [Page](page.py), ... |``. Its *term* is the English cell with
parenthesised asides and inline code removed, cut at the first ``,`` or `` / ``: "dilated
(atrous) convolution, dilation" is about "dilated convolution". Each linked page's source must
contain the term (case-insensitive, across line breaks, a plural ``s`` allowed, words joined by a
space, ``-`` or ``_`` as in ``confusion_matrix``), the abbreviation the row gives in capitals,
such as (IoU), or the code name it gives in backticks, such as `cross_entropy`; a link to a
page that never says the word fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROW = re.compile(r"^\|\s*(?P<zh>[^|]+?)\s*\|\s*(?P<en>[^|]+?)\s*\|\s*(?P<links>[^|]+?)\s*\|$")
LINK = re.compile(r"\[[^\]]+\]\(([^)#]+)(?:#[^)]*)?\)")


def glossary_rows() -> list[tuple[str, list[str], list[str]]]:
    """(Chinese, English term and abbreviations, linked pages) for every row of the glossary."""
    rows = []
    for line in (DOCS / "glossary.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line.strip())
        if not match or match["zh"] in ("中文", "---"):
            continue
        names = [term_of(match["en"]), *abbreviations(match["en"]), *code_names(match["en"])]
        rows.append((match["zh"], names, LINK.findall(match["links"])))
    return rows


def term_of(english: str) -> str:
    """The term a row defines: its English cell without asides, up to the first alternative."""
    text = re.sub(r"\([^)]*\)|`[^`]*`", " ", english)
    text = re.split(r",| / ", text)[0]
    return " ".join(text.split()).lower()


def abbreviations(english: str) -> list[str]:
    """Abbreviations a row gives in parentheses: "(IoU)", "(mIoU)", "(FCN)"."""
    return [a.lower() for a in re.findall(r"\(([a-z]*[A-Z][A-Za-z]*[A-Z])\)", english)]


def code_names(english: str) -> list[str]:
    """Code names a row gives in backticks: `cross_entropy`, `output_padding`."""
    return [name.lower() for name in re.findall(r"`([A-Za-z_][\w.]*)`", english)]


def page_text(name: str) -> str:
    """A page's source as running prose: comment markers dropped, whitespace collapsed."""
    lines = (DOCS / name).read_text(encoding="utf-8").splitlines()
    text = " ".join(line.removeprefix("#").strip() for line in lines)
    return " ".join(text.split()).lower()


def uses(text: str, term: str) -> bool:
    """Whether ``term`` occurs as words (space, hyphen or underscore between, plural allowed)."""
    words = [re.escape(word) for word in re.split(r"[\s_-]+", term)]
    pattern = r"(?<![a-z0-9])" + r"[\s_-]+".join(words) + r"(?:s|es)?(?![a-z0-9])"
    return re.search(pattern, text) is not None


def test_rows_are_read():
    rows = glossary_rows()
    assert len(rows) >= 30, rows
    assert ("反卷积", ["deconvolution"], ["transposed_convolution.py", "checkerboard.py"]) in rows
    assert ("交并比", ["intersection over union", "iou"], ["training.py"]) in rows
    assert all(links for _, _, links in rows), [row for row in rows if not row[2]]


def test_term_of_drops_asides_and_alternatives():
    assert term_of("dilated (atrous) convolution, dilation") == "dilated convolution"
    assert term_of("pixel shuffle / sub-pixel convolution") == "pixel shuffle"
    assert term_of("output padding (`output_padding`)") == "output padding"


def test_code_names_are_backticked_identifiers():
    assert code_names("cross-entropy loss (`cross_entropy`)") == ["cross_entropy"]
    assert code_names("output padding (`output_padding`)") == ["output_padding"]
    assert code_names("kernel") == []


def test_uses_matches_words_not_fragments():
    assert uses("two receptive fields", "receptive field")
    assert uses("the cross correlation", "cross-correlation")
    assert not uses("deconvolutional", "deconvolution")
    assert uses("f.confusion_matrix(", "confusion matrix")
    assert not uses("a kernel", "channel")
    assert not uses("miou", "iou")


def test_abbreviations_are_capitalised_asides():
    assert abbreviations("mean IoU (mIoU)") == ["miou"]
    assert abbreviations("fully convolutional network (FCN)") == ["fcn"]
    assert abbreviations("class / label (21 VOC classes, 255 = ignored border)") == []


@pytest.mark.parametrize(("zh", "names", "links"), glossary_rows(), ids=lambda v: str(v))
def test_every_linked_page_uses_the_term(zh, names, links):
    texts = {page: page_text(page) for page in links}
    missing = [page for page, text in texts.items() if not any(uses(text, n) for n in names)]
    assert not missing, f"row {zh} ({names[0]!r}) links to pages that never say it: {missing}"
