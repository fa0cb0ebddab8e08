"""HTTP route for who has a project open now (the avatars the workspace shows), for scripts and dashboards."""

from __future__ import annotations

from fastapi import APIRouter

from builder.api.bodies import CheckedRoute
from builder.api.identity import Viewer
from builder.composition import get_services
from builder.schemas import PresenceInfo

router = APIRouter(route_class=CheckedRoute)


@router.get("/api/projects/{project_id}/presence", tags=["people"])
async def list_presence(project_id: str, _: Viewer) -> list[PresenceInfo]:
    """Every page that has the project open now, first come first: whose it is, which tab and file it shows and
    whether it asked for the generation that runs. One person with two tabs open is listed twice; a page that closed
    is gone within a second, one whose browser crashed within 15 s."""
    return await (await get_services()).presence.here(project_id)
