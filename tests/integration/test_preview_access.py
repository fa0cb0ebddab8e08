"""Forja's page that opens a project's preview (GET /previews/{id}/open) on a Forja with accounts: only people of the
project get there, with a ticket the preview's gate swaps for its cookie; a real preview behind a real Traefik, SQLite
and PostgreSQL. tests/integration/test_proxy.py has the gate's own rules through Traefik, tests/e2e/
test_session_isolation.py the same in Chromium."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest

from builder.composition import Services
from builder.models import ProjectRole
from preview_runtime.access import ACCESS_PATH
from preview_runtime.runner import PreviewState
from tests.accounts import Person, client
from tests.preview_visits import visit

PAGE = b"<!doctype html><title>Hours</title><h1>Open from nine</h1>"


@pytest.mark.usefixtures("local_previews")
async def test_only_people_of_the_project_open_its_preview(accounts_on: Services, ana: Person, bo: Person, cy: Person) -> None:
    pid = (await accounts_on.projects.create("Hours", {"index.html": PAGE}, owner=bo.actor.user_id)).project_id
    await accounts_on.access.add_member(pid, cy.actor.email, ProjectRole.viewer)
    await accounts_on.previews.start(pid, started_by=bo.actor.user_id)
    async with asyncio.timeout(60):
        info = await accounts_on.previews.wait_ready(pid)
    assert info.state == PreviewState.running, info.detail
    opened = f"/previews/{info.preview_id}/open?path=/index.html"

    # Nobody signed in: the sign-in page, which comes back here.
    async with client() as nobody:
        sent = await nobody.get(opened)
    assert sent.status_code == 302 and sent.headers["location"] == f"/login?next={quote(opened, safe='/')}"
    # Someone with no role in the project (an admin of the Forja too) gets the page a made-up id gets.
    for asked in (opened, "/previews/0123456789ab/open", "/previews/v-0123456789ab/open"):
        refused = await ana.http.get(asked)
        assert refused.status_code == 404 and "No preview runs at this address" in refused.text, asked
    # A viewer is sent to the preview with a ticket, which opens the page asked for.
    sent = await cy.http.get(opened)
    assert sent.status_code == 302 and sent.headers["location"].startswith(f"{info.url}{ACCESS_PATH}?ticket=")
    assert sent.headers["cache-control"] == "no-store" and sent.headers["referrer-policy"] == "no-referrer"
    async with httpx.AsyncClient(trust_env=False, timeout=10) as browser:
        _, page = await visit(browser, sent.headers["location"])
    assert page.status_code == 200 and b"<h1>Open from nine</h1>" in page.content

    # The gate renews a cookie only for someone who may still open the project.
    access = accounts_on.preview_access
    assert await access.may_keep(pid, cy.actor.user_id) and await access.may_keep(pid, bo.actor.user_id)
    assert not await access.may_keep(pid, ana.actor.user_id)
    await accounts_on.access.remove_member(pid, cy.actor.user_id)
    assert not await access.may_keep(pid, cy.actor.user_id)
    assert (await cy.http.get(opened)).status_code == 404
    await accounts_on.accounts.set_disabled(ana.actor, bo.actor.user_id, True)
    assert not await access.may_keep(pid, bo.actor.user_id)
