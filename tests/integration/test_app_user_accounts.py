"""An app's own users through the service, on SQLite and PostgreSQL: accounts and sessions are the app's (project and
scope) alone, a wrong password is refused and slowed down without a lockout, a signed-out session names nobody, and
the app's owner (their Forja account's address) is the app's admin."""

from __future__ import annotations

import asyncio

import pytest

from builder.app_backend.identity import AppViewer
from builder.composition import Services
from builder.errors import InvalidInput, SignInRefused, TooManyAttempts
from builder.services.app_data import Scope
from builder.services.throttle import Attempt
from builder.settings import settings
from tests.accounts import Person

LIVE = Scope.live
WHO = Attempt("127.0.0.7")


async def test_an_app_user_signs_up_in_and_out_on_that_app_alone(accounts_on: Services, ana: Person) -> None:
    users = accounts_on.app_users
    first = (await accounts_on.projects.create("Barber", {"index.html": b"<h1>a</h1>"}, owner=ana.actor.user_id)).project_id
    other = (await accounts_on.projects.create("Polls", {"index.html": b"<h1>b</h1>"}, owner=ana.actor.user_id)).project_id

    token = await users.sign_up(first, LIVE, " Cy@Example.org ", "a long secret", WHO)
    account = await users.account_of(first, LIVE, token)
    assert account is not None and (account.email, account.role) == ("cy@example.org", "user")
    assert await users.viewer_of(first, LIVE, token) == AppViewer(user_id=account.id, role="user")
    # Another app, the same app's preview, Forja itself: the token names nobody there.
    assert await users.account_of(other, LIVE, token) is None
    assert await users.account_of(first, Scope.preview, token) is None
    assert await accounts_on.accounts.actor_or_none(token) is None
    with pytest.raises(SignInRefused, match="do not match"):
        await users.sign_in(other, LIVE, "cy@example.org", "a long secret", WHO)
    # The same address may have an account on each app, but only one on each.
    assert await users.sign_up(other, LIVE, "cy@example.org", "another secret", WHO)
    with pytest.raises(InvalidInput, match="already an account"):
        await users.sign_up(first, LIVE, "CY@example.org", "whatever it is", WHO)
    with pytest.raises(InvalidInput, match="at least 8"):
        await users.sign_up(first, LIVE, "dee@example.org", "short", WHO)

    again = await users.sign_in(first, LIVE, "CY@example.org", "a long secret", WHO)
    assert again != token and (await users.account_of(first, LIVE, again)) == account
    await users.sign_out(first, LIVE, token)
    assert await users.account_of(first, LIVE, token) is None
    assert await users.viewer_of(first, LIVE, token) == AppViewer(user_id=None)
    assert await users.account_of(first, LIVE, again) == account  # the other browser stays signed in

    # The owner's Forja address makes the app's admin (of this app only by being its owner).
    owner = await users.sign_up(first, LIVE, ana.actor.email, "the owner's secret", WHO)
    assert (await users.viewer_of(first, LIVE, owner)).role == "admin"
    # In the app's preview too, whose accounts are its own: the owner's address signs up there again, as its admin.
    in_preview = await users.sign_up(first, Scope.preview, ana.actor.email, "the owner's secret", WHO)
    assert (await users.viewer_of(first, Scope.preview, in_preview)).role == "admin"

    # Emptying the trash takes the app's people and sessions with the project (their rows refer to it).
    await accounts_on.history.delete(first)
    assert (await accounts_on.history.purge_expired(days=0)).projects == [first]
    assert await users.account_of(first, LIVE, again) is None
    assert await users.account_of(other, LIVE, await users.sign_in(other, LIVE, "cy@example.org", "another secret", WHO))


async def test_wrong_passwords_are_slowed_down_per_app_never_locked(
    accounts_on: Services, ana: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "signin_attempts", 3)
    users = accounts_on.app_users
    first = (await accounts_on.projects.create("Barber", {"index.html": b"<h1>a</h1>"}, owner=ana.actor.user_id)).project_id
    other = (await accounts_on.projects.create("Polls", {"index.html": b"<h1>b</h1>"}, owner=ana.actor.user_id)).project_id
    await users.sign_up(first, LIVE, "cy@example.org", "a long secret", WHO)
    await users.sign_up(other, LIVE, "cy@example.org", "a long secret", WHO)
    for _ in range(3):
        with pytest.raises(SignInRefused):
            await users.sign_in(first, LIVE, "cy@example.org", "not the secret", WHO)
    with pytest.raises(TooManyAttempts, match="Try again in 15 minutes") as slowed:
        await users.sign_in(first, LIVE, "cy@example.org", "a long secret", WHO)
    assert slowed.value.retry_after == 900
    # Another address gets in with the right password once the account's short delay passed; the same address on
    # the same account of another app is not slowed at all.
    with pytest.raises(TooManyAttempts, match=r"Try again in [12] seconds?\."):
        await users.sign_in(first, LIVE, "cy@example.org", "a long secret", Attempt("127.0.0.8"))
    await asyncio.sleep(2.1)
    assert await users.sign_in(first, LIVE, "cy@example.org", "a long secret", Attempt("127.0.0.8"))
    assert await users.sign_in(other, LIVE, "cy@example.org", "a long secret", WHO)


async def test_sign_ups_are_limited_per_address_and_app(
    accounts_on: Services, ana: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "signups_per_hour", 2)
    users = accounts_on.app_users
    first = (await accounts_on.projects.create("Barber", {"index.html": b"<h1>a</h1>"}, owner=ana.actor.user_id)).project_id
    other = (await accounts_on.projects.create("Polls", {"index.html": b"<h1>b</h1>"}, owner=ana.actor.user_id)).project_id
    for number in range(2):
        await users.sign_up(first, LIVE, f"p{number}@example.org", "a long secret", WHO)
    with pytest.raises(TooManyAttempts, match="Many accounts were made here from your address lately") as refused:
        await users.sign_up(first, LIVE, "p2@example.org", "a long secret", WHO)
    assert refused.value.retry_after == 3600
    # Another address on the same app, the same address on another app, and Forja's own sign-up are not held back.
    assert await users.sign_up(first, LIVE, "p2@example.org", "a long secret", Attempt("127.0.0.9"))
    assert await users.sign_up(other, LIVE, "p0@example.org", "a long secret", WHO)
    await accounts_on.accounts.throttle.check_sign_up(WHO)
