"""HTTP routes for plans: propose one before building (a new app, or a change to a project), answer the planner's
questions, read it, edit it in place, ask the model to revise it, and build it.

A plan is reached by its own id; the person needs a role in its project (a viewer may read it, an editor may change
or build it). Building answers with the generation's server-sent events, as /api/generate does.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import Field

from builder.api.bodies import CheckedRoute
from builder.api.generations import event_stream
from builder.api.identity import CurrentActor, Viewer
from builder.composition import Services, get_services
from builder.errors import NotFound
from builder.generation.plan_questions import MAX_QUESTIONS
from builder.schemas import Prompt, RequestBody
from builder.services.access import Actor, Permission
from builder.services.plans import PlanEdit, PlanInfo
from builder.store.plans import NO_SUCH_PLAN

router = APIRouter(route_class=CheckedRoute)

Provider = Field(default=None, pattern="^(offline|anthropic|openai)$")


class PlanRequest(RequestBody):
    prompt: Prompt
    project_id: str | None = Field(default=None, description="Plan a change to this project; without it, a new app.")
    provider: str | None = Provider
    model: str | None = None


class ReviseRequest(RequestBody):
    request: Prompt = Field(description="What to change in the plan, in words.")
    provider: str | None = Provider
    model: str | None = None


class AnswersRequest(RequestBody):
    answers: list[str] = Field(
        max_length=MAX_QUESTIONS, description="One answer per question, in the questions' order: an option's words, or your own."
    )
    provider: str | None = Provider
    model: str | None = None


class PlanEditBody(PlanEdit, RequestBody):
    pass


class BuildRequest(RequestBody):
    provider: str | None = Provider
    model: str | None = None
    verify: bool | None = Field(default=None, description="As for /api/generate: run, check and repair the app (default on).")


async def _plan_project(services: Services, plan_id: str, actor: Actor, need: Permission) -> str:
    """The plan's project, if the person may `need` on it; a plan of a project they cannot see does not exist for them."""
    project_id = await services.plans.project_of(plan_id)
    await services.access.require(actor, project_id, need, NotFound(NO_SUCH_PLAN.format(plan_id=plan_id)))
    return project_id


@router.post("/api/plans", tags=["plans"])
async def propose_plan(body: PlanRequest, actor: CurrentActor) -> PlanInfo:
    """Propose a plan: pages, what a person can do on each, the data it keeps, and numbered acceptance checks. With
    `project_id` (an editor's) it plans a change to that project; without, it makes a new project (yours) that has
    the plan and no version yet. Nothing is built. The planner may ask first: the plan is then `asking`, with its
    `questions` (answer them at /api/plans/{plan_id}/answers)."""
    services = await get_services()
    if body.project_id is not None:
        await services.access.require(actor, body.project_id, Permission.edit)
    return await services.plans.propose(
        body.prompt, project_id=body.project_id, provider=body.provider, model=body.model, owner=actor.user_id
    )


@router.post("/api/plans/{plan_id}/answers", tags=["plans"])
async def answer_plan(plan_id: str, body: AnswersRequest, actor: CurrentActor) -> PlanInfo:
    """Answer the planner's questions, in their order; answers the plan drafted with them (it keeps the questions and
    answers). 422 for a missing answer, or one not among the options of a question that takes no other; 409 when the
    plan asks nothing."""
    services = await get_services()
    await _plan_project(services, plan_id, actor, Permission.edit)
    return await services.plans.answer(plan_id, body.answers, provider=body.provider, model=body.model, user_id=actor.user_id)


@router.get("/api/plans/{plan_id}", tags=["plans"])
async def get_plan(plan_id: str, actor: CurrentActor) -> PlanInfo:
    services = await get_services()
    await _plan_project(services, plan_id, actor, Permission.view)
    return await services.plans.get(plan_id)


@router.put("/api/plans/{plan_id}", tags=["plans"])
async def edit_plan(plan_id: str, body: PlanEditBody, actor: CurrentActor) -> PlanInfo:
    """Change the plan's parts in place; `checks` replaces the list (reorder, delete, add). 409 once it was built."""
    services = await get_services()
    await _plan_project(services, plan_id, actor, Permission.edit)
    return await services.plans.edit(plan_id, PlanEdit.model_validate(body.model_dump()))


@router.post("/api/plans/{plan_id}/revise", tags=["plans"])
async def revise_plan(plan_id: str, body: ReviseRequest, actor: CurrentActor) -> PlanInfo:
    """Ask the model to change the plan in words; answers the revised plan. Offline starters cannot (400)."""
    services = await get_services()
    await _plan_project(services, plan_id, actor, Permission.edit)
    return await services.plans.revise(plan_id, body.request, provider=body.provider, model=body.model, user_id=actor.user_id)


@router.post("/api/plans/{plan_id}/build", tags=["plans"])
async def build_plan(plan_id: str, body: BuildRequest, actor: CurrentActor) -> StreamingResponse:
    """Build this: the normal generation, with the plan in the model's prompt; the generation's events as for
    /api/generate. The plan is then `built` with its version; 409 if it was built already."""
    services = await get_services()
    project_id = await _plan_project(services, plan_id, actor, Permission.edit)
    await services.plans.build(plan_id, provider=body.provider, model=body.model, verify=body.verify, user_id=actor.user_id)
    return event_stream(services, project_id)


@router.get("/api/projects/{project_id}/plans", tags=["plans"])
async def project_plans(project_id: str, _: Viewer) -> list[PlanInfo]:
    """The project's plans, oldest first, each with its status and the version it was built as."""
    return await (await get_services()).plans.of_project(project_id)
