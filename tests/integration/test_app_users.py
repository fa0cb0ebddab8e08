"""The people who use a published app sign up, in and out on the app's own origin, in Chromium, through the real
parts: two static apps published by the local runner behind a real Traefik, which sends their hosts to Forja's
guarded server on a loopback port, as in production; and a server app, whose /_forja/ paths Traefik sends to Forja,
never to its sandbox.

A session of app A is refused by app B, a form posted to A from B's page is refused, a wrong password is told in a
sentence, and a signed-out session names nobody any more (tests/integration/test_app_user_accounts.py has the service's
side: Forja's own sign-in does not take an app's session either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

import builder.settings
from builder.api import api as forja_api
from builder.api import guarded
from builder.api.app_auth import COOKIE, SECURE_COOKIE
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.publish.addresses import app_host
from builder.settings import settings
from preview_runtime.free_ports import free_port
from preview_runtime.verify import CHROMIUM_ARGS, find_chromium
from tests.integration.test_publish_server import answered

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "app-users"
PAGE = b"<!doctype html><html><head><title>{}</title></head><body><h1>Welcome</h1></body></html>\n"


@pytest.fixture
async def forja_server(local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Forja's guarded server on a loopback port, where the edge (Traefik) sends the apps' hosts."""
    async with forja_serving(monkeypatch):
        yield


@contextlib.asynccontextmanager
async def forja_serving(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Forja's guarded server on a loopback port (FORJA_PORT), whichever runner the previews use: started before the
    previews' edge, which reads where Forja is when it starts."""
    port = free_port()
    monkeypatch.setattr(builder.settings.settings, "port", port)
    server = uvicorn.Server(uvicorn.Config(guarded(forja_api), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "Forja's server did not start"
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is not installed (apt-get install chromium-headless-shell)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def published(services: Services, name: str) -> str:
    """A static app published under `name`: its address."""
    created = await services.projects.create(
        name.title(), {"index.html": PAGE.replace(b"{}", name.encode())}, owner=LOCAL_USER_ID
    )
    done = await services.publishing.publish(created.project_id, name=name, user_id=LOCAL_USER_ID)
    assert done.release.state == "ready", done.release.error
    return done.app.url


async def me(page: Page, url: str) -> dict[str, object]:
    answer = await page.goto(f"{url}/_forja/auth/me")
    assert answer is not None and answer.status == 200 and answer.headers["content-type"] == "application/json"
    return await answer.json()


async def fill(page: Page, email: str, password: str, button: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name=button).click()
    await page.wait_for_load_state()


async def session_of(context: BrowserContext, url: str) -> str:
    host = url.split("://", 1)[1].split(":", 1)[0]
    cookies = [c for c in await context.cookies(url) if c.get("name") == COOKIE and c.get("domain") == host]
    assert len(cookies) == 1, cookies
    cookie = cookies[0]
    # Host-only, HttpOnly, SameSite=Lax; not Secure on plain http, where a browser would not send it back.
    assert (cookie.get("httpOnly"), cookie.get("sameSite"), cookie.get("path"), cookie.get("secure")) == (True, "Lax", "/", False)
    return cookie.get("value", "")


async def test_people_sign_up_in_and_out_of_one_app_whose_session_another_app_refuses(
    forja_server: None, services: Services, chromium: Browser
) -> None:
    await services.preview_hub.manager()  # the edge runs from Forja's start
    first, second = await published(services, "barber"), await published(services, "polls")
    context = await chromium.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()

    assert await me(page, first) == {"signed_in": False, "user": None}
    await page.goto(f"{first}/_forja/auth/sign-up?next=/welcome")
    await expect(page).to_have_title("Make an account · Barber")
    await fill(page, "Ana@Example.org", "a long secret", "Make my account")
    assert page.url == f"{first}/welcome"  # where `next` said: the app's own page
    token = await session_of(context, first)
    assert await page.evaluate("document.cookie") == ""  # no script of the app reads the session
    said = await me(page, first)
    user = said["user"]
    assert said["signed_in"] is True and isinstance(user, dict)
    assert (user["email"], user["role"]) == ("ana@example.org", "user") and user["id"]

    # App B does not take A's session, sent to it as its own cookie; nor does it know A's account.
    await context.add_cookies([{"name": COOKIE, "value": token, "url": second}])
    assert await me(page, second) == {"signed_in": False, "user": None}
    await page.goto(f"{second}/_forja/auth/sign-in")
    await fill(page, "ana@example.org", "a long secret", "Sign in")
    await expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account here. Check both and try again."
    )

    # A form posted to A from B's page: the browser sends it with A's cookie (a top-level POST), and A refuses it.
    # (From B's own home page: B's sign-in pages let their forms post nowhere but to B.)
    await page.goto(f"{second}/")
    await page.evaluate(
        """(target) => {
            const form = Object.assign(document.createElement('form'), { method: 'POST', action: target })
            form.append(Object.assign(document.createElement('input'), { name: 'next', value: '/' }))
            document.body.append(form)
            form.submit()
        }""",
        f"{first}/_forja/auth/sign-out",
    )
    await page.wait_for_url(f"{first}/_forja/auth/sign-out")
    await expect(page.get_by_role("heading")).to_have_text("This form came from another site")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "refused-1440.png")
    assert (await me(page, first))["signed_in"] is True  # still signed in: nothing was done

    # Signing out on A's own page ends the session: the old token names nobody, even sent again.
    await page.goto(f"{first}/_forja/auth/sign-out")
    await expect(page.get_by_text("You are signed in as ana@example.org.")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "sign-out-1440.png")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{first}/")
    assert await me(page, first) == {"signed_in": False, "user": None}
    await context.add_cookies([{"name": COOKIE, "value": token, "url": first}])
    assert await me(page, first) == {"signed_in": False, "user": None}

    # A wrong password: the sentence, the address kept, the password not; then the right one signs in.
    await page.goto(f"{first}/_forja/auth/sign-in")
    await fill(page, "ana@example.org", "not the secret", "Sign in")
    await expect(page.get_by_role("alert")).to_have_text(
        "That email and password do not match an account here. Check both and try again."
    )
    await expect(page.get_by_label("Email")).to_have_value("ana@example.org")
    await expect(page.get_by_label("Password")).to_have_value("")
    await page.get_by_label("Password").fill("a long secret")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{first}/")
    assert (await me(page, first))["user"] == user
    await context.close()


async def test_the_pages_read_well_on_a_phone_and_a_wide_screen(
    forja_server: None, services: Services, chromium: Browser
) -> None:
    await services.preview_hub.manager()
    url = await published(services, "bakery")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        context = await chromium.new_context(viewport={"width": width, "height": height})
        page = await context.new_page()
        for name in ("sign-up", "sign-in"):
            await page.goto(f"{url}/_forja/auth/{name}")
            # Nothing wider than the screen: a phone needs no sideways scrolling.
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            await page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)
        await page.get_by_label("Email").fill("not an address")
        await page.get_by_label("Password").fill("a long secret")
        await page.get_by_label("Email").evaluate("(input) => input.type = 'text'")  # past the browser's own check
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await page.screenshot(path=ARTIFACTS / f"sign-in-refused-{width}.png", full_page=True)
        await context.close()


async def test_bad_requests_get_a_sentence_and_secrets_stay_out_of_the_log(
    forja_server: None, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = await published(services, "cellar")
    host = url.split("://", 1)[1]
    origin = {"Host": host, "Origin": url}
    form = {"email": "bo@example.org", "password": "bo's long secret"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as http:
        page = await http.get("/_forja/auth/sign-up", headers={"Host": host})
        policy = page.headers["content-security-policy"]
        for rule in ("default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"):
            assert rule in policy, policy
        # No Origin (a script, or an old browser): refused like another site's; nothing made.
        refused = await http.post("/_forja/auth/sign-up", headers={"Host": host}, data=form)
        assert refused.status_code == 403 and "came from another site" in refused.text
        assert "forja_app_session" not in refused.headers.get("set-cookie", "")
        # `next` elsewhere than the app's own paths goes to its home instead.
        made = await http.post("/_forja/auth/sign-up", headers=origin, data={**form, "next": "//elsewhere.example/x"})
        assert made.status_code == 303 and made.headers["location"] == "/"
        token = made.cookies[COOKIE]
        # The same address again: a 4xx with the sentence and the address kept, not the password.
        again = await http.post("/_forja/auth/sign-up", headers=origin, data=form)
        assert again.status_code == 422 and "There is already an account for bo@example.org here" in again.text
        assert 'value="bo@example.org"' in again.text and "long secret" not in again.text
        for answer, status, words in [
            (await http.post("/_forja/auth/sign-in", headers=origin, content=b'{"email": 1}'), 400, "not a form"),
            (await http.post("/_forja/auth/sign-in", headers=origin, data={"email": "x" * 9000}), 400, "not a form"),
            (await http.get("/_forja/auth/nothing", headers=origin), 404, "has no page at this address"),
            (await http.put("/_forja/auth/sign-in", headers=origin), 405, "reading (GET) and sending its form"),
            (await http.post("/_forja/auth/me", headers=origin), 405, "only answers GET"),
        ]:
            assert (answer.status_code, answer.headers["content-type"]) == (status, "text/html; charset=utf-8")
            assert words in answer.text and "Traceback" not in answer.text
        # Forja's own API answers with Forja's sign-in, never the app's: the app's cookie is no sign-in there.
        assert (await http.get("/api/projects", headers={"Host": host})).status_code == 404
    # Over HTTPS (as a front proxy that ends TLS tells Forja): the __Host- cookie, Secure, which no other app can plant
    # for the apps' shared parent domain; the plain name means nothing there.
    secure_host = host.split(":", 1)[0]
    transport = httpx.ASGITransport(app=guarded(forja_api))
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{secure_host}") as https:
        signed = await https.post("/_forja/auth/sign-in", headers={"Origin": f"https://{secure_host}"}, data=form)
        assert signed.status_code == 303, signed.text
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{SECURE_COOKIE}=") and "; Secure" in cookie and "; HttpOnly" in cookie, cookie
        secure_token = signed.cookies[SECURE_COOKIE]
        https.cookies.clear()
        plain = await https.get("/_forja/auth/me", headers={"Cookie": f"{COOKIE}={secure_token}"})
        assert plain.json()["signed_in"] is False
        kept = await https.get("/_forja/auth/me", headers={"Cookie": f"{SECURE_COOKIE}={secure_token}"})
        assert kept.json()["user"]["email"] == "bo@example.org"
    # Everything Forja and its libraries logged (the database's statements too), but the test's own HTTP client.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert "INSERT INTO appuser" in logged and "account" in logged  # the sign-up's own records are there to search
    assert "long secret" not in logged and token not in logged and secure_token not in logged


# A server app with no dependencies that answers every path itself, and tells which paths it was asked.
SERVER_JS = """const http = require('http')
const seen = []
http.createServer((req, res) => {
  seen.push(req.url)
  res.setHeader('Content-Type', 'application/json')
  res.end(JSON.stringify({ from: 'the app', seen }))
}).listen(Number(process.env.PORT), process.env.HOST)
"""
SERVER_MANIFEST = b'{"name": "echo", "version": "1.0.0", "scripts": {"start": "node server.js", "dev": "node server.js"}}'


async def test_a_server_apps_sign_in_is_forjas_whatever_its_server_answers(forja_server: None, services: Services) -> None:
    created = await services.projects.create(
        "Echo", {"package.json": SERVER_MANIFEST, "server.js": SERVER_JS.encode()}, owner=LOCAL_USER_ID
    )
    done = await services.publishing.publish(created.project_id, name="echo", user_id=LOCAL_USER_ID)
    assert done.release.state == "ready", done.release.error
    assert (await answered(services, "echo")).json()["from"] == "the app"  # its sandbox answers its address
    edge = (await services.preview_hub.manager()).proxy.internal_url().rstrip("/")
    host = app_host("echo") + f":{settings.preview_port}"
    async with httpx.AsyncClient(base_url=edge, trust_env=False, timeout=30) as http:
        assert (await http.get("/_forja/auth/me", headers={"Host": host})).json() == {"signed_in": False, "user": None}
        made = await http.post(
            "/_forja/auth/sign-up",
            headers={"Host": host, "Origin": f"http://{host}"},
            data={"email": "cy@example.org", "password": "cy's long secret"},
        )
        assert made.status_code == 303, made.text
        http.cookies.clear()  # sent by hand below, as a browser sends it to the app's host
        me = (await http.get("/_forja/auth/me", headers={"Host": host, "Cookie": f"{COOKIE}={made.cookies[COOKIE]}"})).json()
        assert me["signed_in"] is True and me["user"]["email"] == "cy@example.org"
        # The app's own server was never asked for those paths: Traefik sent them to Forja.
        seen = (await http.get("/", headers={"Host": host})).json()["seen"]
        assert seen and not [path for path in seen if path.startswith("/_forja/")], seen
