"""Fixtures of the integration tests of a Forja with accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import builder.services
from builder.services import Services
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.accounts import Person, someone


@pytest.fixture
async def accounts_on(store: ProjectStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Services]:
    """The services on `store` (SQLite and PostgreSQL), installed where the API and the pages find them, on a Forja with
    accounts (FORJA_AUTH=password); generations unchecked unless a test asks, files in the test's own folder."""
    instance = Services(store=store, logs=LogHub())
    monkeypatch.setattr(builder.services, "_services", instance)
    monkeypatch.setattr(settings, "auth", "password")
    monkeypatch.setattr(settings, "verify_generations", False)
    monkeypatch.setattr(settings, "data_dir", tmp_path / "data")
    yield instance
    await instance.close()


@pytest.fixture
async def ana(accounts_on: Services) -> AsyncIterator[Person]:
    """The first account, so the admin."""
    async with someone(accounts_on, "ana@example.org", "Ana Lima") as made:
        yield made


@pytest.fixture
async def bo(accounts_on: Services, ana: Person) -> AsyncIterator[Person]:
    async with someone(accounts_on, "bo@example.org", "Bo Park") as made:
        yield made


@pytest.fixture
async def cy(accounts_on: Services, ana: Person) -> AsyncIterator[Person]:
    async with someone(accounts_on, "cy@example.org", "Cy Diaz") as made:
        yield made
