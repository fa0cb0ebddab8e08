"""The Users dialog: the people who signed up to the project's published app, or in its preview, and its owner turning
them off and on, making them admin and removing them; for the published app, letting anyone sign up or only the people
they invite, inviting them and withdrawing an invitation still waiting. Thin: the services check who may (builder/services/app_users.py, app_user_mail.py)
and do it."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import reflex as rx

from builder.errors import ForjaError
from builder.schemas import AppInvitationInfo, AppUserInfo
from builder.services.access import Actor
from builder.services.app_data import Scope
from builder.services.app_users import AppUserService
from builder.state.workspace import WorkspaceState

SIGN_UP_PATH = "/_forja/auth/sign-up"


@dataclasses.dataclass
class AppUserRow:
    id: str
    email: str
    admin: bool
    off: bool
    joined: str


def _row(info: AppUserInfo) -> AppUserRow:
    return AppUserRow(
        info.id, info.email, info.role == "admin", info.disabled_at is not None, info.created_at.strftime("%d %b %Y")
    )


@dataclasses.dataclass
class InvitedRow:
    id: int
    email: str
    until: str


def _invited(info: AppInvitationInfo) -> InvitedRow:
    return InvitedRow(info.id, info.email, info.expires_at.strftime("%d %b"))


Change = Callable[[AppUserService, Actor, str, Scope], Awaitable[object]]


class AppUsersState(rx.State):
    open_dialog: bool = False
    rows: rx.Field[list[AppUserRow]] = rx.field(default_factory=list)
    # Whose people the dialog shows: the published app's ("live") or the preview's ("preview").
    scope: str = Scope.live.value
    # The published app's address ("" before its first publish), for the sign-up page's link.
    app_url: str = ""
    error: str = ""
    notice: str = ""
    invite_only: bool = False
    # Whether this Forja can send email: without it nobody can be invited, and the dialog says so.
    can_email: bool = False
    invite_email: str = ""
    # The published app's invitations not used, withdrawn or expired yet.
    invited: rx.Field[list[InvitedRow]] = rx.field(default_factory=list)

    @rx.var
    def sign_up_url(self) -> str:
        return self.app_url + SIGN_UP_PATH if self.app_url and self.scope == Scope.live.value else ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        self.open_dialog = value
        self.error = self.notice = ""
        if value:
            await self._load()

    @rx.event
    async def set_scope(self, value: str | list[str]) -> None:
        self.scope = Scope.preview.value if value == Scope.preview.value else Scope.live.value
        self.error = self.notice = ""
        await self._load()

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            app = await allowed.services.publishing.app(workspace.project_id)
            self.app_url = app.url if app is not None else ""
            people = await allowed.services.app_users.people(allowed.actor, workspace.project_id, Scope(self.scope))
            self.rows = [_row(info) for info in people]
            sign_up = await allowed.services.app_user_mail.sign_up_info(allowed.actor, workspace.project_id)
            self.invite_only, self.can_email = sign_up.mode == "invite", sign_up.email
            invitations = await allowed.services.app_user_mail.invitations(allowed.actor, workspace.project_id)
            self.invited = [_invited(info) for info in invitations]
        except ForjaError as exc:
            self.rows, self.invited, self.error = [], [], exc.message

    async def _change(self, change: Change, done: str) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            await change(allowed.services.app_users, allowed.actor, workspace.project_id, Scope(self.scope))
        except ForjaError as exc:
            self.error, self.notice = exc.message, ""
            return
        self.error, self.notice = "", done
        await self._load()

    def _email(self, user_id: str) -> str:
        return next((row.email for row in self.rows if row.id == user_id), "That person")

    @rx.event
    async def turn_off(self, user_id: str) -> None:
        await self._change(
            lambda users, actor, pid, scope: users.turn_off(actor, pid, user_id, scope),
            f"{self._email(user_id)} is turned off: signed out everywhere, and cannot sign in until you turn them on.",
        )

    @rx.event
    async def turn_on(self, user_id: str) -> None:
        await self._change(
            lambda users, actor, pid, scope: users.turn_on(actor, pid, user_id, scope),
            f"{self._email(user_id)} can sign in again.",
        )

    @rx.event
    async def make_admin(self, user_id: str) -> None:
        await self._change(
            lambda users, actor, pid, scope: users.set_role(actor, pid, user_id, "admin", scope),
            f"{self._email(user_id)} is an admin of your app now: they can see and change what everyone saved in it.",
        )

    @rx.event
    async def make_user(self, user_id: str) -> None:
        await self._change(
            lambda users, actor, pid, scope: users.set_role(actor, pid, user_id, "user", scope),
            f"{self._email(user_id)} is no longer an admin of your app.",
        )

    @rx.event
    async def remove(self, user_id: str) -> None:
        await self._change(
            lambda users, actor, pid, scope: users.remove(actor, pid, user_id, scope),
            f"{self._email(user_id)} is removed. They can sign up again as someone new.",
        )

    @rx.event
    async def set_invite_only(self, value: bool) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            mode = "invite" if value else "open"
            await allowed.services.app_user_mail.set_sign_up(allowed.actor, workspace.project_id, mode)
        except ForjaError as exc:
            self.error, self.notice = exc.message, ""
            return
        self.invite_only = value
        self.error = ""
        self.notice = (
            "Only the people you invite can make an account now." if value else "Anyone can make an account on your app now."
        )

    @rx.event
    def set_invite_email(self, value: str) -> None:
        self.invite_email = value

    @rx.event
    async def invite(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            await allowed.services.app_user_mail.invite(allowed.actor, workspace.project_id, self.invite_email)
        except ForjaError as exc:
            self.error, self.notice = exc.message, ""
            return
        self.error = ""
        self.notice = f"{self.invite_email.strip()} is invited: the email's link lets them make an account for a week."
        self.invite_email = ""
        await self._load()

    @rx.event
    async def withdraw(self, invitation_id: int) -> None:
        email = next((row.email for row in self.invited if row.id == invitation_id), "That person")
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            await allowed.services.app_user_mail.withdraw(allowed.actor, workspace.project_id, invitation_id)
        except ForjaError as exc:
            self.error, self.notice = exc.message, ""
            await self._load()
            return
        self.error, self.notice = "", f"The invitation of {email} is withdrawn: its link no longer works."
        await self._load()
