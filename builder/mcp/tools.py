"""Forja's main actions as MCP tools, each a thin call into a `Backend` (builder.client.backend) as one person.

The stdio server (builder.cli.mcp) gives the tools the CLI's own backend, so its actor, roles and --server work as for
every CLI command; the HTTP endpoint (builder.api.mcp) gives them the person its request's token names. Either way the
same service layer answers, with the same roles, quotas and sandboxes, and a refusal comes back as the tool's error in
Forja's own sentence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field

from builder.client.backend import Backend, GenerateRequest
from builder.errors import ForjaError, GenerationError, InvalidInput
from builder.generation.engine import GenerationEvent
from builder.schemas import valid_prompt
from builder.services.shares import parse_expires

# How the tools reach Forja for one call: a backend acting as the caller.
Opener = Callable[[Context], AbstractAsyncContextManager[Backend]]

INSTRUCTIONS = (
    "Forja builds and runs web apps from prompts. Make one with `generate` (or change one with its project_id; or "
    "`plan` it first, answer any questions the plan asks with `answer_plan`, and build it with its plan_id; an agent "
    "run's questions are answered with `answer_agent`), read "
    "and write its files (each write is a new version), run it with `start_preview` and read `preview_logs`, then "
    "`share` a link or `publish` it at an address of its own."
)
MAX_LOG_LINES = 2000

ProjectId = Annotated[str, Field(description="The project's id (from list_projects or generate).")]
Version = Annotated[int | None, Field(default=None, ge=1, description="A version number; default: the current one.")]


class Generated(BaseModel):
    project_id: str
    version: int | None
    title: str | None
    summary: str | None
    message: str = Field(description="What Forja said at the end (a check's outcome, a repair), if anything.")
    files: list[str]
    check: dict[str, Any] | None = Field(
        description="The check in a real browser: status, problems, attempts and the acceptance checks (`.forja/checks/`)."
    )
    steps: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Agent mode: each step done (number, tool, label, ok, detail, screenshot, duration_s).",
    )
    generation_id: int | None = Field(
        default=None, description="Agent mode: the run's id; with Approve changes on, its change waits (`version` null)."
    )
    questions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Agent mode: the questions the run asked the person (with `options` to choose from, unless "
        "`other`), waiting for `answer_agent` with its generation_id.",
    )


async def _finished(backend: Backend, request: GenerateRequest, ctx: Context, steps: list[dict[str, Any]]) -> GenerationEvent:
    """The generation's done event, telling the client each step as progress, and adding agent mode's steps to `steps`;
    its error event's sentence as an error."""
    final: GenerationEvent | None = None
    step = 0
    async for event in backend.generate(request):
        if event.type in ("status", "verification", "step") and event.message:
            step += 1
            await ctx.report_progress(step, message=event.message)
        if event.type == "step" and event.step is not None:
            steps.append(event.step)
        elif event.type in ("done", "error"):
            final = event
    if final is None or final.type == "error":
        raise GenerationError(final.message if final else "The generation ended without an answer.")
    return final


class ForjaServer(MCPServer):
    """The MCP server with Forja's tools; `opener` gives each call its backend."""

    def __init__(self, opener: Opener) -> None:
        super().__init__("forja", instructions=INSTRUCTIONS)
        self.opener = opener
        for tool in TOOLS:
            self.add_tool(tool, annotations=ToolAnnotations(read_only_hint=tool in READ_ONLY))


@asynccontextmanager
async def forja(ctx: Context) -> AsyncIterator[Backend]:
    """The call's backend; a refusal (ForjaError) becomes the tool's error, in Forja's sentence."""
    server = ctx.mcp_server
    assert isinstance(server, ForjaServer)
    try:
        async with server.opener(ctx) as backend:
            yield backend
    except ForjaError as exc:
        raise ToolError(exc.message) from None


async def list_projects(ctx: Context) -> list[dict[str, Any]]:
    """The projects you have a role in: id, name, current version, stack and file count."""
    async with forja(ctx) as backend:
        return [project.model_dump(mode="json") for project in await backend.projects()]


async def generate(
    prompt: Annotated[str, Field(description="What to build, or what to change in the project.")],
    ctx: Context,
    project_id: Annotated[str | None, Field(description="A project to follow up on; none makes a new one.")] = None,
    check: Annotated[bool, Field(description="Run the new version in a browser, check it and repair it.")] = True,
    agent: Annotated[
        bool,
        Field(
            description="Agent mode (with project_id): the model works in steps with tools (read, edit, run a command, "
            "open a page), listed in `steps`; with the project's Approve changes on, the change waits for a person."
        ),
    ] = False,
    plan_id: Annotated[
        str | None, Field(description="Build this plan (from `plan`) instead; the prompt is then only a note.")
    ] = None,
) -> Generated:
    """Make a new project from a prompt, or change one; answers when the version is saved (and checked)."""
    async with forja(ctx) as backend:
        valid_prompt(prompt)
        if agent and project_id is None:
            raise InvalidInput("Agent mode changes an app that exists: give its project_id.")
        request = GenerateRequest(
            prompt=prompt, project=project_id, provider=None, model=None, verify=check, agent=agent, plan=plan_id
        )
        return await _generated(backend, request, ctx)


async def _generated(backend: Backend, request: GenerateRequest, ctx: Context) -> Generated:
    steps: list[dict[str, Any]] = []
    final = await _finished(backend, request, ctx, steps)
    verification = final.verification
    return Generated(
        project_id=final.project_id,
        version=final.version,
        title=final.title,
        summary=final.summary,
        message=final.message,
        files=[f.path for f in await backend.files(final.project_id, None)],
        check={key: verification.get(key) for key in ("status", "problems", "attempts", "acceptance")} if verification else None,
        steps=steps,
        generation_id=final.generation_id,
        questions=final.questions or [],
    )


async def list_files(project_id: ProjectId, ctx: Context, version: Version = None) -> list[dict[str, Any]]:
    """The project's files (path and size) in a version."""
    async with forja(ctx) as backend:
        return [file.model_dump(mode="json") for file in await backend.files(project_id, version)]


async def read_file(project_id: ProjectId, path: str, ctx: Context, version: Version = None) -> dict[str, Any]:
    """One file: UTF-8 text as it is, any other file in base64 (see `encoding`)."""
    async with forja(ctx) as backend:
        return (await backend.read_file(project_id, path, version)).model_dump(mode="json")


async def write_file(
    project_id: ProjectId,
    path: str,
    content: Annotated[str, Field(description="The file's whole new text.")],
    ctx: Context,
    message: Annotated[str, Field(description="What the change is, for the project's history.")] = "",
) -> dict[str, Any]:
    """Save one text file: the project gets a new version (unless nothing changed); answers that version."""
    async with forja(ctx) as backend:
        return (await backend.write_file(project_id, path, content, message)).model_dump(mode="json")


async def start_preview(
    project_id: ProjectId,
    ctx: Context,
    wait: Annotated[bool, Field(description="Answer once the app answers at its URL (or failed, with why).")] = True,
    runner: Literal["auto", "swarm", "docker", "local"] = "auto",
) -> dict[str, Any]:
    """Run the project's current version in its sandbox (or keep the one running); answers its URL and status."""
    async with forja(ctx) as backend:
        return (await backend.preview(project_id, runner, wait)).model_dump(mode="json")


async def preview_status(project_id: ProjectId, ctx: Context) -> dict[str, Any]:
    """The project's preview: its URL, runner, status (starting, running, failed...) and version."""
    async with forja(ctx) as backend:
        return (await backend.preview_status(project_id)).model_dump(mode="json")


async def preview_logs(
    project_id: ProjectId,
    ctx: Context,
    lines: Annotated[int, Field(ge=1, le=MAX_LOG_LINES, description="How many of the last lines.")] = 50,
) -> str:
    """The last lines of the project's log: install, dev server and the app's own output."""
    async with forja(ctx) as backend:
        return "\n".join(line.text for line in await backend.log_tail(project_id, lines))


async def share(
    project_id: ProjectId,
    ctx: Context,
    version: Version = None,
    expires: Annotated[str | None, Field(description="How long the link works: 7d, 24h, 90m or never; default: Forja's.")] = None,
) -> dict[str, Any]:
    """A link anyone can open to see a version's preview, without an account."""
    async with forja(ctx) as backend:
        try:
            lifetime = parse_expires(expires)
        except ValueError as exc:
            raise ToolError(str(exc)) from None
        return (await backend.share(project_id, version, lifetime)).model_dump(mode="json")


async def publish(
    project_id: ProjectId,
    ctx: Context,
    version: Version = None,
    name: Annotated[str | None, Field(description="The app's name, the first label of its address.")] = None,
) -> dict[str, Any]:
    """Build a version for production and serve it at the app's own address; answers once it is live."""
    async with forja(ctx) as backend:
        return (await backend.publish(project_id, version, name)).model_dump(mode="json")


async def list_releases(project_id: ProjectId, ctx: Context) -> list[dict[str, Any]]:
    """Every publish of the project, newest first: version, state, figures and error."""
    async with forja(ctx) as backend:
        return [release.model_dump(mode="json") for release in await backend.releases(project_id)]


async def plan(
    prompt: Annotated[str, Field(description="What to build, or what to change in the project.")],
    ctx: Context,
    project_id: Annotated[str | None, Field(description="Plan a change to this project; none plans a new app.")] = None,
) -> dict[str, Any]:
    """Propose a plan (pages, data, acceptance checks) and build nothing. The planner may ask first: then `status` is
    "asking" and `questions` (with `options` to choose from, unless `other`) wait for `answer_plan`."""
    async with forja(ctx) as backend:
        valid_prompt(prompt)
        return (await backend.propose_plan(prompt, project_id, None, None)).model_dump(mode="json")


async def answer_plan(
    plan_id: Annotated[str, Field(description="The plan that asks (from `plan`).")],
    answers: Annotated[list[str], Field(description="One answer per question, in their order.")],
    ctx: Context,
) -> dict[str, Any]:
    """Answer the questions a plan asks; answers the plan drafted with them. Build it with generate's plan_id."""
    async with forja(ctx) as backend:
        return (await backend.answer_plan(plan_id, answers, None, None)).model_dump(mode="json")


async def answer_agent(
    project_id: ProjectId,
    generation_id: Annotated[int, Field(description="The agent run that asked (`generation_id` from generate).")],
    answers: Annotated[list[str], Field(description="One answer per question, in their order.")],
    ctx: Context,
    check: Annotated[bool, Field(description="Run the new version in a browser, check it and repair it.")] = True,
) -> Generated:
    """Answer the questions an agent run asked; a new agent run goes on with the task and the answers, and this
    answers when it is saved (and checked), as generate does."""
    async with forja(ctx) as backend:
        request = GenerateRequest(
            prompt="",
            project=project_id,
            provider=None,
            model=None,
            verify=check,
            agent=True,
            answers_to=generation_id,
            answers=answers,
        )
        return await _generated(backend, request, ctx)


async def ask_project(
    project_id: ProjectId,
    question: Annotated[str, Field(description="A question about the project, e.g. 'where is the price computed?'.")],
    ctx: Context,
) -> dict[str, Any]:
    """Answer a question about the project from its files, with the places (file and line) it relies on; changes
    nothing (offline, it lists the lines with the question's words)."""
    async with forja(ctx) as backend:
        valid_prompt(question)
        return (await backend.ask(project_id, question, None, None)).model_dump(mode="json")


TOOLS = (
    list_projects,
    generate,
    plan,
    answer_plan,
    answer_agent,
    ask_project,
    list_files,
    read_file,
    write_file,
    start_preview,
    preview_status,
    preview_logs,
    share,
    publish,
    list_releases,
)
READ_ONLY = {list_projects, list_files, read_file, preview_status, preview_logs, list_releases}
