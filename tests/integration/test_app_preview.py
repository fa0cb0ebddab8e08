"""An app's own backend in its preview (scope preview), in Chromium, through the real parts: a project's preview run by
the local runner behind a real Traefik, whose /_forja/ paths Traefik sends to Forja's guarded server on a loopback port
through the preview's gate, and the same project published.

A person signs up and saves a row in the preview; the preview's people are not the published app's, nor the reverse;
the preview follows the rules of the version it runs from the request after a save, and tells why when they cannot be
read; a private preview's backend answers nobody without its gate's cookie, on Traefik and on Forja's own port alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from builder.api.app_auth import COOKIE
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.services.access import LOCAL_ACTOR
from builder.services.app_data import Scope
from builder.services.throttle import Attempt
from builder.settings import settings
from preview_runtime.access import COOKIE as GATE_COOKIE
from preview_runtime.access import FORJA_ITSELF
from tests.integration.test_app_users import PAGE, chromium, fill, forja_server, me

pytestmark = pytest.mark.browser

__all__ = ["chromium", "forja_server"]  # fixtures of test_app_users.py, used here by name

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "app-preview"
RULES = ".forja/data.json"
NOTES = {"collections": {"notes": {"read": "owner", "create": "signed-in"}}}


async def notes_app(services: Services) -> tuple[str, str, str]:
    """A project whose rules keep notes, published and previewed: its id, the app's address and the preview's."""
    files = {"index.html": PAGE.replace(b"{}", b"Notes"), RULES: json.dumps(NOTES).encode()}
    project_id = (await services.projects.create("Notes", files, owner=LOCAL_USER_ID)).project_id
    done = await services.publishing.publish(project_id, name="notes", user_id=LOCAL_USER_ID)
    assert done.release.state == "ready", done.release.error
    await services.previews.start(project_id)
    info = await services.previews.wait_ready(project_id)
    assert info.url
    return project_id, done.app.url, info.url


async def call(page: Page, method: str, path: str, body: object = None) -> tuple[int, dict[str, object]]:
    """The app's own script asking its backend: status and JSON."""
    return await page.evaluate(
        """async ([method, path, body]) => {
            const init = { method, headers: body === null ? {} : { 'Content-Type': 'application/json' } }
            if (body !== null) init.body = JSON.stringify(body)
            const answer = await fetch(path, init)
            return [answer.status, answer.status === 204 ? {} : await answer.json()]
        }""",
        [method, path, body],
    )


async def test_the_preview_has_its_own_people_and_rows_follows_each_save_and_is_gated(
    forja_server: None, services: Services, chromium: Browser
) -> None:
    await services.preview_hub.manager()
    project_id, live, preview = await notes_app(services)
    info = await services.previews.status(project_id)
    assert info is not None
    context = await chromium.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    await page.goto(await services.preview_access.ticket_url(info, LOCAL_USER_ID))  # as the Preview tab opens it
    await expect(page.get_by_role("heading")).to_have_text("Welcome")

    # Sign-up in the preview, on the preview's own origin, and a row saved there.
    await page.goto(f"{preview}/_forja/auth/sign-up")
    await expect(page).to_have_title("Make an account · Notes")
    await fill(page, "ana@example.org", "a long secret", "Make my account")
    assert page.url == f"{preview}/"
    cookies = [c for c in await context.cookies(preview) if c.get("name") == COOKIE]
    assert len(cookies) == 1 and cookies[0].get("domain") == preview.split("//")[1].split(":")[0]  # host-only
    assert (cookies[0].get("httpOnly"), cookies[0].get("sameSite")) == (True, "None")  # the Preview tab's frame keeps it
    assert not await context.cookies(live)  # nothing of it reaches the published app's host
    user = (await me(page, preview))["user"]
    assert isinstance(user, dict) and (user["email"], user["role"]) == ("ana@example.org", "user")
    status, row = await call(page, "POST", "/_forja/data/notes", {"text": "try me"})
    assert status == 201 and row["data"] == {"text": "try me"}, row
    status, listed = await call(page, "GET", "/_forja/data/notes", None)
    assert status == 200 and [r["id"] for r in listed["rows"]] == [row["id"]]  # type: ignore[union-attr,index]

    # The published app knows nobody of the preview, and its people are not the preview's.
    await page.goto(f"{live}/_forja/auth/sign-in")
    await fill(page, "ana@example.org", "a long secret", "Sign in")
    await expect(page.get_by_role("alert")).to_contain_text("do not match an account here")
    await page.goto(f"{live}/_forja/auth/sign-up")
    await fill(page, "ana@example.org", "the live secret", "Make my account")
    assert (await me(page, live))["signed_in"] is True
    status, listed = await call(page, "GET", "/_forja/data/notes", None)
    assert status == 200 and listed["rows"] == []  # the preview's row is not the published app's
    live_token = next(c.get("value", "") for c in await context.cookies(live) if c.get("name") == COOKIE)
    await page.goto(f"{preview}/_forja/auth/sign-out")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{preview}/")
    await context.add_cookies([{"name": COOKIE, "value": live_token, "url": preview}])
    assert await me(page, preview) == {"signed_in": False, "user": None}  # the live session names nobody here
    await page.goto(f"{preview}/_forja/auth/sign-in")
    await fill(page, "ana@example.org", "the live secret", "Sign in")
    await expect(page.get_by_role("alert")).to_contain_text("do not match an account here")
    people = {scope: [p.email for p in await services.app_users.people(LOCAL_ACTOR, project_id, scope)] for scope in Scope}
    assert people == {Scope.preview: ["ana@example.org"], Scope.live: ["ana@example.org"]}
    preview_ids = {p.id for p in await services.app_users.people(LOCAL_ACTOR, project_id, Scope.preview)}
    assert preview_ids.isdisjoint({p.id for p in await services.app_users.people(LOCAL_ACTOR, project_id, Scope.live)})

    # A save of the rules counts from the next request; rules that cannot be read say why, in the preview.
    await page.goto(f"{preview}/_forja/auth/sign-in")
    await fill(page, "ana@example.org", "a long secret", "Sign in")
    status, refused = await call(page, "POST", "/_forja/data/tasks", {"text": "a task"})
    assert (status, refused["detail"]) == (403, "This app's data rules name no collection 'tasks', so no one may use it.")
    tasks = {"collections": {**NOTES["collections"], "tasks": {"read": "owner", "create": "signed-in"}}}
    await services.projects.save(project_id, {RULES: json.dumps(tasks)}, user_id=LOCAL_USER_ID)
    status, made = await call(page, "POST", "/_forja/data/tasks", {"text": "a task"})
    assert status == 201, made
    await services.projects.save(project_id, {RULES: '{"collections": {"tasks": {"read": "everyone"}}}'}, user_id=LOCAL_USER_ID)
    status, refused = await call(page, "GET", "/_forja/data/tasks", None)
    sentence = (
        'In collection "tasks", "read" must be "public", "signed-in", "owner" or "admin" (or leave it out, and no one may).'
    )
    assert (status, refused["detail"]) == (422, sentence)
    # The published app keeps its release's rules meanwhile.
    await page.goto(f"{live}/")
    assert (await call(page, "GET", "/_forja/data/notes", None))[0] == 200
    await context.close()
    await gate_refuses_strangers(services, project_id, preview)


async def gate_refuses_strangers(services: Services, project_id: str, preview: str) -> None:
    """Without the gate's cookie (or with another preview's) the preview's backend answers 401, on Traefik and on
    Forja's port; an unknown preview 404; the people API tells the scopes apart."""
    info = await services.previews.status(project_id)
    assert info is not None
    host = preview.split("//", 1)[1]
    edge = (await services.preview_hub.manager()).proxy.internal_url().rstrip("/")
    keys = await services.preview_access.keys()
    own = f"{GATE_COOKIE}={keys.cookie(info.preview_id, project_id, FORJA_ITSELF)}"
    another = f"{GATE_COOKIE}={keys.cookie('0123456789ab', project_id, FORJA_ITSELF)}"  # another preview's
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        for base in (edge, f"http://127.0.0.1:{settings.port}"):  # through Traefik, and straight to Forja's port
            for cookie in ("", another):
                refused = await http.get(f"{base}/_forja/auth/me", headers={"Host": host, "Cookie": cookie})
                assert refused.status_code == 401 and "private" in refused.text, (base, cookie, refused.text)
                assert "signed_in" not in refused.text
            answered = await http.get(f"{base}/_forja/auth/me", headers={"Host": host, "Cookie": own})
            assert answered.json() == {"signed_in": False, "user": None}
            # Even with the gate's cookie, a form sent from another site is refused before it is read.
            foreign = {"Host": host, "Cookie": own, "Origin": "http://elsewhere.localhost"}
            refused = await http.post(f"{base}/_forja/auth/sign-up", headers=foreign, data={"email": "x@example.org"})
            assert refused.status_code == 403 and "came from another site" in refused.text
        # A host that names no running preview: a plain 404 from Forja.
        unknown = await http.get(f"http://127.0.0.1:{settings.port}/_forja/auth/me", headers={"Host": "feedc0ffee00.localhost"})
        assert unknown.status_code == 404 and unknown.text == "There is no preview at this address.\n"
        # A share link's preview is public, its backend too, and follows the rules of the version it shows (the first:
        # no 'tasks', where the project's current rules cannot be read).
        shared = await services.version_previews.start(project_id, 1)
        proxy = (await services.preview_hub.manager()).proxy
        assert await proxy.wait_routed(shared.preview_id)
        share_host = f"{proxy.host_for(shared.preview_id)}:{settings.preview_port}"
        assert (await http.get(f"{edge}/_forja/auth/me", headers={"Host": share_host})).json()["signed_in"] is False
        tasks = await http.get(f"{edge}/_forja/data/tasks", headers={"Host": share_host})
        assert tasks.status_code == 403 and "name no collection 'tasks'" in tasks.json()["detail"]
        foreign = {"Host": share_host, "Origin": "http://elsewhere.localhost"}
        refused = await http.post(f"{edge}/_forja/data/notes", headers=foreign, json={"text": "x"})
        assert refused.status_code == 403 and "only from its own pages" in refused.json()["detail"]
        # The people API names the preview's people with ?scope=preview, the published app's by default.
        api = f"http://127.0.0.1:{settings.port}/api/projects/{project_id}/app-users"
        await services.app_users.sign_up(project_id, Scope.preview, "bo@example.org", "bo's long secret", Attempt("127.0.0.9"))
        assert [p["email"] for p in (await http.get(api, params={"scope": "preview"})).json()] == [
            "ana@example.org",
            "bo@example.org",
        ]
        assert [p["email"] for p in (await http.get(api)).json()] == ["ana@example.org"]
        wrong = await http.get(api, params={"scope": "staging"})
        assert wrong.status_code == 422 and "live" in wrong.text and "Traceback" not in wrong.text, wrong.text
