"""Who is asking a published server app, through the real edge: two server apps published by the local runner behind
a real Traefik, which asks Forja's server on a loopback port (ForwardAuth) before each request reaches a sandbox.

The app's server echoes the X-Forja-* headers it gets and checks the token itself with FORJA_USER_KEY from its
environment, as docs/features.md shows. A visitor's own X-Forja-User never reaches it, signed in or not; a signed-in
user's does, with their id, email and role and a token that verifies with this app's key only; a session of app X names
nobody on app Y, nor on Forja's own API. tests/integration/test_publish_docker.py asks the same (who_is_asking) of two
apps the Docker runner publishes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
import pytest

from builder.api.app_auth import COOKIE
from builder.api.identity import session_cookie_name
from builder.app_backend import user_token
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.publish.addresses import app_host
from builder.services.app_data import Scope
from builder.services.app_users import user_key
from builder.services.throttle import Attempt
from builder.settings import settings
from preview_runtime.apps_edge import IDENTITY_PATH, TOKEN_HEADER, USER_HEADER
from preview_runtime.runner import PreviewState
from tests.integration.test_app_users import forja_server  # noqa: F401 (a fixture)
from tests.integration.test_publish_server import answered
from tests.unit.test_user_token import docs_code

# Echoes what it got of the X-Forja-* headers and whom the token names when it verifies with FORJA_USER_KEY (the
# docs' Node check, word for word).
SERVER_JS = r"""const crypto = require('crypto')
const http = require('http')

const forjaKey = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: process.env.FORJA_USER_KEY }, format: 'jwk' })
function forjaUser (req) {
  const [payload, signature] = (req.headers['x-forja-user-token'] || '').split('.')
  if (!payload || !signature || !crypto.verify(null, Buffer.from(payload), forjaKey, Buffer.from(signature, 'base64url'))) return null
  const user = JSON.parse(Buffer.from(payload, 'base64url').toString())
  return user.exp > Date.now() / 1000 ? user : null
}

function seen (req) {
  const forja = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name.includes('forja')))
  return JSON.stringify({ forja, verified: forjaUser(req) })
}

const server = http.createServer((req, res) => {
  res.setHeader('Content-Type', 'application/json')
  res.end(seen(req))
})
// A websocket's upgrade (a dev server's hot reload) is told the same, in the bytes after the switch.
server.on('upgrade', (req, socket) => {
  socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n${seen(req)}`)
})
server.listen(Number(process.env.PORT), process.env.HOST)
"""
MANIFEST = b'{"name": "whoami", "version": "1.0.0", "scripts": {"start": "node server.js", "dev": "node server.js"}}'
FORGED = {"X-Forja-User": '{"id":"x","email":"boss@example.org","role":"admin"}', "X-Forja-User-Token": "e30.forged"}
# Their underscore spellings, one name with them to a CGI-style server (HTTP_X_FORJA_USER): removed too (the
# entrypoint's aliasHeadersStrategy, preview_runtime/proxy.py).
FORGED |= {name.replace("-", "_"): value for name, value in FORGED.items()}
ATTEMPT = Attempt("127.0.0.9")


def test_the_apps_check_is_the_one_the_docs_show() -> None:
    assert docs_code("js").strip() in SERVER_JS


async def publish_echo(services: Services, name: str, more: Mapping[str, bytes] | None = None) -> str:
    """A server app whose server is SERVER_JS (and `more` files beside it) published as `name`: its project id."""
    files = {"package.json": MANIFEST, "server.js": SERVER_JS.encode(), **(more or {})}
    created = await services.projects.create(name.title(), files, owner=LOCAL_USER_ID)
    done = await services.publishing.publish(created.project_id, name=name, user_id=LOCAL_USER_ID)
    assert done.release.state == "ready", done.release.error
    assert "verified" in (await answered(services, name)).json()  # its sandbox answers its address
    return created.project_id


async def test_a_server_app_gets_who_is_asking_from_forja_alone(
    forja_server: None,  # noqa: F811
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = await publish_echo(services, "whoami"), await publish_echo(services, "other")
    await who_is_asking(services, ("whoami", first), ("other", second), monkeypatch)
    await preview_is_asked_apart(services, first)


async def who_is_asking(
    services: Services, app: tuple[str, str], other_app: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What two published apps (name, project id) whose server is SERVER_JS get through the edge, whichever runner
    runs them (test_publish_docker.py asks it of the Docker runner's): the headers of Forja alone, for this app alone;
    and the app's session is no sign-in in Forja's own API."""
    (name, first), (other_name, second) = app, other_app
    edge = (await services.preview_hub.manager()).proxy.internal_url().rstrip("/")
    host, other = (app_host(each) + f":{settings.preview_port}" for each in (name, other_name))
    async with httpx.AsyncClient(base_url=edge, trust_env=False, timeout=30) as http:

        async def seen(on: str, cookie: str = "") -> dict:
            headers = {"Host": on, **FORGED, **({"Cookie": f"{COOKIE}={cookie}"} if cookie else {})}
            answer = await http.get("/any/path?x=1", headers=headers)
            assert answer.status_code == 200, answer.text
            return answer.json()

        # Nobody signed in (and an app with no users yet): the forged headers are gone, whatever cookie comes along.
        assert await seen(host) == {"forja": {}, "verified": None}
        assert await seen(host, "not-a-session") == {"forja": {}, "verified": None}

        made = await http.post(
            "/_forja/auth/sign-up",
            headers={"Host": host, "Origin": f"http://{host}"},
            data={"email": "Di@Example.org", "password": "di's long secret"},
        )
        assert made.status_code == 303, made.text
        session = made.cookies[COOKIE]
        http.cookies.clear()  # sent by hand, as a browser sends it to the app's host alone
        me = (await http.get("/_forja/auth/me", headers={"Host": host, "Cookie": f"{COOKIE}={session}"})).json()["user"]

        # Signed in: Forja's headers in place of the visitor's, naming this user; the app's own check agrees.
        got = await seen(host, session)
        assert set(got["forja"]) == {"x-forja-user", "x-forja-user-token"}
        assert json.loads(got["forja"]["x-forja-user"]) == {"id": me["id"], "email": "di@example.org", "role": "user"}
        token = got["forja"]["x-forja-user-token"]
        app_name = user_token.app_of(first, Scope.live)
        key, other_key = (user_token.public_key(user_key(pid, Scope.live)) for pid in (first, second))
        claims = user_token.verify(key, token, app_name)
        assert claims is not None and (claims.id, claims.email, claims.role) == (me["id"], "di@example.org", "user")
        assert got["verified"] == claims.model_dump()
        # Another app's key does not verify it; nor does it name the other app.
        assert user_token.verify(other_key, token, app_name) is None
        assert user_token.verify(key, token, user_token.app_of(second, Scope.live)) is None

        # App X's session on app Y: nobody, and the forged headers gone there too.
        assert await seen(other, session) == {"forja": {}, "verified": None}
        await refused_by_forja(session, monkeypatch)

        # Signed out: the same cookie names nobody any more.
        out = await http.post(
            "/_forja/auth/sign-out",
            headers={"Host": host, "Origin": f"http://{host}", "Cookie": f"{COOKIE}={session}"},
            data={"next": "/"},
        )
        assert out.status_code == 303
        http.cookies.clear()
        assert await seen(host, session) == {"forja": {}, "verified": None}


async def refused_by_forja(session: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An app's session is no sign-in on Forja's own server with accounts on: not as the app's cookie, not as Forja's,
    not as an API token."""
    with monkeypatch.context() as accounts_on:
        accounts_on.setattr(settings, "auth", "password")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as forja:
            for headers in (
                {"Cookie": f"{COOKIE}={session}"},
                {"Cookie": f"{session_cookie_name()}={session}"},
                {"Authorization": f"Bearer {session}"},
            ):
                refused = await forja.get("/api/projects", headers=headers)
                # The sign-in guard's refusal (builder/api/guards.py), not some other 401.
                assert refused.status_code == 401 and "www-authenticate" in refused.headers, (headers, refused.text)


async def preview_is_asked_apart(services: Services, project_id: str, runner: str = "local") -> None:
    """The same server app in its preview (scope preview, through the preview's gate, run by `runner`): it starts, so
    it has a FORJA_USER_KEY; a visitor's forged headers never reach it, nor its websockets; the preview's signed-in
    person's do, with a token that verifies with the preview's key and not the published app's; a session of the
    published app names nobody there, nor does the preview's without the gate's cookie."""
    await services.previews.start(project_id)
    info = await services.previews.wait_ready(project_id)  # the docs' check throws at start without FORJA_USER_KEY
    assert info.url and (info.state, info.runner) == (PreviewState.running, runner), info
    edge = (await services.preview_hub.manager()).proxy.internal_url().rstrip("/")
    host, gate = info.url.split("//", 1)[1], await services.preview_access.own_cookie(info)
    live_session = await services.app_users.sign_in(project_id, Scope.live, "di@example.org", "di's long secret", ATTEMPT)
    async with httpx.AsyncClient(base_url=edge, trust_env=False, timeout=30) as http:

        async def seen(session: str = "") -> dict:
            cookie = "; ".join(filter(None, (gate, session and f"{COOKIE}={session}")))
            answer = await http.get("/any/path?x=1", headers={"Host": host, **FORGED, "Cookie": cookie})
            assert answer.status_code == 200, answer.text
            return answer.json()

        assert await seen() == {"forja": {}, "verified": None}
        assert await seen(live_session) == {"forja": {}, "verified": None}  # the published app's session: nobody here
        made = await http.post(
            "/_forja/auth/sign-up",
            headers={"Host": host, "Origin": f"http://{host}", "Cookie": gate},
            data={"email": "Ed@Example.org", "password": "ed's long secret"},
        )
        assert made.status_code == 303, made.text
        session = made.cookies[COOKIE]
        http.cookies.clear()
        got = await seen(session)
        assert set(got["forja"]) == {"x-forja-user", "x-forja-user-token"}, got
        user = json.loads(got["forja"]["x-forja-user"])
        assert (user["email"], user["role"]) == ("ed@example.org", "user")
        token, preview_app = got["forja"]["x-forja-user-token"], user_token.app_of(project_id, Scope.preview)
        key, live_key = (user_token.public_key(user_key(project_id, scope)) for scope in (Scope.preview, Scope.live))
        claims = user_token.verify(key, token, preview_app)
        assert claims is not None and (claims.id, claims.email) == (user["id"], "ed@example.org")
        assert got["verified"] == claims.model_dump()  # the preview's own check, with its FORJA_USER_KEY
        # A websocket (hot reload) reaches the app through the same routers: with the session, Forja's headers alone.
        assert await upgraded(edge, host, gate) == {"forja": {}, "verified": None}
        # Signed afresh for the upgrade, so its expiry may fall a clock second after the page request's.
        upgrade = (await upgraded(edge, host, f"{gate}; {COOKIE}={session}"))["verified"]
        assert {**upgrade, "exp": None} == {**got["verified"], "exp": None}
        assert 0 <= upgrade["exp"] - got["verified"]["exp"] <= 2
        assert user_token.verify(live_key, token, preview_app) is None  # the published app's key: no
        assert user_token.verify(key, token, user_token.app_of(project_id, Scope.live)) is None
        # Nor does a published app's token verify with the preview's key.
        live_token = user_token.make(
            user_key(project_id, Scope.live), user_token.app_of(project_id, Scope.live), "u", "e", "user"
        )
        assert user_token.verify(key, live_token, user_token.app_of(project_id, Scope.live)) is None

    # Forja's port answers who is asking a private preview only with its gate's cookie beside the session's.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as forja:
        asked = f"{IDENTITY_PATH}{host.split(':')[0]}"
        with_gate = await forja.get(asked, headers={"Cookie": f"{gate}; {COOKIE}={session}"})
        assert with_gate.status_code == 200 and USER_HEADER in with_gate.headers
        without = await forja.get(asked, headers={"Cookie": f"{COOKIE}={session}"})
        assert without.status_code == 200 and USER_HEADER not in without.headers and TOKEN_HEADER not in without.headers


async def upgraded(edge: str, host: str, cookie: str) -> dict:
    """What SERVER_JS says it got with a websocket's upgrade sent through the edge with the forged headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", urlsplit(edge).port)
    forged = "".join(f"{name}: {value}\r\n" for name, value in FORGED.items())
    writer.write(
        f"GET /hmr HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nCookie: {cookie}\r\n{forged}\r\n".encode()
    )
    try:
        head, _, body = (await asyncio.wait_for(reader.read(), 30)).partition(b"\r\n\r\n")
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 101"), head
    return json.loads(body)
