"""`python -m builder COMMAND`: Forja from a terminal, for people and scripts.

The project commands are written once against a backend (builder.cli_backend): this machine's database as the person
whose API token is given (--token or FORJA_TOKEN; none needed without accounts), or with --server a Forja's HTTP API.
Either way the person's role in the project is checked as the API checks it. The operator commands (`user`, `token`,
`migrate`, `doctor`, `purge-trash`) work on this machine's own Forja and need no token.

Every command takes --json for machine-readable output; errors go to stderr in plain words
with exit status 1 (2 for usage mistakes, as argparse does).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import sys
import time
import zipfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from builder.cli import accounts as cli_accounts
from builder.cli import doctor as cli_doctor
from builder.cli import history as cli_history
from builder.cli import shares as cli_shares
from builder.cli.backend import NO_TOKEN, Backend, GenerateRequest
from builder.cli.local import LocalBackend
from builder.cli.remote import RemoteBackend, server_url
from builder.errors import ForjaError, GenerationError, InvalidInput, NotSignedIn
from builder.generation.engine import GenerationEvent
from builder.images import check_images
from builder.schemas import valid_name, valid_prompt
from builder.services import Services, get_services

Command = Callable[[Backend, argparse.Namespace], Awaitable[tuple[Any, str]]]
OperatorCommand = Callable[[Services, argparse.Namespace], Awaitable[tuple[Any, str]]]


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


async def cmd_import(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    name = valid_name(args.name) if args.name is not None else None
    created = await backend.import_path(Path(args.path), name)
    return created, created.id


async def cmd_projects(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    projects = await backend.projects()
    lines = [
        f"{p.id}  v{p.current_version or 0:<3} {p.file_count:>5} files  {','.join(p.stack) or '-':<20} {p.name}" for p in projects
    ]
    return projects, "\n".join(lines) or "No projects yet. Import one with: python -m builder import PATH"


async def cmd_files(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    files = await backend.files(args.id, args.version)
    return files, "\n".join(f"{f.size:>9}  {f.path}" for f in files)


def _entries(data: bytes) -> int:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return len(archive.namelist())
    except zipfile.BadZipFile:
        raise ForjaError("Forja answered the export with something that is not a zip archive.") from None


async def cmd_export(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    data = await backend.export_zip(args.id, args.version)
    count = _entries(data)
    out = Path(args.out)
    await asyncio.to_thread(out.write_bytes, data)
    return {"id": args.id, "out": str(out), "files": count}, f"Wrote {count} files to {out}"


async def cmd_generate(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Generate a new project (or a follow-up with --project), then run, check and repair it; progress goes to stderr."""
    valid_prompt(args.prompt)  # the API's limits, checked before anything starts (here or in a Forja's API)
    files = [(Path(path).name, await asyncio.to_thread(Path(path).read_bytes)) for path in args.image or []]
    request = GenerateRequest(
        prompt=args.prompt,
        project=args.project,
        provider=args.provider,
        model=args.model,
        verify=not args.no_verify,
        images=check_images(files),  # the same checks and sentences as the API's, before anything starts
    )
    final: GenerationEvent | None = None
    async for event in backend.generate(request):
        if event.type == "file_done" and not args.json:
            print(f"  wrote {event.path}", file=sys.stderr)
        elif event.type in ("status", "verification") and not args.json:
            print(event.message, file=sys.stderr)
        elif event.type in ("done", "error"):
            final = event
    if final is None or final.type == "error":
        raise GenerationError(final.message if final else "The generation ended without an answer.")
    project_id = final.project_id
    verification = final.verification
    value = {
        "id": project_id,
        "version": final.version,
        "title": final.title,
        "summary": final.summary,
        "files": [f.path for f in await backend.files(project_id, None)],
        "usage": final.usage or {},
        "verification": {key: verification[key] for key in ("status", "problems", "attempts", "screenshot")}
        if verification
        else None,
    }
    text = f"{project_id}  version {final.version}: {final.summary}"
    if final.message:
        text += f"\n{final.message}"
    if verification:
        text += "".join(f"\n  - {problem['message']}" for problem in verification["problems"])
    return value, text


async def cmd_preview(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    started = time.monotonic()
    status = await backend.preview(args.id, args.runner, args.wait)
    value = {**status.model_dump(), "seconds": round(time.monotonic() - started, 2)}
    return value, f"{status.status}: {status.url} ({status.runner} runner)"


async def cmd_stop(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.stop(args.id)
    return {"id": args.id, "status": "stopped"}, "Preview stopped."


async def cmd_migrate(_services: Services, _args: argparse.Namespace) -> tuple[Any, str]:
    return {"status": "ok"}, "Database is up to date."  # get_services() migrated it


COMMANDS: dict[str, Command] = {
    "import": cmd_import,
    "projects": cmd_projects,
    "files": cmd_files,
    "export": cmd_export,
    "generate": cmd_generate,
    "preview": cmd_preview,
    "stop": cmd_stop,
    **cli_history.COMMANDS,
    **cli_shares.COMMANDS,
}
# On this machine's database, whoever runs them: they need no token and refuse --server.
OPERATOR_COMMANDS: dict[str, OperatorCommand] = {
    "migrate": cmd_migrate,
    **cli_history.OPERATOR_COMMANDS,
    **cli_accounts.COMMANDS,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m builder", description="Forja from the command line.")
    sub = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    common.add_argument("--server", metavar="URL", help="work on the Forja at this address, through its API (env FORJA_SERVER)")
    common.add_argument(
        "--token",
        metavar="TOKEN",
        help="your API token, from your Account page (better as env FORJA_TOKEN: others can see a command line)",
    )

    p = sub.add_parser("import", parents=[common], help="import a folder, .zip or JSON file tree; prints the project id")
    p.add_argument("path")
    p.add_argument("--name", help="project name (default: from the file name)")
    sub.add_parser("projects", parents=[common], help="list your projects")
    p = sub.add_parser("files", parents=[common], help="list a project's files")
    p.add_argument("id")
    p.add_argument("--version", type=int, help="version number (default: current)")
    p = sub.add_parser("export", parents=[common], help="write a project's files to a .zip")
    p.add_argument("id")
    p.add_argument("--out", required=True, help="FILE.zip")
    p.add_argument("--version", type=int, help="version number (default: current)")
    p = sub.add_parser("generate", parents=[common], help="make a project from a prompt (or change one with --project)")
    p.add_argument("prompt")
    p.add_argument("--project", help="project id for a follow-up")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: by which API key is set")
    p.add_argument("--model", help="model name for the provider")
    p.add_argument("--no-verify", action="store_true", help="end once the version is saved: do not run, check or repair it")
    p.add_argument(
        "--image", action="append", metavar="PATH", help="a picture (PNG, JPEG, GIF or WebP) sent with the prompt; repeatable"
    )
    p = sub.add_parser("preview", parents=[common], help="run the project's current version in the running Forja")
    p.add_argument("id")
    p.add_argument("--runner", choices=["auto", "swarm", "docker", "local"], default="auto")
    p.add_argument("--wait", action="store_true", help="return once the URL answers 200 (exit 1 with the log tail if it fails)")
    p = sub.add_parser("stop", parents=[common], help="stop the project's preview")
    p.add_argument("id")
    cli_history.add_parsers(sub, common)
    cli_shares.add_parsers(sub, common)
    cli_accounts.add_parsers(sub, common)
    cli_doctor.add_parser(sub, common)
    sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    return root


def command_name(args: argparse.Namespace) -> str:
    """The command's key in COMMANDS or OPERATOR_COMMANDS: "files", or "user create" for a command with actions."""
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if action else args.command


async def _run_command(stack: AsyncExitStack, args: argparse.Namespace, server: str | None, token: str | None) -> tuple[Any, str]:
    name = command_name(args)
    if name in OPERATOR_COMMANDS:
        services = await get_services()
        stack.push_async_callback(services.close)
        return await OPERATOR_COMMANDS[name](services, args)
    if server:
        backend: Backend = RemoteBackend(server_url(server), token)
    else:
        services = await get_services()
        stack.push_async_callback(services.close)
        if services.accounts.enabled and not token:
            raise NotSignedIn(NO_TOKEN)
        backend = LocalBackend(services, await services.accounts.actor(api_token=token), token)
    stack.push_async_callback(backend.close)
    return await COMMANDS[name](backend, args)


async def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("FORJA_TOKEN") or None
    server = args.server or os.environ.get("FORJA_SERVER") or None
    name = command_name(args)
    try:
        if server and (name in OPERATOR_COMMANDS or name == "doctor"):
            raise InvalidInput(
                f"'{name}' works on this machine's own Forja: run it on the server, without --server or FORJA_SERVER."
            )
        if name == "doctor":
            return await cli_doctor.run(args, token)
        async with AsyncExitStack() as stack:
            value, text = await _run_command(stack, args, server, token)
    # OSError: files the commands read or write (--out, the import's source, a picture).
    except (ForjaError, OSError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(_dump(value), indent=2) if args.json else text)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(parser().parse_args(argv)))
