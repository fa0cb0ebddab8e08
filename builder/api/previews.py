"""HTTP routes for a project's preview: start (optionally waiting until it answers), status, stop, its run settings,
its log stream, and the lines the builder's own page reports (WebContainer output and the preview's console errors)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Viewer
from builder.api.logs import follow_logs
from builder.api.params import LogSince
from builder.errors import PreviewError
from builder.schemas import RequestBody
from builder.services import Services, get_services
from builder.services.run_settings import RunSettings, RunSettingsInfo
from builder.services.verification import start_timeout_sentence
from builder.settings import settings
from preview_runtime import console_bridge
from preview_runtime.logs import LogLevel
from preview_runtime.runner import PreviewInfo, PreviewState

router = APIRouter(route_class=CheckedRoute)


class PreviewRequest(RequestBody):
    runner: str = Field(default="auto", pattern="^(auto|swarm|docker|local)$")
    restart: bool = False


class PreviewStatus(BaseModel):
    url: str
    runner: str
    status: str = Field(
        description="starting, installing, running (its address answers through the preview proxy), reconnecting (it "
        "runs, but the preview proxy does not answer now and is being started again; `detail` says so), not_answering "
        "(it runs behind a proxy that answers, but its app has answered nothing for about 20 s; `detail` says so), "
        "parked, failed or stopped."
    )
    version: int
    detail: str = ""


def _preview_status(info: PreviewInfo) -> PreviewStatus:
    return PreviewStatus(url=info.url, runner=info.runner, status=info.state.value, version=info.version, detail=info.detail)


@router.post("/api/projects/{project_id}/preview", tags=["preview"])
async def start_preview(project_id: str, actor: Viewer, body: PreviewRequest | None = None, wait: bool = False) -> PreviewStatus:
    """Run the current version (or return the preview already running).

    With `wait=true` the answer comes once the app answers at its URL (any status of its own) or the preview failed (409 with the
    log tail); otherwise at once, and GET tells the status.
    """
    body = body or PreviewRequest()
    return await started_preview(await get_services(), project_id, body.runner, body.restart, wait, actor.user_id)


async def started_preview(
    services: Services, project_id: str, runner: str, restart: bool, wait: bool, user_id: str | None
) -> PreviewStatus:
    """Start (or reuse) the project's preview; with `wait`, once it answers, or PreviewError with why and its log tail.
    The MCP endpoint starts previews with it too."""
    info = await services.previews.start(project_id, runner, restart, started_by=user_id)
    if wait:
        try:
            async with asyncio.timeout(settings.preview_start_timeout_s):
                info = await services.previews.wait_ready(project_id)
        except TimeoutError:
            why = start_timeout_sentence(await services.previews.status(project_id))
            raise PreviewError(f"{why}\n{_tail(services, project_id)}") from None
        if info.state == PreviewState.failed:
            raise PreviewError(f"The preview failed: {info.detail}\n{_tail(services, project_id)}")
    return _preview_status(info)


def _tail(services: Services, project_id: str, lines: int = 30) -> str:
    return "\n".join(line.text for line in services.logs.history(project_id)[-lines:])


@router.get("/api/projects/{project_id}/preview", tags=["preview"])
async def preview_status(project_id: str, _: Viewer) -> PreviewStatus:
    services = await get_services()
    await services.projects.get(project_id)
    info = await services.previews.status(project_id)
    if info is None:
        raise HTTPException(404, "No preview is running for this project; start one with POST.")
    return _preview_status(info)


@router.delete("/api/projects/{project_id}/preview", status_code=204, tags=["preview"])
async def stop_preview(project_id: str, _: Viewer) -> Response:
    services = await get_services()
    await services.projects.get(project_id)
    if not await services.previews.stop(project_id):
        raise HTTPException(404, "No preview is running for this project.")
    return Response(status_code=204)


@router.get("/api/projects/{project_id}/preview/logs", tags=["preview"])
async def follow_preview_logs(project_id: str, actor: Viewer, since: LogSince = 0) -> StreamingResponse:
    """Server-sent events: install, dev-server and runtime output (the project's log stream)."""
    return await follow_logs(project_id, actor, since)


@router.get("/api/projects/{project_id}/run-settings", tags=["preview"])
async def get_run_settings(project_id: str, _: Viewer) -> RunSettingsInfo:
    """The project's run settings (a start command and an app folder; empty: Forja works them out), with its folders."""
    return await (await get_services()).run_settings.get(project_id)


@router.put("/api/projects/{project_id}/run-settings", tags=["preview"])
async def put_run_settings(project_id: str, body: RunSettings, actor: Editor) -> RunSettingsInfo:
    """Keep the project's run settings; its running preview restarts with them. The folder must be in the project."""
    return await (await get_services()).run_settings.set(project_id, body, started_by=actor.user_id)


class BrowserLogLine(RequestBody):
    text: str = Field(max_length=console_bridge.MAX_TEXT)
    source: Literal["webcontainer", "install", "dev-server", "browser"] = Field(
        description="webcontainer (its own messages), install and dev-server (process output), browser (the preview's console)."
    )
    level: LogLevel | None = Field(
        default=None, description="error for console errors and uncaught exceptions; empty: judged from the text."
    )


class BrowserLogLines(RequestBody):
    lines: list[BrowserLogLine] = Field(max_length=200)


@router.post("/api/projects/{project_id}/preview/logs", status_code=204, tags=["preview"])
async def add_browser_log_lines(project_id: str, body: BrowserLogLines, _: Viewer) -> Response:
    """Lines the builder page reports: WebContainer output and the preview's console errors.

    Only the builder's own page may send them (same-origin writes); a preview cannot.
    """
    services = await get_services()
    await services.projects.get(project_id)
    for line in body.lines:
        services.logs.emit(project_id, line.text, line.level, line.source)
    return Response(status_code=204)
