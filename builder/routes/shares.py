"""HTTP routes for share links: the API to make, list and revoke them, and the public /s/{token} pages.

The public pages are plain HTML (not Reflex), with inline CSS and a tiny inline script only:
nothing loads from elsewhere, so they work under the builder's cross-origin isolation headers.
The app that includes this router answers ForjaError with its status (builder.api).
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field

from builder.errors import NotFound, PreviewError, ShareGone
from builder.filetree import is_binary_path
from builder.routes.identity import CurrentActor, Editor, Viewer
from builder.routes.images import jpeg
from builder.services import Services, get_services
from builder.services.access import Permission
from builder.services.shares import ShareCreated, ShareInfo, ShareTarget, parse_expires, share_url
from builder.settings import settings
from preview_runtime.pages import PAGE_CSS
from preview_runtime.runner import PreviewInfo, PreviewState

router = APIRouter()

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the page's URL; never send it on
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
}
SANDBOX = "allow-scripts allow-forms allow-same-origin allow-popups allow-modals"

_CSS = PAGE_CSS + (resources.files("builder.routes") / "share_page.css").read_text(encoding="utf-8")
_POLL_SCRIPT = (resources.files("builder.routes") / "share_poll.js").read_text(encoding="utf-8").replace("__SANDBOX__", SANDBOX)


class ShareRequest(BaseModel):
    version: int | None = Field(default=None, ge=1, description="Version to share (default: the current one).")
    expires_in: str | int | None = Field(
        default=None, description="'7d' (default), '24h', '30d', 'never', or a number of seconds.", examples=["7d"]
    )


def _document(title: str, body: str, script: str = "", meta: str = "") -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">'
        f"{meta}<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}{f'<script>{script}</script>' if script else ''}</body></html>"
    )


def _page(title: str, body: str, status: int = 200, script: str = "", meta: str = "") -> HTMLResponse:
    return HTMLResponse(_document(title, body, script, meta), status_code=status, headers=PAGE_HEADERS)


def _notice(title: str, text: str, status: int) -> HTMLResponse:
    body = f'<div class="center"><div class="card"><h1>{escape(title)}</h1><p>{escape(text)}</p></div></div>'
    return _page(title, body, status)


def gone_page(exc: ShareGone) -> HTMLResponse:
    return _notice("Link not found" if exc.status == 404 else "Link no longer works", exc.message, exc.status)


def _badge(token: str) -> str:
    home = escape(settings.base_url, quote=True)
    code = escape(f"/s/{token}/code", quote=True)
    return (
        f'<div class="badge"><a href="{home}" target="_blank" rel="noopener noreferrer">Made with Forja</a>'
        f' &middot; <a href="{code}" target="_blank" rel="noopener noreferrer">View code</a></div>'
    )


def _app_frame(url: str) -> str:
    return (
        f'<iframe class="app" title="App" src="{escape(url, quote=True)}" sandbox="{SANDBOX}"'
        ' referrerpolicy="no-referrer"></iframe>'
    )


async def _link_preview(services: Services, token: str, target: ShareTarget) -> str:
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
    return "".join(
        f'<meta {"name" if key.startswith("twitter:") else "property"}="{key}" content="{escape(value, quote=True)}">'
        for key, value in tags.items()
    )


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
    """A link anyone can open to see one version of the app. The token is shown only in this answer."""
    body = body or ShareRequest()
    try:
        expires_in = parse_expires(body.expires_in)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return await (await get_services()).shares.create(project_id, body.version, expires_in, page_url=str(request.base_url))


@router.get("/api/projects/{project_id}/shares", tags=["shares"])
async def list_shares(project_id: str, _: Viewer) -> list[ShareInfo]:
    """The project's links, newest first (revoked and expired ones flagged; tokens are never shown again)."""
    return await (await get_services()).shares.links(project_id)


@router.delete("/api/shares/{share_id}", status_code=204, tags=["shares"])
async def revoke_share(share_id: Annotated[int, PathParam(ge=1)], actor: CurrentActor) -> Response:
    """Turn a link off; people who open it get a 'turned off' page. Editors and owners of its project may."""
    services = await get_services()
    project_id = await services.shares.project_of(share_id)
    await services.access.require(actor, project_id, Permission.edit, hidden=NotFound(f"There is no share link {share_id}."))
    await services.shares.revoke(share_id)
    return Response(status_code=204)


# -- the public pages ---------------------------------------------------------------------------


@router.get("/s/{token}", include_in_schema=False)
async def open_share(token: str) -> HTMLResponse:
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return gone_page(exc)
    meta = await _link_preview(services, token, target)
    try:
        info = await services.version_previews.start(target.project_id, target.version)
    except PreviewError:
        body = (
            '<div class="center"><div class="card"><h1>This app could not start</h1>'
            "<p>Try again later, or ask the person who sent the link.</p></div></div>"
        )
        return _page("This app could not start", body + _badge(token), 503, meta=meta)
    if await _ready(services, target, info):
        return _page("App", f'<main id="main">{_app_frame(info.url)}</main>{_badge(token)}', meta=meta)
    body = (
        '<main id="main"><div class="center"><div class="card"><div class="spinner"></div>'
        '<h1>Starting the app...</h1><p id="state">This takes a few seconds the first time.</p>'
        f"</div></div></main>{_badge(token)}"
    )
    return _page("Starting the app...", body, script=_POLL_SCRIPT, meta=meta)


@router.get("/s/{token}/thumbnail.jpg", include_in_schema=False)
async def share_thumbnail(request: Request, token: str) -> Response:
    """The picture of the shared app that link previews show; refused exactly as the link's page is."""
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return gone_page(exc)
    data = await services.verifications.thumbnail(target.project_id, target.version)
    if data is None:
        return _notice("No picture yet", "Forja has not yet seen this app work, so it has no picture.", 404)
    return jpeg(request, data, {"Referrer-Policy": PAGE_HEADERS["Referrer-Policy"], "X-Robots-Tag": PAGE_HEADERS["X-Robots-Tag"]})


@router.get("/s/{token}/status", include_in_schema=False)
async def share_status(token: str) -> JSONResponse:
    services = await get_services()
    try:
        target = await services.shares.resolve(token)
    except ShareGone as exc:
        return JSONResponse({"state": "gone", "url": "", "detail": exc.message}, exc.status, headers=PAGE_HEADERS)
    info = await services.version_previews.status(target.project_id, target.version)
    if info is None or info.state == PreviewState.parked:  # never started here, removed, or parked: start or wake it
        try:
            info = await services.version_previews.start(target.project_id, target.version)
        except PreviewError:
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
        return gone_page(exc)
    tree = await services.projects.read_tree(target.project_id, target.version)
    project = await services.projects.get(target.project_id)
    paths = sorted(tree)
    index = "".join(f'<li><a href="#f{i}">{escape(path)}</a></li>' for i, path in enumerate(paths))
    sections = []
    for i, path in enumerate(paths):
        data = tree[path]
        text: str | None = None
        if not is_binary_path(path):
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        content = f"<pre>{escape(text)}</pre>" if text is not None else f"<p>(binary file, {len(data)} bytes)</p>"
        sections.append(f'<h2 id="f{i}">{escape(path)}</h2>{content}')
    app_link = escape(f"/s/{token}", quote=True)
    body = (
        f'<div class="code"><h1>{escape(project.name)}: version {target.version}</h1>'
        f'<p>{len(paths)} files, read-only. <a href="{app_link}">Back to the app</a></p>'
        f"<ul>{index}</ul>{''.join(sections)}</div>"
    )
    return _page(f"{project.name}: code", body)
