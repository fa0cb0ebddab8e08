"""Fixtures of the integration tests: a Forja with accounts and its people, and a browser with pages on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import builder.composition
from builder.composition import Services
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from preview_runtime.verify import PageChecker, find_chromium
from tests.accounts import Person, someone
from tests.local_site import Site


@pytest.fixture
async def accounts_on(store: ProjectStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Services]:
    """The services on `store` (SQLite and PostgreSQL), installed where the API and the pages find them, on a Forja with
    accounts (FORJA_AUTH=password); generations unchecked unless a test asks, files in the test's own folder."""
    instance = Services(store=store, logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", instance)
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


@pytest.fixture
async def checker() -> AsyncIterator[PageChecker]:
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium-headless-shell)")
    page_checker = PageChecker(executable)
    yield page_checker
    await page_checker.close()


@pytest.fixture
def sites() -> Iterator[list[Site]]:
    made: list[Site] = []
    yield made
    for site in made:
        site.close()
