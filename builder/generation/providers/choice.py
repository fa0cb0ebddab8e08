"""Which model provider a request goes to: `get_provider` picks one by name, settings and the models an admin
connected, `available_providers` says which can run here. The environment's keys win over a connected model."""

from __future__ import annotations

from builder.errors import ProviderError
from builder.generation.providers.base import Provider
from builder.generation.providers.stored import Connection, stored
from builder.generation.who_connects import NOT_CONNECTED
from builder.settings import settings

PROVIDER_LABELS = {"offline": "Offline starters", "anthropic": "Claude", "openai": "OpenAI-compatible"}


def from_environment(kind: str) -> Connection | None:
    """The connection the environment's settings make, if they make one."""
    if kind == "anthropic" and settings.anthropic_api_key:
        return Connection(kind, settings.anthropic_api_key, settings.anthropic_base_url, settings.anthropic_model)
    if kind == "openai" and (settings.openai_api_key or settings.openai_base_url):
        return Connection(kind, settings.openai_api_key, settings.openai_base_url, settings.openai_model)
    return None


async def connections() -> dict[str, Connection]:
    """The connection of each provider that has one: the environment's, else the one an admin connected."""
    kept = (await stored()).by_kind
    found = {kind: from_environment(kind) or kept.get(kind) for kind in ("anthropic", "openai")}
    return {kind: connection for kind, connection in found.items() if connection is not None}


async def available_providers() -> list[str]:
    """Providers that can run now, offline always among them."""
    return ["offline", *await connections()]


async def labelled_providers() -> list[tuple[str, str]]:
    """`available_providers` with the words a menu shows: the provider and the model it uses, so that a person
    sees which model of the ones an admin connected builds their app."""
    found = await connections()
    return [("offline", PROVIDER_LABELS["offline"]), *((k, f"{PROVIDER_LABELS[k]} \u00b7 {c.model}") for k, c in found.items())]


async def default_provider() -> str:
    """The provider of a project that has not picked one: the setting, else the environment's, else the default
    connected model, else offline."""
    if settings.provider or settings.default_provider != "offline":
        return settings.default_provider
    return (await stored()).default_kind or "offline"


async def get_provider(name: str | None = None, model: str | None = None) -> Provider:
    name = name or await default_provider()
    if name == "offline":
        from builder.generation.providers.offline import OfflineProvider

        return OfflineProvider()
    if name not in PROVIDER_LABELS:
        raise ProviderError(f"Unknown provider {name!r}; choose one of: offline, anthropic, openai.")
    connection = (await connections()).get(name)
    if connection is None:
        raise ProviderError(NOT_CONNECTED.format(label=PROVIDER_LABELS[name]))
    if name == "anthropic":
        from builder.generation.providers.anthropic import AnthropicProvider

        return AnthropicProvider(model or connection.model, connection)
    from builder.generation.providers.openai import OpenAIProvider

    return OpenAIProvider(model or connection.model, connection)
