"""Whether a page is still there: its socket, as Reflex's token manager knows it (the background followers of presence
and of the Preview tab end with their page)."""

from __future__ import annotations

import functools

import reflex as rx
from reflex.utils.prerequisites import get_and_validate_app


@functools.cache
def _app() -> rx.App:
    return get_and_validate_app().app


async def page_connected(client_token: str) -> bool:
    """Whether the page's socket (its client token's) is still connected to a worker."""
    namespace = _app().event_namespace
    if namespace is None:
        return False
    # Reflex offers no public hook for a socket that goes; its token manager is what knows.
    return await namespace._token_manager.is_token_connected(client_token)  # pyright: ignore[reportPrivateUsage]
