"""The Chinese edition says one thing one way: the glossary's words, never a banned variant.

The side files ``docs/i18n/zh/**/*.yml`` hold each English unit (``en``) beside its
translation (``zh``); the explorer's Chinese strings are the ``zh`` table of
``docs/javascripts/explorer-strings.js``. The checks:

1. **Glossary terms, unit by unit.** For every glossary row (read by ``tests/test_glossary.py``)
   whose English term a unit's prose uses, the unit's translation contains one of the row's
   Chinese names: "stamps" needs 印记 or 印, "size" needs 大小. The prose is the English without
   what stays English in the translation (inline code, maths, link targets, HTML, anchors and
   ``name=value`` or ``snake_case`` words such as ``stride=2``). A (file, term) pair in
   ``TERM_EXCEPTIONS`` is exempt, with the reason.
2. **Phrases**: a unit that says "when this page is built" says 本页构建时; one that names the
   Explorer page calls it 交互演示.
3. **Banned variants**: no translation and no string of the explorer's ``zh`` table uses a word
   the review replaced (散布 for scatter, 尺寸 for size, 探索器 for the Explorer page …).
4. **Keys**: every entry's key is the hash of the ``en`` beside it, so an edited translation
   kept its key and the ``en`` a reviewer reads is the English the page has.

A side file in ``NOT_REVIEWED`` (translations still being written when this test was made) is
skipped, with the reason; every other side file, a new one included, is checked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from sitebuild.i18n import key
from tests.test_glossary import glossary_rows, uses

DOCS = Path(__file__).resolve().parents[1] / "docs"
ZH = DOCS / "i18n" / "zh"
STRINGS = DOCS / "javascripts" / "explorer-strings.js"

#: Side files not yet reviewed for the glossary's words: skipped here until they are.
NOT_REVIEWED: dict[str, str] = {}

#: (side file, English term) pairs where the English word means something else.
TERM_EXCEPTIONS = {
    ("gpu_runner.yml", "kernel"): "GPU kernels (compiled CUDA code, 内核), not convolution kernels",
}

#: An English phrase -> (a regular expression over a unit's prose, the Chinese it must become).
PHRASES = {
    "when this page is built": (r"when this page is built", "本页构建时"),
    "explorer": (r"(?<![\w/.])explorer(?![\w/.])", "交互演示"),
}

#: Words the review replaced: pattern -> (the word to use, what it translates).
BANNED = {
    r"散布": ("散射", "scatter"),
    r"汇集": ("聚集", "gather"),
    r"卷积核副本": ("印记", "stamp: an input pixel's scaled kernel in the output"),
    r"(?<![覆涵掩遮])盖(?!子)": ("印", "to stamp"),
    r"尺寸": ("大小", "size: 输入大小, 输出大小, 卷积核大小"),
    r"探索器": ("交互演示", "the Explorer page"),
    r"膨胀\s*(?:为|是)?\s*(?:\d|\{(?!#))": (
        "膨胀率",
        "a value of dilation: 膨胀率为 1, 小于膨胀率 {d}",
    ),
}

_KEEP_ENGLISH = re.compile(
    r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)"  # code, maths
    r"|\]\([^)]*\)|\]\[[^\]]*\]|<[^>]*>|\{#[^}]*\}"  # link targets, HTML, anchors
    r"|\S*[=_]\S*",  # stride=2, kernel_size, conv_transpose2d
    re.S,
)


def prose(english: str) -> str:
    """The words of an English unit that its translation translates, lowercased."""
    text = re.sub(r"[\[\]*]", " ", _KEEP_ENGLISH.sub(" ", english))
    return " ".join(text.split()).lower()


def side_files() -> list[str]:
    return sorted(p.relative_to(ZH).as_posix() for p in ZH.rglob("*.yml"))


def units(name: str) -> dict[str, dict[str, str]]:
    return {str(k): v for k, v in (yaml.safe_load((ZH / name).read_text("utf-8")) or {}).items()}


def translated(name: str) -> list[tuple[str, str, str]]:
    """(key, English, Chinese) of every unit of a side file that has a translation."""
    return [(k, e["en"], e["zh"]) for k, e in units(name).items() if (e.get("zh") or "").strip()]


def term_misses(english: str, chinese: str) -> list[str]:
    """English terms (and phrases) the unit uses whose Chinese the translation lacks."""
    text, misses = prose(english), []
    for names_zh, names_en, _links in glossary_rows():
        chinese_names = [name.strip() for name in names_zh.split("/")]
        if uses(text, names_en[0]) and not any(name in chinese for name in chinese_names):
            misses.append(names_en[0])
    for phrase, (pattern, required) in PHRASES.items():
        if re.search(pattern, text) and required not in chinese:
            misses.append(phrase)
    return misses


def banned_in(chinese: str) -> list[str]:
    """The banned variants a Chinese text uses, each with the word to use instead."""
    return [
        f"{match.group(0)!r} -> {BANNED[pattern][0]} ({BANNED[pattern][1]})"
        for pattern in BANNED
        for match in re.finditer(pattern, chinese)
    ]


def explorer_zh_strings() -> list[str]:
    """The string literals of the explorer's Chinese table, concatenations joined."""
    source = STRINGS.read_text("utf-8")
    table = source.split("var zh = {", 1)[1].split("\n  };", 1)[0]
    table = re.sub(r'"\s*\+\s*"', "", table)
    return [json.loads(f'"{s}"') for s in re.findall(r'"((?:[^"\\]|\\.)*)"', table)]


def checked(name: str) -> object:
    reason = NOT_REVIEWED.get(name)
    marks = [pytest.mark.skip(reason=f"{name} not yet reviewed: {reason}")] if reason else []
    return pytest.param(name, marks=marks, id=name)


# --- the checks can fail ------------------------------------------------------------------


def test_term_misses_finds_a_missing_term_and_accepts_each_name():
    assert term_misses("Each input pixel stamps the kernel.", "每个输入像素放一个卷积核。") == [
        "stamp"
    ]
    assert term_misses("Each input pixel stamps the kernel.", "每个输入像素印一个卷积核。") == []
    assert term_misses("Overlapping stamps sum.", "重叠的印记相加。") == []
    assert term_misses("The output size.", "输出的尺寸。") == ["size"]


def test_prose_leaves_out_what_stays_english():
    assert prose("Set `output_padding` and $s$ [here](shape.md#x) with stride=2.") == (
        "set and here with"
    )
    assert term_misses("conv_transpose2d with stride=1 and `padding`", "conv_transpose2d") == []
    assert term_misses("the [explorer](../explorer/)", "[交互演示](../explorer/)") == []
    assert term_misses("the explorer shows", "[探索器](../explorer/)") == ["explorer"]


def test_banned_variants_are_found_and_legitimate_words_are_not():
    assert banned_in("把卷积核副本散布到输出上，输入尺寸为 4，膨胀为 1，小于膨胀 {d}") == [
        "'散布' -> 散射 (scatter)",
        "'卷积核副本' -> 印记 (stamp: an input pixel's scaled kernel in the output)",
        "'尺寸' -> 大小 (size: 输入大小, 输出大小, 卷积核大小)",
        "'膨胀为 1' -> 膨胀率 (a value of dilation: 膨胀率为 1, 小于膨胀率 {d})",
        "'膨胀 {' -> 膨胀率 (a value of dilation: 膨胀率为 1, 小于膨胀率 {d})",
    ]
    legitimate = (
        "被多少个印记覆盖；膨胀后的卷积核；膨胀率为 2；膨胀不会让大小产生歧义；## 膨胀 {#dilation}"
    )
    assert banned_in(legitimate) == []


def test_explorer_zh_strings_are_read():
    strings = explorer_zh_strings()
    assert "转置卷积（ConvTranspose2d）" in strings
    assert any(
        "因为它小于膨胀率 {d}）" in s for s in strings
    )  # joined across `" +` and a line break
    assert len(strings) > 100, len(strings)


# --- the Chinese edition ---------------------------------------------------------------


@pytest.mark.parametrize("name", [checked(name) for name in side_files()])
def test_translations_use_the_glossary_terms(name: str) -> None:
    misses = [
        f"{k}: {term!r} ({prose(en)[:70]}...)"
        for k, en, zh in translated(name)
        for term in term_misses(en, zh)
        if (name, term) not in TERM_EXCEPTIONS
    ]
    assert not misses, f"{name}: units whose translation lacks the glossary's word: {misses}"


@pytest.mark.parametrize("name", [checked(name) for name in side_files()])
def test_translations_use_no_banned_variant(name: str) -> None:
    found = [f"{k}: {hit}" for k, _en, zh in translated(name) for hit in banned_in(zh)]
    assert not found, f"{name}: {found}"


def test_explorer_uses_no_banned_variant() -> None:
    found = [f"{hit} in {s[:40]!r}" for s in explorer_zh_strings() for hit in banned_in(s)]
    assert not found, found


@pytest.mark.parametrize("name", side_files())
def test_every_entry_is_keyed_by_its_english(name: str) -> None:
    """Editing a translation never changes its key: the key is the hash of the ``en`` beside it."""
    wrong = [k for k, entry in units(name).items() if key(entry["en"]) != k]
    assert not wrong, f"{name}: keys that are not the hash of their en: {wrong}"


def test_exceptions_name_real_files_and_terms() -> None:
    terms = {names[0] for _zh, names, _links in glossary_rows()}
    files = set(side_files())
    assert all(name in files and term in terms for name, term in TERM_EXCEPTIONS), TERM_EXCEPTIONS
