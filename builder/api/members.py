"""HTTP routes for the people of a project: who has which role, and (for its owners) adding, changing, removing.

Anyone with a role sees the list and may leave; only an owner changes it. The service keeps every
project with an owner (422 otherwise) and says what to do when an address has no account.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Owner, Viewer
from builder.composition import get_services
from builder.errors import NotFound
from builder.models import ProjectRole
from builder.schemas import MemberInfo, RequestBody
from builder.services.access import Permission

router = APIRouter(route_class=CheckedRoute)


class MemberAdd(RequestBody):
    email: str = Field(max_length=254, description="The address the person signs in with; they need an account here.")
    role: ProjectRole = Field(description="owner, editor (changes it) or viewer (sees it).")


class MemberChange(RequestBody):
    role: ProjectRole


@router.get("/api/projects/{project_id}/members", tags=["people"])
async def list_members(project_id: str, _: Viewer) -> list[MemberInfo]:
    """Everyone with a role in the project, owners first."""
    return await (await get_services()).access.members(project_id)


@router.post("/api/projects/{project_id}/members", status_code=201, tags=["people"])
async def add_member(project_id: str, body: MemberAdd, actor: Owner) -> MemberInfo:
    """Give the person with this address a role in the project (or change theirs). 404 when nobody has an account
    for it: an admin invites them first."""
    return await (await get_services()).access.add_member(project_id, body.email, body.role, actor.is_admin)


@router.patch("/api/projects/{project_id}/members/{user_id}", tags=["people"])
async def change_member(project_id: str, user_id: str, body: MemberChange, _: Owner) -> MemberInfo:
    """Change a member's role; 422 when it would leave the project without an owner."""
    access = (await get_services()).access
    member = next((m for m in await access.members(project_id) if m.user_id == user_id), None)
    if member is None:
        raise NotFound("That person has no role in this project.")
    return await access.add_member(project_id, member.email, body.role)


@router.delete("/api/projects/{project_id}/members/{user_id}", status_code=204, tags=["people"])
async def remove_member(project_id: str, user_id: str, actor: CurrentActor) -> Response:
    """Remove a member (owners), or leave the project yourself (anyone with a role); 422 for its last owner."""
    services = await get_services()
    await services.access.require(actor, project_id, Permission.view if user_id == actor.user_id else Permission.own)
    await services.access.remove_member(project_id, user_id)
    return Response(status_code=204)
