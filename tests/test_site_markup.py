"""The built site shows no leaked markup: every page's text, as a reader sees it, is scanned.

Sphinx roles and directives (``:func:``, ``.. math::``), ``~transconv.`` prefixes, TeX outside
the maths that MathJax typesets (``$...$``, ``\\frac``) and nbconvert's placeholder alt text are
what docstrings and pages leak when they are written for another renderer. The scan reads the
built HTML (``TRANSCONV_SITE_DIR`` or a fresh strict build, see ``tests/browser.py``) and lists
every page and snippet where markup leaked.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

#: Elements whose text is not prose: code is shown verbatim, maths is typeset by MathJax.
SKIPPED_TAGS = {"pre", "code", "script", "style", "svg", "kbd", "samp"}
SKIPPED_CLASSES = {"arithmatex", "headerlink"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

LEAKS = {
    "Sphinx directive": re.compile(r"\.\. (?:math|code-block|note|warning)::"),
    "Sphinx role": re.compile(r":(?:math|func|mod|class|data|meth|attr|exc|obj|ref):`?"),
    "~transconv. prefix": re.compile(r"~transconv\."),
    "raw $...$ maths": re.compile(r"(?<![\w$])\$[^\s$][^$\n]{0,200}?\$(?![\w$])"),
    "raw TeX command": re.compile(r"\\(?:frac|times|cdot|lfloor|rfloor|lceil|rceil|mathrm)\b"),
    "placeholder alt text": re.compile(r"No description has been provided for this image"),
}


class ProseText(HTMLParser):
    """Text of a page outside code, maths and scripts, plus every image's alt text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content skipped?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.parts.append(f" [img alt={attributes.get('alt')!r}] ")
        if tag in VOID_TAGS:
            return
        classes = set((attributes.get("class") or "").split())
        skipped = tag in SKIPPED_TAGS or bool(classes & SKIPPED_CLASSES)
        self._stack.append(skipped or (bool(self._stack) and self._stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.parts.append(data)

    @classmethod
    def of(cls, html: str) -> str:
        parser = cls()
        parser.feed(html)
        return " ".join("".join(parser.parts).split())


def leaks_in(text: str) -> list[str]:
    """``kind: …snippet…`` for every leak in ``text``."""
    found = []
    for kind, pattern in LEAKS.items():
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 40), match.end() + 40
            found.append(f"{kind}: …{text[start:end]}…")
    return found


def test_the_scanner_finds_each_kind_of_leak() -> None:
    html = (
        "<p>see :func:<code>predict</code> and ~transconv.shapes, $H_{out}$ and \\frac{a}{b}</p>"
        "<div>.. math::</div><img alt='No description has been provided for this image'>"
        "<pre>$ not maths in code $</pre><span class='arithmatex'>\\(\\frac{a}{b}\\)</span>"
        "<p>costs $5 and $6</p>"
    )
    kinds = {leak.split(":")[0] for leak in leaks_in(ProseText.of(html))}
    assert kinds == set(LEAKS)
    assert leaks_in(ProseText.of("<p>x = 1</p><pre>$x$ \\frac</pre>")) == []


def test_no_page_leaks_markup(site_dir: Path) -> None:
    report = []
    for page in sorted(site_dir.rglob("*.html")):
        content = page.read_text(encoding="utf-8")
        main = re.search(r'<article class="md-content__inner.*?</article>', content, re.DOTALL)
        for leak in leaks_in(ProseText.of(main.group(0) if main else content)):
            report.append(f"{page.relative_to(site_dir)}: {leak}")
    assert not report, f"{len(report)} leaks of markup:\n" + "\n".join(report)


SEARCH_NOISE = {
    "TeX delimiters": re.compile(r"\\[(\[]"),
    "permalink sign": re.compile("¶"),
    "copy-button text": re.compile(r"Copied!"),
    "notebook prompt": re.compile(r"(?:In|Out) ?\[\d*\]:"),
}


def test_search_snippets_are_clean_text(site_dir: Path) -> None:
    index = json.loads((site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))
    report = []
    for doc in index["docs"]:
        text = f"{doc['title']} {doc['text']}"
        for kind, pattern in {**SEARCH_NOISE, **LEAKS}.items():
            for match in pattern.finditer(text):
                snippet = " ".join(text[max(0, match.start() - 40) : match.end() + 40].split())
                report.append(f"{doc['location']}: {kind}: …{snippet}…")
    assert not report, f"{len(report)} search entries with markup or noise:\n" + "\n".join(report)


#: Per executed page, embedded images not counted (API pages grow with the package's surface).
MAX_PAGE_BYTES = 150_000
DATA_URI = re.compile(rb"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]+")


def test_pages_are_light_and_without_prompts(site_dir: Path) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    executed = {f"{p.relative_to(docs).with_suffix('')}/index.html" for p in docs.rglob("*.py")}
    executed |= {f"zh/{page}" for page in executed}  # the Chinese edition's too
    heavy, prompts = [], []
    for page in sorted(site_dir.rglob("index.html")):
        html = page.read_bytes()
        size = len(DATA_URI.sub(b"", html))  # embedded images do not count
        if page.relative_to(site_dir).as_posix() in executed and size > MAX_PAGE_BYTES:
            heavy.append(f"{page.relative_to(site_dir)}: {size:,} bytes")
        if re.search(rb"jp-InputPrompt|In&nbsp;\[|In \[\d*\]:", html):
            prompts.append(str(page.relative_to(site_dir)))
    assert not heavy, f"pages over {MAX_PAGE_BYTES:,} bytes of HTML: {heavy}"
    assert not prompts, f"notebook prompts on {prompts}"


def test_executed_pages_offer_their_notebook(site_dir: Path) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    missing = []
    for source in sorted(docs.rglob("*.py")):
        page = site_dir / source.relative_to(docs).with_suffix("") / "index.html"
        link = re.search(r'<a [^>]*class="nb-download"[^>]*href="([^"]+\.ipynb)"', page.read_text())
        if not link or '"cell_type"' not in (page.parent / link.group(1)).read_text():
            missing.append(str(source.relative_to(docs)))
    assert not missing, f"executed pages without a notebook to download: {missing}"


#: MathJax's \text{} is text mode: "\_" there is drawn as a backslash and an underscore.
ESCAPE_IN_TEXT = re.compile(r"\\text\{[^}]*\\_")


def test_maths_text_blocks_hold_no_tex_escapes(site_dir: Path) -> None:
    report = []
    for page in sorted(site_dir.rglob("*.html")):
        for match in ESCAPE_IN_TEXT.finditer(page.read_text(encoding="utf-8")):
            report.append(f"{page.relative_to(site_dir)}: {match.group(0)}")
    assert not report, "write \\mathrm{a\\_b} instead of \\text{a\\_b}:\n" + "\n".join(report)


ARTICLE = re.compile(r'<article class="md-content__inner.*?</article>', re.DOTALL)
PRE = re.compile(r"<pre.*?</pre>", re.DOTALL)
IMG_SRC = re.compile(r'<img [^>]*src="([^"]+)"')


def _chinese(site_dir: Path) -> Path:
    zh = site_dir / "zh"
    assert (zh / "index.html").is_file(), f"no Chinese edition in {zh}: build mkdocs.zh.yml"
    return zh


def test_chinese_pages_show_exactly_the_english_outputs(site_dir: Path) -> None:
    docs = Path(__file__).resolve().parents[1] / "docs"
    zh, report = _chinese(site_dir), []
    for source in sorted(docs.glob("*.py")):
        page = source.stem + "/index.html"
        en_html, zh_html = (ARTICLE.search((d / page).read_text()).group(0) for d in (site_dir, zh))
        if PRE.findall(en_html) != PRE.findall(zh_html):
            report.append(f"{page}: code or printed output differs")
        sources = IMG_SRC.findall(en_html)
        if sources != IMG_SRC.findall(zh_html):
            report.append(f"{page}: the figures differ")
        for src in sources:
            en_file, zh_file = (d / source.stem / src for d in (site_dir, zh))
            if en_file.read_bytes() != zh_file.read_bytes():
                report.append(f"{page}: {src} differs")
    assert not report, "the Chinese edition must reuse the English outputs:\n" + "\n".join(report)


def test_language_switch_goes_to_the_same_page(site_dir: Path) -> None:
    zh, wrong = _chinese(site_dir), []
    for page in sorted(site_dir.rglob("index.html")):
        rel = page.relative_to(zh if zh in page.parents else site_dir)
        links = dict(
            (lang, href)
            for href, lang in re.findall(r'<a href="([^"]*)" hreflang="(\w+)"', page.read_text())
        )
        expected = {"en": site_dir / rel, "zh": zh / rel}
        for lang, target in expected.items():
            href = links.get(lang)
            got = (page.parent / href / "index.html").resolve() if href is not None else None
            if got != target.resolve():
                wrong.append(f"{page.relative_to(site_dir)} -> {lang}: {href}")
    assert not wrong, "language links that miss the same page:\n" + "\n".join(wrong)
