"""Accounts: signing up, in and out, passwords, API tokens, invitations and the people an admin manages.

Passwords are hashed with argon2id (argon2-cffi). Sign-ins, API tokens and one-time links are
random 256-bit tokens of which only a SHA-256 is stored, so the database never holds a secret that
works. With FORJA_AUTH=none there are no accounts: every request is the local user's (LOCAL_ACTOR).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from builder.errors import Forbidden, InvalidInput, LimitReached, NotFound, NotSignedIn, SignInRefused
from builder.models import LOCAL_USER_ID, AccountLink, Role, User, utcnow
from builder.schemas import AccountLinkInfo, ApiTokenInfo, FailedSignIns, NewApiToken, QuotaSet, UserInfo, valid_text
from builder.services.access import LOCAL_ACTOR, Actor, require_admin
from builder.services.quotas import own_quotas
from builder.services.throttle import Attempt, Throttle
from builder.settings import settings
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

API_TOKEN_PREFIX = "forja_"
# Git tokens (builder/services/git_tokens.py) open git's routes of one project, never the API: said so when one is sent.
GIT_TOKEN_PREFIX = "forja_git_"
INVITE_DAYS = 7
RESET_HOURS = 24
SETUP_CODE_KEY = "setup_code"
# What failed tries of the setup code are counted under (no account's address has no "@").
SETUP_CODE_GUESSES = "setup code"


@functools.cache
def dummy_hash() -> str:
    """Checked against when there is no account or no password: a password check then costs about as much as one
    that exists, so timing does not tell. Made when the accounts service starts with sign-in on, not at import (a
    quarter second every CLI command paid)."""
    return PasswordHasher().hash(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normal_email(email: str) -> str:
    return email.strip().lower()


def actor_of(user: User) -> Actor:
    return Actor(user.id, user.email, user.name, user.role)


def user_info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        created_at=user.created_at,
        last_sign_in_at=user.last_sign_in_at,
        disabled=user.disabled_at is not None,
        quotas=own_quotas(user),
    )


def check_password(password: str, email: str) -> None:
    """The rules a new password must meet; InvalidInput in words otherwise."""
    if len(password) < 8:
        raise InvalidInput("Choose a password of at least 8 characters.")
    if len(password) > 1024:
        raise InvalidInput("That password is too long; use at most 1,024 characters.")
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput("Choose a password that is not your email address.")


def check_email(email: str) -> str:
    email = normal_email(email)
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in email) or len(email) > 254:
        raise InvalidInput("Give an email address such as ana@example.org.")
    return email


def check_name(name: str) -> str:
    name = " ".join(valid_text(name, "name").split())
    if not name:
        raise InvalidInput("Say what people should call you (your name).")
    return name[:100]


def attempt_of(who: Attempt | str) -> Attempt:
    return who if isinstance(who, Attempt) else Attempt(who)


class AccountService:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store
        self._hasher = PasswordHasher()
        self.throttle = Throttle(store)
        if self.enabled:
            dummy_hash()  # now, so that not even the first sign-in takes longer for a missing account

    @property
    def enabled(self) -> bool:
        return settings.auth_mode == "password"

    # -- who is asking -------------------------------------------------------------------------

    async def actor(self, session_token: str | None = None, api_token: str | None = None) -> Actor:
        """The person behind a request: the local user without accounts; else the owner of a live sign-in or API
        token, or NotSignedIn."""
        if not self.enabled:
            return LOCAL_ACTOR
        user = None
        if api_token:
            user = await self._store.token_user(hash_token(api_token))
            if user is None and api_token.startswith(GIT_TOKEN_PREFIX):
                raise NotSignedIn(
                    "A git token works only for git (clone, fetch, push) on its own project. For the API, make an API "
                    "token on your Account page."
                )
            if user is None:
                raise NotSignedIn(
                    "That API token does not work: it was revoked or never existed. Make a new one on your Account page."
                )
        elif session_token:
            user = await self._store.signed_in_user(hash_token(session_token), utcnow() + timedelta(days=settings.session_days))
        if user is None:
            raise NotSignedIn("Sign in to use this Forja (or send an API token as 'Authorization: Bearer forja_...').")
        return actor_of(user)

    async def actor_by_email(self, email: str) -> Actor:
        """The person with this address, for the commands an operator runs on the server itself (`python -m builder
        token create EMAIL`): whoever runs them has the database, so they need no sign-in."""
        user = await self._store.user_by_email(normal_email(email))
        if user is None or user.id == LOCAL_USER_ID:
            raise NotFound(f"There is no account for {email.strip()} on this Forja.")
        if user.disabled_at is not None:
            raise InvalidInput(f"The account of {user.email} is disabled; an admin can enable it again.")
        return actor_of(user)

    async def actor_or_none(self, session_token: str | None) -> Actor | None:
        try:
            return await self.actor(session_token)
        except NotSignedIn:
            return None

    # -- signing in, up and out ----------------------------------------------------------------

    async def sign_in(self, email: str, password: str, who: Attempt | str, user_agent: str = "") -> str:
        """A new sign-in's token (for the session cookie); SignInRefused or TooManyAttempts otherwise. `who`: the
        client's Attempt (its address and device cookie), or just its address."""
        email, attempt = normal_email(email), attempt_of(who)
        user = await self._store.user_by_email(email)
        await self.throttle.check(email, attempt, user.id if user is not None else None)
        stored = user.password_hash if user is not None and user.password_hash else dummy_hash()
        if not await asyncio.to_thread(self._verify, stored, password) or user is None or user.id == LOCAL_USER_ID:
            await self.throttle.failed(email, attempt)
            raise SignInRefused("That email and password do not match an account here. Check both and try again.")
        if user.disabled_at is not None:
            raise SignInRefused("This account is disabled. Ask an admin of this Forja to enable it.")
        if self._hasher.check_needs_rehash(user.password_hash):
            await self._store.update_user(user.id, password_hash=await asyncio.to_thread(self._hasher.hash, password))
        return await self._new_sign_in(user, user_agent)

    async def trust_browser(self, session_token: str, device: str) -> None:
        """The browser that holds this sign-in (and the device cookie whose hash is `device`) signed in: others'
        failures no longer slow it down for this account."""
        user = await self._store.signed_in_user(hash_token(session_token), utcnow() + timedelta(days=settings.session_days))
        if user is not None:
            await self.throttle.trust(device, user.id)

    async def failed_sign_ins(self, actor: Actor) -> FailedSignIns:
        """The failed sign-ins of the person's account since their previous sign-in, for the Account page (none
        without accounts: nobody signs in)."""
        if actor.unrestricted:
            return FailedSignIns(since=utcnow(), count=0, addresses=0, last_at=None)
        user = await self._user(actor.user_id)
        since = user.previous_sign_in_at or user.created_at
        summary = await self._store.failure_summary(user.email, since)
        return FailedSignIns(since=since, count=summary.count, addresses=summary.addresses, last_at=summary.last_at)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _new_sign_in(self, user: User, user_agent: str) -> str:
        token = secrets.token_urlsafe(32)
        expires = utcnow() + timedelta(days=settings.session_days)
        await self._store.add_sign_in(user.id, hash_token(token), expires, user_agent)
        return token

    async def sign_out(self, session_token: str) -> None:
        await self._store.end_sign_in(hash_token(session_token))

    async def signup_mode(self) -> str:
        """What the sign-up page offers: setup (no account yet: the first is the admin's), open, invite or closed."""
        if await self._store.count_users() == 0:
            return "setup"
        return settings.signup

    async def sign_up(
        self,
        email: str,
        name: str,
        password: str,
        address: Attempt | str,
        user_agent: str = "",
        invite: str = "",
        setup_code: str = "",
    ) -> str:
        """A new account, signed in (its token). The first account is the admin's and needs the setup code Forja
        printed at start; later ones follow FORJA_SIGNUP (an invitation's link carries its token). `address` may be
        the client's Attempt."""
        email, attempt = check_email(email), attempt_of(address)
        mode = await self.signup_mode()
        role = Role.member
        link: AccountLink | None = None
        if mode == "setup":
            await self.throttle.check(SETUP_CODE_GUESSES, attempt, None)
            code = await self._store.setting(SETUP_CODE_KEY)
            if not code or not secrets.compare_digest(setup_code.strip().encode(), code.encode()):
                await self.throttle.failed(SETUP_CODE_GUESSES, attempt)
                raise SignInRefused(
                    "That setup code is not the one Forja printed in its log when it started. Copy it from there "
                    "(or make the admin with: python -m builder user create --admin EMAIL)."
                )
            role = Role.admin
        elif invite:
            link = await self._store.link("invite", hash_token(invite))
            if link is None:
                raise SignInRefused("This invitation link was used already or has expired. Ask an admin for a new one.")
            if link.email and link.email != email:
                raise SignInRefused(f"This invitation is for {link.email}; sign up with that address.")
            role = link.role
        elif mode != "open":
            raise Forbidden(
                "Sign-up on this Forja is by invitation only: ask an admin for an invitation link."
                if mode == "invite"
                else "Sign-up on this Forja is closed: ask an admin to make you an account."
            )
        check_password(password, email)
        name = check_name(name)
        if mode != "setup":
            await self.throttle.check_sign_up(attempt)
        user = await self._add(email, name, password, role)
        await self.throttle.signed_up(attempt)
        if link is not None and link.id is not None and not await self._store.use_link(link.id):
            log.warning("invitation %d was used twice at once; the second account stays", link.id)
        if mode == "setup":
            await self._became_first_admin(user)
        log.info("account %s made (%s)", email, role.value)
        return await self._new_sign_in(user, user_agent)

    async def _add(self, email: str, name: str, password: str, role: Role) -> User:
        if email == "local@localhost":
            raise InvalidInput("That address is reserved; use your own email address.")
        return await self._store.add_user(email, name, await asyncio.to_thread(self._hasher.hash, password), role)

    async def _became_first_admin(self, user: User) -> None:
        """The first admin adopts the projects made before accounts (the local user's); the setup code is spent."""
        adopted = await self._store.adopt_local_projects(user.id)
        await self._store.set_setting(SETUP_CODE_KEY, "")
        if adopted:
            log.info("%s is the first admin and now owns the %d project(s) made without sign-in", user.email, adopted)

    async def setup_code(self) -> str | None:
        """With accounts on and none made yet: the code the first sign-up needs (made once, kept in the store, so
        every worker prints the same); None once an account exists."""
        if not self.enabled or await self._store.count_users() > 0:
            return None
        code = await self._store.setting(SETUP_CODE_KEY)
        if code is None:
            # Whichever worker stores it first: two starting together on a new database would otherwise each print a
            # code and keep the last one written, so the other's log would show a code that is refused.
            return await self._store.setting_once(SETUP_CODE_KEY, secrets.token_hex(4))
        if not code:  # spent, and every account since deleted
            code = secrets.token_hex(4)
            await self._store.set_setting(SETUP_CODE_KEY, code)
        return code

    async def create_user(self, email: str, name: str, password: str, admin: bool = False) -> UserInfo:
        """An account made from the server's command line (`python -m builder user create`)."""
        email = check_email(email)
        check_password(password, email)
        first = await self._store.count_users() == 0
        user = await self._add(email, check_name(name), password, Role.admin if admin or first else Role.member)
        if first:
            await self._became_first_admin(user)
        return user_info(user)

    # -- passwords -----------------------------------------------------------------------------

    async def change_password(
        self, actor: Actor, current: str, new: str, session_token: str | None = None, who: Attempt | str = ""
    ) -> None:
        """A new password for the person; every other sign-in of theirs ends. The current password is checked behind
        the same throttle as a sign-in's."""
        user = await self._user(actor.user_id)
        attempt = attempt_of(who)
        await self.throttle.check(user.email, attempt, user.id)
        if not await asyncio.to_thread(self._verify, user.password_hash or dummy_hash(), current):
            await self.throttle.failed(user.email, attempt)
            raise SignInRefused("Your current password is not that one; type it again.")
        check_password(new, user.email)
        await self._store.update_user(user.id, password_hash=await asyncio.to_thread(self._hasher.hash, new))
        await self._store.end_sign_ins(user.id, keep=hash_token(session_token) if session_token else None)

    async def reset_link(self, admin: Actor, user_id: str, base_url: str) -> AccountLinkInfo:
        """A one-time link (a day) with which the person sets a new password; for the admin to hand on."""
        require_admin(admin)
        user = await self._user(user_id)
        return await self._link("reset", base_url, timedelta(hours=RESET_HOURS), admin, user_id=user.id, email=user.email)

    async def reset_password(self, token: str, new: str, user_agent: str = "") -> str:
        """Set the password a reset link is for; every sign-in of the person ends, and this one begins."""
        link = await self._store.link("reset", hash_token(token))
        if link is None or link.user_id is None:
            raise SignInRefused("This reset link was used already or has expired. Ask an admin for a new one.")
        user = await self._user(link.user_id)
        check_password(new, user.email)
        if link.id is None or not await self._store.use_link(link.id):
            raise SignInRefused("This reset link was used already. Ask an admin for a new one.")
        await self._store.update_user(user.id, password_hash=await asyncio.to_thread(self._hasher.hash, new))
        await self._store.end_sign_ins(user.id)
        # Browsers that knew the old password are trusted no more; this one is, once its sign-in is made.
        await self._store.forget_devices(user.id)
        return await self._new_sign_in(user, user_agent)

    async def link_email(self, kind: str, token: str) -> str | None:
        """The address an invitation or reset link is for ("" for an invitation to anyone); None when it does not work."""
        link = await self._store.link(kind, hash_token(token))
        return link.email if link is not None else None

    # -- invitations ---------------------------------------------------------------------------

    async def invite(self, admin: Actor, email: str, role: Role, base_url: str) -> AccountLinkInfo:
        """An invitation link (a week, used once) to make an account, for one address or (empty) anyone."""
        require_admin(admin)
        email = check_email(email) if email.strip() else ""
        if email and await self._store.user_by_email(email) is not None:
            raise InvalidInput(f"{email} has an account already.")
        return await self._link("invite", base_url, timedelta(days=INVITE_DAYS), admin, email=email, role=role)

    async def _link(
        self,
        kind: Literal["invite", "reset"],
        base_url: str,
        lasts: timedelta,
        admin: Actor,
        *,
        email: str = "",
        role: Role = Role.member,
        user_id: str | None = None,
    ) -> AccountLinkInfo:
        token = secrets.token_urlsafe(32)
        link = await self._store.add_link(
            AccountLink(
                kind=kind,
                token_hash=hash_token(token),
                email=email,
                role=role,
                user_id=user_id,
                created_by=admin.user_id,
                expires_at=utcnow() + lasts,
            )
        )
        assert link.id is not None
        page = "/signup?invite=" if kind == "invite" else "/reset?token="
        return AccountLinkInfo(
            id=link.id, kind=kind, url=f"{base_url.rstrip('/')}{page}{token}", email=link.email, expires_at=link.expires_at
        )

    async def invitations(self) -> list[AccountLinkInfo]:
        """Open invitations, without their links (those were shown once)."""
        return [
            AccountLinkInfo(id=link.id, kind="invite", url="", email=link.email, expires_at=link.expires_at)
            for link in await self._store.open_invitations()
            if link.id is not None
        ]

    async def withdraw_invitation(self, admin: Actor, link_id: int) -> None:
        require_admin(admin)
        # An id past the store's integers names no invitation (and must not reach the database to overflow there).
        if not stored_number(link_id) or not await self._store.use_link(link_id):
            raise NotFound("That invitation was used or withdrawn already.")

    # -- API tokens ----------------------------------------------------------------------------

    async def create_token(self, actor: Actor, name: str) -> NewApiToken:
        if actor.unrestricted:
            raise InvalidInput("Without accounts (FORJA_AUTH=none) the API needs no token.")
        name = " ".join(valid_text(name, "token name").split())[:100] or "API token"
        limit = settings.tokens_per_person
        if limit and len(await self._store.tokens(actor.user_id)) >= limit:
            raise LimitReached(
                f"You have {limit} API tokens, the most this Forja allows one person (FORJA_TOKENS_PER_PERSON). Revoke "
                "one you no longer use on your Account page, then make the new one."
            )
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = await self._store.add_token(actor.user_id, name, hash_token(token), token[: len(API_TOKEN_PREFIX) + 4])
        assert record.id is not None
        return NewApiToken(
            id=record.id, name=record.name, hint=record.hint, created_at=record.created_at, last_used_at=None, token=token
        )

    async def tokens(self, actor: Actor) -> list[ApiTokenInfo]:
        return [
            ApiTokenInfo(id=t.id, name=t.name, hint=t.hint, created_at=t.created_at, last_used_at=t.last_used_at)
            for t in await self._store.tokens(actor.user_id)
            if t.id is not None
        ]

    async def revoke_token(self, actor: Actor, token_id: int) -> None:
        if not stored_number(token_id) or not await self._store.revoke_token(actor.user_id, token_id):
            raise NotFound("You have no such token (it may be revoked already).")

    # -- people, for admins --------------------------------------------------------------------

    async def users(self) -> list[UserInfo]:
        return [user_info(user) for user in await self._store.users()]

    async def user(self, user_id: str) -> UserInfo:
        return user_info(await self._user(user_id))

    async def set_role(self, admin: Actor, user_id: str, role: Role) -> UserInfo:
        require_admin(admin)
        user = await self._user(user_id)
        if user.role == Role.admin and role != Role.admin:
            await self._keep_an_admin(user.id)
        return user_info(await self._updated(user.id, role=role))

    async def set_disabled(self, admin: Actor, user_id: str, disabled: bool) -> UserInfo:
        """Disable an account (its sign-ins and tokens stop working at once; its projects stay) or enable it again."""
        require_admin(admin)
        user = await self._user(user_id)
        if disabled and user.id == admin.user_id:
            raise InvalidInput("You cannot disable your own account; ask another admin.")
        if disabled and user.role == Role.admin:
            await self._keep_an_admin(user.id)
        updated = await self._updated(user.id, disabled_at=utcnow() if disabled else None)
        if disabled:
            await self._store.end_sign_ins(user.id)
        return user_info(updated)

    async def set_quotas(self, admin: Actor, user_id: str, quotas: QuotaSet) -> UserInfo:
        require_admin(admin)
        await self._user(user_id)
        fields = {f"quota_{name}": value for name, value in quotas.model_dump().items()}
        return user_info(await self._updated(user_id, **fields))

    async def _keep_an_admin(self, leaving: str) -> None:
        admins = [u for u in await self._store.users() if u.role == Role.admin and u.disabled_at is None]
        if [u.id for u in admins] == [leaving]:
            raise InvalidInput("This Forja needs an admin: make someone else an admin first.")

    async def _user(self, user_id: str) -> User:
        user = await self._store.user(user_id)
        if user is None or user.id == LOCAL_USER_ID:
            raise NotFound("There is no such account.")
        return user

    async def _updated(self, user_id: str, **fields: object) -> User:
        user = await self._store.update_user(user_id, **fields)
        if user is None:
            raise NotFound("There is no such account.")
        return user
