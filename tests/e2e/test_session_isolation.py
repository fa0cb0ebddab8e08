"""A preview never sees the person's sign-in: in Chromium, a signed-in builder page at http://localhost:<port> shows a
preview on <id>.localhost whose own server prints every request header it gets, and whose page tries Forja's API and
its state socket with the browser's credentials. The session cookie is not among the headers, the page's scripts cannot
read it, and Forja answers none of the preview's requests.

And the preview is the project's alone: another browser that learns its address gets Forja's sign-in page, not the
app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from builder.cluster.previews import direct
from tests.e2e.accounts import setup_code
from tests.e2e.conftest import ARTIFACTS, another_forja

# A Node server with no dependencies: its page lists the request's headers and then, from the preview's origin, tries
# to read Forja's project list, to change a project, and to open Forja's state socket, reporting what happened.
SERVER_JS = r"""
const http = require('http')
const forja = process.env.FORJA_UNDER_TEST
http.createServer((req, res) => {
  const headers = JSON.stringify(req.headers)
  res.setHeader('Content-Type', 'text/html')
  res.end(`<!doctype html><title>Echo</title>
<pre id="headers">${headers.replace(/</g, '&lt;')}</pre>
<pre id="cookie"></pre>
<ul id="probes"></ul>
<script>
  const forja = ${JSON.stringify(forja)}
  const note = (name, what) => { const li = document.createElement('li'); li.id = name; li.textContent = what; document.getElementById('probes').append(li) }
  document.getElementById('cookie').textContent = 'document.cookie=' + JSON.stringify(document.cookie)
  fetch(forja + '/api/projects', { credentials: 'include' })
    .then(r => note('read', 'read answered ' + r.status), e => note('read', 'read failed: ' + e.name))
  fetch(forja + '/api/projects', { method: 'POST', credentials: 'include', mode: 'no-cors',
    headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ name: 'From the preview', files: { 'a.txt': 'x' } }) })
    .then(r => note('write', 'write sent (' + r.type + ')'), e => note('write', 'write failed: ' + e.name))
  const socket = new WebSocket(forja.replace('http', 'ws') + '/_event/?EIO=4&transport=websocket')
  socket.onopen = () => note('socket', 'socket opened')
  socket.onerror = () => note('socket', 'socket refused')
</script>`)
}).listen(Number(process.env.PORT), process.env.HOST)
"""
PACKAGE = {"name": "echo", "version": "1.0.0", "private": True, "scripts": {"dev": "node server.js"}}


def sign_up_admin(page: Page, base: str, log: Path) -> None:
    page.goto(f"{base}/signup")
    page.locator("#auth-name").fill("Ana Admin")
    page.locator("#auth-email").fill("ana@example.org")
    page.locator("#auth-password").fill("ana-password-1")
    page.locator("#auth-setup_code").fill(setup_code(log))
    page.locator("#auth-submit").click()
    page.wait_for_url(f"{base}/")
    expect(page.locator("#user-menu")).to_contain_text("Ana Admin")


@pytest.fixture(scope="module")
def forja_with_accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("accounts-isolation")
    with another_forja(folder, "forja-session-isolation.log", {"FORJA_AUTH": "password"}) as base:
        # Opened as a person on this machine would: at localhost, the closest name to the previews' <id>.localhost.
        yield base.replace("127.0.0.1", "localhost")


def test_a_preview_never_sees_the_session_nor_reaches_forja(forja_with_accounts: str, page: Page, browser: Browser) -> None:
    base = forja_with_accounts
    sign_up_admin(page, base, ARTIFACTS / "forja-session-isolation.log")
    session = next(c for c in page.context.cookies() if c.get("name") == "forja_session")
    assert (session.get("httpOnly"), session.get("sameSite"), session.get("domain")) == (True, "Lax", "localhost")
    assert "forja_session" not in page.evaluate("document.cookie")

    files = {
        "package.json": json.dumps(PACKAGE),
        "server.js": SERVER_JS.replace("process.env.FORJA_UNDER_TEST", json.dumps(base)),
    }
    created = page.request.post(f"{base}/api/projects", data={"name": "Echo", "files": files}, headers={"Origin": base})
    assert created.status == 201, created.text()
    project_id = created.json()["id"]
    page.goto(f"{base}/p/{project_id}")
    page.locator("#tab-preview").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("#headers")).to_contain_text('"host"', timeout=120_000)
    # The frame loads Forja's page that opens the preview for the person, and ends at the preview's own address.
    opener = page.locator("#preview-frame").get_attribute("src") or ""
    assert re.fullmatch(r"/previews/[0-9a-f]{12}/open", opener), opener
    shown = page.locator("#preview-frame").element_handle().content_frame()
    assert shown is not None
    preview_url = shown.url
    assert re.fullmatch(r"http://[0-9a-f]+\.localhost:\d+/?", preview_url), preview_url
    assert "forja_session" not in (frame.locator("#headers").text_content() or "")
    # What lets this browser in is a cookie of the preview's own host, out of its scripts' reach.
    access = [c for c in page.context.cookies(preview_url) if c.get("name") == "forja_preview_access"]
    assert [(c.get("domain"), c.get("httpOnly"), c.get("secure")) for c in access] == [
        (urlsplit(preview_url).hostname, True, True)
    ]
    expect(frame.locator("#cookie")).to_have_text('document.cookie=""')
    expect(frame.locator("#read")).to_have_text("read failed: TypeError", timeout=30_000)  # CORS: not Forja's origin
    expect(frame.locator("#socket")).to_have_text("socket refused", timeout=30_000)
    expect(frame.locator("#write")).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "preview-session-isolation.png"))
    # The write was refused by Forja (other origin), so no project came of it.
    listed = page.request.get(f"{base}/api/projects").json()
    assert [p["name"] for p in listed["items"]] == ["Echo"]

    # Another browser with the address but not the project open: Forja's sign-in page, not the app.
    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(preview_url)
        expect(other.locator("#auth-email")).to_be_visible(timeout=30_000)
        preview_id = opener.split("/")[2]
        assert urlsplit(other.url).path.rstrip("/") == "/login", other.url
        assert parse_qs(urlsplit(other.url).query)["next"][0] == f"/previews/{preview_id}/open?path=%2F", other.url
        assert "Echo" not in other.content() and '"host"' not in other.content()
        other.screenshot(path=str(ARTIFACTS / "preview-private-stranger.png"))
        # Asked for outside a browser, it is not the app either: a page goes to Forja, a script's request gets 401.
        address, host = direct(preview_url)
        assert httpx.get(address, headers={**host, "Accept": "text/html"}, trust_env=False).status_code == 302
        assert httpx.get(address, headers={**host, "Sec-Fetch-Mode": "cors"}, trust_env=False).status_code == 401
    finally:
        stranger.close()
