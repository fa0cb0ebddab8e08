"""A published app's data outlives what happens to the app: a notes app that the (scripted) model writes keeps a note
across a new release, a rollback, a park and wake, and a restart of Forja; on SQLite (Forja's default: a file in the
app's /data) and on PostgreSQL (a database of the app's own through /run/forja-db); another app does not see it.

Real parts: the local runner in bubblewrap, Traefik, the model's SDK against tests/llm_server.py, PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

import builder.composition
from builder import db
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.models import LOCAL_USER_ID, Author
from builder.publish.addresses import app_host, app_key
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.conftest import DatabaseUrls
from tests.integration.test_generation_api import post_sse, tool
from tests.integration.test_publish_server import answered
from tests.llm_server import ScriptedLLMServer, ToolAnswer

# What the model answers to "a notes app": Node with no dependencies, its notes in DATABASE_URL (psql, libpq's own
# client, for PostgreSQL; node:sqlite at DATABASE_PATH for SQLite), as the system prompt tells it to.
NOTES_SERVER = """const http = require('http')
const { execFileSync } = require('child_process')
const url = process.env.DATABASE_URL || ''
let add, list
if (url.startsWith('postgres')) {
  const psql = (sql) => execFileSync('psql', [url, '-Atqc', sql], { encoding: 'utf8' }).trim()
  psql('CREATE TABLE IF NOT EXISTS notes (text TEXT)')
  add = (text) => psql(`INSERT INTO notes VALUES ('${text.replace(/'/g, "''")}')`)
  list = () => psql('SELECT text FROM notes ORDER BY text').split('\\n').filter(Boolean)
} else {
  const { DatabaseSync } = require('node:sqlite')
  const db = new DatabaseSync(process.env.DATABASE_PATH)
  db.exec('CREATE TABLE IF NOT EXISTS notes (text TEXT)')
  add = (text) => db.prepare('INSERT INTO notes VALUES (?)').run(text)
  list = () => db.prepare('SELECT text FROM notes ORDER BY text').all().map((row) => row.text)
}
http.createServer((req, res) => {
  const note = new URL(req.url, 'http://app').searchParams.get('add')
  if (note) add(note)
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ edition: EDITION, notes: list() }))
}).listen(Number(process.env.PORT), process.env.HOST)
"""


def notes_app(edition: int) -> dict[str, str]:
    manifest = {"name": "notes", "version": "1.0.0", "scripts": {"start": "node server.js", "dev": "node server.js"}}
    return {"package.json": json.dumps(manifest), "server.js": NOTES_SERVER.replace("EDITION", str(edition))}


@pytest.fixture
async def forja(store: ProjectStore, local_previews: None, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    """Forja's services on SQLite or PostgreSQL (the apps' databases follow Forja's), installed for the API."""
    instance = Services(store=store, logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", instance)
    monkeypatch.setattr(settings, "verify_generations", False)
    yield instance
    await instance.close()


async def notes(services: Services, name: str, add: str = "") -> tuple[int, list[str]]:
    answer = (await answered(services, name, f"/?add={add}" if add else "/")).json()
    return answer["edition"], answer["notes"]


async def test_a_generated_notes_app_keeps_its_notes_across_releases_rollback_park_and_a_restart(
    forja: Services, database_urls: DatabaseUrls, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = (await forja.projects.create("Notes", {"README.md": b"# Notes\n"}, owner=LOCAL_USER_ID)).project_id
    scripted_llm.queue(ToolAnswer(tool(notes_app(1), title="Notes")))
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        events = await post_sse(client, f"/api/projects/{pid}/generate", {"prompt": "A notes app", "provider": "anthropic"})
    assert events[-1][0] == "done", events
    told = json.dumps(scripted_llm.requests[0].body)
    assert "DATABASE_URL" in told and "/data" in told  # the model is told where a backend keeps its data

    await forja.publishing.publish(pid, name="notes", user_id=LOCAL_USER_ID)
    assert await notes(forja, "notes", add="first") == (1, ["first"])

    # A new release (a new version, built and started afresh) finds the note.
    await forja.projects.save(pid, {"server.js": notes_app(2)["server.js"].encode()}, author=Author.user)
    assert (await forja.publishing.publish(pid, user_id=LOCAL_USER_ID)).release.number == 2
    assert await notes(forja, "notes", add="second") == (2, ["first", "second"])

    # Rolled back to release 1: the older code, the same data.
    await forja.publishing.rollback(pid, 1)
    assert await notes(forja, "notes") == (1, ["first", "second"])

    # Parked (as when idle), woken by a visit.
    hub = forja.preview_hub
    live = await hub.local(app_key(pid, 1))
    assert live is not None and await (await hub.manager()).park(live.preview_id, "a test")
    assert await notes(forja, "notes") == (1, ["first", "second"])

    # Forja restarts: the first visit reaches its edge, which starts the app again; the notes are still there.
    await forja.close()
    again = Services(store=ProjectStore(db.create_engine(database_urls.async_)), logs=LogHub())
    monkeypatch.setattr(builder.composition, "_services", again)
    try:
        await again.preview_hub.manager()
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
            await client.get("/", headers={"Host": app_host("notes")})
        assert await notes(again, "notes") == (1, ["first", "second"])

        # Another app, the same code: a database and folder of its own, none of the notes.
        other = (
            await again.projects.create("Other notes", {k: v.encode() for k, v in notes_app(1).items()}, owner=LOCAL_USER_ID)
        ).project_id
        await again.publishing.publish(other, name="other-notes", user_id=LOCAL_USER_ID)
        assert await notes(again, "other-notes") == (1, [])
        assert await notes(again, "notes") == (1, ["first", "second"])

    finally:
        await again.close()
