"""CLI commands to publish a project at an address of its own, list its releases, roll back and take it down."""

from __future__ import annotations

import argparse
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.filetree import human_size


async def cmd_publish(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    result = await backend.publish(args.id, args.version, args.name, args.anyway)
    release = result.release
    value = {
        "url": result.app.url,
        "name": result.app.name,
        "release": release.model_dump(mode="json"),
        "risks": result.risks,
    }
    text = (
        f"{result.app.url}\n"
        f"Release {release.number} (version {release.version}, {release.framework}) is live: {release.files} files, "
        f"{human_size(release.size_bytes)}, built in {release.build_s:.1f} s.\n"
        f"Roll back with: python -m builder rollback {args.id} RELEASE; take it down with: python -m builder unpublish {args.id}"
    )
    if result.risks:
        text += "\nCheck its data rules (.forja/data.json):\n" + "\n".join(f"  - {risk}" for risk in result.risks)
    return value, text


async def cmd_unpublish(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    app = await backend.unpublish(args.id)
    return app.model_dump(mode="json"), f"{app.url} is taken down: it answers that the app was unpublished."


async def cmd_releases(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    releases = await backend.releases(args.id)
    lines = [
        f"{r.number:>4}  v{r.version:<4} {r.state:<8} {'live' if r.live else '':<4}  {r.created_at[:16].replace('T', ' ')}  "
        + (r.error if r.state in ("failed", "blocked") else f"{r.files} files, {human_size(r.size_bytes)}, {r.build_s:.1f} s")
        for r in releases
    ]
    return [r.model_dump(mode="json") for r in releases], "\n".join(lines) or f"Project {args.id} was never published."


async def cmd_rollback(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    app = await backend.rollback(args.id, args.release)
    return app.model_dump(mode="json"), f"{app.url} serves release {app.live_release} (version {app.live_version}) again."


STATES = {
    "waiting": "waiting for its TXT record (not served yet)",
    "taken": "proved by another app first",
    "proved": "proved (served)",
    "live": "live",
}


async def cmd_domain(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    if args.remove:
        await backend.remove_domain(args.id)
        return {"domain": None}, f"Project {args.id}'s app has no domain of its own any more."
    info = await (backend.set_domain(args.id, args.set) if args.set else backend.domain(args.id, args.check))
    text = (
        f"{info.domain}: {STATES[info.state]}\n{info.detail}\n"
        f"1. proves it yours:  {info.proof_type}  {info.proof_name}  ->  {info.proof_value}\n"
        f"2. points it here:   {info.record_type}  {info.record_name}  ->  {info.record_value}"
    )
    return info.model_dump(mode="json"), text


COMMANDS: dict[str, Command[Any]] = {
    "publish": Command(a_backend, cmd_publish),
    "unpublish": Command(a_backend, cmd_unpublish),
    "releases": Command(a_backend, cmd_releases),
    "rollback": Command(a_backend, cmd_rollback),
    "domain": Command(a_backend, cmd_domain),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("publish", parents=[common], help="build a version for production and serve it at the app's own address")
    p.add_argument("id")
    p.add_argument("--version", type=int, help="version to publish (default: current)")
    p.add_argument("--name", help="the app's name, the first part of its address (renames an app published before)")
    p.add_argument(
        "--anyway",
        metavar="REASON",
        help="publish despite critical findings of the review, saying why (the owner only; kept with the release)",
    )
    p = sub.add_parser("unpublish", parents=[common], help="take a published app down (its address answers 410)")
    p.add_argument("id")
    p = sub.add_parser("releases", parents=[common], help="list a project's releases, newest first")
    p.add_argument("id")
    p = sub.add_parser("rollback", parents=[common], help="serve an earlier release again, without rebuilding")
    p.add_argument("id")
    p.add_argument("release", type=int)
    p = sub.add_parser("domain", parents=[common], help="show, set, check or remove a published app's own domain")
    p.add_argument("id")
    action = p.add_mutually_exclusive_group()
    action.add_argument(
        "--set", metavar="DOMAIN", help="ask for this domain of yours for the app (its owner only; served once proved)"
    )
    action.add_argument(
        "--check", action="store_true", help="look the domain's records up now: is it proved (then served), does it point here?"
    )
    action.add_argument("--remove", action="store_true", help="stop serving the app at its domain")
