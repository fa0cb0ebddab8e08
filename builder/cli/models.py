"""Operator commands for the models this Forja uses: `models list|add|test|default|remove`; builder.cli wires them in.

The same as the admin page's Models section (builder/services/model_connections.py). They run on the server itself,
on its Services (builder.cli.command.local_services), and need no token: whoever runs them has the database. A key is
read from stdin or typed on a terminal, never an argument (others can read a command line in the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from builder.cli.command import Command, local_services
from builder.composition import Services
from builder.errors import InvalidInput
from builder.services.access import LOCAL_ACTOR
from builder.services.model_connections import ModelConnectionInfo, NewModelConnection


def read_key(from_stdin: bool, needed: bool) -> str:
    """The key: the first line of stdin, or typed (not shown) on a terminal; empty when none is `needed` and none is
    given."""
    if from_stdin:
        return sys.stdin.readline().strip()
    if not sys.stdin.isatty():
        if needed:
            raise InvalidInput("Type the key on a terminal, or pipe it in with --key-stdin.")
        return ""
    return getpass.getpass("Key (not shown; empty for a server that needs none): " if not needed else "Key (not shown): ")


def _line(c: ModelConnectionInfo) -> str:
    where = c.base_url or "its own API"
    marks = [*(["default"] if c.is_default else []), "key set" if c.key_set else "no key"]
    if c.environment_wins:
        marks.append("not used: the environment's settings set this provider")
    elif not c.in_use:
        marks.append("not used: another connection of this provider is (the default, else the newest)")
    return f"{c.id:>4}  {c.label:<18} {c.model:<24} {where}  ({', '.join(marks)})"


async def cmd_list(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    found = await services.models.list(LOCAL_ACTOR)
    return found, "\n".join(_line(c) for c in found) or "No model is connected: Forja builds from its offline starters."


async def cmd_add(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    needed = args.provider == "anthropic" or not args.url
    key = await asyncio.to_thread(read_key, args.key_stdin, needed)
    new = NewModelConnection(kind=args.provider, api_key=key, base_url=args.url, model=args.model, make_default=args.default)
    made = await services.models.add(LOCAL_ACTOR, new)
    return made, f"Connected: {_line(made)}\nTry it with: forja models test {made.id}"


async def cmd_test(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    result = await services.models.test(LOCAL_ACTOR, args.connection_id)
    return result, result.message


async def cmd_default(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    found = await services.models.make_default(LOCAL_ACTOR, args.connection_id)
    return found, "\n".join(_line(c) for c in found)


async def cmd_remove(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    await services.models.remove(LOCAL_ACTOR, args.connection_id)
    return {"id": args.connection_id, "removed": True}, f"Model {args.connection_id} removed; its key is deleted."


COMMANDS: dict[str, Command[Any]] = {
    "models list": Command(local_services, cmd_list),
    "models add": Command(local_services, cmd_add),
    "models test": Command(local_services, cmd_test),
    "models default": Command(local_services, cmd_default),
    "models remove": Command(local_services, cmd_remove),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `models` and its actions to builder.cli's subparsers (`sub`), with the common options (`common`)."""
    p = sub.add_parser("models", help="connect the models Forja builds with (as the admin page's Models section)")
    actions = p.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common], help="list the connected models (a key only as set)")
    p = actions.add_parser("add", parents=[common], help="connect a model; the key is asked for, or read from stdin")
    p.add_argument("provider", choices=["anthropic", "openai"], help="anthropic (Claude), or openai (any OpenAI-compatible)")
    p.add_argument("--url", default="", help="an OpenAI-compatible server's address, e.g. http://127.0.0.1:11434/v1")
    p.add_argument("--model", default="", help="the model to use (default: the provider's usual one)")
    p.add_argument("--key-stdin", action="store_true", help="read the key from the first line of stdin")
    p.add_argument("--default", action="store_true", help="make it the default model")
    for action, what in (
        ("test", "send one tiny request and say how long the answer took"),
        ("default", "make it the default model"),
        ("remove", "remove it and its key"),
    ):
        p = actions.add_parser(action, parents=[common], help=what)
        p.add_argument("connection_id", type=int)
