"""A fresh virtual environment holding the built wheel and only what it declares, offline.

Used by tests/test_wheel.py (the wheel as a reader installs it) and tests/notebooks_standalone.py
(the downloaded notebooks, run in such an environment plus a Jupyter kernel).

Offline and in seconds, without copying gigabytes of torch: the venv (no system site-packages,
no pip) gets the wheel with ``--no-deps``, plus one folder on its path holding links to exactly
the distributions the wheel's ``Requires-Dist`` needs, followed transitively through each one's
own requirements (markers evaluated), taken from the venv that runs the tests. Nothing else is
importable there, so an import the metadata does not declare fails, and ``pip check`` fails for
a declared requirement that is missing or of the wrong version.
"""

from __future__ import annotations

import email
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def run(*args: object, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    """Run a command; on failure, fail with the end of its output. Returns its stdout."""
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def build_dist(out: Path) -> Path:
    """``python -m build`` (sdist, then the wheel from the sdist) of a copy of the tree into
    ``out``; a copy, so that no build/ or egg-info lands in the checkout."""
    source = out.parent / f"{out.name}-source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "transconv", source / "transconv", ignore=skip)
    # --no-isolation: the build backend comes from this venv instead of the network
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, source, cwd=out.parent)
    return out


def wheel_in(dist: Path) -> Path:
    [wheel] = dist.glob("transconv-*-py3-none-any.whl")
    return wheel


def wheel_metadata(wheel: Path) -> email.message.Message:
    version = wheel.name.split("-")[1]
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(archive.read(f"transconv-{version}.dist-info/METADATA"))


def runtime_requirements(wheel: Path) -> list[str]:
    """The wheel's ``Requires-Dist`` lines that no extra guards."""
    return [r for r in wheel_metadata(wheel).get_all("Requires-Dist") if "extra ==" not in r]


def requirement_closure(requirements: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions that ``requirements`` need, transitively (no extras)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in found:
            continue
        found[name] = dist = importlib.metadata.distribution(requirement.name)
        todo += [Requirement(r) for r in dist.requires or []]
    return list(found.values())


def link_distributions(dists: list[importlib.metadata.Distribution], folder: Path) -> None:
    """Link each distribution's top-level files and folders (from its RECORD) into ``folder``.

    A namespace folder that several distributions share (``nvidia/``) comes whole."""
    sites = {Path(sysconfig.get_paths()[key]) for key in ("purelib", "platlib")}
    folder.mkdir()
    for dist in dists:
        for top in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists() and source.parent in sites:
                (folder / top).symlink_to(source)


@dataclass(frozen=True)
class FreshVenv:
    venv: Path  # the virtual environment
    env: dict[str, str]  # the environment to run its commands in: no PYTHONPATH, no repo
    outside: Path  # an empty folder outside the repository, to run from

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


def make_fresh_venv(wheel: Path, where: Path, extra: tuple[str, ...] = ()) -> FreshVenv:
    """A venv in ``where`` holding ``wheel`` and its runtime requirements' closure, plus the
    closure of the ``extra`` requirements (e.g. ``("ipykernel",)`` for a Jupyter kernel)."""
    where.mkdir(parents=True, exist_ok=True)
    venv = where / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=where)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", wheel, cwd=where)  # fmt: skip
    link_distributions(requirement_closure([*runtime_requirements(wheel), *extra]), where / "deps")
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=where)
    (Path(site.strip()) / "runtime-deps.pth").write_text(f"{where / 'deps'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "MPLBACKEND": "Agg"}
    outside = where / "elsewhere"  # the reader's own folder: no repository files around
    outside.mkdir()
    return FreshVenv(venv, env, outside)
