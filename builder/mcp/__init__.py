"""Forja as an MCP server: its tools (builder.mcp.tools), served over stdio by `python -m builder mcp`
(builder.cli.mcp) and over streamable HTTP at /api/mcp (builder.api.mcp)."""
