"""CLI commands for a project's own variables: set, list (names only) and unset (no command prints a value); and for
its app's data: `data reset` empties the preview's /data folder and database."""

from __future__ import annotations

import argparse
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.errors import InvalidInput
from builder.services.app_env import EnvVarInfo


def _listing(project_id: str, names: list[EnvVarInfo]) -> str:
    lines = [f"{v.name}{'  (public: built into the page)' if v.public else ''}" for v in names]
    return "\n".join(lines) or f"Project {project_id} has no variables."


async def cmd_env_set(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    name, equals, value = args.assignment.partition("=")
    if not equals:
        raise InvalidInput(f"Write the variable as NAME=VALUE, like STRIPE_KEY=sk_test_...; got {name!r}.")
    names = await backend.set_env(args.id, name, value)
    return [v.model_dump(mode="json") for v in names], f"{name} is set; the app's processes get it.\n" + _listing(args.id, names)


async def cmd_env_list(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    names = await backend.env_names(args.id)
    return [v.model_dump(mode="json") for v in names], _listing(args.id, names)


async def cmd_env_unset(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    names = await backend.unset_env(args.id, args.name)
    return [v.model_dump(mode="json") for v in names], f"{args.name} is removed.\n" + _listing(args.id, names)


async def cmd_data_reset(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.reset_data(args.id, "preview")
    said = f"The preview data of {args.id} is reset: its /data folder and database are empty (the published app's stay)."
    return {"project_id": args.id, "scope": "preview", "reset": True}, said


COMMANDS: dict[str, Command[Any]] = {
    "data reset": Command(a_backend, cmd_data_reset),
    "env set": Command(a_backend, cmd_env_set),
    "env list": Command(a_backend, cmd_env_list),
    "env unset": Command(a_backend, cmd_env_unset),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("env", help="the app's own variables (secrets, settings): set, list names, unset")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "set",
        parents=[common],
        help="add or replace a variable; the app's processes get it, nothing shows it again (a running preview restarts)",
    )
    p.add_argument("id")
    p.add_argument(
        "assignment",
        metavar="NAME=VALUE",
        help="e.g. STRIPE_KEY=sk_test_...; VITE_, NEXT_PUBLIC_, PUBLIC_ and REACT_APP_ ones are public",
    )
    p = actions.add_parser("list", parents=[common], help="list a project's variables by name (never their values)")
    p.add_argument("id")
    p = actions.add_parser("unset", parents=[common], help="remove a variable (a running preview restarts without it)")
    p.add_argument("id")
    p.add_argument("name")
    p = sub.add_parser("data", help="the app's own data (its /data folder and database)")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "reset",
        parents=[common],
        help="empty the preview's /data folder and database (a running preview restarts; the published app's data stays)",
    )
    p.add_argument("id")
