"""Every notebook the site offers for download runs on its own (issue 20, part 3).

The runner (tests/notebooks_standalone.py) is checked first on two small notebooks: it runs one
in the fresh environment and catches one that needs the repository. Then the site's own
notebooks: each in a new kernel of a fresh venv holding only the built wheel, from a temporary
folder outside the repository.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

import transconv
from sitebuild.notebook import downloadable
from sitebuild.pages import Site
from tests.fresh_venv import ROOT, build_dist, make_fresh_venv, wheel_in
from tests.notebooks_standalone import run_notebooks_standalone


def write_notebook(path: Path, *cells: str) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_runner_runs_a_notebook_in_the_wheels_venv_and_catches_one_that_needs_the_repo(
    tmp_path: Path,
):
    fresh = make_fresh_venv(
        wheel_in(build_dist(tmp_path / "dist")), tmp_path / "env", extra=("ipykernel",)
    )
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(
        notebooks / "a_reader.ipynb",
        "import os, sys, transconv\n"
        "assert transconv.__file__.startswith(sys.prefix), transconv.__file__\n"
        "assert 'PYTHONPATH' not in os.environ and os.listdir('.') == ['a_reader.ipynb']",
        "from transconv.shapes import conv_transpose_output_size, upsampling_params\n"
        "assert conv_transpose_output_size((10, 15), *upsampling_params(32)) == (320, 480)",
    )
    write_notebook(
        notebooks / "b_needs_the_repo.ipynb",
        "import json\njson.load(open('docs/results/references.json'))",
    )
    runs = run_notebooks_standalone(notebooks, fresh, timeout=300)
    assert [r.name for r in runs] == ["a_reader.ipynb", "b_needs_the_repo.ipynb"]
    assert runs[0].error is None, runs[0]
    assert "FileNotFoundError" in runs[1].error and "docs/results" in runs[1].error
    print(", ".join(f"{r.name}: {r.seconds:.1f} s" for r in runs))


def site_notebooks(into: Path) -> list[Path]:
    """Every notebook the site offers, copied flat into ``into``.

    From the built site in ``$TRANSCONV_SITE_DIR`` when set (its English pages: the Chinese
    edition offers the same files), else made the way the build makes them
    (``sitebuild.notebook.downloadable``, called by ``Site.render``), without executing pages.
    """
    into.mkdir()
    site = os.environ.get("TRANSCONV_SITE_DIR")
    pages = [p for p in Site(ROOT, ROOT / "docs").pages() if p.endswith(".py")]
    if site:
        found = [p for p in Path(site).rglob("*.ipynb") if p.relative_to(site).parts[0] != "zh"]
        for path in found:
            shutil.copy(path, into / path.name)
    else:
        for page in pages:
            notebook = downloadable(ROOT / "docs" / page, transconv.__version__)
            (into / f"{Path(page).stem}.ipynb").write_text(notebook, encoding="utf-8")
    made = sorted(into.glob("*.ipynb"))
    assert [p.stem for p in made] == sorted(Path(p).stem for p in pages), (made, pages)
    return made


@pytest.mark.slow  # 3 to 6 minutes on two cores: every page runs again, in a kernel of its own
def test_every_notebook_the_site_offers_runs_on_its_own_in_the_wheels_venv(tmp_path: Path):
    start = time.monotonic()
    fresh = make_fresh_venv(
        wheel_in(build_dist(tmp_path / "dist")), tmp_path / "env", extra=("ipykernel",)
    )
    site_notebooks(tmp_path / "notebooks")
    runs = run_notebooks_standalone(tmp_path / "notebooks", fresh, timeout=600)
    failed = [f"{r.name}: {r.error}" for r in runs if r.error]
    assert not failed, "\n".join(failed)
    version = transconv.__version__
    for run in runs:  # the install cell found the wheel's transconv, so installed nothing
        assert run.printed.startswith(
            f"transconv {version} (this notebook was made with {version})"
        )
    [training] = [run for run in runs if run.name == "training.ipynb"]
    assert "transconv: no published results here" in training.printed  # the note, not a failure
    timings = ", ".join(f"{r.name} {r.seconds:.0f} s" for r in runs)
    print(f"{len(runs)} notebooks in {time.monotonic() - start:.0f} s ({timings})")
