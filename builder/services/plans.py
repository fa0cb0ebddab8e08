"""Plans: propose one (for a new app or a change), revise it in words, edit it in place, build it.

The UI, the HTTP API and the CLI all come here. A plan is kept with its project (a new app's plan makes the
project, with no version until it is built). Asking the model for a plan is recorded as a generation of kind
"plan" with its tokens and cost, and holds the project like any generation while it runs. Building a plan is
the normal checked generation, whose model reads the plan with the person's request.

The planner may ask before it plans (builder.generation.plan_questions): the plan is then kept "asking" with its
questions, so a reload shows them again, and `answer` sends the answers back for the plan, which keeps them.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

from pydantic import BaseModel, Field

from builder.errors import GenerationError, InvalidInput, PlanAsking, PlanBuilt, ProviderError
from builder.filetree import text_of
from builder.generation.budget import check_budget
from builder.generation.guard import redact
from builder.generation.plan_questions import PlanQuestion, answers_text, questions_of, stored, with_answers
from builder.generation.planning import (
    OFFLINE_CANNOT_REVISE,
    PlanDraft,
    build_message,
    draft_plan,
    plan_request,
    revise_request,
)
from builder.generation.providers.base import ModelRequest, Provider, UsageReport
from builder.generation.providers.choice import get_provider
from builder.models import Plan
from builder.schemas import AcceptanceInfo, VerificationInfo, valid_prompt
from builder.services.generations import GenerationService, project_name_from_prompt, stale_before
from builder.services.model_records import answered, saved
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from builder.store import ProjectStore
from builder.store.plans import checks_of
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)


class PlanCheck(BaseModel):
    number: int = Field(description="1, 2, 3... in the plan's order.")
    text: str = Field(description="What a visitor does and sees.")
    passed: bool | None = Field(
        default=None,
        description="Whether the app passed it when its last version was checked; null: not run (the plan is not built "
        "yet, or the project has no acceptance check of that title).",
    )
    message: str = Field(default="", description="Why it failed: the step, and what the browser saw.")
    screenshot: str | None = Field(default=None, description="API path of the page at the check's end; null when not run.")


class PlanInfo(BaseModel):
    id: str
    project_id: str
    prompt: str
    title: str
    summary: str
    pages: str = Field(description="The pages, one a line, and what a person can do on each.")
    data: str = Field(description="What the app keeps, and where.")
    checks: list[PlanCheck]
    status: str = Field(
        description="asking (its `questions` wait for answers: POST them to /answers), proposed, or built (then "
        "`version` is the version it was built as)."
    )
    questions: list[PlanQuestion] = Field(
        description="What the planner asked before it planned, each with the person's `answer` once given; "
        "`options` empty: answered in words; `other` false: the answer is one of the options."
    )
    version: int | None
    provider: str
    created_at: datetime
    updated_at: datetime


class PlanEdit(BaseModel):
    """The parts a person changed; those left out stay. `checks` replaces the whole list (reordered, deleted, added)."""

    title: str | None = None
    summary: str | None = None
    pages: str | None = None
    data: str | None = None
    checks: list[str] | None = None


def _same_words(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


def _ran(text: str, runs: list[AcceptanceInfo]) -> AcceptanceInfo | None:
    """The acceptance check that tested the plan's check: the one titled with its words (the model is told to title
    each so). A check edited after it was written, or one nothing tests, has none: it was not run."""
    wanted = _same_words(text)
    return next((r for r in runs if _same_words(r.title) == wanted), None)


def plan_info(plan: Plan, checked: VerificationInfo | None = None) -> PlanInfo:
    """The plan; with `checked` (the project's last check, once the plan is built), how each of its checks went."""
    runs = checked.acceptance if checked is not None and plan.status == "built" else []
    checks = []
    for n, text in enumerate(checks_of(plan), 1):
        ran = _ran(text, runs)
        result = {"passed": ran.passed, "message": ran.message, "screenshot": ran.screenshot} if ran else {}
        checks.append(PlanCheck(number=n, text=text, **result))
    fields = plan.model_dump(exclude={"checks", "user_id", "questions"})
    return PlanInfo(**fields, checks=checks, questions=questions_of(plan.questions))


def draft_of(plan: Plan) -> PlanDraft:
    return PlanDraft(title=plan.title, summary=plan.summary, pages=plan.pages, data=plan.data, checks=checks_of(plan))


class PlanService:
    def __init__(
        self,
        store: ProjectStore,
        projects: ProjectService,
        generations: GenerationService,
        quotas: QuotaService,
        logs: LogHub,
    ) -> None:
        self._store = store
        self._projects = projects
        self._generations = generations
        self._quotas = quotas
        self._logs = logs

    async def get(self, plan_id: str) -> PlanInfo:
        plan = await self._store.get_plan(plan_id)
        return plan_info(plan, await self._store.last_verification(plan.project_id) if plan.status == "built" else None)

    async def project_of(self, plan_id: str) -> str:
        """The project the plan belongs to (for the caller's access check); NotFound for an unknown plan."""
        return (await self._store.get_plan(plan_id)).project_id

    async def of_project(self, project_id: str) -> list[PlanInfo]:
        """The project's plans, oldest first."""
        plans = await self._store.list_plans(project_id)
        built = any(plan.status == "built" for plan in plans)
        checked = await self._store.last_verification(project_id) if built else None
        return [plan_info(plan, checked) for plan in plans]

    async def propose(
        self,
        prompt: str,
        *,
        project_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        owner: str,
    ) -> PlanInfo:
        """A plan for a new app (a new project of `owner`'s, with no version yet) or, with `project_id`, for a change to
        that project. Nothing is built and no version is made."""
        prompt = redact(valid_prompt(prompt).strip())
        if not prompt:
            raise InvalidInput("Describe what you want first: the request was empty.")
        new = project_id is None
        if project_id is None:
            chosen = await get_provider(provider, model)
            project_id = await self._projects.create_empty(project_name_from_prompt(prompt), owner=owner)
            files: list[str] = []
        else:
            project = await self._projects.get(project_id)
            chosen = await get_provider(provider or project.provider or None, model or project.model or None)
            files = [f.path for f in await self._projects.files(project_id)] if project.current_version else []
        try:
            request = await self._request(chosen, project_id, prompt, files, [])
            draft, questions, used = await self._ask(chosen, project_id, prompt, request, owner)
        except BaseException:
            if new:
                await self._store.discard_if_empty(project_id)
            raise
        if new and draft.title:
            await self._store.rename(project_id, draft.title)
        plan = await self._store.add_plan(
            Plan(
                project_id=project_id,
                prompt=prompt,
                provider=used,
                user_id=owner,
                status="asking" if questions else "proposed",
                questions=stored(questions),
                **{**draft.model_dump(exclude={"checks"}), "checks": json.dumps(draft.checks)},
            )
        )
        if questions:
            self._logs.emit(project_id, f"The planner asks {len(questions)} question(s) first.", source="generate")
        else:
            self._logs.emit(
                project_id, f"Plan proposed ({len(draft.checks)} acceptance checks): {draft.title}", source="generate"
            )
        return plan_info(plan)

    async def answer(
        self, plan_id: str, answers: list[str], *, provider: str | None = None, model: str | None = None, user_id: str
    ) -> PlanInfo:
        """The person's answers to the planner's questions (in their order): the planner drafts the plan with them,
        and the plan keeps them. InvalidInput for a missing answer, or one not among a question's fixed options."""
        plan = await self._store.get_plan(plan_id)
        if plan.status != "asking":
            self._still_proposed(plan)
            raise PlanAsking("This plan asks no questions now: read it, change it if you like, and build it.")
        questions = with_answers(questions_of(plan.questions), [redact(a) for a in answers])
        project = await self._projects.get(plan.project_id)
        chosen = await get_provider(provider or project.provider or None, model or project.model or None)
        files = [f.path for f in await self._projects.files(plan.project_id)] if project.current_version else []
        request = await self._request(chosen, plan.project_id, plan.prompt, files, questions)
        draft, _, used = await self._ask(chosen, plan.project_id, plan.prompt, request, user_id, may_ask=False)
        if draft.title and not project.current_version:
            await self._store.rename(plan.project_id, draft.title)
        fields = {**draft.model_dump(exclude={"checks"}), "checks": json.dumps(draft.checks)}
        changed = await self._store.update_plan(plan_id, **fields, status="proposed", provider=used, questions=stored(questions))
        self._logs.emit(plan.project_id, f"Plan proposed with your answers: {draft.title}", source="generate")
        return plan_info(changed)

    async def _request(
        self, chosen: Provider, project_id: str, prompt: str, files: list[str], questions: list[PlanQuestion]
    ) -> ModelRequest:
        request = plan_request(prompt, files, questions)
        if chosen.name == "offline" and files:
            # Offline starter mode plans what its edit of these very files does (it asks no model), so it reads them.
            tree = await self._projects.read_tree(project_id)
            request.tree = {path: text for path, data in tree.items() if (text := text_of(data)) is not None}
        return request

    async def revise(
        self, plan_id: str, ask: str, *, provider: str | None = None, model: str | None = None, user_id: str
    ) -> PlanInfo:
        """Ask the model to change the plan in words; the plan is replaced by its answer."""
        ask = redact(valid_prompt(ask).strip())
        if not ask:
            raise InvalidInput("Say what to change in the plan first: the request was empty.")
        plan = await self._store.get_plan(plan_id)
        self._still_proposed(plan)
        project = await self._projects.get(plan.project_id)
        chosen = await get_provider(provider or project.provider or None, model or project.model or None)
        if chosen.name == "offline":
            raise ProviderError(OFFLINE_CANNOT_REVISE)
        request = revise_request(plan.prompt, draft_of(plan), ask, questions_of(plan.questions))
        draft, _, _ = await self._ask(chosen, plan.project_id, ask, request, user_id, may_ask=False)
        changed = await self._store.update_plan(
            plan_id, **{**draft.model_dump(exclude={"checks"}), "checks": json.dumps(draft.checks)}
        )
        return plan_info(changed)

    async def edit(self, plan_id: str, changes: PlanEdit) -> PlanInfo:
        """The person's own changes to the plan's parts and checks."""
        plan = await self._store.get_plan(plan_id)
        self._still_proposed(plan)
        merged = {**draft_of(plan).model_dump(), **changes.model_dump(exclude_none=True)}
        try:
            draft = PlanDraft.model_validate(merged)
        except ValueError as exc:
            raise InvalidInput(f"The plan was not changed: {exc}") from None
        if not draft.checks:
            raise InvalidInput("A plan keeps at least one acceptance check: add one before removing the last.")
        draft = _redacted(draft)
        fields = {**draft.model_dump(exclude={"checks"}), "checks": json.dumps(draft.checks)}
        return plan_info(await self._store.update_plan(plan_id, **fields))

    async def build(
        self,
        plan_id: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        verify: bool | None = None,
        user_id: str,
    ) -> PlanInfo:
        """Start the generation of the plan (follow it with GenerationService.follow on the plan's project); the plan
        is marked built with the version its first round saves."""
        plan = await self._store.get_plan(plan_id)
        self._still_proposed(plan)
        project = await self._projects.get(plan.project_id)
        chosen = await get_provider(provider or project.provider or None, model or project.model or None)
        # Offline starter mode builds from the person's words (its plan is the starter's own): a long plan as its
        # "prompt" would only confuse how it names and personalises the app. Their answers pick its starter.
        questions = questions_of(plan.questions)
        if chosen.name == "offline":
            answers = answers_text(questions)
            for_model = f"{plan.prompt}\n\n{answers}" if answers else None
        else:
            for_model = build_message(plan.prompt, draft_of(plan), questions)
        await self._generations.start(
            plan.project_id,
            plan.prompt,
            chosen.name,
            chosen.model or None,
            verify=verify,
            for_model=for_model,
            user_id=user_id,
            plan_id=plan_id,
        )
        return plan_info(plan)

    def _still_proposed(self, plan: Plan) -> None:
        if plan.status == "built":
            raise PlanBuilt(
                f"This plan was built already (version {plan.version}); ask for a new plan to change the app further."
            )
        if plan.status == "asking":
            raise PlanAsking("This plan waits for your answers to its questions: answer them first, then it is drafted.")

    async def _ask(
        self, provider: Provider, project_id: str, prompt: str, request: ModelRequest, user_id: str, *, may_ask: bool = True
    ) -> tuple[PlanDraft, list[PlanQuestion], str]:
        """The model's plan (or, if it `may_ask`, its questions), recorded as a generation of kind "plan" (tokens,
        cost, outcome); returns them and who wrote them."""
        if provider.name != "offline":
            allowance = await self._quotas.allowance(user_id)
            await check_budget(self._store, project_id, provider.model, request, UsageReport(), allowance)
        record = await self._store.start_generation(
            project_id, prompt, provider.name, provider.model, stale_before(), kind="plan", user_id=user_id
        )
        started = time.monotonic()
        self._logs.emit(project_id, f"Asking {provider.name} for a plan: {prompt[:200]}", source="generate")
        try:
            draft, questions, usage = await answered(self._store, record, "plan", draft_plan(provider, request, may_ask=may_ask))
        except GenerationError as exc:
            self._logs.emit(project_id, f"No plan: {exc}", LogLevel.error, source="generate")
            raise
        summary = f"Plan: {len(questions)} question(s) first" if questions else f"Plan: {draft.title}"
        await saved(self._store, record, provider, usage, started, summary=redact(summary))
        return _redacted(draft), [_asked(q) for q in questions], provider.name


def _asked(question: PlanQuestion) -> PlanQuestion:
    return question.model_copy(update={"question": redact(question.question), "options": [redact(o) for o in question.options]})


def _redacted(draft: PlanDraft) -> PlanDraft:
    """A key the model wrote into its plan is removed as from files: plans are stored and shown."""
    return PlanDraft(
        title=redact(draft.title),
        summary=redact(draft.summary),
        pages=redact(draft.pages),
        data=redact(draft.data),
        checks=[redact(c) for c in draft.checks],
    )
