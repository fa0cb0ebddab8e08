"""CLI commands for talking before building: `plan "PROMPT" [--project ID]` proposes a plan and builds nothing (the
generate command builds one with `--from-plan PLAN_ID`, builder.cli.projects); `plan-answer PLAN_ID ANSWER...` answers
the questions a planner asked first; `ask ID "QUESTION"` answers a question about a project from its files and changes
nothing."""

from __future__ import annotations

import argparse
from typing import Any

from builder.cli.command import Command, a_backend
from builder.client.backend import Backend
from builder.generation.plan_questions import PlanQuestion
from builder.schemas import valid_prompt
from builder.services.plans import PlanInfo


def questions_text(questions: list[PlanQuestion]) -> str:
    """Questions as numbered lines, each with its options (a plan's, or an agent run's)."""
    return "\n".join(
        f"  {n}. {q.question}" + "".join(f"\n     - {option}" for option in q.options) for n, q in enumerate(questions, 1)
    )


def answer_placeholders(count: int) -> str:
    return " ".join(f'"ANSWER {n}"' for n in range(1, count + 1))


def plan_text(plan: PlanInfo) -> str:
    if plan.status == "asking":
        return (
            f"{plan.id}  asks first (project {plan.project_id}):\n{questions_text(plan.questions)}\n\n"
            f"Answer with: python -m builder plan-answer {plan.id} {answer_placeholders(len(plan.questions))}"
        )
    checks = "\n".join(f"  {check.number}. {check.text}" for check in plan.checks)
    told = "".join(f"  - {q.question} {q.answer}\n" for q in plan.questions)
    return (
        f"{plan.id}  {plan.title} ({plan.status}, project {plan.project_id})\n{plan.summary}\n\n"
        + (f"You told us:\n{told}\n" if told else "")
        + f"Pages:\n{plan.pages}\n\nData:\n{plan.data}\n\nAcceptance checks:\n{checks}\n\n"
        f"Build it with: python -m builder generate --from-plan {plan.id}"
    )


def plan_value(plan: PlanInfo) -> dict[str, Any]:
    return {"plan_id": plan.id, **plan.model_dump(mode="json")}


async def cmd_plan(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Propose a plan (for a new app, or a change with --project); no version is made."""
    valid_prompt(args.prompt)
    plan = await backend.propose_plan(args.prompt, args.project, args.provider, args.model)
    return plan_value(plan), plan_text(plan)


async def cmd_plan_answer(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Answer the planner's questions, in their order: the plan is then drafted with the answers."""
    plan = await backend.answer_plan(args.plan_id, args.answers, args.provider, args.model)
    return plan_value(plan), plan_text(plan)


async def cmd_ask(backend: Backend, args: argparse.Namespace) -> tuple[Any, str]:
    """Answer a question about the project from its files, with the places it relies on; nothing changes."""
    valid_prompt(args.question)
    answer = await backend.ask(args.id, args.question, args.provider, args.model)
    places = "".join(f"\n  {ref.path}:{ref.line}" + (f"  {ref.note}" if ref.note else "") for ref in answer.references)
    return answer.model_dump(mode="json"), answer.answer + places


COMMANDS: dict[str, Command[Any]] = {
    "plan": Command(a_backend, cmd_plan),
    "plan-answer": Command(a_backend, cmd_plan_answer),
    "ask": Command(a_backend, cmd_ask),
}


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "plan",
        parents=[common],
        help="propose a plan (pages, data, acceptance checks) before building; build it with generate --from-plan",
    )
    p.add_argument("prompt")
    p.add_argument("--project", help="plan a change to this project (default: a new app)")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: by which API key is set")
    p.add_argument("--model", help="model name for the provider")
    p = sub.add_parser("plan-answer", parents=[common], help="answer the questions a plan asks first; the plan is then drafted")
    p.add_argument("plan_id", help="the plan's id")
    p.add_argument("answers", nargs="+", help="one answer per question, in their order")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: the project's model")
    p.add_argument("--model", help="model name for the provider")
    p = sub.add_parser(
        "ask", parents=[common], help="answer a question about a project from its files, with file and line; changes nothing"
    )
    p.add_argument("id", help="the project's id")
    p.add_argument("question")
    p.add_argument("--provider", choices=["offline", "anthropic", "openai"], help="default: the project's model")
    p.add_argument("--model", help="model name for the provider")
