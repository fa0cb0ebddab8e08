"""A team on one Forja with accounts, in Chromium, on PostgreSQL (a team server's database; every other end-to-end
module's Forja is on SQLite): the issue's whole path.

An admin makes the first account with the setup code, invites two people from the admin page; each signs up with
their link. Bo builds an app (Claude is the scripted model server, so tokens and cost are real numbers); Cy sees
nothing of it, not on the home page and not at its address; Bo makes Cy a viewer, and Cy reads it without being
able to change it. The admin gives Cy a small token quota, and Cy's next build is refused in words before any model
request. The admin page shows the day's tokens, cost, generations and previews in its charts. Screenshots:
`team-<database>-<step>.png`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.conftest import PostgresServer
from tests.e2e.accounts import setup_code
from tests.e2e.conftest import ARTIFACTS, Traffic, forja_on_claude
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "a long team password"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bo's Bakes</title></head>
<body><h1>Bo's Bakes</h1><p class="tagline">Fresh bread every morning.</p></body></html>
"""


def bakery() -> dict[str, Any]:
    return {
        "title": "Bo's Bakes",
        "summary": "A one-page site for a bakery.",
        "files": [{"path": "index.html", "content": PAGE}, {"path": "package.json", "content": json.dumps(PACKAGE)}],
    }


PACKAGE = {"name": "bos-bakes", "private": True, "scripts": {"dev": "python3 -m http.server $PORT --bind $HOST"}}


@pytest.fixture(scope="module", params=["postgresql"])
def team_forja(
    request: pytest.FixtureRequest, llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str]]:
    """A Forja with accounts on its database; yields its address, the database's kind and its setup code."""
    settings = {"FORJA_AUTH": "password", "FORJA_VERIFY_GENERATIONS": "false"}
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        settings["DATABASE_URL"] = server.url(server.create_database())
    log = ARTIFACTS / f"forja-team-{request.param}.log"
    since = log.stat().st_size if log.exists() else 0
    with forja_on_claude(llm, tmp_path_factory.mktemp(f"team-{request.param}"), log.name, **settings) as base:
        yield base, request.param, setup_code(log, since)


def person(browser: Browser, traffic: Traffic, contexts: list[BrowserContext]) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    traffic.watch(context)
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def sign_up(page: Page, url: str, name: str, email: str, code: str = "") -> None:
    page.goto(url)
    page.locator("#auth-name").fill(name)
    if not page.locator("#auth-email").input_value():
        page.locator("#auth-email").fill(email)
    expect(page.locator("#auth-email")).to_have_value(email)
    page.locator("#auth-password").fill(PASSWORD)
    if code:
        page.locator("#auth-setup_code").fill(code)
    page.locator("#auth-submit").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#user-menu")).to_contain_text(name)


def invite(admin: Page, email: str) -> str:
    link = admin.locator("#invite-link")
    # The box still holds the previous invitation's link until the new one arrives.
    before = link.input_value() if link.count() else ""
    admin.locator("#invite-email").fill(email)
    admin.locator("#invite-button").click()
    expect(link).to_have_value(re.compile(r"/signup\?invite=[A-Za-z0-9_-]{40,}$"))
    expect(link).not_to_have_value(before)
    return link.input_value()


def shot(page: Page, database: str, step: str) -> None:
    # Transitions end at once instead of a fixed wait for them.
    page.screenshot(path=str(ARTIFACTS / f"team-{database}-{step}.png"), animations="disabled")


def test_a_team_shares_one_forja_with_projects_apart_and_quotas_held(
    team_forja: tuple[str, str, str], llm: ScriptedLLMServer, browser: Browser, traffic: Traffic
) -> None:
    base, database, code = team_forja
    contexts: list[BrowserContext] = []
    try:
        run_the_path(base, database, code, llm, browser, traffic, contexts)
    finally:
        for context in contexts:
            context.close()
    assert traffic.off_machine() == [], traffic.off_machine()


def run_the_path(
    base: str,
    database: str,
    code: str,
    llm: ScriptedLLMServer,
    browser: Browser,
    traffic: Traffic,
    contexts: list[BrowserContext],
) -> None:
    # The admin: the first account, with the code Forja printed at start.
    admin = person(browser, traffic, contexts)
    admin.goto(f"{base}/admin")
    admin.wait_for_url(re.compile(r"/login"))
    # The sign-in page knows where the person was going.
    expect(admin.locator('#sign-in-form input[name="next"]')).to_have_value(re.compile(r"^/admin/?$"))
    shot(admin, database, "1-sign-in")
    sign_up(admin, f"{base}/signup", "Ana Admin", "ana@example.org", code)
    admin.goto(f"{base}/admin")
    bo_link, cy_link = invite(admin, "bo@example.org"), invite(admin, "cy@example.org")
    shot(admin, database, "2-invited")

    # Bo and Cy sign up with their links; Bo builds an app with Claude.
    bo, cy = person(browser, traffic, contexts), person(browser, traffic, contexts)
    sign_up(bo, bo_link, "Bo Baker", "bo@example.org")
    sign_up(cy, cy_link, "Cy Critic", "cy@example.org")
    asked = len(llm.requests)
    llm.queue(ToolAnswer(bakery(), usage=Usage(12_000, 3_000)))
    bo.locator("#prompt").fill("A page for my bakery")
    bo.locator("#build-button").click()
    bo.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_url = bo.url
    expect(bo.locator("#version-badge")).to_have_text("v1", timeout=60_000)
    bo.locator("#tab-preview").click()
    expect(bo.frame_locator("#preview-frame").locator("h1")).to_have_text("Bo's Bakes", timeout=120_000)
    shot(bo, database, "3-bo-built")

    # Cy sees nothing of Bo's: not on the home page, not at its address, not through the API.
    cy.goto(base)
    expect(cy.locator("#prompt")).to_be_visible()
    expect(cy.locator(".project-card")).to_have_count(0)
    cy.goto(project_url)
    expect(cy.locator("#not-found")).to_contain_text("There is no project")
    shot(cy, database, "4-cy-not-found")
    project_id = project_url.rsplit("/", 1)[1]
    assert cy.request.get(f"{base}/api/projects/{project_id}/files").status == 404

    # Bo makes Cy a viewer: Cy reads it, and the page offers no change.
    bo.locator("#people-button").click()
    bo.locator("#people-email").fill("cy@example.org")
    bo.locator("#people-role").click()
    bo.get_by_role("option", name="Viewer: can look at it").click()
    bo.locator("#people-add").click()
    expect(bo.locator("#people-notice")).to_have_text("Cy Critic (cy@example.org) is now a viewer of this project.")
    expect(bo.locator("#people-list .member-row")).to_have_count(2)
    bo.keyboard.press("Escape")
    cy.goto(base)
    expect(cy.locator(".project-card")).to_have_count(1)
    expect(cy.locator(".project-card")).to_contain_text("Shared with you as viewer")
    cy.goto(project_url)
    expect(cy.locator("#viewer-note")).to_contain_text("You can view this project")
    expect(cy.locator("#followup")).to_have_count(0)
    cy.set_viewport_size(PHONE)
    shot(cy, database, "5-cy-viewer-phone")
    cy.set_viewport_size(DESKTOP)
    refused = cy.request.put(f"{base}/api/projects/{project_id}/files/index.html", data={"content": "mine now"})
    assert refused.status == 403

    # The admin gives Cy 1,000 tokens a day: Cy's build is refused in words, and no request reaches the model.
    admin.goto(f"{base}/admin")
    row = admin.locator('.admin-user[data-email="cy@example.org"]')
    row.locator(".edit-quotas").click()
    admin.locator('#quotas-dialog input[name="tokens_day"]').fill("1000")
    admin.locator("#save-quotas").click()
    expect(admin.locator("#quotas-dialog")).to_have_count(0)
    cy.goto(base)
    cy.locator("#prompt").fill("A page for my record shop")
    cy.locator("#build-button").click()
    expect(cy.get_by_role("alert")).to_contain_text("model tokens today", timeout=30_000)
    shot(cy, database, "6-cy-quota")
    assert len(llm.requests) == asked + 1

    # The admin page shows the day's real use: Bo's 15,000 tokens and their cost, the generation and the preview.
    admin.goto(f"{base}/admin")
    expect(admin.locator("#chart-tokens .admin-total")).to_have_text("15,000")
    expect(admin.locator("#chart-tokens path.recharts-rectangle")).to_have_count(1)
    expect(admin.locator("#chart-cost path.recharts-rectangle")).to_have_count(1)
    expect(admin.locator("#chart-generations path.recharts-rectangle")).to_have_count(1)
    expect(admin.locator("#chart-previews path.recharts-rectangle")).to_have_count(1)
    expect(admin.locator('.admin-user[data-email="bo@example.org"] .user-tokens')).to_have_text("15,000")
    admin.locator("#admin-usage").scroll_into_view_if_needed()
    shot(admin, database, "7-admin-usage")
    admin.set_viewport_size(PHONE)
    admin.locator("#admin-usage").scroll_into_view_if_needed()
    shot(admin, database, "7-admin-usage-phone")
