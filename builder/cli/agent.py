"""CLI commands around agent mode's runs (a run itself is `generate "PROMPT" --project ID --agent`, builder.cli.projects):
`agent approve ID on|off` sets the project's Approve changes, `agent engine ID forja|opencode|codex` its engine, `agent accept ID RUN_ID` or `agent reject ID RUN_ID`
decides a run's waiting change, and `agent answer ID RUN_ID ANSWER...` answers the questions a run asked, which starts a
run that goes on with them. Each needs an editor, as the API's routes do (builder/api/agent.py)."""

from __future__ import annotations

import argparse
from typing import Any, get_args

from builder.cli.command import Command, a_backend
from builder.cli.projects import run_generation
from builder.client.backend import Backend, GenerateRequest
from builder.schemas import Engine
from preview_runtime.engines.agents import AGENTS


async def cmd_agent_approve(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    on = args.setting == "on"
    await backend.set_approve_changes(args.id, on)
    said = (
        "Approve changes is on: each agent run's change waits for `agent accept` or `agent reject`."
        if on
        else "Approve changes is off: each agent run's change is saved as a version."
    )
    return {"id": args.id, "approve_changes": on}, said


async def cmd_agent_engine(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.set_engine(args.id, args.engine)
    agent = AGENTS.get(args.engine)
    said = (
        f"{agent.name} works on the project from its next request on; Forja checks, repairs and saves its change."
        if agent is not None
        else "Forja's own model works on the project from its next request on."
    )
    return {"id": args.id, "engine": args.engine}, said


async def cmd_agent_accept(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    version = await backend.accept_change(args.id, args.run_id)
    return {"id": args.id, "generation_id": args.run_id, "version": version}, f"Saved as version {version}."


async def cmd_agent_reject(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    await backend.reject_change(args.id, args.run_id)
    return {"id": args.id, "generation_id": args.run_id, "rejected": True}, "Rejected: the change was dropped."


async def cmd_agent_answer(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """The answers, in the questions' order; the run that goes on with them is followed as `generate --agent` is."""
    request = GenerateRequest(
        prompt="",
        project=args.id,
        provider=args.provider,
        model=args.model,
        verify=not args.no_verify,
        agent=True,
        answers_to=args.run_id,
        answers=args.answers,
    )
    return await run_generation(backend, request, quiet=args.json)


COMMANDS: dict[str, Command[Any]] = {
    "agent approve": Command(a_backend, cmd_agent_approve),
    "agent engine": Command(a_backend, cmd_agent_engine),
    "agent accept": Command(a_backend, cmd_agent_accept),
    "agent reject": Command(a_backend, cmd_agent_reject),
    "agent answer": Command(a_backend, cmd_agent_answer),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the commands above to builder.cli's subparsers (`sub`), with its common options (`common`)."""
    p = sub.add_parser("agent", help="agent mode's runs: Approve changes, and accepting or rejecting a waiting change")
    actions = p.add_subparsers(dest="action", required=True)
    p = actions.add_parser(
        "approve", parents=[common], help="turn the project's Approve changes on (each run's change waits) or off"
    )
    p.add_argument("id")
    p.add_argument("setting", choices=["on", "off"])
    p = actions.add_parser(
        "engine", parents=[common], help="pick what works on the project: Forja's own model or a coding agent (OpenCode, Codex)"
    )
    p.add_argument("id")
    p.add_argument("engine", choices=list(get_args(Engine)))
    run_id = "the run's id (`generation_id` of generate --agent --json, or the number it prints)"
    p = actions.add_parser("accept", parents=[common], help="save a run's waiting change as a version; prints its number")
    p.add_argument("id")
    p.add_argument("run_id", metavar="RUN_ID", type=int, help=run_id)
    p = actions.add_parser("reject", parents=[common], help="drop a run's waiting change")
    p.add_argument("id")
    p.add_argument("run_id", metavar="RUN_ID", type=int, help=run_id)
    p = actions.add_parser(
        "answer", parents=[common], help="answer the questions a run asked; a new run goes on with the answers"
    )
    p.add_argument("id")
    p.add_argument("run_id", metavar="RUN_ID", type=int, help=run_id)
    p.add_argument("answers", metavar="ANSWER", nargs="+", help="one answer per question, in order: an option's words, or yours")
    p.add_argument("--provider", choices=["anthropic", "openai"], help="the model's provider (default: the project's)")
    p.add_argument("--model", help="the model (default: the project's)")
    p.add_argument("--no-verify", action="store_true", help="do not run, check and repair the new version")
