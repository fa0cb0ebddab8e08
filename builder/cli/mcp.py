"""`python -m builder mcp`: Forja's tools for another agent, as an MCP server on stdin and stdout.

It works like every person's command (builder.cli.command.a_backend): on this machine's database as the person whose
API token is given (--token or FORJA_TOKEN; none needed without accounts), or with --server on a Forja's HTTP API.
stdout carries the protocol alone, so the command prints nothing itself; logs go to stderr.
"""

from __future__ import annotations

import argparse
from contextlib import nullcontext
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend


async def cmd_mcp(backend: Backend, _args: argparse.Namespace) -> tuple[Any, str]:
    # Imported here: the MCP SDK (Starlette, OpenTelemetry, JSON Schema...) would slow every other command's start.
    from builder.mcp.tools import ForjaServer

    await ForjaServer(lambda _ctx: nullcontext(backend)).run_stdio_async()
    return None, ""


COMMANDS: dict[str, Command[Any]] = {"mcp": Command(a_backend, cmd_mcp, prints=False)}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the command above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    sub.add_parser(
        "mcp",
        parents=[common],
        help="serve Forja's tools to another agent over stdio (Model Context Protocol)",
        description="Serve Forja's tools (projects, generate, files, preview, logs, share, publish) to an MCP client "
        "on stdin/stdout, as the person whose token is given. docs/features.md shows a client's configuration.",
    )
