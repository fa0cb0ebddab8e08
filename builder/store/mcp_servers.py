"""The MCP servers an admin added, as kept: their tokens as the ciphertext builder/app_secrets.py made."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.models import McpServer
from builder.store.base import StoreBase


class McpServerRecords(StoreBase):
    async def mcp_servers(self) -> list[McpServer]:
        """Every server, the oldest first."""
        async with self._sessions() as session:
            return list((await session.exec(select(McpServer).order_by(col(McpServer.id)))).all())

    async def add_mcp_server(self, row: McpServer) -> McpServer | None:
        """Keep `row`; None when a server has its name already."""
        try:
            async with self._sessions() as session, session.begin():
                session.add(row)
                await session.flush()
                await session.refresh(row)
                return row
        except IntegrityError:
            return None

    async def set_mcp_tools(self, server_id: int, tools: list[dict[str, object]], allowed: list[str]) -> McpServer | None:
        """The server's tools as last listed and those agent runs may use; None when there is no server of that id."""
        async with self._sessions() as session, session.begin():
            row = await session.get(McpServer, server_id)
            if row is None:
                return None
            row.tools, row.allowed = tools, allowed
            session.add(row)
            await session.flush()
            await session.refresh(row)
            return row

    async def remove_mcp_server(self, server_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            row = await session.get(McpServer, server_id)
            if row is None:
                return False
            await session.delete(row)
            return True
