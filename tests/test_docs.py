"""Tests of the docs build machinery: mkdocs.yml and the hooks in hooks/.

The cache tests build a tiny temporary mkdocs project that uses the real hooks and the real
mkdocs-jupyter options from mkdocs.yml. Its one page prints a value read from the project's
``transconv/`` package, a value from ``docs/results/`` and a random token: the token stays the
same exactly when the page came from the cache.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

PAGE = '''# %% [markdown]
# # Probe

# %%
import pathlib
import runpy
import secrets

value = runpy.run_path("transconv/probe.py")["VALUE"]
result = pathlib.Path("docs/results/score.txt").read_text().strip()
print(f"value={value} result={result} token={secrets.token_hex(8)}")
'''


def _load_hook(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _jupyter_options() -> dict:
    """The mkdocs-jupyter options of the real mkdocs.yml."""
    plugin = next(p for p in CONFIG["plugins"] if isinstance(p, dict) and "mkdocs-jupyter" in p)
    return plugin["mkdocs-jupyter"]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A one-page mkdocs project using the real hooks and mkdocs-jupyter options."""
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "transconv").mkdir()
    (tmp_path / "transconv" / "probe.py").write_text("VALUE = 1\n")
    (tmp_path / "docs" / "results" / "score.txt").write_text("0.5\n")
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    (tmp_path / "docs" / "probe.py").write_text(PAGE)
    config = {
        "site_name": "probe",
        "hooks": [str(ROOT / hook) for hook in CONFIG["hooks"]],
        "plugins": [{"mkdocs-jupyter": {**_jupyter_options(), "include": ["probe.py"]}}],
        "nav": [{"Home": "index.md"}, {"Probe": "probe.py"}],
    }
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(config))
    return tmp_path


def _build(project: Path) -> dict[str, str]:
    """Build ``project`` strictly; return the value, result and token its page printed."""
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    html = (project / "site" / "probe" / "index.html").read_text()
    match = re.search(r"value=(\S+) result=(\S+) token=([0-9a-f]{16})", html)
    assert match, "the probe page's output is missing from its HTML"
    return dict(zip(("value", "result", "token"), match.groups()))


def test_unchanged_rebuild_hits_the_cache(project: Path) -> None:
    first = _build(project)
    second = _build(project)
    assert first == second  # same token: the page was not executed again
    assert len(list((project / ".cache" / "mkdocs-jupyter").glob("*/*.json"))) == 1


def test_package_or_results_change_reexecutes_the_page(project: Path) -> None:
    first = _build(project)
    (project / "transconv" / "probe.py").write_text("VALUE = 2\n")
    second = _build(project)
    assert (first["value"], second["value"]) == ("1", "2")
    assert second["token"] != first["token"]
    caches = list((project / ".cache" / "mkdocs-jupyter").iterdir())
    assert len(caches) == 1, f"the stale cache was not removed: {caches}"
    (project / "docs" / "results" / "score.txt").write_text("0.75\n")
    third = _build(project)
    assert (second["result"], third["result"]) == ("0.5", "0.75")
    assert third["token"] != second["token"]


def test_sources_digest_follows_contents_and_names(tmp_path: Path) -> None:
    digest = _load_hook("cache_key").sources_digest
    (tmp_path / "transconv" / "__pycache__").mkdir(parents=True)
    (tmp_path / "transconv" / "a.py").write_text("x = 1\n")
    before = digest(tmp_path)
    (tmp_path / "transconv" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert digest(tmp_path) == before  # bytecode is not a source
    (tmp_path / "transconv" / "a.py").write_text("x = 2\n")
    changed = digest(tmp_path)
    assert changed != before
    (tmp_path / "transconv" / "a.py").rename(tmp_path / "transconv" / "b.py")
    assert digest(tmp_path) != changed


def test_nav_pages_exist_and_are_executed() -> None:
    def leaves(nav):
        for item in nav:
            for value in item.values():
                yield from leaves(value) if isinstance(value, list) else [value]

    pages = list(leaves(CONFIG["nav"]))
    missing = [page for page in pages if not (ROOT / "docs" / page).is_file()]
    assert not missing, f"nav entries without a file in docs/: {missing}"
    options = _jupyter_options()
    assert {page for page in pages if page.endswith(".py")} == set(options["include"])
    assert options["execute"] is True and options["allow_errors"] is False


def test_kernel_env_hook_selects_the_inline_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    hook = _load_hook("kernel_env")
    assert hook.on_config({"site_name": "x"}) == {"site_name": "x"}
    assert os.environ["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"
