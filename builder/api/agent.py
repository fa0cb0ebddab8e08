"""HTTP routes around agent mode's runs: the Approve changes and engine settings, a waiting change accepted or rejected, the
answers to a run's questions, the screenshot a step took, and the teams' MCP tools a run needs approved. A run
starts as a follow-up with `"agent": true` (builder/api/generations.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.generations import event_stream
from builder.api.identity import CurrentActor, Editor, Viewer
from builder.api.plans import AnswersRequest
from builder.composition import get_services
from builder.schemas import Engine, RequestBody
from builder.services.checked_generation import verification_dict
from builder.services.mcp_servers import ApprovableTool

router = APIRouter(route_class=CheckedRoute)


class ApproveSetting(RequestBody):
    approve_changes: bool = Field(description="On: each agent run's change waits for a person to accept or reject it.")


class EngineSetting(RequestBody):
    engine: Engine = Field(
        description="`forja` (Forja's own model), `opencode` (the OpenCode coding agent) or `codex` (Codex CLI, which "
        "needs an OpenAI-compatible model)."
    )


class AgentAnswers(AnswersRequest):
    verify: bool | None = Field(default=None, description="As for a follow-up: run, check and repair the app (default on).")


class Accepted(BaseModel):
    version: int = Field(description="The version the change was saved as.")
    verification: dict[str, Any] | None = Field(
        description="Its check (status, problems, headline...), as a generation's; null when FORJA_VERIFY_GENERATIONS is off."
    )


@router.get("/api/agent/mcp-tools", tags=["agent"])
async def approvable_tools(_: CurrentActor) -> list[ApprovableTool]:
    """The teams' MCP tools an admin allowed that may change things outside Forja: a run uses one only when its
    `approved_tools` names it. Read-only ones need no approval and are not listed."""
    return await (await get_services()).mcp_servers.approvable()


@router.put("/api/projects/{project_id}/agent/approve-changes", tags=["agent"])
async def set_approve_changes(project_id: str, body: ApproveSetting, _: Editor) -> ApproveSetting:
    """Turn the project's Approve changes setting on or off (it applies to the runs started after)."""
    await (await get_services()).agent.set_approve_changes(project_id, body.approve_changes)
    return body


@router.put("/api/projects/{project_id}/agent/engine", tags=["agent"])
async def set_engine(project_id: str, body: EngineSetting, _: Editor) -> EngineSetting:
    """Pick what works on the project from its next request on: Forja's own model, or a coding agent (OpenCode or
    Codex) in the project's sandbox (its change is then checked, repaired and saved as any generation's)."""
    await (await get_services()).agent.set_engine(project_id, body.engine)
    return body


@router.post("/api/projects/{project_id}/agent/{generation_id}/accept", tags=["agent"])
async def accept_change(project_id: str, generation_id: int, actor: Editor) -> Accepted:
    """Save a run's waiting change as a version, then check it as a generation is. 409 when it was decided already, or
    the project has a newer version than the one the run changed."""
    agent = (await get_services()).agent
    result = await agent.accept(project_id, generation_id, actor.user_id)
    checked = await agent.check_accepted(project_id)
    return Accepted(version=result.version.number, verification=verification_dict(checked) if checked else None)


@router.post("/api/projects/{project_id}/agent/{generation_id}/reject", tags=["agent"], status_code=204)
async def reject_change(project_id: str, generation_id: int, _: Editor) -> Response:
    """Drop a run's waiting change; the preview goes back to the saved version. 409 when it was decided already."""
    await (await get_services()).agent.reject(project_id, generation_id)
    return Response(status_code=204)


@router.post("/api/projects/{project_id}/agent/{generation_id}/answers", tags=["agent"])
async def answer_questions(project_id: str, generation_id: int, body: AgentAnswers, actor: Editor) -> StreamingResponse:
    """Answer the questions an agent run asked (its `questions`, in their order): they are kept with it, and a new
    agent run goes on with the task and the answers; its events as for a follow-up. 422 for a missing answer, or one
    not among the options of a question that takes no other; 409 when the run asks nothing (or was answered already)
    or the project has a generation running."""
    services = await get_services()
    await services.agent.answer(
        project_id,
        generation_id,
        body.answers,
        provider=body.provider,
        model=body.model,
        verify=body.verify,
        user_id=actor.user_id,
    )
    return event_stream(services, project_id)


@router.get("/api/projects/{project_id}/agent/{generation_id}/steps/{number}/screenshot", tags=["agent"])
async def step_screenshot(project_id: str, generation_id: int, number: int, _: Viewer) -> Response:
    """The screenshot an `open_page` step took (JPEG)."""
    data = await (await get_services()).agent.step_screenshot(project_id, generation_id, number)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
