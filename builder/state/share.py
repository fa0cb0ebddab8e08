"""The Share dialog: make a link to a version's live app, copy it, turn old links off."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError, NotFound
from builder.services.access import Permission
from builder.services.shares import parse_expires
from builder.state.workspace import WorkspaceState

EXPIRY_CHOICES = {"24h": "1 day", "7d": "7 days", "30d": "30 days", "never": "Never"}


@dataclasses.dataclass
class ShareRow:
    id: int
    version: int
    created: str
    status: str
    active: bool


class ShareState(rx.State):
    open_dialog: bool = False
    expires: str = "7d"
    link: str = ""
    links: rx.Field[list[ShareRow]] = rx.field(default_factory=list)
    error: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        """The dialog opened (its trigger) or closed (Escape, the close button, outside it)."""
        self.open_dialog = value
        if value:
            self.link = ""
            self.error = ""
            await self._load()

    @rx.event
    def set_expires(self, value: str) -> None:
        self.expires = value

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        infos = await (await workspace.allowed()).services.shares.links(workspace.project_id)
        self.links = [
            ShareRow(
                id=info.id,
                version=info.version or 0,
                created=info.created_at.strftime("%d %b, %H:%M"),
                status="turned off"
                if info.revoked
                else "expired"
                if info.expired
                else (f"until {info.expires_at.strftime('%d %b')}" if info.expires_at else "no end date"),
                active=not (info.revoked or info.expired),
            )
            for info in infos
        ]

    @rx.event
    async def create(self):
        """A link to the current version; it keeps showing that version after later changes."""
        workspace = await self.get_state(WorkspaceState)
        try:
            services = (await workspace.allowed(Permission.edit)).services
            created = await services.shares.create(
                workspace.project_id, workspace.current_version, parse_expires(self.expires), page_url=str(self.router.url)
            )
        except (ForjaError, ValueError) as exc:
            self.error = str(exc)
            return
        self.link = created.url
        await self._load()

    @rx.event
    async def revoke(self, share_id: int):
        workspace = await self.get_state(WorkspaceState)
        services = (await workspace.allowed(Permission.edit)).services
        if await services.shares.project_of(share_id) != workspace.project_id:
            raise NotFound(f"There is no share link {share_id}.")
        await services.shares.revoke(share_id)
        await self._load()
