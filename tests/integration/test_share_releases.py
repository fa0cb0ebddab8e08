"""Share links to a published app (issue 32, part 7): to the live app, which follows later publishes, or to one release,
pinned on a host of its own. Forja's whole guarded server answers through httpx's ASGITransport, the link's page and the
app's hosts alike (the Host header is what the edge would pass on); the app is a plain page, published with no build.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

import builder.settings
from builder.api import api as forja_api
from builder.api import guarded
from builder.cli import shares as cli_shares
from builder.client.local import LocalBackend
from builder.composition import Services
from builder.db import session_factory
from builder.errors import InvalidInput
from builder.models import LOCAL_USER_ID, Author, ShareLink, utcnow
from builder.publish.addresses import app_url
from builder.publish.edge import GONE_PAGE, RELEASE_GONE_PAGE
from builder.services.access import LOCAL_ACTOR
from builder.store import ProjectStore

PAGE = "<!doctype html>\n<html lang='en'><title>Barber</title><h1>{}</h1></html>\n"


@pytest.fixture
async def forja(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """Forja's server as a client reaches it (the CLI's way: no Origin, the local user)."""
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        yield client


async def visit(forja: httpx.AsyncClient, url: str) -> httpx.Response:
    """A browser's request for an address on the apps' edge: its Host is the address's."""
    return await forja.get("/", headers={"Host": url.split("://", 1)[1]})


async def published_twice(services: Services) -> str:
    """A project with release 1 ("Open at nine") and release 2 ("Open at ten", live)."""
    made = await services.projects.create(
        "Barber shop", {"index.html": PAGE.format("Open at nine").encode()}, owner=LOCAL_USER_ID
    )
    await services.publishing.publish(made.project_id, user_id=LOCAL_USER_ID)
    await services.projects.save(made.project_id, {"index.html": PAGE.format("Open at ten").encode()}, author=Author.user)
    await services.publishing.publish(made.project_id, user_id=LOCAL_USER_ID)
    return made.project_id


async def share(forja: httpx.AsyncClient, pid: str, **body: object) -> dict:
    made = await forja.post(f"/api/projects/{pid}/share", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def token_path(link: dict) -> str:
    return "/s/" + link["url"].rsplit("/s/", 1)[1]


async def test_a_link_to_the_live_app_follows_publishes_and_a_pinned_one_keeps_its_release(
    local_previews: None, services: Services, forja: httpx.AsyncClient
) -> None:
    pid = await published_twice(services)
    live = await share(forja, pid, target="live")
    pinned = await share(forja, pid, target="release", release=2)
    assert (live["target"], live["version"], live["release"]) == ("live", 2, None)
    assert (pinned["target"], pinned["version"], pinned["release"]) == ("release", 2, 2)

    # The live app: a redirect to its own address, never cached, the token never sent on; no preview was started.
    opened = await forja.get(token_path(live))
    assert opened.status_code == 302 and opened.headers["location"] == app_url("barber-shop")
    assert opened.headers["cache-control"] == "no-store" and opened.headers["referrer-policy"] == "no-referrer"
    assert "Open at ten" in (await visit(forja, opened.headers["location"])).text
    # The pinned release: its own host on the apps' domain, served by the edge from the release's files.
    shown = await forja.get(token_path(pinned))
    assert shown.status_code == 302 and shown.headers["location"] == app_url("barber-shop--r2")
    assert "Open at ten" in (await visit(forja, shown.headers["location"])).text
    assert services.version_previews.running_here(pid) == []
    status = await forja.get(token_path(pinned) + "/status")
    assert status.json() == {"state": "running", "url": app_url("barber-shop--r2")}

    # After a rollback the live link shows release 1; the pinned one still release 2.
    await services.publishing.rollback(pid, 1)
    assert "Open at nine" in (await visit(forja, (await forja.get(token_path(live))).headers["location"])).text
    assert "Open at ten" in (await visit(forja, app_url("barber-shop--r2"))).text
    # A release no working link pins has no host: the edge names nothing.
    assert (await visit(forja, app_url("barber-shop--r1"))).status_code == 404

    listed = (await forja.get(f"/api/projects/{pid}/shares")).json()
    assert [(link["target"], link["release"]) for link in listed] == [("release", 2), ("live", None)]


async def test_turning_a_pinned_link_off_takes_its_release_host_down(
    local_previews: None, services: Services, sqlite_store: ProjectStore, forja: httpx.AsyncClient
) -> None:
    pid = await published_twice(services)
    pinned = await share(forja, pid, target="release", release=1)
    assert "Open at nine" in (await visit(forja, app_url("barber-shop--r1"))).text

    assert (await forja.delete(f"/api/shares/{pinned['id']}")).status_code == 204
    page = await forja.get(token_path(pinned))
    assert page.status_code == 410 and "turned off by its owner" in page.text
    assert (await visit(forja, app_url("barber-shop--r1"))).status_code == 404  # at once, on this worker
    # The live app is not a share link's to take down.
    assert "Open at ten" in (await visit(forja, app_url("barber-shop"))).text

    # An expired link is over the same way (its end moved into the past, as time would).
    later = await share(forja, pid, target="release", release=2, expires_in="1h")
    async with session_factory(sqlite_store.engine)() as session, session.begin():
        link = await session.get(ShareLink, later["id"])
        assert link is not None
        link.expires_at = utcnow() - timedelta(seconds=1)
        session.add(link)
    page = await forja.get(token_path(later))
    assert page.status_code == 410 and "expired" in page.text
    assert (await visit(forja, app_url("barber-shop--r2"))).status_code == 404


async def test_a_pinned_release_that_was_pruned_answers_410(
    local_previews: None, services: Services, forja: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = await published_twice(services)
    pinned = await share(forja, pid, target="release", release=1)
    monkeypatch.setattr(builder.settings.settings, "releases_kept", 1)
    await services.projects.save(pid, {"index.html": PAGE.format("Open at eleven").encode()}, author=Author.user)
    await services.publishing.publish(pid, user_id=LOCAL_USER_ID)  # release 3 live; 1 and 2 pruned

    page = await forja.get(token_path(pinned))
    assert page.status_code == 410 and "no longer keeps that release" in page.text
    assert "location" not in page.headers
    host = await visit(forja, app_url("barber-shop--r1"))
    assert host.status_code == 410 and host.content == RELEASE_GONE_PAGE
    assert (await forja.get(token_path(pinned) + "/status")).json()["state"] == "gone"
    # A pruned release cannot be shared again; the live link still works.
    refused = await forja.post(f"/api/projects/{pid}/share", json={"target": "release", "release": 2})
    assert refused.status_code == 422 and "files are gone" in refused.text
    live = await share(forja, pid, target="live")
    assert "Open at eleven" in (await visit(forja, (await forja.get(token_path(live))).headers["location"])).text


async def test_links_to_an_app_need_a_live_one(local_previews: None, services: Services, forja: httpx.AsyncClient) -> None:
    made = await services.projects.create("Draft", {"index.html": PAGE.format("Draft").encode()}, owner=LOCAL_USER_ID)
    for body in ({"target": "live"}, {"target": "release"}):
        refused = await forja.post(f"/api/projects/{made.project_id}/share", json=body)
        assert refused.status_code == 422 and "no live app" in refused.text
    await services.publishing.publish(made.project_id, user_id=LOCAL_USER_ID)
    with pytest.raises(InvalidInput, match="not a version"):
        await services.shares.create(made.project_id, 1, target="live")
    pinned = await share(forja, made.project_id, target="release")
    assert pinned["release"] == 1 and "Draft" in (await visit(forja, app_url("draft--r1"))).text
    await services.publishing.unpublish(made.project_id)
    refused = await forja.post(f"/api/projects/{made.project_id}/share", json={"target": "live"})
    assert refused.status_code == 422 and "no live app" in refused.text
    # Taken down, with its pinned releases: the link leads to a host that says so.
    assert (await forja.get(token_path(pinned))).headers["location"] == app_url("draft--r1")
    taken_down = await visit(forja, app_url("draft--r1"))
    assert taken_down.status_code == 410 and taken_down.content == GONE_PAGE


async def test_the_cli_makes_links_to_the_live_app_and_to_a_release(local_previews: None, services: Services) -> None:
    pid = await published_twice(services)
    backend = LocalBackend(services, LOCAL_ACTOR)
    common = {"id": pid, "version": None, "expires": None, "json": False}
    live, text = await cli_shares.cmd_share(backend, argparse.Namespace(**common, live=True, release=None))
    assert live["target"] == "live" and "the published app (whatever release is live)" in text
    pinned, text = await cli_shares.cmd_share(backend, argparse.Namespace(**common, live=False, release=1))
    assert (pinned["target"], pinned["release"]) == ("release", 1) and "release 1 of the published app" in text
    _, listed = await cli_shares.cmd_shares(backend, argparse.Namespace(id=pid, json=False))
    assert "release 1" in listed and "live app" in listed
    await backend.close()
