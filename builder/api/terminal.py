"""The Terminal tab's websocket: a shell in the project's running preview (builder/services/terminal.py).

Who may open one is checked before the handshake is answered, so a refusal is an HTTP 403 (401 without a sign-in):
an editor or the owner, signed in with the session cookie or an API token, from Forja's own page or from a client
that is no page. A websocket is not held to the same-origin rule as a fetch, and previews live on sibling hosts
that the browser counts as the same site: so a request that names an Origin other than Forja's page is refused.

Frames: binary ones are the terminal's bytes both ways (keystrokes and pasted text in, output out); a text frame
from the page is JSON, `{"type": "resize", "cols": C, "rows": R}`. Once open, a refusal of the service (no preview
running, too many terminals) is one text frame `{"type": "error", "status": S, "detail": "..."}` and a close with
code 4000 + S, as a page cannot read a refused handshake's answer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from builder.api.identity import actor_of_headers
from builder.composition import get_services
from builder.errors import ForjaError
from builder.services.access import Actor, Permission
from builder.services.terminal import Resize, TerminalInput
from builder.settings import settings

log = logging.getLogger(__name__)

router = APIRouter()

DEFAULT_COLS, DEFAULT_ROWS = 80, 24
# Most bytes of one frame from the page (a paste): more is refused, as a request body over its limit would be.
MAX_FRAME_BYTES = 64 * 1024
POLICY_VIOLATION = 1008


async def _refuse(websocket: WebSocket, reason: str) -> None:
    """Before accepting: the server answers the handshake with 403, the reason for clients that read close frames."""
    await websocket.close(code=POLICY_VIOLATION, reason=reason[:120])


async def _admitted(websocket: WebSocket, project_id: str) -> Actor | None:
    origin = websocket.headers.get("origin")
    if origin is not None and origin not in settings.builder_origins:
        await _refuse(websocket, "A terminal opens only from Forja's own page.")
        return None
    try:
        actor = await actor_of_headers(websocket.headers.get("cookie", ""), websocket.headers.get("authorization", ""))
        await (await get_services()).access.require(actor, project_id, Permission.edit)
    except ForjaError as exc:
        await _refuse(websocket, exc.message)
        return None
    return actor


async def _incoming(websocket: WebSocket) -> AsyncIterator[TerminalInput]:
    """The page's frames as terminal input, until it closes."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if (data := message.get("bytes")) is not None:
                if len(data) > MAX_FRAME_BYTES:
                    return
                yield data
            elif (text := message.get("text")) is not None:
                if (resize := _resize(text)) is not None:
                    yield resize
    except WebSocketDisconnect:
        return


def _resize(text: str) -> Resize | None:
    try:
        body = json.loads(text)
        if body.get("type") == "resize":
            return Resize(int(body["cols"]), int(body["rows"]))
    except (ValueError, TypeError, KeyError, AttributeError):
        pass
    return None


@router.websocket("/api/projects/{project_id}/terminal")
async def terminal(websocket: WebSocket, project_id: str, cols: int = DEFAULT_COLS, rows: int = DEFAULT_ROWS) -> None:
    """A shell in the project's running preview (editors and its owner): see this module's docstring."""
    if (actor := await _admitted(websocket, project_id)) is None:
        return
    services = await get_services()
    await websocket.accept()
    try:
        opened = await services.terminals.open(project_id, actor, cols, rows)
    except ForjaError as exc:
        await websocket.send_text(json.dumps({"type": "error", "status": exc.status, "detail": exc.message}))
        await websocket.close(code=4000 + exc.status)
        return

    async def send(data: bytes) -> None:
        await websocket.send_bytes(data)

    try:
        await services.terminals.serve(opened, _incoming(websocket), send)
    except (WebSocketDisconnect, RuntimeError, OSError):
        return  # the page went away while output was on its way: the shell is ended all the same
    try:
        await websocket.close()
    except (RuntimeError, OSError):
        pass
