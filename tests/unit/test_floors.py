"""Forja is a house of floors, and imports go only down (or along one floor): what a floor needs is under it, and
nothing under it knows what is built on it. docs/architecture.md draws the floors; these two tables are the rule.

A module's floor is that of the longest name in FLOORS it lies in; `builder` alone is the floor of Forja's parts that
need no service, so a new module starts there, and an import up from it says where it belongs. Floors side by side
(the API and the CLI) do not import each other.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.import_graph import forja_modules, imports, inside

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"

# Each floor by the modules it holds.
FLOORS: dict[str, tuple[str, ...]] = {
    "preview runtime": ("preview_runtime",),
    # Settings, errors, models, the store, files, generation, publishing's edge, git's plumbing, eval's results.
    "parts": ("builder",),
    "cluster": ("builder.cluster",),
    "services": ("builder.services",),
    # Forja as a git server: pushes become versions through the projects' service.
    "git server": ("builder.git.caps", "builder.git.mirror", "builder.git.pushes", "builder.git.server", "builder.git.sync"),
    "composition root": ("builder.composition",),
    # What drives the services as a whole: the clients' backends, the eval's runner, graders and security probes.
    "drivers": (
        "builder.client",
        "builder.eval.cross_user",
        "builder.eval.grader",
        "builder.eval.probes",
        "builder.eval.runner",
        "builder.eval.webbench_grader",
    ),
    "mcp server": ("builder.mcp",),
    "api": ("builder.api",),
    "page": ("builder.components", "builder.pages", "builder.state"),
    "cli": ("builder.cli",),
    "launcher": ("builder.launch",),
    "app": ("builder.__main__", "builder.builder"),
}
# Each floor and the floors right under it: it may import its own modules, theirs, and those of every floor under them.
UNDER: dict[str, tuple[str, ...]] = {
    "preview runtime": (),
    "parts": ("preview runtime",),
    "cluster": ("parts",),
    "services": ("cluster",),
    "git server": ("services",),
    "composition root": ("git server",),
    "drivers": ("composition root",),
    "mcp server": ("drivers",),
    "api": ("mcp server",),
    "page": ("api",),
    "cli": ("mcp server",),
    "launcher": ("parts",),
    "app": ("page", "cli", "launcher"),
}


def allowed() -> set[tuple[str, str]]:
    """(floor, a floor it may import): itself and everything under it."""
    pairs: set[tuple[str, str]] = set()
    for floor in UNDER:
        seen, todo = {floor}, [floor]
        while todo:
            for below in UNDER[todo.pop()]:
                if below not in seen:
                    seen.add(below)
                    todo.append(below)
        pairs.update((floor, other) for other in seen)
    return pairs


def floor_of(module: str) -> str:
    best, floor = "", ""
    for name, prefixes in FLOORS.items():
        for prefix in prefixes:
            if inside(module, prefix) and len(prefix) > len(best):
                best, floor = prefix, name
    assert floor, f"{module} is on no floor"
    return floor


def upward(graph: dict[str, set[str]]) -> list[str]:
    pairs = allowed()
    return sorted(
        f"{module} ({floor_of(module)}) imports {other} ({floor_of(other)})"
        for module, others in graph.items()
        for other in others
        if (floor_of(module), floor_of(other)) not in pairs
    )


def test_imports_go_only_down_the_floors() -> None:
    assert upward(imports(forja_modules())) == []


def test_the_check_sees_an_import_up() -> None:
    # The cluster took PresenceService from the services, which stand on the cluster.
    sources = {"builder.cluster.presence": "from builder.services.presence import PresenceService\n"}
    sources["builder.services.presence"] = ""
    assert upward(imports(sources)) == [
        "builder.cluster.presence (cluster) imports builder.services.presence (services)",
    ]


def test_the_check_sees_an_import_between_floors_side_by_side() -> None:
    # The MCP server and the API took the CLI's backend: the CLI is beside the API, above the MCP server.
    sources = {"builder.mcp.tools": "from builder.cli.backend import Backend\n", "builder.cli.backend": ""}
    assert upward(imports(sources)) == ["builder.mcp.tools (mcp server) imports builder.cli.backend (cli)"]


def test_every_name_in_the_table_is_a_module_and_every_floor_stands_on_floors() -> None:
    names = set(forja_modules())
    assert [prefix for prefixes in FLOORS.values() for prefix in prefixes if prefix not in names] == []
    assert set(UNDER) == set(FLOORS)
    assert all(below in FLOORS for belows in UNDER.values() for below in belows)


def test_the_architecture_page_draws_the_floors_as_the_table_says() -> None:
    block = ARCHITECTURE.read_text().split("\n## Floors\n", 1)[1].split("```mermaid\n", 1)[1].split("```", 1)[0]
    arrows = re.findall(r"^ *(\w+) --> (\w+)$", block, flags=re.MULTILINE)
    drawn = {(upper.replace("_", " "), lower.replace("_", " ")) for upper, lower in arrows}
    assert drawn == {(floor, below) for floor, belows in UNDER.items() for below in belows}
