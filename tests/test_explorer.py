"""The explorer page (docs/explorer.md, docs/javascripts/explorer.js) in Debian's Chromium,
checked against PyTorch: its `convTranspose2d` on hundreds of random settings (expected values
computed by torch here, at test time), PyTorch's validity rules, its shape solver against
`transconv.shapes.solve_transposed_conv`, the controls and the URL, and its speed."""

from __future__ import annotations

import json
import random
import re
import statistics
from typing import Any
from urllib.parse import parse_qs

import pytest
import torch
import torch.nn.functional as F

from transconv.shapes import solve_transposed_conv

PAGE = "explorer/"
NAMES = ("stride", "padding", "output_padding", "dilation")


def open_explorer(open_page: Any, query: str = "", **kwargs: Any) -> Any:
    visit = open_page(PAGE + query, **kwargs)
    visit.page.wait_for_selector("#transconv-explorer .tce-controls", state="attached")
    return visit


def torch_conv(x: list[list[float]], w: list[list[float]], params: dict[str, Any]) -> torch.Tensor:
    """F.conv_transpose2d in float64 on 2-D lists; raises what torch raises."""
    xt = torch.tensor(x, dtype=torch.float64).reshape(1, 1, len(x), len(x[0]) if x else 2)
    wt = torch.tensor(w, dtype=torch.float64).reshape(1, 1, len(w), len(w[0]) if w else 2)
    return F.conv_transpose2d(xt, wt, **{k: tuple(v) for k, v in params.items()})[0, 0]


def js_conv(page: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return page.evaluate(
        "cases => cases.map(c => window.transconvExplorer.convTranspose2d(c.x, c.w, c.params))",
        cases,
    )


def random_case(rng: random.Random, legal: bool) -> dict[str, Any]:
    """A random setting; with ``legal``, one that PyTorch accepts (by construction)."""
    while True:
        n = [rng.randint(1, 6), rng.randint(1, 6)]
        k = [rng.randint(1, 5), rng.randint(1, 5)]
        if legal:
            s = [rng.randint(1, 4) for _ in range(2)]
            d = [rng.randint(1, 3) for _ in range(2)]
            op = [rng.randrange(max(s[i], d[i])) for i in range(2)]
            p = [rng.randint(0, 4) for _ in range(2)]
        else:
            # each entry breaks a rule now and then: 0 strides and dilations, negative
            # paddings, output_padding not below stride or dilation, outputs below 1
            s = [rng.choice([0, 1, 1, 2, 2, 3, 3, 4]) for _ in range(2)]
            d = [rng.choice([0, 1, 1, 1, 1, 2, 2, 3]) for _ in range(2)]
            op = [rng.choice([-1, 0, 0, 0, 1, 1, 2]) for _ in range(2)]
            p = [rng.choice([-1, 0, 0, 1, 1, 2, 3, 4]) for _ in range(2)]
        sizes = [(n[i] - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i in range(2)]
        if legal and min(sizes) < 1:
            continue
        x = [[round(rng.uniform(-3, 3), 3) for _ in range(n[1])] for _ in range(n[0])]
        w = [[round(rng.uniform(-2, 2), 3) for _ in range(k[1])] for _ in range(k[0])]
        params = dict(zip(NAMES, (s, p, op, d), strict=True))
        return {"x": x, "w": w, "params": params}


def assert_matches_torch(case: dict[str, Any], got: dict[str, Any]) -> None:
    expected = torch_conv(case["x"], case["w"], case["params"])
    assert "error" not in got, (case, got)
    assert got["shape"] == list(expected.shape), case
    torch.testing.assert_close(torch.tensor(got["output"], dtype=torch.float64), expected)


def test_conv_transpose2d_matches_torch_on_random_legal_settings(open_page) -> None:
    rng = random.Random(10)
    cases = [random_case(rng, legal=True) for _ in range(320)]
    results = js_conv(open_explorer(open_page).page, cases)
    for case, got in zip(cases, results, strict=True):
        assert_matches_torch(case, got)


def test_conv_transpose2d_refuses_what_torch_refuses(open_page) -> None:
    rng = random.Random(11)
    cases = [random_case(rng, legal=False) for _ in range(300)]
    results = js_conv(open_explorer(open_page).page, cases)
    refused = 0
    for case, got in zip(cases, results, strict=True):
        try:
            torch_conv(case["x"], case["w"], case["params"])
        except RuntimeError:
            refused += 1
            assert "error" in got, case
            assert "nearest legal value" in got["error"]
            continue
        assert_matches_torch(case, got)
    assert 50 < refused < 290, "the random settings mix legal and illegal ones"


X3 = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
W2 = [[1.0, -1.0], [2.0, 0.5]]
RULES = [
    # (what breaks, input, kernel, params, the page's rule, torch's message)
    ("stride", X3, W2, {"stride": [0, 1]}, r"`stride` must be at least 1", "non-positive stride"),
    ("dilation", X3, W2, {"dilation": [1, 0]}, r"`dilation` must be at least 1", "dilation should"),
    (
        "padding",
        X3,
        W2,
        {"padding": [-1, 0]},
        r"`padding` must be non-negative",
        "negative padding",
    ),
    (
        "output_padding",
        X3,
        W2,
        {"output_padding": [0, -1]},
        r"`output_padding` must be non-negative",
        "negative output_padding",
    ),
    (
        "output_padding",
        X3,
        W2,
        {"stride": [2, 1], "dilation": [1, 3], "output_padding": [2, 0]},
        r"`output_padding` must be smaller than either `stride` or `dilation`",
        "output padding must be smaller than either stride or dilation",
    ),
    (
        "output_padding",
        X3,
        W2,
        {"stride": [1, 2], "dilation": [1, 3], "output_padding": [0, 3]},
        r"`output_padding` must be smaller than either `stride` or `dilation`",
        "output padding must be smaller than either stride or dilation",
    ),
    (
        "padding",
        X3,
        W2,
        {"padding": [2, 0]},
        r"the output size must be at least 1, got 0",
        "Output size is too small",
    ),
    ("kernel_size", X3, [], {}, r"`kernel_size` must be at least 1", "kernel size should"),
    ("input size", [], W2, {}, r"`input size` must be at least 1", "input shape"),
]


@pytest.mark.parametrize(("name", "x", "w", "params", "rule", "torch_message"), RULES)
def test_each_rule_named_like_torch_refuses(
    open_page, name: str, x: Any, w: Any, params: dict[str, Any], rule: str, torch_message: str
) -> None:
    full = {"stride": [1, 1], "padding": [0, 0], "output_padding": [0, 0], "dilation": [1, 1]}
    full.update(params)
    with pytest.raises(RuntimeError, match=re.escape(torch_message)):
        torch_conv(x, w, full)
    page = open_explorer(open_page).page
    (got,) = js_conv(page, [{"x": x, "w": w, "params": full}])
    assert re.search(rule, got["error"]), got
    nearest = re.search(r"nearest legal value: (.+?) = (-?\d+)$", got["error"])
    assert nearest and nearest.group(1) == name, got
    if name in full:  # the fix it names is accepted by torch, and is the nearest such value
        axis = 1 if "(width)" in got["error"] else 0
        fixed = {key: list(value) for key, value in full.items()}
        fixed[name][axis] = int(nearest.group(2))
        torch_conv(x, w, fixed)
        step = 1 if fixed[name][axis] > full[name][axis] else -1
        fixed[name][axis] -= step
        with pytest.raises(RuntimeError):
            torch_conv(x, w, fixed)


def test_solver_agrees_with_python(open_page) -> None:
    rng = random.Random(12)
    # an input of 1 pixel admits thousands of settings (every stride): two such cases suffice
    pairs = [(10, 320), (7, 224), (1, 1), (1, 30), (1, 1000), (10, 5), (3, 6), (16, 32)]
    pairs += [(rng.randint(2, 12), rng.randint(1, 80)) for _ in range(120)]
    page = open_explorer(open_page).page
    # one JSON string: Playwright's own transfer of ~30 000 small objects takes half a minute
    got = json.loads(
        page.evaluate(
            "pairs => JSON.stringify(pairs.map(p => window.transconvExplorer.solve(p[0], p[1])))",
            pairs,
        )
    )
    for (n, target), listed in zip(pairs, got, strict=True):
        assert listed == solve_transposed_conv(n, target), (n, target)
    assert got[0][0] == {
        "kernel_size": 64,
        "stride": 32,
        "padding": 16,
        "output_padding": 0,
        "dilation": 1,
    }


@pytest.mark.parametrize(("dark", "width"), [(False, 1280), (True, 1280), (False, 390)])
def test_page_loads_clean_and_fits(open_page, dark: bool, width: int) -> None:
    visit = open_explorer(open_page, dark=dark, width=width)
    page = visit.page
    assert page.locator(".tce-shape").inner_text() == "3 × 3"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for canvas in page.locator(".tce canvas:not([hidden])").all():
        assert canvas.bounding_box()["width"] > 0
    visit.assert_clean()


def cells(page: Any) -> torch.Tensor:
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('.tce-output tbody tr')).map(
             tr => Array.from(tr.querySelectorAll('td')).map(td => Number(td.textContent)))"""
    )
    return torch.tensor(rows, dtype=torch.float64)


def test_url_query_sets_the_shown_output(open_page) -> None:
    x = [[1, 2, 0, -1], [3, 1, 2, 2], [0, -2, 1, 4]]
    w = [[1, 0], [2, -1], [0, 3]]
    query = "?n=3,4&k=3,2&s=2,1&p=1,0&op=1,0&d=1,2&x=1,2,0,-1;3,1,2,2;0,-2,1,4&w=1,0;2,-1;0,3"
    visit = open_explorer(open_page, query)
    page = visit.page
    params = {"stride": [2, 1], "padding": [1, 0], "output_padding": [1, 0], "dilation": [1, 2]}
    expected = torch_conv(x, w, params)
    assert page.locator(".tce-shape").inner_text() == f"{expected.shape[0]} × {expected.shape[1]}"
    torch.testing.assert_close(cells(page), expected)
    height = page.locator(".tce-formula .tce-eq").first.inner_text()
    assert f"(3 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = {expected.shape[0]}" in height
    visit.assert_clean()


def query_of(page: Any) -> dict[str, list[str]]:
    # location itself: page.url learns of history.replaceState a moment later
    return parse_qs(page.evaluate("location.search").lstrip("?"))


def test_controls_update_url_and_output(open_page) -> None:
    visit = open_explorer(open_page)
    page = visit.page
    page.fill('input[aria-label="stride (height)"]', "2")
    x = [[0, 1], [2, 3]]
    expected = torch_conv(x, x, {"stride": [2, 1]})
    assert page.locator(".tce-shape").inner_text() == f"{expected.shape[0]} × {expected.shape[1]}"
    assert query_of(page)["s"] == ["2,1"]
    torch.testing.assert_close(cells(page), expected)
    page.fill(".tce-factor", "3")
    page.click(".tce-apply-factor")
    assert page.locator(".tce-shape").inner_text() == "6 × 6"  # same-style: 2 x 3
    assert {key: query_of(page)[key] for key in "ksp"} == {"k": ["5"], "s": ["3"], "p": ["1"]}
    page.fill(".tce-x", "1 2 3\n4 5 6")
    page.locator(".tce-x").blur()
    assert page.input_value('input[aria-label="input size (width)"]') == "3"
    assert query_of(page)["x"] == ["1,2,3;4,5,6"]
    page.click(".tce-random")
    assert re.fullmatch(r"r\d+", query_of(page)["x"][0])
    values = [[float(v) for v in row.split()] for row in page.input_value(".tce-x").splitlines()]
    kernel = [[float(v) for v in row.split()] for row in page.input_value(".tce-w").splitlines()]
    torch.testing.assert_close(
        cells(page), torch_conv(values, kernel, {"stride": [3, 3], "padding": [1, 1]})
    )
    link = page.evaluate("location.href")
    page.goto(link)  # a link reproduces the random values
    page.wait_for_selector(".tce-output", state="attached")
    assert page.input_value(".tce-x").splitlines() == [
        " ".join(f"{v:g}" for v in row) for row in values
    ]
    visit.assert_clean()


def test_illegal_setting_shows_rule_and_nearest_value(open_page) -> None:
    visit = open_explorer(open_page, "?s=2&op=2,0")
    page = visit.page
    error = page.locator(".tce-error")
    assert error.is_visible()
    assert "output_padding must be smaller than either stride or dilation" in error.inner_text()
    assert not page.locator(".tce-result").is_visible()
    page.click(".tce-fix")
    assert not error.is_visible()
    expected = torch_conv(
        [[0, 1], [2, 3]], [[0, 1], [2, 3]], {"stride": [2, 2], "output_padding": [1, 0]}
    )
    assert page.locator(".tce-shape").inner_text() == f"{expected.shape[0]} × {expected.shape[1]}"
    assert query_of(page)["op"] == ["1,0"]
    page.fill('input[aria-label="padding (width)"]', "3")
    assert "the output size must be at least 1" in error.inner_text()
    assert "padding = 1 (width)" in page.locator(".tce-fix").inner_text()
    visit.assert_clean()


def hover_text(page: Any, prefix: str) -> str:
    """The hover description once it starts with ``prefix`` (hover redraws on the next frame)."""
    page.wait_for_function(
        "prefix => document.querySelector('.tce-hover').textContent.startsWith(prefix)", arg=prefix
    )
    return page.locator(".tce-hover").inner_text()


def test_hover_and_keyboard_name_the_sources(open_page) -> None:
    visit = open_explorer(open_page, "?n=3&k=3&s=2&p=1")
    page = visit.page
    page.focus(".tce-c-output")
    hover_text(page, "output (0, 0) = ")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    text = hover_text(page, "output (1, 1) = ")
    # output (1, 1) = input (1, 1) through tap (0, 0) ... brute force the overlaps
    stamps = sum(
        1
        for i in range(3)
        for a in range(3)
        for j in range(3)
        for b in range(3)
        if i * 2 + a - 1 == 1 and j * 2 + b - 1 == 1
    )
    assert f"; {stamps} overlapping stamp" in text
    page.locator(".tce-c-scatter").scroll_into_view_if_needed()
    box = page.locator(".tce-c-scatter").bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)  # a cropped border cell: nothing to name
    cell = box["width"] / 7  # the full 7 x 7 output, cropped by padding 1 to 5 x 5
    page.mouse.move(box["x"] + 4.5 * cell, box["y"] + 4.5 * cell)
    assert f"; {stamps} overlapping stamps" in hover_text(page, "output (3, 3) = ")
    page.mouse.move(0, 0)
    hover_text(page, "Hover or focus an output pixel")
    visit.assert_clean()


def test_animation_steps_through_the_inputs(open_page) -> None:
    visit = open_explorer(open_page)
    page = visit.page
    label = page.locator(".tce-step")
    assert label.inner_text() == "all 4 input pixels stamped"
    page.click(".tce-first")
    assert label.inner_text().startswith("step 0 / 4")
    page.click(".tce-next")
    assert label.inner_text().startswith("step 1 / 4: input (0, 0)")
    page.click(".tce-play")
    page.wait_for_function("document.querySelector('.tce-step').textContent.startsWith('all')")
    assert page.locator(".tce-play").inner_text() == "▶ Play"
    visit.assert_clean()


def test_copied_pytorch_code_reproduces_the_output(open_page) -> None:
    visit = open_explorer(open_page, "?n=3,2&k=2,3&s=2,3&p=0,1&op=1,2&d=2,1&x=r7&w=r8")
    page = visit.page
    page.click(".tce-copy")
    page.wait_for_function("document.querySelector('.tce-copied').textContent.length > 0")
    code = page.locator(".tce-code code").inner_text()
    assert "nn.ConvTranspose2d(" in code and "assert_close" in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "explorer-copy", "exec"), namespace)  # asserts the shown output
    y = namespace["y"][0, 0].detach()
    torch.testing.assert_close(y, cells(page))
    visit.assert_clean()


def test_solver_table_marks_fcn_and_applies_a_row(open_page) -> None:
    visit = open_explorer(open_page, "?solve=10,320")
    page = visit.page
    count = len(solve_transposed_conv(10, 320))
    assert page.locator(".tce-solve-summary").inner_text().startswith(f"{count} settings")
    first = page.locator(".tce-solve tbody tr").first
    cells_text = [c.strip() for c in first.locator("td").all_inner_texts()]
    assert cells_text == ["64 ★ FCN", "32", "16", "0", "1", "yes"]  # 32 divides 64: even overlap
    first.locator("button").click()
    assert page.locator(".tce-shape").inner_text() == "320 × 320"
    page.fill(".tce-solve-t", "20")
    assert query_of(page)["solve"] == ["10,20"]
    assert page.locator(".tce-solve tbody tr").count() == min(
        24, len(solve_transposed_conv(10, 20))
    )
    visit.assert_clean()


def test_instant_navigation_starts_the_explorer(open_page) -> None:
    visit = open_page("", wait="networkidle")  # the search worker loaded: nothing in flight
    page = visit.page
    page.click('.md-nav__link:has-text("Explorer")')
    page.wait_for_selector("#transconv-explorer .tce-controls")
    page.wait_for_load_state("networkidle")
    assert page.locator(".tce-shape").inner_text() == "3 × 3"
    page.go_back()
    page.wait_for_function("!document.getElementById('transconv-explorer')")
    visit.assert_clean()


@pytest.mark.parametrize(("mode", "stride"), [("transposed", 1), ("transposed", 2), ("conv", 1)])
def test_update_renders_in_under_50_ms(open_page, mode: str, stride: int) -> None:
    visit = open_explorer(open_page, f"?mode={mode}&n=16&k=7&s={stride}&x=r1&w=r2")
    # one update = a new padding (so a new output size, formula and table) rendered; timed
    # alone, and with the page layout it causes (forced by reading a size)
    times = visit.page.evaluate(
        """() => {
             const api = window.transconvExplorer, alone = [], laidOut = [];
             for (let i = 0; i < 25; i++) {
               const p = i % 2;
               let t0 = performance.now();
               api.set({p: [p, p]});
               alone.push(performance.now() - t0);
               t0 = performance.now();
               api.set({p: [1 - p, 1 - p]});
               void document.body.offsetHeight;
               laidOut.push(performance.now() - t0);
             }
             return {alone, laidOut};
           }"""
    )
    alone, laid_out = statistics.median(times["alone"]), statistics.median(times["laidOut"])
    print(
        f"explorer update, {mode}, 16x16 input, 7x7 kernel, stride {stride}: render() median "
        f"{alone:.1f} ms, with layout {laid_out:.1f} ms"
    )
    assert alone < 50, times
    assert laid_out < 50, times
    visit.assert_clean()


def test_palette_switch_recolours_the_views(open_page) -> None:
    visit = open_explorer(open_page, "?n=3&k=1&s=2")  # output (1, 1) is an inserted zero
    page = visit.page
    pixel = """() => {
        const c = document.querySelector('.tce-c-output'), cs = c.width / 5;
        return Array.from(c.getContext('2d').getImageData(1.5 * cs, 1.5 * cs, 1, 1).data);
    }"""
    before = page.evaluate(pixel)
    page.locator("form[data-md-component=palette] label:visible").first.click()
    page.wait_for_function("document.body.dataset.mdColorScheme === 'slate'")
    page.wait_for_timeout(100)  # the page recolours when Material switches the palette
    after = page.evaluate(pixel)
    assert sum(before[:3]) > 600 and sum(after[:3]) < 200, (before, after)  # white, then dark
    visit.assert_clean()
