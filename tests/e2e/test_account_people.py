"""Accounts in Chromium on a real Forja with FORJA_AUTH=password: a project's People, a viewer's read-only workspace,
the Account page (tokens, password, meters), and quotas said before and when they are hit.

The people are made in-process on the Forja's own SQLite database, with the services, as an operator's
`python -m builder user create` would; everything else goes through the page.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from builder import db
from builder.schemas import QuotaSet
from builder.services.access import Actor
from builder.services.accounts import AccountService
from builder.store import ProjectStore
from tests.e2e.accounts import sign_in as sign_in_page
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, REPO, Traffic, accessible, another_forja, editor_ready

PASSWORD = "correct horse battery"
T = TypeVar("T")


@dataclass(frozen=True)
class Team:
    base: str
    database: str
    actors: dict[str, Actor]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end: in a thread of its own, as sync Playwright holds this thread's event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def on_accounts(database: str, work: Any) -> Any:
    store = ProjectStore(db.create_engine(database))
    try:
        return await work(AccountService(store))
    finally:
        await store.close()


PEOPLE = {"ana": "Ana Lima", "bo": "Bo Park", "cy": "Cy Diaz", "dee": "Dee Moss"}
BAKERY = {
    "index.html": '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Bakery</title></head>\n'
    "<body><h1>Bakery</h1><p>Fresh bread every morning.</p></body></html>\n"
}


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """A Forja with accounts; Ana (the first, so its admin), Bo, Cy and Dee have accounts on it."""
    folder = tmp_path_factory.mktemp("forja-accounts")
    env = {"FORJA_AUTH": "password", "FORJA_VERIFY_GENERATIONS": "false"}
    with another_forja(folder, "account-people-forja.log", env) as base:
        database = f"sqlite+aiosqlite:///{folder / 'data' / 'forja.db'}"

        async def make(accounts: AccountService) -> dict[str, Actor]:
            made = {}
            for key, name in PEOPLE.items():
                info = await accounts.create_user(f"{key}@example.org", name, PASSWORD)
                made[key] = Actor(info.id, info.email, info.name, info.role)
            return made

        yield Team(base, database, run(on_accounts(database, make)))


def set_quotas(team: Team, who: str, **quotas: int) -> None:
    """What an admin sets on the admin page: Ana, the admin, changes someone's quotas."""

    async def change(accounts: AccountService) -> None:
        await accounts.set_quotas(team.actors["ana"], team.actors[who].user_id, QuotaSet.model_validate(quotas))

    run(on_accounts(team.database, change))


def shot(page: Page, name: str, full_page: bool = False) -> None:
    # Transitions (a new scheme's colours) end at once instead of a fixed wait for them before each of ~50 pictures.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page, animations="disabled")


def shots(page: Page, name: str, prepare: Any = None, full_page: bool = False) -> None:
    """The page at 1440x900 and 390x844, light and dark: `name`-desktop-light.png and so on; and in each of these it
    passes axe-core's WCAG 2 A/AA rules."""
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        if prepare is not None:
            prepare()
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            shot(page, f"{name}-{size}-{scheme}", full_page)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)
    accessible(page, name, widths=(DESKTOP, PHONE), prepare=prepare)


@pytest.fixture
def contexts(browser: Browser, traffic: Traffic) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"


def sign_in(browser: Browser, contexts: list[BrowserContext], traffic: Traffic, team: Team, who: str) -> Page:
    """A browser of its own for `who`, signed in through the sign-in page."""
    context = browser.new_context(viewport=DESKTOP)
    traffic.watch(context)
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in_page(page, team.base, f"{who}@example.org", PASSWORD)
    expect(page.locator("#user-menu")).to_contain_text(PEOPLE[who])
    return page


def new_project(page: Page, team: Team, name: str, files: dict[str, str]) -> str:
    """A project of the signed-in person, made through the API with their sign-in."""
    response = page.request.post(f"{team.base}/api/projects", data={"name": name, "files": files})
    assert response.status == 201, response.text()
    return response.json()["id"]


def open_people(page: Page) -> None:
    page.locator("#people-button").click()
    expect(page.locator("#people-list .member-row").first).to_be_visible()


def test_a_viewer_sees_a_read_only_workspace_until_the_owner_makes_them_an_editor(
    browser: Browser, contexts: list[BrowserContext], traffic: Traffic, team: Team
) -> None:
    ana = sign_in(browser, contexts, traffic, team, "ana")
    # Her project through the API: building one from the home page is other tests' (and its generation started a
    # preview here that nothing looked at).
    project_id = new_project(ana, team, "Bakery", BAKERY)
    ana.goto(f"{team.base}/p/{project_id}")
    expect(ana.locator("#version-badge")).to_have_text("v1")

    # Ana shares it with Bo as a viewer from the People dialog; an address without an account gets what to do.
    open_people(ana)
    expect(ana.locator("#people-list")).to_contain_text("Ana Lima (you)")
    ana.locator("#people-email").fill("nobody@example.org")
    ana.locator("#people-add").click()
    expect(ana.locator("#people-error")).to_contain_text("Invite them from the admin page")  # she is its admin
    ana.locator("#people-email").fill("bo@example.org")
    ana.locator("#people-role").click()
    ana.get_by_role("option", name="Viewer: can look at it").click()
    ana.locator("#people-add").click()
    expect(ana.locator("#people-notice")).to_have_text("Bo Park (bo@example.org) is now a viewer of this project.")
    expect(ana.locator('.member-row[data-email="bo@example.org"]')).to_contain_text("Bo Park")
    shots(ana, "people-owner")
    ana.keyboard.press("Escape")

    # Bo's home page: the project, marked as shared with him as a viewer.
    bo = sign_in(browser, contexts, traffic, team, "bo")
    card = bo.locator(".project-card", has=bo.locator(".shared-badge"))
    expect(card.locator(".shared-badge")).to_have_text("Shared with you as viewer")
    shots(bo, "viewer-home", card.scroll_into_view_if_needed)
    card.click()
    bo.wait_for_url(f"{team.base}/p/{project_id}")

    # Read-only: a note instead of the follow-up box, Monaco read-only and no Save, nothing that would be refused.
    expect(bo.locator("#viewer-note")).to_have_text(
        "You can view this project. Ask its owner to make you an editor to change it."
    )
    expect(bo.locator("#followup")).to_have_count(0)
    expect(bo.locator("#tab-terminal")).to_have_count(0)  # a shell is for editors (its websocket refuses a viewer too)
    bo.locator("#tab-code").click()
    expect(bo.locator("#read-only-badge")).to_be_visible()
    expect(bo.locator("#save-button")).to_have_count(0)
    expect(bo.locator(".monaco-editor .view-lines")).not_to_be_empty()
    bo.wait_for_function("window.__forjaEditor && window.__forjaEditor.getModel() !== null")
    assert bo.evaluate("window.__forjaEditor.getRawOptions().readOnly") is True
    before = bo.evaluate("window.__forjaEditor.getValue()")
    editor_ready(bo)
    bo.locator(".monaco-editor .view-lines").click()
    bo.keyboard.type("typed by a viewer")
    assert bo.evaluate("window.__forjaEditor.getValue()") == before
    expect(bo.locator("#unsaved-badge")).to_have_count(0)
    bo.locator("#project-menu").click()
    expect(bo.locator("#menu-duplicate")).to_be_visible()
    expect(bo.locator("#menu-rename")).to_have_count(0)
    expect(bo.locator("#menu-trash")).to_have_count(0)
    bo.keyboard.press("Escape")
    bo.locator("#tab-history").click()
    expect(bo.locator("#diff-totals")).to_be_visible()
    expect(bo.locator("#restore-version")).to_have_count(0)
    bo.locator("#tab-preview").click()
    expect(bo.locator("#preview-reload")).to_be_visible()
    expect(bo.locator("#preview-select")).to_have_count(0)
    bo.locator("#share-button").click()
    expect(bo.locator("#share-view-only")).to_be_visible()
    expect(bo.locator("#create-share")).to_have_count(0)
    bo.keyboard.press("Escape")
    # The services refuse what the page does not offer.
    refused = bo.request.put(f"{team.base}/api/projects/{project_id}/files/index.html", data={"content": "<h1>Mine</h1>"})
    assert refused.status == 403, refused.text()

    open_people(bo)
    expect(bo.locator("#people-add")).to_have_count(0)
    expect(bo.locator("#people-leave")).to_be_visible()
    shots(bo, "people-viewer")
    bo.keyboard.press("Escape")
    bo.locator("#tab-code").click()

    def chat_pane() -> None:
        if bo.viewport_size == PHONE:
            bo.locator("#phone-tab-chat").click()
        else:
            bo.locator("#tab-code").click()

    shots(bo, "viewer-workspace", chat_pane)

    # Ana makes Bo an editor; on his next visit he can ask for a change.
    ana.bring_to_front()
    open_people(ana)
    ana.locator('.member-row[data-email="bo@example.org"] .member-role').click()
    ana.get_by_role("option", name="Editor", exact=True).click()
    expect(ana.locator("#people-notice")).to_have_text("Bo Park is now an editor of this project.")
    ana.keyboard.press("Escape")

    bo.goto(f"{team.base}/")
    expect(bo.locator(".shared-badge")).to_have_text("Shared with you as editor")
    bo.goto(f"{team.base}/p/{project_id}")
    expect(bo.locator("#followup")).to_be_visible()
    expect(bo.locator("#viewer-note")).to_have_count(0)
    bo.locator("#followup").fill("call it Luna Bakery")
    bo.locator("#send-followup").click()
    expect(bo.locator("#version-badge")).to_have_text("v2", timeout=120_000)
    expect(bo.locator("#project-name")).to_have_text("Luna Bakery")


def test_the_account_page_makes_and_revokes_tokens_and_changes_the_password(
    browser: Browser, contexts: list[BrowserContext], traffic: Traffic, team: Team
) -> None:
    cy = sign_in(browser, contexts, traffic, team, "cy")
    # A second browser of Cy's, which the password change signs out.
    elsewhere = sign_in(browser, contexts, traffic, team, "cy")
    cy.locator("#user-menu").click()
    cy.locator("#menu-account").click()
    cy.wait_for_url(f"{team.base}/account")
    expect(cy.locator("#account-name")).to_have_text("Cy Diaz")
    expect(cy.locator("#account-email")).to_have_text("cy@example.org")
    expect(cy.locator("#account-role")).to_have_text("Member")
    expect(cy.locator("#no-tokens")).to_be_visible()
    meters = cy.locator(".usage-meter")
    expect(meters).to_have_count(7)
    expect(cy.locator('.usage-meter[data-name="tokens_day"]')).to_contain_text("0 of 1,000,000 tokens today")
    expect(cy.locator('.usage-meter[data-name="tokens_day"]')).to_contain_text("until midnight (UTC)")
    expect(cy.locator('.usage-meter[data-name="published_apps"]')).to_contain_text("0 of 5 live")
    expect(cy.locator('.usage-meter[data-name="build_minutes_day"]')).to_contain_text("0 of 30 minutes today")

    cy.locator("#token-name").fill("laptop CLI")
    cy.locator("#make-token").click()
    expect(cy.locator("#new-token")).to_have_value(re.compile(r"^forja_"))
    token = cy.locator("#new-token").input_value()
    expect(cy.locator("#token-cli")).to_have_text(f"python -m builder projects --server {team.base} --token {token}")
    # The command as shown works, as a person would paste it.
    shown = cy.locator("#token-cli").inner_text().split()
    pasted = subprocess.run([sys.executable, *shown[1:], "--json"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert pasted.returncode == 0 and isinstance(json.loads(pasted.stdout), list), pasted.stderr
    expect(cy.locator("#token-curl")).to_contain_text(f"Authorization: Bearer {token}")
    shots(cy, "account-token-dialog")
    cy.locator("#token-done").click()
    expect(cy.locator("#new-token")).to_have_count(0)
    row = cy.locator('.token-row[data-name="laptop CLI"]')
    expect(row).to_contain_text(token[:10])
    expect(row).to_contain_text("last used never")
    me = httpx.get(f"{team.base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == "cy@example.org"
    cy.reload()
    expect(row).not_to_contain_text("last used never")
    shots(cy, "account", full_page=True)

    row.locator(".revoke-token").click()
    cy.locator(".confirm-revoke-token").click()
    expect(row).to_have_count(0)
    expect(cy.locator("#no-tokens")).to_be_visible()
    assert httpx.get(f"{team.base}/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    # A wrong current password is refused in words; the right one changes it and ends the other sign-in.
    cy.locator("#auth-current").fill("not my password")
    cy.locator("#auth-new").fill("a new long password")
    cy.locator("#password-submit").click()
    expect(cy.locator("#password-form [data-forja-auth-error]")).to_have_text(
        "Your current password is not that one; type it again."
    )
    cy.locator("#auth-current").fill(PASSWORD)
    cy.locator("#auth-new").fill("a new long password")
    cy.locator("#password-submit").click()
    expect(cy.locator("#password-done")).to_have_text("Password changed; your other sign-ins ended.")
    assert cy.request.get(f"{team.base}/api/auth/me").status == 200, "this browser stays signed in"
    assert elsewhere.request.get(f"{team.base}/api/auth/me").status == 401
    old = httpx.post(f"{team.base}/api/auth/sign-in", json={"email": "cy@example.org", "password": PASSWORD})
    assert old.status_code == 400
    new = httpx.post(f"{team.base}/api/auth/sign-in", json={"email": "cy@example.org", "password": "a new long password"})
    assert new.status_code == 200


def alert(page: Page, text: str) -> Locator:
    """The page's error callout saying `text`."""
    return page.get_by_role("alert").filter(has_text=text)


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def owning_nothing(page: Page, team: Team) -> None:
    """The signed-in person owns no project, in the trash or out of it: a second try of a test that counts them (its
    first, cut short, left some) starts where the first did."""
    for project in page.request.get(f"{team.base}/api/projects").json()["items"]:
        assert page.request.delete(f"{team.base}/api/projects/{project['id']}").status == 204

    async def purge() -> None:
        store = ProjectStore(db.create_engine(team.database))
        try:
            await store.purge_trashed(datetime.now(UTC) + timedelta(days=1))
        finally:
            await store.close()

    run(purge())
    set_quotas(team, "dee")  # the server's defaults, as before a first try


def test_quotas_are_said_before_they_are_hit_and_each_refusal_where_it_was_asked(
    browser: Browser, contexts: list[BrowserContext], traffic: Traffic, team: Team, tmp_path: Path
) -> None:
    dee = sign_in(browser, contexts, traffic, team, "dee")
    owning_nothing(dee, team)
    page = {"index.html": "<!doctype html>\n<title>Bread</title>\n<h1>Fresh Bread at seven</h1>\n"}
    small = [new_project(dee, team, f"Shop {n}", page) for n in range(4)]

    # 4 of 5 projects: the home page and the workspace say so, amber, with a link to the Account page.
    set_quotas(team, "dee", projects=5)
    dee.reload()
    note = dee.locator("#quota-note")
    expect(note).to_contain_text("You used 80% of the projects you may own (4 of 5).")
    expect(note).to_have_attribute("data-full", "false")
    shots(dee, "account-quota-home")
    dee.goto(f"{team.base}/p/{small[0]}")
    expect(dee.locator("#quota-note")).to_contain_text("You used 80% of the projects you may own (4 of 5).")
    shots(dee, "account-quota-workspace", lambda: dee.locator("#phone-tab-chat").click() if dee.viewport_size == PHONE else None)
    # On a phone the header still reaches the person's menu, at its right end.
    dee.set_viewport_size(PHONE)
    menu = dee.locator("#user-menu").bounding_box()
    assert menu is not None and menu["x"] + menu["width"] <= PHONE["width"], menu
    dee.set_viewport_size(DESKTOP)
    dee.locator("#quota-note-link").click()
    dee.wait_for_url(f"{team.base}/account")
    expect(dee.locator('.usage-meter[data-name="projects"]')).to_have_attribute("data-tone", "amber")

    # A fifth project, over a megabyte: then the projects and the storage are used up, and the note turns red.
    big = new_project(dee, team, "Big shop", {**page, "data.txt": "x" * 1_200_000})
    set_quotas(team, "dee", projects=5, storage_mb=1, previews=1)
    dee.goto(f"{team.base}/account")
    expect(dee.locator('.usage-meter[data-name="projects"]')).to_have_attribute("data-tone", "red")
    expect(dee.locator('.usage-meter[data-name="storage_mb"]')).to_have_attribute("data-tone", "red")
    shots(dee, "account-meters-full", dee.locator("#usage-meters").scroll_into_view_if_needed)
    dee.goto(f"{team.base}/")
    expect(note).to_have_attribute("data-full", "true")
    expect(note).to_contain_text("You used all of the projects you may own (5 of 5).")
    expect(note).to_contain_text("You used all of your storage")

    # Each refusal shows its sentence where the work was asked for: the build, the import...
    dee.locator("#prompt").fill("A todo list with dark mode")
    dee.locator("#build-button").click()
    expect(alert(dee, "You own 5 projects, your limit on this Forja.")).to_be_visible()
    archive = tmp_path / "shop.zip"
    archive.write_bytes(zip_of(page))
    dee.locator("#import_zip input[type=file]").set_input_files(str(archive))
    expect(alert(dee, "Could not import shop.zip: You own 5 projects")).to_be_visible()
    accessible(dee, "home, with a refusal")

    # ...the follow-up (its save would pass the storage)...
    dee.goto(f"{team.base}/p/{big}")
    dee.locator("#followup").fill('replace "Fresh Bread" with "Warm Cake"')
    dee.locator("#send-followup").click()
    expect(alert(dee, "its owner may keep on this Forja. Nothing was saved.")).to_be_visible(timeout=60_000)
    expect(dee.locator("#version-badge")).to_have_text("v1")

    # ...and the preview: one runs, a second one waits.
    dee.goto(f"{team.base}/p/{small[0]}")
    expect(dee.frame_locator("#preview-frame").locator("h1")).to_have_text("Fresh Bread at seven", timeout=120_000)
    # A project opens on its app: the next one starts (here: is refused) with no click.
    dee.goto(f"{team.base}/p/{small[1]}")
    expect(dee.locator("#preview-message")).to_contain_text("previews of this project owner's apps are running", timeout=60_000)
    shot(dee, "account-quota-preview-refused")
    accessible(dee, "workspace, a preview refused")


def test_without_accounts_the_account_page_says_so_and_there_is_no_people_button(forja: str, page: Page) -> None:
    response = httpx.post(f"{forja}/api/projects", json={"name": "Laptop app", "files": {"index.html": "<h1>Hi</h1>"}})
    project_id = response.json()["id"]
    page.goto(f"{forja}/account")
    expect(page.locator("#no-accounts")).to_contain_text("There are no accounts on this Forja")
    expect(page.locator("#no-accounts")).to_contain_text("FORJA_AUTH=password")
    expect(page.locator("#user-menu")).to_have_count(0)
    shots(page, "account-no-accounts")
    page.goto(f"{forja}/p/{project_id}")
    expect(page.locator("#followup")).to_be_visible()
    expect(page.locator("#project-name")).to_have_text("Laptop app")
    expect(page.locator("#people-button")).to_have_count(0)
    expect(page.locator("#quota-note")).to_have_count(0)


def test_two_people_in_one_project_see_each_other_and_each_others_follow_ups(
    browser: Browser, contexts: list[BrowserContext], traffic: Traffic, team: Team
) -> None:
    """Ana (owner) and Bo (editor) open one project: each sees the other's avatar, tab and file; Ana's follow-up shows
    in Bo's conversation without a reload; Ana's closed tab leaves Bo's header."""
    ana = sign_in(browser, contexts, traffic, team, "ana")
    files = {"index.html": "<h1>Together</h1>", "about.html": "<p>About us</p>"}
    project_id = new_project(ana, team, "Together", files)
    added = ana.request.post(f"{team.base}/api/projects/{project_id}/members", data={"email": "bo@example.org", "role": "editor"})
    assert added.status == 201, added.text()
    ana.goto(f"{team.base}/p/{project_id}")
    expect(ana.locator("#project-name")).to_have_text("Together")
    bo = sign_in(browser, contexts, traffic, team, "bo")
    bo.goto(f"{team.base}/p/{project_id}")
    expect(bo.locator("#project-name")).to_have_text("Together")

    # Each sees the other (never themselves), with initials, and where they are.
    ana_seen, bo_seen = bo.locator(".presence-avatar"), ana.locator(".presence-avatar")
    expect(ana_seen).to_have_count(1, timeout=30_000)
    expect(ana_seen).to_have_attribute("data-name", "Ana Lima", timeout=30_000)
    expect(ana_seen).to_contain_text("AL", timeout=30_000)
    expect(bo_seen).to_have_count(1, timeout=30_000)
    expect(bo_seen).to_have_attribute("data-name", "Bo Park", timeout=30_000)
    bo.locator("#tab-code").click()
    bo.locator('#file-tree [data-path="about.html"]').click()
    expect(bo_seen).to_have_attribute("data-where", "Code \u00b7 about.html", timeout=30_000)
    ana.locator("#tab-logs").click()
    expect(ana_seen).to_have_attribute("data-where", "Logs", timeout=30_000)
    listed = ana.request.get(f"{team.base}/api/projects/{project_id}/presence")
    assert listed.status == 200, listed.text()
    assert sorted((p["name"], p["tab"], p["file"]) for p in listed.json()) == [
        ("Ana Lima", "logs", ""),
        ("Bo Park", "code", "about.html"),
    ]
    ana.locator("#presence").click()
    expect(ana.locator("#presence-list .presence-person")).to_have_text(re.compile("Bo Park.*Code \u00b7 about.html"))
    shot(ana, "presence-desktop")
    ana.keyboard.press("Escape")
    ana.set_viewport_size(PHONE)
    shot(ana, "presence-phone")
    ana.locator("#presence").click()
    expect(ana.locator("#presence-list")).to_be_visible()
    shot(ana, "presence-phone-list")
    ana.keyboard.press("Escape")
    ana.set_viewport_size(DESKTOP)
    accessible(ana, "presence", widths=(DESKTOP, PHONE))

    # Ana asks for a change: Bo's conversation shows it (and what came of it) with no reload.
    ana.locator("#tab-code").click()
    ana.locator("#followup").fill('replace "About us" with "About the team"')
    ana.locator("#send-followup").click()
    prompt = bo.locator('.chat-entry[data-kind="prompt"]', has_text='replace "About us"')
    expect(prompt).to_be_visible(timeout=30_000)
    expect(prompt).to_contain_text("Ana Lima", timeout=30_000)
    expect(bo.locator("#version-badge")).to_have_text("v2", timeout=120_000)
    expect(bo.locator('.chat-entry[data-kind="version"]').last).to_contain_text("version 2")
    expect(ana.locator('.chat-entry[data-kind="prompt"]', has_text='replace "About us"')).to_contain_text("You")

    # Ana closes the tab: gone from Bo's header and from the list.
    ana.close()
    expect(ana_seen).to_have_count(0, timeout=30_000)
    left = bo.request.get(f"{team.base}/api/projects/{project_id}/presence")
    assert [p["name"] for p in left.json()] == ["Bo Park"]
