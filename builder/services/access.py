"""Who may do what: the person behind a request (an Actor) and their role in each project.

Every entry point (a page's event, an API route, a CLI command) names the person and asks `require`
before it touches a project; the services it then calls trust that check. A project a person has no
role in does not exist as far as they can tell (404, the same answer as a made-up id).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from builder.errors import Forbidden, InvalidInput, NotFound
from builder.models import LOCAL_USER_ID, ProjectRole, Role
from builder.schemas import MemberInfo
from builder.store import ProjectStore


class Permission(enum.IntEnum):
    """What a request needs, in rising order: each role grants its own and those below."""

    view = 1  # read files, history, logs and checks; run and export the app
    edit = 2  # change files, generate, restore, rename, share links
    own = 3  # trash or restore the project, choose who works on it


GRANTS = {ProjectRole.viewer: Permission.view, ProjectRole.editor: Permission.edit, ProjectRole.owner: Permission.own}

_NEEDS = {
    Permission.edit: "an editor or its owner",
    Permission.own: "its owner",
}


@dataclass(frozen=True)
class Actor:
    """A signed-in person (or, with FORJA_AUTH=none, the machine's one user, who may do everything)."""

    user_id: str
    email: str
    name: str
    role: Role
    # FORJA_AUTH=none: no accounts, so no project is anyone else's.
    unrestricted: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def member_filter(self) -> str | None:
        """Whose projects lists show: this person's, or every project (None) for the local user."""
        return None if self.unrestricted else self.user_id


def require_admin(actor: Actor) -> None:
    """Forbidden unless the person is an admin of this Forja (the local user is, without accounts)."""
    if not actor.is_admin:
        raise Forbidden("Only an admin of this Forja may do that.")


LOCAL_ACTOR = Actor(LOCAL_USER_ID, "local@localhost", "You", Role.admin, unrestricted=True)


def no_such_project(project_id: str) -> NotFound:
    return NotFound(f"There is no project {project_id!r}. It may have been deleted; see the home page for your projects.")


class AccessService:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    async def role(self, actor: Actor, project_id: str) -> ProjectRole | None:
        if actor.unrestricted:
            return ProjectRole.owner
        return await self._store.member_role(project_id, actor.user_id)

    async def require(self, actor: Actor, project_id: str, need: Permission, hidden: NotFound | None = None) -> ProjectRole:
        """The person's role in the project if it grants `need`; NotFound when they have none (`hidden` when the
        request named something else of the project's, so its id is not given away), Forbidden when it is too small
        (they know the project exists then: they can open it)."""
        role = await self.role(actor, project_id)
        if role is None:
            raise hidden or no_such_project(project_id)
        if GRANTS[role] < need:
            raise Forbidden(
                f"You are a {role.value} of this project: only {_NEEDS[need]} may do that. Ask its owner for more access."
            )
        return role

    async def require_owner_or_admin(self, actor: Actor, project_id: str) -> None:
        """The project's owner, or an admin of this Forja whatever their role in it (they look after every app it
        serves): NotFound for a project that does not exist, or that a person with no role in it asks about; Forbidden
        for its editors and viewers."""
        if actor.is_admin and await self._store.owners([project_id]):
            return
        await self.require(actor, project_id, Permission.own)

    async def roles(self, actor: Actor, project_ids: list[str]) -> dict[str, ProjectRole]:
        """The person's role in each of these projects (owner everywhere for the local user)."""
        if actor.unrestricted:
            return dict.fromkeys(project_ids, ProjectRole.owner)
        return await self._store.member_roles(actor.user_id, project_ids)

    # -- people of a project (the caller checked Permission.view to list, Permission.own to change) --

    async def members(self, project_id: str) -> list[MemberInfo]:
        return [
            MemberInfo(user_id=user.id, email=user.email, name=user.name, role=role)
            for user, role in await self._store.members(project_id)
        ]

    async def add_member(self, project_id: str, email: str, role: ProjectRole, by_admin: bool = False) -> MemberInfo:
        """Give the person with this email a role in the project (or change theirs); `by_admin`: the one asking is an
        admin of this Forja, who invites people themself."""
        user = await self._store.user_by_email(email.strip().lower())
        if user is None or user.id == LOCAL_USER_ID:
            invite = "Invite them from the admin page" if by_admin else "Ask an admin to invite them"
            raise NotFound(f"Nobody has an account for {email} on this Forja. {invite}; once they have signed up, add them here.")
        if user.disabled_at is not None:
            raise InvalidInput(f"The account of {email} is disabled; an admin can enable it again.")
        if role != ProjectRole.owner and await self._store.member_role(project_id, user.id) == ProjectRole.owner:
            await self._keep_an_owner(project_id, user.id)
        await self._store.set_member(project_id, user.id, role)
        return MemberInfo(user_id=user.id, email=user.email, name=user.name, role=role)

    async def remove_member(self, project_id: str, user_id: str) -> None:
        if await self._store.member_role(project_id, user_id) == ProjectRole.owner:
            await self._keep_an_owner(project_id, user_id)
        if not await self._store.remove_member(project_id, user_id):
            raise NotFound("That person has no role in this project.")

    async def _keep_an_owner(self, project_id: str, leaving: str) -> None:
        owners = [user for user, role in await self._store.members(project_id) if role == ProjectRole.owner]
        if [user.id for user in owners] == [leaving]:
            raise InvalidInput("A project needs an owner: make someone else its owner first.")
