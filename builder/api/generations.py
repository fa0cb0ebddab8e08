"""HTTP routes for generations: start one (new project or follow-up), follow it, stop it, "Fix this", and what it cost.

A generation's events come as server-sent events, one per step, the same the UI and the CLI follow:
status, file_started, file_done, summary, usage, step (agent mode: a tool call done), saved (a version was saved: a
round of the person's request or a repair), verification (what the check in a browser saw), then done or error. `done` carries
the usage summed over every round and the last verification.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from builder.api.bodies import CheckedRoute
from builder.api.identity import CurrentActor, Editor, Viewer
from builder.attachments import Picture, check_count, check_pictures, decode_base64
from builder.composition import Services, get_services
from builder.errors import InvalidInput
from builder.schemas import GenerationInfo, Prompt, RequestBody, Usage

router = APIRouter(route_class=CheckedRoute)


class GenerateRequest(RequestBody):
    prompt: Prompt
    provider: str | None = Field(default=None, pattern="^(offline|anthropic|openai)$")
    model: str | None = None
    verify: bool | None = Field(
        default=None,
        description="Run, check and repair the app before `done` (default: FORJA_VERIFY_GENERATIONS, on); false skips it.",
    )
    agent: bool = Field(
        default=False,
        description="Agent mode (a follow-up only): the model works in steps with tools (read, search, edit, run a "
        "command in the sandbox, open a page), each a `step` event; the run is saved as one version, or waits for "
        "approval when the project's Approve changes setting is on (`done` then has no `version` but `generation_id`).",
    )
    approved_tools: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Agent mode: the teams' MCP tools (as `mcp_<server>_<tool>`) that may change things outside Forja "
        "which this run may use; any other such tool the agent calls is refused, not run. Read-only ones need no approval.",
    )
    images: list[ImageIn] = Field(
        default_factory=list,
        description="Pictures (a screenshot, a sketch) sent to the model with the prompt: at most FORJA_ATTACH_MAX_COUNT, "
        "each at most FORJA_ATTACH_MAX_BYTES; other types or sizes get a 422 saying what was wrong.",
    )

    def checked_images(self) -> list[Picture]:
        check_count(len(self.images))
        return check_pictures([(image.name, decode_base64(image.data, image.name)) for image in self.images])


class ImageIn(RequestBody):
    name: str = Field(
        default="", max_length=255, description="The file's name, for messages only; the type comes from the bytes."
    )
    data: str = Field(description="The picture's bytes, base64 (a data: URL is accepted too). PNG, JPEG, GIF or WebP.")


class RepairRequest(RequestBody):
    provider: str | None = Field(default=None, pattern="^(offline|anthropic|openai)$")
    model: str | None = None


class Stopped(BaseModel):
    stopped: bool = Field(description="False when no generation of the project was running in this Forja.")


def event_stream(services: Services, project_id: str) -> StreamingResponse:
    """SSE of a started generation; it runs to the end even if the client disconnects."""

    async def events() -> AsyncIterator[str]:
        async for event in services.generations.follow(project_id):
            yield f"event: {event.type}\ndata: {event.model_dump_json(exclude_none=True)}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.post("/api/generate", tags=["generation"])
async def generate_project(body: GenerateRequest, actor: CurrentActor) -> StreamingResponse:
    """Make a new project (yours) from a prompt, then run, check and repair it. Server-sent events (see above)."""
    if body.agent:
        raise InvalidInput("Agent mode changes an app that exists: build it first, then ask the agent for a change.")
    services = await get_services()
    images = body.checked_images()
    project_id = await services.generations.create_from_prompt(
        body.prompt, body.provider, body.model, verify=body.verify, images=images, owner=actor.user_id
    )
    return event_stream(services, project_id)


@router.post("/api/projects/{project_id}/generate", tags=["generation"])
async def generate_follow_up(project_id: str, body: GenerateRequest, actor: Editor) -> StreamingResponse:
    """Apply a follow-up prompt to a project as a new version, checked and repaired; events as for /api/generate.

    409 while the project has a generation running (started here, in the UI or by the CLI).
    """
    services = await get_services()
    images = body.checked_images()
    await services.generations.start(
        project_id,
        body.prompt,
        body.provider,
        body.model,
        verify=body.verify,
        images=images,
        user_id=actor.user_id,
        agent=body.agent,
        approved_tools=frozenset(body.approved_tools),
    )
    return event_stream(services, project_id)


@router.post("/api/projects/{project_id}/repair", tags=["generation"])
async def repair_project(project_id: str, body: RepairRequest, actor: Editor) -> StreamingResponse:
    """ "Fix this": one repair round for the problems the last check found, then a new check; events as above."""
    services = await get_services()
    await services.generations.repair(project_id, body.provider, body.model, user_id=actor.user_id)
    return event_stream(services, project_id)


@router.get("/api/projects/{project_id}/generate", tags=["generation"])
async def follow_generation(project_id: str, _: Viewer) -> StreamingResponse:
    """The running (or last) generation's events from its first, as above, wherever it runs (with several workers, on
    any of them); an empty stream when none ran lately."""
    return event_stream(await get_services(), project_id)


@router.post("/api/projects/{project_id}/generate/stop", tags=["generation"])
async def stop_generation(project_id: str, _: Editor) -> Stopped:
    """Stop the project's running generation, its checks and repairs; what was saved so far is kept."""
    services = await get_services()
    await services.projects.get(project_id)
    return Stopped(stopped=await services.generations.stop(project_id))


@router.get("/api/projects/{project_id}/generations", tags=["generation"])
async def list_generations(project_id: str, _: Viewer) -> list[GenerationInfo]:
    """Every generation of the project (repair rounds too): prompt, provider, model, tokens, cost estimate, outcome."""
    return await (await get_services()).generations.records(project_id)


@router.get("/api/projects/{project_id}/usage", tags=["generation"])
async def project_usage(project_id: str, _: Viewer) -> Usage:
    """Tokens and estimated cost of all the project's generations together."""
    return await (await get_services()).generations.usage(project_id)
