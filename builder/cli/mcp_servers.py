"""Operator commands for teams' MCP servers whose tools agent-mode runs may use: `mcp-servers
list|add|tools|allow|remove`; builder.cli wires them in.

The same as the admin page's MCP servers section (builder/services/mcp_servers.py). They run on the server itself, on
its Services (builder.cli.command.local_services), and need no token of Forja's. A server's token, or the environment
values of one started by its command, are read from stdin or typed on a terminal, never an argument (others can read a
command line in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from builder.cli.command import Command, local_services
from builder.composition import Services
from builder.services.access import LOCAL_ACTOR
from builder.services.mcp_servers import AllowedTools, McpServerInfo, NewMcpServer
from builder.services.mcp_stdio import env_from_lines


def _read_token(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        return ""
    return getpass.getpass("Token (not shown; empty for a server that needs none): ")


def _read_env(from_stdin: bool) -> dict[str, str]:
    return env_from_lines(sys.stdin.read()) if from_stdin else {}


def _line(s: McpServerInfo) -> str:
    allowed = sum(t.allowed for t in s.tools)
    if s.command:
        kept = f"in a sandbox; environment {', '.join(s.env_names) or 'none'}"
    else:
        kept = "token set" if s.token_set else "no token"
    return f"{s.id:>4}  {s.name:<16} {s.command or s.url}  ({kept}; {allowed} of {len(s.tools)} tools allowed)"


def _tools(s: McpServerInfo) -> str:
    rows = [
        f"  [{'x' if t.allowed else ' '}] {t.name}{' (changes things)' if t.changes_things else ''}: {t.description}"
        for t in s.tools
    ]
    return "\n".join([_line(s), *rows]) if rows else f"{_line(s)}\n  No tools listed: run `forja mcp-servers tools {s.id}`."


async def cmd_list(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    found = await services.mcp_servers.list(LOCAL_ACTOR)
    return found, "\n".join(_line(s) for s in found) or "No MCP server is added: the agent uses Forja's own tools only."


async def cmd_add(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    if args.server_command:
        env = await asyncio.to_thread(_read_env, args.env_stdin)
        new = NewMcpServer(name=args.name, url=args.url, command=args.server_command, env=env)
    else:
        token = await asyncio.to_thread(_read_token, args.token_stdin)
        new = NewMcpServer(name=args.name, url=args.url, token=token)
    made = await services.mcp_servers.add(LOCAL_ACTOR, new)
    return made, f"Added: {_line(made)}\nList its tools with: forja mcp-servers tools {made.id}"


async def cmd_tools(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    found = await services.mcp_servers.list_tools(LOCAL_ACTOR, args.server_id)
    return found, _tools(found)


async def cmd_allow(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    found = await services.mcp_servers.allow(LOCAL_ACTOR, args.server_id, AllowedTools(tools=args.tools))
    return found, _tools(found)


async def cmd_remove(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    await services.mcp_servers.remove(LOCAL_ACTOR, args.server_id)
    return {"id": args.server_id, "removed": True}, f"MCP server {args.server_id} removed; its token is deleted."


COMMANDS: dict[str, Command[Any]] = {
    "mcp-servers list": Command(local_services, cmd_list),
    "mcp-servers add": Command(local_services, cmd_add),
    "mcp-servers tools": Command(local_services, cmd_tools),
    "mcp-servers allow": Command(local_services, cmd_allow),
    "mcp-servers remove": Command(local_services, cmd_remove),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `mcp-servers` and its actions to builder.cli's subparsers (`sub`), with the common options (`common`)."""
    p = sub.add_parser("mcp-servers", help="teams' MCP servers whose tools the agent may use (as the admin page's section)")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="list the servers (a token only as set)")
    p = actions.add_parser("add", parents=[common], help="add a server; its token is asked for, or read from stdin")
    p.add_argument("name", help="a short name: lower-case letters, digits and -")
    p.add_argument("url", nargs="?", default="", help="its streamable-HTTP address, e.g. https://tools.example.com/mcp")
    p.add_argument("--token-stdin", action="store_true", help="read the bearer token from the first line of stdin")
    p.add_argument(
        "--command",
        dest="server_command",  # args.command is the command group's name (builder.cli.parser)
        metavar="COMMAND",
        default="",
        help="instead of an address, the command line that starts the server (stdio), e.g. 'npx -y "
        "@modelcontextprotocol/server-everything': run in a sandbox of its own",
    )
    p.add_argument(
        "--env-stdin", action="store_true", help="with --command: its environment values from stdin, NAME=value a line"
    )
    p = actions.add_parser("tools", parents=[common], help="ask the server for its tools and show them")
    p.add_argument("server_id", type=int)
    p = actions.add_parser("allow", parents=[common], help="the tools agent runs may use (the others not)")
    p.add_argument("server_id", type=int)
    p.add_argument("tools", nargs="*", help="tool names; none: no tool")
    p = actions.add_parser("remove", parents=[common], help="remove it and its token")
    p.add_argument("server_id", type=int)
