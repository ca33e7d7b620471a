"""The explorer's forward-convolution mode and the pair it forms with the transposed mode, in
Debian's Chromium, checked against PyTorch: its `conv2d` on hundreds of random settings and
refusals, the matrix C (and Cᵀ after switching modes), the round trip between the two layers'
sizes, the URL (mode and animation step), Copy PyTorch in both modes, and the fixes to the
captions, messages and solver found by an outside read."""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import parse_qs

import pytest
import torch
import torch.nn.functional as F

from transconv.shapes import solve_transposed_conv, upsampling_params

PAGE = "explorer/"
NAMES = ("stride", "padding", "dilation")


def open_explorer(open_page: Any, query: str = "", **kwargs: Any) -> Any:
    visit = open_page(PAGE + query, **kwargs)
    visit.page.wait_for_selector("#transconv-explorer .tce-controls", state="attached")
    return visit


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(page.evaluate("location.search").lstrip("?"))


def shape(page: Any) -> tuple[int, int]:
    h, w = page.locator(".tce-shape").inner_text().split(" × ")
    return int(h), int(w)


def cells(page: Any) -> torch.Tensor:
    rows = page.evaluate(
        """() => Array.from(document.querySelectorAll('.tce-output tbody tr')).map(
             tr => Array.from(tr.querySelectorAll('td')).map(td => Number(td.textContent)))"""
    )
    return torch.tensor(rows, dtype=torch.float64)


def tensor2d(values: list[list[float]]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)[None, None]


def torch_conv2d(
    x: list[list[float]], w: list[list[float]], params: dict[str, Any]
) -> torch.Tensor:
    """F.conv2d in float64 on 2-D lists; raises what torch raises."""
    return F.conv2d(tensor2d(x), tensor2d(w), **{k: tuple(v) for k, v in params.items()})[0, 0]


def js_conv2d(page: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return page.evaluate(
        "cases => cases.map(c => window.transconvExplorer.conv2d(c.x, c.w, c.params))", cases
    )


def random_case(rng: random.Random, legal: bool) -> dict[str, Any]:
    """A random Conv2d setting; with ``legal``, one that PyTorch accepts (by construction)."""
    while True:
        n = [rng.randint(1, 7), rng.randint(1, 7)]
        k = [rng.randint(1, 5), rng.randint(1, 5)]
        if legal:
            s = [rng.randint(1, 4) for _ in range(2)]
            d = [rng.randint(1, 3) for _ in range(2)]
            p = [rng.randint(0, 5) for _ in range(2)]  # beyond half the kernel too
        else:
            s = [rng.choice([0, 1, 1, 2, 2, 3]) for _ in range(2)]
            d = [rng.choice([0, 1, 1, 1, 2, 3]) for _ in range(2)]
            p = [rng.choice([-1, 0, 0, 1, 2]) for _ in range(2)]
        spans = [d[i] * (k[i] - 1) + 1 for i in range(2)]
        if legal and any(n[i] + 2 * p[i] < spans[i] for i in range(2)):
            continue
        x = [[round(rng.uniform(-3, 3), 3) for _ in range(n[1])] for _ in range(n[0])]
        w = [[round(rng.uniform(-2, 2), 3) for _ in range(k[1])] for _ in range(k[0])]
        return {"x": x, "w": w, "params": dict(zip(NAMES, (s, p, d), strict=True))}


def assert_matches_torch(case: dict[str, Any], got: dict[str, Any]) -> None:
    expected = torch_conv2d(case["x"], case["w"], case["params"])
    assert "error" not in got, (case, got)
    assert got["shape"] == list(expected.shape), case
    torch.testing.assert_close(torch.tensor(got["output"], dtype=torch.float64), expected)


def test_conv2d_matches_torch_on_random_legal_settings(open_page) -> None:
    rng = random.Random(20)
    cases = [random_case(rng, legal=True) for _ in range(320)]
    assert sum(max(c["params"]["padding"]) > 2 for c in cases) > 50  # padding > half a kernel
    results = js_conv2d(open_explorer(open_page).page, cases)
    for case, got in zip(cases, results, strict=True):
        assert_matches_torch(case, got)


def test_conv2d_refuses_exactly_what_torch_refuses(open_page) -> None:
    rng = random.Random(21)
    cases = [random_case(rng, legal=False) for _ in range(320)]
    results = js_conv2d(open_explorer(open_page).page, cases)
    refused = 0
    for case, got in zip(cases, results, strict=True):
        try:
            torch_conv2d(case["x"], case["w"], case["params"])
        except RuntimeError:
            refused += 1
            assert "error" in got, case
            assert "nearest legal value" in got["error"]
            continue
        assert_matches_torch(case, got)
    assert 50 < refused < 290, "the random settings mix legal and illegal ones"


X3 = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
W2 = [[1.0, -1.0], [2.0, 0.5]]
W52 = [[float(i + j) for j in range(2)] for i in range(5)]
RULES = [
    # (what breaks, input, kernel, params, the page's rule, torch's message)
    ("stride", X3, W2, {"stride": [1, 0]}, r"`stride` must be at least 1", "non-positive stride"),
    ("dilation", X3, W2, {"dilation": [0, 1]}, r"`dilation` must be at least 1", "dilation should"),
    (
        "padding",
        X3,
        W2,
        {"padding": [0, -1]},
        r"`padding` must be non-negative",
        "negative padding",
    ),
    (
        "padding",
        X3,
        W52,
        {},
        r"the padded input must be at least as large as the dilated kernel",
        "Kernel size can't be greater than actual input size",
    ),
    (
        "padding",
        X3,
        W2,
        {"dilation": [1, 4]},
        r"got 3 \+ 2·0 = 3, smaller than the span 4·\(2 − 1\) \+ 1 = 5",
        "Kernel size can't be greater than actual input size",
    ),
    ("kernel_size", X3, [], {}, r"`kernel_size` must be at least 1", "kernel size should"),
    (
        "input size",
        [],
        W2,
        {"padding": [2, 0]},
        r"`input size` must be at least 1",
        "Only zero batch",
    ),
]


@pytest.mark.parametrize(("name", "x", "w", "params", "rule", "torch_message"), RULES)
def test_each_conv2d_rule_named_like_torch_refuses(
    open_page, name: str, x: Any, w: Any, params: dict[str, Any], rule: str, torch_message: str
) -> None:
    full = {"stride": [1, 1], "padding": [0, 0], "dilation": [1, 1]}
    full.update(params)
    xt = torch.zeros(1, 1, len(x), len(x[0]) if x else 3, dtype=torch.float64)
    wt = torch.zeros(1, 1, len(w), len(w[0]) if w else 2, dtype=torch.float64)
    with pytest.raises(RuntimeError, match=re.escape(torch_message)):
        F.conv2d(xt, wt, **{k: tuple(v) for k, v in full.items()})
    page = open_explorer(open_page).page
    (got,) = js_conv2d(page, [{"x": x, "w": w, "params": full}])
    assert re.search(rule, got["error"]), got
    nearest = re.search(r"nearest legal value: (.+?) = (-?\d+)$", got["error"])
    assert nearest and nearest.group(1) == name, got
    if name in full:  # the fix it names is accepted by torch, and is the nearest such value
        axis = 1 if "(width)" in got["error"] else 0
        fixed = {key: list(value) for key, value in full.items()}
        fixed[name][axis] = int(nearest.group(2))
        torch_conv2d(x, w, fixed)
        fixed[name][axis] -= 1 if fixed[name][axis] > full[name][axis] else -1
        with pytest.raises(RuntimeError):
            torch_conv2d(x, w, fixed)


def test_refused_conv2d_shows_rule_and_fix_on_the_page(open_page) -> None:
    visit = open_explorer(open_page, "?mode=conv&n=3&k=5,2")
    page = visit.page
    error = page.locator(".tce-error")
    assert error.is_visible() and not page.locator(".tce-result").is_visible()
    assert "PyTorch refuses this Conv2d" in error.inner_text()
    assert "padding = 1 (height)" in page.locator(".tce-fix").inner_text()
    page.click(".tce-fix")
    assert not error.is_visible()
    expected = torch_conv2d(
        [[0, 1, 2], [3, 4, 5], [6, 7, 8]],
        [[2 * i + j for j in range(2)] for i in range(5)],
        {"padding": [1, 0]},
    )
    assert shape(page) == tuple(expected.shape)
    torch.testing.assert_close(cells(page), expected)
    visit.assert_clean()


def jacobian(fn: Any, size: tuple[int, int]) -> torch.Tensor:
    """The matrix of a linear map of 2-D inputs: one row per output pixel, one column per input
    pixel, both numbered row by row."""
    x = torch.zeros(size, dtype=torch.float64)
    return torch.autograd.functional.jacobian(fn, x).reshape(-1, size[0] * size[1])


def test_matrix_c_and_its_transpose_share_the_numbering(open_page) -> None:
    visit = open_explorer(open_page, "?mode=conv&n=5,4&k=3,2&s=2,1&p=1,0&d=1,2&w=r3")
    page = visit.page
    w = tensor2d(page.evaluate("window.transconvExplorer.state().w.values"))
    params = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}
    c = torch.tensor(page.evaluate("window.transconvExplorer.matrix()"), dtype=torch.float64)
    torch.testing.assert_close(c, jacobian(lambda x: F.conv2d(x[None, None], w, **params), (5, 4)))
    page.click(".tce-carry")  # to the ConvTranspose2d that returns 5 x 4
    assert page.locator('input[name="tce-mode"][value="transposed"]').is_checked()
    assert shape(page) == (5, 4)
    assert "op" not in query_of(page)  # 5 = (3 - 1)*2 - 2 + 3: no output_padding needed
    ct = torch.tensor(page.evaluate("window.transconvExplorer.matrix()"), dtype=torch.float64)
    torch.testing.assert_close(ct, c.T)
    ct_torch = jacobian(
        lambda x: F.conv_transpose2d(x[None, None], w, **params), tuple(input_size(page))
    )
    torch.testing.assert_close(ct, ct_torch)
    visit.assert_clean()


def input_size(page: Any) -> list[int]:
    return [int(v) for v in page.evaluate("window.transconvExplorer.state().n")]


def merged_by_torch(m: int, k: int, s: int, p: int, d: int) -> list[int]:
    """Every input size up to 64 that F.conv2d with this setting maps to m."""
    found = []
    for n in range(1, 65):
        try:
            out = F.conv2d(
                torch.zeros(1, 1, n, 1), torch.zeros(1, 1, k, 1), stride=s, padding=p, dilation=d
            )
        except RuntimeError:
            continue
        if out.shape[2] == m:
            found.append(n)
    return found


@pytest.mark.parametrize(
    ("n", "k", "s", "p", "d"), [(7, 3, 2, 1, 1), (10, 4, 3, 0, 2), (9, 1, 4, 0, 1)]
)
def test_round_trip_lists_the_merged_sizes_and_their_output_padding(
    open_page, n: int, k: int, s: int, p: int, d: int
) -> None:
    visit = open_explorer(open_page, f"?mode=conv&n={n},3&k={k},1&s={s},1&p={p},0&d={d},1")
    page = visit.page
    m = shape(page)[0]
    buttons = page.locator('.tce-carry-size[data-axis="0"]')
    listed = [int(v) for v in buttons.evaluate_all("bs => bs.map(b => b.dataset.size)")]
    assert listed == merged_by_torch(m, k, s, p, d)
    assert n in listed and len(listed) == s
    for text in buttons.all_inner_texts():  # each with the output_padding that returns it
        size, op = (int(v) for v in re.fullmatch(r"(\d+) \(output_padding (\d+)\)", text).groups())
        back = F.conv_transpose2d(
            torch.zeros(1, 1, m, 1),
            torch.zeros(1, 1, k, 1),
            stride=(s, 1),
            padding=(p, 0),
            output_padding=(op, 0),
            dilation=(d, 1),
        )
        assert back.shape[2] == size
    target = listed[-1]
    page.click(f'.tce-carry-size[data-axis="0"][data-size="{target}"]')  # one click: the pair
    assert page.locator('input[name="tce-mode"][value="transposed"]').is_checked()
    assert shape(page) == (target, 3)
    assert input_size(page) == [m, 3]
    page.click(".tce-carry")  # and back: the Conv2d on that output
    assert page.locator('input[name="tce-mode"][value="conv"]').is_checked()
    assert input_size(page) == [target, 3] and shape(page) == (m, 3)
    visit.assert_clean()


@pytest.mark.slow  # two reloads wait for the search worker
def test_url_keeps_mode_and_animation_step(open_page) -> None:
    visit = open_explorer(open_page, "?mode=conv&n=7&k=3&s=2&p=1&step=5")
    page = visit.page
    assert page.locator('input[name="tce-mode"][value="conv"]').is_checked()
    assert page.locator(".tce-step").inner_text().startswith("step 5 / 16: output (1, 0) = ")
    page.click(".tce-next")
    assert query_of(page)["step"] == ["6"] and query_of(page)["mode"] == ["conv"]
    page.wait_for_load_state("networkidle")  # the search worker loaded: nothing to abort
    page.goto(page.evaluate("location.href"))  # a link reproduces the step
    page.wait_for_selector(".tce-output", state="attached")
    assert page.locator(".tce-step").inner_text().startswith("step 6 / 16: output (1, 1) = ")
    page.click(".tce-last")
    assert "step" not in query_of(page)
    page.check('input[name="tce-mode"][value="transposed"]')
    assert "mode" not in query_of(page)
    page.click(".tce-first")
    page.click(".tce-next")
    assert query_of(page)["step"] == ["1"]
    page.wait_for_load_state("networkidle")
    page.reload()
    page.wait_for_selector(".tce-output", state="attached")
    assert page.locator(".tce-step").inner_text().startswith("step 1 / 49: input (0, 0)")
    visit.assert_clean()


X_FRACTIONS = [[0.1, -2.5, 3, 0.25], [1, 2, 3, 4], [-0.3, 0.7, 1e-3, 5]]
W_FRACTIONS = [[0.1, 0.2, 0.3], [-0.7, 1.1, 2]]
COPY_CASES = [
    ("conv", {"stride": [2, 1], "padding": [1, 2], "dilation": [1, 2]}),
    (
        "transposed",
        {"stride": [2, 3], "padding": [0, 1], "output_padding": [1, 2], "dilation": [2, 1]},
    ),
]


def as_query(values: list[list[float]]) -> str:
    return ";".join(",".join(f"{v:g}" for v in row) for row in values)


@pytest.mark.parametrize(("mode", "params"), COPY_CASES)
def test_copied_pytorch_code_runs_and_reproduces_the_output(
    open_page, mode: str, params: dict[str, list[int]]
) -> None:
    keys = {"stride": "s", "padding": "p", "output_padding": "op", "dilation": "d"}
    query = "&".join(f"{keys[name]}={v[0]},{v[1]}" for name, v in params.items())
    query += f"&x={as_query(X_FRACTIONS)}&w={as_query(W_FRACTIONS)}"
    visit = open_explorer(open_page, f"?mode={mode}&{query}")
    page = visit.page
    page.click(".tce-copy")
    page.wait_for_function("document.querySelector('.tce-copied').textContent.length > 0")
    code = page.locator(".tce-code code").inner_text()
    assert ("nn.Conv2d(" if mode == "conv" else "nn.ConvTranspose2d(") in code
    assert "assert_close" in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "explorer-copy", "exec"), namespace)  # asserts the shown output
    op = F.conv2d if mode == "conv" else F.conv_transpose2d
    expected = op(
        tensor2d(X_FRACTIONS), tensor2d(W_FRACTIONS), **{k: tuple(v) for k, v in params.items()}
    )[0, 0]
    torch.testing.assert_close(namespace["y"][0, 0].detach(), expected)
    # the table shows the same values, to three significant digits
    torch.testing.assert_close(cells(page), expected, rtol=5e-3, atol=1e-9)
    visit.assert_clean()


def full_output_rows(n: int, k: int, s: int) -> torch.Tensor:
    """Rows of the uncropped transposed output of an all-ones n x 1 input and k x 1 kernel."""
    return F.conv_transpose1d(torch.ones(1, 1, n), torch.ones(1, 1, k), stride=s)[0, 0]


@pytest.mark.parametrize(
    ("k", "s", "p", "op"),
    [(3, 2, 1, 1), (3, 2, 0, 1), (4, 3, 1, 2), (2, 2, 0, 0), (5, 3, 2, 2), (4, 2, 2, 1)],
)
def test_scatter_caption_is_true_for_the_setting(
    open_page, k: int, s: int, p: int, op: int
) -> None:
    visit = open_explorer(open_page, f"?n=3&k={k}&s={s}&p={p}&op={op}")
    text = visit.page.locator(".tce-scatter-text").inner_text()
    sentence = re.search(r"height: [^.]*\.", text).group(0)
    y = F.conv_transpose1d(
        torch.ones(1, 1, 3), torch.ones(1, 1, k), stride=s, padding=p, output_padding=op
    )[0, 0]
    full = full_output_rows(3, k, s)
    zero_rows = int((y.flip(0).cumsum(0) == 0).sum())  # trailing rows of zeros
    if op > p:
        assert f"adds {op - p} row" in sentence and zero_rows == op - p
    else:
        assert "zeros" not in sentence.replace("not zeros", "") and zero_rows == 0
    if 0 < op <= p:  # the kept rows are the full output's own, cropped otherwise
        assert (
            f"gives back {'the row' if op == 1 else f'{op} rows'} that padding would crop"
            in sentence
        )
        torch.testing.assert_close(y[-op:], full[len(full) - p : len(full) - p + op])
    visit.assert_clean()


def test_output_padding_rule_explained_and_its_example_true(open_page) -> None:
    visit = open_explorer(open_page, "?n=3&k=2&d=2,1&op=2,0")
    why = visit.page.locator(".tce-error .tce-why").inner_text()
    assert "output_padding < max(stride, dilation)" in why
    assert "dilation makes no sizes ambiguous" in why
    # the example it gives: stride 1, dilation 2, output_padding 1, no padding: last row zeros
    assert (
        "With stride 1, dilation 2, output_padding 1 and no padding, the extra row is all zeros"
        in why
    )
    y = F.conv_transpose2d(
        torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), dilation=(2, 1), output_padding=(1, 0)
    )[0, 0]
    assert bool((y[-1] == 0).all()) and bool((y[:-1] != 0).any())
    # and no Conv2d size maps there: a Conv2d of the same setting takes 6 rows to 4, not 3
    assert F.conv2d(torch.ones(1, 1, 6, 1), torch.ones(1, 1, 2, 1), dilation=(2, 1)).shape[2] == 4
    visit.page.click(".tce-fix")
    assert (
        "output_padding 1 is not below stride 1"
        in visit.page.locator(".tce-roundtrip").inner_text()
    )
    visit.assert_clean()


def test_values_message_cleared_by_reset_solver_and_new_settings(open_page) -> None:
    visit = open_explorer(open_page)
    page = visit.page
    msg = page.locator(".tce-msg")

    def break_values() -> None:
        page.fill(".tce-x", "1 2\n3")
        page.locator(".tce-x").blur()
        assert msg.inner_text() == (
            "Input values: row 2 has 1 number, row 1 has 2: every row needs the same count"
        )

    break_values()
    page.click(".tce-reset")
    assert msg.inner_text() == ""
    break_values()
    page.locator(".tce-solve tbody button").first.click()
    assert msg.inner_text() == ""
    break_values()
    page.fill('input[aria-label="stride (width)"]', "2")
    assert msg.inner_text() == ""
    break_values()
    page.check('input[name="tce-mode"][value="conv"]')
    assert msg.inner_text() == ""
    visit.assert_clean()


def test_factor_preset_says_what_it_applies(open_page) -> None:
    visit = open_explorer(open_page)
    page = visit.page
    help_text = page.locator("#tce-factor-help").inner_text()
    assert "kernel_size = 2f − f mod 2, stride = f, padding = ⌊f/2⌋" in help_text
    page.fill(".tce-factor", "3")
    page.click(".tce-apply-factor")
    k, s, p = upsampling_params(3)
    assert {key: query_of(page)[key] for key in "ksp"} == {
        "k": [str(k)],
        "s": [str(s)],
        "p": [str(p)],
    }
    assert shape(page) == (6, 6)  # ConvTranspose2d: n -> f n
    page.check('input[name="tce-mode"][value="conv"]')
    page.fill('input[aria-label="input size (height)"]', "7")
    page.fill('input[aria-label="input size (width)"]', "8")
    assert shape(page) == (7 // 3, 8 // 3)  # Conv2d, the same k, s, p: n -> floor(n / f)
    visit.assert_clean()


def overlap_is_even(k: int, s: int, d: int) -> bool:
    """Do the output pixels away from the borders all get the same number of taps? Counted by
    torch: a long all-ones input scattered through an all-ones dilated kernel."""
    y = F.conv_transpose1d(torch.ones(1, 1, 40), torch.ones(1, 1, k), stride=s, dilation=d)[0, 0]
    span = d * (k - 1) + 1
    interior = y[span : len(y) - span]
    return bool((interior == interior[0]).all())


def test_solver_even_overlap_column_and_filter(open_page) -> None:
    visit = open_explorer(open_page, "?solve=7,21")
    page = visit.page
    intro = page.locator("#solver + p").inner_text()
    assert "k = 2s − s mod 2, p = ⌊s/2⌋" in intro
    star = [c.strip() for c in page.locator(".tce-solve tr.tce-fcn td").all_inner_texts()]
    assert star[:5] == ["5 ★ FCN", "3", "1", "0", "1"]  # 7 -> 21: k = 5, s = 3, p = 1
    settings = [(k, s, d) for k in range(1, 9) for s in range(1, 6) for d in range(1, 4)]
    js = page.evaluate(
        "cs => cs.map(c => window.transconvExplorer.evenOverlap(c[0], c[1], c[2]))", settings
    )
    assert js == [overlap_is_even(*c) for c in settings]
    page.fill(".tce-solve-n", "10")
    page.fill(".tce-solve-t", "320")
    every = solve_transposed_conv(10, 320)
    even = [c for c in every if overlap_is_even(c["kernel_size"], c["stride"], c["dilation"])]
    page.select_option(".tce-solve-filter", "even")
    summary = page.locator(".tce-solve-summary").inner_text()
    assert (
        summary
        == f"{len(every)} settings reach 320 from 10. {len(even)} of them have even overlap."
    )
    column = page.locator(".tce-solve td.tce-even").all_inner_texts()
    assert set(column) == {"yes"} and len(column) == min(24, len(even))
    page.select_option(".tce-solve-filter", "uneven")
    assert set(page.locator(".tce-solve td.tce-even").all_inner_texts()) == {"no"}
    visit.assert_clean()


@pytest.mark.parametrize(("dark", "width"), [(False, 1280), (True, 1280), (False, 390)])
def test_conv_mode_loads_clean_and_fits(open_page, dark: bool, width: int) -> None:
    visit = open_explorer(open_page, "?mode=conv&n=9&k=3&s=2&p=1&d=2", dark=dark, width=width)
    page = visit.page
    assert shape(page) == (4, 4)  # floor((9 + 2 - 4 - 1) / 2) + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert not page.locator(".tce-c-scatter").is_visible()  # scatter is the transposed view
    for canvas in page.locator(".tce canvas:not([hidden])").all():
        if canvas.is_visible():
            assert canvas.bounding_box()["width"] > 0
    visit.assert_clean()
