"""HTTP routes for projects: create (from JSON or a zip upload), list, read, their versions, and export as a zip."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from builder.api.bodies import CheckedRoute, check_json_type
from builder.api.identity import CurrentActor, Viewer
from builder.api.params import DEFAULT_PAGE, Offset, PageLimit, VersionAsked
from builder.composition import get_services
from builder.errors import InvalidInput
from builder.filetree import encode_text, human_size
from builder.git.imports import fetch_tree, shown
from builder.schemas import CommitResult, ProjectDetail, ProjectName, ProjectPage, RequestBody, VersionInfo
from builder.services.access import Actor
from builder.settings import settings

router = APIRouter(route_class=CheckedRoute)


class ProjectCreate(RequestBody):
    name: ProjectName
    files: dict[str, str] = Field(description="{path: UTF-8 content}", examples=[{"index.html": "<h1>Hello</h1>"}])


class GitImport(RequestBody):
    url: str = Field(max_length=2000, description="An https://, http:// or git:// address of a git repository.")
    ref: str | None = Field(default=None, max_length=200, description="A branch or tag (default: the repository's own).")
    name: ProjectName | None = Field(default=None, description="Default: the repository's name.")


class Created(BaseModel):
    id: str
    version: int
    files: int


@router.post("/api/projects", status_code=201, tags=["projects"])
async def create_project(request: Request, actor: CurrentActor) -> Created:
    """Create a project (yours) from JSON `{name, files: {path: content}}` or a multipart zip upload (`file`, optional
    `name`)."""
    services = await get_services()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        result = await _create_from_upload(request, actor)
    else:
        check_json_type(request)
        try:
            body = ProjectCreate.model_validate(await request.json())
        except (ValueError, InvalidInput) as exc:
            raise HTTPException(422, f"Send JSON {{'name': ..., 'files': {{path: content}}}} or a zip upload: {exc}") from None
        files = {p: encode_text(p, c) for p, c in body.files.items()}
        result = await services.projects.import_tree(body.name, files, "the API", owner=actor.user_id)
    return Created(id=result.project_id, version=result.version.number, files=len(result.changed))


@router.post("/api/projects/import-git", status_code=201, tags=["projects"])
async def import_git(body: GitImport, actor: CurrentActor) -> Created:
    """A new project (yours) from a branch or tag of a git repository: its files as they are there (one `git clone
    --depth 1`), with the same checks as a zip's."""
    services = await get_services()
    tree, default_name = await fetch_tree(body.url, body.ref)
    result = await services.projects.import_tree(body.name or default_name, tree, shown(body.url), owner=actor.user_id)
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


@router.get("/api/projects", tags=["projects"])
async def list_projects(
    actor: CurrentActor,
    limit: PageLimit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> ProjectPage:
    """Your projects (those you have a role in) not in the trash, most recently changed first, one page at a time
    (`total` counts them all); each says your role."""
    return await (await get_services()).projects.page(actor, limit, offset)


@router.get("/api/projects/{project_id}", tags=["projects"])
async def get_project(project_id: str, _: Viewer) -> ProjectDetail:
    return await (await get_services()).projects.get(project_id)


@router.get("/api/projects/{project_id}/versions", tags=["versions"])
async def list_versions(project_id: str, _: Viewer) -> list[VersionInfo]:
    return await (await get_services()).projects.versions(project_id)


@router.get("/api/projects/{project_id}/export", tags=["projects"])
async def export_project(project_id: str, _: Viewer, version: VersionAsked = None) -> Response:
    filename, data = await (await get_services()).history.export_zip(project_id, version)
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
