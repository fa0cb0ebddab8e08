"""Rename, duplicate and trash a project from its workspace; the trash on the home page."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import FileTreeError, InvalidInput, NotFound
from builder.services import get_services
from builder.state.home import HomeState
from builder.state.workspace import WorkspaceState


@dataclasses.dataclass
class TrashRow:
    id: str
    name: str
    deleted: str
    purge: str


class ProjectActionsState(rx.State):
    rename_open: bool = False
    new_name: str = ""
    trash: rx.Field[list[TrashRow]] = rx.field(default_factory=list)
    error: str = ""

    @rx.event
    async def start_rename(self):
        self.new_name = (await self.get_state(WorkspaceState)).project_name
        self.error = ""
        self.rename_open = True

    @rx.event
    def set_rename_open(self, value: bool) -> None:
        self.rename_open = value

    @rx.event
    def set_new_name(self, value: str) -> None:
        self.new_name = value

    @rx.event
    async def rename(self):
        workspace = await self.get_state(WorkspaceState)
        try:
            await (await get_services()).projects.rename(workspace.project_id, self.new_name)
        except (FileTreeError, InvalidInput, NotFound) as exc:
            self.error = str(exc)
            return
        self.rename_open = False
        workspace.project_name = " ".join(self.new_name.split())

    @rx.event
    async def duplicate(self):
        """A copy of the current version as a new project, opened at once."""
        workspace = await self.get_state(WorkspaceState)
        new_id = await (await get_services()).history.duplicate(workspace.project_id, name=f"{workspace.project_name} (copy)")
        return rx.redirect(f"/p/{new_id}")

    @rx.event
    async def move_to_trash(self):
        workspace = await self.get_state(WorkspaceState)
        await (await get_services()).history.delete(workspace.project_id)
        home = await self.get_state(HomeState)
        home.error = ""
        return [
            rx.redirect("/"),
            rx.toast(f"\u201c{workspace.project_name}\u201d moved to the trash; restore it from the home page within 30 days."),
        ]

    @rx.event
    async def load_trash(self) -> None:
        self.trash = [
            TrashRow(
                id=t.id,
                name=t.name,
                deleted=t.deleted_at.strftime("%d %b"),
                purge=t.purge_at.strftime("%d %b") if t.purge_at else "",
            )
            for t in await (await get_services()).history.list_trash()
        ]

    @rx.event
    async def restore(self, project_id: str):
        await (await get_services()).history.undelete(project_id)
        await self.load_trash()
        return HomeState.load
