"""Forja's MCP tools (builder.mcp.tools) over streamable HTTP at /api/mcp, for agents on other machines.

The endpoint sits behind the API's guards like any /api/ route: with accounts, a request without a working API token
(Authorization: Bearer) is refused before it gets here, and the tools act as the person the token names, with their
roles in each project. A browser's session cookie alone does not open it: a page on a preview's or an app's origin is
same-site with Forja, so the browser would send the cookie with that page's requests here. It is stateless (each POST answers in JSON, no session to keep), so any worker of a Forja with
several can answer any request. The SDK's own Host and Origin checks stay off: Forja's guards (trusted_hosts,
same_origin_writes) make them for every route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from builder.api.identity import bearer_of
from builder.settings import settings

if TYPE_CHECKING:
    from builder.mcp.tools import ForjaServer

PATH = "/api/mcp"
NOT_RUNNING = "Forja's MCP endpoint is not running in this process; it starts with Forja (bash scripts/run.sh)."
TOKEN_ONLY = (
    "Forja's MCP endpoint takes a personal API token only, sent as 'Authorization: Bearer forja_...' (make one on your "
    "Account page); a browser's sign-in does not open it."
)


class McpEndpoint:
    """The ASGI app at /api/mcp: the SDK's streamable HTTP transport, while `running` (Forja's lifespan) runs it."""

    def __init__(self) -> None:
        self._server: ForjaServer | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # Imported here, in the server's lifespan: the MCP SDK takes seconds to import, and the page's compile, which
        # imports this module in a process of its own at each start, never serves it.
        from builder.api.mcp_served import serving

        async with serving() as server:
            self._server = server
            try:
                yield
            finally:
                self._server = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._server is None:
            await JSONResponse({"detail": NOT_RUNNING}, status_code=503)(scope, receive, send)
            return
        if settings.auth_mode == "password" and bearer_of(Headers(scope=scope).get("authorization", "")) is None:
            refusal = JSONResponse({"detail": TOKEN_ONLY}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="forja"'})
            await refusal(scope, receive, send)
            return
        await self._server.session_manager.handle_request(scope, receive, send)


endpoint = McpEndpoint()
