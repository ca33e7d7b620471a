"""A page as the notebook a reader downloads: it runs on its own, in Jupyter or Colab.

[`downloadable`][sitebuild.notebook.downloadable] turns a jupytext page into ``.ipynb`` text
whose first cell installs ``transconv`` at the version the site was built with, unless it is
already importable. Every cell of the page stays, tags included: the hidden checks
(``remove-input``) are the page's claims, asserted again on the reader's machine, and the
exercises' ``solution`` cells are code the reader runs. Both start with their source folded in
JupyterLab (``jupyter.source_hidden``), as they are on the site.

tests/test_notebooks_standalone.py runs every such notebook in a fresh environment holding only
the built wheel, from a folder outside the repository.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

#: The git URL README gives for installing before a PyPI release (OWNER: the hosting account).
GIT_URL = "git+https://github.com/OWNER/transconv"
#: Tags whose cells start folded, as on the site.
FOLDED_TAGS = ("remove-input", "solution")


def install_cell(version: str) -> nbformat.NotebookNode:
    """The first cell: import ``transconv``, installing ``transconv==version`` if absent.

    Parameters
    ----------
    version : str
        The version the site was built with (``transconv.__version__``), pinned by the install.

    Returns
    -------
    nbformat.NotebookNode
        A code cell tagged ``install``.

    Examples
    --------
    >>> print(install_cell("0.1.0").source.splitlines()[-1])
    print(f"transconv {transconv.__version__} (this notebook was made with 0.1.0)")
    """
    source = f"""\
# This notebook was made with transconv {version}: install that version unless one is present.
# Before transconv is on PyPI, install it from git instead (README, "Install"):
#   %pip install "transconv @ {GIT_URL}@v{version}"
try:
    import transconv
except ImportError:
    %pip install --quiet "transconv=={version}"
    import transconv
print(f"transconv {{transconv.__version__}} (this notebook was made with {version})")"""
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["install"]})


def downloadable(source: Path, version: str) -> str:
    """The ``.ipynb`` text a reader downloads for the jupytext page ``source``.

    Parameters
    ----------
    source : Path
        The page, a jupytext ``.py`` file (``docs/fcn.py``).
    version : str
        The ``transconv`` version the first cell installs.

    Returns
    -------
    str
        The notebook as JSON text (nbformat 4), without outputs.
    """
    notebook = jupytext.read(source)
    for cell in notebook.cells:
        if set(cell.metadata.get("tags", [])) & set(FOLDED_TAGS):
            cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    notebook.cells.insert(0, install_cell(version))
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index}"  # not random: the same page gives the same file
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return jupytext.writes(notebook, fmt="ipynb")
