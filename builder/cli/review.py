"""`forja review ID`: the review before publish, run now over a version, its findings worst first; exit status 1 while
a critical one is open (not confirmed by the owner)."""

from __future__ import annotations

import argparse
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.wording import plural


async def cmd_review(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    review = await backend.review(args.id, args.version)
    lines = [f"Version {review.version}: {review.looked_at}, reviewed in {review.duration_s:.2f} s."]
    for info in review.findings:
        finding = info.finding
        place = f"{finding.file}:{finding.line}" if finding.file and finding.line else finding.file or finding.request
        marks = "".join(f" ({mark})" for mark, on in (("confirmed", info.confirmed is not None), ("stale", info.stale)) if on)
        lines.append(f"{place}  {finding.severity.value}{marks}  {finding.message}")
    if not review.findings:
        lines.append("Nothing found.")
    elif review.blocking:
        lines.append(f"{plural(review.blocking, 'critical finding')} would stop a publish until fixed or confirmed.")
    return review.model_dump(mode="json"), "\n".join(lines)


def _open_critical(value: dict[str, Any]) -> int:
    return 1 if value["blocking"] else 0


COMMANDS: dict[str, Command[Any]] = {"review": Command(a_backend, cmd_review, exit_status=_open_critical)}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the command above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser(
        "review",
        parents=[common],
        help="review a version before publishing: secrets a browser can read, risky data rules (exit 1 on a critical finding)",
    )
    p.add_argument("id")
    p.add_argument("--version", type=int, help="version to review (default: current)")
