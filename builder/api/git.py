"""git's smart HTTP protocol for each project: `git clone http://<forja>/git/<project id>.git`.

git sends a git token of the project (builder/services/git_tokens.py) as the password of HTTP Basic (any user name);
Bearer works too. A read token fetches, a write token pushes too, each only as far as its person's role goes: viewers
may fetch, editors and owners may push, anyone else gets 404, as for a project that does not exist. A personal API
token still works as before git tokens (scripts that use one keep working), but no page proposes it. Without accounts
(FORJA_AUTH=none) only this machine may use it. Errors are plain text, which git prints to the person.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from builder.api.bodies import CheckedRoute
from builder.api.identity import client_address
from builder.errors import ForjaError, NotFound, NotSignedIn
from builder.git.http import CgiAnswer, CgiRequest
from builder.services import get_services
from builder.services.access import LOCAL_ACTOR, Actor, Permission
from builder.settings import is_loopback

# CheckedRoute like every router: these read no JSON, so it passes their bodies through untouched, as git sends them.
router = APIRouter(tags=["git"], route_class=CheckedRoute)

UPLOAD, RECEIVE = "git-upload-pack", "git-receive-pack"
ProjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="The project's id.")]
ASK_CREDENTIALS = {"WWW-Authenticate": 'Basic realm="Forja", charset="UTF-8"'}


def token_of(authorization: str) -> str | None:
    """The token of a Basic (as the password) or Bearer Authorization header."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


class _Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.response = Response(message + "\n", status_code=status, media_type="text/plain", headers=headers)


async def _actor(request: Request, project_id: str, need: Permission) -> Actor:
    services = await get_services()
    if not services.accounts.enabled:
        if not is_loopback(client_address(request.scope)):
            raise _Refused(404, "Not found.")
        return LOCAL_ACTOR
    token = token_of(request.headers.get("authorization", ""))
    if token is None:
        raise _Refused(
            401, "Sign in with a git token of this project as the password: the Clone dialog makes one.", ASK_CREDENTIALS
        )
    try:
        actor = await services.git_tokens.git_actor(token, project_id, need)
    except NotSignedIn as exc:
        raise _Refused(401, exc.message, ASK_CREDENTIALS) from None
    except NotFound:
        raise _Refused(404, "Not found.") from None
    except ForjaError as exc:
        raise _Refused(exc.status, exc.message) from None
    return actor


async def _body(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it comes. A client gone, or a body over the limit (the guards answered 413 and the route
    sees the client as gone), ends it: git reads a cut pack, refuses it and drops what it had received."""
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        return


def _cgi(request: Request, project_id: str, action: str, actor: Actor) -> CgiRequest:
    return CgiRequest(
        path_info=f"/{project_id}.git/{action}",
        method=request.method,
        query=request.url.query,
        headers=request.headers,
        body=_body(request),
        remote_user=actor.user_id,
        remote_addr=client_address(request.scope),
    )


def _answer(answer: CgiAnswer) -> StreamingResponse:
    headers = {name: value for name, value in answer.headers if name.lower() != "content-length"}
    return StreamingResponse(answer.body, status_code=answer.status, headers=headers)


async def _serve(request: Request, project_id: str, action: str, service: str) -> Response:
    need = Permission.edit if service == RECEIVE else Permission.view
    try:
        actor = await _actor(request, project_id, need)
        git = (await get_services()).git
        cgi = _cgi(request, project_id, action, actor)
        if service == UPLOAD:
            return _answer(await git.fetch(project_id, cgi))
        if action == "info/refs":
            return _answer(await git.advertise_push(project_id, cgi))
        return _answer(await git.push(project_id, actor, cgi))
    except _Refused as refused:
        return refused.response
    except ForjaError as exc:
        return Response(exc.message + "\n", status_code=exc.status, media_type="text/plain")


@router.get("/git/{project_id}.git/info/refs")
async def git_refs(
    request: Request, project_id: ProjectId, service: Annotated[str, Query(pattern=f"^({UPLOAD}|{RECEIVE})$")]
) -> Response:
    """The project's refs, for `git clone`, `git fetch` and `git push` (git's smart HTTP protocol only)."""
    return await _serve(request, project_id, "info/refs", service)


@router.post("/git/{project_id}.git/git-upload-pack")
async def git_upload_pack(request: Request, project_id: ProjectId) -> Response:
    """What `git clone` and `git fetch` download: one commit per version (viewers, editors and owners)."""
    return await _serve(request, project_id, UPLOAD, UPLOAD)


@router.post("/git/{project_id}.git/git-receive-pack")
async def git_receive_pack(request: Request, project_id: ProjectId) -> Response:
    """`git push` to main: each new commit becomes a version (editors and owners; fast-forward only)."""
    return await _serve(request, project_id, RECEIVE, RECEIVE)


# The readable alias: /git/<owner>/<project name slug>.git (builder/git/urls.alias_path), the same repository.
OwnerName = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,100}$", description="The owner's email's local part.")]
ProjectSlug = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,60}$", description="The project's name as a slug.")]


async def _aliased(request: Request, owner: str, name: str, action: str, service: str) -> Response:
    try:
        project_id = await (await get_services()).git.resolve(owner, name)
    except ForjaError as exc:
        return Response(exc.message + "\n", status_code=exc.status, media_type="text/plain")
    return await _serve(request, project_id, action, service)


@router.get("/git/{owner}/{name}.git/info/refs")
async def git_alias_refs(
    request: Request,
    owner: OwnerName,
    name: ProjectSlug,
    service: Annotated[str, Query(pattern=f"^({UPLOAD}|{RECEIVE})$")],
) -> Response:
    """The same as /git/<id>.git/info/refs, at the owner's and project's names."""
    return await _aliased(request, owner, name, "info/refs", service)


@router.post("/git/{owner}/{name}.git/git-upload-pack")
async def git_alias_upload_pack(request: Request, owner: OwnerName, name: ProjectSlug) -> Response:
    """The same as /git/<id>.git/git-upload-pack, at the owner's and project's names."""
    return await _aliased(request, owner, name, UPLOAD, UPLOAD)


@router.post("/git/{owner}/{name}.git/git-receive-pack")
async def git_alias_receive_pack(request: Request, owner: OwnerName, name: ProjectSlug) -> Response:
    """The same as /git/<id>.git/git-receive-pack, at the owner's and project's names."""
    return await _aliased(request, owner, name, RECEIVE, RECEIVE)
