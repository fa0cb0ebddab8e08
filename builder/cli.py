"""`python -m builder COMMAND`: the service layer from a terminal, for people and scripts.

Every command takes --json for machine-readable output; errors go to stderr in plain words
with exit status 1 (2 for usage mistakes, as argparse does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from builder import cli_doctor, cli_history, cli_shares
from builder.errors import ForjaError, GenerationError, PreviewError, ServerUnavailable
from builder.filetree import write_zip
from builder.generation.engine import GenerationEvent
from builder.images import check_images
from builder.schemas import valid_name, valid_prompt
from builder.services import Services, get_services
from builder.settings import settings


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


async def cmd_import(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    name = valid_name(args.name) if args.name is not None else None
    result = await services.projects.import_path(Path(args.path), name, owner=args.actor.user_id)
    return {"id": result.project_id, "version": result.version.number, "files": len(result.changed)}, result.project_id


async def cmd_projects(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    projects = await services.projects.summaries(args.actor)
    lines = [
        f"{p.id}  v{p.current_version or 0:<3} {p.file_count:>5} files  {','.join(p.stack) or '-':<20} {p.name}" for p in projects
    ]
    return projects, "\n".join(lines) or "No projects yet. Import one with: python -m builder import PATH"


async def cmd_files(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    files = await services.projects.files(args.id, args.version)
    return files, "\n".join(f"{f.size:>9}  {f.path}" for f in files)


async def cmd_export(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    tree = await services.projects.read_tree(args.id, args.version)
    out = Path(args.out)
    await asyncio.to_thread(out.write_bytes, write_zip(tree))
    return {"id": args.id, "out": str(out), "files": len(tree)}, f"Wrote {len(tree)} files to {out}"


async def _generation_events(services: Services, args: argparse.Namespace) -> AsyncIterator[GenerationEvent]:
    """The generation's events. A checked generation runs its app in a preview, and previews live in the running
    Forja (its proxy holds their port), so when Forja runs, the generation runs there, through its API."""
    verify = not args.no_verify
    files = [(Path(path).name, await asyncio.to_thread(Path(path).read_bytes)) for path in args.image or []]
    images = check_images(files)  # the same checks and sentences as the API's, before anything starts
    if verify and await _server_running():
        body: dict[str, Any] = {"prompt": args.prompt, "provider": args.provider, "model": args.model, "verify": True}
        body["images"] = [{"name": image.name, "data": image.base64()} for image in images]
        path = f"/api/projects/{args.project}/generate" if args.project else "/api/generate"
        async for event in _server_events(path, body):
            yield event
        return
    generations = services.generations
    if args.project:
        project_id = args.project
        await generations.start(project_id, args.prompt, args.provider, args.model, verify=verify, images=images)
    else:
        project_id = await generations.create_from_prompt(
            args.prompt, args.provider, args.model, verify=verify, images=images, owner=args.actor.user_id
        )
    async for event in generations.follow(project_id):
        yield event


async def cmd_generate(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    """Generate a new project (or a follow-up with --project), then run, check and repair it; progress goes to stderr."""
    valid_prompt(args.prompt)  # the API's limits, checked before anything starts (here or in the running Forja)
    final: GenerationEvent | None = None
    async for event in _generation_events(services, args):
        if event.type == "file_done" and not args.json:
            print(f"  wrote {event.path}", file=sys.stderr)
        elif event.type in ("status", "verification") and not args.json:
            print(event.message, file=sys.stderr)
        elif event.type in ("done", "error"):
            final = event
    if final is None or final.type == "error":
        raise GenerationError(final.message if final else "The generation ended without an answer.")
    project_id = final.project_id
    files = [f.path for f in await services.projects.files(project_id)]
    verification = final.verification
    value = {
        "id": project_id,
        "version": final.version,
        "title": final.title,
        "summary": final.summary,
        "files": files,
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


def _forja(timeout: float | httpx.Timeout) -> httpx.AsyncClient:
    """A client for the Forja running on this machine; loopback only, so a proxy from the environment never carries it."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", timeout=timeout, trust_env=False)


async def _server_running() -> bool:
    try:
        async with _forja(1) as client:
            return (await client.get("/health")).status_code == 200
    except httpx.HTTPError:
        return False


async def _server_events(path: str, body: dict[str, Any]) -> AsyncIterator[GenerationEvent]:
    """A generation's server-sent events from the running Forja's API."""
    timeout = httpx.Timeout(settings.generation_timeout_s, connect=5)
    async with (
        _forja(timeout) as client,
        client.stream("POST", path, json=body) as response,
    ):
        if response.status_code >= 400:
            await response.aread()
            raise GenerationError(str(response.json().get("detail", response.text)))
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                yield GenerationEvent.model_validate_json(line.removeprefix("data: "))


async def _server(method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Previews live in the running Forja (they outlive a CLI process), so these commands ask it."""
    try:
        async with _forja(settings.preview_start_timeout_s + 30) as client:
            response = await client.request(method, path, **kwargs)
    except httpx.ConnectError:
        raise ServerUnavailable(f"Forja is not running on port {settings.port}; start it with: bash scripts/run.sh") from None
    if response.status_code >= 400:
        raise PreviewError(response.json().get("detail", response.text))
    return response


async def cmd_preview(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    await services.projects.get(args.id)
    started = time.monotonic()
    response = await _server("POST", f"/api/projects/{args.id}/preview", params={"wait": args.wait}, json={"runner": args.runner})
    status = response.json()
    value = {**status, "seconds": round(time.monotonic() - started, 2)}
    return value, f"{status['status']}: {status['url']} ({status['runner']} runner)"


async def cmd_stop(services: Services, args: argparse.Namespace) -> tuple[Any, str]:
    await services.projects.get(args.id)
    await _server("DELETE", f"/api/projects/{args.id}/preview")
    return {"id": args.id, "status": "stopped"}, "Preview stopped."


COMMANDS: dict[str, Callable[[Services, argparse.Namespace], Awaitable[tuple[Any, str]]]] = {
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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m builder", description="Forja from the command line.")
    sub = root.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("import", parents=[common], help="import a folder, .zip or JSON file tree; prints the project id")
    p.add_argument("path")
    p.add_argument("--name", help="project name (default: from the file name)")
    sub.add_parser("projects", parents=[common], help="list projects")
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
    p.add_argument("--runner", choices=["auto", "docker", "local"], default="auto")
    p.add_argument("--wait", action="store_true", help="return once the URL answers 200 (exit 1 with the log tail if it fails)")
    p = sub.add_parser("stop", parents=[common], help="stop the project's preview")
    p.add_argument("id")
    cli_history.add_parsers(sub, common)
    cli_shares.add_parsers(sub, common)
    cli_doctor.add_parser(sub, common)
    sub.add_parser("migrate", parents=[common], help="create or upgrade the database schema")
    return root


async def run(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        return await cli_doctor.run(args)
    services = await get_services()
    try:
        args.actor = await services.accounts.actor(api_token=os.environ.get("FORJA_TOKEN"))
        if args.command == "migrate":
            value, text = {"status": "ok"}, "Database is up to date."
        else:
            value, text = await COMMANDS[args.command](services, args)
    # OSError: files the commands read or write (--out, the import's source).
    except (ForjaError, OSError) as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}), file=sys.stderr)
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        await services.close()
    print(json.dumps(_dump(value), indent=2) if args.json else text)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(run(parser().parse_args(argv)))
