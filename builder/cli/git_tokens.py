"""CLI commands for git tokens (`git-token create|list|revoke`), through a Backend; builder.cli wires them in.

A git token opens git's routes of one project alone and expires; `create` prints it with the two lines that hand it to
git's credential store and clone, so it never sits in a URL or the clone's `.git/config`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.services.git_tokens import DEFAULT_DAYS


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "never"


async def cmd_create(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    made = await backend.git_token(args.id, args.push, args.days, args.name)
    may = "clone, fetch and push" if made.access == "write" else "clone and fetch (not push)"
    text = (
        f"{made.setup}\n{made.clone}\n"
        f"The first line hands the git token to git's credential store in your home folder (not the clone's folder); "
        f"the second clones. It may {may} {made.project_name} ({made.project_id}) only, until {_when(made.expires_at)}, "
        f"and is shown only now. Revoke it with: python -m builder git-token revoke {made.id}"
    )
    return made, text


async def cmd_list(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    tokens = await backend.git_tokens()
    lines = [
        f"{t.id:>5}  {t.hint}...  {'push' if t.access == 'write' else 'read':<4}  made {_when(t.created_at)}  "
        f"expires {_when(t.expires_at)}  last used {_when(t.last_used_at)}  {t.project_name} ({t.project_id})"
        + (f"  {t.name}" if t.name else "")
        for t in tokens
    ]
    return tokens, "\n".join(lines) or "You have no git tokens that still work."


async def cmd_revoke(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.revoke_git_token(args.token_id)
    return {"id": args.token_id, "revoked": True}, f"Git token {args.token_id} is revoked; git gets a 401 with it from now on."


COMMANDS: dict[str, Command[Any]] = {
    "git-token create": Command(a_backend, cmd_create),
    "git-token list": Command(a_backend, cmd_list),
    "git-token revoke": Command(a_backend, cmd_revoke),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `git-token` and its actions to builder.cli's subparsers (`sub`), with the common options (`common`)."""
    p = sub.add_parser("git-token", help="make, list and revoke git tokens (one project's, for git alone, expiring)")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "create", parents=[common], help="print a new git token for a project, once, with the lines that clone with it"
    )
    p.add_argument("id")
    p.add_argument("--push", action="store_true", help="it may push too (editors and owners; default: clone and fetch)")
    p.add_argument("--days", type=int, help=f"how many days it works (default {DEFAULT_DAYS}, at most FORJA_GIT_TOKEN_MAX_DAYS)")
    p.add_argument("--name", default="", help="what it is for, shown on your Account page")
    actions.add_parser("list", parents=[common], help="list your git tokens that still work")
    p = actions.add_parser("revoke", parents=[common], help="revoke one of your git tokens")
    p.add_argument("token_id", type=int)
