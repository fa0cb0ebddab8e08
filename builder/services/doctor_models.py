"""The doctor's models line: the models the environment's settings set, and those an admin connected on the admin
page, each by its provider, where it is reached and its default model, and whether the environment overrides it.
Settings are named, their values never shown; a connection's key is never read here (ModelConnectionInfo has none).
"""

from __future__ import annotations

from collections.abc import Sequence

from builder.services.model_connections import ModelConnectionInfo
from builder.settings import settings


def environment_models() -> list[str]:
    """The settings that set a model here, by name."""
    present = [
        name
        for name, key in (("ANTHROPIC_API_KEY", settings.anthropic_api_key), ("OPENAI_API_KEY", settings.openai_api_key))
        if key
    ]
    return [*present, "OPENAI_BASE_URL"] if settings.openai_base_url else present


def _overridden_by(kind: str, environment: Sequence[str]) -> str:
    names = [name for name in environment if name.startswith("ANTHROPIC" if kind == "anthropic" else "OPENAI")]
    return " and ".join(names)


def connected_words(connection: ModelConnectionInfo, environment: Sequence[str]) -> str:
    """ "Claude, model claude-x (the default; ANTHROPIC_API_KEY overrides it)"."""
    where = f" at {connection.base_url}" if connection.base_url else ""
    notes = ["the default"] if connection.is_default else []
    if connection.environment_wins:
        notes.append(f"{_overridden_by(connection.kind, environment) or 'the environment'} overrides it")
    elif not connection.in_use:
        notes.append("not used: another connection of this provider is")
    return f"{connection.label}{where}, model {connection.model}" + (f" ({'; '.join(notes)})" if notes else "")


def models_detail(connected: Sequence[ModelConnectionInfo] | None) -> str:
    """The models line; `connected` None: this process cannot read the database (the command, with no Forja running)."""
    environment = environment_models()
    said = [f"Set in the environment: {', '.join(environment)} (values never shown)."] if environment else []
    if connected:
        listed = "; ".join(connected_words(c, environment) for c in connected)
        said.append(f"Connected on the admin page: {listed} (keys never shown).")
    elif connected is None:
        said.append("Those connected on the admin page are listed on the doctor page and the admin page.")
    if not environment and not connected:
        said.append("No model is connected: Forja builds apps from its offline starters.")
    return " ".join(said)
