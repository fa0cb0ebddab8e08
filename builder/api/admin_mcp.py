"""Teams' MCP servers whose tools agent-mode runs may use (builder/services/mcp_servers.py): list, add, list a
server's tools, choose the allowed ones, remove.

Every route needs an admin (401 without a sign-in or token, 403 for anyone else). A token, or the environment values
of a server started by its command, go in once and never come back out: the answers say only whether a token is set
and the values' names.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from builder.api.bodies import CheckedRoute
from builder.api.identity import Admin
from builder.api.params import RowId
from builder.composition import get_services
from builder.services.mcp_servers import AllowedTools, McpServerInfo, NewMcpServer

router = APIRouter(prefix="/api/admin/mcp-servers", tags=["admin"], route_class=CheckedRoute)


@router.get("")
async def list_mcp_servers(admin: Admin) -> list[McpServerInfo]:
    """The servers, each with its tools as List tools last found them; a token only as `token_set`, environment values
    only as `env_names`."""
    return await (await get_services()).mcp_servers.list(admin)


@router.post("", status_code=201)
async def add_mcp_server(body: NewMcpServer, admin: Admin) -> McpServerInfo:
    """Add a server: its streamable-HTTP address, or the command that starts it (stdio) in a sandbox of its own, 422
    in words where this machine cannot make that sandbox. Agent runs use none of its tools until they are allowed."""
    return await (await get_services()).mcp_servers.add(admin, body)


@router.post("/{server_id}/tools")
async def list_mcp_tools(server_id: RowId, admin: Admin) -> McpServerInfo:
    """Ask the server for its tools (name, description, whether it may change things) and keep the list; 422 in words
    when it cannot be reached (a private address this Forja does not allow, no answer, a refused token)."""
    return await (await get_services()).mcp_servers.list_tools(admin, server_id)


@router.put("/{server_id}/allowed")
async def allow_mcp_tools(server_id: RowId, body: AllowedTools, admin: Admin) -> McpServerInfo:
    """The tools agent-mode runs may use; those that may change things still need the person's approval per run."""
    return await (await get_services()).mcp_servers.allow(admin, server_id, body)


@router.delete("/{server_id}", status_code=204)
async def remove_mcp_server(server_id: RowId, admin: Admin) -> Response:
    """Remove a server and its token; agent runs no longer see its tools."""
    await (await get_services()).mcp_servers.remove(admin, server_id)
    return Response(status_code=204)
