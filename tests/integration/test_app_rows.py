"""A published app's data, on its own origin, in Chromium through the real parts (the local runner behind a real
Traefik, which sends the apps' hosts to Forja's guarded server on a loopback port): people sign up on the app's pages,
and the app's page calls /_forja/client.js, which calls /_forja/data/. The rules of the app's `.forja/data.json`
decide, deny by default: one user never reaches another's rows (read, change, delete, a list filtered by their id),
the owner's admin account sees them all, nobody signed out writes, a collection the rules leave out is refused, a write
from another site is refused and a session of one app is nobody to another. The service's own side (SQLite and
PostgreSQL: filters, caps, the trash) is below.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page

import builder.settings
from builder.api.app_auth import COOKIE
from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import parse_rules
from builder.composition import Services
from builder.errors import Forbidden, InvalidInput, NotFound, NotSignedIn, TooLarge
from builder.models import LOCAL_USER_ID, utcnow
from builder.services import app_rows
from builder.services.app_data import Scope
from builder.services.app_rows import ListQuery
from builder.settings import settings
from builder.store import ProjectStore
from tests.accounts import PASSWORD, Person
from tests.integration.test_app_users import SERVER_JS, SERVER_MANIFEST, chromium, fill, forja_server, me
from tests.integration.test_publish_server import answered, through_traefik

__all__ = ["chromium", "forja_server"]  # the fixtures, shared with test_app_users.py

pytestmark = pytest.mark.browser

RULES = {
    "collections": {
        "bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "owner"},
        "notes": {"read": "public", "create": "signed-in", "update": "owner"},
    }
}
PAGE = b'<!doctype html><html><head><title>Barber</title><script src="/_forja/client.js"></script></head><body></body></html>'
OWNER = "owner@example.org"


@pytest.fixture
async def owner_id(services: Services, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Forja with accounts and the owner's account: whoever signs up to the owner's apps with its address is their
    admin."""
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    return (await services.accounts.create_user(OWNER, "Owner", PASSWORD, admin=True)).id


async def published(services: Services, name: str, owner: str) -> str:
    files = {"index.html": PAGE, ".forja/data.json": json.dumps(RULES).encode()}
    created = await services.projects.create(name.title(), files, owner=owner)
    done = await services.publishing.publish(created.project_id, name=name, user_id=owner)
    assert done.release.state == "ready", done.release.error
    return done.app.url


async def person(chromium: Browser, url: str, email: str) -> tuple[BrowserContext, Page]:
    """A browser on the app's home page, signed up through the app's page first when given an email."""
    context = await chromium.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    if email:
        await page.goto(f"{url}/_forja/auth/sign-up")
        await fill(page, email, "a long secret", "Make my account")
    await page.goto(f"{url}/")
    return context, page


async def call(page: Page, code: str, *args: object) -> dict[str, object]:
    """`code` (using `args`) run on the app's page: {"value": ...} or, refused, {"status": ..., "detail": ...}."""
    script = f"async (args) => {{ try {{ return {{ value: await {code} }} }} catch (e) {{ return {{ status: e.status, detail: e.message }} }} }}"
    return await page.evaluate(script, list(args))


async def value(page: Page, code: str, *args: object) -> object:
    answer = await call(page, code, *args)
    assert "value" in answer, answer
    return answer["value"]


async def test_each_person_reaches_only_what_the_rules_let_them(
    forja_server: None, services: Services, chromium: Browser, owner_id: str
) -> None:
    await services.preview_hub.manager()  # the edge runs from Forja's start
    url, other = await published(services, "barber", owner_id), await published(services, "polls", owner_id)
    (ana_context, ana), (_, bo), (_, boss) = [
        await person(chromium, url, e) for e in ("ana@example.org", "bo@example.org", OWNER)
    ]
    ana_id, bo_id = [str(await value(page, "forja.auth.me().then(u => u.id)")) for page in (ana, bo)]
    assert await value(boss, "forja.auth.me().then(u => u.role)") == "admin"
    # Live changes (client.js's watch, through the edge): the admin hears every booking made, B only B's own.
    listen = (
        "new Promise(open => { window.heard = []; forja.data('bookings').watch({open, create: r => heard.push(r.data.who)}) })"
    )
    for page in (boss, bo):
        await page.evaluate(listen)

    first = await value(ana, "forja.data('bookings').create(args[0])", {"slot": "10:00", "who": "Ana"})
    second = await value(ana, "forja.data('bookings').create(args[0])", {"slot": "11:00", "who": "Ana"})
    await value(bo, "forja.data('bookings').create(args[0])", {"slot": "12:00", "who": "Bo"})
    await boss.wait_for_function("window.heard.length === 3")
    await bo.wait_for_function("window.heard.length === 1")  # heard after A's two rows were made: none of them sent
    assert await boss.evaluate("window.heard") == ["Ana", "Ana", "Bo"] and await bo.evaluate("window.heard") == ["Bo"]
    assert isinstance(first, dict) and isinstance(second, dict)
    assert (first["owner"], first["data"]) == (ana_id, {"slot": "10:00", "who": "Ana"})
    ana_rows = await value(ana, "forja.data('bookings').list()")
    assert isinstance(ana_rows, dict) and [row["id"] for row in ana_rows["rows"]] == [second["id"], first["id"]]  # newest first

    # B sees none of A's rows: not in a list, not filtered by A's id, not one by one, and cannot change or delete them.
    bo_rows = await value(bo, "forja.data('bookings').list()")
    assert isinstance(bo_rows, dict) and [row["owner"] for row in bo_rows["rows"]] == [bo_id]
    assert await value(bo, "forja.data('bookings').list({owner: args[0]})", ana_id) == {"rows": [], "next_offset": None}
    assert await value(bo, "forja.data('bookings').list({who: 'Ana'})", ana_id) == {"rows": [], "next_offset": None}
    gone = f"There is no row '{first['id']}' in 'bookings'."
    for code in ("get(args[0])", "update(args[0], {who: 'Bo'})", "replace(args[0], {})", "remove(args[0])"):
        assert await call(bo, f"forja.data('bookings').{code}", first["id"]) == {"status": 404, "detail": gone}
    assert await value(ana, "forja.data('bookings').get(args[0])", first["id"]) == first  # untouched

    # The owner's admin account sees every row; A changes and deletes A's own.
    boss_rows = await value(boss, "forja.data('bookings').list({limit: 2})")
    assert isinstance(boss_rows, dict) and len(boss_rows["rows"]) == 2 and boss_rows["next_offset"] == 2
    rest = await value(boss, "forja.data('bookings').list({offset: 2})")
    assert isinstance(rest, dict) and [row["id"] for row in rest["rows"]] == [first["id"]]
    assert await value(ana, "forja.data('bookings').list({who: 'Ana', slot: '11:00'}).then(p => p.rows.map(r => r.id))") == [
        second["id"]
    ]
    merged = await value(ana, "forja.data('bookings').update(args[0], {slot: '10:30'})", first["id"])
    assert isinstance(merged, dict) and merged["data"] == {"slot": "10:30", "who": "Ana"}  # PATCH keeps the rest
    replaced = await value(ana, "forja.data('bookings').replace(args[0], {slot: '09:00'})", first["id"])
    assert isinstance(replaced, dict) and replaced["data"] == {"slot": "09:00"}  # PUT is the whole row
    assert await value(ana, "forja.data('bookings').remove(args[0])", second["id"]) is None
    assert (await call(ana, "forja.data('bookings').get(args[0])", second["id"]))["status"] == 404

    # Public reading: anyone sees the notes, but only signed-in people add them and only their maker changes them.
    note = await value(ana, "forja.data('notes').create({text: 'Closed on Monday'})")
    assert isinstance(note, dict)
    _, nobody = await person(chromium, url, "")
    assert await value(nobody, "forja.data('notes').list().then(p => p.rows.map(r => r.id))") == [note["id"]]
    assert await call(bo, "forja.data('notes').update(args[0], {text: 'Open'})", note["id"]) == {
        "status": 403,
        "detail": "Only the user who made a row and the app's admins may change rows of 'notes'.",
    }
    assert await call(ana, "forja.data('notes').remove(args[0])", note["id"]) == {
        "status": 403,
        "detail": "This app's data rules let no one delete rows of 'notes'.",
    }
    # Signed out: no writes, no rows that are someone's own; a collection the rules leave out: no one at all.
    assert await call(nobody, "forja.data('bookings').create({slot: '13:00'})") == {
        "status": 401,
        "detail": "Sign in to add rows of 'bookings'.",
    }
    assert (await call(nobody, "forja.data('bookings').list()"))["status"] == 401
    assert (await call(nobody, "forja.data('notes').create({text: 'x'})"))["status"] == 401
    refused = {"status": 403, "detail": "This app's data rules name no collection 'secrets', so no one may use it."}
    assert await call(boss, "forja.data('secrets').list()") == refused
    assert await call(ana, "forja.data('secrets').create({a: 1})") == refused

    # A write from another site (app Y's page, with A's cookie of app X where the browser sends it) is refused before
    # it is read; nothing is made.
    token = next(c.get("value", "") for c in await ana_context.cookies(url) if c.get("name") == COOKIE)
    await ana_context.add_cookies([{"name": COOKIE, "value": token, "url": other}])  # A's session, planted on app Y
    await ana.goto(f"{other}/")
    sent = await ana.evaluate(
        """(target) => fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"slot": "x"}' })
            .then(() => 'sent', () => 'failed')""",
        f"{url}/_forja/data/bookings",
    )
    assert sent == "sent"
    # App Y does not take app X's session: to it, A is nobody.
    assert await call(ana, "forja.data('bookings').create({slot: '14:00'})") == {
        "status": 401,
        "detail": "Sign in to add rows of 'bookings'.",
    }
    assert (await me(ana, other))["signed_in"] is False
    await ana.goto(f"{url}/")
    assert await value(ana, "forja.data('bookings').list().then(p => p.rows.map(r => r.data))") == [{"slot": "09:00"}]


async def test_the_data_api_answers_bad_requests_with_a_sentence(forja_server: None, services: Services, owner_id: str) -> None:
    url = await published(services, "cellar", owner_id)
    host = url.split("://", 1)[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as http:
        script = await http.get("/_forja/client.js", headers={"Host": host})
        assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "public, max-age=300" and "window.forja" in script.text
        head = await http.head("/_forja/client.js", headers={"Host": host})
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(script.content)))
        made = await http.post(
            "/_forja/auth/sign-up",
            headers={"Host": host, "Origin": url},
            data={"email": "dee@example.org", "password": "a long secret"},
        )
        signed = {"Host": host, "Origin": url, "Cookie": f"{COOKIE}={made.cookies[COOKIE]}"}
        http.cookies.clear()
        ok = await http.post("/_forja/data/bookings", headers=signed, json={"slot": "10:00"})
        assert ok.status_code == 201, ok.text
        elsewhere = {**signed, "Origin": "http://elsewhere.localhost"}
        no_origin = {key: value for key, value in signed.items() if key != "Origin"}
        big = {"text": "x" * (65 * 1024)}
        for answer, status, words in [
            (await http.post("/_forja/data/bookings", headers=elsewhere, json={}), 403, "only from its own pages"),
            (await http.delete(f"/_forja/data/bookings/{ok.json()['id']}", headers=no_origin), 403, "own pages"),
            (await http.post("/_forja/data/bookings", headers=signed, json={"t": "x" * (130 * 1024)}), 413, "body is larger"),
            (await http.post("/_forja/data/bookings", headers=signed, json=[1]), 422, "A row is a JSON object"),
            (await http.post("/_forja/data/bookings", headers=signed, content=b"{"), 415, "Content-Type: application/json"),
            (await http.post("/_forja/data/bookings", headers=signed, json=big), 413, "at most 64 KB"),
            (
                await http.post(
                    "/_forja/data/bookings", headers={**signed, "Content-Type": "application/json"}, content=b"{nope"
                ),
                422,
                "not valid JSON",
            ),
            (await http.get("/_forja/data/bookings?limit=500", headers=signed), 422, "1 to 100 rows"),
            (await http.get("/_forja/data/bookings?limit=ten", headers=signed), 422, "whole number"),
            (await http.get("/_forja/data/bookings?a.b=1", headers=signed), 422, "cannot name a field"),
            (await http.get("/_forja/data/bookings?mine=maybe", headers=signed), 422, "`mine` is 1"),
            (await http.get("/_forja/data/bookings/x/y", headers=signed), 404, "nothing at this address"),
            (await http.get("/_forja/data/bookings/" + "z" * 300, headers=signed), 404, "There is no row"),
            (await http.put("/_forja/data/bookings", headers=signed, json={}), 405, "GET (its rows) and POST"),
            (await http.post("/_forja/client.js", headers=signed), 405, "only answers GET"),
        ]:
            assert (answer.status_code, answer.headers["content-type"]) == (status, "application/json"), answer.text
            assert words in answer.json()["detail"], answer.text
        mine = await http.get("/_forja/data/bookings?mine=1", headers=signed)
        assert [row["data"] for row in mine.json()["rows"]] == [{"slot": "10:00"}]  # nothing refused was kept


async def test_a_server_apps_data_is_forjas_whatever_its_server_answers(forja_server: None, services: Services) -> None:
    files = {"package.json": SERVER_MANIFEST, "server.js": SERVER_JS.encode(), ".forja/data.json": json.dumps(RULES).encode()}
    created = await services.projects.create("Echo", files, owner=LOCAL_USER_ID)
    done = await services.publishing.publish(created.project_id, name="echo", user_id=LOCAL_USER_ID)
    assert done.release.state == "ready", done.release.error
    assert (await answered(services, "echo")).json()["from"] == "the app"
    script = await through_traefik(services, "echo", "/_forja/client.js")
    assert script.headers["content-type"].startswith("text/javascript") and "window.forja" in script.text
    assert (await through_traefik(services, "echo", "/_forja/data/notes")).json() == {"rows": [], "next_offset": None}
    seen = (await answered(services, "echo")).json()["seen"]
    assert not [path for path in seen if path.startswith("/_forja/")], seen  # its server was never asked


@pytest.fixture
async def app(accounts_on: Services, ana: Person) -> AsyncIterator[tuple[Services, str]]:
    made = await accounts_on.projects.create("Shop", {"index.html": b"<h1>shop</h1>"}, owner=ana.actor.user_id)
    yield accounts_on, made.project_id


LIVE = Scope.live
ANA, BO, ADMIN, NOBODY = (
    AppViewer(user_id="ana"),
    AppViewer(user_id="bo"),
    AppViewer(user_id="boss", role="admin"),
    AppViewer(user_id=None),
)


async def test_the_service_filters_in_its_query_on_both_databases(app: tuple[Services, str], ana: Person) -> None:
    services, project = app
    rows, rules = services.app_rows, parse_rules(json.dumps(RULES).encode())
    where = (project, LIVE, rules, "bookings")
    made = [await rows.create(*where, viewer, {"slot": slot, "n": 1}) for viewer, slot in ((ANA, "a"), (BO, "b"), (ANA, "c"))]

    async def listed(viewer: AppViewer, **query: object) -> list[str]:
        return [row.data["slot"] for row in (await rows.list(*where, viewer, ListQuery.model_validate(query))).rows]

    assert await listed(ANA) == ["c", "a"] and await listed(BO) == ["b"] and await listed(ADMIN) == ["c", "b", "a"]
    assert await listed(BO, owner="ana") == [] and await listed(ADMIN, owner="ana") == ["c", "a"]
    assert await listed(ADMIN, mine=True) == [] and await listed(ANA, fields={"slot": "a"}) == ["a"]
    assert await listed(ANA, fields={"n": "1"}) == ["c", "a"] and await listed(ANA, fields={"n": "2"}) == []  # numbers as written
    assert await listed(ADMIN, limit=1, offset=1) == ["b"]
    with pytest.raises(NotSignedIn):
        await rows.list(*where, NOBODY, ListQuery())
    with pytest.raises(NotFound):
        await rows.get(*where, BO, made[0].id)
    # Refused before any row is looked up: the same answer for a row that exists and one that does not.
    for row_id in (made[0].id, "no-such-row"):
        with pytest.raises(NotSignedIn):
            await rows.get(*where, NOBODY, row_id)
    with pytest.raises(Forbidden):
        await rows.list(project, LIVE, rules, "secrets", ADMIN, ListQuery())
    with pytest.raises(InvalidInput):
        await rows.create(*where, ANA, "a string")
    # Another app's rows are not this one's, even by id.
    other = (await services.projects.create("Other", {"index.html": b"<h1>o</h1>"}, owner=ana.actor.user_id)).project_id
    with pytest.raises(NotFound):
        await rows.get(other, LIVE, rules, "bookings", ADMIN, made[0].id)


async def test_an_app_holds_a_bounded_number_of_rows_and_loses_them_with_its_project(
    app: tuple[Services, str], store: ProjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    services, project = app
    monkeypatch.setattr(app_rows, "MAX_ROWS", 2)
    rules = parse_rules(json.dumps(RULES).encode())
    for _ in range(2):
        await services.app_rows.create(project, LIVE, rules, "notes", ANA, {"text": "hi"})
    with pytest.raises(TooLarge, match="This app holds 2 rows"):
        await services.app_rows.create(project, LIVE, rules, "notes", ANA, {"text": "one more"})
    await services.history.delete(project)
    purged = await store.purge_trashed(utcnow() + timedelta(seconds=1))
    assert project in purged.projects and await store.data_row_count(project, LIVE) == 0
