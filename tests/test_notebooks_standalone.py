"""The standalone-notebook runner (tests/notebooks_standalone.py) on two small notebooks.

Issue 20 part 3 will point it at the site's downloadable notebooks; until then this checks that
it runs a notebook in the fresh environment and catches one that needs the repository.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.fresh_venv import build_dist, make_fresh_venv, wheel_in
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
