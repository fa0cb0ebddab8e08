"""HTTP routes for a project's log: its last lines as JSON, or every line then new ones as server-sent events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from builder.api.bodies import CheckedRoute
from builder.api.identity import Viewer
from builder.api.params import LogLines, LogSince
from builder.composition import get_services
from preview_runtime.logs import LogLine

router = APIRouter(route_class=CheckedRoute)


@router.get("/api/projects/{project_id}/logs/tail", tags=["logs"])
async def log_tail(project_id: str, _: Viewer, lines: LogLines = 50) -> list[LogLine]:
    """The last lines of the project's log, as JSON."""
    services = await get_services()
    await services.projects.get(project_id)
    return services.logs.history(project_id)[-max(1, min(lines, 2000)) :]


@router.get("/api/projects/{project_id}/logs", tags=["logs"])
async def follow_logs(project_id: str, _: Viewer, since: LogSince = 0) -> StreamingResponse:
    """Server-sent events: every log line of the project, then new ones as they come."""
    services = await get_services()
    await services.projects.get(project_id)

    async def events() -> AsyncIterator[str]:
        async for line in services.logs.follow(project_id, since):
            yield f"id: {line.seq}\nevent: log\ndata: {json.dumps(line.model_dump(mode='json'))}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
