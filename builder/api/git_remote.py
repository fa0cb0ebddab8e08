"""HTTP routes for a project's remote repository: link one (URL, branch, token), push its versions there, pull the
remote's commits as versions. Anyone on the project sees the link; only editors and owners change it or sync. No
route ever answers the token, or any part of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Viewer
from builder.composition import get_services
from builder.git.remote import MAX_TOKEN, RemoteInfo
from builder.git.sync import SyncResult
from builder.schemas import RequestBody

router = APIRouter(route_class=CheckedRoute, tags=["git"])

Branch = Annotated[str, Field(min_length=1, max_length=200, examples=["main"])]


class RemoteBody(RequestBody):
    url: str = Field(max_length=2000, description="The repository's https:// address.", examples=["https://host/me/site.git"])
    token: str | None = Field(
        default=None,
        max_length=MAX_TOKEN,
        description="A token that may read and write the repository, sent as the password; kept encrypted, never "
        "shown again. Without one, the link keeps the token it had for the same address.",
    )
    branch: Branch = "main"


class PushBody(RequestBody):
    to_branch: Branch | None = Field(default=None, description="Another branch than the link's, e.g. forja/2026-11-25.")


class PullBody(RequestBody):
    merge: bool = Field(default=False, description="When both sides moved, merge the remote's changes to other files.")


@router.get("/api/projects/{project_id}/remote")
async def get_remote(project_id: str, _: Viewer) -> RemoteInfo:
    """The project's remote: its address and branch, and whether a token is kept (never the token)."""
    return await (await get_services()).git.remote.info(project_id)


@router.put("/api/projects/{project_id}/remote")
async def set_remote(project_id: str, actor: Editor, body: RemoteBody) -> RemoteInfo:
    """Link the project to one remote repository (replacing the link it had)."""
    return await (await get_services()).git.remote.link(project_id, body.url, body.token, body.branch, actor.user_id)


@router.delete("/api/projects/{project_id}/remote", status_code=204)
async def delete_remote(project_id: str, _: Editor) -> Response:
    """Unlink the remote and forget its token (the remote repository itself is untouched)."""
    await (await get_services()).git.remote.unlink(project_id)
    return Response(status_code=204)


@router.post("/api/projects/{project_id}/remote/push")
async def push_remote(project_id: str, _: Editor, body: PushBody) -> SyncResult:
    """Send the project's versions to the remote branch, as commits; never forced. When both sides moved: 409 with
    `both_moved` and `new_branch`, the branch Forja's history can go to instead."""
    return await (await get_services()).git.remote.push(project_id, body.to_branch)


@router.post("/api/projects/{project_id}/remote/pull")
async def pull_remote(project_id: str, actor: Editor, body: PullBody) -> SyncResult:
    """Make each new commit of the remote branch a version, checked as a push's. When both sides moved: 409, or with
    `merge` one version merging the remote's changes when they touched other files than Forja's."""
    return await (await get_services()).git.remote.pull(project_id, actor, merge=body.merge)
