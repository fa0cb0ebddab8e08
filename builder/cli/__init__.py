"""`forja COMMAND` (or `python -m builder COMMAND`): Forja from a terminal, for people and scripts.

One module per command group (projects, plans, agent, history, git_remote, git_tokens, shares, publish, review, env,
accounts, models, mcp_servers, doctor, operator, mcp), each a table of Commands (builder.cli.command) and the parsers of their arguments.
The person's commands work on this machine's database as the person whose API token is given (--token or
FORJA_TOKEN; none needed without accounts), or with --server on a Forja's HTTP API; either way their role in the
project is checked as the API checks it. The operator's commands (`user`, `token`, `models`, `mcp-servers`, `migrate`,
`doctor`, `purge-trash`) work on this machine's own Forja and need no token.

Every command takes --json for machine-readable output; errors go to stderr in plain words
with exit status 1 (2 for usage mistakes, as argparse does, and for a refusal before anything was done).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import sys
from typing import Any

from pydantic import BaseModel

from builder.cli import (
    accounts,
    agent,
    doctor,
    env,
    evals,
    git_remote,
    git_tokens,
    history,
    mcp,
    mcp_servers,
    models,
    operator,
    plans,
    projects,
    publish,
    review,
    shares,
)
from builder.cli.command import Command, Invocation
from builder.errors import ForjaError
from builder.generation.who_connects import for_reader

GROUPS = (
    projects, plans, agent, history, git_remote, git_tokens, shares, publish, review, env, accounts, models, mcp_servers, doctor, operator, mcp, evals,
)  # fmt: skip
COMMANDS: dict[str, Command[Any]] = {name: command for group in GROUPS for name, command in group.COMMANDS.items()}


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


def parser(prog: str = "forja") -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog=prog, description="Forja from the command line.")
    sub = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--server", metavar="URL", help="work on the Forja at this address, through its API (env FORJA_SERVER)")
    common.add_argument(
        "--token",
        metavar="TOKEN",
        help="your API token, from your Account page (better as env FORJA_TOKEN: others can see a command line)",
    )
    for group in GROUPS:
        group.add_parsers(sub, common)
    return root


def command_name(args: argparse.Namespace) -> str:
    """The command's key in COMMANDS: "files", or "user create" for a command with actions."""
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if action else args.command


def shown_command(prog: str, argv: list[str]) -> str:
    """The command line as typed, for a sentence that says what to run: its --token left out (others may read it)."""
    shown: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--token":
            skip = True
        elif not arg.startswith("--token="):
            shown.append(arg)
    return " ".join([prog, *map(shlex.quote, shown)])


async def run(args: argparse.Namespace, command_line: str = "") -> int:
    invocation = Invocation(
        name=command_name(args),
        server=args.server or os.environ.get("FORJA_SERVER") or None,
        token=args.token or os.environ.get("FORJA_TOKEN") or None,
        command_line=command_line,
    )
    command = COMMANDS[invocation.name]
    try:
        value, text = await command(invocation, args)
    # OSError: files the commands read or write (--out, the import's source, a picture).
    except (ForjaError, OSError) as exc:
        # Run here, not against a server: whoever runs it runs this Forja, so they connect a model themselves.
        said = for_reader(str(exc), admin=invocation.server is None)
        if args.json:
            print(json.dumps({"error": said}), file=sys.stderr)
        else:
            print(f"error: {said}", file=sys.stderr)
        return exc.exit_code if isinstance(exc, ForjaError) else 1
    if command.prints:
        print(json.dumps(_dump(value), indent=2) if args.json else text)
    return command.exit_status(value)


def main(argv: list[str] | None = None, prog: str = "forja") -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    return asyncio.run(run(parser(prog).parse_args(argv), shown_command(prog, argv)))
