"""Two people and a viewer in one file, in Chromium (three browser contexts) on one Forja with accounts: both type in the
same file at once and both end with the same text holding both edits, each sees the other's named cursor, the viewer
follows and cannot type, Save names both authors, and a restore under unsaved typing shows a conflict that keeps it.
Screenshots: `coediting-<step>.png`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.e2e.accounts import sign_in
from tests.e2e.conftest import ARTIFACTS, Traffic, another_forja, editor_text, type_at
from tests.integration.test_cli import run_in_process

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "a long team password"
START = "const greeting = 'hello';\nexport default greeting;\n"
PEOPLE = {"ana@example.org": "Ana Lima", "bo@example.org": "Bo Park", "cy@example.org": "Cy Diaz"}


def cli(data: Path, *args: str, stdin: str = "") -> str:
    env = {**os.environ, "FORJA_DATA_DIR": str(data), "FORJA_AUTH": "password"}
    done = run_in_process(list(args), env, stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A Forja with three accounts and Ana's project, Bo its editor and Cy its viewer; yields its address, the project's
    id and Ana's API token."""
    folder = tmp_path_factory.mktemp("coediting")
    with another_forja(folder, "forja-coediting.log", {"FORJA_AUTH": "password"}) as base:
        for n, (email, name) in enumerate(PEOPLE.items()):
            admin = ["--admin"] if n == 0 else []
            cli(folder / "data", "user", "create", *admin, email, "--name", name, "--password-stdin", stdin=PASSWORD + "\n")
        token = cli(folder / "data", "token", "create", "ana@example.org")
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        made = api.post("/api/projects", json={"name": "Greeting", "files": {"greeting.js": START}})
        assert made.status_code == 201, made.text
        project = made.json()["id"]
        for email, role in (("bo@example.org", "editor"), ("cy@example.org", "viewer")):
            added = api.post(f"/api/projects/{project}/members", json={"email": email, "role": role})
            assert added.status_code == 201, added.text
        yield base, project, token


def open_file(browser: Browser, traffic: Traffic, contexts: list[BrowserContext], base: str, project: str, email: str) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    traffic.watch(context)
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, base, email, PASSWORD)
    page.goto(f"{base}/p/{project}")
    page.locator("#tab-code").click()
    page.locator('[data-path="greeting.js"]').first.click()
    # The editor shows the room's text once it joined (the binding waits for the room).
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("greeting", timeout=60_000)
    page.wait_for_function("() => window.__forjaRoom !== undefined")
    return page


def test_two_people_type_in_one_file_at_once_and_a_viewer_follows(
    team: tuple[str, str, str], browser: Browser, traffic: Traffic
) -> None:
    base, project, token = team
    contexts: list[BrowserContext] = []
    try:
        ana = open_file(browser, traffic, contexts, base, project, "ana@example.org")
        bo = open_file(browser, traffic, contexts, base, project, "bo@example.org")
        cy = open_file(browser, traffic, contexts, base, project, "cy@example.org")
        # Both type at once, in the same line (the first), before either hears of the other.
        ana.evaluate("() => window.__forjaEditor.focus()")
        type_at(ana, 1, "/* Ana */ ")
        type_at(bo, 1, "/* Bo */ ")
        for page in (ana, bo, cy):
            page.wait_for_function(
                "() => { const t = window.__forjaEditor.getValue(); return t.includes('/* Ana */') && t.includes('/* Bo */'); }",
                timeout=30_000,
            )
        assert editor_text(ana) == editor_text(bo) == editor_text(cy)
        # Each sees the other's cursor, labelled with their name in their colour.
        expect(ana.locator('[class*="yRemoteSelectionHead-"]').first).to_be_attached()
        expect(bo.locator('[class*="yRemoteSelectionHead-"]').first).to_be_attached()
        assert "Bo Park" in ana.evaluate("() => [...document.head.querySelectorAll('style')].map(s => s.textContent).join()")
        ana.screenshot(path=str(ARTIFACTS / "coediting-ana.png"))
        # The viewer cannot type: the editor is read-only and the text stays.
        before = editor_text(cy)
        type_at(cy, 1, "VIEWER")
        assert editor_text(cy) == before
        expect(cy.locator("#read-only-badge")).to_be_visible()
        cy.set_viewport_size(PHONE)
        cy.screenshot(path=str(ARTIFACTS / "coediting-viewer-phone.png"))
        # Save names both authors.
        expect(bo.locator("#save-button")).to_be_enabled(timeout=30_000)
        bo.locator("#save-button").click()
        expect(bo.locator("#save-notice")).to_contain_text("Saved as version 2", timeout=30_000)
        versions = httpx.get(
            f"{base}/api/projects/{project}/versions", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).json()
        assert versions[-1]["authors"] == ["Ana Lima", "Bo Park"], versions[-1]
        bo.locator("#tab-history").click()
        expect(bo.locator(".history-authors").first).to_have_text("By Ana Lima, Bo Park", timeout=30_000)
        bo.screenshot(path=str(ARTIFACTS / "coediting-history.png"))
        # A restore changes the file under Ana's unsaved typing: everyone's editor takes it, and Ana's typing is kept
        # as a conflict she resolves by keeping hers.
        type_at(ana, 2, "// unsaved by Ana\n")
        bo.locator("#tab-code").click()
        bo.wait_for_function("() => window.__forjaEditor.getValue().includes('unsaved by Ana')", timeout=30_000)
        restored = httpx.post(
            f"{base}/api/projects/{project}/versions/1/restore", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        assert restored.status_code == 200, restored.text
        for page in (ana, bo):
            page.wait_for_function(f"() => window.__forjaEditor.getValue() === {START!r}", timeout=30_000)
        expect(ana.locator("#collab-conflict")).to_contain_text("version 3")
        ana.screenshot(path=str(ARTIFACTS / "coediting-conflict.png"))
        ana.locator("#conflict-keep-mine").click()
        for page in (ana, bo):
            page.wait_for_function("() => window.__forjaEditor.getValue().includes('unsaved by Ana')", timeout=30_000)
        expect(ana.locator("#collab-conflict")).to_have_count(0)
    finally:
        for context in contexts:
            context.close()
