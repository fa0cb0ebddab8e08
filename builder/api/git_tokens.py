"""HTTP routes of git tokens: make one for a project (any role may make a read token; editors and owners a token that
may push), list and revoke your own. A git token itself opens only git's routes of its project, never these."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Viewer, bearer_of
from builder.api.params import RowId
from builder.composition import get_services
from builder.schemas import GitTokenInfo, NewGitToken, RequestBody
from builder.services.git_tokens import DEFAULT_DAYS

router = APIRouter(route_class=CheckedRoute, tags=["git"])


class GitTokenRequest(RequestBody):
    access: Literal["read", "write"] = Field(
        default="read", description="read: clone and fetch; write: push too (editors and owners only)."
    )
    days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description=f"How many days it works (default {DEFAULT_DAYS}, at most FORJA_GIT_TOKEN_MAX_DAYS).",
    )
    name: str = Field(default="", max_length=100, description="What it is for, e.g. 'laptop'.")


@router.post("/api/projects/{project_id}/git-tokens", status_code=201)
async def create_git_token(project_id: str, body: GitTokenRequest, request: Request, actor: Viewer) -> NewGitToken:
    """A new git token of yours for this project: `token` is in this answer only, never again, with `setup` (the line
    that hands it to git's credential store) and `clone` (the clone that reads it there). Made with an API token, it
    is revoked with that token."""
    return await (await get_services()).git_tokens.create(
        actor,
        project_id,
        str(request.base_url),
        write=body.access == "write",
        days=body.days,
        name=body.name,
        made_with=bearer_of(request.headers.get("authorization", "")),
    )


@router.get("/api/account/git-tokens", tags=["account"])
async def list_git_tokens(actor: CurrentActor) -> list[GitTokenInfo]:
    """Your git tokens that still work (neither revoked nor expired), newest first (their first characters only)."""
    return await (await get_services()).git_tokens.tokens(actor)


@router.delete("/api/account/git-tokens/{token_id}", status_code=204, tags=["account"])
async def revoke_git_token(token_id: RowId, actor: CurrentActor) -> Response:
    """Revoke one of your git tokens: git requests with it get a 401 from now on."""
    await (await get_services()).git_tokens.revoke(actor, token_id)
    return Response(status_code=204)
