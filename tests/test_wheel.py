"""The package a reader installs: sdist and wheel build, pass `twine check`, and the wheel works
in a fresh virtual environment, from a folder outside the repository.

The fresh environment holds the wheel and only the distributions its metadata declares
(tests/fresh_venv.py says how, offline): an undeclared import fails there.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import transconv
from tests.fresh_venv import (
    FreshVenv,
    build_dist,
    make_fresh_venv,
    run,
    runtime_requirements,
    wheel_in,
    wheel_metadata,
)

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
NOT_SHIPPED = ("tests/", "docs/", "hooks/", "sitebuild/", "benchmarks/")


def test_version_has_one_source():
    assert transconv.__version__ == PYPROJECT["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", transconv.__version__)
    assert not re.search(r"__version__ = \"", (ROOT / "transconv" / "__init__.py").read_text())


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dist(tmp_path_factory.mktemp("build") / "dist")


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    return make_fresh_venv(wheel_in(dist), tmp_path_factory.mktemp("fresh"))


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
    names = zipfile.ZipFile(wheel_in(dist)).namelist()
    info = f"transconv-{PYPROJECT['version']}.dist-info/"
    assert all(n.startswith(("transconv/", info)) for n in names), names
    assert not any(n.startswith(NOT_SHIPPED) for n in names)
    package = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "transconv").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert package == {n for n in names if n.startswith("transconv/")}  # every file, no more
    size = wheel_in(dist).stat().st_size
    print(f"wheel: {wheel_in(dist).name}, {size / 1024:.0f} KiB")
    # README: "one pure-Python wheel under 200 KB"; a big wheel means something was swept in
    assert "pure-Python wheel under 200 KB" in " ".join((ROOT / "README.md").read_text().split())
    assert size < 200 * 1024


@pytest.mark.slow
def test_wheel_metadata_is_the_pyprojects(dist: Path):
    meta = wheel_metadata(wheel_in(dist))
    with zipfile.ZipFile(wheel_in(dist)) as wheel:
        entry_points = wheel.read(
            f"transconv-{PYPROJECT['version']}.dist-info/entry_points.txt"
        ).decode()
    assert meta["Version"] == PYPROJECT["version"] and meta["License-Expression"] == "MIT"
    assert meta["Requires-Python"] == PYPROJECT["requires-python"]
    assert sorted(runtime_requirements(wheel_in(dist))) == sorted(PYPROJECT["dependencies"])
    assert "transconv = transconv.cli:main" in entry_points
    assert meta["Description-Content-Type"] == "text/markdown"


@pytest.mark.slow
def test_fresh_venv_has_every_declared_requirement_and_no_more(fresh, dist: Path):
    venv, env, outside = fresh.venv, fresh.env, fresh.outside
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
    venv, env, outside = fresh.venv, fresh.env, fresh.outside
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
    venv, env, outside = fresh.venv, fresh.env, fresh.outside
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"## Use it\n\n```python\n(.*?)```", readme, re.DOTALL).group(1)
    assert run(venv / "bin" / "python", "-c", example, cwd=outside, env=env).strip() == "(320, 480)"


@pytest.mark.slow
@pytest.mark.parametrize("command", [["transconv"], ["python", "-m", "transconv"]])
def test_wheel_cli_help_outside_the_repository(fresh, command):
    venv, env, outside = fresh.venv, fresh.env, fresh.outside
    executable = venv / "bin" / command[0]
    out = run(executable, *command[1:], "--help", cwd=outside, env=env)
    assert "usage:" in out and "train" in out and "predict" in out


@pytest.mark.slow
def test_wheel_cli_prints_the_version(fresh):
    venv, env, outside = fresh.venv, fresh.env, fresh.outside
    out = run(venv / "bin" / "transconv", "--version", cwd=outside, env=env)
    assert PYPROJECT["version"] in out


def test_the_test_extras_can_build_offline():
    # --no-isolation builds with the venv's own backend: the test extras must install one
    # that meets [build-system] requires
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    extras = {
        Requirement(r).name: Requirement(r) for r in PYPROJECT["optional-dependencies"]["test"]
    }
    for requirement in map(Requirement, build_system["requires"]):
        assert requirement.name in extras, requirement
        assert extras[requirement.name].specifier == requirement.specifier
    assert {"build", "twine"} <= set(extras)
