"""The people who use an app Forja serves: their accounts on that app alone (sign-up, sign-in, sign-out) and who a
session cookie of the app's host names.

Not Forja's accounts (builder/services/accounts.py), though built the same way: passwords hashed with argon2id, a
sign-in's token a random 256-bit value of which only the SHA-256 is kept, failed sign-ins slowed down by Forja's
throttle (never locked out). Everything is keyed by the app (its project) and its scope, `live` for the published app
(`preview` is for its preview, later): an account or a session of one app is nothing to another, nor to Forja.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel

from builder.app_backend import user_token
from builder.app_backend.identity import AppViewer
from builder.app_secrets import derived_key
from builder.errors import Forbidden, NotFound, SignInRefused, TooManyAttempts
from builder.models import LOCAL_USER_ID, AppUser, utcnow
from builder.schemas import AppUserInfo
from builder.services.access import AccessService, Actor
from builder.services.accounts import check_email, check_password, dummy_hash, hash_token, normal_email
from builder.services.app_data import Scope
from builder.services.throttle import Attempt, Throttle
from builder.settings import settings
from builder.store import ProjectStore
from builder.wording import plural

log = logging.getLogger(__name__)


class AppAccount(BaseModel):
    """A signed-in user of an app, as the app may see them."""

    id: str
    email: str
    role: Literal["user", "admin"]
    verified: bool = False


def user_key(project_id: str, scope: Scope) -> Ed25519PrivateKey:
    """The key Forja signs an app's users' tokens with: the app's own, the same on every worker; its public half is
    FORJA_USER_KEY (user_token.public_key)."""
    return user_token.signing_key(derived_key("app-user-keys"), project_id, scope.value)


def waiting(seconds: int) -> str:
    """A wait in words: "2 seconds", "15 minutes"."""
    return plural(seconds, "second") if seconds < 120 else plural(round(seconds / 60), "minute")


def account_of(user: AppUser) -> AppAccount:
    role = "admin" if user.role == "admin" else "user"
    return AppAccount(id=user.id, email=user.email, role=role, verified=user.verified_at is not None)


def info_of(user: AppUser) -> AppUserInfo:
    role = "admin" if user.role == "admin" else "user"
    return AppUserInfo(
        id=user.id,
        email=user.email,
        role=role,
        created_at=user.created_at,
        disabled_at=user.disabled_at,
        verified_at=user.verified_at,
    )


def _no_such_person() -> NotFound:
    return NotFound("Nobody with that id has an account on this app. They may have been removed; reload the list.")


class AppUserService:
    def __init__(self, store: ProjectStore, throttle: Throttle, access: AccessService) -> None:
        self._store = store
        self._throttle = throttle
        self._access = access
        self._hasher = PasswordHasher()

    async def sign_up(self, project_id: str, scope: Scope, email: str, password: str, attempt: Attempt, invite: str = "") -> str:
        """A new account on the app, signed in (its session's token). Limited per address and hour as Forja's sign-up
        (FORJA_SIGNUPS_PER_HOUR), each app's counted apart. Where the app takes new accounts by invitation only, the
        `invite` link's token must be one sent to this very email (the owner's own address needs none); an account
        made with one has its address checked (the link came to it)."""
        email = check_email(email)
        check_password(password, email)
        owner = await self._owner_email(project_id) == email
        invitation = await self._invitation(project_id, scope, email, invite, owner)
        key = f"app {project_id} {scope}"
        try:
            await self._throttle.check_sign_up(attempt, key)
        except TooManyAttempts as exc:
            raise TooManyAttempts(
                f"Many accounts were made here from your address lately. Try again in {waiting(exc.retry_after or 3600)}.",
                retry_after=exc.retry_after,
            ) from None
        password_hash = await self.hash_password(password)
        user = await self._store.add_app_user(project_id, scope, email, password_hash, "admin" if owner else "user")
        await self._throttle.signed_up(attempt, key)
        if invitation is not None and await self._store.use_app_token(invitation):
            await self._store.verify_app_user(user.id)
        log.info("app %s (%s): account %s made%s", project_id, scope, user.id, " by invitation" if invitation else "")
        return await self.start_session(user)

    async def _invitation(self, project_id: str, scope: Scope, email: str, invite: str, owner: bool) -> int | None:
        """The id of the invitation the sign-up uses; None without one where sign-up is open (or for the owner).
        Forbidden, in words, for a link that does not work for this email, or for no link where one is needed."""
        if invite:
            found = await self._store.app_token(project_id, scope, "invite", hash_token(invite))
            if found is None or found.email != email:
                raise Forbidden(
                    "This invitation does not work: it was used already, it expired, or it was sent to another email. "
                    "Ask the people who run this app for a new one."
                )
            return found.id
        if not owner and await self._store.app_sign_up_mode(project_id, scope) == "invite":
            raise Forbidden(
                "This app takes new accounts by invitation only. Ask the people who run it to invite your email, then "
                "open the link they send you."
            )
        return None

    async def sign_in(self, project_id: str, scope: Scope, email: str, password: str, attempt: Attempt) -> str:
        """A new session's token; SignInRefused in words, or TooManyAttempts after many failures (never a lockout)."""
        email = normal_email(email)
        key = f"app {project_id} {scope}: {email}"  # the app's accounts are counted apart from Forja's and each other's
        try:
            await self._throttle.check(key, attempt, None)
        except TooManyAttempts as exc:
            # Forja's own sentence speaks of its admins and settings; the app's people are told only how long to wait.
            raise TooManyAttempts(
                f"Too many failed sign-ins for this account lately. Try again in {waiting(exc.retry_after or 60)}.",
                retry_after=exc.retry_after,
            ) from None
        user = await self._store.app_user_by_email(project_id, scope, email)
        stored = user.password_hash if user is not None else dummy_hash()  # as long a check when there is no account
        if not await asyncio.to_thread(self._verify, stored, password) or user is None:
            await self._throttle.failed(key, attempt)
            raise SignInRefused("That email and password do not match an account here. Check both and try again.")
        if user.disabled_at is not None:
            raise SignInRefused("This account is turned off. Ask the people who run this app.")
        if self._hasher.check_needs_rehash(user.password_hash):
            await self._store.set_app_password_hash(user.id, await asyncio.to_thread(self._hasher.hash, password))
        return await self.start_session(user)

    async def sign_out(self, project_id: str, scope: Scope, token: str) -> None:
        await self._store.end_app_session(project_id, scope, hash_token(token))

    async def account_of(self, project_id: str, scope: Scope, token: str | None) -> AppAccount | None:
        """The user a session cookie of this app names; None without one, or for one that ended or is another app's."""
        if not token:
            return None
        user = await self._store.app_session_user(project_id, scope, hash_token(token))
        return account_of(user) if user is not None else None

    async def viewer_of(self, project_id: str, scope: Scope, token: str | None) -> AppViewer:
        account = await self.account_of(project_id, scope, token)
        return AppViewer(user_id=None) if account is None else AppViewer(user_id=account.id, role=account.role)

    # -- the app's people, as its owner (or an admin of this Forja) manages them: each method checks who asks --

    async def require_manager(self, actor: Actor, project_id: str) -> None:
        """Who may manage the app's people: its project's owner, or an admin of this Forja."""
        await self._access.require_owner_or_admin(actor, project_id)

    async def people(self, actor: Actor, project_id: str, scope: Scope = Scope.live) -> list[AppUserInfo]:
        await self.require_manager(actor, project_id)
        return [info_of(user) for user in await self._store.app_users(project_id, scope)]

    async def turn_off(self, actor: Actor, project_id: str, user_id: str, scope: Scope = Scope.live) -> AppUserInfo:
        """The person can no longer sign in, and every browser they are signed in on is signed out at once."""
        await self._person(actor, project_id, scope, user_id)
        info = await self._changed(user_id, disabled=True)
        log.info("app %s (%s): account %s turned off by %s", project_id, scope, user_id, actor.user_id)
        return info

    async def turn_on(self, actor: Actor, project_id: str, user_id: str, scope: Scope = Scope.live) -> AppUserInfo:
        await self._person(actor, project_id, scope, user_id)
        info = await self._changed(user_id, disabled=False)
        log.info("app %s (%s): account %s turned on by %s", project_id, scope, user_id, actor.user_id)
        return info

    async def set_role(
        self, actor: Actor, project_id: str, user_id: str, role: Literal["user", "admin"], scope: Scope = Scope.live
    ) -> AppUserInfo:
        """An admin of the app sees every row of its data; a user what its rules let them."""
        await self._person(actor, project_id, scope, user_id)
        info = await self._changed(user_id, role=role)
        log.info("app %s (%s): account %s made %s by %s", project_id, scope, user_id, role, actor.user_id)
        return info

    async def remove(self, actor: Actor, project_id: str, user_id: str, scope: Scope = Scope.live) -> None:
        """The account and its sessions, for good: the person may sign up again, as someone new."""
        await self._person(actor, project_id, scope, user_id)
        if not await self._store.remove_app_user(user_id):
            raise _no_such_person()
        log.info("app %s (%s): account %s removed by %s", project_id, scope, user_id, actor.user_id)

    async def _person(self, actor: Actor, project_id: str, scope: Scope, user_id: str) -> AppUser:
        await self.require_manager(actor, project_id)
        user = await self._store.app_user(project_id, scope, user_id)
        if user is None:
            raise _no_such_person()
        return user

    async def _changed(self, user_id: str, *, role: str | None = None, disabled: bool | None = None) -> AppUserInfo:
        user = await self._store.set_app_user(user_id, role=role, disabled=disabled)
        if user is None:  # removed meanwhile
            raise _no_such_person()
        return info_of(user)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def hash_password(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def start_session(self, user: AppUser) -> str:
        token = secrets.token_urlsafe(32)
        await self._store.add_app_session(user, hash_token(token), utcnow() + timedelta(days=settings.session_days))
        return token

    async def _owner_email(self, project_id: str) -> str | None:
        """The Forja account address of the app's owner: whoever signs up to the app with it is the app's admin. None
        without accounts (FORJA_AUTH=none): the local user has no address anyone could prove."""
        if settings.auth_mode != "password":
            return None
        owner = (await self._store.owners([project_id])).get(project_id)
        if owner is None or owner == LOCAL_USER_ID:
            return None
        user = await self._store.user(owner)
        return user.email if user is not None else None
