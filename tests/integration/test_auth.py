"""Accounts over HTTP as a browser and scripts use them: sign-up (the first admin, invitations, open or closed), sign-in
and its cookie, throttling, sign-out, passwords, reset links, disabled accounts, API tokens; and Forja refusing to start
open to the network without them. Real argon2 hashes, real SQLite and PostgreSQL, the API behind Forja's own guards."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import builder.composition
import builder.settings
from builder.api import api, guarded
from builder.composition import Services
from builder.errors import InvalidInput
from builder.models import LOCAL_USER_ID, Role
from builder.services.access import Actor
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
BASE = "http://127.0.0.1:3000"


def browser() -> httpx.AsyncClient:
    """A client that keeps cookies as a browser does, sending the Origin a page of Forja's would."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=guarded(api)), base_url=BASE, headers={"Origin": "http://127.0.0.1:3000"}
    )


async def admin_of(accounts_on: Services) -> Actor:
    user = await accounts_on.accounts.create_user("ana@example.org", "Ana", "ana-password-1", admin=True)
    return Actor(user.id, user.email, user.name, user.role)


def cookie_header(response: httpx.Response, name: str = "forja_session") -> str:
    """The Set-Cookie header of the session cookie (a sign-in also sets the device cookie)."""
    [header] = [h for h in response.headers.get_list("set-cookie") if h.split("=", 1)[0].endswith(name)]
    return header


async def test_the_first_account_needs_the_setup_code_and_becomes_the_admin(accounts_on: Services) -> None:
    # A project made before accounts (the laptop's local user's) goes to the first admin.
    before = await accounts_on.projects.create("Old laptop app", {"index.html": "<h1>old</h1>"}, owner=LOCAL_USER_ID)
    code = await accounts_on.accounts.setup_code()
    assert code and await accounts_on.accounts.setup_code() == code  # the same for every worker that asks
    async with browser() as http:
        assert (await http.get("/api/auth/sign-up")).json()["mode"] == "setup"
        body = {"email": "Ana@Example.org", "name": "Ana", "password": "ana-password-1"}
        wrong = await http.post("/api/auth/sign-up", json={**body, "setup_code": "nope"})
        assert wrong.status_code == 400 and "setup code" in wrong.json()["detail"]
        made = await http.post("/api/auth/sign-up", json={**body, "setup_code": code, "next": "https://evil.example/"})
        assert made.status_code == 200 and made.json() == {"next": "/"}  # never sent to another site
        cookie = cookie_header(made)
        assert cookie.startswith("forja_session=")
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "path", "samesite", "max-age"} <= attributes and "domain" not in attributes
        assert "samesite=lax" in cookie.lower()
        me = (await http.get("/api/auth/me")).json()
        assert (me["email"], me["role"]) == ("ana@example.org", "admin")
        assert [p["id"] for p in (await http.get("/api/projects")).json()["items"]] == [before.project_id]
    assert await accounts_on.accounts.setup_code() is None
    assert (await accounts_on.accounts.signup_mode()) == "invite"


async def test_workers_asking_for_the_setup_code_at_once_all_print_the_one_that_is_kept(accounts_on: Services) -> None:
    """Workers starting together on a new database each print the setup code: each must print the one sign-up takes."""
    codes = await asyncio.gather(*(accounts_on.accounts.setup_code() for _ in range(4)))
    assert len(set(codes)) == 1 and codes[0], codes
    assert await accounts_on.accounts.setup_code() == codes[0]


async def test_sign_up_follows_the_servers_mode_and_invitations(accounts_on: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = await admin_of(accounts_on)
    async with browser() as http:
        refused = await http.post(
            "/api/auth/sign-up", json={"email": "bo@example.org", "name": "Bo", "password": "bo-password-1"}
        )
        assert refused.status_code == 403 and "invitation" in refused.json()["detail"]
        link = await accounts_on.accounts.invite(admin, "bo@example.org", Role.member, BASE)
        token = link.url.split("invite=")[1]
        assert (await http.get("/api/auth/sign-up", params={"invite": token})).json() == {
            "mode": "invite",
            "email": "bo@example.org",
            "invite_works": True,
        }
        other = await http.post(
            "/api/auth/sign-up", json={"email": "eve@example.org", "name": "Eve", "password": "eve-password-1", "invite": token}
        )
        assert other.status_code == 400 and "bo@example.org" in other.json()["detail"]
        short = await http.post(
            "/api/auth/sign-up", json={"email": "bo@example.org", "name": "Bo", "password": "short", "invite": token}
        )
        assert short.status_code == 422 and "at least 8 characters" in short.json()["detail"]
        bo = {"email": "bo@example.org", "name": "Bo", "password": "bo-password-1", "invite": token}
        assert (await http.post("/api/auth/sign-up", json=bo)).status_code == 200
        assert (await http.get("/api/auth/me")).json()["role"] == "member"
    async with browser() as http:
        again = await http.post("/api/auth/sign-up", json={**bo, "email": "bo2@example.org"})
        assert again.status_code == 400 and "used already" in again.json()["detail"]
        monkeypatch.setattr(builder.settings.settings, "signup", "open")
        anyone = await http.post("/api/auth/sign-up", json={"email": "cy@example.org", "name": "Cy", "password": "cy-password-1"})
        assert anyone.status_code == 200
        taken = await http.post("/api/auth/sign-up", json={"email": "CY@example.org", "name": "Cy", "password": "cy-password-1"})
        assert taken.status_code == 422 and "already an account" in taken.json()["detail"]
        monkeypatch.setattr(builder.settings.settings, "signup", "closed")
        closed = await http.post("/api/auth/sign-up", json={"email": "di@example.org", "name": "Di", "password": "di-password-1"})
        assert closed.status_code == 403 and "closed" in closed.json()["detail"]


async def test_sign_in_out_and_throttling(accounts_on: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "signin_attempts", 3)
    await admin_of(accounts_on)
    await accounts_on.accounts.create_user("bo@example.org", "Bo", "bo-password-1")
    async with browser() as http:
        for email in ("ana@example.org", "nobody@example.org"):
            wrong = await http.post("/api/auth/sign-in", json={"email": email, "password": "guess-guess"})
            # The same words whether or not the account exists.
            assert wrong.status_code == 400
            assert wrong.json()["detail"] == "That email and password do not match an account here. Check both and try again."
        await http.post("/api/auth/sign-in", json={"email": "ana@example.org", "password": "guess-again"})
        await http.post("/api/auth/sign-in", json={"email": "ana@example.org", "password": "and-again!"})
        throttled = await http.post("/api/auth/sign-in", json={"email": "ana@example.org", "password": "ana-password-1"})
        assert throttled.status_code == 429 and "15 minutes" in throttled.json()["detail"]
        # Another account from the same address still signs in (an address gets ten times the attempts).
        signed = await http.post(
            "/api/auth/sign-in", json={"email": "bo@example.org", "password": "bo-password-1", "next": "/p/x"}
        )
        assert signed.status_code == 200 and signed.json() == {"next": "/p/x"}
        session = http.cookies["forja_session"]
        assert (await http.get("/api/projects")).status_code == 200
        out = await http.post("/api/auth/sign-out")
        assert out.json() == {"next": "/login"} and "max-age=0" in cookie_header(out).lower()
    async with browser() as stale:
        stale.cookies.set("forja_session", session)
        gone = await stale.get("/api/projects")
        assert gone.status_code == 401 and gone.headers["www-authenticate"].startswith("Bearer")


async def test_password_change_and_reset_end_other_sign_ins(accounts_on: Services) -> None:
    admin = await admin_of(accounts_on)
    bo = await accounts_on.accounts.create_user("bo@example.org", "Bo", "bo-password-1")
    credentials = {"email": "bo@example.org", "password": "bo-password-1"}
    async with browser() as laptop, browser() as phone:
        for device in (laptop, phone):
            assert (await device.post("/api/auth/sign-in", json=credentials)).status_code == 200
        wrong = await laptop.post("/api/auth/password", json={"current": "not-it-at-all", "new": "bo-password-2"})
        assert wrong.status_code == 400
        changed = await laptop.post("/api/auth/password", json={"current": "bo-password-1", "new": "bo-password-2"})
        assert changed.status_code == 204
        assert (await laptop.get("/api/auth/me")).status_code == 200
        assert (await phone.get("/api/auth/me")).status_code == 401
    link = await accounts_on.accounts.reset_link(admin, bo.id, BASE)
    assert link.url.startswith(f"{BASE}/reset?token=")
    token = link.url.split("token=")[1]
    async with browser() as http:
        assert (await http.post("/api/auth/sign-in", json={**credentials, "password": "bo-password-2"})).status_code == 200
        async with browser() as reset:
            done = await reset.post("/api/auth/reset", json={"token": token, "password": "bo-password-3"})
            assert done.status_code == 200 and (await reset.get("/api/auth/me")).json()["email"] == "bo@example.org"
            reused = await reset.post("/api/auth/reset", json={"token": token, "password": "bo-password-4"})
            assert reused.status_code == 400 and "used already" in reused.json()["detail"]
        assert (await http.get("/api/auth/me")).status_code == 401  # the sign-in from before the reset ended
        assert (await http.post("/api/auth/sign-in", json={**credentials, "password": "bo-password-3"})).status_code == 200


async def test_a_disabled_account_and_a_revoked_token_stop_working_at_once(accounts_on: Services) -> None:
    admin = await admin_of(accounts_on)
    bo = await accounts_on.accounts.create_user("bo@example.org", "Bo", "bo-password-1")
    bo_actor = Actor(bo.id, bo.email, bo.name, bo.role)
    token = await accounts_on.accounts.create_token(bo_actor, "laptop")
    assert token.token.startswith("forja_") and token.hint == token.token[:10]
    async with browser() as http:
        bearer = {"Authorization": f"Bearer {token.token}"}
        assert (await http.get("/api/projects", headers=bearer)).status_code == 200
        assert (
            await http.post("/api/auth/sign-in", json={"email": "bo@example.org", "password": "bo-password-1"})
        ).status_code == 200
        await accounts_on.accounts.set_disabled(admin, bo.id, True)
        assert (await http.get("/api/projects")).status_code == 401
        assert (await http.get("/api/projects", headers=bearer)).status_code == 401
        refused = await http.post("/api/auth/sign-in", json={"email": "bo@example.org", "password": "bo-password-1"})
        assert refused.status_code == 400 and "disabled" in refused.json()["detail"]
        await accounts_on.accounts.set_disabled(admin, bo.id, False)
        assert (await http.get("/api/projects", headers=bearer)).status_code == 200
        await accounts_on.accounts.revoke_token(bo_actor, token.id)
        revoked = await http.get("/api/projects", headers=bearer)
        assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    with pytest.raises(InvalidInput):
        await accounts_on.accounts.set_disabled(admin, admin.user_id, True)  # nobody locks themself out


async def test_on_https_the_cookie_is_secure_and_kept_to_the_host(accounts_on: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "public_url", "https://forja.example.org")
    await admin_of(accounts_on)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url="https://forja.example.org") as http:
        signed = await http.post("/api/auth/sign-in", json={"email": "ana@example.org", "password": "ana-password-1"})
    cookie = cookie_header(signed)
    assert cookie.startswith("__Host-forja_session=") and "; secure" in cookie.lower() and "domain" not in cookie.lower()


def test_forja_refuses_to_start_open_to_the_network_without_accounts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORJA_") and k != "DATABASE_URL"}
    env |= {"FORJA_DATA_DIR": str(tmp_path), "FORJA_PORT": str(free_port()), "REFLEX_USE_NPM": "1"}
    command = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port"]

    def start(**settings: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=REPO, env=env | settings, capture_output=True, text=True, timeout=120)

    for exposure, words in (
        ({"FORJA_HOST": "0.0.0.0"}, "it listens on 0.0.0.0 (FORJA_HOST)"),
        ({"FORJA_PUBLIC_URL": "https://forja.example.org"}, "people open it at https://forja.example.org"),
        ({"FORJA_ALLOWED_HOSTS": "forja.lan", "FORJA_AUTH": "none"}, "it answers to forja.lan"),
    ):
        refused = start(**exposure)
        assert refused.returncode != 0, refused.stdout
        assert words in refused.stderr and "FORJA_AUTH=password" in refused.stderr, refused.stderr
    assert not (tmp_path / "forja.db").exists()  # refused before anything was made
