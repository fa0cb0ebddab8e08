"""The People dialog of a project: who works on it; its owners add, change and remove people, anyone may leave."""

from __future__ import annotations

import dataclasses

import reflex as rx

from builder.errors import ForjaError, NotFound
from builder.models import ProjectRole
from builder.services.access import Permission
from builder.state.auth import Allowed
from builder.state.workspace import WorkspaceState

# What the owner may give someone they add; making another owner is a change of role, once they are in.
ADD_ROLES = {ProjectRole.editor.value: "Editor: can change it", ProjectRole.viewer.value: "Viewer: can look at it"}
ROLE_LABELS = {ProjectRole.owner.value: "Owner", ProjectRole.editor.value: "Editor", ProjectRole.viewer.value: "Viewer"}


def a_role(role: str) -> str:
    """'an editor', 'a viewer', 'an owner'."""
    return f"{'an' if role[:1] in 'aeiou' else 'a'} {role}"


@dataclasses.dataclass
class MemberRow:
    user_id: str
    name: str
    email: str
    role: str
    you: bool


class PeopleState(rx.State):
    open_dialog: bool = False
    members: rx.Field[list[MemberRow]] = rx.field(default_factory=list)
    email: str = ""
    role: str = ProjectRole.editor.value
    error: str = ""
    notice: str = ""

    @rx.event
    async def set_open(self, value: bool) -> None:
        """The dialog opened (its trigger) or closed (Escape, the close button, outside it)."""
        self.open_dialog = value
        if value:
            self.error = self.notice = ""
            await self._load(await (await self.get_state(WorkspaceState)).allowed())

    @rx.event
    def set_email(self, value: str) -> None:
        self.email = value

    @rx.event
    def set_role(self, value: str) -> None:
        self.role = value

    async def _load(self, allowed: Allowed) -> None:
        workspace = await self.get_state(WorkspaceState)
        self.members = [
            MemberRow(m.user_id, m.name, m.email, m.role.value, m.user_id == allowed.actor.user_id)
            for m in await allowed.services.access.members(workspace.project_id)
        ]

    async def _change(self, done: str, user_id: str, role: str | None) -> None:
        """Give `user_id` this role (None: remove them), as the project's owner; the page's own role follows when it was
        the person's."""
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed(Permission.own)
            access = allowed.services.access
            if role is None:
                await access.remove_member(workspace.project_id, user_id)
            else:
                member = next((m for m in self.members if m.user_id == user_id), None)
                if member is None:
                    raise NotFound("That person has no role in this project any more; close this and open People again.")
                await access.add_member(workspace.project_id, member.email, ProjectRole(role))
        except ForjaError as exc:
            self.error, self.notice = str(exc), ""
            return
        self.error, self.notice = "", done
        await self._load(allowed)
        if user_id == allowed.actor.user_id:
            await workspace._refresh(workspace.project_id)

    @rx.event
    async def add(self):
        workspace = await self.get_state(WorkspaceState)
        email = self.email.strip()
        if not email:
            self.error = "Type the email address your teammate signs in with."
            return
        try:
            allowed = await workspace.allowed(Permission.own)
            added = await allowed.services.access.add_member(
                workspace.project_id, email, ProjectRole(self.role), allowed.actor.is_admin
            )
        except (ForjaError, ValueError) as exc:
            self.error, self.notice = str(exc), ""
            return
        self.email = ""
        self.error, self.notice = "", f"{added.name} ({added.email}) is now {a_role(added.role.value)} of this project."
        await self._load(allowed)

    @rx.event
    async def change_role(self, user_id: str, role: str) -> None:
        name = next((m.name for m in self.members if m.user_id == user_id), "They")
        await self._change(f"{name} is now {a_role(role)} of this project.", user_id, role)

    @rx.event
    async def remove(self, user_id: str) -> None:
        name = next((m.name for m in self.members if m.user_id == user_id), "They")
        await self._change(f"{name} no longer has access to this project.", user_id, None)

    @rx.event
    async def leave(self):
        workspace = await self.get_state(WorkspaceState)
        try:
            allowed = await workspace.allowed()
            await allowed.services.access.remove_member(workspace.project_id, allowed.actor.user_id)
        except ForjaError as exc:
            self.error, self.notice = str(exc), ""
            return None
        self.open_dialog = False
        return [rx.redirect("/"), rx.toast(f"You left \u201c{workspace.project_name}\u201d.")]
