"""The explorer speaks the page's language: every word of its UI comes from one string table
(docs/javascripts/explorer-strings.js) with English and Chinese, chosen by ``<html lang>``. The
Chinese site is built elsewhere; here the built English page is served with ``lang="zh"`` (the
only difference the Chinese page makes to the script) and checked in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.browser import Visit, _watch

PAGE = "explorer/"


@pytest.fixture()
def open_explorer(browser: Any, site_url: str) -> Iterator[Any]:
    """``open_explorer(query, lang="en", width=1280)``: the explorer page, its ``<html lang>``
    replaced by ``lang`` before any script runs, watched like ``open_page``'s pages."""
    contexts: list[Any] = []

    def with_lang(lang: str) -> Any:
        def fulfil(route: Any) -> None:
            response = route.fetch()
            body = response.text()
            assert '<html lang="en"' in body
            html = body.replace('<html lang="en"', f'<html lang="{lang}"')
            route.fulfill(response=response, body=html)

        return fulfil

    def _open(query: str = "", lang: str = "en", width: int = 1280) -> Visit:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        context.route(lambda url: urlparse(url).path.endswith("/" + PAGE), with_lang(lang))
        page = context.new_page()
        visit = Visit(page)
        _watch(page, visit)
        page.goto(site_url + PAGE + query)
        page.wait_for_selector("#transconv-explorer .tce-controls", state="attached")
        return visit

    yield _open
    for context in contexts:
        context.close()


def tables(page: Any) -> dict[str, dict[str, Any]]:
    """Both tables, functions called with placeholder values so that they compare as text."""
    return page.evaluate(
        """() => {
             const out = {}, vars = {axis: 'A', p: 2, op: 1, rest: 1, extra: 1, unit: 'U',
               start: 'S', end: 'E', row: 2, count: 1, first: 2, v: 3, y: 0, x: 0, terms: 'T',
               taps: 4, shown: 1, target: 9, n: 3, sh: 1, sw: 1, eh: 1, ew: 1, ph: 1, pw: 1, dh: 1,
               dw: 1};
             for (const lang of ['en', 'zh']) {
               const table = window.transconvExplorer.strings[lang];
               out[lang] = {};
               for (const key of Object.keys(table)) {
                 const e = table[key];
                 out[lang][key] = typeof e === 'function' ? e(vars) : e;
               }
             }
             return out;
           }"""
    )


# the Python comments of Copy PyTorch stay English (a reader copies them), and the shape line
# reads the same in both languages
SAME_IN_BOTH = {"codeComment", "codeRefused", "valuesError"}
PUNCTUATION = {"listSeparator", "sentenceSeparator"}


def test_both_tables_have_every_string_and_chinese_differs(open_explorer) -> None:
    visit = open_explorer()
    both = tables(visit.page)
    assert set(both["en"]) == set(both["zh"])
    same = {k for k, v in both["en"].items() if v == both["zh"][k] and k not in SAME_IN_BOTH}
    assert same == set(), same
    for key, text in both["zh"].items():
        if key in SAME_IN_BOTH | PUNCTUATION or not isinstance(text, str):
            continue
        # Chinese characters, or at least Chinese (full-width) punctuation around code names
        assert any(ch >= "\u3000" for ch in text), (key, text)
    visit.assert_clean()


def visible_text(page: Any) -> str:
    return page.locator("#transconv-explorer").inner_text()


def english_phrases(page: Any) -> list[str]:
    """The English table's fixed phrases (no placeholders) of three words or more."""
    en = tables(page)["en"]
    return [
        v
        for k, v in en.items()
        if isinstance(v, str) and "{" not in v and len(v.split()) >= 3 and k not in SAME_IN_BOTH
    ]


@pytest.mark.parametrize("query", ["?n=3&k=3&s=2&p=1&op=1", "?mode=conv&n=7&k=3&s=2&p=1&step=5"])
def test_chinese_page_shows_chinese_labels(open_explorer, query: str) -> None:
    visit = open_explorer(query, lang="zh")
    page = visit.page
    text = visible_text(page)
    for label in (
        "转置卷积（ConvTranspose2d）",
        "卷积（Conv2d）",
        "输入大小",
        "每个轴",
        "聚集",
        "矩阵",
        "往返",
    ):
        assert label in text, label
    for key, name in {"k": "kernel_size", "s": "stride", "p": "padding", "d": "dilation"}.items():
        assert page.locator(f".tce-row-{key} th").inner_text() == name  # PyTorch's names stay
    assert page.locator('input[aria-label="stride (高)"]').count() == 1
    assert page.locator(".tce-copy").inner_text() == "复制 PyTorch 代码"
    if "mode=conv" in query:
        assert (
            page.locator(".tce-step").inner_text().startswith("第 5 步 / 共 16 步：输出 (1, 0) = ")
        )
        assert "卷积把 7 映射为 4" in page.locator(".tce-roundtrip").inner_text()
        assert "（即膨胀率）" in page.locator(".tce-gather-caption").inner_text()
    else:
        assert "散射" in text and "输出填充 1 在下边找回了本该被裁掉的 1 行" in text
    english = [phrase for phrase in english_phrases(page) if phrase in text]
    assert english == [], english
    assert page.locator(".tce-shape").inner_text() in ("6 × 6", "4 × 4")  # the numbers are the same
    visit.assert_clean()


def test_chinese_refusals(open_explorer) -> None:
    visit = open_explorer("?s=2&op=2,0", lang="zh")
    page = visit.page
    error = page.locator(".tce-error")
    assert page.locator(".tce-error .admonition-title").inner_text() == "PyTorch 拒绝这个转置卷积"
    assert (
        "`output_padding` 必须小于 `stride` 或 `dilation` 之一".replace("`", "")
        in error.inner_text()
    )
    assert "膨胀不会让大小产生歧义。步幅为 1、膨胀率为 2" in error.inner_text()
    # the solver's rows show their setting in the page's own name for itself, 交互演示
    assert page.locator('.tce-use[aria-label^="在交互演示中显示 kernel_size "]').count() > 0
    assert page.locator(".tce-fix").inner_text() == "改用最近的合法值：output_padding = 1（高）"
    page.click(".tce-fix")
    assert not error.is_visible()
    page.check('input[name="tce-mode"][value="conv"]')
    page.fill('input[aria-label="kernel_size (宽)"]', "9")
    assert page.locator(".tce-error .admonition-title").inner_text() == "PyTorch 拒绝这个卷积"
    assert "填充后的输入不能小于膨胀后的卷积核" in error.inner_text()
    assert page.locator(".tce-fix").inner_text() == "改用最近的合法值：padding = 4（宽）"
    page.fill(".tce-x", "1 2\n3")
    page.locator(".tce-x").blur()
    assert (
        page.locator(".tce-msg").inner_text()
        == "输入的值：第 2 行有 1 个数，第 1 行有 2 个：每行的个数必须相同"
    )
    english = [phrase for phrase in english_phrases(page) if phrase in visible_text(page)]
    assert english == [], english
    visit.assert_clean()


def test_english_page_stays_english(open_explorer) -> None:
    visit = open_explorer("?s=2&op=2,0", lang="en")
    page = visit.page
    assert (
        page.locator(".tce-error .admonition-title").inner_text()
        == "PyTorch refuses this ConvTranspose2d"
    )
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in visible_text(page))
    visit.assert_clean()
