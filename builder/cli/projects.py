"""CLI commands for the person's projects: import, list, files, export, generate, the running Forja's preview and the
project's run settings."""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

from builder.attachments import check_picture, check_pictures
from builder.cli.command import Command, a_backend
from builder.cli.plans import answer_placeholders, questions_text
from builder.client.backend import Backend, GenerateRequest
from builder.errors import ForjaError, GenerationError, InvalidInput
from builder.generation.engine import GenerationEvent
from builder.generation.plan_questions import PlanQuestion
from builder.schemas import valid_name, valid_prompt
from builder.services.run_settings import valid_run_settings


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


async def cmd_add_picture(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Save a picture into the project as a file ("use this as the logo"), a new version."""
    source = Path(args.file)
    picture = check_picture(await asyncio.to_thread(source.read_bytes), source.name)
    added = await backend.add_picture(args.id, picture, args.path or "")
    return added.model_dump(mode="json"), f"Added {added.path} as version {added.version.number}"


async def cmd_generate(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Generate a new project (or a follow-up with --project, or build a plan with --from-plan), then run, check and
    repair it; progress goes to stderr."""
    if args.from_plan is not None:
        if args.prompt is not None or args.project is not None or args.image:
            raise InvalidInput("--from-plan builds the plan as it is: give no prompt, --project or --image with it.")
    elif args.prompt is None:
        raise InvalidInput('Say what to build: generate "PROMPT", or generate --from-plan PLAN_ID.')
    else:
        valid_prompt(args.prompt)  # the API's limits, checked before anything starts (here or in a Forja's API)
    if args.agent and args.project is None:
        raise InvalidInput("--agent changes an app that exists: give its id with --project.")
    if args.approve_tool and not args.agent:
        raise InvalidInput("--approve-tool lets an agent run use a tool: give --agent with it.")
    files = [(Path(path).name, await asyncio.to_thread(Path(path).read_bytes)) for path in args.image or []]
    request = GenerateRequest(
        prompt=args.prompt or "",
        project=args.project,
        provider=args.provider,
        model=args.model,
        verify=not args.no_verify,
        images=check_pictures(files),  # the same checks and sentences as the API's, before anything starts
        plan=args.from_plan,
        agent=args.agent,
        approved_tools=frozenset(args.approve_tool or ()),
    )
    return await run_generation(backend, request, quiet=args.json)


async def run_generation(backend: Backend, request: GenerateRequest, *, quiet: bool) -> tuple[Any, str]:
    """A generation followed to its end (progress to stderr unless `quiet`): what it made, and the words saying so."""
    final: GenerationEvent | None = None
    steps: list[dict[str, Any]] = []
    async for event in backend.generate(request):
        if event.type == "step" and event.step is not None:
            steps.append(event.step)
            if not quiet:
                print(f"  step {event.step['number']} {'✓' if event.step['ok'] else '✗'} {event.step['label']}", file=sys.stderr)
        elif event.type == "file_done" and not quiet:
            print(f"  wrote {event.path}", file=sys.stderr)
        elif event.type in ("status", "verification") and not quiet:
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
    awaiting = request.agent and final.version is None and final.generation_id is not None and not final.questions
    if request.agent:
        value |= {"steps": steps, "generation_id": final.generation_id, "awaiting": awaiting}
        value |= {"questions": final.questions or []}
    if request.plan is not None:
        # Each acceptance check of the plan, as the last check of the built version ran it.
        plan = await backend.plan(request.plan)
        value["plan_id"] = plan.id
        value["checks"] = [check.model_dump() for check in plan.checks]
    text = f"{project_id}  version {final.version}: {final.summary}"
    if awaiting:
        text = f"{project_id}  run {final.generation_id}, waiting for approval: {final.summary}"
    if final.message:
        text += f"\n{final.message}"
    if awaiting:
        run = f"{project_id} {final.generation_id}"
        text += f"\nAccept it with: python -m builder agent accept {run} (or agent reject {run})"
    if final.questions:
        asked = [PlanQuestion.model_validate(q) for q in final.questions]
        text += f"\n{questions_text(asked)}\n\nAnswer with: python -m builder agent answer {project_id} "
        text += f"{final.generation_id} {answer_placeholders(len(asked))}"
    if request.plan is not None:
        marks = {True: "passed", False: "FAILED", None: "not run"}
        text += "".join(f"\n  check {c['number']} {marks[c['passed']]}: {c['text']}" for c in value["checks"])
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


async def cmd_run_settings(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Show the project's run settings, or change those given (an empty value clears one)."""
    info = await backend.run_settings(args.id)
    if args.run_command is not None or args.folder is not None:
        command = info.command if args.run_command is None else args.run_command
        folder = info.folder if args.folder is None else args.folder
        info = await backend.set_run_settings(args.id, valid_run_settings(command, folder))
    value = info.model_dump()
    text = f"command: {info.command or '(detected)'}\nfolder:  {info.folder or '(the project root)'}"
    return value, text


COMMANDS: dict[str, Command[Any]] = {
    "import": Command(a_backend, cmd_import),
    "projects": Command(a_backend, cmd_projects),
    "files": Command(a_backend, cmd_files),
    "export": Command(a_backend, cmd_export),
    "add-picture": Command(a_backend, cmd_add_picture),
    "generate": Command(a_backend, cmd_generate),
    "preview": Command(a_backend, cmd_preview),
    "stop": Command(a_backend, cmd_stop),
    "run-settings": Command(a_backend, cmd_run_settings),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
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
    p = sub.add_parser(
        "add-picture", parents=[common], help="save a picture (PNG, JPEG, GIF or WebP) into a project as a file, a new version"
    )
    p.add_argument("id")
    p.add_argument("file", help="the picture on this machine")
    p.add_argument("--path", help="where in the project (default: its picture folder and the picture's name)")
    p = sub.add_parser("generate", parents=[common], help="make a project from a prompt (or change one with --project)")
    p.add_argument("prompt", nargs="?")
    p.add_argument("--project", help="project id for a follow-up")
    p.add_argument("--from-plan", metavar="PLAN_ID", help="build this plan (from `plan`) instead of a prompt")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: by which API key is set")
    p.add_argument("--model", help="model name for the provider")
    p.add_argument("--no-verify", action="store_true", help="end once the version is saved: do not run, check or repair it")
    p.add_argument(
        "--image", action="append", metavar="PATH", help="a picture (PNG, JPEG, GIF or WebP) sent with the prompt; repeatable"
    )
    p.add_argument(
        "--agent",
        action="store_true",
        help="agent mode (with --project): the model works in steps with tools (read, edit, run a command, open a page), "
        "each printed as it is done; with the project's Approve changes on, the change waits for `agent accept`",
    )
    p.add_argument(
        "--approve-tool",
        action="append",
        metavar="NAME",
        help="with --agent: a team's MCP tool that changes things outside Forja (mcp_<server>_<tool>) this run may "
        "use; repeatable. Others like it are refused when the agent calls them",
    )
    p = sub.add_parser("preview", parents=[common], help="run the project's current version in the running Forja")
    p.add_argument("id")
    p.add_argument("--runner", choices=["auto", "swarm", "docker", "local"], default="auto")
    p.add_argument(
        "--wait",
        action="store_true",
        help="return once the app answers at its URL, any status (exit 1 with the log tail if it fails)",
    )
    p = sub.add_parser("stop", parents=[common], help="stop the project's preview")
    p.add_argument("id")
    p = sub.add_parser(
        "run-settings", parents=[common], help="show or change how the project's previews start (its own command and folder)"
    )
    p.add_argument("id")
    p.add_argument(
        "--command",
        dest="run_command",
        metavar="LINE",
        help='a shell line that starts the app, with $PORT and $HOST set ("" goes back to the detected one)',
    )
    p.add_argument("--folder", metavar="DIR", help='the folder of the app to run, as its root ("" for the project root)')
