"""CLI commands for share links, on the person's projects through a Backend; builder.cli wires them in."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.services.shares import SHARE_DEFAULT_DAYS, Never, ShareCreated, ShareKind, parse_expires


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "never"


def _expires(text: str) -> timedelta | Never:
    try:
        parsed = parse_expires(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    assert parsed is not None
    return parsed


def _opens(created: ShareCreated) -> str:
    if created.target == "live":
        return "the published app (whatever release is live)"
    if created.target == "release":
        return f"release {created.release} of the published app"
    return f"version {created.version}"


async def cmd_share(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    target: ShareKind = "live" if args.live else "release" if args.release is not None else "preview"
    created = await backend.share(args.id, args.version, args.expires, target, args.release)
    value = {
        "url": created.url,
        "token": created.token,
        "id": created.id,
        "version": created.version,
        "target": created.target,
        "release": created.release,
        "expires_at": created.expires_at.isoformat() if created.expires_at else None,
    }
    until = f"until {_when(created.expires_at)}" if created.expires_at else "with no end date"
    text = (
        f"{created.url}\n"
        f"Anyone with this link can open {_opens(created)} {until}. It is shown only now.\n"
        f"Turn it off with: python -m builder revoke {created.id}"
    )
    return value, text


async def cmd_revoke(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.revoke(args.share_id)
    return {"id": args.share_id, "revoked": True}, f"Share link {args.share_id} is turned off; people who open it are told so."


async def cmd_shares(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    links = await backend.shares(args.id)
    lines = []
    for link in links:
        state = "revoked" if link.revoked else "expired" if link.expired else "active"
        opens = "live app" if link.target == "live" else f"release {link.release}" if link.target == "release" else ""
        lines.append(
            f"{link.id:>5}  v{link.version or '?':<4} {state:<8} made {_when(link.created_at)}  expires {_when(link.expires_at)}"
            + (f"  {opens}" if opens else "")
        )
    return links, "\n".join(lines) or f"Project {args.id} has no share links."


COMMANDS: dict[str, Command[Any]] = {
    "share": Command(a_backend, cmd_share),
    "revoke": Command(a_backend, cmd_revoke),
    "shares": Command(a_backend, cmd_shares),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("share", parents=[common], help="make a link anyone can open to see one version of the app")
    p.add_argument("id")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--version", type=int, help="version to share, as a preview (default: current)")
    which.add_argument("--live", action="store_true", help="open the published app, following later publishes")
    which.add_argument("--release", type=int, help="open this release of the published app, pinned")
    p.add_argument(
        "--expires",
        type=_expires,
        default=None,
        help=f"how long it works: 7d, 24h, 30d, never, or seconds (default: {SHARE_DEFAULT_DAYS}d)",
    )
    p = sub.add_parser("revoke", parents=[common], help="turn a share link off")
    p.add_argument("share_id", type=int)
    p = sub.add_parser("shares", parents=[common], help="list a project's share links (tokens are never shown again)")
    p.add_argument("id")
