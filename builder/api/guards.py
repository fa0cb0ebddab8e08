"""ASGI guards in front of everything Forja serves (API, page, websocket, share links).

They run before any route, so a refused request costs nothing: no body is read, no database touched.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from builder.filetree import human_size
from builder.settings import settings

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# Paths whose bodies are whole projects (a zip upload or a JSON tree): they may be as large as an upload.
UPLOAD_PATHS = frozenset({"/api/projects", "/_upload"})
# Multipart framing and the other form fields around an upload's bytes.
UPLOAD_OVERHEAD = 1024 * 1024


def allowed_hosts() -> frozenset[str]:
    """Host names Forja answers to: loopback, the listen address, the public URL's host and FORJA_ALLOWED_HOSTS."""
    names = set(LOOPBACK_HOSTS)
    names.add(settings.host.strip("[]").lower())
    if settings.public_url:
        public = urlsplit(settings.public_url).hostname
        if public:
            names.add(public.lower())
    names.update(name.strip().strip("[]").lower() for name in settings.allowed_hosts.split(",") if name.strip())
    # 0.0.0.0 / :: mean "every interface", never a name a browser sends.
    names.discard("0.0.0.0")
    names.discard("::")
    return frozenset(names)


def host_name(header: bytes) -> str:
    """The name part of a Host header ("[::1]:3000" -> "::1", "Example.org:80" -> "example.org")."""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


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
        header = dict(scope["headers"]).get(b"host")
        name = host_name(header) if header is not None else ""
        if name in allowed:
            await app(scope, receive, send)
            return
        log.warning("refused a request for host %r (allowed: %s)", name, ", ".join(sorted(allowed)))
        detail = (
            f"Forja does not answer to the host name {name!r}. Open it at {settings.base_url}, "
            "or add the name to FORJA_ALLOWED_HOSTS."
        )
        if scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403; no page reads it.
            await send({"type": "websocket.close", "code": 1008, "reason": detail[:120]})
            return
        await _answer(send, 400, detail)

    return guarded


def body_limit(path: str) -> int:
    """Most bytes a request to `path` may send: an upload's limit for whole projects, else FORJA_MAX_REQUEST_BYTES."""
    if path.rstrip("/") in UPLOAD_PATHS:
        return settings.max_upload_bytes + UPLOAD_OVERHEAD
    if path.rstrip("/") == "/api/attachments":
        # Room to read a picture a few times over the limit, so its answer can say how large it is.
        return max(settings.max_request_bytes, 4 * settings.attach_max_bytes)
    if path.rstrip("/").endswith("/generate"):
        # A prompt may carry pictures, in base64 (4/3 of their size); the images module checks each one.
        return settings.max_request_bytes + settings.attach_max_count * (settings.attach_max_bytes * 4 // 3 + 1024)
    return settings.max_request_bytes


def _too_large(limit: int) -> str:
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
        limit = body_limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                await _answer(send, 400, "The Content-Length header is not a number.")
                return
            if too_large:
                await _answer(send, 413, _too_large(limit))
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
                        await _answer(send, 413, _too_large(limit))
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
