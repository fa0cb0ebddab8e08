"""Which model provider a request goes to: `get_provider` picks one by name and settings, `available_providers` says
which can run here."""

from __future__ import annotations

from builder.errors import ProviderError
from builder.generation.providers.base import Provider
from builder.settings import settings

PROVIDER_LABELS = {"offline": "Offline starters", "anthropic": "Claude", "openai": "OpenAI-compatible"}


def available_providers() -> list[str]:
    """Providers that can run with the current settings, offline always among them."""
    names = ["offline"]
    if settings.anthropic_api_key:
        names.append("anthropic")
    if settings.openai_api_key or settings.openai_base_url:
        names.append("openai")
    return names


def get_provider(name: str | None = None, model: str | None = None) -> Provider:
    name = name or settings.default_provider
    if name == "anthropic":
        if not settings.anthropic_api_key:
            raise ProviderError("Claude is not set up: set ANTHROPIC_API_KEY in Forja's environment and restart Forja.")
        from builder.generation.providers.anthropic import AnthropicProvider

        return AnthropicProvider(model or settings.anthropic_model)
    if name == "openai":
        if not (settings.openai_api_key or settings.openai_base_url):
            raise ProviderError(
                "No OpenAI-compatible server is set up: set OPENAI_API_KEY and/or OPENAI_BASE_URL and restart Forja."
            )
        from builder.generation.providers.openai import OpenAIProvider

        return OpenAIProvider(model or settings.openai_model)
    if name == "offline":
        from builder.generation.providers.offline import OfflineProvider

        return OfflineProvider()
    raise ProviderError(f"Unknown provider {name!r}; choose one of: offline, anthropic, openai.")
