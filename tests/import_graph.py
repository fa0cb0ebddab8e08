"""Forja's modules and what loading each may load, read from the source: the imports under TYPE_CHECKING and inside
functions count too (they hide an import from the interpreter, or put it off, without ending it).

Python loads a package before any module in it: `import a.b.c` from outside `a.b` runs `a/b/__init__.py` first, to its
end, and only then `a.b.c`. So the graph has an edge from each importer to every package above what it imports that it
does not lie in itself; a module inside `a.b` runs once `a.b` has started, and loads it no more. That is why a package
that imports its own modules (`builder/settings/__init__.py`) is no circle, and why one that imports half of Forja
(`builder/services/__init__.py` once did) makes every module it reaches a part of whichever circle passes through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("builder", "preview_runtime")


def modules(package: str) -> dict[str, str]:
    """Module name -> its source, for every module of `package` that Python can import by name: a file whose folders
    are packages (with an __init__.py) all the way up, a package by its __init__'s name. Alembic's migrations and the
    eval suites' reference apps are scripts of their tools, not modules of Forja."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        folders = path.relative_to(ROOT).parents
        if not all((ROOT / folder / "__init__.py").is_file() for folder in folders if folder != Path(".")):
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
    return found


def forja_modules() -> dict[str, str]:
    return {name: source for package in PACKAGES for name, source in modules(package).items()}


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """Module -> the modules among `sources` that loading it may load: what it imports (`from a.b import c` imports the
    module a.b.c when there is one, else a name of a.b) and each package above that which it does not lie in."""
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
        loaded = set(wanted)
        for module in wanted:
            parts = module.split(".")
            packages = (".".join(parts[:end]) for end in range(1, len(parts)))
            loaded.update(package for package in packages if not inside(name, package))
        graph[name] = {module for module in loaded if module in sources and module != name}
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
