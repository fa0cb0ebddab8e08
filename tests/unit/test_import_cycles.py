"""No module of Forja imports, even only for type checking, a module that imports it back (directly or through others).

An import circle makes the order in which modules load matter (a name imported from a half-loaded module is missing),
and an import under TYPE_CHECKING hides one from the interpreter without ending it: the swarm's nodes and pools had
one. The imports are read from the source, so the guarded ones count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def modules(package: str) -> dict[str, str]:
    """Module name -> its source, for every module of `package` (a package by its __init__'s name)."""
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
    return found


def imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules among `sources` it imports: `from a.b import c` imports the module a.b.c when there is
    one (a.b, its package, is loaded first whatever it holds), else a name of a.b."""
    graph: dict[str, set[str]] = {}
    for name, source in sources.items():
        wanted: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                wanted.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    wanted.add(submodule if submodule in sources else node.module)
        graph[name] = {module for module in wanted if module in sources and module != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that reach one another through imports (Tarjan's strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                found.append(sorted([module, *group]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


@pytest.mark.parametrize("package", ["builder", "preview_runtime"])
def test_no_import_circles(package: str) -> None:
    assert circles(imports(modules(package))) == []


def test_the_check_sees_a_circle_behind_type_checking() -> None:
    sources = {
        "p.nodes": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.pool import Pool\n",
        "p.pool": "from p.nodes import Node\n",
        "p.runner": "from p import pool\n",
    }
    assert circles(imports(sources)) == [["p.nodes", "p.pool"]]
