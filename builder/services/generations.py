"""Generations: start one (at most one per project), follow its events, list past ones.

The UI, the HTTP API and the CLI all start generations here. Two guards keep a project to one
running generation: the hub's, for this process, and the database's (a Generation record with
outcome "running"), for the CLI and any other process on the same database. A record left
running by a process that died is marked interrupted once it is older than the longest a
generation may run (settings.generation_timeout_s), so it cannot block its project for ever.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

from builder.attachments import Picture, check_count
from builder.errors import GenerationBusy, InvalidInput, ProviderError
from builder.generation import prompts
from builder.generation.budget import check_budget
from builder.generation.engine import GenerationEvent
from builder.generation.hub import GenerationHub, Publish
from builder.generation.providers.base import Message, ModelRequest, UsageReport
from builder.generation.providers.choice import get_provider
from builder.monitoring.families import GENERATIONS_FINISHED, GENERATIONS_STARTED
from builder.schemas import GenerationInfo, Usage
from builder.services.access import Actor
from builder.services.agent_run import OFFLINE_REFUSAL
from builder.services.agent_workspace import AgentWorkspace, WorkingFiles
from builder.services.checked_generation import CheckedGeneration, Request
from builder.services.engine_run import ExternalEngineRun, agent_of, chosen_connection
from builder.services.engine_run import refusal as engine_refusal
from builder.services.preview_drafts import PreviewDrafts
from builder.services.preview_hub import PreviewHub
from builder.services.previews import PreviewService
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from builder.services.verification import VerificationService
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub

log = logging.getLogger(__name__)

ABANDONED = "Forja stopped while this generation was running."
# Time to record how a generation ended after its timeout.
_STALE_MARGIN = timedelta(minutes=1)


def project_name_from_prompt(prompt: str) -> str:
    """A placeholder name until the model gives its title."""
    words = prompt.split()
    return " ".join(words[:6]) + ("..." if len(words) > 6 else "") if words else "New app"


def stale_before() -> datetime:
    """Running records created before this are from a process that died."""
    return datetime.now(UTC) - timedelta(seconds=settings.generation_timeout_s) - _STALE_MARGIN


class GenerationService:
    def __init__(
        self,
        store: ProjectStore,
        projects: ProjectService,
        previews: PreviewService,
        logs: LogHub,
        verifications: VerificationService,
        quotas: QuotaService,
        hub: GenerationHub,
        drafts: PreviewDrafts,
        working_files: WorkingFiles,
        preview_hub: PreviewHub,
    ) -> None:
        self._drafts = drafts
        self._preview_hub = preview_hub
        self._working_files = working_files
        self._store = store
        self._quotas = quotas
        self._projects = projects
        self._previews = previews
        self._logs = logs
        self._verifications = verifications
        self._hub = hub

    async def running(self, project_id: str) -> bool:
        """Whether a generation of the project runs (here, or in another worker sharing this one's Redis): the page
        follows it then."""
        return await self._hub.running(project_id)

    async def start(
        self,
        project_id: str,
        prompt: str,
        provider: str | None = None,
        model: str | None = None,
        *,
        discard_if_failed: bool = False,
        verify: bool | None = None,
        for_model: str | None = None,
        images: list[Picture] | None = None,
        user_id: str | None = None,
        plan_id: str | None = None,
        agent: bool = False,
        repair_rounds: int | None = None,
        approved_tools: frozenset[str] = frozenset(),
        answered: bool = False,
    ) -> None:
        """Start a generation (`user_id` asked for it) in the background; `follow` gives its events. `for_model`: what the model reads
        instead of `prompt` (the prompt with more context); the prompt is what is recorded and shown.

        `images` are pictures the person attached, checked already (builder.attachments.check_pictures);
        they go to the model with the prompt when it takes pictures, else the first event says so.
        `plan_id`: the plan (builder.services.plans) this generation builds; it is marked built with the saved version.
        `agent`: Agent mode (builder/services/agent_run.py), for a project with a version; with the project's Approve
        changes setting its change waits for a person (`accept`, `reject`). `approved_tools`: the teams' MCP tools that
        may change things outside Forja which the person let it use (builder/services/mcp_tools.py). It may ask the
        person questions, unless `answered` (it goes on after their answers: builder/services/agent.py's `answer`).

        Unless `verify` is False (default: settings.verify_generations) the saved version is then
        run, checked in a browser and repaired (see services.checked_generation) before the generation ends.
        NotFound, ProviderError and GenerationBusy come at once. Problems found once it runs (a
        blank prompt, the model's answer) end it with an error event instead.
        """
        request = Request(
            project_id,
            prompt,
            provider,
            model,
            discard_if_failed=discard_if_failed,
            verify=settings.verify_generations if verify is None else verify,
            for_model=for_model,
            images=list(images or []),
            user_id=user_id,
            plan_id=plan_id,
            agent=agent,
            repair_rounds=repair_rounds,
            approved_tools=approved_tools,
            answered=answered,
        )
        await self._start(request)

    async def repair(
        self, project_id: str, provider: str | None = None, model: str | None = None, *, user_id: str | None = None
    ) -> None:
        """ "Fix this": one repair round for the problems the project's last check found, then a new check."""
        await self._start(Request(project_id, "", provider, model, repair_only=True, user_id=user_id))

    async def _start(self, request: Request) -> None:
        check_count(len(request.images))
        project = await self._projects.get(request.project_id)
        request.allowance = await self._quotas.allowance(request.user_id)
        provider = await get_provider(request.provider or project.provider or None, request.model or project.model or None)
        if request.agent:
            if provider.name == "offline":
                raise ProviderError(OFFLINE_REFUSAL)
            if not project.current_version:
                raise InvalidInput("Agent mode changes an app that exists: build it first, then ask the agent.")
            request.approve = project.approve_changes
        request.engine = project.engine
        if project.engine != "forja" and not request.repair_only:
            connection = await chosen_connection(provider.name, provider.model)
            why = await engine_refusal(agent_of(project.engine), connection, project.current_version, request.prompt.strip())
            if why:
                raise ProviderError(why)
        if provider.name != "offline":
            # Refused here, the caller gets the budget's sentence as a 402 rather than as a generation that fails.
            first = ModelRequest(
                system=prompts.system_prompt(),
                messages=[Message("user", request.prompt, request.images)],
                max_tokens=settings.max_output_tokens,
            )
            await check_budget(self._store, request.project_id, provider.model, first, UsageReport(), request.allowance)
        if await self._hub.running(request.project_id):
            raise GenerationBusy("This project is already being generated; wait for it to finish.")
        if await self._store.generation_running(request.project_id, stale_before()):
            if not self._hub.shared:
                # Another process on the same database (a CLI command) runs it.
                raise GenerationBusy("This project is already being generated; wait for it to finish.")
            # With several workers the leases say what runs: a record without one is from a worker that died.
            await self._store.interrupt_running({request.project_id}, ABANDONED)

        async def run(publish: Publish) -> GenerationEvent:
            # The store checks again while recording the start: another process may have begun since.
            checked = CheckedGeneration(
                self._store,
                self._logs,
                self._projects.save,
                self._previews,
                self._verifications,
                request,
                stale_before,
                workspace=partial(self._workspace, request.project_id),
                external=partial(self._external, request),
            )
            GENERATIONS_STARTED.inc()
            last = await checked.run(publish)  # it ends every way with its done or error event, stopped too
            GENERATIONS_FINISHED.labels("done" if last.type == "done" else "error").inc()
            return last

        await self._hub.start(request.project_id, run)

    def _external(self, request: Request, publish: Publish, prompt: str) -> ExternalEngineRun:
        return ExternalEngineRun(
            self._store,
            self._logs,
            self._projects.save,
            self._preview_hub,
            request.project_id,
            prompt,
            publish,
            stale_before=stale_before(),
            engine=request.engine,
            user_id=request.user_id,
            provider=request.provider,
            model=request.model,
            allowance=request.allowance,
        )

    def _workspace(self, project_id: str, base: dict[str, bytes]) -> AgentWorkspace:
        return AgentWorkspace(project_id, base, self._drafts, self._verifications, self._logs, self._working_files)

    async def stop(self, project_id: str) -> bool:
        """Stop the project's running generation (and its checks and repairs); False when none runs here."""
        return await self._hub.cancel(project_id)

    async def usage(self, project_id: str) -> Usage:
        """Tokens and estimated cost of every generation of the project, repair rounds included."""
        await self._projects.get(project_id)
        return await self._store.usage(project_id)

    async def create_from_prompt(
        self,
        prompt: str,
        provider: str | None = None,
        model: str | None = None,
        *,
        discard_if_failed: bool = True,
        verify: bool | None = None,
        images: list[Picture] | None = None,
        owner: str,
        repair_rounds: int | None = None,
    ) -> str:
        """A new project (`owner`'s), named after the prompt until the model titles it, with its first generation started.

        With `discard_if_failed` (the API and the CLI) a failed first generation leaves no project
        behind; the UI keeps it, open in its workspace, so the person can try again there.
        """
        await get_provider(provider, model)
        project_id = await self._projects.create_empty(project_name_from_prompt(prompt), owner=owner)
        try:
            await self.start(
                project_id,
                prompt,
                provider,
                model,
                discard_if_failed=discard_if_failed,
                verify=verify,
                images=images,
                user_id=owner,
                repair_rounds=repair_rounds,
            )
        except BaseException:
            await self._store.discard_if_empty(project_id)
            raise
        return project_id

    def follow(self, project_id: str) -> AsyncIterator[GenerationEvent]:
        """The running (or last) generation's events from its start; ends with its done or error event."""
        return self._hub.follow(project_id)

    async def wait(self, project_id: str) -> GenerationEvent | None:
        """The last event of this process's latest generation of the project, once it ends."""
        return await self._hub.wait(project_id)

    async def records(self, project_id: str) -> list[GenerationInfo]:
        """Every generation of the project: prompt, provider, model, tokens, cost, duration, outcome."""
        return await self._store.list_generations(project_id)

    async def interrupt_abandoned(self) -> int:
        """Generations recorded as running that no worker runs any more end as interrupted, and a project such a
        generation left with no version is removed. Returns how many were interrupted.

        At a lone server's start every running record is from the process before it (the timeout rule below would wait
        up to generation_timeout_s to say so). With several workers on one Redis, a record whose project has no live
        lease is from a worker that died; the leader looks for those every few seconds. Without Redis only the server
        calls it, at its start: a CLI command may run a generation beside it on the same database.
        """
        recorded = await self._store.running_generation_projects()
        abandoned = {project_id for project_id in recorded if not await self._hub.running(project_id)}
        count, removed = await self._store.interrupt_running(abandoned, ABANDONED)
        if count:
            log.warning("marked %d generation(s) that no Forja runs any more as interrupted", count)
        if removed:
            log.info("removed %d empty project(s) whose first generation was interrupted: %s", len(removed), ", ".join(removed))
        return count

    async def interrupt_stale(self) -> int:
        """Mark as interrupted the running records of processes that died; returns how many."""
        count = await self._store.interrupt_generations(stale_before())
        if count:
            log.warning("marked %d generation(s) left running by a stopped Forja as interrupted", count)
        return count

    async def picture(self, digest: str, viewer: Actor) -> Picture:
        """A picture a person sent with a prompt, by the hash GenerationInfo.pictures lists, if `viewer` may see one of
        the projects it went to."""
        return await self._store.picture(digest, viewer.member_filter)
