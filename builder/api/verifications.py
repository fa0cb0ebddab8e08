"""HTTP routes for verification records: what Forja saw when it ran each version, their screenshots, and the thumbnail.

The app that includes this router answers ForjaError (NotFound 404...) with its status (builder.api).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from builder.api.bodies import CheckedRoute
from builder.api.identity import Viewer
from builder.api.params import RowId
from builder.api.screenshots import jpeg
from builder.composition import get_services
from builder.errors import NotFound
from builder.schemas import VerificationInfo

router = APIRouter(route_class=CheckedRoute)


@router.get("/api/projects/{project_id}/verifications", tags=["verifications"])
async def list_verifications(project_id: str, _: Viewer) -> list[VerificationInfo]:
    """Every check of the project, oldest first: status, problems, repair rounds and the screenshot's path."""
    return await (await get_services()).verifications.records(project_id)


@router.get(
    "/api/projects/{project_id}/verifications/{verification_id}/screenshot",
    tags=["verifications"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def verification_screenshot(request: Request, project_id: str, verification_id: RowId, _: Viewer) -> Response:
    """The JPEG screenshot one check took of the page."""
    return jpeg(request, await (await get_services()).verifications.screenshot(project_id, verification_id))


@router.get(
    "/api/projects/{project_id}/verifications/{verification_id}/acceptance/{number}/screenshot",
    tags=["verifications"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def acceptance_screenshot(request: Request, project_id: str, verification_id: RowId, number: RowId, _: Viewer) -> Response:
    """The JPEG screenshot of the page at the end of one acceptance check (where it failed, if it did)."""
    data = await (await get_services()).verifications.acceptance_screenshot(project_id, verification_id, number)
    return jpeg(request, data)


@router.get(
    "/api/projects/{project_id}/thumbnail",
    tags=["verifications"],
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
async def project_thumbnail(request: Request, project_id: str, _: Viewer) -> Response:
    """The screenshot of the last version that passed its check (JPEG; 404 when no version has yet)."""
    services = await get_services()
    await services.projects.get(project_id)
    data = await services.verifications.thumbnail(project_id)
    if data is None:
        raise NotFound(f"Project {project_id} has no thumbnail yet: no version of it has passed a check.")
    return jpeg(request, data)
