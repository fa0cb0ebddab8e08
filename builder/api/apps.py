"""Requests for a published app's address reach its files, never Forja's page or API.

The preview edge (Traefik) sends `<name>.apps.<domain>`, and the apps' custom domains, to Forja's own port; this
wrapper, outside every other guard, hands such a request to the static edge (builder/publish/edge.py), which answers
it from the app's live release on disk. The app's own backend (its people's sign-in, /_forja/auth/...: app_auth.py;
its data, /_forja/data/... and /_forja/client.js: app_rows.py) answers first, for static and server apps alike; who is
asking a server app (/_forja/identity/<host>, app_identity.py) before anything, as the edge asks it on any host. The
same backend paths of a preview's host answer its preview's backend (preview_backend.py). A
server app's address reaches its release's sandbox through Traefik; only when that sandbox is not routed (not started since Forja started, or removed) does a request come here: it starts
the sandbox and answers the waking page, which asks again until the app answers. Any other Host goes on to Forja, whose
own guards refuse hosts that are not its names.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from builder.api.app_auth import AppSite, app_auth
from builder.api.app_identity import app_identity
from builder.api.app_rows import app_rows
from builder.api.hosts import allowed_hosts, host_allowed, parse_host
from builder.api.preview_backend import backend_path, preview_backend
from builder.composition import get_services
from builder.publish.addresses import app_name_of
from builder.publish.edge import UNAVAILABLE_PAGE, StaticApp, Target
from preview_runtime.apps_edge import IDENTITY_PATH
from preview_runtime.pages import WAKING_HTML
from preview_runtime.preview_headers import NOT_FOUND_MARKER, WAKING

# The waking page's own headers (it asks its address again while this marker is on the answer).
_WAKING_HEADERS = [
    (b"content-type", b"text/html; charset=utf-8"),
    (b"content-length", str(len(WAKING_HTML)).encode()),
    (b"cache-control", b"no-store"),
    (b"retry-after", b"1"),
    (NOT_FOUND_MARKER.lower().encode(), WAKING.encode()),
    (b"x-content-type-options", b"nosniff"),
]


async def _target(host: str) -> Target | None:
    return await (await get_services()).publishing.target(host)


async def _app_backend(host: str, scope: Scope, receive: Receive, send: Send) -> bool:
    """A request for the app's own backend (its people's sign-in under /_forja/auth/, its data under /_forja/data/,
    and /_forja/client.js): answered here, for a static app and a server app alike; False for any other path, and for
    a host that serves no live app."""
    if (which := backend_path(scope)) is None:
        return False
    target = await _target(host)
    if target is None or target.state not in ("live", "server") or not target.project_id:
        return False
    site = AppSite(target.project_id, release=target.release)
    await (app_auth if which == "auth" else app_rows)(scope, receive, send, site)
    return True


async def _custom_domain(header: bytes, allowed: frozenset[tuple[str, str]]) -> bool:
    """A host that is not Forja's own may be an app's custom domain (asked of the services only then)."""
    return not host_allowed(parse_host(header), allowed) and (await get_services()).publishing.serves(header.decode("latin-1"))


async def _server_app(host: str, scope: Scope, send: Send) -> bool:
    """A server app's request: start its sandbox and answer the waking page; False for any other target."""
    publishing = (await get_services()).publishing
    target = await publishing.target(host)
    if target is None or target.state != "server":
        return False
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1013})  # try again later
        return True
    if publishing.servers.unavailable(target.project_id, target.release):  # it failed to start: no waking loop
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store"), (b"retry-after", b"60")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else UNAVAILABLE_PAGE})
        return True
    await publishing.start_server(host, target)
    await send({"type": "http.response.start", "status": 503, "headers": _WAKING_HEADERS})
    await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else WAKING_HTML})
    return True


def published_apps(app: ASGIApp) -> ASGIApp:
    edge = StaticApp(_target)
    allowed = allowed_hosts()

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(IDENTITY_PATH):  # the edge asks on Forja's own host
            await app_identity(scope, receive, send)
            return
        if scope["type"] in ("http", "websocket"):
            header = dict(scope["headers"]).get(b"host", b"")
            host = header.decode("latin-1")
            if app_name_of(host) is not None or await _custom_domain(header, allowed):
                if await _app_backend(host, scope, receive, send) or await _server_app(host, scope, send):
                    return
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await edge(scope, receive, send)
                return
            if await preview_backend(header, scope, receive, send):
                return
        await app(scope, receive, send)

    return dispatch
