"""Every API route checks who asks, enumerated from the app's own routes: a route added without a check fails here.

A team on one Forja with accounts (FORJA_AUTH=password): Ana owns a project, Vera views it, Eric edits it, and Bruno
has no role in it. Each route that names a project must refuse Bruno as if the project did not exist (404), Vera
when it changes the project (403), Eric when only an owner may (403), and anyone without a sign-in or token (401).
Routes that name no project are listed with what each must keep apart. The requests go through the same guards
Forja serves (builder.api.guarded), with real API tokens, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route

from builder.api import api, guarded
from builder.attachments import Picture
from builder.composition import Services
from builder.models import ProjectRole
from builder.services.access import Actor, no_such_project
from tests.pictures import png

TREE = {"index.html": "<h1>Ana's page</h1>", "app.js": "console.log('ana')"}
PNG = png(4, 4)

# What each route naming a project needs: "view" (any role), "edit" (editor or owner) or "own" (owner).
PROJECT_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/projects/{project_id}"): "view",
    ("GET", "/api/projects/{project_id}/versions"): "view",
    ("GET", "/api/projects/{project_id}/files"): "view",
    ("GET", "/api/projects/{project_id}/files/{path:path}"): "view",
    ("GET", "/api/projects/{project_id}/tree"): "view",
    ("PUT", "/api/projects/{project_id}/files/{path:path}"): "edit",
    ("GET", "/api/projects/{project_id}/export"): "view",
    ("POST", "/api/projects/{project_id}/preview"): "view",
    ("GET", "/api/projects/{project_id}/preview"): "view",
    ("DELETE", "/api/projects/{project_id}/preview"): "view",
    ("GET", "/api/projects/{project_id}/preview/logs"): "view",
    ("POST", "/api/projects/{project_id}/preview/logs"): "view",
    ("GET", "/api/projects/{project_id}/run-settings"): "view",
    ("PUT", "/api/projects/{project_id}/run-settings"): "edit",
    ("GET", "/api/projects/{project_id}/logs/tail"): "view",
    ("GET", "/api/projects/{project_id}/logs"): "view",
    ("POST", "/api/projects/{project_id}/generate"): "edit",
    ("GET", "/api/projects/{project_id}/generate"): "view",
    ("POST", "/api/projects/{project_id}/repair"): "edit",
    ("POST", "/api/projects/{project_id}/generate/stop"): "edit",
    ("GET", "/api/projects/{project_id}/generations"): "view",
    ("GET", "/api/projects/{project_id}/usage"): "view",
    ("GET", "/api/projects/{project_id}/versions/{version}/diff"): "view",
    ("POST", "/api/projects/{project_id}/versions/{version}/restore"): "edit",
    ("GET", "/api/projects/{project_id}/versions/{version}/export"): "view",
    ("GET", "/api/projects/{project_id}/export.bundle"): "view",
    ("PATCH", "/api/projects/{project_id}"): "edit",
    ("POST", "/api/projects/{project_id}/duplicate"): "view",
    ("GET", "/api/projects/{project_id}/plans"): "view",
    ("GET", "/api/projects/{project_id}/presence"): "view",
    ("DELETE", "/api/projects/{project_id}"): "own",
    ("POST", "/api/trash/{project_id}/restore"): "own",
    ("POST", "/api/projects/{project_id}/share"): "edit",
    ("GET", "/api/projects/{project_id}/shares"): "view",
    ("POST", "/api/projects/{project_id}/publish"): "edit",
    ("GET", "/api/projects/{project_id}/app"): "view",
    ("PATCH", "/api/projects/{project_id}/app"): "own",
    ("DELETE", "/api/projects/{project_id}/app"): "edit",
    ("GET", "/api/projects/{project_id}/releases"): "view",
    ("POST", "/api/projects/{project_id}/review"): "edit",
    ("GET", "/api/projects/{project_id}/review"): "view",
    # Confirming a finding is the owner's word (tests/integration/test_review.py: and publishing despite one).
    ("POST", "/api/projects/{project_id}/review/confirm"): "own",
    ("GET", "/api/projects/{project_id}/app/domain"): "view",
    ("PUT", "/api/projects/{project_id}/app/domain"): "own",
    ("DELETE", "/api/projects/{project_id}/app/domain"): "own",
    ("POST", "/api/projects/{project_id}/releases/{number}/rollback"): "edit",
    ("POST", "/api/projects/{project_id}/text"): "edit",
    ("POST", "/api/projects/{project_id}/pictures"): "edit",
    ("GET", "/api/projects/{project_id}/env"): "view",
    ("PUT", "/api/projects/{project_id}/env/{name}"): "edit",
    ("DELETE", "/api/projects/{project_id}/env/{name}"): "edit",
    ("GET", "/api/projects/{project_id}/remote"): "view",
    ("PUT", "/api/projects/{project_id}/remote"): "edit",
    ("DELETE", "/api/projects/{project_id}/remote"): "edit",
    ("POST", "/api/projects/{project_id}/remote/push"): "edit",
    ("POST", "/api/projects/{project_id}/remote/pull"): "edit",
    ("DELETE", "/api/projects/{project_id}/data"): "edit",
    ("GET", "/api/projects/{project_id}/verifications"): "view",
    ("GET", "/api/projects/{project_id}/verifications/{verification_id}/screenshot"): "view",
    ("GET", "/api/projects/{project_id}/verifications/{verification_id}/acceptance/{number}/screenshot"): "view",
    ("POST", "/api/projects/{project_id}/ask"): "edit",
    ("PUT", "/api/projects/{project_id}/agent/approve-changes"): "edit",
    ("PUT", "/api/projects/{project_id}/agent/engine"): "edit",
    ("POST", "/api/projects/{project_id}/agent/{generation_id}/accept"): "edit",
    ("POST", "/api/projects/{project_id}/agent/{generation_id}/answers"): "edit",
    ("POST", "/api/projects/{project_id}/agent/{generation_id}/reject"): "edit",
    ("GET", "/api/projects/{project_id}/agent/{generation_id}/steps/{number}/screenshot"): "view",
    ("GET", "/api/projects/{project_id}/thumbnail"): "view",
    # Any role makes a read token; a token that may push needs edit (tests/integration/test_git_token_api.py).
    ("POST", "/api/projects/{project_id}/git-tokens"): "view",
    ("GET", "/api/projects/{project_id}/members"): "view",
    ("POST", "/api/projects/{project_id}/members"): "own",
    # {user_id} is the owner's: only an owner may change or remove another person (anyone may leave: its own test).
    ("PATCH", "/api/projects/{project_id}/members/{user_id}"): "own",
    ("DELETE", "/api/projects/{project_id}/members/{user_id}"): "own",
    # The published app's people: its owner (and this Forja's admins: tests/integration/test_app_people_api.py).
    ("GET", "/api/projects/{project_id}/app-users"): "own",
    ("POST", "/api/projects/{project_id}/app-users/{user_id}/disable"): "own",
    ("POST", "/api/projects/{project_id}/app-users/{user_id}/enable"): "own",
    ("PUT", "/api/projects/{project_id}/app-users/{user_id}/role"): "own",
    ("DELETE", "/api/projects/{project_id}/app-users/{user_id}"): "own",
    # The app's data, in the Data panel: its owner (and this Forja's admins: tests/integration/test_app_data_panel.py).
    ("GET", "/api/projects/{project_id}/app-data"): "own",
    ("GET", "/api/projects/{project_id}/app-data/{collection}"): "own",
    ("GET", "/api/projects/{project_id}/app-data/{collection}/csv"): "own",
    ("PUT", "/api/projects/{project_id}/app-data/{collection}/{row_id}"): "own",
    ("DELETE", "/api/projects/{project_id}/app-data/{collection}/{row_id}"): "own",
    ("GET", "/api/projects/{project_id}/app-sign-up"): "own",
    ("PUT", "/api/projects/{project_id}/app-sign-up"): "own",
    ("POST", "/api/projects/{project_id}/app-invitations"): "own",
    ("GET", "/api/projects/{project_id}/app-invitations"): "own",
    ("DELETE", "/api/projects/{project_id}/app-invitations/{invitation_id}"): "own",
}
# Answers that stream until the client leaves, or that start real work (a preview, a model request): only their
# refusals are asked for here; tests of their own cover them working.
NOT_CALLED_WHEN_ALLOWED = {
    ("GET", "/api/projects/{project_id}/preview/logs"),
    ("GET", "/api/projects/{project_id}/logs"),
    ("POST", "/api/projects/{project_id}/preview"),
    ("POST", "/api/projects/{project_id}/generate"),
    ("POST", "/api/projects/{project_id}/repair"),
    ("PUT", "/api/projects/{project_id}/files/{path:path}"),
    ("POST", "/api/projects/{project_id}/versions/{version}/restore"),
    ("PATCH", "/api/projects/{project_id}"),
    ("DELETE", "/api/projects/{project_id}"),
    ("POST", "/api/projects/{project_id}/share"),
    ("POST", "/api/projects/{project_id}/publish"),
    ("POST", "/api/projects/{project_id}/text"),
    ("POST", "/api/projects/{project_id}/pictures"),
}
# Open to anyone by design: signing in itself, the API's description, health for orchestrators, and share links.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/auth/sign-in"),
    ("POST", "/api/auth/sign-up"),
    ("GET", "/api/auth/sign-up"),
    ("POST", "/api/auth/sign-out"),
    ("POST", "/api/auth/reset"),
    ("GET", "/s/{token}"),
    ("GET", "/s/{token}/thumbnail.jpg"),
    ("GET", "/s/{token}/status"),
    ("GET", "/s/{token}/code"),
}
# Routes that name no project: each is checked by its own test below.
OTHER_ROUTES = {
    ("GET", "/api/doctor"): "signed in; the report for an admin, whether previews run here for anyone else",
    ("GET", "/api/projects"): "lists only the person's projects",
    ("POST", "/api/projects"): "the new project is the person's",
    ("POST", "/api/projects/import-git"): "the new project is the person's",
    ("POST", "/api/generate"): "the new project is the person's",
    ("GET", "/api/trash"): "lists only the person's trash",
    ("POST", "/api/attachments"): "signed in; only they read it back",
    ("GET", "/api/attachments/{attachment_id}"): "only who attached it",
    ("GET", "/api/pictures/{digest}"): "only people of a project it went to",
    ("DELETE", "/api/shares/{share_id}"): "an editor of the link's project",
    ("POST", "/api/auth/password"): "signed in, their own password",
    ("GET", "/api/auth/me"): "signed in",
    ("GET", "/api/account/tokens"): "the person's own tokens",
    ("POST", "/api/account/tokens"): "a token of the person's own",
    ("DELETE", "/api/account/tokens/{token_id}"): "only the person's own token",
    ("GET", "/api/account/git-tokens"): "the person's own git tokens (test_git_token_api.py)",
    ("DELETE", "/api/account/git-tokens/{token_id}"): "only the person's own git token (test_git_token_api.py)",
    ("GET", "/api/account/usage"): "the person's own use",
    ("GET", "/api/account/failed-sign-ins"): "the person's own account",
    ("POST", "/api/mcp"): "signed in; each tool needs the API route's role (tests/integration/test_mcp.py)",
    ("GET", "/api/agent/mcp-tools"): "signed in; names and descriptions only (tests/integration/test_agent_mcp.py)",
    ("POST", "/api/plans"): "a new project's plan is the person's; a plan for a project needs edit",
    ("GET", "/api/plans/{plan_id}"): "view on the plan's project",
    ("PUT", "/api/plans/{plan_id}"): "edit on the plan's project",
    ("POST", "/api/plans/{plan_id}/revise"): "edit on the plan's project",
    ("POST", "/api/plans/{plan_id}/answers"): "edit on the plan's project",
    ("POST", "/api/plans/{plan_id}/build"): "edit on the plan's project",
}
# Pages outside /api/ (the sign-in guard does not see them) that send a browser to the sign-in page themselves.
PAGE_ROUTES = {
    ("GET", "/previews/{preview_id}/open"): "a person with a role in the preview's project (test_preview_access.py)",
}


# git's smart HTTP, outside /api/: each checks the person itself (HTTP Basic with a token), tested below and in
# tests/integration/test_git_server.py with the real git CLI.
GIT_ROUTES = {
    ("GET", "/git/{project_id}.git/info/refs"): "view to fetch, edit to push",
    ("POST", "/git/{project_id}.git/git-upload-pack"): "view",
    ("POST", "/git/{project_id}.git/git-receive-pack"): "edit",
    # The readable alias /git/<owner>/<name>.git: the same checks once the name is resolved (test_git_mirror.py).
    ("GET", "/git/{owner}/{name}.git/info/refs"): "view to fetch, edit to push",
    ("POST", "/git/{owner}/{name}.git/git-upload-pack"): "view",
    ("POST", "/git/{owner}/{name}.git/git-receive-pack"): "edit",
}

# Prometheus' /metrics, outside /api/ where Prometheus looks: its Admin dependency asks for an admin's session or API
# token itself (401 or 403 in words, tests/integration/test_metrics.py).
METRICS_ROUTES = {("GET", "/metrics"): "an admin"}

# Everything under /api/admin/ is an admin's only (Ana, the first account, is the admin here).
ADMIN_PREFIX = "/api/admin/"


def routes_of(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every API route, those of included routers too."""
    for route in routes:
        if isinstance(route, APIRoute):
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                yield method, prefix + route.path
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from routes_of(included.routes, prefix + route.include_context.prefix)  # pyright: ignore[reportAttributeAccessIssue]
        elif getattr(route, "path", None) == "/api/openapi.json":
            yield "GET", "/api/openapi.json"
        elif isinstance(route, Route) and route.path.startswith("/api/"):  # an ASGI app's own route (/api/mcp)
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                yield method, prefix + route.path


@dataclass
class Team:
    services: Services
    tokens: dict[str, str]
    actors: dict[str, Actor]
    project: str
    share_id: int
    picture: str
    attachment: str

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


@pytest.fixture
async def team(accounts_on: Services) -> AsyncIterator[Team]:
    services = accounts_on
    tokens: dict[str, str] = {}
    actors: dict[str, Actor] = {}
    for name in ("ana", "vera", "eric", "bruno"):
        user = await services.accounts.create_user(f"{name}@example.org", name.title(), f"{name}-password-1")
        actors[name] = Actor(user.id, user.email, user.name, user.role)
        tokens[name] = (await services.accounts.create_token(actors[name], "tests")).token
    created = await services.projects.create("Ana's page", TREE, owner=actors["ana"].user_id)
    project = created.project_id
    await services.access.add_member(project, "vera@example.org", ProjectRole.viewer)
    await services.access.add_member(project, "eric@example.org", ProjectRole.editor)
    share = await services.shares.create(project, None, None)
    # A sketch sent with a follow-up (offline answers in words; the picture stays with the request all the same).
    await services.generations.start(project, "Like this sketch", "offline", images=[Picture("image/png", PNG)])
    await services.generations.wait(project)
    picture = (await services.generations.records(project))[0].pictures[0]
    async with client_for() as http:
        attached = await http.post("/api/attachments", content=PNG, headers={"Authorization": f"Bearer {tokens['ana']}"})
        assert attached.status_code == 200, attached.text
    yield Team(services, tokens, actors, project, share.id, picture, attached.json()["id"])


def client_for() -> httpx.AsyncClient:
    """The API behind the guards Forja serves it with; it finds the services where get_services() does."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url="http://127.0.0.1:3000")


def concrete(path: str, team: Team) -> str:
    return (
        path.replace("{project_id}", team.project)
        .replace("{path:path}", "index.html")
        .replace("{version}", "1")
        .replace("{number}", "1")
        .replace("{verification_id}", "1")
        .replace("{generation_id}", "1")
        .replace("{share_id}", str(team.share_id))
        .replace("{attachment_id}", team.attachment)
        .replace("{digest}", team.picture)
        .replace("{token}", "no-such-token")
        .replace("{user_id}", team.actors["ana"].user_id)
        .replace("{link_id}", "1")
        .replace("{invitation_id}", "1")
        .replace("{preview_id}", "no-such-preview")
        .replace("{name}", "STRIPE_KEY")
        .replace("{collection}", "bookings")
        .replace("{row_id}", "no-such-row")
    )


def body_for(method: str, path: str) -> dict[str, Any] | None:
    if method not in ("POST", "PUT", "PATCH"):
        return None
    if path.endswith("/files/{path:path}"):
        return {"content": "<h1>changed</h1>"}
    if path == "/api/projects/{project_id}":
        return {"name": "Taken over"}
    if path.endswith("/preview/logs"):
        return {"lines": [{"text": "hello", "source": "browser"}]}
    if path.endswith("/app"):
        return {"name": "taken-over"}
    if path.endswith("/app/domain"):
        return {"domain": "taken.example.com"}
    if path.endswith("/generate"):
        return {"prompt": "Make it red"}
    if path.endswith("/env/{name}"):
        return {"value": "sk_test_taken_over"}
    if path.endswith("/app-users/{user_id}/role"):
        return {"role": "admin"}
    if path.endswith("/app-data/{collection}/{row_id}"):
        return {"data": {"slot": "taken"}}
    if path.endswith("/app-sign-up"):
        return {"mode": "invite"}
    if path.endswith("/app-invitations"):
        return {"email": "taken@example.org"}
    if path.endswith("/review/confirm"):
        return {"fingerprint": "0" * 24, "reason": "Meant."}
    if path.endswith("/approve-changes"):
        return {"approve_changes": False}
    if path.endswith("/agent/engine"):
        return {"engine": "forja"}
    if path.endswith("/text"):
        return {"old": "Ana's page", "new": "Taken", "dom_path": "html > body > h1"}
    return {}


async def call(http: httpx.AsyncClient, team: Team, method: str, path: str, who: str | None) -> httpx.Response:
    return await http.request(method, concrete(path, team), json=body_for(method, path), headers=team.headers(who))


def test_every_route_is_classified() -> None:
    """A route nobody thought about (no entry in one of the tables above) fails here."""
    found = set(routes_of(api.routes))
    known = set(PROJECT_ROUTES) | PUBLIC_ROUTES | set(OTHER_ROUTES) | set(PAGE_ROUTES) | set(GIT_ROUTES)
    known |= set(METRICS_ROUTES) | {r for r in found if r[1].startswith(ADMIN_PREFIX)}
    assert found - known == set(), "new routes: say who may call them in tests/integration/test_access.py"
    assert known - found == set(), "routes listed here that the app no longer has"
    for method, path in found - PUBLIC_ROUTES - set(PAGE_ROUTES) - set(GIT_ROUTES) - set(METRICS_ROUTES):
        assert path.startswith("/api/"), f"{method} {path}: outside /api/, the sign-in guard does not see it"


async def test_routes_of_a_project_refuse_whom_they_must(team: Team) -> None:
    before = await team.services.projects.get(team.project)
    files_before = await team.services.projects.read_tree(team.project)
    async with client_for() as http:
        for (method, path), need in PROJECT_ROUTES.items():
            signed_out = await call(http, team, method, path, None)
            assert signed_out.status_code == 401, (method, path, signed_out.text)
            assert "Sign in" in signed_out.json()["detail"]
            stranger = await call(http, team, method, path, "bruno")
            assert stranger.status_code == 404, (method, path, stranger.text)
            assert stranger.json()["detail"] == no_such_project(team.project).message, (method, path, stranger.text)
            for who, grants in (("vera", {"view"}), ("eric", {"view", "edit"})):
                if need in grants:
                    continue
                refused = await call(http, team, method, path, who)
                assert refused.status_code == 403, (who, method, path, refused.text)
                assert "Ask its owner" in refused.json()["detail"]
    after = await team.services.projects.get(team.project)
    assert (after.name, after.current_version, len(after.versions)) == (before.name, before.current_version, 1)
    assert await team.services.projects.read_tree(team.project) == files_before
    assert len(await team.services.shares.links(team.project)) == 1


async def test_routes_of_a_project_let_its_people_in(team: Team) -> None:
    async with client_for() as http:
        for (method, path), need in PROJECT_ROUTES.items():
            if (method, path) in NOT_CALLED_WHEN_ALLOWED:
                continue
            allowed = {"view": ["vera", "eric", "ana"], "edit": ["eric", "ana"], "own": ["ana"]}[need]
            for who in allowed:
                answer = await call(http, team, method, path, who)
                assert answer.status_code not in (401, 403), (who, method, path, answer.text)
                if answer.status_code == 404:
                    # Allowed in, and then something else is missing (no check has run yet: no screenshot).
                    assert answer.json()["detail"] != no_such_project(team.project).message, (who, method, path)


async def test_git_routes_ask_for_a_token_and_hide_the_project_from_strangers(team: Team) -> None:
    refs = f"/git/{team.project}.git/info/refs"
    async with client_for() as http:
        for service, allowed in (("git-upload-pack", ("vera", "eric", "ana")), ("git-receive-pack", ("eric", "ana"))):
            asked = await http.get(refs, params={"service": service})
            assert asked.status_code == 401 and asked.headers["www-authenticate"].startswith("Basic"), service
            stranger = await http.get(refs, params={"service": service}, auth=("bruno", team.tokens["bruno"]))
            assert stranger.status_code == 404, service
            for who in ("vera", "eric", "ana"):
                answer = await http.get(refs, params={"service": service}, auth=(who, team.tokens[who]))
                assert answer.status_code == (200 if who in allowed else 403), (who, service, answer.text)
        for action in ("git-upload-pack", "git-receive-pack"):
            posted = await http.post(f"/git/{team.project}.git/{action}", auth=("bruno", team.tokens["bruno"]))
            assert posted.status_code == 404, action
        viewer_push = await http.post(f"/git/{team.project}.git/git-receive-pack", auth=("vera", team.tokens["vera"]))
        assert viewer_push.status_code == 403
    assert len((await team.services.projects.get(team.project)).versions) == 1


async def test_lists_show_only_the_persons_projects(team: Team) -> None:
    async with client_for() as http:
        for who, expected in (("bruno", []), ("vera", [(team.project, "viewer")]), ("ana", [(team.project, "owner")])):
            page = (await http.get("/api/projects", headers=team.headers(who))).json()
            assert [(p["id"], p["role"]) for p in page["items"]] == expected and page["total"] == len(expected)
        mine = await http.post("/api/projects", json={"name": "Bruno's", "files": TREE}, headers=team.headers("bruno"))
        assert mine.status_code == 201
        assert [p["id"] for p in (await http.get("/api/projects", headers=team.headers("bruno"))).json()["items"]] == [
            mine.json()["id"]
        ]
        assert (await http.get(f"/api/projects/{mine.json()['id']}", headers=team.headers("ana"))).status_code == 404
        assert (await http.delete(f"/api/projects/{team.project}", headers=team.headers("ana"))).status_code == 204
        assert (await http.get("/api/trash", headers=team.headers("bruno"))).json()["items"] == []
        assert (await http.get("/api/trash", headers=team.headers("eric"))).json()["items"] == []  # editors do not own it
        assert [t["id"] for t in (await http.get("/api/trash", headers=team.headers("ana"))).json()["items"]] == [team.project]
        assert (await http.post(f"/api/trash/{team.project}/restore", headers=team.headers("eric"))).status_code == 403
        for who in (None, "bruno"):
            assert (await http.get("/api/projects", headers=team.headers(who))).status_code == (401 if who is None else 200)


async def test_pictures_attachments_and_share_links_stay_with_their_people(team: Team) -> None:
    async with client_for() as http:
        picture = f"/api/pictures/{team.picture}"
        assert (await http.get(picture, headers=team.headers("bruno"))).status_code == 404
        assert (await http.get(picture, headers=team.headers("vera"))).status_code == 200
        attachment = f"/api/attachments/{team.attachment}"
        assert (await http.get(attachment, headers=team.headers("bruno"))).status_code == 404
        assert (await http.get(attachment, headers=team.headers("ana"))).status_code == 200
        assert (await http.post("/api/attachments", content=PNG)).status_code == 401
        link = f"/api/shares/{team.share_id}"
        stranger = await http.delete(link, headers=team.headers("bruno"))
        # Refused without naming the project the link belongs to.
        assert stranger.status_code == 404 and stranger.json()["detail"] == f"There is no share link {team.share_id}."
        assert (await http.delete(link, headers=team.headers("vera"))).status_code == 403
        assert not (await team.services.shares.links(team.project))[0].revoked
        assert (await http.delete(link, headers=team.headers("eric"))).status_code == 204
        assert (await team.services.shares.links(team.project))[0].revoked
        for method, path in (("GET", "/api/doctor"), ("GET", "/api/auth/me"), ("POST", "/api/generate")):
            assert (await http.request(method, path, json={"prompt": "x"})).status_code == 401, path
        me = await http.get("/api/auth/me", headers=team.headers("vera"))
        assert me.json()["email"] == "vera@example.org" and me.json()["accounts"] is True
        [anas_token] = (await http.get("/api/account/tokens", headers=team.headers("ana"))).json()
        assert (await http.get("/api/account/tokens", headers=team.headers("bruno"))).json()[0]["id"] != anas_token["id"]
        taken = await http.delete(f"/api/account/tokens/{anas_token['id']}", headers=team.headers("bruno"))
        assert taken.status_code == 404
        assert (await http.get("/api/projects", headers=team.headers("ana"))).status_code == 200  # Ana's still works


async def test_plans_stay_with_their_projects_people(team: Team) -> None:
    """A plan's routes name no project: its project's roles decide, and a stranger learns nothing of it."""
    # A change offline starters can make to the project's files (they plan none they cannot make).
    plan = await team.services.plans.propose(
        'replace "page" with "bakery"', project_id=team.project, provider="offline", owner=team.actors["ana"].user_id
    )
    url = f"/api/plans/{plan.id}"
    edit = {"checks": ["Open the app: the list is shown."]}
    async with client_for() as http:
        for who in ("bruno", None):
            answers = ("POST", f"{url}/answers", {"answers": []})
            for method, path, body in (("GET", url, None), ("PUT", url, edit), ("POST", f"{url}/build", {}), answers):
                refused = await http.request(method, path, json=body, headers=team.headers(who))
                assert refused.status_code == (404 if who else 401), (who, method, path, refused.text)
        assert (await http.get(url, headers=team.headers("vera"))).json()["id"] == plan.id
        assert (await http.put(url, json=edit, headers=team.headers("vera"))).status_code == 403
        assert (await http.post(f"{url}/build", json={}, headers=team.headers("vera"))).status_code == 403
        assert (await http.post(f"{url}/answers", json={"answers": []}, headers=team.headers("vera"))).status_code == 403
        stranger = await http.post("/api/plans", json={"prompt": "x", "project_id": team.project}, headers=team.headers("bruno"))
        assert stranger.status_code == 404, stranger.text
        edited = await http.put(url, json=edit, headers=team.headers("eric"))
        assert edited.status_code == 200 and [c["text"] for c in edited.json()["checks"]] == edit["checks"], edited.text
    assert (await team.services.plans.get(plan.id)).status == "proposed"


async def test_admin_routes_are_for_admins(team: Team) -> None:
    admin_routes = sorted(r for r in routes_of(api.routes) if r[1].startswith(ADMIN_PREFIX))
    assert len(admin_routes) >= 10
    async with client_for() as http:
        for method, path in admin_routes:
            assert (await call(http, team, method, path, None)).status_code == 401, (method, path)
            for who in ("bruno", "vera", "eric"):
                refused = await call(http, team, method, path, who)
                assert refused.status_code == 403, (who, method, path, refused.text)
            if method == "GET":
                # A file of a run that is not there: an admin is told so; anyone else never gets that far.
                answer = 404 if path.endswith("/{name}") else 200
                assert (await call(http, team, method, path, "ana")).status_code == answer, (method, path)
