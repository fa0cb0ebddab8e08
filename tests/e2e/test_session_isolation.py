"""A preview never sees the person's sign-in: in Chromium, a signed-in builder page at http://localhost:<port> shows a
preview on <id>.localhost whose own server prints every request header it gets, and whose page tries Forja's API and
its state socket with the browser's credentials. The session cookie is not among the headers, the page's scripts cannot
read it, and Forja answers none of the preview's requests. Nor can a page of another origin frame Forja's (issue 30).

And the preview is the project's alone: another browser that learns its address gets Forja's sign-in page, not the
app."""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from builder.cluster.previews import direct
from tests.conftest import free_port
from tests.e2e.accounts import setup_code, sign_in
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


FRAMING_PAGE = """<!doctype html><title>Another site</title>
<iframe id="forja" name="forja" src="{forja}/account" onload="this.dataset.loaded = '1'" width="800" height="500"></iframe>
<iframe id="control" src="/inner.html" width="300" height="100"></iframe>
"""


@pytest.fixture
def another_site(tmp_path: Path, forja_with_accounts: str) -> Iterator[str]:
    """A page on another port of the same host (same-site with Forja, as a preview or an app on the server's domain
    is) that frames Forja's Account page, and, as a control, a page of its own."""
    (tmp_path / "frame.html").write_text(FRAMING_PAGE.format(forja=forja_with_accounts))
    (tmp_path / "inner.html").write_text('<!doctype html><h1 id="inner">framed</h1>')
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def signed_in_admin(page: Page, base: str) -> None:
    """Ana, the admin, signed in in this page's browser (made first if this module's first test did not run)."""
    mode = page.request.get(f"{base}/api/auth/sign-up").json()["mode"]
    if mode == "setup":
        sign_up_admin(page, base, ARTIFACTS / "forja-session-isolation.log")
    else:
        sign_in(page, base, "ana@example.org", "ana-password-1")


def test_no_other_page_can_frame_forja_and_the_account_page_tells_of_failed_sign_ins(
    forja_with_accounts: str, page: Page, another_site: str
) -> None:
    base = forja_with_accounts
    signed_in_admin(page, base)
    # Someone elsewhere (no cookie of Ana's browser) guesses her password twice.
    for guess in ("guess-one-1", "guess-two-2"):
        answer = httpx.post(f"{base}/api/auth/sign-in", json={"email": "ana@example.org", "password": guess}, timeout=30)
        assert answer.status_code == 400
    page.context.clear_cookies(name="forja_session")
    # Signed out, in a new tab of the same browser (its device cookie kept). In the old tab, whose page state still
    # showed Ana signed in, the sign-in once stayed on /login under CI's load: see the closing note of stop 39.
    page = page.context.new_page()
    sign_in(page, base, "ana@example.org", "ana-password-1")
    # The page works under its Content-Security-Policy, and tells Ana that someone tried.
    page.goto(f"{base}/account")
    expect(page.locator("#account-name")).to_have_text("Ana Admin")
    expect(page.locator("#failed-sign-ins")).to_contain_text("2 failed sign-ins from 1 address")
    policies = page.request.get(f"{base}/account").headers_array
    csp = [h["value"] for h in policies if h["name"].lower() == "content-security-policy"]
    assert "frame-ancestors 'none'" in csp and any("object-src 'none'" in p for p in csp), csp

    page.goto(f"{another_site}/frame.html")
    expect(page.frame_locator("#control").locator("#inner")).to_have_text("framed")  # this browser does frame pages
    # The browser refused to show Forja in the frame: it holds Chromium's error page, not Ana's account.
    page.wait_for_function("document.getElementById('forja').dataset.loaded === '1'")
    forja_frame = next(frame for frame in page.frames if frame.name == "forja")
    assert forja_frame.url.startswith("chrome-error://"), forja_frame.url
    assert "Ana Admin" not in forja_frame.content()
    page.screenshot(path=str(ARTIFACTS / "framing-refused.png"))


# A published static site whose script tries every way a page has to leave a cookie where Forja would read it: Forja's
# cookie names (and the __Host- one it uses on HTTPS, in either case), for its own host and for every parent domain of
# the app's, host-only and Secure, a nameless cookie whose value reads as `name=value`, and a longer path that would
# come first in the Cookie header.
PLANTING_PAGE = """<!doctype html><html lang="en"><title>Cookie jar</title><h1>Cookie jar</h1><pre id="kept"></pre>
<script>
const names = ["forja_session", "forja_device", "__Host-forja_session", "__host-forja_session", "__Secure-forja_session"]
const scopes = ["", "; domain=localhost", "; domain=.localhost", "; domain=apps.localhost", "; domain=" + location.hostname]
for (const name of names) for (const scope of scopes) for (const path of ["/", "/api"]) {
  document.cookie = `${name}=planted-by-app; path=${path}${scope}`
  document.cookie = `${name}=planted-by-app; path=${path}; secure${scope}`
  document.cookie = `=${name}=planted-by-app; path=${path}${scope}`
}
document.getElementById("kept").textContent = document.cookie
</script></html>"""


def test_a_published_app_cannot_set_a_cookie_forja_reads(forja_with_accounts: str, page: Page) -> None:
    base = forja_with_accounts
    signed_in_admin(page, base)
    own = {c.get("name"): c.get("value") for c in page.context.cookies(base)}
    assert own.get("forja_session"), own
    made = page.request.post(
        f"{base}/api/projects", data={"name": "Cookie jar", "files": {"index.html": PLANTING_PAGE}}, headers={"Origin": base}
    )
    assert made.status == 201, made.text()
    # A name of this try's own: a rerun shares the served Forja, where the first try's app keeps its name.
    name = f"cookie-jar-{secrets.token_hex(3)}"
    published = page.request.post(
        f"{base}/api/projects/{made.json()['id']}/publish", data={"name": name}, headers={"Origin": base}
    )
    assert published.status == 201, published.text()
    address = published.json()["app"]["url"]
    assert urlsplit(address).hostname == f"{name}.apps.localhost", address

    page.goto(address)
    # The script ran, and kept what the browser lets a page keep: cookies of its own host and of the apps' domain.
    expect(page.locator("#kept")).to_contain_text("forja_session=planted-by-app", timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "app-cookies-planted.png"))
    planted = [c for c in page.context.cookies() if "planted-by-app" in (c.get("value") or "")]
    # (The apps' shared domain does get one: apps must not trust cookies they did not set; docs/security.md.)
    domains = {c.get("domain") or "" for c in planted}
    assert ".apps.localhost" in domains and all(d.endswith("apps.localhost") for d in domains), domains

    # Back on Forja: the same session, and not one of the app's cookies in any request Forja gets.
    sent: list[str] = []

    def note(route: Route) -> None:
        sent.append(route.request.all_headers().get("cookie", ""))
        route.fallback()

    page.route(f"{base}/**", note)
    page.goto(f"{base}/account")
    expect(page.locator("#account-name")).to_have_text("Ana Admin", timeout=30_000)
    assert page.request.get(f"{base}/api/projects").status == 200
    assert {c.get("name"): c.get("value") for c in page.context.cookies(base)} == own
    assert sent and not any("planted-by-app" in header for header in sent), sent
