"""HTTP routes for version history (diff, restore, export) and project management (rename, duplicate, trash).

The app that includes this router answers ForjaError (NotFound 404, FileTreeError 422, GitExportError
503...) with its status (builder.api's exception handler).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Editor, Owner, Viewer
from builder.api.params import Offset, PageLimit, VersionAsked, VersionNumber
from builder.composition import get_services
from builder.schemas import (
    DEFAULT_PAGE,
    ProjectName,
    ProjectSummary,
    RequestBody,
    TrashPage,
    VersionDiff,
    VersionInfo,
)

router = APIRouter(route_class=CheckedRoute)


class RenameRequest(RequestBody):
    name: ProjectName


class DuplicateRequest(RequestBody):
    version: int | None = Field(default=None, ge=1, description="Version to start from (default: current).")
    name: ProjectName | None = Field(
        default=None, description="Default: '<name> (copy)', or '(copy 2)' and on for a copy of a copy."
    )


class Duplicated(BaseModel):
    id: str
    name: str
    version: int


def _download(filename: str, data: bytes, media_type: str) -> Response:
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/api/projects/{project_id}/versions/{version}/diff", tags=["versions"])
async def diff_version(project_id: str, version: VersionNumber, _: Viewer, against: VersionAsked = None) -> VersionDiff:
    """What changed in a version: against its parent by default, or against any version with `?against=`."""
    return await (await get_services()).history.diff(project_id, version, against)


@router.post("/api/projects/{project_id}/versions/{version}/restore", tags=["versions"])
async def restore_version(project_id: str, version: VersionNumber, actor: Editor) -> VersionInfo:
    """Make the version's files current again, as a new version (no version is lost)."""
    return (await (await get_services()).history.restore(project_id, version, actor.user_id)).version


@router.get("/api/projects/{project_id}/versions/{version}/export", tags=["versions"])
async def export_version(project_id: str, version: VersionNumber, _: Viewer) -> Response:
    """The files of one version as a .zip download."""
    filename, data = await (await get_services()).history.export_zip(project_id, version)
    return _download(filename, data, "application/zip")


@router.get("/api/projects/{project_id}/export.bundle", tags=["versions"])
async def export_bundle(project_id: str, _: Viewer) -> Response:
    """The whole history as a git bundle (one commit per version); `git clone project.bundle` opens it."""
    filename, data = await (await get_services()).history.export_bundle(project_id)
    return _download(filename, data, "application/x-git-bundle")


@router.patch("/api/projects/{project_id}", tags=["projects"])
async def rename_project(project_id: str, body: RenameRequest, _: Editor) -> ProjectSummary:
    return await (await get_services()).projects.rename(project_id, body.name)


@router.post("/api/projects/{project_id}/duplicate", status_code=201, tags=["projects"])
async def duplicate_project(project_id: str, actor: Viewer, body: DuplicateRequest | None = None) -> Duplicated:
    """A new project (yours) whose version 1 is the given version's files (default: the current ones)."""
    services = await get_services()
    body = body or DuplicateRequest()
    new_id = await services.history.duplicate(project_id, body.version, body.name, owner=actor.user_id)
    project = await services.projects.get(new_id)
    return Duplicated(id=new_id, name=project.name, version=project.current_version or 1)


@router.delete("/api/projects/{project_id}", status_code=204, tags=["projects"])
async def trash_project(project_id: str, _: Owner) -> Response:
    """Move the project to the trash; it can be restored for 30 days, then it is deleted for good."""
    await (await get_services()).history.delete(project_id)
    return Response(status_code=204)


@router.get("/api/trash", tags=["projects"])
async def list_trash(
    actor: CurrentActor,
    limit: PageLimit = DEFAULT_PAGE,
    offset: Offset = 0,
) -> TrashPage:
    """Your projects in the trash, most recently trashed first, one page at a time (`total` counts them all)."""
    return await (await get_services()).history.trash_page(actor, limit, offset)


@router.post("/api/trash/{project_id}/restore", tags=["projects"])
async def restore_project(project_id: str, _: Owner) -> ProjectSummary:
    return await (await get_services()).history.undelete(project_id)
