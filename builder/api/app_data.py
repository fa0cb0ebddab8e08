"""HTTP route for a server app's data (its /data folder and database): its preview's, emptied on request."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor
from builder.composition import get_services

router = APIRouter(route_class=CheckedRoute, tags=["data"])


class DataReset(BaseModel):
    scope: str = Field(description='Whose data was emptied: "preview".')
    reset: bool = True


@router.delete("/api/projects/{project_id}/data")
async def reset_data(
    project_id: str,
    actor: Editor,
    scope: Annotated[
        Literal["preview"],
        Query(description="Whose data: the preview's (the published app's data is never reset from here)."),
    ] = "preview",
) -> DataReset:
    """Empty the preview's /data folder and drop its database (a new empty one comes at its next start); a running
    preview restarts. The published app's data stays."""
    await (await get_services()).app_data.reset(project_id, scope, actor.user_id)
    return DataReset(scope=scope)
