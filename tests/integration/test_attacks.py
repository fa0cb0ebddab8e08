"""Issue 30's findings, replayed as an attacker would against Forja's API behind its own guards, on a Forja with accounts
(SQLite and PostgreSQL); each must now be refused in words with a 4xx, or handled as the issue says.

Clients come from addresses of their own: httpx's ASGI transport hands the app the client address a test names, as a
server does the peer's.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlmodel import select
from starlette.routing import BaseRoute

import builder.settings
from builder.api import api, guarded
from builder.api.bodies import CheckedRoute
from builder.composition import Services
from builder.db import session_factory
from builder.models import SignInAttempt, User
from builder.store import ProjectStore
from tests.accounts import PASSWORD, Person

ORIGIN = "http://127.0.0.1:3000"
HUGE = "9223372036854775808"  # 2**63: one past SQLite's integers


def browser(address: str = "127.0.0.1", base: str = ORIGIN, **headers: str) -> httpx.AsyncClient:
    """A client at `address` that keeps cookies as a browser does and sends the Origin of Forja's own page."""
    transport = httpx.ASGITransport(app=guarded(api), client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base, headers={"Origin": ORIGIN, **headers})


async def sign_in(http: httpx.AsyncClient, password: str, email: str = "ana@example.org") -> httpx.Response:
    return await http.post("/api/auth/sign-in", json={"email": email, "password": password})


async def age_failures(store: ProjectStore, by: timedelta) -> None:
    """Time passing, without waiting for it: every recorded failure and sign-in moves `by` into the past."""
    # Row by row: SQLite keeps moments as text, which SQL's arithmetic cannot move.
    async with session_factory(store.engine)() as session, session.begin():
        for attempt in (await session.exec(select(SignInAttempt))).all():
            attempt.at -= by
            session.add(attempt)
        for user in (await session.exec(select(User))).all():
            if user.last_sign_in_at is not None:
                user.last_sign_in_at -= by
            if user.previous_sign_in_at is not None:
                user.previous_sign_in_at -= by
            session.add(user)


@pytest.fixture
def three_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "signin_attempts", 3)


# -- 1. nobody can lock a person out -----------------------------------------------------------------------------------


async def test_strangers_slow_an_account_down_but_never_lock_its_owner_out(
    store: ProjectStore, accounts_on: Services, ana: Person, three_tries: None
) -> None:
    async with browser("192.0.2.10") as laptop:
        assert (await sign_in(laptop, PASSWORD)).status_code == 200  # Ana's own browser: it gets a device cookie
        assert laptop.cookies.get("forja_device")
        await laptop.post("/api/auth/sign-out")
    # One stranger guesses from one address: that address is stopped for Ana's account, for the window.
    async with browser("203.0.113.7") as stranger:
        for _ in range(3):
            assert (await sign_in(stranger, "guess-guess")).status_code == 400
        stopped = await sign_in(stranger, PASSWORD)
        assert stopped.status_code == 429 and "from your address" in stopped.json()["detail"]
        assert int(stopped.headers["retry-after"]) == 15 * 60
    # Guessers from many addresses: the account slows down (a short, growing wait), for browsers it does not know;
    # each guess waits its turn (two minutes pass between them here), and then it is tried.
    for n in range(4):
        await age_failures(store, timedelta(minutes=2))
        async with browser(f"198.51.100.{n + 1}") as guesser:
            assert (await sign_in(guesser, f"guess-{n}-guess")).status_code == 400
            hurried = await sign_in(guesser, f"guess-{n}-again")
            assert hurried.status_code == 429 and "try again in" in hurried.json()["detail"]
    async with browser("192.0.2.99") as new_browser:
        slowed = await sign_in(new_browser, PASSWORD)
        assert slowed.status_code == 429, slowed.text
        assert "try again in" in slowed.json()["detail"] and 0 < int(slowed.headers["retry-after"]) <= 60
    # Ana's laptop signs in at once with the right password, even from the stranger's address.
    async with browser("203.0.113.7") as laptop_elsewhere:
        laptop_elsewhere.cookies.update(laptop.cookies)
        assert (await sign_in(laptop_elsewhere, PASSWORD)).status_code == 200
        # And Ana is told: the failed sign-ins since her previous one, from how many addresses (refusals not counted).
        told = (await laptop_elsewhere.get("/api/account/failed-sign-ins")).json()
        assert told["count"] == 7 and told["addresses"] == 5 and told["last_at"]
    # The delay passes (a minute at most): the new browser gets in too. Nothing was locked.
    await age_failures(store, timedelta(minutes=2))
    async with browser("192.0.2.99") as new_browser:
        assert (await sign_in(new_browser, PASSWORD)).status_code == 200


async def test_a_reset_link_works_while_the_account_is_slowed_down(
    accounts_on: Services, ana: Person, bo: Person, three_tries: None
) -> None:
    for n in range(6):
        async with browser(f"198.51.100.{n + 1}") as guesser:
            await sign_in(guesser, f"guess-{n}-guess", "bo@example.org")
    async with browser("192.0.2.50") as bos_browser:
        assert (await sign_in(bos_browser, PASSWORD, "bo@example.org")).status_code == 429
        link = await accounts_on.accounts.reset_link(ana.actor, bo.actor.user_id, ORIGIN)
        reset = await bos_browser.post(
            "/api/auth/reset", json={"token": link.url.split("token=")[1], "password": "bo-new-pass-1"}
        )
        assert reset.status_code == 200 and (await bos_browser.get("/api/auth/me")).json()["email"] == "bo@example.org"
        # The browser that used the link is Bo's now: others' guesses do not slow it down.
        await bos_browser.post("/api/auth/sign-out")
        assert (await sign_in(bos_browser, "bo-new-pass-1", "bo@example.org")).status_code == 200


# -- 2. the password change: throttled, and only for a signed-in browser -------------------------------------------


async def test_the_password_change_needs_the_session_and_is_throttled(
    store: ProjectStore, accounts_on: Services, ana: Person, three_tries: None
) -> None:
    change = {"current": PASSWORD, "new": "a-new-password-1"}
    refused = await ana.http.post("/api/auth/password", json=change)
    assert refused.status_code == 403 and "API token" in refused.json()["detail"]
    async with browser("192.0.2.10") as stolen_session:
        assert (await sign_in(stolen_session, PASSWORD)).status_code == 200
        for n in range(3):
            wrong = await stolen_session.post("/api/auth/password", json={"current": f"guess-{n}-guess", "new": "x-new-pass-1"})
            assert wrong.status_code == 400
        # Forty guesses and then the right one used to change it: now the right one is refused too, for a while.
        right = await stolen_session.post("/api/auth/password", json=change)
        assert right.status_code == 429, right.text
        both = await stolen_session.post("/api/auth/password", json=change, headers={"Authorization": f"Bearer {ana.token}"})
        assert both.status_code == 403
    await age_failures(store, timedelta(minutes=20))
    async with browser("192.0.2.11") as http:
        assert (await sign_in(http, PASSWORD)).status_code == 200  # the password did not change


async def test_the_setup_code_is_throttled(store: ProjectStore, accounts_on: Services, three_tries: None) -> None:
    code = await accounts_on.accounts.setup_code()
    body = {"email": "ana@example.org", "name": "Ana", "password": "ana-password-1"}
    async with browser("203.0.113.9") as guesser:
        for n in range(3):
            assert (await guesser.post("/api/auth/sign-up", json={**body, "setup_code": f"{n:08x}"})).status_code == 400
        stopped = await guesser.post("/api/auth/sign-up", json={**body, "setup_code": code})
        assert stopped.status_code == 429
    async with browser("192.0.2.1") as admin:
        await age_failures(store, timedelta(minutes=2))
        assert (await admin.post("/api/auth/sign-up", json={**body, "setup_code": code})).status_code == 200


# -- 7. trusted proxies, sign-ups and tokens ----------------------------------------------------------------------


async def test_forwarded_headers_count_only_from_trusted_proxies(
    store: ProjectStore, accounts_on: Services, ana: Person, three_tries: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Not trusted (the default): changing X-Forwarded-For buys no more tries; the three count for one address.
    async with browser("127.0.0.1") as local:
        for n in range(3):
            await local.post(
                "/api/auth/sign-in",
                json={"email": "ana@example.org", "password": "guess-guess"},
                headers={"X-Forwarded-For": f"10.9.8.{n}"},
            )
        again = await local.post(
            "/api/auth/sign-in", json={"email": "ana@example.org", "password": PASSWORD}, headers={"X-Forwarded-For": "10.9.8.77"}
        )
        assert again.status_code == 429 and "from your address" in again.json()["detail"]
    monkeypatch.setattr(builder.settings.settings, "trusted_proxies", "192.0.2.0/24, 2001:db8::1")
    monkeypatch.setattr(builder.settings.settings, "allowed_hosts", "forja.example.org")
    await age_failures(store, timedelta(hours=1))
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "forja.example.org"}
    async with browser("192.0.2.5", base="http://internal:3000", **forwarded) as proxy:
        signed = await proxy.post(
            "/api/auth/sign-in",
            json={"email": "ana@example.org", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.200"},
        )
        assert signed.status_code == 200, signed.text
        # Links are made on the address the proxy says people use.
        link = await proxy.post("/api/admin/invitations", json={"email": ""}, headers={"X-Forwarded-For": "203.0.113.200"})
        assert link.status_code == 201 and link.json()["url"].startswith("https://forja.example.org/signup?invite=")
    async with browser("192.0.2.5", base="http://internal:3000", **forwarded) as proxy:
        for n in range(3):
            await proxy.post(
                "/api/auth/sign-in",
                json={"email": "ana@example.org", "password": "guess-guess"},
                headers={"X-Forwarded-For": f"spoofed, 203.0.113.{n}"},
            )
        # Three clients the proxy named (the spoofed first hop is not read), one failure each: the account slows
        # down, but no address is stopped for it.
        slowed = await proxy.post(
            "/api/auth/sign-in",
            json={"email": "ana@example.org", "password": PASSWORD},
            headers={"X-Forwarded-For": "spoofed, 203.0.113.0"},
        )
        assert slowed.status_code == 429 and "try again in" in slowed.json()["detail"]
    # The same headers from anyone else are dropped: its own Host ("internal") is refused.
    async with browser("203.0.113.50", base="http://internal:3000", **forwarded) as pretender:
        assert (await pretender.get("/health")).status_code == 400


async def test_sign_ups_per_address_and_tokens_per_person_are_limited(
    accounts_on: Services, ana: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "signup", "open")
    monkeypatch.setattr(builder.settings.settings, "signups_per_hour", 2)
    monkeypatch.setattr(builder.settings.settings, "tokens_per_person", 2)
    for n in range(3):
        async with browser("203.0.113.20") as http:
            made = await http.post(
                "/api/auth/sign-up", json={"email": f"p{n}@example.org", "name": f"P{n}", "password": "pass-word-1"}
            )
        if n < 2:
            assert made.status_code == 200
        else:
            assert made.status_code == 429 and "FORJA_SIGNUPS_PER_HOUR" in made.json()["detail"]
    async with browser("2001:db8:5::1") as other:  # another address signs up as before
        assert (
            await other.post("/api/auth/sign-up", json={"email": "q@example.org", "name": "Q", "password": "pass-word-1"})
        ).status_code == 200
        # Ana already has the test's token: one more, then the limit.
        assert (await sign_in(other, PASSWORD)).status_code == 200
        assert (await other.post("/api/account/tokens", json={"name": "second"})).status_code == 201
        third = await other.post("/api/account/tokens", json={"name": "third"})
        assert third.status_code == 429 and "FORJA_TOKENS_PER_PERSON" in third.json()["detail"]
    async with browser("2001:db8:5::2") as same_64:  # the same /64 counts as one address
        await same_64.post("/api/auth/sign-up", json={"email": "r@example.org", "name": "R", "password": "pass-word-1"})
        refused = await same_64.post("/api/auth/sign-up", json={"email": "s@example.org", "name": "S", "password": "pass-word-1"})
        assert refused.status_code == 429


# -- 3, 4, 9. numbers, bodies and names at the door ------------------------------------------------------------------


async def test_numbers_past_what_the_store_holds_get_a_4xx(accounts_on: Services, ana: Person, bo: Person) -> None:
    http = ana.http
    for method, path, status in (
        ("GET", f"/api/projects?offset={HUGE}", 422),
        ("GET", f"/api/trash?offset={HUGE}", 422),
        ("GET", "/api/projects?offset=-1", 422),
        # Ids past the store's integers name nothing, as ids that were never given.
        ("DELETE", f"/api/account/tokens/{HUGE}", 404),
        ("DELETE", f"/api/admin/invitations/{HUGE}", 404),
        ("DELETE", "/api/account/tokens/2147483648", 404),
    ):
        answer = await http.request(method, path)
        assert answer.status_code == status, (method, path, answer.text)
        assert answer.json()["detail"]
    user = f"/api/admin/users/{bo.actor.user_id}"
    for quotas in ({"tokens_day": int(HUGE)}, {"previews": 2**31}, {"cost_day_usd": 1e308}, {"cost_day_usd": -1}):
        answer = await http.patch(user, json={"quotas": quotas})
        assert answer.status_code == 422, (quotas, answer.text)
    for literal in ("Infinity", "NaN", "-Infinity", "1e999"):
        raw = f'{{"quotas": {{"cost_day_usd": {literal}}}}}'
        answer = await http.patch(user, content=raw, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (literal, answer.text)
        assert "number" in answer.text
    assert (await accounts_on.accounts.user(bo.actor.user_id)).quotas.cost_day_usd is None  # never "no limit"
    fine = await http.patch(user, json={"quotas": {"cost_day_usd": 12.5, "tokens_day": 2**31 - 1}})
    assert fine.status_code == 200 and fine.json()["quotas"]["tokens_day"] == 2**31 - 1


async def test_json_bodies_are_checked_at_the_door(accounts_on: Services, ana: Person, monkeypatch: pytest.MonkeyPatch) -> None:
    http = ana.http
    json_type = {"Content-Type": "application/json"}
    deep = await http.post("/api/projects", content="[" * 100_000 + "]" * 100_000, headers=json_type)
    assert deep.status_code == 422 and "nested more than" in deep.json()["detail"]
    wide = await http.post("/api/projects", content="[" + ",".join(["{}"] * 30_000) + "]", headers=json_type)
    assert wide.status_code == 422 and "values" in wide.json()["detail"]
    digits = await http.patch(f"/api/projects/{'x' * 12}", content='{"name": ' + "9" * 5000 + "}", headers=json_type)
    assert digits.status_code == 422 and "5,000 digits" in digits.json()["detail"]
    broken = await http.post("/api/account/tokens", content='{"name": ', headers=json_type)
    assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]
    text = await http.post(
        "/api/projects", content=json.dumps({"name": "x", "files": {}}), headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415 and "application/json" in text.json()["detail"]
    bare = await http.post(
        "/api/account/tokens", content=b'{"name": "laptop"}', headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert bare.status_code == 415
    unknown = await http.post("/api/projects", json={"name": "x", "files": {"a.txt": "a"}, "owner": "someone-else"})
    assert unknown.status_code == 422 and "owner" in unknown.text
    monkeypatch.setattr(builder.settings.settings, "max_json_bytes", 64 * 1024)
    big = await http.post("/api/projects", json={"name": "Big", "files": {"a.txt": "x" * 70_000}})
    assert big.status_code == 413 and "zip upload" in big.json()["detail"]
    # A bigger project still comes in as a zip.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "x" * 70_000)
    assert (await http.post("/api/projects", files={"file": ("big.zip", archive.getvalue())})).status_code == 201


@pytest.mark.parametrize("name", ["nul\x00name", "esc\x1b[31mred", "two\r\nlines", "gpj.\u202eexe", "del\x7f"])
async def test_names_with_control_characters_are_refused(accounts_on: Services, ana: Person, name: str) -> None:
    http = ana.http
    made = await http.post("/api/projects", json={"name": name, "files": {"index.html": "<h1>hi</h1>"}})
    assert made.status_code == 422 and "invisible character" in made.text, made.text
    project = (await http.post("/api/projects", json={"name": "Fine", "files": {"index.html": "<h1>hi</h1>"}})).json()["id"]
    renamed = await http.patch(f"/api/projects/{project}", json={"name": name})
    assert renamed.status_code == 422 and "invisible character" in renamed.text
    path = await http.post("/api/projects", json={"name": "Paths", "files": {f"{name}.js": "x"}})
    assert path.status_code == 422 and ("control character" in path.text or "NUL byte" in path.text), path.text
    if "\r" not in name:  # a path with a line break is no route's path at all (404)
        written = await http.put(f"/api/projects/{project}/files/{quote(name)}.js", json={"content": "x"})
        assert written.status_code == 422 and ("control character" in written.text or "NUL byte" in written.text)
    token = await accounts_on.accounts.create_token(ana.actor, "ok")
    assert token.name == "ok"
    async with browser() as http_browser:
        signed = await sign_in(http_browser, PASSWORD)
        assert signed.status_code == 200
        named = await http_browser.post("/api/account/tokens", json={"name": name})
        assert named.status_code == 422 and "invisible character" in named.text


async def test_a_zip_member_with_a_nul_in_its_name_is_refused_not_cut(ana: Person) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("index.html", "<h1>hi</h1>")
        z.writestr("notes.txtXevil.sh", "echo hi")
    data = archive.getvalue().replace(b"notes.txtXevil.sh", b"notes.txt\x00evil.sh")
    answer = await ana.http.post("/api/projects", files={"file": ("nul.zip", data)})
    assert answer.status_code == 422 and "NUL" in answer.json()["detail"] and "evil.sh" in answer.json()["detail"]


async def test_a_sign_up_name_with_an_escape_sequence_is_refused(accounts_on: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    await accounts_on.accounts.create_user("ana@example.org", "Ana", PASSWORD, admin=True)
    monkeypatch.setattr(builder.settings.settings, "signup", "open")
    async with browser() as http:
        answer = await http.post(
            "/api/auth/sign-up", json={"email": "eve@example.org", "name": "Eve\x1b]0;pwned\x07", "password": "pass-word-1"}
        )
    assert answer.status_code == 422 and "invisible character" in answer.json()["detail"]


# -- 5, 6. frames and host names -------------------------------------------------------------------------------------


async def test_every_answer_refuses_to_be_framed(accounts_on: Services, ana: Person) -> None:
    async with browser() as http:
        answers = [
            await http.get("/health"),
            await http.get("/api/projects"),  # 401
            await http.get("/api/projects", headers={"Authorization": f"Bearer {ana.token}"}),
            await http.get("/s/" + "a" * 43),
            await http.get("/health", headers={"Host": "evil.example"}),  # 400 from the host guard
            await http.post("/api/auth/sign-in", content=b"x" * (9 * 1024 * 1024)),  # 413 from the size guard
        ]
    for answer in answers:
        assert answer.headers["x-frame-options"] == "DENY", answer.request.url
        assert "frame-ancestors 'none'" in answer.headers.get_list("content-security-policy"), answer.request.url


async def test_a_share_page_loads_styles_and_images_only_from_forja(accounts_on: Services, ana: Person) -> None:
    """A share page's own policy limits where its styles and images come from (the builder's page gets its own: the e2e
    test in tests/e2e/test_coediting.py reads it in Chromium); the API's JSON answers carry only the frame policy."""
    async with browser() as http:
        page = await http.get("/s/" + "a" * 43)
        answer = await http.get("/api/projects", headers={"Authorization": f"Bearer {ana.token}"})
    assert page.headers["content-type"].startswith("text/html")
    assert any(
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:" in policy
        for policy in page.headers.get_list("content-security-policy")
    ), page.headers
    assert answer.headers.get_list("content-security-policy") == ["frame-ancestors 'none'"]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("localhost:evil.example", 400),
        ("127.0.0.1:3000:3000", 400),
        ("127.0.0.1:99999", 400),
        ("127.0.0.1:3001", 400),
        ("localhost@evil.example", 400),
        ("127.0.0.1:3000", 200),
        ("localhost", 200),
        ("[::1]:3000", 200),
    ],
)
async def test_the_host_check_matches_name_and_port_exactly(accounts_on: Services, host: str, status: int) -> None:
    async with browser() as http:
        assert (await http.get("/health", headers={"Host": host})).status_code == status


def api_routes(routes: list[BaseRoute] | None = None, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every API route, those of included routers too (as test_access lists them)."""
    for route in api.routes if routes is None else routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from api_routes(included.routes, prefix + route.include_context.prefix)  # pyright: ignore[reportAttributeAccessIssue]


def route_ints() -> list[tuple[str, str, str, str]]:
    """(method, path, parameter, where) of every integer in an API route's path or query, from the app's own routes."""
    found: list[tuple[str, str, str, str]] = []
    for path, route in api_routes():
        params = [(p, "path") for p in route.dependant.path_params] + [(p, "query") for p in route.dependant.query_params]
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            found += [(method, path, p.name, where) for p, where in params if p.field_info.annotation in (int, int | None)]
    return found


async def test_every_integer_in_a_path_or_query_is_bounded(ana: Person) -> None:
    ints = route_ints()
    assert len(ints) >= 15  # ids, versions, offsets, limits, log positions
    for method, path, name, where in ints:
        url = path.replace("{project_id}", "p" * 12).replace("{path:path}", "a.txt")
        for value in (HUGE, "-" + HUGE):
            concrete = url.replace("{" + name + "}", value)
            concrete = concrete.replace("{version}", "1").replace("{verification_id}", "1").replace("{share_id}", "1")
            params: dict[str, Any] = {name: value} if where == "query" else {}
            answer = await ana.http.request(method, concrete, params=params)
            assert 400 <= answer.status_code < 500, (method, path, name, answer.status_code, answer.text)


def test_every_api_route_checks_its_json_body() -> None:
    """A router made without CheckedRoute would let its bodies past the door: none may be."""
    routes = list(api_routes())
    assert len(routes) > 50
    assert [path for path, route in routes if not isinstance(route, CheckedRoute)] == []
