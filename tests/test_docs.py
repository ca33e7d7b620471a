"""Tests of the docs build machinery: mkdocs.yml and the hooks in hooks/.

The cache tests build a tiny temporary mkdocs project that uses the real hooks of mkdocs.yml.
Its package ``transconv`` has three modules: ``used`` (which the page imports), ``helper``
(which ``used`` imports) and ``unused``. Its page prints values from ``used`` and from
``docs/results/`` and a random token: the token stays the same exactly when the page came from
the cache, so each step asserts which edit re-executes the page and which does not.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sitebuild.render import Renderer
from sitebuild.search_text import plain_maths

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

PAGE = """# %% [markdown]
# # Probe
#
# Maths $k = 2s$ for the search index.

# %%
import pathlib
import secrets

import matplotlib.pyplot as plt

from transconv.used import VALUE

result = pathlib.Path("docs/results/score.txt").read_text().strip()
extra = pathlib.Path("docs/results/extra.txt")
print(f"value={VALUE} result={result} extra={extra.is_file()} token={secrets.token_hex(8)}")

# %%
fig, ax = plt.subplots(figsize=(2, 2))
ax.plot([0, 1], [1, 0])
fig.transconv_alt = "A falling straight line"
plt.close(fig)  # shown once, as the cell's result (as transconv.viz does)
fig

# %%
from matplotlib.figure import Figure

drawn = Figure(figsize=(2, 2))  # made without pyplot, as transconv.viz draws
drawn.add_subplot().plot([0, 1], [0, 1])
drawn.transconv_alt = "A rising straight line"
drawn
"""

OTHER = """# %% [markdown]
# # Other

# %%
import secrets
print(f"token={secrets.token_hex(8)}")

# %% [markdown]
# **Exercise.** What is six times seven?

# %% tags=["solution"]
answer = 6 * 7
print(f"answer={answer}")

# %% tags=["remove-input"]
assert answer == 42
"""

FAILING = """# %% [markdown]
# # Broken

# %%
raise ValueError("this page is broken on purpose")
"""


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A two-page mkdocs project using the real hooks of mkdocs.yml."""
    package = tmp_path / "transconv"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helper.py").write_text("BASE = 1\n")
    (package / "used.py").write_text("from transconv.helper import BASE\n\nVALUE = BASE\n")
    (package / "unused.py").write_text("X = 0\n")
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "score.txt").write_text("0.5\n")
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "docs" / "probe.py").write_text(PAGE)
    (tmp_path / "docs" / "other.py").write_text(OTHER)
    config = {
        "site_name": "probe",
        "hooks": [str(ROOT / hook) for hook in CONFIG["hooks"]],
        "plugins": ["search"],
        "exclude_docs": "i18n/\n",
        "markdown_extensions": [
            "attr_list",
            "md_in_html",
            "pymdownx.arithmatex",
            "pymdownx.details",
            "pymdownx.superfences",
        ],
        "nav": [{"Home": "index.md"}, {"Probe": "probe.py"}, {"Other": "other.py"}],
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return tmp_path


def _env(project: Path) -> dict[str, str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run_build(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=_env(project),
        timeout=300,
    )


def _build(project: Path) -> dict[str, str]:
    """Build ``project`` strictly; return what its pages printed."""
    run = _run_build(project)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "without encryption" not in run.stderr  # the kernel's TCP warning is gone
    probe = (project / "site" / "probe" / "index.html").read_text()
    match = re.search(r"value=(\S+) result=(\S+) extra=(\S+) token=([0-9a-f]{16})", probe)
    assert match, "the probe page's output is missing from its HTML"
    other_html = (project / "site" / "other" / "index.html").read_text()
    other = re.search(r"token=([0-9a-f]{16})", other_html)
    assert other, "the other page's output is missing from its HTML"
    printed = dict(zip(("value", "result", "extra", "token"), match.groups(), strict=True))
    return printed | {"other": other.group(1)}


@pytest.mark.slow
def test_page_reexecutes_exactly_when_something_it_used_changes(project: Path) -> None:
    first = _build(project)
    assert _build(project) == first, "an unchanged rebuild executed a page again"
    assert sorted(p.name for p in (project / ".cache" / "pages").glob("*.json")) == [
        "other.py.json",
        "probe.py.json",
    ]

    (project / "transconv" / "unused.py").write_text("X = 1\n")
    assert _build(project) == first, "a module the page never imported re-executed it"

    (project / "transconv" / "helper.py").write_text("BASE = 2\n")  # imported through `used`
    second = _build(project)
    assert (first["value"], second["value"]) == ("1", "2")
    assert second["token"] != first["token"]
    assert second["other"] == first["other"], "a page that does not import it ran again"

    (project / "docs" / "results" / "score.txt").write_text("0.75\n")
    third = _build(project)
    assert (third["result"], third["token"] != second["token"]) == ("0.75", True)

    (project / "docs" / "results" / "extra.txt").write_text("")  # looked for, was missing
    fourth = _build(project)
    assert (third["extra"], fourth["extra"]) == ("False", "True")


@pytest.mark.slow
def test_editing_one_page_executes_only_that_page(project: Path) -> None:
    first = _build(project)
    (project / "docs" / "other.py").write_text(OTHER + "\n# %%\nprint('edited')\n")
    second = _build(project)
    assert second["other"] != first["other"]
    assert second["token"] == first["token"]


@pytest.mark.slow
def test_a_failing_cell_fails_the_build_and_names_the_page(project: Path) -> None:
    (project / "docs" / "other.py").write_text(FAILING)
    run = _run_build(project)
    assert run.returncode != 0
    assert "other.py" in run.stderr and "this page is broken on purpose" in run.stderr


@pytest.mark.slow
def test_executed_page_renders_as_light_markdown(project: Path) -> None:
    _build(project)
    site = project / "site"
    html = (site / "probe" / "index.html").read_text()
    assert "jp-" not in html and "In&nbsp;[" not in html and "In [" not in html
    assert '<code><span class="kn">import</span>' in html or "language-python" in html
    assert re.search(r'<img alt="A falling straight line" [^>]*src="figure-01\.png"', html)
    assert (site / "probe" / "figure-01.png").read_bytes()[:4] == b"\x89PNG"
    assert re.search(r'<img alt="A rising straight line" [^>]*src="figure-02\.png"', html)
    link = re.search(r'<a [^>]*class="nb-download"[^>]*href="([^"]+)"', html)
    assert link and (site / "probe" / link.group(1)).is_file()
    assert '"cell_type": "code"' in (site / "probe" / link.group(1)).read_text()
    index = (site / "search" / "search_index.json").read_text()
    assert "k = 2s" in index and "\\\\(" not in index
    other = (site / "other" / "index.html").read_text()
    solution = re.search(r'<details class="solution">(.*?)</details>', other, re.DOTALL)
    assert solution, "the solution cell is not folded in a <details class='solution'>"
    assert "<summary>Solution</summary>" in solution.group(1)
    assert "answer=42" in solution.group(1) and "answer" in solution.group(1).split("answer=42")[0]
    assert "Exercise" not in solution.group(1) and "assert answer" not in other


def test_nav_pages_exist_and_every_py_page_is_in_the_nav() -> None:
    def leaves(nav):
        for item in nav:
            for value in item.values():
                yield from leaves(value) if isinstance(value, list) else [value]

    pages = list(leaves(CONFIG["nav"]))
    missing = [page for page in pages if not (ROOT / "docs" / page).is_file()]
    assert not missing, f"nav entries without a file in docs/: {missing}"
    executed = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.py")}
    assert executed <= set(pages), f"executed pages missing from the nav: {executed - set(pages)}"


def test_search_index_maths_is_plain_text() -> None:
    text = plain_maths(r"size \(H_{out} = \frac{H}{s} \times 2\) here")
    assert text == "size H_out = H/s × 2 here"


def test_html_output_images_move_to_files_keeping_their_alt() -> None:
    renderer = Renderer("api/page")
    png = base64.b64encode(b"\x89PNG fake").decode()
    html = renderer.html(f'<img src="data:image/png;base64,{png}" alt="A 4 by 4 grid">')
    assert '<img src="figure-01.png" alt="A 4 by 4 grid">' in html
    assert renderer.assets == {"api/page/figure-01.png": b"\x89PNG fake"}


def test_solution_cells_fold_together_with_their_output() -> None:
    cells = [
        {"cell_type": "markdown", "source": "# T\n\nAn exercise.", "metadata": {}},
        {
            "cell_type": "code",
            "source": "x = 6 * 7",
            "metadata": {"tags": ["solution"]},
            "outputs": [],
        },
        {
            "cell_type": "code",
            "source": "print(x)",
            "metadata": {"tags": ["solution"]},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "42\n"}],
        },
        {"cell_type": "markdown", "source": "After.", "metadata": {}},
    ]
    markdown = Renderer("t", lang="zh").markdown({"cells": cells}, "t/t.ipynb")
    before, folded = markdown.split('??? solution "解答"\n\n')
    body, after = folded.split("\n\nAfter.")
    assert "An exercise." in before and "x = 6 * 7" not in before
    assert all(line.startswith("    ") for line in body.splitlines() if line)
    assert "x = 6 * 7" in body and "print(x)" in body and "42" in body
    assert after == "\n"


def test_hooks_are_thin_adapters() -> None:
    lines = sum(len(p.read_text().splitlines()) for p in (ROOT / "hooks").glob("*.py"))
    assert lines <= 250, f"hooks/*.py hold {lines} lines: move the work into sitebuild/"


def _sitebuild(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sitebuild", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env=_env(project),
        timeout=300,
    )


@pytest.mark.slow
def test_command_line_renders_without_mkdocs_into_the_same_cache(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = _sitebuild(project, "render", "docs/probe.py", "docs/index.md", "--out", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    markdown = (out / "probe.md").read_text()
    assert "![A falling straight line](probe/figure-01.png){ .nb-figure }" in markdown
    assert (out / "probe" / "figure-02.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "index.md").read_text() == "# Home\n"
    token = re.search(r"token=([0-9a-f]{16})", markdown).group(1)
    assert _build(project)["token"] == token, "mkdocs executed the page the command line ran"


ZH_CONFIG = {"INHERIT": "mkdocs.yml", "site_dir": "site/zh", "theme": {"name": "mkdocs"}}
MARK = " 〔译〕"


def _translate_all(project: Path) -> int:
    """Write stubs, then 'translate' every entry by appending MARK; return the entry count."""
    stubs = _sitebuild(project, "i18n", "stubs", "--lang", "zh")
    assert stubs.returncode == 1 and "missing" in stubs.stdout, stubs.stdout + stubs.stderr
    count = 0
    for catalogue in (project / "docs" / "i18n" / "zh").rglob("*.yml"):
        entries = yaml.safe_load(catalogue.read_text())
        for entry in entries.values():
            entry["zh"] = entry["en"] + MARK
            count += 1
        catalogue.write_text(yaml.safe_dump(entries, allow_unicode=True))
    assert _sitebuild(project, "i18n", "status", "--lang", "zh").returncode == 0
    return count


@pytest.mark.slow
def test_chinese_edition_translates_text_and_reuses_every_output(project: Path) -> None:
    english = _build(project)
    ZH_CONFIG["theme"]["language"] = "zh"
    (project / "mkdocs.zh.yml").write_text(yaml.safe_dump(ZH_CONFIG, allow_unicode=True))
    untranslated = _run_build(project, "-f", "mkdocs.zh.yml")
    assert untranslated.returncode != 0 and "not translated into zh" in untranslated.stderr
    assert _translate_all(project) >= 8  # titles, cells, alt texts, nav

    assert _run_build(project, "-f", "mkdocs.zh.yml").returncode == 0
    site, zh = project / "site", project / "site" / "zh"
    probe = (zh / "probe" / "index.html").read_text()
    assert f"token={english['token']}" in probe, "the Chinese page ran the page again"
    assert f"for the search index.{MARK}" in probe
    assert f'<img alt="A falling straight line{MARK}"' in probe
    for figure in ("figure-01.png", "figure-02.png"):
        assert (zh / "probe" / figure).read_bytes() == (site / "probe" / figure).read_bytes()
    assert "<summary>解答</summary>" in (zh / "other" / "index.html").read_text()
    assert f"Home{MARK}" in (zh / "index.html").read_text()

    (project / "docs" / "other.py").write_text(OTHER.replace("six times seven", "6 x 7"))
    _build(project)
    stale = _run_build(project, "-f", "mkdocs.zh.yml")
    assert stale.returncode != 0 and "other.py: 1 texts not translated" in stale.stderr
    assert "1 stale" in stale.stderr

    (project / "transconv" / "helper.py").write_text("BASE = 3\n")  # English run now stale
    rerun = _run_build(project, "-f", "mkdocs.zh.yml")
    assert rerun.returncode != 0 and "build the English site first" in rerun.stderr
