"""HTTP routes for a project's files: list, read one (JSON or raw bytes), read a whole version, write one."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Viewer
from builder.api.params import VersionAsked
from builder.composition import get_services
from builder.errors import NotFound
from builder.filetree import encode_text
from builder.schemas import FileContent, FileInfo, RequestBody, VersionInfo

router = APIRouter(route_class=CheckedRoute)


class FileWrite(RequestBody):
    content: str
    encoding: str = Field(default="utf-8", pattern="^(utf-8|base64)$")
    message: str = ""


class ProjectTree(BaseModel):
    version: int
    files: list[FileContent]


@router.get("/api/projects/{project_id}/files", tags=["files"])
async def list_files(project_id: str, _: Viewer, version: VersionAsked = None) -> list[FileInfo]:
    return await (await get_services()).projects.files(project_id, version)


@router.get("/api/projects/{project_id}/files/{path:path}", tags=["files"])
async def read_file(project_id: str, path: str, _: Viewer, version: VersionAsked = None, raw: bool = False) -> FileContent:
    """A file as JSON (`content` + `encoding`), or its bytes with `?raw=true`."""
    data = await (await get_services()).projects.read_file(project_id, path, version)
    if raw:
        return Response(data, media_type="application/octet-stream")  # type: ignore[return-value]
    return FileContent.of(path, data)


@router.get("/api/projects/{project_id}/tree", tags=["files"])
async def read_tree(project_id: str, _: Viewer, version: VersionAsked = None) -> ProjectTree:
    """Every file of a version (default: the current one) in one answer; the browser mounts it in a WebContainer."""
    projects = (await get_services()).projects
    number = version or (await projects.get(project_id)).current_version
    if number is None:
        raise NotFound(f"Project {project_id} has no files yet.")
    tree = await projects.read_tree(project_id, number)
    return ProjectTree(version=number, files=[FileContent.of(path, data) for path, data in sorted(tree.items())])


@router.put("/api/projects/{project_id}/files/{path:path}", tags=["files"])
async def write_file(project_id: str, path: str, body: FileWrite, actor: Editor) -> VersionInfo:
    """Write one file; the project gets a new version (author `user`) unless nothing changed."""
    try:
        data = base64.b64decode(body.content, validate=True) if body.encoding == "base64" else encode_text(path, body.content)
    except binascii.Error:
        raise HTTPException(422, "content is not valid base64; send text with encoding 'utf-8' instead.") from None
    services = await get_services()
    result = await services.projects.save(project_id, {path: data}, message=body.message, user_id=actor.user_id)
    return result.version
