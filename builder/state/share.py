"""The Share dialog: make a link to a version's running preview, or, once the project is published, to its live app
(which follows later publishes) or to the release live now, pinned; copy it, turn old links off."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError, NotFound
from builder.services.access import Permission
from builder.services.shares import ShareInfo, ShareKind, parse_expires
from builder.state.workspace import WorkspaceState

EXPIRY_CHOICES = {"24h": "1 day", "7d": "7 days", "30d": "30 days", "never": "Never"}
KINDS: tuple[ShareKind, ...] = ("preview", "live", "release")


def opens(info: ShareInfo) -> str:
    """What a link opens, as its row says it."""
    if info.target == "live":
        return "The live app"
    if info.target == "release":
        return f"Release {info.release}"
    return f"Version {info.version or 0}"


@dataclasses.dataclass
class ShareRow:
    id: int
    opens: str
    created: str
    status: str
    active: bool


class ShareState(rx.State):
    open_dialog: bool = False
    expires: str = "7d"
    link: str = ""
    links: rx.Field[list[ShareRow]] = rx.field(default_factory=list)
    error: str = ""
    # What a new link opens (KINDS); the published app's choices show only while it has a live release.
    kind: str = "preview"
    live_release: int = 0

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

    @rx.event
    def set_kind(self, value: str) -> None:
        self.kind = value if value in KINDS else "preview"

    async def _load(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        services = (await workspace.allowed()).services
        infos = await services.shares.links(workspace.project_id)
        app = await services.publishing.app(workspace.project_id)
        self.live_release = (app.live_release or 0) if app is not None and app.state == "live" else 0
        if not self.live_release:
            self.kind = "preview"
        self.links = [
            ShareRow(
                id=info.id,
                opens=opens(info),
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
        """A link to the current version's preview (it keeps showing that version after later changes), or to the
        published app: live, or the release live now, pinned."""
        workspace = await self.get_state(WorkspaceState)
        kind: ShareKind = "live" if self.kind == "live" else "release" if self.kind == "release" else "preview"
        try:
            services = (await workspace.allowed(Permission.edit)).services
            created = await services.shares.create(
                workspace.project_id,
                workspace.current_version if kind == "preview" else None,
                parse_expires(self.expires),
                page_url=str(self.router.url),
                target=kind,
                release=self.live_release if kind == "release" else None,
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
