"""Translations kept beside the English pages, keyed by a hash of the English they translate.

``docs/i18n/<lang>/<page>.yml`` (``fcn.yml`` for ``docs/fcn.py``, ``api/shapes.yml`` for
``docs/api/shapes.md``, ``_nav.yml`` for the navigation's titles) maps a key to an entry::

    3f2a9c01b7e4:          # key(en): a hash of the English text
      en: |-               # the English text, as the stub wrote it (context for a reviewer)
        # Fully convolutional networks
      zh: |-               # the translation; empty means "not translated yet"
        # 全卷积网络

A unit of translation is a Markdown cell of a ``.py`` page, a block of a ``.md`` page (a
paragraph, a heading, a list, a table: text between blank lines), a figure's alt text, or a
title in the navigation. When the English changes, its key changes: the old entry no longer
matches anything (stale) and the new text has none (missing). A build reports both as
warnings, so the strict build fails until the translation is brought up to date.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: Blocks of a ``.md`` page that are not prose: code fences, mkdocstrings directives, bare tags.
_FENCE = re.compile(r"^\s*(```|~~~)")
#: A number in running text (0.914, 98, 1e-3): what the same sentence may say differently.
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_NOT_PROSE = re.compile(r"^(:::|```|~~~)|^(\s*</?[a-zA-Z][^>]*>\s*)+$")


def normalise(text: str) -> str:
    """``text`` without trailing spaces on its lines or blank lines around it."""
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).strip("\n")


_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])\n[ \t]*(?=[{_CJK}])")


def join_cjk_lines(text: str) -> str:
    """``text`` with line breaks between two Chinese characters removed.

    A browser shows a line break inside a paragraph as a space, which Chinese does not put
    between words; translators may still wrap their lines like the English source.

    Examples
    --------
    >>> join_cjk_lines("每个数字都是\\n  算出来的。\\n| 表格 |\\n`code`")
    '每个数字都是算出来的。\\n| 表格 |\\n`code`'
    """
    return _CJK_BREAK.sub("", text)


def key(text: str) -> str:
    """The key of an English text: 12 hex digits of the SHA-256 of its normalised form.

    Examples
    --------
    >>> key("# Title") == key("# Title  \\n\\n")
    True
    >>> len(key("x"))
    12
    """
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:12]


def split_blocks(markdown: str) -> list[str]:
    """A ``.md`` page cut at blank lines, keeping fenced code and indented continuations whole.

    ``"".join(split_blocks(md)) == md``: separators stay attached to the block before them.

    Examples
    --------
    >>> split_blocks("# A\\n\\ntext\\n\\n```\\nx\\n\\ny\\n```\\n- item\\n\\n    more\\n")
    ['# A\\n\\n', 'text\\n\\n', '```\\nx\\n\\ny\\n```\\n- item\\n\\n    more\\n']
    """
    blocks: list[str] = []
    current: list[str] = []
    fenced = False
    blank_run = False
    for line in markdown.splitlines(keepends=True):
        if _FENCE.match(line):
            fenced = not fenced
        blank = not line.strip() and not fenced
        starts_new = blank_run and not blank and not line[:1].isspace()
        if starts_new and current:
            blocks.append("".join(current))
            current = []
        current.append(line)
        blank_run = blank if not fenced else False
    if current:
        blocks.append("".join(current))
    return blocks


def is_prose(block: str) -> bool:
    """Whether a block of a ``.md`` page is text to translate.

    Examples
    --------
    >>> is_prose("Some words."), is_prose("::: transconv.shapes"), is_prose("</div>\\n")
    (True, False, False)
    """
    text = normalise(block)
    return bool(text) and not _NOT_PROSE.match(text)


def catalogue_path(docs_dir: Path, lang: str, page: str) -> Path:
    """Where the translations of ``page`` (docs-relative: ``fcn.py``, ``api/data.md``) live."""
    stem = page.rsplit(".", 1)[0] if page.endswith((".py", ".md")) else page
    return docs_dir / "i18n" / lang / f"{stem}.yml"


def load(path: Path) -> dict[str, dict[str, str]]:
    """The entries of a catalogue file (none when it does not exist)."""
    if not path.is_file():
        return {}
    # libyaml's loader when there is one: the pure-Python one was a tenth of the Chinese build
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}
    return {str(k): v for k, v in data.items()}


class _Literal(str):
    pass


yaml.SafeDumper.add_representer(
    _Literal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, "|")
)


def dump(path: Path, entries: dict[str, dict[str, str]], header: str) -> None:
    """Write a catalogue: one entry per unit; translations and multi-line texts as ``|-`` blocks."""
    body = {
        k: {
            name: _Literal(value) if "\n" in value or (name != "en" and value) else value
            for name, value in entry.items()
        }
        for k, entry in entries.items()
    }
    text = yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=1000)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {header}\n{text}", encoding="utf-8")


@dataclass
class Translator:
    """Translates the units of one page from its catalogue, noting what it could not.

    Calling it returns the translation of an English text, or the English text itself when
    there is no translation (which it records in ``missing``).

    Examples
    --------
    >>> t = Translator("zh", {key("Hello"): {"en": "Hello", "zh": "你好"}})
    >>> t("Hello"), t("Bye"), t.missing, t.stale()
    ('你好', 'Bye', ['Bye'], [])

    A text whose numbers alone changed (executed output) keeps its translation, renumbered:

    >>> t = Translator("zh", {key("IoU 0.91 after 10 epochs"): {
    ...     "en": "IoU 0.91 after 10 epochs", "zh": "10 轮后 IoU 为 0.91"}})
    >>> t("IoU 0.94 after 10 epochs"), t.missing, t.stale()
    ('10 轮后 IoU 为 0.94', [], [])
    """

    lang: str
    entries: dict[str, dict[str, str]]
    missing: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)

    def __call__(self, english: str) -> str:
        if not normalise(english):
            return english
        k = key(english)
        self.used.add(k)
        translation = (self.entries.get(k) or {}).get(self.lang) or ""
        if not translation.strip():
            translation = self._renumbered(english)
        if not translation.strip():
            self.missing.append(english)
            return english
        # keep the blank lines that separate this unit from the next one
        tail = english[len(english.rstrip("\n")) :]
        return join_cjk_lines(translation.rstrip("\n")) + tail

    def _renumbered(self, english: str) -> str:
        """The translation of a text that differs from a translated one only in its numbers.

        Executed output (a figure's alt text quoting a loss, a score) can differ in its last
        digits between machines; the words, and so the translation, stay the same. The entry
        whose English has this text's shape gives its translation, each of its numbers replaced
        by the one in the same place of this text; '' when no entry fits unambiguously.
        """
        shape, numbers = _NUMBER.sub("#", normalise(english)), _NUMBER.findall(english)
        for k, entry in self.entries.items():
            old, translation = entry.get("en", ""), entry.get(self.lang) or ""
            if not translation.strip() or _NUMBER.sub("#", normalise(old)) != shape:
                continue
            mapping: dict[str, str] = {}
            for before, after in zip(_NUMBER.findall(old), numbers, strict=True):
                if mapping.setdefault(before, after) != after:
                    break  # one number became two: which is which in the translation?
            else:
                changed = {b for b, a in mapping.items() if a != b}
                if changed <= set(_NUMBER.findall(translation)):
                    self.used.add(k)
                    return _NUMBER.sub(lambda m, to=mapping: to.get(m[0], m[0]), translation)
        return ""

    def stale(self) -> list[str]:
        """Keys of entries that translate no text the page has now."""
        return [k for k in self.entries if k not in self.used]

    def translate_blocks(self, markdown: str) -> str:
        """A ``.md`` page with each prose block translated."""
        return "".join(self(b) if is_prose(b) else b for b in split_blocks(markdown))


def stub_entries(
    units: list[str], entries: dict[str, dict[str, str]], lang: str
) -> dict[str, dict[str, str]]:
    """The catalogue a translator should edit: every unit in page order, translations kept.

    A new unit gets ``{lang}: ""`` and, when a stale entry resembles it (the English was
    edited), that entry's old English and translation as ``was_en`` / ``was_{lang}``; stale
    entries are dropped.

    Examples
    --------
    >>> old = {key("A cat."): {"en": "A cat.", "zh": "一只猫。"}}
    >>> stub_entries(["A black cat."], old, "zh")[key("A black cat.")]["was_zh"]
    '一只猫。'
    """
    keys = {key(unit) for unit in units}
    stale = {k: v for k, v in entries.items() if k not in keys}
    result: dict[str, dict[str, str]] = {}
    for unit in units:
        k = key(unit)
        if k in result:
            continue
        if k in entries:
            result[k] = entries[k]
            continue
        stub = {"en": normalise(unit), lang: ""}
        best = max(
            stale.values(),
            key=lambda e: difflib.SequenceMatcher(None, e.get("en", ""), unit).ratio(),
            default=None,
        )
        if best and difflib.SequenceMatcher(None, best.get("en", ""), unit).ratio() > 0.5:
            stub |= {"was_en": best.get("en", ""), f"was_{lang}": best.get(lang, "")}
        result[k] = stub
    return result


def glossary_terms(glossary: str) -> list[str]:
    """The Chinese terms of the glossary: the first column of its tables, ``/`` splitting names.

    Examples
    --------
    >>> glossary_terms("| 中文 | English |\\n| --- | --- |\\n| 棋盘效应 / 棋盘伪影 | x |")
    ['棋盘效应', '棋盘伪影']
    """
    terms = []
    for line in glossary.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or cells[0] in ("中文", "") or set(cells[0]) <= {"-"}:
            continue
        terms += [term.strip() for term in cells[0].split("/") if term.strip()]
    return terms
