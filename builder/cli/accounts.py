"""Operator commands for accounts: `user create|list|reset-link` and `token create`; builder.cli wires them in.

They run on the server itself, on its Services (builder.cli.command.local_services), and need no token: whoever runs
them has the database.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import datetime
from typing import Any

from builder.cli.command import Command, local_services
from builder.composition import Services
from builder.errors import InvalidInput
from builder.models import Role
from builder.services.access import LOCAL_ACTOR
from builder.settings import settings


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "never"


def read_password(from_stdin: bool) -> str:
    """The new account's password: the first line of stdin, or typed twice on a terminal (never an argument, which
    other users of the machine could read in the process list)."""
    if from_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not sys.stdin.isatty():
        raise InvalidInput("Type the password on a terminal, or pipe it in with --password-stdin.")
    password = getpass.getpass("Password: ")
    if getpass.getpass("The same password again: ") != password:
        raise InvalidInput("The two passwords differ; run the command again.")
    return password


async def cmd_user_create(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    password = await asyncio.to_thread(read_password, args.password_stdin)
    first = not await services.accounts.users()
    name = args.name if args.name is not None else args.email.strip().partition("@")[0]
    user = await services.accounts.create_user(args.email, name, password, admin=args.admin)
    text = f"Made the account of {user.email} ({user.name}), {'an admin' if user.role == Role.admin else 'a member'}."
    if first:
        text += " It is the first account: it takes over any projects made before there were accounts."
    if not services.accounts.enabled:
        text += "\nThis Forja runs without accounts for now; people sign in once FORJA_AUTH=password."
    return user, text


async def cmd_user_list(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    users = await services.accounts.users()
    lines = [
        f"{u.email:<32} {u.role.value:<6} {'disabled' if u.disabled else 'active':<8} "
        f"last sign-in {_when(u.last_sign_in_at):<16}  {u.name}"
        for u in users
    ]
    return users, "\n".join(lines) or "No accounts yet. Make the admin's with: python -m builder user create --admin EMAIL"


async def cmd_user_reset_link(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    person = await services.accounts.actor_by_email(args.email)
    # The operator has the server's database: they act as the machine itself, which may do what an admin may.
    link = await services.accounts.reset_link(LOCAL_ACTOR, person.user_id, settings.base_url)
    text = (
        f"{link.url}\nWith this link {person.email} sets a new password, once, until {_when(link.expires_at)}. "
        "Hand it on privately: it is shown only now."
    )
    return link, text


async def cmd_token_create(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    person = await services.accounts.actor_by_email(args.email)
    created = await services.accounts.create_token(person, args.name)
    if not args.json:  # stdout is the token alone, for FORJA_TOKEN=$(python -m builder token create EMAIL)
        print(
            f"The API token {created.name!r} of {person.email}, shown only now. Use it with --token or FORJA_TOKEN; "
            "revoke it on the Account page.",
            file=sys.stderr,
        )
    return created, created.token


COMMANDS: dict[str, Command[Any]] = {
    "user create": Command(local_services, cmd_user_create),
    "user list": Command(local_services, cmd_user_list),
    "user reset-link": Command(local_services, cmd_user_reset_link),
    "token create": Command(local_services, cmd_token_create),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `user` and `token` to builder.cli's subparsers (`sub`), each action with the common options (`common`)."""
    p = sub.add_parser("user", help="make and list accounts (on the server; needs no token)")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser("create", parents=[common], help="make an account (the first one is the admin's)")
    p.add_argument("email")
    p.add_argument("--name", help="what people call them (default: the address before the @)")
    p.add_argument("--admin", action="store_true", help="an admin of this Forja (the first account always is)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin (default: ask twice)")
    actions.add_parser("list", parents=[common], help="list the accounts")
    p = actions.add_parser("reset-link", parents=[common], help="print a one-time link with which a person sets a new password")
    p.add_argument("email")
    p = sub.add_parser("token", help="make personal API tokens (on the server; needs no token)")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser("create", parents=[common], help="print a new API token of the person, once")
    p.add_argument("email")
    p.add_argument("--name", default="", help="what it is for, shown on their Account page (default: API token)")
