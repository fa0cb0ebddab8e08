"""An app's people and their email, through the real dispatch of an app's host (Forja's guarded ASGI app, as the edge
reaches it) with a real SMTP server of the test's on 127.0.0.1 (tests/mail_server.py), on SQLite and PostgreSQL: the
address check's link marks the person checked, once; a reset link works once, expires, and ends every other session;
a reset asked for an unknown email answers the same page and sends nothing; where sign-up is by invitation, the
uninvited are refused in words and the invited email gets in; the owner lists the invitations waiting (without their
links) and withdraws one, whose link is then refused as an expired one; the mail server's password is in no log line nor
answer; with no mail server the pages and the owner's API say so. The sign-in pages wear the project's
.forja/app.json."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage

import httpx
import pytest
from pydantic import SecretStr

from builder.api import api as forja_api
from builder.api import guarded
from builder.api.app_auth import COOKIE
from builder.composition import Services
from builder.services import app_user_mail
from builder.settings import settings
from builder.store import ProjectStore
from tests.accounts import Person
from tests.mail_server import PASSWORD, USER, Inbox, mail_server

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4" fill="#0f766e"/></svg>'
THEME = b'{"name": "Cuts by Rui", "color": "#0f766e", "logo": "img/logo.svg"}'
SECRET = "a long secret"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[Inbox]:
    """Forja's mail settings pointed at the test's server (plain SMTP on loopback, with a user and password); every
    log record of the test is kept, down to debug."""
    caplog.set_level(logging.DEBUG)
    with mail_server() as server:
        for name, value in {
            "smtp_host": "127.0.0.1",
            "smtp_port": server.port,
            "smtp_tls": "none",
            "smtp_user": USER,
            "smtp_password": SecretStr(PASSWORD),
            "smtp_from": "Apps <apps@forja.test>",
        }.items():
            monkeypatch.setattr(settings, name, value)
        yield server


async def publish(services: Services, owner: Person, name: str) -> str:
    files = {"index.html": b"<h1>Cuts</h1>", ".forja/app.json": THEME, "img/logo.svg": LOGO}
    created = await services.projects.create("Barber", files, owner=owner.actor.user_id)
    done = await services.publishing.publish(created.project_id, name=name, user_id=owner.actor.user_id)
    assert done.release.state == "ready", done.release.error
    return created.project_id


@pytest.fixture
async def app(accounts_on: Services, bo: Person) -> AsyncIterator[tuple[str, str]]:
    """Bo's published app: its project id and its address."""
    project = await publish(accounts_on, bo, "cuts")
    app_info = await accounts_on.publishing.app(project)
    assert app_info is not None
    yield project, app_info.url


def browser(url: str) -> httpx.AsyncClient:
    """A visitor's browser on the app's address: its forms come from the app's own pages (Origin)."""
    transport = httpx.ASGITransport(app=guarded(forja_api))
    return httpx.AsyncClient(transport=transport, base_url=url, headers={"origin": url})


def link_in(message: EmailMessage, url: str) -> str:
    body = message.get_content()
    found = re.search(re.escape(url) + r"/_forja/auth/[a-z-]+\?[a-z]+=[A-Za-z0-9_-]{43}", body)
    assert found, body
    return found.group(0)


async def me(client: httpx.AsyncClient) -> dict[str, object]:
    return (await client.get("/_forja/auth/me")).json()


async def sign_up(client: httpx.AsyncClient, email: str, **more: str) -> httpx.Response:
    return await client.post("/_forja/auth/sign-up", data={"email": email, "password": SECRET, "next": "/", **more})


async def test_the_address_check_marks_the_person_checked_once_and_the_pages_wear_the_app_theme(
    app: tuple[str, str], inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = app
    async with browser(url) as ana:
        page = await ana.get("/_forja/auth/sign-in")
        assert page.status_code == 200
        assert "<title>Sign in · Cuts by Rui</title>" in page.text and "--accent: #0f766e" in page.text
        assert 'class="logo" src="data:image/svg+xml;base64,' in page.text
        assert "img-src data:" in page.headers["content-security-policy"]
        assert "Forgot your password?" in page.text

        made = await sign_up(ana, "Ana@Example.org")
        assert made.status_code == 303 and made.cookies.get(COOKIE)
        user = (await me(ana))["user"]
        assert isinstance(user, dict) and user["verified"] is False
        [message] = inbox.to("ana@example.org")
        assert message["Subject"] == "Confirm your email for Cuts by Rui" and message["From"] == "Apps <apps@forja.test>"
        link = link_in(message, url)

        checked = await ana.get(link)
        assert checked.status_code == 200 and "Your email is confirmed" in checked.text
        user = (await me(ana))["user"]
        assert isinstance(user, dict) and user["verified"] is True
        again = await ana.get(link)
        assert again.status_code == 400 and "does not work any more" in again.text
    assert PASSWORD not in caplog.text


async def test_a_reset_link_works_once_expires_and_ends_every_other_session(
    app: tuple[str, str], inbox: Inbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = app
    async with browser(url) as phone, browser(url) as laptop, browser(url) as stranger:
        assert (await sign_up(phone, "cy@example.org")).status_code == 303
        signed_in = await laptop.post("/_forja/auth/sign-in", data={"email": "cy@example.org", "password": SECRET})
        assert signed_in.status_code == 303 and (await me(laptop))["signed_in"] is True
        inbox.messages.clear()

        # An email with no account here: the same page (but the address it repeats), and nothing is sent.
        unknown = await stranger.post("/_forja/auth/reset", data={"email": "nobody@example.org"})
        known = await stranger.post("/_forja/auth/reset", data={"email": "cy@example.org"})
        assert unknown.status_code == known.status_code == 200
        assert unknown.text.replace("nobody@example.org", "cy@example.org") == known.text
        assert [message["To"] for message in inbox.messages] == ["cy@example.org"]
        link = link_in(inbox.messages[0], url)
        token = link.rsplit("=", 1)[1]

        # Good for its purpose only: as an address check it is nothing; opening it uses nothing up.
        assert (await stranger.get(link.replace("new-password", "verify"))).status_code == 400
        form = await stranger.get(link)
        assert form.status_code == 200 and "Choose a new password" in form.text
        reset = await stranger.post("/_forja/auth/new-password", data={"token": token, "password": "a new secret"})
        assert reset.status_code == 303 and (await me(stranger))["signed_in"] is True
        # Every other browser is signed out; the old password is no more, the new one works.
        assert (await me(phone))["signed_in"] is False and (await me(laptop))["signed_in"] is False
        old = await laptop.post("/_forja/auth/sign-in", data={"email": "cy@example.org", "password": SECRET})
        assert old.status_code == 400
        new = await laptop.post("/_forja/auth/sign-in", data={"email": "cy@example.org", "password": "a new secret"})
        assert new.status_code == 303

        # Once only: the page and the form refuse the used link.
        assert (await phone.get(link)).status_code == 400
        twice = await phone.post("/_forja/auth/new-password", data={"token": token, "password": "a third secret"})
        assert twice.status_code == 422 and "does not work any more" in twice.text

        # A link past its time is refused too.
        monkeypatch.setitem(app_user_mail.LASTS, "reset", timedelta(0))
        await stranger.post("/_forja/auth/reset", data={"email": "cy@example.org"})
        late = link_in(inbox.messages[-1], url)
        assert late != link and (await phone.get(late)).status_code == 400
    assert PASSWORD not in caplog.text


async def test_sign_up_by_invitation_refuses_the_uninvited_and_takes_the_invited_email(
    app: tuple[str, str],
    accounts_on: Services,
    store: ProjectStore,
    bo: Person,
    cy: Person,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project, url = app
    invitations = f"/api/projects/{project}/app-invitations"
    # With no mail server, the owner's API and the app's pages say so, and nothing is sent.
    monkeypatch.setattr(settings, "smtp_host", "")
    assert (await bo.http.get(f"/api/projects/{project}/app-sign-up")).json() == {"mode": "open", "email": False}
    refused = await bo.http.post(invitations, json={"email": "dee@example.org"})
    assert refused.status_code == 409 and "cannot send email yet" in refused.json()["detail"]
    async with browser(url) as dee:
        page = await dee.get("/_forja/auth/reset")
        assert page.status_code == 200 and "This app cannot send email yet" in page.text and "<form" not in page.text
        asked = await dee.post("/_forja/auth/reset", data={"email": "dee@example.org"})
        assert asked.status_code == 503 and "This app cannot send email yet" in asked.text
    monkeypatch.setattr(settings, "smtp_host", "127.0.0.1")

    changed = await bo.http.put(f"/api/projects/{project}/app-sign-up", json={"mode": "invite"})
    assert changed.status_code == 200 and changed.json() == {"mode": "invite", "email": True}
    async with browser(url) as dee, browser(url) as eve:
        page = await dee.get("/_forja/auth/sign-up")
        assert "by invitation only" in page.text
        refused = await sign_up(dee, "dee@example.org")
        assert refused.status_code == 403 and "takes new accounts by invitation only" in refused.text
        assert (await me(dee))["signed_in"] is False

        invited = await bo.http.post(invitations, json={"email": "Dee@Example.org"})
        assert invited.status_code == 204, invited.text
        link = link_in(inbox.to("dee@example.org")[0], url)
        invite = link.rsplit("=", 1)[1]
        form = await dee.get(link)
        assert form.status_code == 200 and f'name="invite" value="{invite}"' in form.text

        # The link is for Dee's email alone, and once.
        other = await sign_up(eve, "eve@example.org", invite=invite)
        assert other.status_code == 403 and "sent to another email" in other.text
        made = await sign_up(dee, "dee@example.org", invite=invite)
        assert made.status_code == 303
        user = (await me(dee))["user"]
        assert isinstance(user, dict) and (user["email"], user["verified"]) == ("dee@example.org", True)
        assert (await sign_up(eve, "eve@example.org", invite=invite)).status_code == 403
        assert (await bo.http.get(invitations)).json() == []  # a used invitation waits no more

        # A pending invitation is listed (never its token nor the token's hash) until Bo withdraws it; then its link
        # is refused as an expired one is. Nobody else may withdraw it, not even by naming it on a project of theirs.
        assert (await bo.http.post(invitations, json={"email": "fay@example.org"})).status_code == 204
        fay = link_in(inbox.to("fay@example.org")[0], url).rsplit("=", 1)[1]
        [pending] = (await bo.http.get(invitations)).json()
        assert set(pending) == {"id", "email", "sent_at", "expires_at"} and pending["email"] == "fay@example.org"
        stored = await store.app_invitations(project, "live")
        assert fay not in str(pending) and stored[0].token_hash not in str(pending)
        withdraw = f"{invitations}/{pending['id']}"
        assert (await cy.http.delete(withdraw)).status_code == 404
        theirs = await accounts_on.projects.create("Cy's", {"index.html": b"<h1>Cy</h1>"}, owner=cy.actor.user_id)
        elsewhere = await cy.http.delete(f"/api/projects/{theirs.project_id}/app-invitations/{pending['id']}")
        assert elsewhere.status_code == 404 and "was used, withdrawn or expired" in elsewhere.json()["detail"]
        assert (await bo.http.delete(withdraw)).status_code == 204
        assert (await bo.http.get(invitations)).json() == []
        withdrawn = await sign_up(eve, "fay@example.org", invite=fay)
        monkeypatch.setitem(app_user_mail.LASTS, "invite", timedelta(0))
        assert (await bo.http.post(invitations, json={"email": "fay@example.org"})).status_code == 204
        late = link_in(inbox.to("fay@example.org")[-1], url).rsplit("=", 1)[1]
        expired = await sign_up(eve, "fay@example.org", invite=late)
        assert withdrawn.status_code == expired.status_code == 403 and (await me(eve))["signed_in"] is False
        assert withdrawn.text.replace(fay, late) == expired.text and "This invitation does not work" in expired.text
        again = await bo.http.delete(withdraw)
        assert again.status_code == 404 and "was used, withdrawn or expired" in again.json()["detail"]

        again = await bo.http.post(invitations, json={"email": "dee@example.org"})
        assert again.status_code == 422 and "has an account on this app already" in again.json()["detail"]
    assert PASSWORD not in caplog.text

    # A mail server that refuses Forja's password: the invitation fails in words; neither password is in the log.
    monkeypatch.setattr(settings, "smtp_password", SecretStr("not-the-password-Kx7"))
    failed = await bo.http.post(invitations, json={"email": "eve@example.org"})
    assert failed.status_code == 503 and "could not be sent" in failed.json()["detail"]
    assert inbox.to("eve@example.org") == [] and (await bo.http.get(invitations)).json() == []  # nobody got it
    assert "535" in caplog.text and "not-the-password-Kx7" not in caplog.text and PASSWORD not in caplog.text
