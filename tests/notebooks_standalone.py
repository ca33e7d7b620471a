"""Run downloaded notebooks the way a reader does (issue 20, part 3; not wired to the build yet).

Each ``.ipynb`` of a folder is copied alone into its own empty folder outside the repository and
run top to bottom in a new Jupyter kernel whose Python is a fresh venv holding only the built
wheel, its declared requirements and ``ipykernel`` (see tests/fresh_venv.py). No ``PYTHONPATH``,
no checkout around: a notebook that reads ``docs/results/...`` or imports from ``hooks`` fails
here as it would on a reader's machine or in Colab.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.fresh_venv import FreshVenv

KERNEL = "transconv-fresh"


@dataclass(frozen=True)
class NotebookRun:
    name: str  # the notebook's file name
    seconds: float  # wall time, kernel start included
    error: str | None  # None when every cell ran; else the failing cell's error, shortened
    printed: str = ""  # what the cells printed (stdout), in order


def kernel_specs(fresh: FreshVenv) -> KernelSpecManager:
    """A kernel spec that starts ``ipykernel`` with the fresh venv's Python, found only here."""
    folder = fresh.venv.parent / "kernels"
    spec = folder / KERNEL / "kernel.json"
    if not spec.is_file():
        spec.parent.mkdir(parents=True)
        argv = [str(fresh.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec.write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    return KernelSpecManager(kernel_dirs=[str(folder)])


def run_notebook(path: Path, fresh: FreshVenv, *, timeout: int = 600) -> NotebookRun:
    """Run one notebook, copied alone into a new folder under ``fresh.outside``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{path.stem}-", dir=fresh.outside))
    notebook = nbformat.read(shutil.copy(path, workdir), as_version=4)
    kernel = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs(fresh))
    client = NotebookClient(notebook, km=kernel, timeout=timeout, kernel_name=KERNEL)
    start = time.monotonic()
    try:
        # env replaces this process's environment for the kernel: no PYTHONPATH to the checkout
        client.execute(env=fresh.env, cwd=str(workdir))
        error = None
    except CellExecutionError as failure:
        error = str(failure).strip().splitlines()[-1][:500]
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )
    return NotebookRun(path.name, time.monotonic() - start, error, printed)


def run_notebooks_standalone(
    folder: Path, fresh: FreshVenv, *, timeout: int = 600
) -> list[NotebookRun]:
    """Run every ``*.ipynb`` in ``folder`` (sorted by name), each in a new kernel."""
    notebooks = sorted(folder.glob("*.ipynb"))
    assert notebooks, f"no .ipynb in {folder}"
    return [run_notebook(path, fresh, timeout=timeout) for path in notebooks]
