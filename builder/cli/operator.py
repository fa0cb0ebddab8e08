"""CLI commands for the operator of this machine's Forja: the database schema, the trash's purge, and backups. They
work on this machine's database and data folder, need no token and refuse --server. Backup and restore open no
services: a backup only reads (beside a running server), and a restore must not make a database before its own."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from builder.cli.command import Command, Invocation, local_services, on_this_machine
from builder.composition import Services
from builder.services.backup.restore import restore_backup
from builder.services.backup.take import take_backup
from builder.services.history import TRASH_DAYS
from preview_runtime.common import human_size


async def cmd_migrate(_services: Services, _args: argparse.Namespace) -> tuple[Any, str]:
    return {"status": "ok"}, "Database is up to date."  # get_services() migrated it


async def cmd_purge_trash(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    result = await services.history.purge_expired(args.days)
    return result, (
        f"Deleted {len(result.projects)} projects for good ({result.versions} versions, {result.blobs} stored files)."
    )


@asynccontextmanager
async def this_machine(invocation: Invocation) -> AsyncIterator[None]:
    on_this_machine(invocation)
    yield


async def cmd_backup(_: None, args: argparse.Namespace) -> tuple[Any, str]:
    result = await asyncio.to_thread(take_backup, args.to, args.with_key)
    text = f"Backed up this Forja to {result.path} ({human_size(result.bytes)})."
    if result.key_path is not None:
        text += f" Its key is in {result.key_path}: keep it apart from the archive, as safely as a password."
    elif args.with_key:
        text += " This Forja has no key yet (no app variable was ever saved), so none was written."
    return result, text


async def cmd_restore(_: None, args: argparse.Namespace) -> tuple[Any, str]:
    result = await asyncio.to_thread(restore_backup, args.archive, args.key)
    made = result.manifest.created_at
    text = f"Restored the backup of {made:%Y-%m-%d %H:%M} UTC ({len(result.manifest.parts)} parts)."
    if result.migrated_from:
        text += " Its database was brought up to this Forja's version."
    if not result.with_key:
        text += " Without its key, the apps' variables cannot be read until the key is put back."
    return result, text


COMMANDS: dict[str, Command[Any]] = {
    "purge-trash": Command(local_services, cmd_purge_trash),
    "migrate": Command(local_services, cmd_migrate),
    "backup": Command(this_machine, cmd_backup),
    "restore-backup": Command(this_machine, cmd_restore),
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
    p = sub.add_parser("backup", parents=[common], help="write one archive of this Forja's database, files and apps' data")
    p.add_argument("--to", type=Path, metavar="PATH", help="a folder, or a file ending in .tar.gz (default: this folder)")
    p.add_argument(
        "--with-key", action="store_true", help="also write the key of the apps' variables, in a file of its own beside it"
    )
    p = sub.add_parser("restore-backup", parents=[common], help="put a backup back into an empty data folder and database")
    p.add_argument("archive", type=Path, metavar="ARCHIVE", help="the .tar.gz that `backup` wrote")
    p.add_argument("--key", type=Path, metavar="FILE", help="the key file `backup --with-key` wrote")
