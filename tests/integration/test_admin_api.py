"""/api/admin over HTTP in process, with accounts on (FORJA_AUTH=password), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

import builder.composition
import builder.settings
from builder import db
from builder.api import api
from builder.api.guards import signed_in_api
from builder.composition import Services
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.conftest import DatabaseUrls, free_port

PASSWORD = "correct horse battery"


@dataclass
class Server:
    services: Services
    anonymous: httpx.AsyncClient
    admin: httpx.AsyncClient
    member: httpx.AsyncClient
    admin_id: str
    member_id: str


def _client(cookie: str = "") -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=signed_in_api(api)),
        base_url="http://forja.test:3000",
        headers={"cookie": f"forja_session={cookie}"} if cookie else {},
    )


async def _sign_in(services: Services, email: str) -> str:
    return await services.accounts.sign_in(email, PASSWORD, "127.0.0.1")


@pytest.fixture
async def server(database_urls: DatabaseUrls, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    monkeypatch.setattr(builder.settings.settings, "public_url", "")
    # Nothing listens here: the health check must say so.
    monkeypatch.setattr(builder.settings.settings, "preview_port", free_port())
    services = Services(ProjectStore(db.create_engine(database_urls.async_)), LogHub())
    monkeypatch.setattr(builder.composition, "_services", services)
    admin = await services.accounts.create_user("ana@example.org", "Ana", PASSWORD, admin=True)
    member = await services.accounts.create_user("bo@example.org", "Bo", PASSWORD)
    async with (
        _client() as anonymous,
        _client(await _sign_in(services, admin.email)) as admin_client,
        _client(await _sign_in(services, member.email)) as member_client,
    ):
        yield Server(services, anonymous, admin_client, member_client, admin.id, member.id)
    await services.close()


ROUTES = [
    ("GET", "/api/admin/users", None),
    ("PATCH", "/api/admin/users/x", {"role": "admin"}),
    ("POST", "/api/admin/users/x/reset-link", None),
    ("GET", "/api/admin/invitations", None),
    ("POST", "/api/admin/invitations", {"email": ""}),
    ("DELETE", "/api/admin/invitations/1", None),
    ("GET", "/api/admin/quotas", None),
    ("PUT", "/api/admin/quotas", {"tokens_day": 1}),
    ("GET", "/api/admin/usage", None),
    ("GET", "/api/admin/previews", None),
    ("DELETE", "/api/admin/previews/x", None),
    ("GET", "/api/admin/health", None),
    ("GET", "/api/admin/models", None),
    ("POST", "/api/admin/models", {"kind": "anthropic", "api_key": "sk-ant-from-a-member-0123456789"}),
    ("POST", "/api/admin/models/1/default", None),
    ("POST", "/api/admin/models/1/test", None),
    ("DELETE", "/api/admin/models/1", None),
    ("GET", "/api/admin/mcp-servers", None),
    ("POST", "/api/admin/mcp-servers", {"name": "notes", "url": "https://notes.example/mcp"}),
    ("POST", "/api/admin/mcp-servers/1/tools", None),
    ("PUT", "/api/admin/mcp-servers/1/allowed", {"tools": []}),
    ("DELETE", "/api/admin/mcp-servers/1", None),
]


async def test_every_admin_route_refuses_the_signed_out_and_members(server: Server) -> None:
    for method, path, body in ROUTES:
        signed_out = await server.anonymous.request(method, path, json=body)
        assert signed_out.status_code == 401, (method, path, signed_out.text)
        member = await server.member.request(method, path, json=body)
        assert member.status_code == 403, (method, path, member.text)
        assert member.json()["detail"] == "Only an admin of this Forja may do that."
    # Nothing changed on the way.
    users = (await server.admin.get("/api/admin/users")).json()
    assert [(u["email"], u["role"]) for u in users] == [("ana@example.org", "admin"), ("bo@example.org", "member")]
    assert (await server.admin.get("/api/admin/quotas")).json()["tokens_day"] == builder.settings.settings.quota_tokens_day
    assert (await server.admin.get("/api/admin/models")).json() == []
    assert (await server.admin.get("/api/admin/mcp-servers")).json() == []


async def test_an_admin_changes_a_persons_role_and_quotas(server: Server) -> None:
    users = (await server.admin.get("/api/admin/users")).json()
    bo = next(u for u in users if u["email"] == "bo@example.org")
    assert (bo["projects"], bo["storage_bytes"], bo["tokens_today"], bo["disabled"]) == (0, 0, 0, False)
    assert bo["limits"]["projects"] == builder.settings.settings.quota_projects
    path = f"/api/admin/users/{server.member_id}"

    promoted = await server.admin.patch(path, json={"role": "admin"})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["role"] == "admin"
    assert (await server.member.get("/api/admin/users")).status_code == 200  # at once: an admin now
    assert (await server.admin.patch(path, json={"role": "member"})).json()["role"] == "member"
    assert (await server.member.get("/api/admin/users")).status_code == 403

    # One project at most: the second is refused with the quota's 429.
    limited = await server.admin.patch(path, json={"quotas": {"projects": 1, "tokens_day": 500}})
    assert limited.status_code == 200, limited.text
    assert limited.json()["quotas"]["projects"] == 1
    assert limited.json()["limits"]["projects"] == 1 and limited.json()["limits"]["tokens_day"] == 500
    files = {"name": "One", "files": {"index.html": "<h1>one</h1>"}}
    assert (await server.member.post("/api/projects", json=files)).status_code == 201
    refused = await server.member.post("/api/projects", json=files)
    assert refused.status_code == 429, refused.text
    after = (await server.admin.get("/api/admin/users")).json()
    bo = next(u for u in after if u["email"] == "bo@example.org")
    assert bo["projects"] == 1 and bo["storage_bytes"] == len("<h1>one</h1>")

    # An empty field is the default again.
    reset = await server.admin.patch(path, json={"quotas": {"projects": None}})
    assert reset.json()["quotas"]["projects"] is None
    assert reset.json()["limits"]["projects"] == builder.settings.settings.quota_projects
    assert (await server.member.post("/api/projects", json=files)).status_code == 201

    # Bad input is a 422 in words, not a 500.
    assert (await server.admin.patch(path, json={"role": "owner"})).status_code == 422
    assert (await server.admin.patch(path, json={"quotas": {"projects": -1}})).status_code == 422
    assert (await server.admin.patch("/api/admin/users/nobody", json={"role": "admin"})).status_code == 404
    last_admin = await server.admin.patch(f"/api/admin/users/{server.admin_id}", json={"role": "member"})
    assert last_admin.status_code == 422 and "needs an admin" in last_admin.json()["detail"]


async def test_a_disabled_person_is_signed_out_at_once_and_cannot_sign_in(server: Server) -> None:
    path = f"/api/admin/users/{server.member_id}"
    assert (await server.member.get("/api/auth/me")).status_code == 200

    disabled = await server.admin.patch(path, json={"disabled": True})

    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    assert (await server.member.get("/api/auth/me")).status_code == 401
    sign_in = await server.anonymous.post("/api/auth/sign-in", json={"email": "bo@example.org", "password": PASSWORD})
    assert sign_in.status_code == 400 and "disabled" in sign_in.json()["detail"]
    own = await server.admin.patch(f"/api/admin/users/{server.admin_id}", json={"disabled": True})
    assert own.status_code == 422 and "your own account" in own.json()["detail"]

    assert (await server.admin.patch(path, json={"disabled": False})).json()["disabled"] is False
    again = await server.anonymous.post("/api/auth/sign-in", json={"email": "bo@example.org", "password": PASSWORD})
    assert again.status_code == 200, again.text


async def test_invitations_and_reset_links_are_on_the_address_the_admin_used(server: Server) -> None:
    made = await server.admin.post("/api/admin/invitations", json={"email": "Cy@Example.org", "role": "admin"})
    assert made.status_code == 201, made.text
    invitation = made.json()
    assert invitation["url"].startswith("http://forja.test:3000/signup?invite=")
    assert invitation["email"] == "cy@example.org"
    listed = (await server.admin.get("/api/admin/invitations")).json()
    assert [(i["id"], i["email"], i["url"]) for i in listed] == [(invitation["id"], "cy@example.org", "")]
    invite_token = invitation["url"].rsplit("=", 1)[1]
    assert (await server.anonymous.get("/api/auth/sign-up", params={"invite": invite_token})).json()["invite_works"] is True

    assert (await server.admin.delete(f"/api/admin/invitations/{invitation['id']}")).status_code == 204
    assert (await server.admin.get("/api/admin/invitations")).json() == []
    assert (await server.anonymous.get("/api/auth/sign-up", params={"invite": invite_token})).json()["invite_works"] is False
    assert (await server.admin.delete(f"/api/admin/invitations/{invitation['id']}")).status_code == 404
    taken = await server.admin.post("/api/admin/invitations", json={"email": "bo@example.org"})
    assert taken.status_code == 422 and "has an account already" in taken.json()["detail"]
    assert (await server.admin.post("/api/admin/invitations", json={"email": "not an address"})).status_code == 422

    link = await server.admin.post(f"/api/admin/users/{server.member_id}/reset-link")
    assert link.status_code == 201 and link.json()["url"].startswith("http://forja.test:3000/reset?token=")
    reset = await server.anonymous.post(
        "/api/auth/reset", json={"token": link.json()["url"].rsplit("=", 1)[1], "password": "a brand new one"}
    )
    assert reset.status_code == 200, reset.text
    assert (await server.member.get("/api/auth/me")).status_code == 401  # the old sign-in ended


async def test_default_quotas_usage_previews_and_health(server: Server) -> None:
    put = await server.admin.put("/api/admin/quotas", json={"tokens_day": 1234, "previews": 0})
    assert put.status_code == 200, put.text
    assert (put.json()["tokens_day"], put.json()["previews"]) == (1234, 0)
    assert put.json()["projects"] == builder.settings.settings.quota_projects
    bo = next(u for u in (await server.admin.get("/api/admin/users")).json() if u["email"] == "bo@example.org")
    assert bo["limits"]["tokens_day"] == 1234
    assert (await server.admin.put("/api/admin/quotas", json={"tokens_day": "lots"})).status_code == 422

    days = (await server.admin.get("/api/admin/usage", params={"days": 7})).json()
    assert len(days) == 7 and all(day["tokens"] == 0 for day in days)
    assert len((await server.admin.get("/api/admin/usage")).json()) == 30
    assert (await server.admin.get("/api/admin/usage", params={"days": 0})).status_code == 422

    assert (await server.admin.get("/api/admin/previews")).json() == []
    gone = await server.admin.delete("/api/admin/previews/abc123")
    assert gone.status_code == 404 and "No preview" in gone.json()["detail"]

    health = (await server.admin.get("/api/admin/health")).json()
    checks = {check["name"]: check for check in health["checks"]}
    assert checks["store"]["state"] == "ok"
    assert checks["preview proxy"]["state"] == "problem"
    assert f":{builder.settings.settings.preview_port}" in checks["preview proxy"]["detail"]
    assert {"docker runner", "local runner", "webcontainer runner"} <= set(checks)
    assert health["ok"] is False and health["generations_running"] == 0


async def test_without_accounts_the_local_user_sees_usage_previews_and_health_but_manages_nobody(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "auth", "none")
    async with _client() as local:
        assert (await local.get("/api/admin/users")).json() == []
        assert len((await local.get("/api/admin/usage")).json()) == 30
        assert (await local.get("/api/admin/previews")).json() == []
        assert (await local.get("/api/admin/health")).status_code == 200
        refused = await local.post("/api/admin/invitations", json={"email": ""})
        assert refused.status_code == 422 and "FORJA_AUTH=password" in refused.json()["detail"]
