"""Rename, duplicate and trash a project from its workspace; the trash on the home page."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError
from builder.services.access import Permission
from builder.state.auth import for_project, signed_in
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
    # Moving to the trash is asked first: it says the app's data goes with the project for good after TRASH_DAYS.
    trash_open: bool = False
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
            services = (await workspace.allowed(Permission.edit)).services
            await services.projects.rename(workspace.project_id, self.new_name)
        except ForjaError as exc:
            self.error = str(exc)
            return
        self.rename_open = False
        workspace.project_name = " ".join(self.new_name.split())

    @rx.event
    async def duplicate(self):
        """A copy of the current version as a new project, opened at once."""
        workspace = await self.get_state(WorkspaceState)
        allowed = await workspace.allowed()
        new_id = await allowed.services.history.duplicate(workspace.project_id, owner=allowed.actor.user_id)
        return rx.redirect(f"/p/{new_id}")

    @rx.event
    def set_trash_open(self, value: bool) -> None:
        self.trash_open = value

    @rx.event
    async def move_to_trash(self):
        workspace = await self.get_state(WorkspaceState)
        await (await workspace.allowed(Permission.own)).services.history.delete(workspace.project_id)
        self.trash_open = False
        home = await self.get_state(HomeState)
        home.error = ""
        return [
            rx.redirect("/"),
            rx.toast(f"\u201c{workspace.project_name}\u201d moved to the trash; restore it from the home page within 30 days."),
        ]

    @rx.event
    async def load_trash(self) -> None:
        allowed = await signed_in(self)
        self.trash = [
            TrashRow(
                id=t.id,
                name=t.name,
                deleted=t.deleted_at.strftime("%d %b"),
                purge=t.purge_at.strftime("%d %b") if t.purge_at else "",
            )
            for t in await allowed.services.history.list_trash(allowed.actor)
        ]

    @rx.event
    async def restore(self, project_id: str):
        await (await for_project(self, project_id, Permission.own)).services.history.undelete(project_id)
        await self.load_trash()
        return HomeState.load
