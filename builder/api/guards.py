"""ASGI guards in front of everything Forja serves (API, page, websocket, share links).

They run before any route, so a refused request costs nothing: no body is read, no database touched. API_GUARDS
lists them in the order Forja wraps its app in them; `guarded` does the wrapping.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from builder.api.apps import published_apps
from builder.api.bodies import is_json
from builder.api.hosts import allowed_hosts, host_allowed, parse_host
from builder.api.identity import ACTOR_KEY, PUBLIC_API, actor_of_headers
from builder.api.proxies import forwarded
from builder.errors import ForjaError
from builder.filetree import human_size
from builder.monitoring.http import measured
from builder.settings import settings

log = logging.getLogger(__name__)


# Paths whose bodies are whole projects (a zip upload or a JSON tree): they may be as large as an upload.
UPLOAD_PATHS = frozenset({"/api/projects", "/_upload"})
# Multipart framing and the other form fields around an upload's bytes.
UPLOAD_OVERHEAD = 1024 * 1024


def _json_response(status: int, detail: str) -> list[Message]:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


async def _answer(send: Send, status: int, detail: str) -> None:
    for message in _json_response(status, detail):
        await send(message)


def trusted_hosts(app: ASGIApp) -> ASGIApp:
    """Refuse requests whose Host is not one of Forja's names (DNS rebinding).

    A page on an attacker's domain that re-points its name at 127.0.0.1 becomes same-origin with
    Forja in the browser's eyes, and could read the API; its requests still carry the attacker's
    host name, which this refuses. Read once at start: the settings do not change while Forja runs.
    """
    allowed = allowed_hosts()

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"")
        if host_allowed(parse_host(header), allowed):
            await app(scope, receive, send)
            return
        name = header.decode("latin-1")[:200]
        log.warning("refused a request for host %r", name)
        detail = (
            f"Forja does not answer to the host name {name!r}. Open it at {settings.base_url}, "
            "or add the name (with its port, if it is not Forja's) to FORJA_ALLOWED_HOSTS."
        )
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403; no page reads it.
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        await _answer(send, 400, detail)

    return guarded


def body_limit(path: str, json_body: bool = False) -> int:
    """Most bytes a request to `path` may send: an upload's limit for whole projects, else FORJA_MAX_REQUEST_BYTES; a
    JSON body at most FORJA_MAX_JSON_BYTES of that (plus its pictures, for a prompt)."""
    path = path.rstrip("/")
    if path.endswith("/generate"):
        # A prompt may carry pictures, in base64 (4/3 of their size); the images module checks each one.
        pictures = settings.attach_max_count * (settings.attach_max_bytes * 4 // 3 + 1024)
        return min(settings.max_request_bytes, settings.max_json_bytes) + pictures
    if path in UPLOAD_PATHS or (path.startswith("/git/") and path.endswith("/git-receive-pack")):
        # A git push carries a whole project too; its files are checked one by one (builder/git/pushes.py).
        limit = settings.max_upload_bytes + UPLOAD_OVERHEAD
    elif path == "/api/attachments":
        # Room to read a picture a few times over the limit, so its answer can say how large it is.
        limit = max(settings.max_request_bytes, 4 * settings.attach_max_bytes)
    else:
        limit = settings.max_request_bytes
    return min(limit, settings.max_json_bytes) if json_body else limit


def _too_large(limit: int, json_body: bool) -> str:
    if json_body:
        return (
            f"The JSON body is larger than {human_size(limit)} (the limit for JSON here, FORJA_MAX_JSON_BYTES); nothing "
            "was read or saved. Send a larger project as a zip upload."
        )
    return f"The request body is larger than {human_size(limit)} (the limit for this address); nothing was read or saved."


def limited_bodies(app: ASGIApp) -> ASGIApp:
    """Refuse request bodies over the limit before reading them (413).

    A declared Content-Length over it is refused at once. A body without one (chunked) is counted
    as it arrives; once it goes over, Forja answers 413 and the route sees the client as gone, so
    nothing beyond the limit is ever held in memory.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        json_body = is_json(headers.get(b"content-type"))
        limit = body_limit(scope["path"], json_body)
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                await _answer(send, 400, "The Content-Length header is not a number.")
                return
            if too_large:
                await _answer(send, 413, _too_large(limit, json_body))
                return
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _answer(send, 413, _too_large(limit, json_body))
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # After the 413 the route's own answer (to a client it believes gone) is dropped.
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await app(scope, counted_receive, guarded_send)

    return guarded


def signed_in_api(app: ASGIApp) -> ASGIApp:
    """Refuse /api/ requests without a working sign-in or API token (401) when Forja has accounts."""

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/api/") or path.startswith(PUBLIC_API):
            await app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        try:
            actor = await actor_of_headers(
                headers.get(b"cookie", b"").decode("latin-1"), headers.get(b"authorization", b"").decode("latin-1")
            )
        except ForjaError as exc:
            body = json.dumps(exc.body()).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"www-authenticate", b'Bearer realm="forja"'),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope[ACTOR_KEY] = actor
        await app(scope, receive, send)

    return guarded


ISOLATION_HEADERS = [
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"credentialless"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
# No page of another origin may frame Forja's (clickjacking): previews and published apps are same-site with it.
# Share pages frame the app themselves, and may not be framed either.
FRAME_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
]
# Forja's own page, on top: scripts only from Forja (Reflex's prerendered pages carry inline scripts and its
# call_script evaluates code, so those stay allowed), no plugins, no <base> pointing elsewhere, forms post to Forja only.
# Styles and images only from Forja too, so CSS that reached the page some other way cannot load anything from elsewhere
# (a url() that tells another site the page was seen): inline styles stay allowed, as Emotion (Reflex's components) and
# Monaco write <style> elements as they render; images may also be data: (Monaco's icons, a picture file in the Code
# tab) and blob: addresses. Frames and connections stay open: previews live on origins of their own, and WebContainers
# on StackBlitz's.
STYLE_AND_IMAGES = b"style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:"
PAGE_POLICY = (
    b"script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; " + STYLE_AND_IMAGES + b"; object-src 'none'; "
    b"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# A share page (/s/...) has its own inline style and poll script, and frames the app: its styles and images are limited
# as the page's are.
SHARE_PAGE_POLICY = STYLE_AND_IMAGES + b"; object-src 'none'; base-uri 'self'"


def _policy_of(path: str, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The policy of an answer that is one of Forja's own HTML pages (not under /api/): a share link's or the page's."""
    if path.startswith("/api/"):
        return None
    kind = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    if kind.split(b";", 1)[0].strip().lower() != b"text/html":
        return None
    return SHARE_PAGE_POLICY if path.startswith("/s/") else PAGE_POLICY


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_origin_writes(app: ASGIApp) -> ASGIApp:
    """Refuse changes requested by pages of other origins (a preview, any site the person visits).

    CORS keeps other origins from reading answers, but a cross-site form POST still reaches the
    server; a browser always names the Origin of such a request. Clients without one (the CLI,
    curl) are not browsers and pass.
    """
    allowed = {origin.encode() for origin in settings.builder_origins}

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            origin = dict(scope["headers"]).get(b"origin")
            if origin is not None and origin not in allowed:
                response = JSONResponse({"detail": "Requests from other sites may not change Forja's projects."}, status_code=403)
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded


def isolate(app: ASGIApp) -> ASGIApp:
    """Make every page cross-origin isolated, which WebContainers need to boot, and unframeable by other pages.

    `credentialless` rather than `require-corp`: cross-origin loads (the preview iframe's
    subresources) still work without each carrying a CORP header, but get no cookies. The frame headers go on every
    answer, each CSP header as one more (a browser enforces them all), so a route's own policy cannot drop them.
    """

    async def isolated(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                added = [h for h in ISOLATION_HEADERS if h[0] not in present]
                added += [h for h in FRAME_HEADERS if h[0] == b"content-security-policy" or h[0] not in present]
                if (policy := _policy_of(scope.get("path", ""), headers)) is not None:
                    added.append((b"content-security-policy", policy))
                message["headers"] = headers + added
            await send(message)

        await app(scope, receive, send_with_headers)

    return isolated


# The page's build names each file in /assets/ by a digest of its content (Vite: `root-CTmXplPd.js`): a changed file
# has a new name, so a browser may keep one for a year without asking again. A phone's second visit then loads them from
# its cache, rather than asking about each (some fifty on a page) once the browser's own guess of their freshness ends.
HASHED_ASSET = re.compile(r"/assets/[^/]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+")
IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
# But Reflex's env file: it holds Forja's own addresses, written over the build's at a start on another address
# (builder/launch/page.py readdress) under the same name, so a browser asks about it at each load and never keeps the
# addresses of before a move.
READDRESSED = re.compile(r"/assets/reflex-env-[^/]+\.js")
REVALIDATE = (b"cache-control", b"no-cache")


def cached_assets(app: ASGIApp) -> ASGIApp:
    """A year's caching for the page build's hashed files; everything else as its route answers it."""

    async def cached(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not HASHED_ASSET.fullmatch(scope["path"]):
            await app(scope, receive, send)
            return
        policy = REVALIDATE if READDRESSED.fullmatch(scope["path"]) else IMMUTABLE

        async def send_cached(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = list(message.get("headers", []))
                if all(name.lower() != b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, policy]
            await send(message)

        await app(scope, receive, send_cached)

    return cached


# Every request passes these before the API or the page: each wraps the ones before it, so the last is the outermost
# (a foreign Host or an oversized body is refused before anything else looks at the request).
# The proxies' headers are read (or dropped) first of all: everything after sees the client's own address and Host;
# then an app's address goes to its files (apps.py), outside Forja's own guards and headers; `measured` comes next, so
# that every request of Forja's own is counted and timed (/metrics), a guard's refusal too; then `isolate`, so that
# every answer of Forja's carries its headers.
API_GUARDS: list[Callable[[ASGIApp], ASGIApp]] = [
    signed_in_api,
    same_origin_writes,
    limited_bodies,
    trusted_hosts,
    cached_assets,
    isolate,
    measured,
    published_apps,
    forwarded,
]


def guarded(app: ASGIApp) -> ASGIApp:
    """`app` behind API_GUARDS, as Forja serves it (tests and the CLI's served API use this too)."""
    for guard in API_GUARDS:
        app = guard(app)
    return app
