"""Two people and a viewer in one file, in Chromium (three browser contexts) on two Forja workers with accounts, one
PostgreSQL and one Redis: Ana and Cy (the viewer) on one worker, Bo on the other. Both type in the same file at once and
both end with the same text holding both edits, each sees the other's named cursor, the viewer follows and cannot
type, Save names both authors, a generation's change reaches every editor, and a restore under unsaved typing shows a
conflict that keeps it. A viewer's forged cursor (the security review's CSS in its colour) changes nothing on the
owner's page, and the page loads no picture from another origin. Screenshots: `coediting-<step>.png`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from httpx_ws import connect_ws
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from builder.services.presence import CURSOR_HEX, colour_for
from tests.collab_clients import SELECTION, awareness, room_url
from tests.conftest import PostgresServer, free_port
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
    viewer_token: str  # Cy's

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
        yield Team(first, second, cli("token", "create", "ana@example.org"), cli("token", "create", "cy@example.org"))


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
        for page, others in ((ana, ("Bo Park", "Cy Diaz")), (bo, ("Ana Lima", "Cy Diaz"))):
            for name in others:
                expect(page.locator(".collab-cursor-name", has_text=name)).to_have_count(1)
        # Two people are there besides Ana: their avatars in the header, Bo's named cursor in the file.
        expect(ana.locator("#presence .presence-avatar")).to_have_count(2)
        ana.screenshot(path=str(ARTIFACTS / "coediting-ana.png"))
        ana.set_viewport_size(PHONE)
        ana.screenshot(path=str(ARTIFACTS / "coediting-ana-phone.png"))
        ana.set_viewport_size(DESKTOP)
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


CSS = "red; } body { outline: 7px solid rgb(1,2,3) !important; } .x {"
CY_CLIENT = 424242  # the Yjs client id Cy's script speaks for


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, list[str]]]:
    """Another origin on loopback that serves a picture and a page showing it, and lists the paths it was asked for."""
    asked: list[str] = []

    class Pictures(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body, kind = (PAGE, "text/html") if self.path == "/control.html" else (PIXEL, "image/gif")
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Pictures)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
PAGE = b'<!doctype html><title>Control</title><img id="control" src="/control.gif" alt="">'
# Straight into the page's own awareness, as if a peer's state had not come through Forja: a colour in CSS and a name in
# HTML. The page's second wall (assets/monaco_collab.js) must show neither as code.
PLANT = """css => {
  const head = { type: null, tname: "content", item: null, assoc: 0 };
  const awareness = window.__forjaRoom.awareness;
  awareness.states.set(4242, { selection: { anchor: head, head }, user: { name: "Mallory", colour: css } });
  const name = '<img src=x onerror="window.__pwned = 1"><b id="injected">x</b>';
  awareness.states.set(4343, { selection: { anchor: head, head }, user: { name, colour: "#123456" } });
  awareness.emit("change", [{ added: [4242, 4343], updated: [], removed: [] }, "test"]);
}"""
TRY_ELSEWHERE = """url => {
  window.__violations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.effectiveDirective));
  const img = new Image();
  img.src = url + "/from-forja.gif";
  document.body.appendChild(img);
  const style = document.createElement("style");
  style.textContent = `body { background-image: url(${url}/from-forja-css.gif) }`;
  document.head.appendChild(style);
}"""


def test_a_viewer_forged_cursor_changes_nothing_on_the_owner_page_and_the_page_loads_no_picture_from_elsewhere(
    team: Team, browser: Browser, traffic: Traffic, elsewhere: tuple[str, list[str]]
) -> None:
    """The security review's attack, over the real websocket: Cy (a viewer) sends a cursor whose colour is CSS and one
    named "A person". Ana's page is unchanged and names Cy as Cy. Then the page's own check, and its policy: no picture
    from another origin, not even through CSS."""
    project = team.new_project()
    contexts: list[BrowserContext] = []
    try:
        ana = open_file(browser, traffic, contexts, team.first, project, "ana@example.org")
        with team.api() as api:
            cy_id = next(m["user_id"] for m in api.get(f"/api/projects/{project}/members").json() if m["name"] == "Cy Diaz")
        # Through the other worker: the message crosses Redis to reach Ana's.
        with (
            httpx.Client(timeout=30) as http,
            connect_ws(room_url(team.second, project, "greeting.js"), http, headers={"Authorization": f"Bearer {team.viewer_token}"}) as cy,
        ):  # fmt: skip
            cy.receive_bytes()  # the room's first message: Cy is in
            cy.send_bytes(awareness((CY_CLIENT, 1, {"selection": SELECTION, "user": {"name": "A person", "colour": CSS}})))
            cy.send_bytes(awareness((CY_CLIENT, 2, {"selection": SELECTION, "user": {"name": "A person", "colour": "#010203"}})))
            label = ana.locator(".collab-cursor-name")
            expect(label).to_have_text(["Cy Diaz"], timeout=30_000)
            # Cy's colour is Forja's for her (her avatar's), not the one her message said.
            shown = label.evaluate("node => getComputedStyle(node).backgroundColor")
            assert shown == rgb(CURSOR_HEX[colour_for(cy_id)]), shown
            assert ana.evaluate("() => getComputedStyle(document.body).outlineStyle") == "none"
            expect(ana.get_by_text("A person")).to_have_count(0)
            ana.screenshot(path=str(ARTIFACTS / "coediting-forged-cursor.png"))
        # Cy's script left without a word: her cursor goes from Ana's page at once.
        expect(label).to_have_count(0, timeout=30_000)

        ana.evaluate(PLANT, CSS)
        expect(label).to_have_text(['<img src=x onerror="window.__pwned = 1"><b id="injected">x</b>'])
        expect(ana.locator("#injected")).to_have_count(0)
        assert ana.evaluate("() => [window.__pwned, getComputedStyle(document.body).outlineStyle]") == [None, "none"]

        # The page's policy limits styles and images to Forja's own (and data:, blob: addresses).
        answer = ana.request.get(f"{team.first}/p/{project}")
        policies = [h["value"] for h in answer.headers_array if h["name"].lower() == "content-security-policy"]
        assert any("style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" in p for p in policies), policies
        other, asked = elsewhere
        control = ana.context.new_page()
        control.goto(f"{other}/control.html")
        control.wait_for_function("() => document.getElementById('control').complete")
        assert "/control.gif" in asked  # this browser does load the other origin's pictures
        control.close()
        ana.evaluate(TRY_ELSEWHERE, other)
        ana.wait_for_function("() => window.__violations.filter((d) => d === 'img-src').length === 2")
        assert not [path for path in asked if path.startswith("/from-forja")], asked
    finally:
        for context in contexts:
            context.close()


def rgb(hex_colour: str) -> str:
    """ "#d13415" as getComputedStyle says it: "rgb(209, 52, 21)"."""
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"
