"""Share links (builder.services.shares, builder.api.shares, builder.cli.shares) on the `services` fixture's SQLite.

The preview test runs a real local preview (an index.html-only project: `python -m http.server`) behind a real
Traefik on a loopback port; nothing is installed from a registry and all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import select

import builder.settings
from builder.api.errors import forja_error
from builder.api.shares import router
from builder.cli import shares as cli_shares
from builder.cli.local import LocalBackend
from builder.db import session_factory
from builder.errors import ForjaError, NotFound, ShareGone
from builder.models import LOCAL_USER_ID, Author, ShareLink, utcnow
from builder.services import Services, shares
from builder.services.access import LOCAL_ACTOR
from builder.store import ProjectStore
from preview_runtime.runner import PreviewState
from preview_runtime.verify import CHROMIUM_ARGS, find_chromium
from tests.collab_clients import serving
from tests.conftest import free_port


def make_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    app.add_exception_handler(ForjaError, forja_error)  # type: ignore[arg-type]
    return app


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def pid(services: Services) -> str:
    created = await services.projects.create("Barber <shop>", {"index.html": "<h1>Version one</h1>\n"}, owner=LOCAL_USER_ID)
    return created.project_id


async def _links(store: ProjectStore) -> list[ShareLink]:
    async with session_factory(store.engine)() as session:
        return list((await session.exec(select(ShareLink))).all())


async def _set(store: ProjectStore, share_id: int, **values: object) -> None:
    async with session_factory(store.engine)() as session, session.begin():
        await session.exec(update(ShareLink).where(ShareLink.id == share_id).values(**values))  # type: ignore[call-overload]


async def _gone(services: Services, token: str) -> ShareGone:
    with pytest.raises(ShareGone) as caught:
        await services.shares.resolve(token)
    return caught.value


# -- the service ----------------------------------------------------------------------------------


async def test_create_stores_only_the_hash_and_resolves(
    sqlite_store: ProjectStore, services: Services, pid: str, sqlite_url
) -> None:
    created = await services.shares.create(pid)
    assert created.url == f"{builder.settings.settings.base_url}/s/{created.token}"
    assert created.version == 1 and len(created.token) >= 43
    assert created.expires_at is not None
    assert timedelta(days=6, hours=23) < created.expires_at - utcnow() <= timedelta(days=7)

    [row] = await _links(sqlite_store)
    assert row.token_hash == shares.hash_token(created.token) != created.token
    assert all(created.token not in str(value) for value in row.model_dump().values())
    db_file = Path(sqlite_url.sync.removeprefix("sqlite:///"))
    everything = b"".join(p.read_bytes() for p in db_file.parent.iterdir() if p.name.startswith(db_file.name))
    assert created.token.encode() not in everything

    target = await services.shares.resolve(created.token)
    assert (target.share_id, target.project_id, target.version) == (created.id, pid, 1)


async def test_a_link_keeps_its_version_after_new_commits(services: Services, pid: str) -> None:
    created = await services.shares.create(pid)
    await services.projects.save(pid, {"index.html": b"<h1>Version two</h1>\n"}, author=Author.ai)
    assert (await services.projects.get(pid)).current_version == 2
    assert (await services.shares.resolve(created.token)).version == 1
    later = await services.shares.create(pid)
    assert (await services.shares.resolve(later.token)).version == 2
    pinned = await services.shares.create(pid, version=1, expires_in="never")
    assert pinned.expires_at is None and (await services.shares.resolve(pinned.token)).version == 1


async def test_create_refuses_unknown_versions_and_projects(services: Services, pid: str) -> None:
    with pytest.raises(NotFound):
        await services.shares.create(pid, version=9)
    with pytest.raises(NotFound):
        await services.shares.create("nosuchproject")


async def test_revoked_and_expired_are_410(sqlite_store: ProjectStore, services: Services, pid: str) -> None:
    revoked = await services.shares.create(pid)
    info = await services.shares.revoke(revoked.id)
    assert info.revoked
    assert await services.shares.revoke(revoked.id) == info  # again: no change
    gone = await _gone(services, revoked.token)
    assert (gone.status, gone.message) == (410, shares.REVOKED_MESSAGE)

    expired = await services.shares.create(pid, expires_in=timedelta(hours=1))
    await _set(sqlite_store, expired.id, expires_at=utcnow() - timedelta(seconds=1))
    gone = await _gone(services, expired.token)
    assert (gone.status, gone.message) == (410, shares.EXPIRED_MESSAGE)

    with pytest.raises(NotFound):
        await services.shares.revoke(12345)


async def test_unknown_malformed_and_trashed_are_the_same_404(services: Services, pid: str) -> None:
    created = await services.shares.create(pid)
    other = await services.projects.create("Other", {"index.html": "x"}, owner=LOCAL_USER_ID)
    trashed = await services.shares.create(other.project_id)
    await services.history.delete(other.project_id)
    guessed = created.token[:-1] + ("A" if created.token[-1] != "A" else "B")
    for token in (guessed, "short", "", "../../etc/passwd", "x" * 500, "é" * 43, trashed.token):
        gone = await _gone(services, token)
        assert (gone.status, gone.message) == (404, shares.GONE_MESSAGE)


async def test_list_shares(services: Services, pid: str) -> None:
    first = await services.shares.create(pid)
    second = await services.shares.create(pid, expires_in="never")
    await services.shares.revoke(first.id)
    listed = await services.shares.links(pid)
    assert [(s.id, s.revoked, s.version, s.expires_at is None) for s in listed] == [
        (second.id, False, 1, True),
        (first.id, True, 1, False),
    ]
    assert all(first.token not in s.model_dump_json() and second.token not in s.model_dump_json() for s in listed)


# -- the API and the public pages -------------------------------------------------------------------


async def test_api_create_list_revoke(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    response = await client.post(f"/api/projects/{pid}/share", json={"expires_in": "24h"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "url", "token", "version", "expires_at", "target", "release"}
    assert (body["target"], body["release"]) == ("preview", None)
    assert body["url"].endswith(f"/s/{body['token']}") and body["version"] == 1

    assert (await client.post(f"/api/projects/{pid}/share")).status_code == 201  # no body: defaults
    assert (await client.post(f"/api/projects/{pid}/share", json={"expires_in": "someday"})).status_code == 422
    assert (await client.post(f"/api/projects/{pid}/share", json={"version": 7})).status_code == 404
    assert (await client.post("/api/projects/nosuch/share", json={})).status_code == 404

    listed = await client.get(f"/api/projects/{pid}/shares")
    assert listed.status_code == 200 and len(listed.json()) == 2
    assert body["token"] not in listed.text
    assert (await client.get("/api/projects/nosuch/shares")).status_code == 404

    assert (await client.delete(f"/api/shares/{body['id']}")).status_code == 204
    assert (await client.delete("/api/shares/99999")).status_code == 404
    page = await client.get(f"/s/{body['token']}")
    assert page.status_code == 410 and shares.REVOKED_MESSAGE in page.text
    status = await client.get(f"/s/{body['token']}/status")
    assert status.status_code == 410 and status.json()["state"] == "gone"


async def test_pages_for_dead_links(sqlite_store: ProjectStore, client: httpx.AsyncClient, services: Services, pid: str) -> None:
    expired = await services.shares.create(pid)
    await _set(sqlite_store, expired.id, expires_at=utcnow() - timedelta(minutes=1))
    page = await client.get(f"/s/{expired.token}")
    assert page.status_code == 410 and shares.EXPIRED_MESSAGE in page.text
    assert page.headers["content-type"].startswith("text/html")
    assert (await client.get(f"/s/{expired.token}/code")).status_code == 410

    other = await services.projects.create("Other", {"index.html": "x"}, owner=LOCAL_USER_ID)
    trashed = await services.shares.create(other.project_id)
    await services.history.delete(other.project_id)
    valid = await services.shares.create(pid)
    guessed = valid.token[:-2] + ("zz" if not valid.token.endswith("zz") else "yy")
    bodies = set()
    for token in (guessed, "short", "not a token", "%3Cscript%3E", "A" * 43, trashed.token):
        page = await client.get(f"/s/{token}")
        assert page.status_code == 404
        bodies.add(page.text)
    assert len(bodies) == 1 and shares.GONE_MESSAGE in bodies.pop()
    assert "<script" not in page.text and "http" not in page.text  # nothing loaded from anywhere
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"


async def test_code_page_lists_the_shared_version_escaped(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    created = await services.shares.create(pid)
    await services.projects.save(pid, {"index.html": b"<h1>Version two</h1>\n", "app.js": b"if (a < b) alert('</pre>')\n"})
    later = await services.shares.create(pid)
    old = await client.get(f"/s/{created.token}/code")
    assert old.status_code == 200
    assert "&lt;h1&gt;Version one&lt;/h1&gt;" in old.text and "Version two" not in old.text and "app.js" not in old.text
    assert "Barber &lt;shop&gt;" in old.text
    new = await client.get(f"/s/{later.token}/code")
    assert "if (a &lt; b) alert(&#39;&lt;/pre&gt;&#39;)" in new.text and "<h1>Version" not in new.text


# -- a real preview behind the real proxy --------------------------------------------------------------


async def test_share_page_starts_and_serves_the_shared_version(
    local_previews: None, client: httpx.AsyncClient, services: Services, pid: str
) -> None:
    created = await services.shares.create(pid)
    await services.projects.save(pid, {"index.html": b"<h1>Version two</h1>\n"}, author=Author.ai)

    # 50 first visits at once: all get a page, and only one preview of version 1 starts.
    pages = await asyncio.gather(*(client.get(f"/s/{created.token}") for _ in range(50)))
    assert [p.status_code for p in pages] == [200] * 50
    assert all("Made with Forja" in p.text for p in pages)
    # Each says it starts, or (a plain page starts in well under a second, and the 50 take longer on a loaded machine)
    # already shows it.
    assert all("Starting the app..." in p.text or '<iframe class="app"' in p.text for p in pages)
    assert list(services.version_previews.ids_here(pid)) == [1]
    manager = await services.preview_hub.manager()
    assert len(manager.running()) == 1
    assert await services.previews.status(pid) is None  # the project's own preview is not touched

    deadline = time.monotonic() + 60
    while True:
        status = (await client.get(f"/s/{created.token}/status")).json()
        if status["state"] == "running":
            break
        assert status["state"] == "starting", status
        assert time.monotonic() < deadline, "the shared preview did not start within 60 s"
        await asyncio.sleep(0.2)

    page = await client.get(f"/s/{created.token}")
    assert page.status_code == 200 and "Starting the app" not in page.text
    assert f'<iframe class="app" title="App" src="{status["url"]}" sandbox="allow-scripts allow-forms' in page.text

    host = urlsplit(status["url"]).hostname
    async with httpx.AsyncClient(timeout=5) as http:
        served = await http.get(manager.proxy.internal_url(), headers={"Host": f"{host}"})
    assert served.status_code == 200 and "Version one" in served.text
    # The shared app itself under load: 50 concurrent requests through the proxy.
    async with httpx.AsyncClient(timeout=15) as http:
        loads = await asyncio.gather(*(http.get(manager.proxy.internal_url(), headers={"Host": host}) for _ in range(50)))
    assert all(r.status_code == 200 and "Version one" in r.text for r in loads)

    again = await asyncio.gather(*(client.get(f"/s/{created.token}") for _ in range(50)))
    assert [p.status_code for p in again] == [200] * 50 and all("<iframe" in p.text for p in again)
    assert len(manager.running()) == 1
    # Those visits were answered from the page kept for the running app; the revocation below drops it at once.
    assert services.shares.cached_page(created.token) == again[0].content

    await services.shares.revoke(created.id)
    assert (await client.get(f"/s/{created.token}")).status_code == 410
    # The preview's own address ends with the link, not at its idle timeout.
    assert services.version_previews.ids_here(pid) == {}
    async with httpx.AsyncClient(timeout=5) as http:
        after = await http.get(manager.proxy.internal_url(), headers={"Host": host})
    assert "Version one" not in after.text


@pytest.mark.browser  # launches Chromium itself
async def test_a_share_page_whose_app_cannot_start_says_so_past_its_deadline(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "preview_start_timeout_s", 3)
    silent = json.dumps({"name": "silent", "version": "1.0.0", "scripts": {"dev": "node silent.js"}}).encode()
    created = await services.projects.create(  # its dev server runs and never listens
        "Silent", {"package.json": silent, "silent.js": b"setInterval(() => {}, 1000);\n"}, owner=LOCAL_USER_ID
    )
    link = await services.shares.create(created.project_id)
    chromium = find_chromium(os.environ.get("FORJA_CHROMIUM", ""))
    assert chromium is not None, "Chromium is required (apt-get install chromium-headless-shell)"
    from playwright.async_api import async_playwright, expect

    async with serving(make_app(), free_port()) as base, async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"{base}/s/{link.token}")
        await expect(page.get_by_role("heading", name="Starting the app...")).to_be_visible()
        await expect(page.get_by_role("heading", name="This app could not start")).to_be_visible(timeout=15_000)
        await expect(page.locator("#state")).to_have_text(
            "It did not start within 3 seconds. Try again later, or ask the person who sent the link."
        )
        await expect(page.locator("#spinner")).to_be_hidden()
        await browser.close()
    status = await services.version_previews.status(created.project_id, 1)
    assert status is not None and status.state == PreviewState.starting  # it never answered: the page did not wait on


async def test_share_previews_end_with_their_last_link_its_expiry_or_the_trash(
    local_previews: None, services: Services, pid: str, sqlite_store: ProjectStore
) -> None:
    first = await services.shares.create(pid)
    second = await services.shares.create(pid)
    await services.version_previews.start(pid, 1)
    await services.shares.revoke(first.id)
    assert list(services.version_previews.ids_here(pid)) == [1]  # the other link still shows version 1

    await _set(sqlite_store, second.id, expires_at=utcnow() - timedelta(seconds=1))
    assert await services.shares.end_unshared_previews() == [(pid, 1)]
    assert services.version_previews.ids_here(pid) == {}

    await services.shares.create(pid)
    await services.version_previews.start(pid, 1)
    await services.history.delete(pid)
    assert services.version_previews.ids_here(pid) == {}


async def test_the_first_visit_after_an_expiry_ends_the_links_preview(
    local_previews: None, services: Services, pid: str, sqlite_store: ProjectStore
) -> None:
    link = await services.shares.create(pid)
    await services.version_previews.start(pid, 1)
    await _set(sqlite_store, link.id, expires_at=utcnow() - timedelta(seconds=1))
    assert (await _gone(services, link.token)).status == 410
    assert services.version_previews.ids_here(pid) == {}  # not left for the sweep


# -- the CLI ----------------------------------------------------------------------------------------


async def test_cli_share_list_revoke(services: Services, pid: str) -> None:
    backend = LocalBackend(services, LOCAL_ACTOR)
    value, text = await cli_shares.cmd_share(
        backend, argparse.Namespace(id=pid, version=None, expires=None, live=False, release=None, json=True)
    )
    assert isinstance(value, dict) and set(value) == {"url", "token", "id", "version", "expires_at", "target", "release"}
    assert value["url"] in text and value["version"] == 1
    assert (await services.shares.resolve(value["token"])).share_id == value["id"]

    never, text = await cli_shares.cmd_share(
        backend, argparse.Namespace(id=pid, version=1, expires=cli_shares._expires("never"), live=False, release=None, json=False)
    )
    assert never["expires_at"] is None and "no end date" in text

    listed, text = await cli_shares.cmd_shares(backend, argparse.Namespace(id=pid, json=False))
    assert len(listed) == 2 and "active" in text and value["token"] not in text

    info, text = await cli_shares.cmd_revoke(backend, argparse.Namespace(share_id=value["id"], json=False))
    assert info == {"id": value["id"], "revoked": True} and str(value["id"]) in text
    _, text = await cli_shares.cmd_shares(backend, argparse.Namespace(id=pid, json=False))
    assert "revoked" in text
    assert [link.revoked for link in await services.shares.links(pid)] == [False, True]
    await backend.close()

    with pytest.raises(argparse.ArgumentTypeError):
        cli_shares._expires("whenever")
