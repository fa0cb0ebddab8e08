"""The co-editing websocket: each file of a project is a y-websocket room at /api/projects/{id}/collab/{file path}.

Any Yjs client joins (Forja's page, an editor plugin, a script): the page with its session cookie, others with a
personal API token (Authorization: Bearer), and with FORJA_AUTH=none from this machine with neither. Pages of other
origins (previews, published apps, any site) are refused. A refusal accepts the socket and closes it at once with code
4000 + the HTTP status (4401, 4403, 4404, 4429...) and the sentence as its reason, so a client can say why.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from builder.api.identity import actor_of_headers, client_address
from builder.composition import get_services
from builder.errors import Forbidden, ForjaError
from builder.services.access import GRANTS, Permission
from builder.settings import is_loopback, settings

log = logging.getLogger(__name__)

router = APIRouter()

# A websocket close reason holds at most 123 bytes.
REASON_BYTES = 123


def _reason(message: str) -> str:
    encoded = message.encode()[:REASON_BYTES]
    return encoded.decode(errors="ignore")


@router.websocket("/api/projects/{project_id}/collab/{path:path}")
async def collab_room(websocket: WebSocket, project_id: str, path: str) -> None:
    await websocket.accept()
    try:
        origin = websocket.headers.get("origin")
        if origin is not None and origin not in settings.builder_origins:
            raise Forbidden("Pages of other sites may not join Forja's co-editing rooms.")
        if settings.auth_mode == "none" and not is_loopback(client_address(websocket.scope)):
            raise Forbidden("Without accounts (FORJA_AUTH=none) only this machine may join co-editing rooms.")
        actor = await actor_of_headers(websocket.headers.get("cookie", ""), websocket.headers.get("authorization", ""))
        services = await get_services()
        role = await services.access.require(actor, project_id, Permission.view)

        async def receive() -> bytes | None:
            try:
                message = await websocket.receive()
            except WebSocketDisconnect:
                return None
            if message["type"] == "websocket.disconnect":
                return None
            return message.get("bytes") or b""

        await services.collab.serve(project_id, path, actor, GRANTS[role], receive, websocket.send_bytes)
    except ForjaError as exc:
        await websocket.close(code=4000 + exc.status, reason=_reason(exc.message))
        return
    except WebSocketDisconnect:
        return
    try:
        await websocket.close()
    except (RuntimeError, WebSocketDisconnect):  # the client closed it first
        pass
