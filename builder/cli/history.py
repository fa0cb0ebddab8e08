"""CLI commands for version history and project management (rename, duplicate, the trash); builder.cli wires them in.

Each works on the person's projects through a Backend (builder.cli.command); the trash's purge is an operator's
command (builder.cli.operator).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.schemas import valid_name
from builder.services.history import AUTHOR_NAMES


def _when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


async def cmd_history(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    project = await backend.project(args.id)
    lines = [
        f"{'*' if v.number == project.current_version else ' '} v{v.number:<4} {_when(v.created_at)}  "
        f"{AUTHOR_NAMES.get(v.author, v.author):<9} {v.files_changed:>4} files  {v.message}"
        for v in reversed(project.versions)
    ]
    return project.versions, "\n".join(lines) or f"Project {args.id} has no versions yet."


async def cmd_diff(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    diff = await backend.diff(args.id, args.version, args.against)
    base = f"version {diff.against}" if diff.against is not None else "nothing (the empty project)"
    if not diff.files:
        return diff, f"No changes between {base} and version {diff.version}."
    summary = f"{diff.files_changed} files changed, {diff.lines_added} lines added, {diff.lines_removed} removed"
    return diff, diff.patch() + f"\n{summary} (version {diff.version} against {base})."


async def cmd_restore(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    result = await backend.restore(args.id, args.version)
    if not result.changed:
        return result.version, f"Version {args.version} already matches the current version {result.version.number}."
    return result.version, f"Restored version {args.version} as version {result.version.number}."


async def cmd_export_bundle(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = await backend.export_bundle(args.id)
    out = Path(args.out)
    await asyncio.to_thread(out.write_bytes, data)
    versions = len((await backend.project(args.id)).versions)
    value = {"id": args.id, "out": str(out), "commits": versions, "bytes": len(data)}
    return value, f"Wrote {versions} versions as git commits to {out}; open it with: git clone {out}"


async def cmd_clone_url(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    url = await backend.clone_url(args.id)
    return {"id": args.id, "url": url}, f"git clone {url}"


async def cmd_rename(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    project = await backend.rename(args.id, valid_name(args.name))
    return project, f"Renamed {project.id} to {project.name}"


async def cmd_duplicate(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    name = valid_name(args.name) if args.name is not None else None
    copy = await backend.duplicate(args.id, args.version, name)
    return copy, copy.id


async def cmd_delete(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.delete(args.id)
    value = {"id": args.id, "trashed": True}
    return value, f"Moved {args.id} to the trash; undo with: python -m builder undelete {args.id}"


async def cmd_trash(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    trashed = await backend.trash()
    lines = [
        f"{t.id}  deleted {_when(t.deleted_at)}  purged after {_when(t.purge_at or t.deleted_at)}  {t.name}" for t in trashed
    ]
    return trashed, "\n".join(lines) or "The trash is empty."


async def cmd_undelete(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    project = await backend.undelete(args.id)
    return project, f"Restored {project.id} ({project.name}) from the trash."


COMMANDS: dict[str, Command[Any]] = {
    "history": Command(a_backend, cmd_history),
    "diff": Command(a_backend, cmd_diff),
    "restore": Command(a_backend, cmd_restore),
    "export-bundle": Command(a_backend, cmd_export_bundle),
    "clone-url": Command(a_backend, cmd_clone_url),
    "rename": Command(a_backend, cmd_rename),
    "duplicate": Command(a_backend, cmd_duplicate),
    "delete": Command(a_backend, cmd_delete),
    "trash": Command(a_backend, cmd_trash),
    "undelete": Command(a_backend, cmd_undelete),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("history", parents=[common], help="list a project's versions, newest first (* = current)")
    p.add_argument("id")
    p = sub.add_parser("diff", parents=[common], help="show what a version changed (unified diff)")
    p.add_argument("id")
    p.add_argument("version", type=int, help="version number")
    p.add_argument("--against", type=int, help="version to compare with (default: its parent)")
    p = sub.add_parser("restore", parents=[common], help="make an old version current again, as a new version")
    p.add_argument("id")
    p.add_argument("version", type=int, help="version number to restore")
    p = sub.add_parser("export-bundle", parents=[common], help="write the whole history as a git bundle (git clone FILE)")
    p.add_argument("id")
    p.add_argument("--out", required=True, help="FILE.bundle")
    p = sub.add_parser(
        "clone-url",
        parents=[common],
        help="print the git clone command for a project (with accounts, git needs a git token: see git-token create)",
    )
    p.add_argument("id")
    p = sub.add_parser("rename", parents=[common], help="rename a project")
    p.add_argument("id")
    p.add_argument("name")
    p = sub.add_parser("duplicate", parents=[common], help="copy a project (from any version) as a new project")
    p.add_argument("id")
    p.add_argument("--version", type=int, help="version to copy (default: current)")
    p.add_argument("--name", help="name of the copy (default: '<name> (copy)', then '(copy 2)' for a copy of a copy)")
    p = sub.add_parser("delete", parents=[common], help="move a project to the trash (kept 30 days)")
    p.add_argument("id")
    sub.add_parser("trash", parents=[common], help="list the projects in the trash")
    p = sub.add_parser("undelete", parents=[common], help="bring a project back from the trash")
    p.add_argument("id")
