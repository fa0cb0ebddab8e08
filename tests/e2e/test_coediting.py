"""Two people and a viewer in one file, in Chromium (three browser contexts) on two Forja workers with accounts, one
PostgreSQL and one Redis: Ana and Cy (the viewer) on one worker, Bo on the other. Both type in the same file at once and
both end with the same text holding both edits, each sees the other's named cursor, the viewer follows and cannot
type, Save names both authors, a generation's change reaches every editor, and a restore under unsaved typing shows a
conflict that keeps it. Screenshots: `coediting-<step>.png`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from tests.conftest import PostgresServer
from tests.e2e.accounts import sign_in
from tests.e2e.conftest import ARTIFACTS, Traffic, editor_text, forja_on_claude, one_text, type_at
from tests.integration.test_cli import run_in_process
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.redis_fixtures import RedisServer

DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "a long team password"
START = "const greeting = 'hello';\nexport default greeting;\n"
GENERATED = "const greeting = 'hello from the model';\nexport default greeting;\n"
PEOPLE = {"ana@example.org": "Ana Lima", "bo@example.org": "Bo Park", "cy@example.org": "Cy Diaz"}
REDIS_DB = 14


@dataclass
class Team:
    first: str  # a worker's address: Ana and Cy open the project through it
    second: str  # the other worker's: Bo opens it through it
    token: str  # Ana's API token

    def api(self, base: str = "") -> httpx.Client:
        """Ana's API, through the first worker or `base`."""
        return httpx.Client(base_url=base or self.first, headers={"Authorization": f"Bearer {self.token}"}, timeout=120)

    def new_project(self) -> str:
        """Ana's new project (each try of a test its own: a rerun starts from version 1), Bo its editor, Cy its
        viewer."""
        with self.api() as api:
            made = api.post("/api/projects", json={"name": "Greeting", "files": {"greeting.js": START}})
            assert made.status_code == 201, made.text
            project = made.json()["id"]
            for email, role in (("bo@example.org", "editor"), ("cy@example.org", "viewer")):
                added = api.post(f"/api/projects/{project}/members", json={"email": email, "role": role})
                assert added.status_code == 201, added.text
        return project


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer, postgres_server: PostgresServer, llm: ScriptedLLMServer
) -> Iterator[Team]:
    """Two workers on one database and one Redis, with three accounts."""
    folder = tmp_path_factory.mktemp("coediting")
    shared = {
        "FORJA_AUTH": "password",
        "DATABASE_URL": postgres_server.url(postgres_server.create_database()),
        "REDIS_URL": redis_server.url(REDIS_DB),
        "FORJA_VERIFY_GENERATIONS": "false",
    }
    subprocess.run(["redis-cli", "-p", str(redis_server.port), "-n", str(REDIS_DB), "flushdb"], check=False, capture_output=True)

    def cli(*args: str, stdin: str = "") -> str:
        done = run_in_process(list(args), {**os.environ, **shared, "FORJA_DATA_DIR": str(folder / "cli")}, stdin)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with (
        forja_on_claude(llm, folder / "one", "forja-coediting-1.log", **shared) as first,
        forja_on_claude(llm, folder / "two", "forja-coediting-2.log", **shared) as second,
    ):
        for n, (email, name) in enumerate(PEOPLE.items()):
            admin = ["--admin"] if n == 0 else []
            cli("user", "create", *admin, email, "--name", name, "--password-stdin", stdin=PASSWORD + "\n")
        yield Team(first, second, cli("token", "create", "ana@example.org"))


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
    team: Team, browser: Browser, traffic: Traffic, llm: ScriptedLLMServer
) -> None:
    project = team.new_project()
    contexts: list[BrowserContext] = []
    try:
        ana = open_file(browser, traffic, contexts, team.first, project, "ana@example.org")
        bo = open_file(browser, traffic, contexts, team.second, project, "bo@example.org")
        cy = open_file(browser, traffic, contexts, team.first, project, "cy@example.org")
        # Both type at once, in the same line (the first), before either hears of the other.
        ana.evaluate("() => window.__forjaEditor.focus()")
        type_at(ana, 1, "/* Ana */ ")
        type_at(bo, 1, "/* Bo */ ")
        # The three converge on one text holding both.
        one_text((ana, bo, cy), "/* Ana */ ", "/* Bo */ ")
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
        with team.api() as api:
            versions = api.get(f"/api/projects/{project}/versions").json()
        assert versions[-1]["authors"] == ["Ana Lima", "Bo Park"], versions[-1]
        bo.locator("#tab-history").click()
        expect(bo.locator(".history-authors").first).to_have_text("By Ana Lima, Bo Park", timeout=30_000)
        bo.screenshot(path=str(ARTIFACTS / "coediting-history.png"))
        bo.locator("#tab-code").click()
        # A generation (asked through the second worker) changes the file: it reaches every editor as a remote edit.
        change = {"path": "greeting.js", "content": GENERATED}
        llm.queue(ToolAnswer({"title": "A warmer greeting", "summary": "The greeting is warmer.", "files": [change]}))
        body = {"prompt": "Make the greeting warmer", "provider": "anthropic"}
        with team.api(team.second) as api, api.stream("POST", f"/api/projects/{project}/generate", json=body) as answer:
            assert answer.status_code == 200
            said = [json.loads(line[6:]) for line in answer.iter_lines() if line.startswith("data: ")]
        assert said[-1].get("version") == 3, said[-1]
        for page in (ana, bo, cy):
            page.wait_for_function(f"() => window.__forjaEditor.getValue() === {GENERATED!r}", timeout=30_000)
        # A restore changes the file under Ana's unsaved typing: everyone's editor takes it, and Ana's typing is kept
        # as a conflict she resolves by keeping hers.
        type_at(ana, 2, "// unsaved by Ana\n")
        bo.wait_for_function("() => window.__forjaEditor.getValue().includes('unsaved by Ana')", timeout=30_000)
        with team.api() as api:
            restored = api.post(f"/api/projects/{project}/versions/1/restore")
        assert restored.status_code == 200, restored.text
        for page in (ana, bo):
            page.wait_for_function(f"() => window.__forjaEditor.getValue() === {START!r}", timeout=30_000)
        expect(ana.locator("#collab-conflict")).to_contain_text("version 4")
        ana.screenshot(path=str(ARTIFACTS / "coediting-conflict.png"))
        ana.locator("#conflict-keep-mine").click()
        for page in (ana, bo):
            page.wait_for_function("() => window.__forjaEditor.getValue().includes('unsaved by Ana')", timeout=30_000)
        expect(ana.locator("#collab-conflict")).to_have_count(0)
    finally:
        for context in contexts:
            context.close()
