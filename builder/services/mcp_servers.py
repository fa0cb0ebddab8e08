"""Teams' MCP servers an admin adds on the admin page, under /api/admin/mcp-servers and with `forja mcp-servers`: add
one (an address and, if it needs one, a bearer token; or a command line that starts it, run in a sandbox of its own
(builder/services/mcp_stdio.py), and its environment values; token and values encrypted at rest as the apps'
variables are and never shown again), list them, list a server's tools (name, description, whether it changes things), tick the tools agent-mode
runs may use (none until ticked), remove one.

Agent runs read them from the store (builder/services/mcp_tools.py); `approvable` is what the agent form asks the
person to approve. Every other method refuses anyone but an admin (Forbidden), whatever called it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import AbstractAsyncContextManager
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from builder.app_secrets import decrypt, encrypt
from builder.errors import InvalidInput, NotFound
from builder.filetree import hidden_character
from builder.models import McpServer
from builder.schemas import RequestBody
from builder.services.access import Actor, require_admin
from builder.services.mcp_client import ListedTool, check_url, connected, list_tools
from builder.services.mcp_stdio import (
    MAX_COMMAND,
    MAX_ENV,
    check_command,
    check_env,
    env_names,
    forget,
    kept_folder,
    sandbox_refusal,
    sealed_env,
    stdio_connected,
)
from builder.store import ProjectStore, stored_number

if TYPE_CHECKING:
    from mcp import Client

log = logging.getLogger(__name__)

MAX_TOKEN = 2000
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")
# What a model's tool name may hold (Claude's rule, the stricter): the tools' names are mcp_<server>_<tool>.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class McpToolInfo(BaseModel):
    name: str
    description: str
    changes_things: bool = Field(description="The server does not say the tool only reads: it may change things.")
    allowed: bool = Field(description="Agent-mode runs may use it.")


class McpServerInfo(BaseModel):
    """A server as an admin sees it: whether a token is set, never the token."""

    id: int
    name: str
    url: str = Field(description="Its streamable-HTTP address; empty for a server started by its command.")
    command: str = Field(description="The command line that starts it in a sandbox of its own; empty for an address.")
    token_set: bool = Field(description="Whether a token is stored (it is never shown again).")
    env_names: list[str] = Field(description="The names of its environment values (the values are never shown again).")
    tools: list[McpToolInfo] = Field(description="Its tools as List tools last found them.")
    added_by: str
    created_at: datetime


class ApprovableTool(BaseModel):
    """An allowed tool that may change things outside Forja: the person approves it for a run, or it is not run."""

    name: str = Field(description="As the agent calls it, and as `approved_tools` names it: mcp_<server>_<tool>.")
    tool: str
    server: str
    description: str


class NewMcpServer(RequestBody):
    name: str = Field(
        max_length=24, description="A short name: lower-case letters, digits and -, such as `tickets`; the agent sees it."
    )
    url: str = Field(default="", max_length=500, description="The server's streamable-HTTP address (http or https).")
    token: str = Field(default="", max_length=MAX_TOKEN, repr=False, description="Sent as a bearer token; stored encrypted.")
    command: str = Field(
        default="",
        max_length=MAX_COMMAND,
        description="Instead of an address: the command line that starts the server (stdio), such as `npx -y "
        "@modelcontextprotocol/server-everything`, run in a sandbox of its own that reaches only the package registries.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        max_length=MAX_ENV,
        repr=False,
        description="Environment values the command's server is given (an API key of the service it wraps); stored encrypted.",
    )


class AllowedTools(RequestBody):
    tools: list[str] = Field(max_length=200, description="The names of the tools agent-mode runs may use; the others not.")


def model_name(server: str, tool: str) -> str:
    """The tool's name as the model sees it."""
    return f"mcp_{server.replace('-', '_')}_{tool}"


def _check(new: NewMcpServer) -> NewMcpServer:
    name = new.name.strip().lower()
    if not NAME.fullmatch(name):
        raise InvalidInput("Name the server with lower-case letters, digits and - only (at most 24), such as tickets.")
    if not new.command.strip() and not new.url.strip():
        raise InvalidInput("Give the server's address, or the command that starts it.")
    if new.command.strip():
        if new.url.strip() or new.token.strip():
            raise InvalidInput("Give the server's address or its command, not both (a command's server needs no token).")
        return new.model_copy(update={"name": name, "command": check_command(new.command), "env": check_env(new.env)})
    if new.env:
        raise InvalidInput("Environment values are for a server started by its command: an address's server gets a token.")
    token = new.token.strip()
    if any(c.isspace() for c in token) or hidden_character(token) is not None:
        raise InvalidInput("The token cannot hold spaces or invisible characters: paste it again.")
    return new.model_copy(update={"name": name, "url": check_url(new.url), "token": token})


def session(row: McpServer) -> AbstractAsyncContextManager[Client]:
    """A session with the server, however it is reached: its command started in its sandbox, or its address."""
    if row.command:
        return stdio_connected(row.name, row.command, row.env, kept_folder(row.id) if row.id is not None else None)
    return connected(row.url, decrypt(row.token) if row.token else "")


def described(row: McpServer) -> str:
    """The server, as a sentence about it begins."""
    return f"The {row.name} server" if row.command else f"The server at {row.url}"


def _listed(row: McpServer) -> list[ListedTool]:
    return [ListedTool(**tool) for tool in row.tools]  # pyright: ignore[reportArgumentType] (as _listed_tools kept them)


def _info(row: McpServer) -> McpServerInfo:
    assert row.id is not None
    tools = [
        McpToolInfo(name=t.name, description=t.description, changes_things=not t.read_only, allowed=t.name in row.allowed)
        for t in _listed(row)
    ]
    return McpServerInfo(
        id=row.id,
        name=row.name,
        url=row.url,
        command=row.command,
        token_set=bool(row.token),
        env_names=env_names(row.env),
        tools=tools,
        added_by=row.added_by_name,
        created_at=row.created_at,
    )


class McpServerService:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    async def approvable(self) -> list[ApprovableTool]:
        """What the agent form asks the person to approve before a run. Anyone who may start one sees them: names and
        descriptions only, no address or token."""
        return [
            ApprovableTool(name=model_name(row.name, t.name), tool=t.name, server=row.name, description=t.description)
            for row in await self._store.mcp_servers()
            for t in _listed(row)
            if t.name in row.allowed and not t.read_only
        ]

    async def list(self, admin: Actor) -> list[McpServerInfo]:
        require_admin(admin)
        return [_info(row) for row in await self._store.mcp_servers()]

    async def add(self, admin: Actor, new: NewMcpServer) -> McpServerInfo:
        require_admin(admin)
        new = _check(new)
        if new.command and (refused := await sandbox_refusal()):
            raise InvalidInput(refused)
        row = McpServer(
            name=new.name,
            url=new.url,
            command=new.command,
            env=sealed_env(new.env),
            token=encrypt(new.token) if new.token else "",
            added_by=admin.user_id,
            added_by_name=admin.name or admin.email,
        )
        added = await self._store.add_mcp_server(row)
        if added is None:
            raise InvalidInput(f"There is a server named {new.name} already: choose another name.")
        log.info("MCP server %s (%s) added by %s", added.id, added.name, admin.user_id)
        return _info(added)

    async def list_tools(self, admin: Actor, server_id: int) -> McpServerInfo:
        """Ask the server for its tools and keep them; those allowed before stay allowed if the server still has them."""
        require_admin(admin)
        row = await self._row(server_id)
        # A tool whose name would not fit a model's tool name (too long, other characters) is left out.
        listed = await list_tools(session(row), described(row))
        found = [t for t in listed if TOOL_NAME.fullmatch(model_name(row.name, t.name))]
        allowed = [name for name in row.allowed if name in {t.name for t in found}]
        updated = await self._store.set_mcp_tools(server_id, [asdict(t) for t in found], allowed)
        if updated is None:
            raise NotFound(f"There is no MCP server {server_id}.")
        log.info("MCP server %s listed %d tools for %s", server_id, len(found), admin.user_id)
        return _info(updated)

    async def allow(self, admin: Actor, server_id: int, tools: AllowedTools) -> McpServerInfo:
        require_admin(admin)
        row = await self._row(server_id)
        known = {t.name for t in _listed(row)}
        if unknown := sorted(set(tools.tools) - known):
            raise InvalidInput(f"{row.name} has no tool {unknown[0]} (List tools shows the ones it has).")
        updated = await self._store.set_mcp_tools(server_id, row.tools, sorted(set(tools.tools)))
        if updated is None:
            raise NotFound(f"There is no MCP server {server_id}.")
        log.info("MCP server %s: agent runs may use %s (set by %s)", server_id, updated.allowed, admin.user_id)
        return _info(updated)

    async def remove(self, admin: Actor, server_id: int) -> None:
        require_admin(admin)
        if not stored_number(server_id) or not await self._store.remove_mcp_server(server_id):
            raise NotFound(f"There is no MCP server {server_id}.")
        await asyncio.to_thread(forget, server_id)
        log.info("MCP server %s removed by %s", server_id, admin.user_id)

    async def _row(self, server_id: int) -> McpServer:
        row = next((row for row in await self._store.mcp_servers() if row.id == server_id), None)
        if row is None:
            raise NotFound(f"There is no MCP server {server_id}.")
        return row
