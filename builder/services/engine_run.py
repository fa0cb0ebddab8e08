"""A round by an external coding agent (OpenCode or Codex) instead of Forja's own model: the project's engine setting.

The agent works on a copy of the current version's files in the project's sandbox (the local runner's, with its
limits; preview_runtime/local/engine_run.py), with the person's request as its message, and reaches the model Forja's
own round would use (Claude or an OpenAI-compatible one for OpenCode, an OpenAI-compatible one for Codex, which speaks
OpenAI's Responses API only) through a relay that adds the key
(preview_runtime/engines/relay.py): the key never enters the sandbox. Each line of its transcript goes into the
project's log as it comes. What it changed is saved as one version (CheckedGeneration then checks and repairs it as any
round's); nothing when it fails.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

from builder.errors import BudgetExceeded, ForjaError, GenerationError, QuotaExceeded
from builder.generation.budget import Allowance, check_spend, largest_relayed
from builder.generation.engine import GenerationEvent, Saver
from builder.generation.guard import redact
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import UsageReport
from builder.generation.providers.choice import connections, default_provider
from builder.generation.providers.stored import Connection
from builder.models import Author
from builder.services.preview_hub import PreviewHub
from builder.services.preview_runners import translated
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.engines.agents import AGENTS, Agent
from preview_runtime.engines.relay import RELAY_HOST, ModelRelay, Protocol
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.runner import EngineJob, EngineOutcome

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"  # an OpenAI connection with no base URL of its own
ANTHROPIC_URL = "https://api.anthropic.com"  # a Claude connection with no base URL of its own
NO_MODEL = (
    "{agent} works with a connected model, {models}, and this project uses none: pick one for it, ask an admin to "
    "connect one, or pick Forja as the project's engine."
)
_MODELS = {("anthropic", "openai"): "Claude or an OpenAI-compatible one", ("openai",): "an OpenAI-compatible one"}
NOT_INSTALLED = "{agent} is not installed on this Forja (an admin's setup installs it): pick Forja as the project's engine."
ONLY_OPENAI = (
    "{agent} works only with an OpenAI-compatible model, and this project uses Claude: pick an OpenAI-compatible "
    "model for it, or pick Forja or OpenCode as the project's engine."
)


def agent_of(engine: str) -> Agent:
    """The coding agent of a project's engine setting (one of AGENTS': schemas.Engine names them)."""
    return AGENTS[engine]


def installed(agent: Agent) -> Path | None:
    """The agent's binary as setup installed it, or None."""
    return agent.binary(settings.engines_dir / agent.folder)


async def chosen_connection(provider: str | None, model: str | None) -> Connection | None:
    """The connection an agent's round uses: the one Forja's own round would (the provider asked for, else the
    default one), with the model asked for; None for the offline starters or a provider not connected."""
    connection = (await connections()).get(provider or await default_provider())
    return None if connection is None else replace(connection, model=model or connection.model)


def upstream(connection: Connection) -> tuple[Protocol, str]:
    """The protocol the connection's model speaks and the base URL its API's paths (`/messages`,
    `/chat/completions`) follow: a Claude connection's address is kept without `/v1`, as Anthropic's SDK takes it."""
    if connection.kind == "anthropic":
        return "anthropic", (connection.base_url or ANTHROPIC_URL).rstrip("/") + "/v1"
    return "openai", connection.base_url or OPENAI_URL


async def model_note(engine: str, provider: str | None) -> str:
    """For the engine picker: the sentence saying the project's engine cannot be driven by the model it uses (Codex
    and Claude), else ""."""
    agent = AGENTS.get(engine)
    connection = None if agent is None else await chosen_connection(provider, None)
    if agent is None or connection is None or upstream(connection)[0] in agent.protocols:
        return ""
    return ONLY_OPENAI.format(agent=agent.name)


async def refusal(agent: Agent, connection: Connection | None, current_version: int | None, prompt: str) -> str:
    """Why `agent` cannot take this request with `connection` (chosen_connection's), in words; "" when it can. Asked
    before a generation starts too, so the person's request stays in the box with the sentence."""
    if connection is None:
        return NO_MODEL.format(agent=agent.name, models=_MODELS[agent.protocols])
    if upstream(connection)[0] not in agent.protocols:
        return ONLY_OPENAI.format(agent=agent.name)
    if installed(agent) is None:
        return NOT_INSTALLED.format(agent=agent.name)
    if not current_version:
        return f"{agent.name} changes an app that exists: build it first, then ask."
    if not prompt:
        return "Describe what you want first: the request was empty."
    return ""


def _redacted(data: bytes) -> bytes:
    """A file the agent wrote, with any of Forja's keys (or a key's shape) it holds removed, as Forja's own agent's
    writes are; a file that is not text as it is."""
    try:
        return redact(data.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return data


def changes(before: dict[str, bytes], after: dict[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """What the agent wrote (new or different files, redacted) and deleted, from the files before and after its run."""
    writes = {path: _redacted(data) for path, data in after.items() if before.get(path) != data}
    return writes, sorted(path for path in before if path not in after)


class ExternalEngineRun:
    """One coding agent's round (the project's `engine`) against one project, reporting through `emit`; `run`
    returns the final event unsent."""

    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        save: Saver,
        hub: PreviewHub,
        project_id: str,
        prompt: str,
        emit: Callable[[GenerationEvent], None],
        *,
        stale_before: datetime,
        engine: str,
        user_id: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        allowance: Allowance | None = None,
    ) -> None:
        self._store = store
        self._logs = logs
        self._save = save
        self._hub = hub
        self.project_id = project_id
        self.prompt = prompt
        self.emit_event = emit
        self.stale_before = stale_before
        self.agent = agent_of(engine)
        self.user_id = user_id
        self.provider, self.model = provider, model  # as asked for the round; the project's when None
        self.said: list[str] = []  # what the agent said to the person, in order: the last is its summary
        self.usage = UsageReport()  # its model's tokens, as it counts them
        self.allowance = allowance  # the person's daily model quotas, None when they have none

    def log(self, text: str, level: LogLevel = LogLevel.info) -> None:
        self._logs.emit(self.project_id, text, level, source="agent")

    async def run(self) -> GenerationEvent:
        started = time.monotonic()
        program = installed(self.agent)
        prompt = redact(self.prompt.strip())
        project = await self._store.get_project(self.project_id)
        connection = await chosen_connection(self.provider or project.provider or None, self.model or project.model or None)
        why = await refusal(self.agent, connection, project.current_version, prompt)
        if why or connection is None or program is None:
            return self._error(why or NOT_INSTALLED.format(agent=self.agent.name))
        try:
            record = await self._store.start_generation(
                self.project_id, prompt, connection.kind, connection.model, self.stale_before, "prompt", (), self.user_id
            )
        except GenerationError as exc:
            return self._error(str(exc))
        name = self.agent.name
        self.log(f"{name} ({connection.model}) works on the project: {prompt[:200]}")
        self.emit_event(GenerationEvent(type="status", project_id=self.project_id, message=f"{name} is working..."))
        before = await self._store.read_tree(self.project_id)
        try:
            outcome = await self._outcome(connection, program, before, prompt)
            event = await self._end(record, connection, before, outcome, started)
        except asyncio.CancelledError:
            await asyncio.shield(self._store.finish_generation(record, outcome="stopped", error="Stopped by the person."))
            raise
        except ForjaError as exc:
            await self._store.finish_generation(
                record, outcome="failed", error=str(exc), duration_s=round(time.monotonic() - started, 3)
            )
            self.log(f"{name}'s run failed: {exc}", LogLevel.error)
            return self._error(str(exc))
        return event

    async def _outcome(self, connection: Connection, program: Path, before: dict[str, bytes], prompt: str) -> EngineOutcome:
        manager = await self._hub.manager()
        runner = manager.runners.get("local")
        if runner is None:
            raise GenerationError(
                f"{self.agent.name} runs in the sandbox of this machine's previews, which this Forja does not use: pick Forja as the project's engine."
            )
        protocol, base_url = upstream(connection)
        admit = partial(self._admit, connection.model)
        async with ModelRelay(base_url, connection.api_key, protocol, admit=admit) as relay:
            args, env = self.agent.invocation(program, prompt, protocol, relay.inside_url, connection.model, relay.token)
            job = EngineJob(
                program=str(program),
                args=args[1:],
                env=env,
                relay_host=RELAY_HOST,
                relay_port=relay.port,
                timeout_s=settings.generation_timeout_s,
            )
            outcome = await translated(runner.run_engine(self.project_id, before, job, self._heard))
        if relay.refused:  # the agent was cut off mid-work: what it wrote until then is not a change to keep
            raise GenerationError(f"{relay.refused} {self.agent.name} stopped there, and nothing was saved.")
        return outcome

    async def _admit(self, model: str, body: bytes) -> str | None:
        """Before each of the agent's requests, as before each of Forja's own: the budgets and the person's quota, the
        request known by its size and the output it asks for (budget.largest_relayed), against what the agent said
        it used so far. A sentence refuses it."""
        try:
            await check_spend(self._store, self.project_id, model, largest_relayed(body), self.usage, self.allowance)
        except (BudgetExceeded, QuotaExceeded) as exc:
            return str(exc)
        return None

    def _heard(self, line: str) -> None:
        """One line of the agent's output: what it says into the project's log (keys it may repeat redacted)."""
        if (said := self.agent.transcript_line(line)) is not None:
            self.log(redact(said))
        if (text := self.agent.said_text(line)) is not None:
            self.said.append(redact(text))
        if (tokens := self.agent.step_tokens(line)) is not None:
            self.usage.add(UsageReport(*tokens))

    async def _end(
        self, record: int, connection: Connection, before: dict[str, bytes], outcome: EngineOutcome, started: float
    ) -> GenerationEvent:
        if outcome.exit_code != 0:
            ended = "was stopped at its time limit" if outcome.exit_code is None else f"ended with code {outcome.exit_code}"
            raise GenerationError(f"{self.agent.name} {ended}, so nothing was saved; its transcript is in the log.")
        writes, deletes = changes(before, outcome.files)
        summary = self.said[-1] if self.said else f"{self.agent.name}'s change"
        if not writes and not deletes:
            raise GenerationError(
                f"{self.agent.name} finished without changing any file, so nothing was saved. It said: {summary}"
            )
        result = await self._save(self.project_id, writes, deletes, message=summary[:500], author=Author.ai)
        cost = estimate_cost(connection.model, self.usage)
        await self._store.finish_generation(
            record,
            outcome="saved",
            summary=summary,
            version_id=result.version.id,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cache_read_tokens=self.usage.cache_read_tokens,
            cache_write_tokens=self.usage.cache_write_tokens,
            cost_usd=cost or 0.0,
            cost_known=cost is not None,
            duration_s=round(time.monotonic() - started, 3),
        )
        self.log(
            f"{self.agent.name}'s run saved as version {result.version.number} ({len(writes) + len(deletes)} files changed)."
        )
        self.emit_event(GenerationEvent(type="summary", project_id=self.project_id, summary=summary))
        return GenerationEvent(
            type="done",
            project_id=self.project_id,
            summary=summary,
            version=result.version.number,
            files_done=len(result.changed),
            generation_id=record,
            usage={
                "provider": connection.kind,
                "model": connection.model,
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
                "cache_read_tokens": self.usage.cache_read_tokens,
                "cache_write_tokens": self.usage.cache_write_tokens,
                "cost_usd": cost,
            },
        )

    def _error(self, message: str) -> GenerationEvent:
        return GenerationEvent(type="error", project_id=self.project_id, message=message)
