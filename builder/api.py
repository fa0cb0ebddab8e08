"""Forja's HTTP API, mounted in front of the Reflex app (the same origin and port).

Routes are thin: each parses its input and calls the service layer; one handler answers every
ForjaError with its status and its sentence.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Literal

import swagger_ui
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from builder.doctor import DoctorReport, diagnose
from builder.errors import ForjaError, NotFound, PreviewError
from builder.filetree import encode_text, human_size
from builder.http_guards import limited_bodies, trusted_hosts
from builder.models import Author
from builder.routes.account import router as account_router
from builder.routes.admin import router as admin_router
from builder.routes.attachments import router as attachments_router
from builder.routes.auth import router as auth_router
from builder.routes.generations import router as generations_router
from builder.routes.history import router as history_router
from builder.routes.identity import CurrentActor, Editor, Viewer, signed_in_api
from builder.routes.members import router as members_router
from builder.routes.shares import router as shares_router
from builder.routes.text_edits import router as text_edits_router
from builder.routes.verifications import router as verifications_router
from builder.schemas import (
    DEFAULT_PAGE,
    MAX_PAGE,
    CommitResult,
    FileContent,
    FileInfo,
    ProjectDetail,
    ProjectName,
    ProjectPage,
    VersionInfo,
)
from builder.services import Services, get_services
from builder.services.access import Actor
from builder.settings import settings
from preview_runtime import console_bridge
from preview_runtime.logs import LogLevel, LogLine
from preview_runtime.runner import PreviewInfo, PreviewState

log = logging.getLogger(__name__)

api = FastAPI(
    title="Forja",
    summary="Prompt-to-app builder: projects, versions and files.",
    version="0.1.0",
    docs_url=None,
    redoc_url=None,
    openapi_url="/api/openapi.json",
)


# Swagger UI 5 (it reads OpenAPI 3.1) as shipped in the swagger-ui-py package.
api.include_router(account_router)
api.include_router(admin_router)
api.include_router(attachments_router)
api.include_router(auth_router)
api.include_router(generations_router)
api.include_router(history_router)
api.include_router(members_router)
api.include_router(shares_router)
api.include_router(text_edits_router)
api.include_router(verifications_router)
api.mount("/api/docs-assets", StaticFiles(directory=Path(swagger_ui.__file__).parent / "static"), name="docs-assets")


@api.get("/api/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    """Swagger UI served by Forja: FastAPI's default page loads it from a CDN."""
    return get_swagger_ui_html(
        openapi_url=api.openapi_url or "/api/openapi.json",
        title="Forja API",
        swagger_js_url="/api/docs-assets/swagger-ui-bundle.js",
        swagger_css_url="/api/docs-assets/swagger-ui.css",
        swagger_favicon_url="/favicon.ico",
    )


class ErrorResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: an error may quote input holding a lone surrogate,
    which cannot be encoded as UTF-8 (Starlette's JSONResponse would fail on it with a 500)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


@api.exception_handler(ForjaError)
async def forja_error(_request: Request, exc: ForjaError) -> JSONResponse:
    return ErrorResponse(exc.body(), status_code=exc.status)


@api.exception_handler(RequestValidationError)
async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 answer, rendered so that it survives any input it quotes."""
    return ErrorResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


class ProjectCreate(BaseModel):
    name: ProjectName
    files: dict[str, str] = Field(description="{path: UTF-8 content}", examples=[{"index.html": "<h1>Hello</h1>"}])


class FileWrite(BaseModel):
    content: str
    encoding: str = Field(default="utf-8", pattern="^(utf-8|base64)$")
    message: str = ""


class Created(BaseModel):
    id: str
    version: int
    files: int


class Health(BaseModel):
    status: Literal["ok"]
    projects: int


class Unhealthy(BaseModel):
    status: Literal["down"]
    problems: list[str] = Field(description="What does not answer, in words (never an address or a password).")


@api.get("/health", tags=["meta"], response_model=Health, responses={503: {"model": Unhealthy}})
async def health() -> Health | JSONResponse:
    """Whether this worker can serve: its database answers a SELECT 1 and, with REDIS_URL, Redis a PING (503 if not).

    No sign-in: load balancers and orchestrators call it to decide whether to send traffic here or restart it.
    """
    try:
        services = await get_services()
    except (SQLAlchemyError, RedisError, OSError, ForjaError) as exc:
        # Forja could not start its services (the database or Redis was down when it tried): it tries again next call.
        log.warning("health: the services could not start: %s", exc)
        problems = [f"Forja could not start: its database or Redis does not answer ({type(exc).__name__})."]
        return JSONResponse(Unhealthy(status="down", problems=problems).model_dump(), status_code=503)
    if problems := await services.unanswered():
        return JSONResponse(Unhealthy(status="down", problems=problems).model_dump(), status_code=503)
    return Health(status="ok", projects=await services.projects.count())


@api.get("/api/doctor", tags=["meta"])
async def doctor() -> DoctorReport:
    """What this machine can run: each preview runner's readiness, which one `auto` picks and why, and Forja's dependencies."""
    services = await get_services()
    return await diagnose(services.previews.image.status, services.previews.webcontainer_boots())


@api.post("/api/projects", status_code=201, tags=["projects"])
async def create_project(request: Request, actor: CurrentActor) -> Created:
    """Create a project (yours) from JSON `{name, files: {path: content}}` or a multipart zip upload (`file`, optional
    `name`)."""
    services = await get_services()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        result = await _create_from_upload(request, actor)
    else:
        try:
            body = ProjectCreate.model_validate(await request.json())
        except ValueError as exc:
            raise HTTPException(422, f"Send JSON {{'name': ..., 'files': {{path: content}}}} or a zip upload: {exc}") from None
        files = {p: encode_text(p, c) for p, c in body.files.items()}
        result = await services.projects.import_tree(body.name, files, "the API", owner=actor.user_id)
    return Created(id=result.project_id, version=result.version.number, files=len(result.changed))


async def _create_from_upload(request: Request, actor: Actor) -> CommitResult:
    services = await get_services()
    async with request.form(max_part_size=settings.max_upload_bytes) as form:
        upload = form.get("file")
        # Starlette's UploadFile: FastAPI's is a subclass, which the parsed form's files are not.
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(422, "Attach the project as a form field named 'file' (a .zip).")
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"The upload is larger than {human_size(settings.max_upload_bytes)} (the limit).")
        name = form.get("name")
        return await services.projects.import_upload(
            upload.filename, data, name if isinstance(name, str) and name.strip() else None, owner=actor.user_id
        )


@api.get("/api/projects", tags=["projects"])
async def list_projects(
    actor: CurrentActor,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ProjectPage:
    """Your projects (those you have a role in) not in the trash, most recently changed first, one page at a time
    (`total` counts them all); each says your role."""
    return await (await get_services()).projects.page(actor, limit, offset)


@api.get("/api/projects/{project_id}", tags=["projects"])
async def get_project(project_id: str, _: Viewer) -> ProjectDetail:
    return await (await get_services()).projects.get(project_id)


@api.get("/api/projects/{project_id}/versions", tags=["versions"])
async def list_versions(project_id: str, _: Viewer) -> list[VersionInfo]:
    return await (await get_services()).projects.versions(project_id)


@api.get("/api/projects/{project_id}/files", tags=["files"])
async def list_files(project_id: str, _: Viewer, version: int | None = None) -> list[FileInfo]:
    return await (await get_services()).projects.files(project_id, version)


@api.get("/api/projects/{project_id}/files/{path:path}", tags=["files"])
async def read_file(project_id: str, path: str, _: Viewer, version: int | None = None, raw: bool = False) -> FileContent:
    """A file as JSON (`content` + `encoding`), or its bytes with `?raw=true`."""
    data = await (await get_services()).projects.read_file(project_id, path, version)
    if raw:
        return Response(data, media_type="application/octet-stream")  # type: ignore[return-value]
    return FileContent.of(path, data)


class ProjectTree(BaseModel):
    version: int
    files: list[FileContent]


@api.get("/api/projects/{project_id}/tree", tags=["files"])
async def read_tree(project_id: str, _: Viewer, version: int | None = None) -> ProjectTree:
    """Every file of a version (default: the current one) in one answer; the browser mounts it in a WebContainer."""
    projects = (await get_services()).projects
    number = version or (await projects.get(project_id)).current_version
    if number is None:
        raise NotFound(f"Project {project_id} has no files yet.")
    tree = await projects.read_tree(project_id, number)
    return ProjectTree(version=number, files=[FileContent.of(path, data) for path, data in sorted(tree.items())])


@api.put("/api/projects/{project_id}/files/{path:path}", tags=["files"])
async def write_file(project_id: str, path: str, body: FileWrite, _: Editor) -> VersionInfo:
    """Write one file; the project gets a new version (author `user`) unless nothing changed."""
    try:
        data = base64.b64decode(body.content, validate=True) if body.encoding == "base64" else encode_text(path, body.content)
    except binascii.Error:
        raise HTTPException(422, "content is not valid base64; send text with encoding 'utf-8' instead.") from None
    result = await (await get_services()).projects.save(project_id, {path: data}, message=body.message, author=Author.user)
    return result.version


@api.get("/api/projects/{project_id}/export", tags=["projects"])
async def export_project(project_id: str, _: Viewer, version: int | None = None) -> Response:
    filename, data = await (await get_services()).history.export_zip(project_id, version)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class PreviewRequest(BaseModel):
    runner: str = Field(default="auto", pattern="^(auto|swarm|docker|local)$")
    restart: bool = False


class PreviewStatus(BaseModel):
    url: str
    runner: str
    status: str
    version: int
    detail: str = ""


def _preview_status(info: PreviewInfo) -> PreviewStatus:
    return PreviewStatus(url=info.url, runner=info.runner, status=info.state.value, version=info.version, detail=info.detail)


@api.post("/api/projects/{project_id}/preview", tags=["preview"])
async def start_preview(project_id: str, actor: Viewer, body: PreviewRequest | None = None, wait: bool = False) -> PreviewStatus:
    """Run the current version (or return the preview already running).

    With `wait=true` the answer comes once the URL answers 200 or the preview failed (409 with the
    log tail); otherwise at once, and GET tells the status.
    """
    body = body or PreviewRequest()
    services = await get_services()
    info = await services.previews.start(project_id, body.runner, body.restart, started_by=actor.user_id)
    if wait:
        try:
            async with asyncio.timeout(settings.preview_start_timeout_s):
                info = await services.previews.wait_ready(project_id)
        except TimeoutError:
            raise PreviewError(
                f"The preview did not answer within {settings.preview_start_timeout_s} s.\n{_tail(services, project_id)}"
            ) from None
        if info.state == PreviewState.failed:
            raise PreviewError(f"The preview failed: {info.detail}\n{_tail(services, project_id)}")
    return _preview_status(info)


def _tail(services: Services, project_id: str, lines: int = 30) -> str:
    return "\n".join(line.text for line in services.logs.history(project_id)[-lines:])


@api.get("/api/projects/{project_id}/preview", tags=["preview"])
async def preview_status(project_id: str, _: Viewer) -> PreviewStatus:
    services = await get_services()
    await services.projects.get(project_id)
    info = await services.previews.status(project_id)
    if info is None:
        raise HTTPException(404, "No preview is running for this project; start one with POST.")
    return _preview_status(info)


@api.delete("/api/projects/{project_id}/preview", status_code=204, tags=["preview"])
async def stop_preview(project_id: str, _: Viewer) -> Response:
    services = await get_services()
    await services.projects.get(project_id)
    if not await services.previews.stop(project_id):
        raise HTTPException(404, "No preview is running for this project.")
    return Response(status_code=204)


@api.get("/api/projects/{project_id}/preview/logs", tags=["preview"])
async def follow_preview_logs(project_id: str, actor: Viewer, since: int = 0) -> StreamingResponse:
    """Server-sent events: install, dev-server and runtime output (the project's log stream)."""
    return await follow_logs(project_id, actor, since)


class BrowserLogLine(BaseModel):
    text: str = Field(max_length=console_bridge.MAX_TEXT)
    source: Literal["webcontainer", "install", "dev-server", "browser"] = Field(
        description="webcontainer (its own messages), install and dev-server (process output), browser (the preview's console)."
    )
    level: LogLevel | None = Field(
        default=None, description="error for console errors and uncaught exceptions; empty: judged from the text."
    )


class BrowserLogLines(BaseModel):
    lines: list[BrowserLogLine] = Field(max_length=200)


@api.post("/api/projects/{project_id}/preview/logs", status_code=204, tags=["preview"])
async def add_browser_log_lines(project_id: str, body: BrowserLogLines, _: Viewer) -> Response:
    """Lines the builder page reports: WebContainer output and the preview's console errors.

    Only the builder's own page may send them (same-origin writes); a preview cannot.
    """
    services = await get_services()
    await services.projects.get(project_id)
    for line in body.lines:
        services.logs.emit(project_id, line.text, line.level, line.source)
    return Response(status_code=204)


@api.get("/api/projects/{project_id}/logs/tail", tags=["logs"])
async def log_tail(project_id: str, _: Viewer, lines: int = 50) -> list[LogLine]:
    """The last lines of the project's log, as JSON."""
    services = await get_services()
    await services.projects.get(project_id)
    return services.logs.history(project_id)[-max(1, min(lines, 2000)) :]


@api.get("/api/projects/{project_id}/logs", tags=["logs"])
async def follow_logs(project_id: str, _: Viewer, since: int = 0) -> StreamingResponse:
    """Server-sent events: every log line of the project, then new ones as they come."""
    services = await get_services()
    await services.projects.get(project_id)

    async def events() -> AsyncIterator[str]:
        async for line in services.logs.follow(project_id, since):
            yield f"id: {line.seq}\nevent: log\ndata: {json.dumps(line.model_dump(mode='json'))}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


ISOLATION_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"credentialless"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_origin_writes(app: ASGIApp) -> ASGIApp:
    """Refuse changes requested by pages of other origins (a preview, any site the person visits).

    CORS keeps other origins from reading answers, but a cross-site form POST still reaches the
    server; a browser always names the Origin of such a request. Clients without one (the CLI,
    curl) are not browsers and pass.
    """
    allowed = {origin.encode() for origin in settings.builder_origins}

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            origin = dict(scope["headers"]).get(b"origin")
            if origin is not None and origin not in allowed:
                response = JSONResponse({"detail": "Requests from other sites may not change Forja's projects."}, status_code=403)
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def isolate(app: ASGIApp) -> ASGIApp:
    """Make every page cross-origin isolated, which WebContainers need to boot.

    `credentialless` rather than `require-corp`: cross-origin loads (the preview iframe's
    subresources) still work without each carrying a CORP header, but get no cookies.
    """

    async def isolated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in ISOLATION_HEADERS if h[0] not in present]
            await send(message)

        await app(scope, receive, send_with_headers)

    return isolated


# Every request passes these before the API or the page: each wraps the ones before it, so the last is the outermost
# (a foreign Host or an oversized body is refused before anything else looks at the request).
API_GUARDS: list[Callable[[ASGIApp], ASGIApp]] = [signed_in_api, same_origin_writes, isolate, limited_bodies, trusted_hosts]


def guarded(app: ASGIApp) -> ASGIApp:
    """`app` behind API_GUARDS, as Forja serves it (tests and the CLI's served API use this too)."""
    for guard in API_GUARDS:
        app = guard(app)
    return app
