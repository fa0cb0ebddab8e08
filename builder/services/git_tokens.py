"""Git tokens: a token for git alone, on one project, read-only or read-write, that expires.

A git token is what the Clone dialog hands to git, instead of an account-wide API token that would sit in the clone's
`.git/config`. Like an API token it is 256 bits of randomness of which only a SHA-256 is kept. It opens only git's
HTTP routes of its own project (the API and the pages look API tokens and sign-ins up, never these), and each use
checks its person's role again: a person who lost the right to push cannot push with a token made before.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from builder.errors import Forbidden, InvalidInput, LimitReached, NotFound, NotSignedIn
from builder.git.urls import clone_url, credential_setup, token_clone_command
from builder.models import GitToken, utcnow
from builder.schemas import GitTokenInfo, NewGitToken, valid_text
from builder.services.access import AccessService, Actor, Permission
from builder.services.accounts import GIT_TOKEN_PREFIX, AccountService, actor_of, hash_token
from builder.settings import settings
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

DEFAULT_DAYS = 30
# The lifetimes the Clone dialog offers, up to FORJA_GIT_TOKEN_MAX_DAYS.
OFFERED_DAYS = (7, 30, 90, 365)
MAKE_ONE = "Make a new one in the project's Clone dialog."


def max_days() -> int:
    return settings.git_token_max_days


def default_days() -> int:
    return min(DEFAULT_DAYS, max_days())


def offered_days() -> list[int]:
    """The lifetimes to choose from: the usual ones within the cap, and the cap itself."""
    return sorted({days for days in OFFERED_DAYS if days <= max_days()} | {max_days()})


def info_of(token: GitToken, project_name: str) -> GitTokenInfo:
    assert token.id is not None
    return GitTokenInfo(
        id=token.id,
        project_id=token.project_id,
        project_name=project_name,
        name=token.name,
        hint=token.hint,
        access="write" if token.can_push else "read",
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
    )


class GitTokenService:
    def __init__(self, store: ProjectStore, access: AccessService, accounts: AccountService) -> None:
        self._store = store
        self._access = access
        self._accounts = accounts

    async def create(
        self,
        actor: Actor,
        project_id: str,
        base_url: str,
        *,
        write: bool = False,
        days: int | None = None,
        name: str = "",
        made_with: str | None = None,
    ) -> NewGitToken:
        """A new git token of the person for the project: `write` to push too (editors and owners only), lasting `days`
        (default 30, at most FORJA_GIT_TOKEN_MAX_DAYS). `made_with`: the API token the request came with, if it came
        with one; revoking that revokes this too. The token is in the answer only, with the two lines that use it."""
        if actor.unrestricted:
            raise InvalidInput("Without accounts (FORJA_AUTH=none) git needs no token: only this machine may clone and push.")
        await self._access.require(actor, project_id, Permission.edit if write else Permission.view)
        days = default_days() if days is None else days
        if not 1 <= days <= max_days():
            raise InvalidInput(f"A git token lasts from 1 to {max_days()} days on this Forja; choose a number in between.")
        limit = settings.tokens_per_person
        if limit and await self._store.count_git_tokens(actor.user_id, utcnow()) >= limit:
            raise LimitReached(
                f"You have {limit} git tokens that still work, the most this Forja allows one person. Revoke one you no "
                "longer use on your Account page, then make the new one."
            )
        token = GIT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = GitToken(
            user_id=actor.user_id,
            project_id=project_id,
            name=" ".join(valid_text(name, "token name").split())[:100],
            token_hash=hash_token(token),
            hint=token[: len(GIT_TOKEN_PREFIX) + 4],
            can_push=write,
            api_token_id=await self._store.api_token_id(hash_token(made_with)) if made_with else None,
            expires_at=utcnow() + timedelta(days=days),
        )
        project_name = await self._store.add_git_token(record)
        log.info(
            "git token %s made for %s on %s (%s, %d days)", record.id, actor.email, project_id, "push" if write else "read", days
        )
        url = clone_url(base_url, project_id)
        return NewGitToken(
            **info_of(record, project_name).model_dump(),
            token=token,
            url=url,
            setup=credential_setup(url, actor.email, token),
            clone=token_clone_command(url),
        )

    async def tokens(self, actor: Actor) -> list[GitTokenInfo]:
        """The person's git tokens that still work (neither revoked nor expired), newest first."""
        return [info_of(token, name) for token, name in await self._store.git_tokens(actor.user_id, utcnow())]

    async def revoke(self, actor: Actor, token_id: int) -> None:
        if not stored_number(token_id) or not await self._store.revoke_git_token(actor.user_id, token_id):
            raise NotFound("You have no such git token (it may be revoked already).")

    async def git_actor(self, secret: str, project_id: str, need: Permission) -> Actor:
        """The person a git request's token stands for, if it may do what the request needs on this project: a git
        token of this project (one that may push, for a push), or, as before git tokens, an API token. NotSignedIn
        for a token that does not work (revoked, expired, unknown), Forbidden or NotFound as the role says."""
        found = await self._store.git_token(hash_token(secret))
        if found is None:
            try:
                actor = await self._accounts.actor(api_token=secret)
            except NotSignedIn:
                raise NotSignedIn(f"That token does not work: it was revoked, or never existed. {MAKE_ONE}") from None
            await self._access.require(actor, project_id, need)
            return actor
        token, user = found
        if token.revoked_at is not None:
            raise NotSignedIn(f"This git token was revoked. {MAKE_ONE}")
        if token.expires_at <= utcnow():
            raise NotSignedIn(f"This git token expired on {token.expires_at:%d %b %Y} (UTC). {MAKE_ONE}")
        if user.disabled_at is not None:
            raise NotSignedIn("This git token's account is disabled; an admin of this Forja can enable it again.")
        # Before any look at the project asked for: the answer is the same whether it exists or not.
        if token.project_id != project_id:
            raise Forbidden("This git token is for another project. Make one for this project in its Clone dialog.")
        if need >= Permission.edit and not token.can_push:
            raise Forbidden("This git token may clone and fetch, not push. Make one that may push in the project's Clone dialog.")
        actor = actor_of(user)
        await self._access.require(actor, project_id, need)
        return actor
