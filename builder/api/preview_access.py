"""Forja's page that opens a project's preview: the Preview tab frames it, and a private preview's gate sends a browser
without its cookie here (builder/services/preview_access.py says why)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from builder.api import share_pages
from builder.api.bodies import CheckedRoute
from builder.api.identity import current_actor
from builder.composition import get_services
from builder.errors import NotSignedIn

router = APIRouter(route_class=CheckedRoute)

# The answer names a one-time ticket: never kept, never sent on as a Referer.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
GONE = (
    "No preview runs at this address, or it is not yours to open: it may have stopped. Open its project in Forja to "
    "start it again."
)


@router.get("/previews/{preview_id}/open", include_in_schema=False, response_model=None)
async def open_preview(
    request: Request, preview_id: str, path: Annotated[str, Query(max_length=4096)] = "/"
) -> RedirectResponse | HTMLResponse:
    """To the preview's `path` with a one-time ticket, for a person who may see its project; to the sign-in page first
    when nobody is signed in; a page saying so for a preview that does not run or is not theirs (one answer for
    both, so an id tells nothing)."""
    try:
        actor = await current_actor(request)
    except NotSignedIn:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=302, headers=HEADERS)
    services = await get_services()
    info = await services.previews.find(preview_id)
    # Any role in the project may see it run (Permission.view).
    if info is None or await services.access.role(actor, info.project_id) is None:
        return share_pages.notice("No preview here", GONE, 404)
    return RedirectResponse(await services.preview_access.ticket_url(info, actor.user_id, path), 302, headers=HEADERS)
