"""CLI commands for a project's remote repository: `remote set` (the token from stdin only, never an argument, which
others can see), `remote show` (never the token), `remote push`, `remote pull`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.git.remote import RemoteInfo


def _shown(project_id: str, info: RemoteInfo) -> str:
    token = "a token is kept (never shown)" if info.has_token else "no token"
    return f"Project {project_id} syncs with {info.url}, branch {info.branch}; {token}."


def _token(from_stdin: bool) -> str | None:
    return sys.stdin.readline().strip() or None if from_stdin else None


async def cmd_remote_set(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    token = await asyncio.to_thread(_token, args.token_stdin)
    info = await backend.set_remote(args.id, args.url, token, args.branch)
    return info.model_dump(mode="json"), _shown(args.id, info)


async def cmd_remote_show(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    info = await backend.remote_info(args.id)
    return info.model_dump(mode="json"), _shown(args.id, info)


async def cmd_remote_push(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    done = await backend.remote_push(args.id, args.to_branch)
    return done.model_dump(mode="json"), done.message


async def cmd_remote_pull(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    done = await backend.remote_pull(args.id, args.merge)
    return done.model_dump(mode="json"), done.message


COMMANDS: dict[str, Command[Any]] = {
    "remote set": Command(a_backend, cmd_remote_set),
    "remote show": Command(a_backend, cmd_remote_show),
    "remote push": Command(a_backend, cmd_remote_push),
    "remote pull": Command(a_backend, cmd_remote_pull),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("remote", help="the project's remote git repository: link it, push to it, pull from it")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser("set", parents=[common], help="link the project to one remote repository (https)")
    p.add_argument("id")
    p.add_argument("url", help="e.g. https://github.com/me/site.git (no credentials in it)")
    p.add_argument("--token-stdin", action="store_true", help="read the remote's token from stdin; kept encrypted")
    p.add_argument("--branch", default="main", help="the remote branch to push to and pull from (default main)")
    p = actions.add_parser("show", parents=[common], help="print where the project syncs to (never the token)")
    p.add_argument("id")
    p = actions.add_parser("push", parents=[common], help="send the project's versions to the remote branch (never forced)")
    p.add_argument("id")
    p.add_argument("--to-branch", metavar="B", help="another branch, e.g. forja/2026-11-25 when both sides moved")
    p = actions.add_parser("pull", parents=[common], help="make the remote branch's new commits versions")
    p.add_argument("id")
    p.add_argument("--merge", action="store_true", help="when both sides moved, merge changes to different files")
