"""The package's shape: no import cycles, no private reach-ins, one home for DataLoaders, and
docstrings in the markup the site renders (Markdown and arithmatex, not reST)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "transconv"
MODULES = {
    ".".join(path.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): path
    for path in sorted(ROOT.rglob("*.py"))
}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    parts = module.split(".")[: len(module.split(".")) - node.level + is_package]
    return ".".join(parts + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import, function-level too."""
    found = []
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES:  # `from transconv.data import loaders`: a module
                    found.append((sub, None, node.lineno))
                else:
                    found.append((source, alias.name, node.lineno))
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        targets = set()
        for target, _, _ in _imports(module):
            # importing a.b.c runs a and a.b too, but a package importing its own modules is
            # how re-exports work: count the module itself and stop there
            if target in MODULES and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _is_package_of(package: str, module: str) -> bool:
    return MODULES[package].name == "__init__.py" and module.startswith(package + ".")


def test_the_graph_sees_function_level_and_relative_imports() -> None:
    assert "transconv.data.gpu" in _graph()["transconv.data.loaders"]  # imported in a function
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_private_names_imported_from_another_module() -> None:
    reach_ins = [
        f"{MODULES[module].relative_to(ROOT.parent)}:{line}: from {target} import {name}"
        for module in MODULES
        for target, name, line in _imports(module)
        if target.startswith("transconv")
        and name is not None
        and name.startswith("_")
        and not name.startswith("__")
        and target != module
        and not _is_package_of(module, target)  # a package may re-export its modules' names
    ]
    assert reach_ins == []


def test_dataloaders_are_built_only_under_transconv_data() -> None:
    outside = [
        str(path.relative_to(ROOT.parent))
        for module, path in MODULES.items()
        if not module.startswith("transconv.data") and "DataLoader(" in path.read_text()
    ]
    assert outside == []


_REST = {  # kind: (pattern, a sample it must find)
    "a reST table": (re.compile(r"^\s*=+(\s+=+)+\s*$", re.M), "  =====  ====\n"),
    "a Sphinx role": (re.compile(r":(func|class|meth|mod|attr|math|ref|obj|exc):`"), ":func:`f`"),
    "a reST directive": (re.compile(r"^\s*\.\. [a-z-]+::", re.M), "text\n  .. math::\n"),
}


def _docstrings() -> list[tuple[str, str]]:
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    found.append((f"{module}:{getattr(node, 'name', '')}", doc))
    return found


@pytest.mark.parametrize("kind", sorted(_REST))
def test_docstrings_use_the_markup_the_site_renders(kind: str) -> None:
    pattern, sample = _REST[kind]
    assert pattern.search(sample)  # the pattern finds what it is for
    leaks = [where for where, doc in _docstrings() if pattern.search(doc)]
    assert leaks == [], f"{kind} in a docstring renders as plain text on the API pages"
