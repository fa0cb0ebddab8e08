"""The admin page's MCP servers section (builder/components/admin_mcp.py): teams' servers whose tools the agent may
use, each with its tools and their ticks.

A token or environment values typed into the form come with its submit only and go straight to the service: they are
never a field of this state, so they are never sent back to the browser.
"""

from __future__ import annotations

import dataclasses

import reflex as rx
from pydantic import ValidationError

from builder.errors import ForjaError
from builder.services.mcp_servers import AllowedTools, McpServerInfo, NewMcpServer
from builder.services.mcp_stdio import env_from_lines
from builder.state.admin_rows import when
from builder.state.auth import Allowed, signed_in


@dataclasses.dataclass
class McpToolRow:
    server_id: int
    name: str
    description: str
    changes_things: bool
    allowed: bool


@dataclasses.dataclass
class McpServerRow:
    id: int
    name: str
    where: str  # its address, or the command that starts it
    secrets: str  # whether a token or environment values are kept, never what they are
    added: str
    tools: list[McpToolRow]
    listed: bool  # List tools found some


def _secrets(info: McpServerInfo) -> str:
    if info.command:
        names = ", ".join(info.env_names)
        return f"Runs in a sandbox of its own; environment values {names} (hidden)" if names else "Runs in a sandbox of its own"
    return "Token set (hidden)" if info.token_set else "No token"


def server_row(info: McpServerInfo) -> McpServerRow:
    return McpServerRow(
        id=info.id,
        name=info.name,
        where=info.command or info.url,
        secrets=_secrets(info),
        added=f"Added by {info.added_by or 'an admin'}, {when(info.created_at)}",
        tools=[McpToolRow(info.id, t.name, t.description, t.changes_things, t.allowed) for t in info.tools],
        listed=bool(info.tools),
    )


class AdminMcpState(rx.State):
    rows: rx.Field[list[McpServerRow]] = rx.field(default_factory=list)
    error: str = ""
    saving: bool = False
    listing: int = 0

    @rx.event
    async def load(self) -> None:
        allowed = await signed_in(self)
        if allowed.actor.is_admin:
            await self._reload(allowed)

    async def _reload(self, allowed: Allowed) -> None:
        self.rows = [server_row(info) for info in await allowed.services.mcp_servers.list(allowed.actor)]

    @rx.event
    async def add(self, form: dict[str, str]):
        """Add the server the form describes; the form is emptied only once it is kept."""
        allowed = await signed_in(self)
        self.saving, self.error = True, ""
        yield
        try:
            env = env_from_lines(form.get("env", ""))
            new = NewMcpServer(
                name=form.get("name", ""),
                url=form.get("url", ""),
                token=form.get("token", ""),
                command=form.get("command", ""),
                env=env,
            )
            await allowed.services.mcp_servers.add(allowed.actor, new)
        except ValidationError:
            self.error = "The name, address, token, command or environment values are too long: check what was typed."
        except ForjaError as exc:
            self.error = exc.message
        else:
            await self._reload(allowed)
            yield [rx.set_value(field, "") for field in ("mcp-name", "mcp-url", "mcp-token", "mcp-command", "mcp-env")]
        finally:
            self.saving = False

    @rx.event
    async def list_tools(self, server_id: int):
        allowed = await signed_in(self)
        self.listing, self.error = server_id, ""
        yield
        try:
            await allowed.services.mcp_servers.list_tools(allowed.actor, server_id)
        except ForjaError as exc:
            self.error = exc.message
        finally:
            self.listing = 0
        await self._reload(allowed)

    @rx.event
    async def tick(self, server_id: int, tool: str, on: bool) -> None:
        """Let agent runs use this tool, or not; the others of its server stay as they are."""
        allowed = await signed_in(self)
        row = next((row for row in self.rows if row.id == server_id), None)
        if row is None:
            return
        names = {t.name for t in row.tools if t.allowed} - {tool} | ({tool} if on else set())
        try:
            await allowed.services.mcp_servers.allow(allowed.actor, server_id, AllowedTools(tools=sorted(names)))
        except ForjaError as exc:
            self.error = exc.message
        await self._reload(allowed)

    @rx.event
    async def remove(self, server_id: int) -> None:
        allowed = await signed_in(self)
        try:
            await allowed.services.mcp_servers.remove(allowed.actor, server_id)
        except ForjaError as exc:
            self.error = exc.message
        await self._reload(allowed)
