"""One agent-mode round: the model works on a draft of the project in steps with tools, then the draft is saved as
ONE version (or, with the project's Approve changes setting, waits for a person to accept it).

Each step is a tool call (builder/generation/agent_tools.py, done by builder/services/agent_workspace.py), published
as a `step` event and kept with the generation record, so the conversation lists them while the run goes and after.
Bounds: settings.agent_max_steps steps, the budgets and quotas before every model request (as for any generation),
and settings.generation_timeout_s for the whole round. Stop cancels it: nothing is saved and the preview's working
copy goes back to the saved version. One run at a time per project, across workers, as for every generation (the
generation hub's lease and the store's running record).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from builder.attachments import Picture, vision_refusal
from builder.errors import FileTreeError, GenerationError, NotFound, ProviderError, QuotaExceeded, TransientProviderError
from builder.generation import prompts
from builder.generation.agent_tools import AGENT_TOOLS, ASKING_TOOLS, Ask, Finish, ToolInputError, parse_input
from builder.generation.budget import Allowance, check_budget
from builder.generation.engine import GenerationEvent, Saver, usage_dict
from builder.generation.guard import redact
from builder.generation.hidden import HiddenValues
from builder.generation.plan_questions import PlanQuestion, stored
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import (
    Finished,
    Message,
    ModelRequest,
    Provider,
    TextDelta,
    ToolCall,
    ToolDelta,
    ToolResult,
    ToolStart,
    UsageReport,
)
from builder.generation.providers.choice import get_provider
from builder.models import Author
from builder.schemas import AgentStep, PendingChange
from builder.services.agent_workspace import AgentWorkspace
from builder.services.mcp_tools import McpToolbox
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)

OFFLINE_REFUSAL = (
    "Agent mode needs a model that can use tools: connect Claude or an OpenAI-compatible server (the offline starters "
    "cannot). Build or Plan first work offline."
)
AWAITING = "Waiting for your approval: look at the change, then accept it to save it as a version, or reject it."
ASKED = "The agent has questions before it goes on: answer them, and a new run continues the work with your answers."
NOT_NOW = "You cannot ask in this run (you asked once already, or no one is there to answer): decide yourself and go on."
NUDGE = "Answer with your tools: go on with the task, or call `finish` with a summary when it is done."


@dataclass
class _Answer:
    prose: str = ""
    calls: list[ToolCall] = field(default_factory=list)
    stop: str = "end_turn"


@dataclass
class AgentTiming:
    """Where a run's time went: waiting for the model, doing the tools, and Forja's own work between them."""

    model_s: float = 0.0
    tools_s: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def own_s(self) -> float:
        return max(0.0, time.monotonic() - self.started - self.model_s - self.tools_s)


class AgentRun:
    """Runs one agent round against one project, reporting through `emit`; `run` returns the final event unsent."""

    def __init__(
        self,
        store: ProjectStore,
        logs: LogHub,
        save: Saver,
        project_id: str,
        prompt: str,
        emit: Callable[[GenerationEvent], None],
        workspace: Callable[[dict[str, bytes]], AgentWorkspace],
        provider: str | None = None,
        model: str | None = None,
        *,
        stale_before: datetime,
        kind: str = "agent",
        request: str | None = None,
        round_: int = 0,
        images: list[Picture] | None = None,
        user_id: str | None = None,
        allowance: Allowance | None = None,
        approve: bool = False,
        approved_tools: frozenset[str] = frozenset(),
        may_ask: bool = False,
    ) -> None:
        self._store = store
        self._logs = logs
        self._save = save
        self._workspace = workspace
        self.project_id = project_id
        self.prompt = prompt
        self.emit_event = emit
        self.provider_name = provider
        self.model = model
        self.stale_before = stale_before
        self.kind = kind
        self.request = request
        self.round = round_
        self.images = images or []
        self.user_id = user_id
        self.allowance = allowance
        self.approve = approve
        # Teams' MCP tools that may change things outside Forja, which the person let this run use.
        self.approved_tools = approved_tools
        self._mcp = McpToolbox()
        self.may_ask = may_ask
        self.usage = UsageReport()
        self.steps: list[AgentStep] = []
        self.timing = AgentTiming()
        self.awaiting = False
        self.sees = False
        self._record = 0

    def emit(self, type_: Any, **data: Any) -> None:
        self.emit_event(GenerationEvent(type=type_, project_id=self.project_id, round=self.round, **data))

    def log(self, text: str, level: LogLevel = LogLevel.info) -> None:
        self._logs.emit(self.project_id, text, level, source="agent")

    async def run(self) -> GenerationEvent:
        try:
            project = await self._store.get_project(self.project_id)
            provider = await get_provider(self.provider_name or project.provider or None, self.model or project.model or None)
            if provider.name == "offline":
                raise GenerationError(OFFLINE_REFUSAL)
            if not project.current_version:
                raise GenerationError("Agent mode changes an app that exists: build it first, then ask the agent.")
            prompt = redact(self.prompt.strip())
            if not prompt:
                raise GenerationError("Describe what you want first: the request was empty.")
            self._record = await self._store.start_generation(
                self.project_id, prompt, provider.name, provider.model, self.stale_before, self.kind, self.images, self.user_id
            )
        except (GenerationError, ProviderError, NotFound) as exc:
            return self._error(str(exc))
        self.log(f"Agent run with {provider.name} ({provider.model}): {prompt[:200]}")
        self.emit("status", message="The agent is working..." if self.kind == "agent" else prompt)
        workspace = self._workspace(await self._store.read_tree(self.project_id))
        self._mcp = await McpToolbox.load(self._store, self.approved_tools)
        try:
            async with asyncio.timeout(settings.generation_timeout_s):
                ended = await self._steps(provider, project.versions, workspace, redact(self.request or prompt))
                return await self._end(provider, workspace, ended, project.current_version)
        except asyncio.CancelledError:
            await asyncio.shield(self._finish(provider, outcome="stopped", error="Stopped by the person."))
            self.log("Agent run stopped by the person; nothing was saved.", LogLevel.warning)
            raise
        except (GenerationError, ProviderError, FileTreeError, NotFound, QuotaExceeded, TimeoutError) as exc:
            message = (
                f"The agent run took longer than {settings.generation_timeout_s:.0f} s and was stopped; nothing was saved."
                if isinstance(exc, TimeoutError)
                else str(exc)
            )
            await self._finish(provider, outcome="failed", error=message)
            self.log(f"Agent run failed: {message}", LogLevel.error)
            return self._error(message)
        except Exception:
            log.exception("agent run %s crashed", self._record)
            message = "The agent run stopped because of an internal error. Nothing was changed; try again."
            await self._finish(provider, outcome="failed", error=message)
            return self._error(message)
        finally:
            # A change waiting for approval stays in the preview, so the person can try it before they accept it.
            if not self.awaiting:
                await asyncio.shield(workspace.restore())
            await self._mcp.aclose()

    def _error(self, message: str) -> GenerationEvent:
        return GenerationEvent(type="error", project_id=self.project_id, message=message, round=self.round)

    async def _steps(self, provider: Provider, versions: list[Any], workspace: AgentWorkspace, task: str) -> Finish | Ask:
        """The loop: ask, do each call, answer with what it gave; the `finish` (or `ask`) call that ends it."""
        # A page's screenshot goes back with its step to a model that takes pictures.
        self.sees = vision_refusal(provider.name, provider.model, provider.base_url) is None
        tree = workspace.base
        shown = prompts.relevant_files(tree, task, settings.followup_context_bytes // 2)
        history = [f"{v.author.value}: {v.message}" for v in versions if v.message]
        first = prompts.agent_message(task, history, tree, shown)
        if names := [row.name for row in await self._store.env_vars(self.project_id)]:
            first += "\n\n" + prompts.env_names_note(names)
        # The app's own secrets reach the model as placeholders only, in its files and in every tool's answer; its
        # calls' placeholders become the values again (builder/generation/hidden.py).
        hidden = await HiddenValues.of(self._store, self.project_id)
        workspace.hidden = hidden
        if (shown_first := hidden.hide(first)) != first:
            first = f"{shown_first}\n\n{prompts.HIDDEN_NOTE}"
        messages = [Message("user", redact(first), self.images)]
        nudged = False
        while True:
            request = ModelRequest(
                system=prompts.agent_system_prompt(),
                messages=messages,
                max_tokens=settings.max_output_tokens,
                tools=[*(ASKING_TOOLS if self.may_ask else AGENT_TOOLS), *self._mcp.specs()],
            )
            answer = await self._ask(provider, request)
            messages.append(Message("assistant", answer.prose, tool_calls=answer.calls))
            if not answer.calls:
                if answer.stop == "max_tokens" or nudged:
                    raise GenerationError("The agent stopped using its tools without finishing, so nothing was saved.")
                nudged = True
                messages.append(Message("user", NUDGE))
                continue
            results: list[ToolResult] = []
            for call in answer.calls:
                if len(self.steps) >= settings.agent_max_steps:
                    raise GenerationError(
                        f"The agent used its {settings.agent_max_steps} steps (FORJA_AGENT_MAX_STEPS) without finishing, "
                        "so nothing was saved. Its steps are listed above; ask for a smaller change."
                    )
                if call.name in self._mcp.tools:
                    results.append(await self._mcp_step(call, hidden))
                    continue
                try:
                    arguments = _restored(parse_input(call.name, call.arguments), hidden)
                except ToolInputError as exc:
                    results.append(ToolResult(call.id, str(exc), is_error=True))
                    await self._step(call.name, f"Could not {call.name.replace('_', ' ')}", False, str(exc), None, 0.0)
                    continue
                if isinstance(arguments, Finish):
                    return arguments.model_copy(update={"summary": redact(arguments.summary)})
                if isinstance(arguments, Ask):
                    if self.may_ask:
                        return arguments.model_copy(update={"questions": [_redacted(q) for q in arguments.questions]})
                    results.append(ToolResult(call.id, NOT_NOW, is_error=True))
                    continue
                began = time.monotonic()
                outcome = await workspace.do(call.name, arguments)
                spent = time.monotonic() - began
                self.timing.tools_s += spent
                await self._step(call.name, outcome.label, outcome.ok, outcome.detail, outcome.screenshot, spent)
                seen = (Picture("image/jpeg", outcome.screenshot),) if outcome.screenshot and self.sees else ()
                results.append(ToolResult(call.id, hidden.hide(outcome.text), is_error=not outcome.ok, images=seen))
            messages.append(Message("user", "", tool_results=results))

    async def _mcp_step(self, call: ToolCall, hidden: HiddenValues) -> ToolResult:
        began = time.monotonic()
        outcome = await self._mcp.call(call.name, call.arguments, hidden)
        spent = time.monotonic() - began
        self.timing.tools_s += spent
        self.log(
            f"Agent called {call.name}: {outcome.label}. {outcome.detail}", LogLevel.info if outcome.ok else LogLevel.warning
        )
        await self._step(call.name, outcome.label, outcome.ok, outcome.detail, None, spent)
        return ToolResult(call.id, outcome.text, is_error=not outcome.ok)

    async def _step(self, tool: str, label: str, ok: bool, detail: str, screenshot: bytes | None, spent: float) -> None:
        step = AgentStep(
            number=len(self.steps) + 1,
            tool=tool,
            label=label[:200],
            ok=ok,
            detail=detail[:4000],
            screenshot=screenshot is not None,
            duration_s=round(spent, 3),
        )
        self.steps.append(step)
        await self._store.save_steps(self._record, self.steps, {step.number: screenshot} if screenshot else {})
        self.emit("step", message=step.label, step=step.model_dump(mode="json"), generation_id=self._record)

    async def _ask(self, provider: Provider, request: ModelRequest) -> _Answer:
        await check_budget(self._store, self.project_id, provider.model, request, self.usage, self.allowance)
        for attempt in range(1, settings.retry_attempts + 1):
            began = time.monotonic()
            try:
                return await self._stream(provider, request)
            except TransientProviderError as exc:
                if attempt == settings.retry_attempts:
                    raise GenerationError(f"{exc} Tried {attempt} times; nothing was saved. Try again in a minute.") from exc
                delay = settings.retry_base_delay_s * 2 ** (attempt - 1)
                self.emit("status", message=f"{exc} Retrying in {delay:.0f} s...")
                await asyncio.sleep(delay)
            finally:
                self.timing.model_s += time.monotonic() - began
        raise AssertionError("unreachable")

    async def _stream(self, provider: Provider, request: ModelRequest) -> _Answer:
        answer = _Answer()
        prose: list[str] = []
        current: dict[str, Any] | None = None
        calls: list[dict[str, Any]] = []
        async for event in provider.stream(request):
            if isinstance(event, ToolStart):
                current = {"id": event.id, "name": event.name, "text": []}
                calls.append(current)
            elif isinstance(event, ToolDelta) and current is not None:
                current["text"].append(event.partial_json)
            elif isinstance(event, TextDelta):
                prose.append(event.text)
            elif isinstance(event, UsageReport):
                self.usage.add(event)
            elif isinstance(event, Finished):
                answer.stop = event.stop_reason
        answer.prose = "".join(prose)
        answer.calls = [ToolCall(c["id"], c["name"], "".join(c["text"])) for c in calls]
        if answer.stop == "max_tokens" and answer.calls:
            # A call cut at the output limit has broken input: the model is told, rather than the call half done.
            last = answer.calls[-1]
            answer.calls[-1] = ToolCall(last.id, last.name, "")
        return answer

    async def _end(
        self, provider: Provider, workspace: AgentWorkspace, ended: Finish | Ask, base_version: int | None
    ) -> GenerationEvent:
        """The draft saved as a version (or waiting for approval); a run that asks keeps its questions on its record,
        and one that asks before changing anything saves nothing."""
        writes, deletes = workspace.changes()
        asked = {"questions": stored(ended.questions)} if isinstance(ended, Ask) else {}
        summary = ended.summary if isinstance(ended, Finish) else ASKED
        if not writes and not deletes and not asked:
            raise GenerationError(f"The agent finished without changing any file, so nothing was saved. It said: {summary}")
        usage = usage_dict(provider, self.usage)
        paths = len(writes) + len(deletes)
        self.log(
            f"Agent run: {len(self.steps)} steps, {paths} files changed; model {self.timing.model_s:.1f} s, tools "
            f"{self.timing.tools_s:.1f} s, Forja {self.timing.own_s:.2f} s."
        )
        done = GenerationEvent(
            type="done",
            project_id=self.project_id,
            summary=summary,
            message=ASKED if asked else "",
            questions=[q.model_dump(exclude={"answer"}) for q in ended.questions] if isinstance(ended, Ask) else None,
            usage=usage,
            round=self.round,
            generation_id=self._record,
        )
        if not writes and not deletes:
            await self._finish(provider, outcome="asking", summary=summary, **asked)
            self.emit("summary", summary=summary)
            return done
        if self.approve:
            texts = {path: data.decode("utf-8", errors="replace") for path, data in writes.items()}
            pending = PendingChange(base_version=base_version, summary=summary, writes=texts, deletes=deletes)
            await self._finish(provider, outcome="awaiting", summary=summary, pending=pending.model_dump_json(), **asked)
            self.awaiting = True
            self.emit("summary", summary=summary)
            return done.model_copy(update={"message": f"{AWAITING} {ASKED}" if asked else AWAITING})
        result = await self._save(self.project_id, writes, deletes, message=summary, author=Author.ai)
        outcome = "asking" if asked else "saved"
        await self._finish(provider, outcome=outcome, summary=summary, version_id=result.version.id, **asked)
        self.log(f"Agent run saved as version {result.version.number}.")
        self.emit("summary", summary=summary)
        return done.model_copy(update={"version": result.version.number, "files_done": len(result.changed)})

    async def _finish(self, provider: Provider, **fields: Any) -> None:
        cost = estimate_cost(provider.model, self.usage)
        await self._store.finish_generation(
            self._record,
            input_tokens=self.usage.input_tokens,
            output_tokens=self.usage.output_tokens,
            cache_read_tokens=self.usage.cache_read_tokens,
            cache_write_tokens=self.usage.cache_write_tokens,
            cost_usd=cost or 0.0,
            cost_known=cost is not None,
            duration_s=round(time.monotonic() - self.timing.started, 3),
            **fields,
        )


def _redacted(question: PlanQuestion) -> PlanQuestion:
    """A question as the person reads it: a key the model wrote into it is gone, as from its summary."""
    return question.model_copy(update={"question": redact(question.question), "options": [redact(o) for o in question.options]})


def _restored(arguments: BaseModel, hidden: HiddenValues) -> BaseModel:
    """A tool call's arguments with the app's secrets back where the model wrote their placeholders."""
    restored = {name: hidden.restore(value) for name, value in arguments if isinstance(value, str)}
    return arguments.model_copy(update=restored)
