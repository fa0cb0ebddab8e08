"""Every page state reaches the services through builder/state/auth.py, which names the person (and checks their role in
a project) at each event: a state that imported get_services itself could act for nobody in particular."""

from __future__ import annotations

import ast
from pathlib import Path

STATES = Path(__file__).resolve().parents[2] / "builder" / "state"
# auth.py is the way in; the sign-in pages' state runs before anyone is signed in, to offer sign-up and sign-in.
ALLOWED = {"auth.py", "signin.py"}


def imports_get_services(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "builder.composition":
            if any(alias.name == "get_services" for alias in node.names):
                return True
        if isinstance(node, ast.Attribute) and node.attr == "get_services":
            return True
    return False


def test_states_reach_the_services_only_through_auth() -> None:
    offenders = sorted(
        path.name for path in STATES.glob("*.py") if path.name not in ALLOWED and imports_get_services(path.read_text())
    )
    assert offenders == [], "use builder.state.auth.signed_in / for_project or WorkspaceState.allowed instead"


def test_the_check_sees_an_import() -> None:
    assert imports_get_services("from builder.composition import Services, get_services\n")
    assert imports_get_services("import builder.composition\nbuilder.composition.get_services()\n")
    assert not imports_get_services("from builder.state.auth import signed_in\n")
