"""The package a reader installs: sdist and wheel build, pass `twine check`, and the wheel works
in a fresh virtual environment, from a folder outside the repository.

Offline and in under a minute, without copying gigabytes of torch: the fresh venv (no system
site-packages) gets the wheel with ``--no-deps``, plus one folder on its path holding links to
exactly the distributions that the wheel's ``Requires-Dist`` needs, followed transitively
through each one's own requirements (markers evaluated), taken from the venv running the tests.
Nothing else is importable there, so an import the metadata does not declare fails, and
``pip check`` fails for a declared requirement that is missing or of the wrong version.
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
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import transconv

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NOT_SHIPPED = ("tests/", "docs/", "hooks/", "sitebuild/", "benchmarks/")


def test_version_has_one_source():
    assert transconv.__version__ == PYPROJECT["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", transconv.__version__)
    assert not re.search(r"__version__ = \"", (ROOT / "transconv" / "__init__.py").read_text())


def run(*args: object, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` (sdist, then the wheel from the sdist) of a copy of the tree."""
    tmp = tmp_path_factory.mktemp("build")
    source = tmp / "source"  # a copy, so no build/ or egg-info lands in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(
        ROOT / "transconv", source / "transconv", ignore=shutil.ignore_patterns("__pycache__")
    )
    # --no-isolation: the build backend comes from this venv instead of the network
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", tmp / "dist", source, cwd=tmp)
    return tmp / "dist"


def the_wheel(dist: Path) -> Path:
    [wheel] = dist.glob("transconv-*-py3-none-any.whl")
    return wheel


@pytest.mark.slow
def test_sdist_and_wheel_pass_twine_check(dist: Path):
    files = sorted(dist.iterdir())
    assert [f.name for f in files] == [
        f"transconv-{PYPROJECT['version']}-py3-none-any.whl",
        f"transconv-{PYPROJECT['version']}.tar.gz",
    ]
    out = run(sys.executable, "-m", "twine", "check", "--strict", *files, cwd=dist)
    assert out.count("PASSED") == 2, out


@pytest.mark.slow
def test_wheel_holds_the_package_and_nothing_else(dist: Path):
    names = zipfile.ZipFile(the_wheel(dist)).namelist()
    info = f"transconv-{PYPROJECT['version']}.dist-info/"
    assert all(n.startswith(("transconv/", info)) for n in names), names
    assert not any(n.startswith(NOT_SHIPPED) for n in names)
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "transconv").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package == {n for n in names if n.startswith("transconv/")}  # every file, no more
    size = the_wheel(dist).stat().st_size
    print(f"wheel: {the_wheel(dist).name}, {size / 1024:.0f} KiB")
    # README: "one pure-Python wheel under 200 KB"; a big wheel means something was swept in
    assert "pure-Python wheel under 200 KB" in " ".join((ROOT / "README.md").read_text().split())
    assert size < 200 * 1024


@pytest.mark.slow
def test_wheel_metadata_is_the_pyprojects(dist: Path):
    with zipfile.ZipFile(the_wheel(dist)) as wheel:
        meta = email.message_from_bytes(
            wheel.read(f"transconv-{PYPROJECT['version']}.dist-info/METADATA")
        )
        entry_points = wheel.read(
            f"transconv-{PYPROJECT['version']}.dist-info/entry_points.txt"
        ).decode()
    assert meta["Version"] == PYPROJECT["version"] and meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == PYPROJECT["requires-python"]
    runtime = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(runtime) == sorted(PYPROJECT["dependencies"])
    assert "transconv = transconv.cli:main" in entry_points
    assert meta["Description-Content-Type"] == "text/markdown"


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
    """Link each distribution's top-level files and folders (from its RECORD) into ``folder``."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder.mkdir()
    for dist in dists:
        for top in {Path(f).parts[0] for f in dist.files or [] if not str(f).startswith("..")}:
            source = Path(dist.locate_file(top))
            if source.exists() and not (folder / top).exists() and source.parent == site:
                (folder / top).symlink_to(source)


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, Path]:
    """A venv holding the wheel and, on its path, only the wheel's runtime requirements."""
    tmp = tmp_path_factory.mktemp("fresh")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
        "--quiet", the_wheel(dist), cwd=tmp)  # fmt: skip
    with zipfile.ZipFile(the_wheel(dist)) as wheel:
        meta = email.message_from_bytes(
            wheel.read(f"transconv-{PYPROJECT['version']}.dist-info/METADATA")
        )
    runtime = [r for r in meta.get_all("Requires-Dist") if "extra ==" not in r]
    link_distributions(requirement_closure(runtime), tmp / "deps")
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp)
    (Path(site.strip()) / "runtime-deps.pth").write_text(f"{tmp / 'deps'}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env |= {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "MPLBACKEND": "Agg"}
    outside = tmp / "elsewhere"  # the reader's own folder: no repository files around
    outside.mkdir()
    return venv, env, outside


@pytest.mark.slow
def test_fresh_venv_has_every_declared_requirement_and_no_more(fresh, dist: Path):
    venv, env, outside = fresh
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "check", cwd=outside, env=env)
    # the test stack is not there: what the package imports must come from its requirements
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('pytest', 'yaml', 'mkdocs', 'jupytext') if u.find_spec(m)])"
    )
    assert run(python, "-c", probe, cwd=outside, env=env).strip() == "[]"


@pytest.mark.slow
def test_wheel_imports_every_module_outside_the_repository(fresh):
    venv, env, outside = fresh
    script = (
        "import importlib, pkgutil, transconv\n"
        "names = [m.name for m in pkgutil.walk_packages(transconv.__path__, 'transconv.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(transconv.__file__); print(transconv.__version__); print(len(names))\n"
    )
    file, version, count = run(venv / "bin" / "python", "-c", script, cwd=outside, env=env).split()
    assert file.startswith(str(venv)) and version == PYPROJECT["version"]
    assert int(count) > 20


@pytest.mark.slow
def test_wheel_runs_the_readme_example_outside_the_repository(fresh):
    venv, env, outside = fresh
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"## Use it\n\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    assert run(venv / "bin" / "python", "-c", example, cwd=outside, env=env).strip() == "(320, 480)"


@pytest.mark.slow
@pytest.mark.parametrize("command", [["transconv"], ["python", "-m", "transconv"]])
def test_wheel_cli_help_outside_the_repository(fresh, command):
    venv, env, outside = fresh
    executable = venv / "bin" / command[0]
    out = run(executable, *command[1:], "--help", cwd=outside, env=env)
    assert "usage:" in out and "train" in out and "predict" in out


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="`transconv --version` arrives with helper run's cli.py")
def test_wheel_cli_prints_the_version(fresh):
    venv, env, outside = fresh
    out = run(venv / "bin" / "transconv", "--version", cwd=outside, env=env)
    assert PYPROJECT["version"] in out
