"""A preview's own backend: `/_forja/auth/...`, `/_forja/data/...` and `/_forja/client.js` of `<preview id>.<preview
domain>`, answered by app_auth.py and app_rows.py in scope preview (the preview's people, sessions and rows, never the
published app's).

Traefik sends those paths of a preview's host to Forja's port (preview_runtime/proxy.py), through the same gate as the
rest of a private preview, so only a browser Forja sent there reaches them. Forja's port may be reached without
Traefik, so the gate's signed cookie is checked here again: the preview named by the host must be running (on any
worker) and, when private, the cookie must be one the gate signed for that preview. Which project is answered comes from
Forja's own record of the running preview (the id is the host's first label), never from the request; a host that
names no running preview, or a published server app's sandbox (its backend is on its own address), gets a plain 404.
"""

from __future__ import annotations

import re
from typing import Literal

from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import PREFIX, AppSite, app_auth
from builder.api.app_rows import CLIENT, app_rows
from builder.api.app_rows import PREFIX as DATA_PREFIX
from builder.api.hosts import parse_host
from builder.composition import get_services
from builder.publish.addresses import APP_PREVIEW
from builder.services.app_data import Scope as AppScope
from builder.services.preview_access import VERSION_PREVIEW_PREFIX, private
from builder.settings import settings
from preview_runtime.access import COOKIE
from preview_runtime.gate import NOT_SIGNED_TEXT, cookies_named

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


def backend_path(scope: Scope) -> Literal["auth", "data"] | None:
    """Which part of an app's backend an HTTP request asks for: "auth" (sign-in), "data" (rows and client.js), or None."""
    path = scope["path"]
    if scope["type"] != "http":
        return None
    if path.startswith(PREFIX):
        return "auth"
    return "data" if path.startswith(DATA_PREFIX) or path == CLIENT else None


def preview_of(header: bytes, domain: str) -> str | None:
    """The preview id a Host header names (`<id>.<domain>`, any port), lower-cased; None for any other host."""
    pair = parse_host(header)
    suffix = f".{domain.strip('.').lower()}"
    if pair is None or not pair[0].endswith(suffix):
        return None
    label = pair[0].removesuffix(suffix)
    return label if _LABEL.match(label) else None


def _refusal(status: int, text: str) -> PlainTextResponse:
    return PlainTextResponse(text, status_code=status, headers=_HEADERS)


async def site_of(preview_id: str, cookie_header: str) -> AppSite | PlainTextResponse:
    """Whose backend the preview's host reaches; a plain refusal for a preview that does not run (404) or a private one
    asked without its gate's cookie (401)."""
    services = await get_services()
    entry = None if preview_id.startswith(APP_PREVIEW) else await services.preview_hub.find(preview_id)
    if entry is None:
        return _refusal(404, "There is no preview at this address.\n")
    project_id = entry.info.project_id
    if private(preview_id):
        keys = await services.preview_access.keys()
        # As the gate decides: a cookie it signed for this very preview, unexpired (Forja's own probes' too).
        if not any(keys.read_cookie(value, preview_id) is not None for value in cookies_named(cookie_header, COOKIE)):
            return _refusal(401, NOT_SIGNED_TEXT)
    # A share link's preview runs one version for good; a project's own runs its current one, so a save counts at once.
    version = entry.info.version if preview_id.startswith(VERSION_PREVIEW_PREFIX) else None
    return AppSite(project_id, AppScope.preview, version=version)


async def preview_backend(header: bytes, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer a request for a preview's backend; False for any other path or host (Forja answers it)."""
    which = backend_path(scope)
    preview_id = preview_of(header, settings.preview_domain) if which is not None else None
    if preview_id is None:
        return False
    cookie_header = dict(scope["headers"]).get(b"cookie", b"").decode("latin-1")
    site = await site_of(preview_id, cookie_header)
    if isinstance(site, PlainTextResponse):
        await site(scope, receive, send)
    else:
        await (app_auth if which == "auth" else app_rows)(scope, receive, send, site)
    return True
