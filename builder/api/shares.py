"""HTTP routes for share links: the API to make, list and revoke them, and the public /s/{token} pages (their HTML is
share_pages.py's). The app that includes this router answers ForjaError with its status (builder.api).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import Field

from builder.api import share_pages
from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Editor, Viewer
from builder.api.params import RowId
from builder.api.screenshots import jpeg
from builder.api.share_pages import PAGE_HEADERS, MetaTag
from builder.composition import Services, get_services
from builder.errors import NotFound, PreviewError, ShareGone, busy
from builder.schemas import RequestBody
from builder.services.access import Permission
from builder.services.shares import ShareCreated, ShareInfo, ShareKind, ShareTarget, parse_expires, share_url
from preview_runtime.runner import PreviewInfo, PreviewState

router = APIRouter(route_class=CheckedRoute)


class ShareRequest(RequestBody):
    version: int | None = Field(default=None, ge=1, description="Version to share (default: the current one).")
    expires_in: str | int | None = Field(
        default=None, description="'7d' (default), '24h', '30d', 'never', or a number of seconds.", examples=["7d"]
    )
    target: ShareKind = Field(
        default="preview",
        description="What the link opens: a preview of the version, the published app as it is live (following later "
        "publishes), or one release, pinned, at an address of its own.",
    )
    release: int | None = Field(default=None, ge=1, description="target release: which one (default: the live one).")


async def _link_preview(services: Services, token: str, target: ShareTarget) -> list[MetaTag]:
    """Open Graph and Twitter tags, so a chat or a post shows the app's name and, once Forja saw it work, its picture."""
    project = await services.projects.get(target.project_id)
    tags = {
        "og:type": "website",
        "og:title": project.name,
        "og:description": f"Version {target.version} of {project.name}, an app made with Forja. Open it to try it.",
        "og:url": share_url(token),
        "twitter:card": "summary",
    }
    if await services.verifications.thumbnail(target.project_id, target.version) is not None:
        tags |= {
            "og:image": f"{share_url(token)}/thumbnail.jpg",
            "og:image:type": "image/jpeg",
            "twitter:card": "summary_large_image",
        }
    return share_pages.link_preview_tags(tags)


async def _ready(services: Services, target: ShareTarget, info: PreviewInfo | None) -> bool:
    """Running and answering through the proxy, so the iframe shows the app and not a 'no preview' page."""
    return (
        info is not None
        and info.state == PreviewState.running
        and await services.version_previews.answers(target.project_id, target.version)
    )


# -- the API ------------------------------------------------------------------------------------


@router.post("/api/projects/{project_id}/share", status_code=201, tags=["shares"])
async def create_share(request: Request, project_id: str, _: Editor, body: ShareRequest | None = None) -> ShareCreated:
    """A link anyone can open to see one version of the app, or (target live or release) the published app. The token
    is shown only in this answer."""
    body = body or ShareRequest()
    try:
        expires_in = parse_expires(body.expires_in)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return await (await get_services()).shares.create(
        project_id, body.version, expires_in, page_url=str(request.base_url), target=body.target, release=body.release
    )


@router.get("/api/projects/{project_id}/shares", tags=["shares"])
async def list_shares(project_id: str, _: Viewer) -> list[ShareInfo]:
    """The project's links, newest first (revoked and expired ones flagged; tokens are never shown again)."""
    return await (await get_services()).shares.links(project_id)


@router.delete("/api/shares/{share_id}", status_code=204, tags=["shares"])
async def revoke_share(share_id: RowId, actor: CurrentActor) -> Response:
    """Turn a link off; people who open it get a 'turned off' page. Editors and owners of its project may."""
    services = await get_services()
    project_id = await services.shares.project_of(share_id)
    await services.access.require(actor, project_id, Permission.edit, hidden=NotFound(f"There is no share link {share_id}."))
    await services.shares.revoke(share_id)
    return Response(status_code=204)


# -- the public pages ---------------------------------------------------------------------------


@router.get("/s/{token}", include_in_schema=False)
async def open_share(token: str) -> Response:
    services = await get_services()
    if (kept := services.shares.cached_page(token)) is not None:
        return HTMLResponse(kept, headers=PAGE_HEADERS)
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return share_pages.gone(exc)
    if target.target != "preview":
        return _to_app(target)
    link_preview = await _link_preview(services, token, target)
    try:
        info = await services.version_previews.start(target.project_id, target.version)
    except PreviewError as exc:
        if busy(exc):
            return share_pages.starting(token, link_preview, busy=True)
        return share_pages.could_not_start(token, link_preview)
    if await _ready(services, target, info):
        page = share_pages.app(token, info.url, link_preview)
        services.shares.keep_page(token, target, bytes(page.body))
        return page
    return share_pages.starting(token, link_preview)


def _to_app(target: ShareTarget) -> Response:
    """A link to the published app: to its address, built files served by the edge with no process (the live app, or
    the pinned release's own host); a release whose files were pruned says so, with a 410."""
    if not target.kept or not target.address:
        return share_pages.notice("This release is gone", share_pages.RELEASE_GONE_TEXT, 410)
    # 302, never cached: the link may be turned off, and the live app's address may change with a rename.
    return RedirectResponse(target.address, 302, headers=PAGE_HEADERS)


@router.get("/s/{token}/thumbnail.jpg", include_in_schema=False)
async def share_thumbnail(request: Request, token: str) -> Response:
    """The picture of the shared app that link previews show; refused exactly as the link's page is."""
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return share_pages.gone(exc)
    data = await services.verifications.thumbnail(target.project_id, target.version)
    if data is None:
        return share_pages.notice("No picture yet", "Forja has not yet seen this app work, so it has no picture.", 404)
    return jpeg(request, data, {"Referrer-Policy": PAGE_HEADERS["Referrer-Policy"], "X-Robots-Tag": PAGE_HEADERS["X-Robots-Tag"]})


@router.get("/s/{token}/status", include_in_schema=False)
async def share_status(token: str) -> JSONResponse:
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return JSONResponse({"state": "gone", "url": "", "detail": exc.message}, exc.status, headers=PAGE_HEADERS)
    if target.target != "preview":  # nothing to start: the built app answers at its address
        state = "running" if target.kept and target.address else "gone"
        return JSONResponse({"state": state, "url": target.address if state == "running" else ""}, headers=PAGE_HEADERS)
    info = await services.version_previews.status(target.project_id, target.version)
    if info is None or info.state == PreviewState.parked:  # never started here, removed, or parked: start or wake it
        try:
            info = await services.version_previews.start(target.project_id, target.version)
        except PreviewError as exc:
            if busy(exc):
                headers = {**PAGE_HEADERS, "Retry-After": str(share_pages.BUSY_RETRY_S)}
                return JSONResponse({"state": "busy", "url": "", "detail": share_pages.BUSY_TEXT}, 503, headers=headers)
            return JSONResponse({"state": "failed", "url": ""}, headers=PAGE_HEADERS)
    if await _ready(services, target, info):
        return JSONResponse({"state": "running", "url": info.url}, headers=PAGE_HEADERS)
    state = "failed" if info.state in (PreviewState.failed, PreviewState.stopped) else "starting"
    return JSONResponse({"state": state, "url": ""}, headers=PAGE_HEADERS)


@router.get("/s/{token}/code", include_in_schema=False)
async def share_code(token: str) -> HTMLResponse:
    """The shared version's files, read-only."""
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return share_pages.gone(exc)
    tree = await services.projects.read_tree(target.project_id, target.version)
    project = await services.projects.get(target.project_id)
    return share_pages.code(token, project.name, target.version, tree)
