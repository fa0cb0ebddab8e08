"""Data that survives (issue 32, part 5), for real: a local-runner preview of a small Node app writes a note into its
/data folder and its SQLite database (DATABASE_PATH), is stopped, started, parked and woken, and still has it; over
its quota its /data turns read-only; preview and live data are apart; a reset empties them; on PostgreSQL each app
gets a database and role of its own, reached from inside the sandbox through the relayed socket, with no way into
another app's database nor Forja's; and a Docker container can write its /data."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest

import builder.settings
from builder.api import api
from builder.composition import Services
from builder.generation.starters import StarterVariables, render_starter
from builder.models import LOCAL_USER_ID
from builder.services.app_data import DATA_MOUNT, DB_MOUNT, AppDataService, Scope, files_dir, socket_dir
from builder.services.app_databases import database_name
from builder.services.preview_hub import project_key
from preview_runtime.docker.layout import PREVIEW_UID
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub
from preview_runtime.plan import plan_for
from preview_runtime.runner import PreviewSpec, PreviewState
from scripts.prefetch_starters import starters
from tests.conftest import PG_USER, PostgresServer, served

# The Docker fixtures (docker_runner_factory...) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]
pytest.register_assert_rewrite("tests.docker_fixtures")
from tests.docker_fixtures import LogCollector, get, spec, wait_state  # noqa: E402

# Keeps each note twice: a line in /data/notes.txt and, with DATABASE_PATH (SQLite), a row in that database. Says its
# DATABASE_URL in its log (what a careless app does, and what the log must hide on PostgreSQL).
SERVER = b"""const http = require('http'), fs = require('fs'), path = require('path');
const file = path.join(process.env.DATA_DIR, 'notes.txt');
let db = null;
if (process.env.DATABASE_PATH) {
  const { DatabaseSync } = require('node:sqlite');
  db = new DatabaseSync(process.env.DATABASE_PATH);
  db.exec('CREATE TABLE IF NOT EXISTS notes (text TEXT)');
}
console.log('database at ' + process.env.DATABASE_URL);
http.createServer((req, res) => {
  const note = new URL(req.url, 'http://app').searchParams.get('add');
  try {
    if (note) {
      fs.appendFileSync(file, note + '\\n');
      if (db) db.prepare('INSERT INTO notes VALUES (?)').run(note);
    }
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    const rows = db ? db.prepare('SELECT text FROM notes').all().map((r) => r.text).join(',') : '-';
    res.end('file:' + lines + '|db:' + rows);
  } catch (e) {
    res.end('error:' + e.code);
  }
}).listen(Number(process.env.PORT), process.env.HOST);
"""
SAMPLE = StarterVariables(title="Journal", tagline="Kept.", features=["Notes"])
TREE = {
    "package.json": json.dumps({"name": "notes", "version": "1.0.0", "scripts": {"dev": "node server.js"}}).encode(),
    "server.js": SERVER,
}


async def _ask(services: Services, project_id: str, query: str = "") -> str:
    """The app's answer to `/?query` through the proxy, once it runs."""
    await served(services, project_id)
    info = await services.previews.status(project_id)
    assert info is not None
    proxy = (await services.preview_hub.manager()).proxy
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        response = await client.get(f"{proxy.internal_url()}?{query}", headers=proxy.own_headers(info.preview_id))
    return response.text


async def _notes_app(services: Services) -> str:
    return (await services.projects.create("Notes", TREE, owner=LOCAL_USER_ID)).project_id


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The apps' data in the test's own folder (local_previews sets the same one)."""
    monkeypatch.setattr(builder.settings.settings, "data_dir", tmp_path / "data")


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def test_a_note_outlives_a_stop_a_start_a_park_and_a_wake(local_previews: None, services: Services) -> None:
    pid = await _notes_app(services)
    assert (await services.previews.start(pid)).sandboxed  # in bubblewrap, /data bound into it
    assert await _ask(services, pid, "add=first") == "file:first|db:first"
    host = files_dir(pid, Scope.preview)
    assert (host / "notes.txt").read_text() == "first\n" and (host / "app.sqlite3").is_file()

    await services.previews.stop(pid)
    await services.previews.start(pid)
    assert await _ask(services, pid, "add=second") == "file:first\nsecond|db:first,second"

    running = await services.previews.status(pid)
    assert running is not None
    assert await (await services.preview_hub.manager()).park(running.preview_id, "a test")
    woken = await services.previews.start(pid)
    assert woken.preview_id == running.preview_id  # woken, not started afresh
    assert await _ask(services, pid) == "file:first\nsecond|db:first,second"
    logged = [line.text for line in services.logs.history(pid)]
    assert f"database at sqlite:///{DATA_MOUNT}/app.sqlite3" in logged


async def test_over_its_quota_the_data_folder_turns_read_only(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "app_data_mb", 1)
    pid = await _notes_app(services)
    first = await services.previews.start(pid)
    assert await _ask(services, pid, "add=small") == "file:small|db:small"
    (files_dir(pid, Scope.preview) / "upload.bin").write_bytes(b"x" * (2 * 1024 * 1024))

    assert await services.app_data.enforce_quotas(force=True) == [(pid, Scope.preview)]
    restarted = await services.previews.status(pid)
    assert restarted is not None and restarted.preview_id != first.preview_id
    assert await _ask(services, pid, "add=more") == "error:EROFS"
    assert any("over its 1 MB quota" in line.text for line in services.logs.history(pid))

    (files_dir(pid, Scope.preview) / "upload.bin").unlink()
    await services.previews.start(pid, restart=True)
    assert await _ask(services, pid, "add=again") == "file:small\nagain|db:small,again"


async def test_preview_and_live_data_are_apart_and_a_reset_empties_the_previews(
    services: Services, client: httpx.AsyncClient
) -> None:
    pid = await _notes_app(services)
    preview = await services.app_data.app_data_plan(pid, "preview")
    live = await services.app_data.app_data_plan(pid, "live")
    assert (
        preview.env
        == live.env
        == {
            "DATA_DIR": "/data",
            "DATABASE_URL": "sqlite:////data/app.sqlite3",
            "DATABASE_PATH": "/data/app.sqlite3",
        }
    )
    assert [m.target for m in preview.mounts] == ["/data"] and not preview.read_only
    assert preview.mounts[0].source != live.mounts[0].source
    (Path(preview.mounts[0].source) / "note.txt").write_text("preview")
    (Path(live.mounts[0].source) / "note.txt").write_text("live")

    answer = await client.delete(f"/api/projects/{pid}/data", params={"scope": "preview"})
    assert answer.status_code == 200, answer.text
    assert os.listdir(preview.mounts[0].source) == []
    assert (Path(live.mounts[0].source) / "note.txt").read_text() == "live"
    assert (await client.delete(f"/api/projects/{pid}/data", params={"scope": "staging"})).status_code == 422

    # Deleted for good: both scopes go.
    await services.history.delete(pid)
    await services.history.purge_expired(days=0)
    assert not files_dir(pid, Scope.live).exists()


async def test_a_front_end_alone_gets_no_data(services: Services) -> None:
    tree = {"index.html": b"<h1>hi</h1>"}
    pid = (await services.projects.create("Page", tree, owner=LOCAL_USER_ID)).project_id
    plan = await services.app_data.with_data(pid, plan_for(tree))
    assert plan.mounts == [] and "DATABASE_URL" not in plan.env and plan.kept_env == {}


def _passwords_required(server: PostgresServer, roles: list[str]) -> None:
    """The test cluster trusts everyone (initdb --auth=trust): these roles must give their password, as on a server."""
    with server.admin() as admin:
        row = admin.execute("SHOW hba_file").fetchone()
        assert row is not None
        hba = Path(row[0])
        lines = "".join(f"host all {role} 127.0.0.1/32 scram-sha-256\n" for role in roles)
        hba.write_text(lines + hba.read_text())
        admin.execute("SELECT pg_reload_conf()")


@pytest.mark.postgres
async def test_on_postgresql_each_app_has_a_database_only_it_can_open(
    local_previews: None, services: Services, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    forja_db = postgres_server.create_database()
    monkeypatch.setattr(builder.settings.settings, "database_url", postgres_server.url(forja_db))
    pid, other = await _notes_app(services), await _notes_app(services)
    mine, theirs = database_name(pid, "preview"), database_name(other, "preview")
    their_url = (await services.app_data.app_data_plan(other, "preview")).env["DATABASE_URL"]
    their_password = their_url.split(":")[2].split("@")[0]
    _passwords_required(postgres_server, [mine, theirs])

    await services.previews.start(pid)
    answer = await _ask(services, pid, "add=pg")
    assert answer == "file:pg|db:-"  # no DATABASE_PATH: the database is PostgreSQL's
    info = await services.previews.status(pid)
    assert info is not None and info.state == PreviewState.running
    # From inside the sandbox, with psycopg: its own database through /run/forja-db, and no other.
    cases = [(theirs, None, None), (forja_db, None, None), (mine, theirs, their_password), (mine, mine, "wrong")]
    probe = (
        "import os, psycopg\n"
        "with psycopg.connect(os.environ['DATABASE_URL'], autocommit=True) as c:\n"
        "    c.execute('CREATE TABLE notes (text text)'); c.execute(\"INSERT INTO notes VALUES ('kept')\")\n"
        "    print('own', c.execute('SELECT current_database(), count(*) FROM notes').fetchone())\n"
        f"for db, user, pw in {cases!r}:\n"
        "    try:\n"
        "        other = {'user': user, 'password': pw} if user else {}\n"
        "        psycopg.connect(os.environ['DATABASE_URL'], dbname=db, **other).close(); print('OPENED', db, user)\n"
        "    except psycopg.OperationalError as e:\n"
        "        print('refused', db, user, 'permission denied' in str(e) or 'password authentication failed' in str(e))\n"
    )
    ran = await services.preview_hub.run_command(project_key(pid), f"python -c {shlex.quote(probe)}", 60)
    assert ran.exit_code == 0, ran.output
    lines = ran.output.strip().splitlines()
    assert lines[0] == f"own ('{mine}', 1)", ran.output
    assert lines[1:] == [
        f"refused {theirs} None True",
        f"refused {forja_db} None True",
        f"refused {mine} {theirs} True",
        f"refused {mine} {mine} True",
    ]
    # And psql (libpq) reads the same URL.
    psql = await services.preview_hub.run_command(project_key(pid), 'psql "$DATABASE_URL" -Atc "SELECT count(*) FROM notes"', 60)
    assert (psql.exit_code, psql.output.strip()) == (0, "1"), psql.output

    logged = [line.text for line in services.logs.history(pid) if line.text.startswith("database at")]
    assert logged == ["database at [redacted]"]
    with postgres_server.admin() as admin:
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (mine,)).fetchone() == (1,)

    # Forja restarts: its relays go, and the new process relays again before anything plans the app anew.
    await services.app_data.close()
    url = (await services.app_data.app_data_plan(pid, "preview")).env["DATABASE_URL"]
    await services.app_data.close()
    again = AppDataService(
        services._store,  # pyright: ignore[reportPrivateUsage] (a second Forja's)
        LogHub(),
        restart_preview=services.previews.restart_running,
        restart_live=services.publishing.servers.restart_live,
    )
    await again.resume()
    try:
        # Async: the relay runs on this event loop. Through a short link to the socket's folder: libpq refuses a
        # socket path over 107 bytes, which a test's deep data folder passes (Forja binds its relays past that limit).
        short = Path(tempfile.mkdtemp(prefix="forja-pg-")) / "db"
        short.symlink_to(socket_dir(pid, Scope.preview))
        async with await psycopg.AsyncConnection.connect(url.replace(DB_MOUNT, str(short))) as db:
            assert await (await db.execute("SELECT text FROM notes")).fetchall() == [("kept",)]
    finally:
        await again.close()

    # A reset drops it; the preview restarts with a new, empty one.
    await services.app_data.reset(pid, "preview")
    assert await _ask(services, pid) == "file:|db:-"
    with psycopg.connect(host="127.0.0.1", port=postgres_server.port, user=PG_USER, dbname=mine) as admin:
        assert admin.execute("SELECT to_regclass('notes')").fetchone() == (None,)


@pytest.mark.docker
async def test_a_docker_container_writes_its_data_folder(docker_runner_factory, services: Services) -> None:
    pid = await _notes_app(services)
    plan = await services.app_data.with_data(pid, plan_for(TREE))
    assert (plan.env, plan.kept_env["DATA_DIR"]) == ({}, "/data")  # no secret: kept when parked
    runner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("data-1", TREE, plan, project_id=pid), log)
    info = await wait_state(runner, "data-1", PreviewState.running, 60, log)
    # As the container's own user (10001), into the host's folder: the note and the SQLite database.
    assert (await get(info.upstream + "/?add=boxed")).text == "file:boxed|db:boxed"
    await runner.stop("data-1")
    host = files_dir(pid, Scope.preview)
    assert (host / "notes.txt").read_text() == "boxed\n" and (host / "app.sqlite3").is_file()
    assert (host / "notes.txt").stat().st_uid == PREVIEW_UID


async def test_the_flask_starter_keeps_its_items_in_the_data_folder(
    services: Services, package_caches: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheels = package_caches
    flask = next(starter for starter in starters() if starter.name == "flask")
    files = {path: text.encode() for path, text in render_starter(flask, SAMPLE).items()}
    pid = (await services.projects.create("Journal", files, owner=LOCAL_USER_ID)).project_id
    plan = await services.app_data.with_data(pid, plan_for(files))
    runner = LocalRunner(tmp_path / "work")  # no npm seed: its install is pip's, and seeding copies 100 MB of npm's cache
    runner.extra_env = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    spec = PreviewSpec(preview_id="flask-1", project_id=pid, version=1, files=files, plan=plan)
    try:
        await runner.start(spec, lambda *_: None)
        info = await wait_state(runner, "flask-1", PreviewState.running, 120, LogCollector())
        async with httpx.AsyncClient(base_url=info.upstream, timeout=10, trust_env=False) as client:
            await client.post("/items", data={"title": "Kept across versions", "body": "x"})
            assert [item["title"] for item in (await client.get("/api/items")).json()] == ["Kept across versions"]
    finally:
        await runner.close()
    # Not in the preview's own folder (instance/, gone with it): in the app's /data folder on the host.
    with sqlite3.connect(files_dir(pid, Scope.preview) / "app.sqlite3") as db:
        assert db.execute("SELECT title FROM items").fetchall() == [("Kept across versions",)]


# Asks PostgreSQL through the socket for TLS (an SSLRequest) and prints its one-byte answer: "N" from a server without.
SSL_REQUEST = (
    "node -e \"const s = require('net').connect('/run/forja-db/.s.PGSQL.5432');"
    " s.on('connect', () => s.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])));"
    " s.on('data', (d) => { console.log('answer ' + d.toString()); process.exit(0); });"
    " s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); })\""
)


@pytest.mark.docker
@pytest.mark.postgres
async def test_a_docker_container_reaches_its_database_through_the_socket(
    docker_runner_factory, services: Services, postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "apps_database_url", postgres_server.url("postgres"))
    pid = await _notes_app(services)
    plan = await services.app_data.with_data(pid, plan_for(TREE))
    assert [m.target for m in plan.mounts] == ["/data", "/run/forja-db"]
    runner = docker_runner_factory()
    log = LogCollector()
    await runner.start(spec("data-pg", TREE, plan, project_id=pid), log)
    await wait_state(runner, "data-pg", PreviewState.running, 60, log)
    # As user 10001, through the relay Forja runs, to PostgreSQL: the host's addresses stay out of reach.
    ran = await runner.run_command("data-pg", SSL_REQUEST, 30)
    await runner.stop("data-pg")
    assert ran.output.strip() == "answer N", ran.output
