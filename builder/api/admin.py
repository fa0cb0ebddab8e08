"""The admin page's API: people, invitations, default quotas, usage per day, running previews, published apps (and
those live with open review findings) and health.

Every route needs an admin (the `Admin` dependency: 401 without a sign-in or token, 403 for anyone else). Links
(invitations, password resets) are on the address the request came to, unless FORJA_PUBLIC_URL is set.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import Admin
from builder.api.params import RowId
from builder.composition import get_services
from builder.eval.report import RunRow
from builder.models import Role
from builder.schemas import AccountLinkInfo, QuotaSet, RequestBody
from builder.services.admin import (
    MAX_DAYS,
    DayUsage,
    LiveAppFindings,
    Person,
    PublishedAppRow,
    RunningPreview,
    ServerHealth,
    UserChange,
)

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=CheckedRoute)


class Invitation(RequestBody):
    email: str = Field(default="", max_length=254, description="The address it is for; empty: anyone with the link.")
    role: Role = Role.member


@router.get("/users")
async def list_users(admin: Admin) -> list[Person]:
    """Everyone with an account: role, status, last sign-in, projects, storage, today's tokens and cost, quotas."""
    return await (await get_services()).admin.people(admin)


@router.patch("/users/{user_id}")
async def change_user(user_id: str, body: UserChange, admin: Admin) -> Person:
    """Change a person's role, disable or enable them (their sign-ins end at once), or set their quotas."""
    return await (await get_services()).admin.change_user(admin, user_id, body)


@router.post("/users/{user_id}/reset-link", status_code=201)
async def reset_link(user_id: str, request: Request, admin: Admin) -> AccountLinkInfo:
    """A one-time link (a day) with which the person sets a new password; its `url` is shown only here."""
    return await (await get_services()).admin.reset_link(admin, user_id, str(request.base_url))


@router.get("/invitations")
async def list_invitations(admin: Admin) -> list[AccountLinkInfo]:
    """Invitations not used, withdrawn or expired yet (without their links: those were shown once)."""
    return await (await get_services()).admin.invitations(admin)


@router.post("/invitations", status_code=201)
async def invite(body: Invitation, request: Request, admin: Admin) -> AccountLinkInfo:
    """An invitation link (a week, used once) to make an account with `role`; its `url` is shown only here."""
    return await (await get_services()).admin.invite(admin, body.email, body.role, str(request.base_url))


@router.delete("/invitations/{link_id}", status_code=204)
async def withdraw_invitation(link_id: RowId, admin: Admin) -> Response:
    await (await get_services()).admin.withdraw_invitation(admin, link_id)
    return Response(status_code=204)


@router.get("/quotas")
async def default_quotas(admin: Admin) -> QuotaSet:
    """The quotas of everyone who has none of their own (0: no limit)."""
    return await (await get_services()).admin.default_quotas(admin)


@router.put("/quotas")
async def set_default_quotas(body: QuotaSet, admin: Admin) -> QuotaSet:
    """New defaults; an empty (null) field goes back to its FORJA_QUOTA_* setting. Answers the defaults now in force."""
    return await (await get_services()).admin.set_default_quotas(admin, body)


@router.get("/usage")
async def usage(admin: Admin, days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30) -> list[DayUsage]:
    """Tokens, estimated cost, generations and previews started per UTC day, oldest first, days without use as zeros."""
    return await (await get_services()).admin.usage_by_day(admin, days)


@router.get("/previews")
async def previews(admin: Admin) -> list[RunningPreview]:
    """Every running preview: project, owner, runner, version, state, age and memory."""
    return await (await get_services()).admin.previews(admin)


@router.delete("/previews/{preview_id}", status_code=204)
async def stop_preview(preview_id: str, admin: Admin) -> Response:
    await (await get_services()).admin.stop_preview(admin, preview_id)
    return Response(status_code=204)


@router.get("/evals")
async def evaluations(admin: Admin) -> list[RunRow]:
    """The evaluation runs kept under the data folder (`python -m builder eval`), the newest first."""
    return await (await get_services()).admin.evaluations(admin)


@router.get("/evals/{run_id}/{name}")
async def evaluation_file(run_id: str, name: str, admin: Admin) -> FileResponse:
    """A run's HTML report (`report.html`, or `compare-RUN.html`) or a page's screenshot (`TASK.jpg`) beside it."""
    path = await (await get_services()).admin.evaluation_file(admin, run_id, name)
    return FileResponse(path, media_type="text/html" if name.endswith(".html") else "image/jpeg")


@router.get("/apps")
async def published_apps(admin: Admin) -> list[PublishedAppRow]:
    """Every published app: name and address, project, owner, live release and its size, what it keeps on disk, state."""
    return await (await get_services()).admin.published_apps(admin)


@router.get("/reviews")
async def live_findings(admin: Admin) -> list[LiveAppFindings]:
    """The apps live now whose latest review has open findings (neither confirmed by the owner nor stale), the worst
    first: their counts by severity, when they were reviewed, and the owner's reason when the live release went out
    despite a critical finding."""
    return await (await get_services()).admin.live_findings(admin)


@router.get("/health")
async def health(admin: Admin) -> ServerHealth:
    """The store, the preview proxy and each preview runner, with the reason when one has a problem."""
    return await (await get_services()).admin.health(admin)
