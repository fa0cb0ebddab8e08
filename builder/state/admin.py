"""The admin page's state (`/admin`): what builder.services.admin reports, as the page shows it, and the admin's
changes. Every event asks the services again who the person is; the services refuse anyone but an admin."""

from __future__ import annotations

import reflex as rx

from builder.errors import ForjaError
from builder.models import Role
from builder.schemas import AccountLinkInfo, QuotaSet
from builder.services.admin import UserChange
from builder.services.quotas import env_defaults
from builder.settings import settings
from builder.state.admin_rows import (
    QUOTA_FIELDS,
    AppRow,
    DayRow,
    EvalRow,
    HealthRow,
    InvitationRow,
    LiveFindingsRow,
    PersonRow,
    PreviewRow,
    app_row,
    day_row,
    eval_row,
    field_text,
    live_findings_row,
    money,
    person_row,
    preview_row,
    quotas_of,
    shown,
    when,
)
from builder.state.auth import Allowed, signed_in


class AdminState(rx.State):
    # Whether the page may show anything: it is refused to anyone but an admin.
    allowed: bool = False
    loaded: bool = False
    accounts: bool = False
    people: rx.Field[list[PersonRow]] = rx.field(default_factory=list)
    invitations: rx.Field[list[InvitationRow]] = rx.field(default_factory=list)
    usage: rx.Field[list[DayRow]] = rx.field(default_factory=list)
    previews: rx.Field[list[PreviewRow]] = rx.field(default_factory=list)
    apps: rx.Field[list[AppRow]] = rx.field(default_factory=list)
    live_findings: rx.Field[list[LiveFindingsRow]] = rx.field(default_factory=list)
    evals: rx.Field[list[EvalRow]] = rx.field(default_factory=list)
    health: rx.Field[list[HealthRow]] = rx.field(default_factory=list)
    health_ok: bool = False
    health_checked: bool = False
    previews_line: str = ""  # which runner new previews get, and why
    generations_running: int = 0
    # Form fields, as typed; and the default quotas as saved, in words.
    defaults: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    defaults_in_force: rx.Field[dict[str, str]] = rx.field(default_factory=dict)
    invite_email: str = ""
    invite_role: str = Role.member.value
    # A link made just now, shown this once beside what made it (invite or reset), with whom it is for.
    link: str = ""
    link_kind: str = ""
    link_for: str = ""
    # The quotas dialog: whose, and their own values as typed (empty: the default).
    quota_user: str = ""
    quota_user_name: str = ""
    quota_fields: rx.Field[dict[str, str]] = rx.field(default_factory=dict)

    @rx.var
    def default_hints(self) -> dict[str, str]:
        """Under each default: the setting it falls back to when emptied."""
        env = env_defaults()
        return {name: f"Empty: {shown(getattr(env, name))} (FORJA_QUOTA_{name.upper()})" for name in QUOTA_FIELDS}

    @rx.var
    def quota_placeholders(self) -> dict[str, str]:
        """In the person's quota fields: the default they get when a field is empty."""
        return {name: f"Default: {self.defaults_in_force.get(name, '')}" for name in QUOTA_FIELDS}

    @rx.var
    def totals(self) -> dict[str, str]:
        """The charts' headline figures: the whole period's."""
        return {
            "tokens": f"{sum(day.tokens for day in self.usage):,}",
            "cost": money(sum(day.cost for day in self.usage)),
            "generations": f"{sum(day.generations for day in self.usage):,}",
            "previews": f"{sum(day.previews for day in self.usage):,}",
        }

    @rx.var
    def busy_days(self) -> list[DayRow]:
        """The days with any use, newest first, for the table under the charts."""
        return [day for day in reversed(self.usage) if day.tokens or day.generations or day.previews or day.cost]

    async def _admin(self) -> Allowed:
        """The services, for an admin; the page says who may open it to anyone else."""
        allowed = await signed_in(self)
        self.allowed = allowed.actor.is_admin
        return allowed

    @rx.event
    async def load(self):
        """Everything but the health first (it runs the machine's checks, which take a few seconds), then that."""
        self.loaded = False
        allowed = await self._admin()
        self.accounts = settings.auth_mode == "password"
        if not self.allowed:
            self.loaded = True
            return
        await self._reload(allowed)
        self.loaded = True
        yield
        await self._load_health(allowed)

    async def _reload(self, allowed: Allowed) -> None:
        admin, actor = allowed.services.admin, allowed.actor
        self.usage = [day_row(day) for day in await admin.usage_by_day(actor, 30)]
        self.previews = [preview_row(row) for row in await admin.previews(actor)]
        self.apps = [app_row(app) for app in await admin.published_apps(actor)]
        self.live_findings = [live_findings_row(app) for app in await admin.live_findings(actor)]
        self.evals = [eval_row(run) for run in await admin.evaluations(actor)]
        if self.accounts:
            self.people = [person_row(person, actor.user_id) for person in await admin.people(actor)]
            await self._reload_invitations(allowed)
            self._show_defaults(await admin.default_quotas(actor))

    async def _load_health(self, allowed: Allowed) -> None:
        health = await allowed.services.admin.health(allowed.actor)
        self.health = [HealthRow(check.name, check.state, check.detail) for check in health.checks]
        self.health_ok = health.ok
        self.previews_line = (
            f"No preview can run: {health.previews_reason}"
            if health.previews_runner == "none"
            else f"New previews run in the {health.previews_runner} runner: {health.previews_reason}"
        )
        self.generations_running = health.generations_running
        self.health_checked = True

    @rx.event
    async def refresh(self):
        allowed = await self._admin()
        if not self.allowed:
            return
        await self._reload(allowed)
        yield
        await self._load_health(allowed)

    # -- people ----------------------------------------------------------------------------------

    async def _change(self, user_id: str, change: UserChange) -> None:
        allowed = await self._admin()
        person = await allowed.services.admin.change_user(allowed.actor, user_id, change)
        self.people = [person_row(person, allowed.actor.user_id) if row.id == user_id else row for row in self.people]

    @rx.event
    async def set_role(self, user_id: str, role: str):
        await self._change(user_id, UserChange(role=Role(role)))
        return rx.toast.success("Made an admin." if role == Role.admin.value else "Made a member.")

    @rx.event
    async def set_disabled(self, user_id: str, disabled: bool):
        await self._change(user_id, UserChange(disabled=disabled))
        return rx.toast.success("Disabled: signed out everywhere." if disabled else "Enabled again.")

    @rx.event
    async def reset_link(self, user_id: str) -> None:
        allowed = await self._admin()
        info = await allowed.services.admin.reset_link(allowed.actor, user_id, str(self.router.url))
        self._show_link(info, f"A link for {info.email} to set a new password (works once, for 24 hours)")

    def _show_link(self, info: AccountLinkInfo, what: str) -> None:
        self.link, self.link_kind, self.link_for = info.url, info.kind, what

    @rx.event
    def hide_link(self) -> None:
        self.link, self.link_kind, self.link_for = "", "", ""

    @rx.event
    async def open_quotas(self, user_id: str) -> None:
        """The quotas dialog, with the person's own values (empty where they follow the default)."""
        allowed = await self._admin()
        person = await allowed.services.admin.person(allowed.actor, user_id)
        self.quota_fields = {name: field_text(getattr(person.quotas, name)) for name in QUOTA_FIELDS}
        self.quota_user, self.quota_user_name = person.id, person.name

    @rx.event
    def set_quota_field(self, name: str, value: str) -> None:
        self.quota_fields = {**self.quota_fields, name: value}

    @rx.event
    def close_quotas(self, open_: bool = False) -> None:
        if not open_:
            self.quota_user = ""

    @rx.event
    async def save_quotas(self):
        try:
            quotas = quotas_of(self.quota_fields)
        except ForjaError as exc:
            return rx.toast.error(exc.message, id="quota-error")
        await self._change(self.quota_user, UserChange(quotas=quotas))
        name, self.quota_user = self.quota_user_name, ""
        return rx.toast.success(f"Quotas of {name} saved.")

    # -- invitations -----------------------------------------------------------------------------

    @rx.event
    def set_invite_email(self, value: str) -> None:
        self.invite_email = value

    @rx.event
    def set_invite_role(self, value: str) -> None:
        self.invite_role = value

    @rx.event
    async def invite(self) -> None:
        allowed = await self._admin()
        info = await allowed.services.admin.invite(allowed.actor, self.invite_email, Role(self.invite_role), str(self.router.url))
        whom = f"for {info.email}" if info.email else "for anyone who has it"
        self._show_link(info, f"An invitation {whom}, as {self.invite_role} (works once, for 7 days)")
        self.invite_email, self.invite_role = "", Role.member.value
        await self._reload_invitations(allowed)

    async def _reload_invitations(self, allowed: Allowed) -> None:
        self.invitations = [
            InvitationRow(id=i.id, email=i.email or "Anyone with the link", expires=when(i.expires_at))
            for i in await allowed.services.admin.invitations(allowed.actor)
        ]

    @rx.event
    async def withdraw(self, link_id: int):
        allowed = await self._admin()
        await allowed.services.admin.withdraw_invitation(allowed.actor, link_id)
        await self._reload_invitations(allowed)
        return rx.toast.success("Invitation withdrawn: its link no longer works.")

    # -- default quotas --------------------------------------------------------------------------

    def _show_defaults(self, defaults: QuotaSet) -> None:
        self.defaults = {name: field_text(getattr(defaults, name)) for name in QUOTA_FIELDS}
        self.defaults_in_force = {name: shown(getattr(defaults, name)) for name in QUOTA_FIELDS}

    @rx.event
    def set_default(self, name: str, value: str) -> None:
        self.defaults = {**self.defaults, name: value}

    @rx.event
    async def save_defaults(self):
        try:
            values = quotas_of(self.defaults)
        except ForjaError as exc:
            return rx.toast.error(exc.message, id="quota-error")
        allowed = await self._admin()
        self._show_defaults(await allowed.services.admin.set_default_quotas(allowed.actor, values))
        self.people = [person_row(p, allowed.actor.user_id) for p in await allowed.services.admin.people(allowed.actor)]
        return rx.toast.success("Default quotas saved.")

    # -- previews --------------------------------------------------------------------------------

    @rx.event
    async def stop_preview(self, preview_id: str):
        allowed = await self._admin()
        await allowed.services.admin.stop_preview(allowed.actor, preview_id)
        self.previews = [preview_row(row) for row in await allowed.services.admin.previews(allowed.actor)]
        return rx.toast.success("Preview stopped.")
