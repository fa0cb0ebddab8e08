"""A published app's change streams (`/_forja/data/<collection>/changes`): each viewer hears the changes of the rows the
app's rules let them read, and no other, whichever Forja process made them. On both databases, the streams of one
Services hear writes made through another Services on the same database (another worker, as far as the log goes);
through Forja's served ASGI on a loopback port, a browser's stream is an SSE answer that ends when its visitor signs
out, and an app holds a bounded number of them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from builder import db
from builder.api.app_auth import COOKIE
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import parse_rules
from builder.composition import Services
from builder.services import app_changes
from builder.services.app_data import Scope
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.accounts import Person
from tests.conftest import DatabaseUrls
from tests.integration.test_app_rows import RULES, owner_id, published
from tests.integration.test_app_users import forja_server

__all__ = ["forja_server", "owner_id"]  # fixtures, shared with test_app_rows.py

ANA, BO, ADMIN = AppViewer(user_id="ana"), AppViewer(user_id="bo"), AppViewer(user_id="boss", role="admin")
Event = tuple[str, dict[str, object]]


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams poll and re-ask who is watching often, so a test waits milliseconds for what a browser waits a second."""
    monkeypatch.setattr(app_changes, "POLL_S", 0.05)
    monkeypatch.setattr(app_changes, "RECHECK_S", 0.1)


@pytest.fixture
async def other_worker(database_urls: DatabaseUrls) -> AsyncIterator[Services]:
    """A second Services on the same database, with its own engine: what another Forja process would be."""
    store = ProjectStore(db.create_engine(database_urls.async_))
    instance = Services(store=store, logs=LogHub())
    yield instance
    await instance.close()


def parsed(text: str) -> Event | None:
    """An SSE event's kind and data; None for anything else (the retry line, a heartbeat)."""
    fields = dict(line.split(": ", 1) for line in text.strip().split("\n") if ": " in line and not line.startswith(":"))
    return (fields["event"], json.loads(fields["data"])) if "event" in fields else None


async def heard(stream: AsyncIterator[str], count: int) -> list[Event]:
    events: list[Event] = []
    while len(events) < count:
        found = parsed(await asyncio.wait_for(anext(stream), 10))
        if found is not None:
            events.append(found)
    return events


async def test_each_viewer_hears_only_the_rows_it_may_read_whichever_worker_wrote_them(
    accounts_on: Services, other_worker: Services, store: ProjectStore, ana: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = (await accounts_on.projects.create("Shop", {"index.html": b"<h1>shop</h1>"}, owner=ana.actor.user_id)).project_id
    rules = parse_rules(json.dumps(RULES).encode())

    async def still() -> bool:
        return True

    streams = {
        viewer.user_id: accounts_on.app_changes.stream(
            project, Scope.live, rules, "bookings", viewer, await accounts_on.app_changes.now(), still
        )
        for viewer in (ANA, BO, ADMIN)
    }
    for stream in streams.values():
        assert await anext(stream) == "retry: 2000\n\n"
    # Every write is made through the other worker's services; the streams read the log when asked for their next event.
    where, rows = (project, Scope.live, rules, "bookings"), other_worker.app_rows
    a1 = await rows.create(*where, ANA, {"slot": "10:00"})
    assert await heard(streams["ana"], 1) == await heard(streams["boss"], 1) == [("create", a1.model_dump())]
    b1 = await rows.create(*where, BO, {"slot": "11:00"})
    assert await heard(streams["boss"], 1) == [("create", b1.model_dump())]
    changed = await rows.update(*where, ANA, a1.id, {"slot": "10:30"}, merge=True)
    assert await heard(streams["ana"], 1) == await heard(streams["boss"], 1) == [("update", changed.model_dump())]
    await rows.delete(*where, ANA, a1.id)
    assert await heard(streams["ana"], 1) == await heard(streams["boss"], 1) == [("delete", {"id": a1.id})]
    b2 = await rows.create(*where, BO, {"slot": "12:00"})
    # B's stream, read only now, reads all five changes: it hears its own two rows, the last after all of A's changes.
    assert await heard(streams["bo"], 2) == [("create", b1.model_dump()), ("create", b2.model_dump())]
    # A row made and deleted before a stream reads the log is sent as deleted only: rows are read as they are now.
    a2 = await rows.create(*where, ANA, {"slot": "13:00"})
    await rows.delete(*where, ANA, a2.id)
    assert await heard(streams["boss"], 2) == [("create", b2.model_dump()), ("delete", {"id": a2.id})]
    for stream in streams.values():
        await stream.aclose()
    # The log keeps a change for minutes only: pruned, the collection's log is empty.
    assert len(await store.data_changes(project, Scope.live, "bookings", 0, 100)) == 7
    monkeypatch.setattr(app_changes, "KEEP", timedelta(0))
    monkeypatch.setattr(app_changes, "PRUNE_EVERY_S", 0.0)
    await accounts_on.app_changes.prune()
    assert await store.data_changes(project, Scope.live, "bookings", 0, 100) == []


async def sign_up(http: httpx.AsyncClient, url: str, email: str) -> dict[str, str]:
    host = url.split("://", 1)[1]
    made = await http.post(
        "/_forja/auth/sign-up", headers={"Host": host, "Origin": url}, data={"email": email, "password": "a long secret"}
    )
    http.cookies.clear()
    return {"Host": host, "Origin": url, "Cookie": f"{COOKIE}={made.cookies[COOKIE]}"}


async def events_of(lines: AsyncIterator[str]) -> AsyncIterator[Event | None]:
    """Each event of an SSE answer as it comes (None for a line that is no event), until the answer ends."""
    block: list[str] = []
    async for line in lines:
        if line:
            block.append(line)
            continue
        yield parsed("\n".join(block))
        block = []


async def test_a_browsers_stream_is_sse_that_ends_when_its_visitor_signs_out(
    forja_server: None, services: Services, owner_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await published(services, "salon", owner_id)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as http:
        ana, bo = await sign_up(http, url, "ana@example.org"), await sign_up(http, url, "bo@example.org")
        host = {"Host": ana["Host"]}
        nobody = await http.get("/_forja/data/bookings/changes", headers=host)
        assert (nobody.status_code, nobody.json()["detail"]) == (401, "Sign in to read rows of 'bookings'.")
        refused = await http.get("/_forja/data/secrets/changes", headers=ana)
        assert refused.status_code == 403 and "name no collection 'secrets'" in refused.json()["detail"]
        posted = await http.post("/_forja/data/bookings/changes", headers=ana, json={})
        assert posted.status_code == 405 and "server-sent events" in posted.json()["detail"]
        monkeypatch.setattr(app_changes, "MAX_STREAMS", 1)
        async with http.stream("GET", "/_forja/data/bookings/changes", headers=ana) as stream:
            assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
            full = await http.get("/_forja/data/notes/changes", headers=bo)  # the app's one stream is taken
            assert full.status_code == 429 and "live updates open already" in full.json()["detail"]
            events = events_of(stream.aiter_lines())
            assert await anext(events) is None  # the retry line: the stream reads from now on
            other = await http.post("/_forja/data/bookings", headers=bo, json={"slot": "09:00"})
            made = await http.post("/_forja/data/bookings", headers=ana, json={"slot": "10:00"})
            assert other.status_code == made.status_code == 201
            assert await anext(events) == ("create", made.json())  # B's row before it was never sent
            signed_out = await http.post("/_forja/auth/sign-out", headers=ana, data={"next": "/"})
            assert signed_out.status_code == 303
            assert [event async for event in events] == []  # the stream ends, with nothing more
        # Its slot was given back: a new stream opens.
        async with http.stream("GET", "/_forja/data/notes/changes", headers=bo) as again:
            assert again.status_code == 200
