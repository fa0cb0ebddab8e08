"""HTTP routes of the review before publish: run it over a version, read the latest, and confirm a finding in words."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Editor, Owner, Viewer
from builder.composition import get_services
from builder.errors import NotFound
from builder.review.answers import ReviewInfo
from builder.schemas import RequestBody

router = APIRouter(route_class=CheckedRoute, tags=["publish"])


class ReviewRequest(RequestBody):
    version: int | None = Field(default=None, ge=1, description="Version to review (default: the current one).")


class ConfirmRequest(RequestBody):
    fingerprint: str = Field(description="The finding's fingerprint, from the latest review.")
    reason: str = Field(description="Why it is meant, in the owner's words (at most 500 characters).")


@router.post("/api/projects/{project_id}/review")
async def review(project_id: str, _: Editor, body: ReviewRequest | None = None) -> ReviewInfo:
    """Review the version now: secrets a browser can read (keys of known shapes, the app's private variables' values
    and database password) and what its data rules let anyone or any user do to others' rows. It reads the built files
    of the newest release built from that version, else the project's own files (`looked_at` says which). Each
    finding has a severity; `blocking` counts the critical ones not confirmed, which stop a publish."""
    body = body or ReviewRequest()
    return await (await get_services()).reviews.review(project_id, body.version)


@router.get("/api/projects/{project_id}/review")
async def latest_review(project_id: str, _: Viewer) -> ReviewInfo:
    """The latest review (of a publish, or asked for), its findings marked `stale` when the file they point at has
    changed since, and `confirmed` with the owner's reason."""
    found = await (await get_services()).reviews.latest(project_id)
    if found is None:
        raise NotFound("This project has not been reviewed yet: review it, or publish it (a publish reviews it first).")
    return found


@router.post("/api/projects/{project_id}/review/confirm")
async def confirm_finding(project_id: str, actor: Owner, body: ConfirmRequest) -> ReviewInfo:
    """The owner says a finding of the latest review is meant, and why: it stops no publish while the file it points at
    stays as it is. Answers the latest review again."""
    return await (await get_services()).reviews.confirm(project_id, body.fingerprint, body.reason, actor.user_id)
