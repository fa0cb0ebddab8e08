"""GET /health as an orchestrator sees it: 200 while the real PostgreSQL and Redis answer, 503 saying which one
does not once it stops (a dropped database, a killed redis-server), and 503 when Forja could not start on them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from psycopg import sql

import builder.composition
import builder.settings
from builder import db
from builder.api import api
from builder.cluster.worker import Cluster
from builder.composition import Services
from builder.store import ProjectStore
from tests.conftest import PostgresServer, free_port
from tests.redis_fixtures import RedisServer, running_redis


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone, so that it can be killed without harming the others'."""
    with running_redis() as server:
        yield server


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    """A migrated database of this test's on the throwaway cluster; its name, so the test can drop it."""
    name = postgres_server.create_database()
    db.migrate(postgres_server.url(name))
    return name


@pytest.fixture
async def worker(
    postgres_server: PostgresServer, database: str, own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Services]:
    """A worker as deployed with several: PostgreSQL and a shared Redis, installed where the API finds it."""
    store = ProjectStore(db.create_engine(postgres_server.url(database)))
    cluster = await Cluster.join(own_redis.url())
    services = Services(store, cluster.logs, cluster)
    monkeypatch.setattr(builder.composition, "_services", services)
    yield services
    await services.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def test_ok_while_postgresql_and_redis_answer(worker: Services, client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "projects": 0}


async def test_503_naming_redis_once_it_stops(worker: Services, own_redis: RedisServer, client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200
    own_redis.process.kill()
    own_redis.process.wait(timeout=10)
    response = await client.get("/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "down"
    assert [problem.split(" (")[0] for problem in body["problems"]] == ["Redis does not answer"]
    assert str(own_redis.port) not in response.text, "an unauthenticated answer must not name addresses"


async def test_503_naming_the_database_once_it_is_gone(
    worker: Services, postgres_server: PostgresServer, database: str, client: httpx.AsyncClient
) -> None:
    assert (await client.get("/health")).status_code == 200
    with postgres_server.admin() as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
    response = await client.get("/health")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "down"
    assert [problem.split(" (")[0] for problem in body["problems"]] == ["The database does not answer"]
    assert database not in response.text and str(postgres_server.port) not in response.text


async def test_503_when_forja_could_not_start_on_a_redis_that_is_down(
    postgres_server: PostgresServer, database: str, monkeypatch: pytest.MonkeyPatch, client: httpx.AsyncClient
) -> None:
    monkeypatch.setattr(builder.composition, "_services", None)
    monkeypatch.setattr(builder.settings.settings, "database_url", postgres_server.url(database))
    monkeypatch.setattr(builder.settings.settings, "redis_url", f"redis://127.0.0.1:{free_port()}/0")
    response = await client.get("/health")
    assert response.status_code == 503, response.text
    assert response.json()["status"] == "down"
    assert "could not start" in response.json()["problems"][0]
    assert builder.composition._services is None, "the next call tries again"  # pyright: ignore[reportPrivateUsage]
