"""MCP servers an admin added on the admin page (or with `forja mcp-servers`), whose tools agent-mode runs may use."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from builder.models.times import utcnow


class McpServer(SQLModel, table=True):
    """One team's MCP server: reached over streamable HTTP at `url`, or started by `command` in a sandbox of its own
    (builder/services/mcp_stdio.py). Its token and environment are ciphertexts builder/app_secrets.py makes."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=24, unique=True, description="Lower-case letters, digits and -; in the tools' names.")
    url: str = Field(max_length=500, description="Empty for a server started by its command.")
    command: str = Field(default="", max_length=2000, description="The command line of a stdio server; empty: HTTP.")
    env: str = Field(default="", description="Fernet ciphertext of its environment values as JSON; empty: none.")
    token: str = Field(default="", description="Fernet ciphertext of the bearer token; empty: none is sent.")
    # The server's tools as List tools last found them: name, description, input schema, read_only.
    tools: list[dict[str, object]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    allowed: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    added_by: str | None = Field(default=None, max_length=32)
    added_by_name: str = Field(default="", max_length=254)
    created_at: datetime = Field(default_factory=utcnow)
