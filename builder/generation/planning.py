"""Plan mode: before building, the model proposes a short plan in plain words through the `propose_plan` tool.

A plan is the pages and what a person can do on each, the data the app keeps, and numbered acceptance checks
written as things a visitor does and sees. Offline, the starter that fits the prompt answers with its own plan
(templates/*/template.json). Building a plan is a normal generation whose model reads the plan with the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from builder.errors import GenerationError
from builder.generation.plan_questions import QUESTIONS_SCHEMA, PlanQuestion, answers_text, read_questions
from builder.generation.providers.base import Message, ModelRequest, Provider, ToolSpec, UsageReport
from builder.generation.tool_call import call_tool
from builder.generation.who_connects import HOW_TO_CONNECT
from preview_runtime.check_script import is_check_path

log = logging.getLogger(__name__)

MAX_CHECKS = 12
MAX_CHECK_CHARS = 400
MAX_PART_CHARS = 4000
# A plan is short: a few hundred words.
PLAN_MAX_TOKENS = 4096

PLAN_TOOL = ToolSpec(
    name="propose_plan",
    description=(
        "Propose the plan of the app before it is built, in plain words for a person who does not program: its pages "
        "and what a person can do on each, the data it keeps, and acceptance checks a visitor can do and see."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "Short name of the app, e.g. 'Barber shop booking'."},
            "summary": {"type": "string", "description": "The app in one or two plain sentences."},
            "pages": {
                "type": "string",
                "description": "The pages, one a line: the page's name, a colon, then what a person can do there.",
            },
            "data": {"type": "string", "description": "What the app keeps (and where: this browser, or a database)."},
            "checks": {
                "type": "array",
                "items": {"type": "string"},
                "description": "3 to 8 acceptance checks, each one thing a visitor does and what they then see, e.g. "
                "'Add a booking for Friday 10:00: it appears in the list.'",
            },
            "questions": QUESTIONS_SCHEMA,
        },
        "required": ["title", "summary", "pages", "data", "checks"],
    },
)

PLAN_SYSTEM_PROMPT = f"""You are Forja, an expert web developer who builds small, complete apps for people who do not \
program. Before building, you agree on a plan with the person. Answer only by calling the `{PLAN_TOOL.name}` tool, once.

Rules:
- Write in the person's language, in plain words: no code, no library names unless they asked for them.
- Plan a small app that can really be built in one go: a few pages at most.
- `pages`: one line per page, "Name: what a person can do there".
- `data`: what the app keeps and where (in this browser only, in a database that every visitor shares, or with each
  person's own account once they sign in).
- `checks`: 3 to 8 acceptance checks, each one thing a visitor does and what they then see, concrete enough to try in
  a browser ("Add a booking for Friday 10:00: it appears in the list"). Together they cover what was asked.
- You may ask before you plan: instead of a plan, up to 3 `questions` (with the plan's parts left empty), each with
  2 to 5 short options or none for an answer in a few words. Ask only what changes what gets built and that you
  cannot choose well yourself (a booking page's opening hours or how long a booking is); otherwise plan at once. Never
  ask twice: once the person has answered, plan with their answers.
"""

OFFLINE_CANNOT_REVISE = (
    "Offline starter mode cannot rewrite a plan from your words: edit its parts and checks in place, then build it; "
    f"or connect a model to have it revised: {HOW_TO_CONNECT}."
)


class PlanDraft(BaseModel):
    """A plan's parts, as the model proposed them or the person edited them."""

    title: str = Field(default="", max_length=200)
    summary: str = Field(default="", max_length=MAX_PART_CHARS)
    pages: str = Field(default="", max_length=MAX_PART_CHARS)
    data: str = Field(default="", max_length=MAX_PART_CHARS)
    checks: list[str] = Field(default_factory=list, max_length=MAX_CHECKS)

    @field_validator("title", "summary", "pages", "data", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("checks", mode="after")
    @classmethod
    def _clean_checks(cls, value: list[str]) -> list[str]:
        checks = [" ".join(check.split()) for check in value]
        if too_long := next((c for c in checks if len(c) > MAX_CHECK_CHARS), None):
            raise ValueError(f"a check is at most {MAX_CHECK_CHARS} characters: {too_long[:60]!r}...")
        return [c for c in checks if c]


def as_text(prompt: str, plan: PlanDraft, questions: Sequence[PlanQuestion] = ()) -> str:
    """The plan as the model reads it when building, and as `revise` shows it the current plan; with the person's
    answers to the planner's questions, which the app must honour as much as the plan."""
    checks = "\n".join(f"{n}. {check}" for n, check in enumerate(plan.checks, 1)) or "(none)"
    answers = answers_text(questions)
    return (
        f"The person asked for:\n{prompt}\n\n"
        + (f"{answers}\n\n" if answers else "")
        + f"Title: {plan.title}\nSummary: {plan.summary}\n\nPages:\n{plan.pages}\n\nData it keeps:\n{plan.data}\n\n"
        f"Acceptance checks:\n{checks}"
    )


def build_message(prompt: str, plan: PlanDraft, questions: Sequence[PlanQuestion] = ()) -> str:
    """What the generation's model reads instead of the prompt when a plan is built."""
    return (
        "Build the app of this plan, agreed with the person. Every acceptance check must work in the built app: "
        "a visitor doing what a check says sees what it says. Write each acceptance check as its own file "
        "`.forja/checks/NN-short-name.spec.js` (NN its number), whose test's title is the check's text exactly.\n\n"
        + as_text(prompt, plan, questions)
    )


def add_check_message(check: str, paths: list[str]) -> str:
    """What the model reads when a person adds an acceptance check in words to a built project."""
    existing = sorted(p for p in paths if is_check_path(p))
    number = len(existing) + 1
    listed = "\n".join(f"- {p}" for p in existing) or "- (none yet)"
    return (
        f"The person adds an acceptance check to the app:\n\n{check}\n\nWrite it as a new file "
        f"`.forja/checks/{number:02d}-short-name.spec.js` whose test's title is the check's words. The project's checks "
        f"so far:\n{listed}\nIf the app does not yet do what the check says, change the app so it does; change "
        "nothing else."
    )


def plan_request(prompt: str, files: list[str] | None = None, questions: Sequence[PlanQuestion] = ()) -> ModelRequest:
    """Ask for a plan of a new app, or (with the project's `files`) of a change to an existing one; with the
    `questions` the person answered, for the plan that honours them (and no more questions)."""
    if files:
        listing = "\n".join(f"- {path}" for path in files[:300])
        text = (
            f"The project exists already; its files:\n{listing}\n\nThe person now asks for a change:\n\n{prompt}\n\n"
            "Plan the change: the pages it touches and what a person can do there, the data, and checks for it."
        )
    else:
        text = f"Plan this app:\n\n{prompt}"
    answers = answers_text(questions)
    if answers:
        text += f"\n\n{answers}\n\nPlan it now, as they answered: ask nothing more."
    return ModelRequest(
        system=PLAN_SYSTEM_PROMPT,
        messages=[Message("user", text)],
        max_tokens=PLAN_MAX_TOKENS,
        # Offline starter mode reads the answers from here (offline_fit.picked_starter).
        prompt=f"{prompt}\n\n{answers}" if answers else prompt,
        tool=PLAN_TOOL,
        # The names only: offline starter mode plans a change to an existing app differently from a new one.
        tree=dict.fromkeys(files or [], ""),
    )


def revise_request(prompt: str, current: PlanDraft, ask: str, questions: Sequence[PlanQuestion] = ()) -> ModelRequest:
    text = (
        f"This is the current plan:\n\n{as_text(prompt, current, questions)}\n\nThe person asks to change it:\n\n{ask}\n\n"
        "Propose the whole plan again with that change; keep what they did not ask to change."
    )
    return ModelRequest(
        system=PLAN_SYSTEM_PROMPT,
        messages=[Message("user", text)],
        max_tokens=PLAN_MAX_TOKENS,
        prompt=ask,
        tool=PLAN_TOOL,
    )


def _parsed(text: str) -> tuple[PlanDraft, list[PlanQuestion]]:
    try:
        raw: Any = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        questions = read_questions(raw.pop("questions", None))
        return PlanDraft.model_validate(raw), questions
    except (ValueError, ValidationError) as exc:
        log.warning("the model's plan could not be read: %s", exc)
        raise GenerationError("The model's plan was not complete or not readable, so it was not kept. Try again.") from exc


async def draft_plan(
    provider: Provider, request: ModelRequest, *, may_ask: bool = True
) -> tuple[PlanDraft, list[PlanQuestion], UsageReport]:
    """The model's plan for `request`, retried as a generation is when the provider is busy; or, if it `may_ask`
    (the person has not answered yet), its questions instead (the plan is then empty)."""
    text, usage = await call_tool(provider, request, "plan")
    plan, questions = _parsed(text)
    if questions and may_ask:
        return PlanDraft(title=plan.title), questions, usage
    if not plan.checks:
        raise GenerationError("The model's plan had no acceptance checks, so it was not kept. Try again.")
    return plan, [], usage
