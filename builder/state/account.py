"""The Account page (`/account`): API tokens, git tokens and usage meters; and the note a page shows when a quota is
nearly used.

The password form posts to /api/auth/password itself (assets/forja_auth.js): the sign-ins it ends
are cookies, which no page state sees. Who the person is comes from AuthState.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from urllib.parse import urlsplit

import reflex as rx

from builder.errors import ForjaError
from builder.filetree import human_size
from builder.schemas import FailedSignIns, GitTokenInfo, QuotaUse
from builder.services.quotas import MB
from builder.settings import settings
from builder.state.auth import signed_in
from builder.state.workspace import Loaded, WorkspaceState

# From this share of a quota on, pages say so (amber); at all of it, red.
WARN_AT = 0.8

# What running out of each quota means, for the meters on the Account page.
AT_THE_LIMIT = {
    "tokens_day": "At the limit, Forja sends no more requests to a model for you until midnight (UTC).",
    "cost_day_usd": "At the limit, Forja sends no more requests to a model for you until midnight (UTC).",
    "previews": "At the limit, a new preview waits until one of yours stops; previews nobody looks at stop by themselves.",
    "projects": "At the limit, you cannot make or import another project; projects in the trash count until they go.",
    "storage_mb": "Every version's files count, and the git copy of each project you clone or push to. At the limit, "
    "nothing that adds files is saved or pushed; delete old projects to make room.",
    "published_apps": "At the limit, another app cannot be published until you take one down; publishing a live one "
    "again still works.",
    "build_minutes_day": "At the limit, nothing more is published for you until midnight (UTC); your live apps stay up.",
}

# How the quota note names each quota: "You used 85% of today's model tokens (...)".
NOTE_NAMES = {
    "tokens_day": "today's model tokens",
    "cost_day_usd": "today's model budget",
    "previews": "your previews running at once",
    "projects": "the projects you may own",
    "storage_mb": "your storage",
    "published_apps": "the published apps you may have live",
    "build_minutes_day": "today's publish build minutes",
}


@dataclasses.dataclass
class Meter:
    name: str
    label: str
    shown: str
    percent: int
    # "green" under WARN_AT, "amber" from it, "red" at the limit; "gray" without a limit.
    tone: str
    limited: bool
    at_limit: str


@dataclasses.dataclass
class TokenRow:
    id: int
    name: str
    hint: str
    created: str
    last_used: str


@dataclasses.dataclass
class GitTokenRow:
    id: int
    project_id: str
    project_name: str
    name: str
    hint: str
    can_push: bool
    created: str
    expires: str
    last_used: str


def git_token_row(token: GitTokenInfo) -> GitTokenRow:
    return GitTokenRow(
        id=token.id,
        project_id=token.project_id,
        project_name=token.project_name,
        name=token.name,
        hint=token.hint,
        can_push=token.access == "write",
        created=when(token.created_at),
        expires=when(token.expires_at),
        last_used=when(token.last_used_at),
    )


def tone_of(use: QuotaUse) -> str:
    if not use.limit:
        return "gray"
    if use.used >= use.limit:
        return "red"
    return "amber" if use.share >= WARN_AT else "green"


def meter_of(use: QuotaUse) -> Meter:
    return Meter(
        name=use.name,
        label=use.label,
        shown=use.shown,
        percent=min(100, int(use.share * 100)),
        tone=tone_of(use),
        limited=use.limit > 0,
        at_limit=AT_THE_LIMIT.get(use.name, ""),
    )


def amounts(use: QuotaUse) -> str:
    """'850,000 of 1,000,000', in the quota's own unit."""
    if use.name == "cost_day_usd":
        return f"${use.used:.2f} of ${use.limit:.2f}"
    if use.name == "storage_mb":
        return f"{human_size(int(use.used * MB))} of {human_size(int(use.limit * MB))}"
    if use.name == "build_minutes_day":
        return f"{use.used:g} of {use.limit:g} minutes"
    return f"{use.used:,.0f} of {use.limit:,.0f}"


def quota_note(uses: list[QuotaUse]) -> tuple[str, bool]:
    """The sentences for each quota used to WARN_AT or more, and whether one is used up."""
    near = [use for use in uses if use.limit and use.share >= WARN_AT]
    sentences = [
        f"You used {'all' if use.used >= use.limit else f'{int(use.share * 100)}%'} of {NOTE_NAMES.get(use.name, use.label)} "
        f"({amounts(use)})."
        for use in near
    ]
    return " ".join(sentences), any(use.used >= use.limit for use in near)


def when(moment: datetime | None) -> str:
    return moment.strftime("%d %b %Y, %H:%M") if moment is not None else "never"


def failed_note(failed: FailedSignIns) -> str:
    """What the Account page says of failed sign-ins since the previous one; "" when there were none."""
    if not failed.count:
        return ""
    tries = f"{failed.count:,} failed sign-in{'s' if failed.count != 1 else ''}"
    places = f"{failed.addresses} address{'es' if failed.addresses != 1 else ''}"
    return (
        f"Since your previous sign-in ({when(failed.since)} UTC) someone tried to sign in to your account and failed: "
        f"{tries} from {places}, the last on {when(failed.last_at)} UTC. If it was not you, nothing got in: keep your "
        "password, or change it below if others might know it."
    )


class AccountState(rx.State):
    accounts_on: bool = False
    # Until the page has asked, it says nothing either way about accounts.
    loaded: bool = False
    tokens: rx.Field[list[TokenRow]] = rx.field(default_factory=list)
    git_tokens: rx.Field[list[GitTokenRow]] = rx.field(default_factory=list)
    meters: rx.Field[list[Meter]] = rx.field(default_factory=list)
    token_name: str = ""
    token_error: str = ""
    # A token just made: shown in its dialog this once, and forgotten when the dialog closes.
    new_token: str = ""
    new_token_name: str = ""
    # Where the CLI and scripts reach this Forja: the address the page was opened at.
    server_url: str = ""
    # Failed sign-ins to the account since the previous sign-in, in words ("" when none).
    failed_sign_ins: str = ""

    @rx.event
    async def load(self) -> None:
        self.accounts_on = settings.auth_mode == "password"
        self.loaded = True
        self.token_error = ""
        self.new_token = ""
        parts = urlsplit(str(self.router.url))
        self.server_url = f"{parts.scheme}://{parts.netloc}" if parts.netloc else settings.base_url
        if not self.accounts_on:
            self.tokens, self.git_tokens, self.meters = [], [], []
            return
        await self._load()

    async def _load(self) -> None:
        allowed = await signed_in(self)
        self.tokens = [
            TokenRow(id=t.id, name=t.name, hint=t.hint, created=when(t.created_at), last_used=when(t.last_used_at))
            for t in await allowed.services.accounts.tokens(allowed.actor)
        ]
        self.git_tokens = [git_token_row(t) for t in await allowed.services.git_tokens.tokens(allowed.actor)]
        self.meters = [meter_of(use) for use in await allowed.services.quotas.usage(allowed.actor)]
        self.failed_sign_ins = failed_note(await allowed.services.accounts.failed_sign_ins(allowed.actor))

    @rx.event
    def set_token_name(self, value: str) -> None:
        self.token_name = value

    @rx.event
    async def create_token(self) -> None:
        try:
            allowed = await signed_in(self)
            made = await allowed.services.accounts.create_token(allowed.actor, self.token_name)
        except ForjaError as exc:
            self.token_error = str(exc)
            return
        self.token_error = ""
        self.token_name = ""
        self.new_token, self.new_token_name = made.token, made.name
        await self._load()

    @rx.event
    def close_token_dialog(self, opened: bool = False) -> None:
        if not opened:
            self.new_token = self.new_token_name = ""

    @rx.event
    async def revoke_token(self, token_id: int) -> None:
        allowed = await signed_in(self)
        await allowed.services.accounts.revoke_token(allowed.actor, token_id)
        await self._load()

    @rx.event
    async def revoke_git_token(self, token_id: int) -> None:
        allowed = await signed_in(self)
        await allowed.services.git_tokens.revoke(allowed.actor, token_id)
        await self._load()


class QuotaNoteState(rx.State):
    """The home page's note on quotas used to 80% or more (the workspace's follows its refreshes instead)."""

    quota_note: rx.Field[str] = rx.field("")
    quota_full: rx.Field[bool] = rx.field(False)

    @rx.event
    async def check(self) -> None:
        allowed = await signed_in(self)
        self.quota_note, self.quota_full = quota_note(await allowed.services.quotas.usage(allowed.actor))


class WorkspaceQuotaState(WorkspaceState):
    """The workspace's note on quotas: read again at every refresh, so a generation that used tokens shows at once."""

    quota_note: rx.Field[str] = rx.field("")
    quota_full: rx.Field[bool] = rx.field(False)

    async def _show(self, loaded: Loaded) -> None:
        # A page opening a project reads it in _on_open instead, after the conversation has looked for a running
        # generation: read here, it would widen the moment in which one could end unseen.
        if not loaded.switched:
            await self._read()

    async def _on_open(self) -> None:
        await self._read()

    async def _read(self) -> None:
        allowed = await signed_in(self)
        self.quota_note, self.quota_full = quota_note(await allowed.services.quotas.usage(allowed.actor))
