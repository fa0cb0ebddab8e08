"""The account routes (builder.api.account) on a Forja with accounts, SQLite and PostgreSQL: API tokens that work
once made and stop when revoked, and usage against quotas, with what pages say near a limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from builder.composition import Services
from builder.schemas import QuotaSet
from builder.settings import settings
from builder.state.account import meter_of, quota_note
from tests.accounts import PASSWORD, Person, client


@asynccontextmanager
async def signed_in(email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client signed in with the password, as a browser is (the session cookie)."""
    async with client() as http:
        response = await http.post("/api/auth/sign-in", json={"email": email, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield http


async def test_a_token_made_on_the_account_works_until_it_is_revoked(ana: Person, bo: Person) -> None:
    async with signed_in("ana@example.org") as browser:
        made = await browser.post("/api/account/tokens", json={"name": "  laptop   CLI "})
        assert made.status_code == 201, made.text
        token = made.json()
        assert token["name"] == "laptop CLI"
        assert token["token"].startswith("forja_") and token["token"].startswith(token["hint"])

        listed = (await browser.get("/api/account/tokens")).json()
        assert [t["name"] for t in listed] == ["laptop CLI", "tests"]
        assert all("token" not in t for t in listed), "a listed token shows only its first characters"

        async with client(authorization=f"Bearer {token['token']}") as script:
            me = await script.get("/api/auth/me")
            assert me.status_code == 200 and me.json()["email"] == "ana@example.org"
            # Used once: the list says when.
            assert next(t for t in (await browser.get("/api/account/tokens")).json() if t["id"] == token["id"])["last_used_at"]
            # A token cannot make another one (revoking it would not end what it made).
            refused = await script.post("/api/account/tokens", json={"name": "more"})
            assert refused.status_code == 403 and "cannot make more tokens" in refused.json()["detail"]

            # Bo cannot revoke Ana's token: for him it does not exist.
            assert (await bo.http.delete(f"/api/account/tokens/{token['id']}")).status_code == 404

            assert (await browser.delete(f"/api/account/tokens/{token['id']}")).status_code == 204
            gone = await script.get("/api/auth/me")
            assert gone.status_code == 401
            assert "revoked" in gone.json()["detail"]
        again = await browser.delete(f"/api/account/tokens/{token['id']}")
        assert again.status_code == 404 and "no such token" in again.json()["detail"]
        assert [t["name"] for t in (await browser.get("/api/account/tokens")).json()] == ["tests"]


async def test_account_routes_need_a_sign_in(ana: Person) -> None:
    async with client() as anonymous:
        for method, path in [("GET", "/api/account/tokens"), ("POST", "/api/account/tokens"), ("GET", "/api/account/usage")]:
            response = await anonymous.request(method, path, json={"name": "x"} if method == "POST" else None)
            assert response.status_code == 401, path
            assert "Sign in" in response.json()["detail"]
    async with client(authorization="Bearer forja_made-up") as guessing:
        assert (await guessing.get("/api/account/usage")).status_code == 401


async def test_usage_counts_against_each_quota_and_pages_warn_from_80_percent(accounts_on: Services, ana: Person) -> None:
    # Ana made the first account: she is the admin, and sets her own quotas.
    await accounts_on.accounts.set_quotas(ana.actor, ana.actor.user_id, QuotaSet(projects=5, tokens_day=1000))
    for n in range(4):
        await accounts_on.projects.create(f"App {n}", {"index.html": "<h1>Hi</h1>"}, owner=ana.actor.user_id)

    response = await ana.http.get("/api/account/usage")
    assert response.status_code == 200
    uses = {use["name"]: use for use in response.json()}
    assert list(uses) == [
        "tokens_day",
        "cost_day_usd",
        "previews",
        "projects",
        "storage_mb",
        "published_apps",
        "build_minutes_day",
    ]
    assert uses["projects"] == {"name": "projects", "label": "Projects", "used": 4, "limit": 5, "shown": "4 of 5"}
    assert uses["tokens_day"]["shown"] == "0 of 1,000 tokens today"
    # The four projects keep one file content, stored once.
    assert uses["storage_mb"]["shown"] == "11 bytes of 500 MB"
    assert uses["published_apps"]["shown"] == "0 of 5 live"
    assert uses["build_minutes_day"]["shown"] == "0 of 30 minutes today"

    quota_uses = await accounts_on.quotas.usage(ana.actor)
    note, full = quota_note(quota_uses)
    assert (note, full) == ("You used 80% of the projects you may own (4 of 5).", False)
    meters = {m.name: m for m in map(meter_of, quota_uses)}
    assert (meters["projects"].percent, meters["projects"].tone) == (80, "amber")
    assert (meters["tokens_day"].percent, meters["tokens_day"].tone) == (0, "green")

    # At the limit the note is red, and a sixth project is refused with the service's sentence.
    await accounts_on.projects.create("App 5", {"index.html": "<h1>Hi</h1>"}, owner=ana.actor.user_id)
    note, full = quota_note(await accounts_on.quotas.usage(ana.actor))
    assert (note, full) == ("You used all of the projects you may own (5 of 5).", True)
    refused = await ana.http.post("/api/projects", json={"name": "One more", "files": {"index.html": "x"}})
    assert refused.status_code == 429
    assert refused.json()["quota"] == "projects"
    assert "your limit on this Forja" in refused.json()["detail"]


async def test_without_accounts_there_are_no_tokens_and_no_quotas(accounts_on: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "auth", "none")
    async with client() as local:
        assert (await local.get("/api/account/usage")).json() == []
        assert (await local.get("/api/account/tokens")).json() == []
        refused = await local.post("/api/account/tokens", json={"name": "laptop"})
        assert refused.status_code == 422
        assert "needs no token" in refused.json()["detail"]
