"""CLI commands for the operator of this machine's Forja: the database schema and the trash's purge. They work on
this machine's database, need no token and refuse --server."""

from __future__ import annotations

import argparse
from typing import Any

from builder.cli.command import Command, local_services
from builder.composition import Services
from builder.services.history import TRASH_DAYS


async def cmd_migrate(_services: Services, _args: argparse.Namespace) -> tuple[Any, str]:
    return {"status": "ok"}, "Database is up to date."  # get_services() migrated it


async def cmd_purge_trash(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    result = await services.history.purge_expired(args.days)
    return result, (
        f"Deleted {len(result.projects)} projects for good ({result.versions} versions, {result.blobs} stored files)."
    )


COMMANDS: dict[str, Command[Any]] = {
    "purge-trash": Command(local_services, cmd_purge_trash),
    "migrate": Command(local_services, cmd_migrate),
}


MAX_DAYS = 36500  # a century; more would overflow a date


def _days(text: str) -> int:
    days = int(text)
    if not 0 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"days must be between 0 and {MAX_DAYS}")
    return days


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("purge-trash", parents=[common], help="delete for good what has been in the trash too long")
    p.add_argument("--days", type=_days, default=TRASH_DAYS, help=f"age in days (default: {TRASH_DAYS})")
    sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
