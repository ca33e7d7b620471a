"""The notebook a page offers for download (sitebuild/notebook.py): what a reader opens first.

tests/test_notebooks_standalone.py runs these notebooks in a fresh environment; here, quickly,
their shape: the install cell first, every cell of the page after it, tags kept.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

import transconv
from sitebuild.notebook import GIT_URL, downloadable
from sitebuild.pages import Site

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.py"))


def test_first_cell_installs_the_sites_version_only_when_transconv_is_not_importable() -> None:
    notebook = nbformat.reads(downloadable(ROOT / "docs" / "bilinear.py", "9.8.7"), as_version=4)
    nbformat.validate(notebook)
    first = notebook.cells[0]
    assert first.cell_type == "code" and first.metadata["tags"] == ["install"]
    python = TransformerManager().transform_cell(first.source)  # what IPython runs: %pip
    assert "run_line_magic('pip', 'install --quiet \"transconv==9.8.7\"')" in python, python
    assert f"{GIT_URL}@v9.8.7" in first.source  # the pre-release route, as README gives it
    namespace: dict = {}
    exec(compile(python, "install-cell", "exec"), namespace)  # importable here: no install
    assert namespace["transconv"].__version__ == transconv.__version__


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_cell_of_the_page_follows_with_its_tags_and_checks_start_folded(page: Path) -> None:
    source = jupytext.read(page)
    notebook = nbformat.reads(downloadable(page, transconv.__version__), as_version=4)
    cells = notebook.cells[1:]
    assert [c.source for c in cells] == [c.source for c in source.cells]
    assert [c.metadata.get("tags") for c in cells] == [c.metadata.get("tags") for c in source.cells]
    for cell in cells:
        folded = cell.metadata.get("jupyter", {}).get("source_hidden", False)
        tags = cell.metadata.get("tags", [])
        assert folded == ("remove-input" in tags or "solution" in tags), cell.source[:80]
    assert not any(c.get("outputs") for c in cells)
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow  # executes the page unless .cache/ holds its run
def test_the_site_offers_that_notebook() -> None:
    page = "matrix_view.py"
    files = Site(ROOT, ROOT / "docs").render(page).files
    assert files["matrix_view/matrix_view.ipynb"] == downloadable(
        ROOT / "docs" / page, transconv.__version__
    )
