"""A generation as the person gets it: the model's answer, then the app run, checked and repaired.

Round 0 is the person's request. When verification finds problems, repair rounds send the model
the problems, the app's log lines and the files involved, and save its fix as a new version; at
most `settings.auto_fix_attempts` rounds, and fewer when a round does not reduce the problems or
proposes a change already tried. The offline provider cannot repair: its generations are checked
and reported. Every round is a generation record of its own (kind "repair"), with its tokens
and cost; the final `done` event carries their sum and the last check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from builder.attachments import Picture
from builder.generation import prompts
from builder.generation.budget import Allowance
from builder.generation.engine import GenerationEvent, GenerationRun, Saver
from builder.generation.hub import Publish
from builder.schemas import VerificationInfo
from builder.services.agent_run import AgentRun
from builder.services.agent_workspace import AgentWorkspace
from builder.services.engine_run import ExternalEngineRun
from builder.services.previews import PreviewService
from builder.services.verification import VerificationService
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import is_dependency_file

log = logging.getLogger(__name__)

_SUMMED = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def summed_usage(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The usage of every round together; the cost is unknown (None) when one round's is."""
    if not rounds:
        return {}
    total: dict[str, Any] = {key: sum(r.get(key, 0) for r in rounds) for key in _SUMMED}
    costs = [r.get("cost_usd") for r in rounds]
    total["cost_usd"] = None if None in costs else sum(c for c in costs if c is not None)
    total["provider"], total["model"] = rounds[-1].get("provider"), rounds[-1].get("model")
    total["rounds"] = rounds
    return total


def verification_dict(result: VerificationInfo) -> dict[str, Any]:
    return {**result.model_dump(mode="json"), "headline": result.headline}


@dataclass
class Request:
    """What the person asked for, and how."""

    project_id: str
    prompt: str
    provider: str | None = None
    model: str | None = None
    discard_if_failed: bool = False
    verify: bool = True
    # "Fix this": no prompt round; the last check's problems start a repair round at once.
    repair_only: bool = False
    # What the model reads instead of `prompt` (which the conversation shows): the prompt with more context,
    # such as the element picked in the preview (builder.generation.picked).
    for_model: str | None = None
    # Pictures the person attached to the prompt (checked already); sent with the first round only.
    images: list[Picture] = field(default_factory=list)
    # Who asked (every round is theirs, repairs too) and their daily model quotas, if they have any.
    user_id: str | None = None
    allowance: Allowance | None = None
    # The plan this generation builds: marked built once the first round saves its version.
    plan_id: str | None = None
    # Agent mode: every round (repairs too) works in steps with tools (builder/services/agent_run.py); with `approve`
    # the first round's change waits for a person to accept it, and is not checked until then.
    agent: bool = False
    approve: bool = False
    # Teams' MCP tools that may change things outside Forja which the person let the agent use (mcp_<server>_<tool>).
    approved_tools: frozenset[str] = frozenset()
    # Agent mode, the person's first round may `ask` them (once): not a run that goes on after their answers.
    answered: bool = False
    # Most automatic repair rounds; None: settings.auto_fix_attempts (an evaluation run sets its own).
    repair_rounds: int | None = None
    # The project's engine (schemas.Engine): with "opencode" or "codex" the person's round is that agent's (engine_run.py);
    # repairs are Forja's own rounds.
    engine: str = "forja"


@dataclass
class CheckedGeneration:
    store: ProjectStore
    logs: LogHub
    save: Saver
    previews: PreviewService
    verifications: VerificationService
    request: Request
    stale_before: Callable[[], Any]
    # Agent mode's draft of the project, made from the current version's files.
    workspace: Callable[[dict[str, bytes]], AgentWorkspace] | None = None
    # An external coding agent's round (the project's engine), given where it reports and the person's request.
    external: Callable[[Publish, str], ExternalEngineRun] | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)
    seen_changes: set[str] = field(default_factory=set)
    # The current version's files and those streamed so far, for installing the dependencies ahead.
    _tree: dict[str, bytes] = field(default_factory=dict)

    async def run(self, publish: Publish) -> GenerationEvent:
        project_id = self.request.project_id
        first: GenerationEvent | None = None
        try:
            if self.request.verify:
                self.verifications.warm()
                if (await self.store.get_project(project_id)).current_version:
                    self._tree = await self.store.read_tree(project_id)
            if self.request.repair_only:
                checked = await self.verifications.latest(project_id)
                if checked is None or checked.status not in ("problems", "failed"):
                    event = self._event("error", message="There is nothing to fix: the last check found no problems.")
                    publish(event)
                    return event
                return await self._repairs(publish, None, checked, manual=True)
            first = await self._round(publish, 0, self.request.prompt, self.request.for_model)
            if first.type == "error":
                publish(first)
                return first
            if self.request.plan_id is not None:
                await self.store.update_plan(self.request.plan_id, status="built", version=first.version)
            if not self.request.verify or first.version is None:
                # Not checked, or (agent mode) a change waiting for approval: no version to check yet.
                return self._finish(publish, first, None, "")
            checked = await self._check(publish, 0)
            return await self._repairs(publish, first, checked, manual=False)
        except asyncio.CancelledError:
            return await self._stopped(publish, first)
        except Exception:
            # Followers wait for a done or error event: a crash must still end the generation for them.
            log.exception("checked generation of %s crashed", project_id)
            message = "Checking the app stopped because of an internal error; see the server's log."
            if first is not None and first.type == "done":
                return self._finish(publish, first, None, message)
            event = self._event("error", message=message)
            publish(event)
            return event

    async def _repairs(
        self, publish: Publish, first: GenerationEvent | None, checked: VerificationInfo, *, manual: bool
    ) -> GenerationEvent:
        """Repair rounds until the app passes, the cap is reached, or a round does not help."""
        rounds = settings.auto_fix_attempts if self.request.repair_rounds is None else self.request.repair_rounds
        cap = 1 if manual else rounds
        offline = (first.usage or {}).get("provider") == "offline" if first else False
        note = ""
        last = first
        attempt = 0
        while checked.status in ("problems", "failed"):
            if offline:
                note = "Offline starters cannot repair an app: describe the fix, or make it in the Code tab."
                break
            if attempt == cap:
                note = (
                    f"Stopped after {cap} automatic repair round{'s' if cap != 1 else ''} (FORJA_AUTO_FIX_ATTEMPTS)."
                    if not manual
                    else ""
                )
                break
            attempt += 1
            count = len(checked.problems)
            label = f"Fixing {count} problem{'s' if count != 1 else ''} found by the check"
            publish(self._event("status", message=f"{label} (round {attempt} of {cap})..."))
            request = prompts.repair_message(checked.problems, self.verifications.log_tail(self.request.project_id))
            # What the page showed may hold an app variable's value: the model gets it as the log does, redacted.
            request = self.logs.redacted(self.request.project_id, request)
            fixed = await self._round(
                publish, attempt, f"{label}: " + "; ".join(p.message for p in checked.problems[:3]), request
            )
            if fixed.type == "error":
                note = f"Repair round {attempt} did not save a change: {fixed.message}"
                break
            last = fixed
            before = checked
            checked = await self._check(publish, attempt)
            if checked.status != "passed" and len(checked.problems) >= len(before.problems) and checked.status == before.status:
                note = f"Repair round {attempt} did not reduce the problems, so Forja stopped repairing."
                break
        if note:
            self.logs.emit(self.request.project_id, note, LogLevel.warning, source="check")
            await self.store.note_verification(checked.id, note)
            checked = checked.model_copy(update={"note": note})
        return self._finish(publish, last or first, checked, note)

    async def _round(self, publish: Publish, number: int, prompt: str, request: str | None) -> GenerationEvent:
        run = (
            self.external(publish, request or prompt)
            if number == 0 and self.request.engine != "forja" and self.external is not None
            else self._agent_round(publish, number, prompt, request)
            if self.request.agent
            else self._model_round(publish, number, prompt, request)
        )
        event = await run.run()
        if event.usage is not None:
            self.rounds.append({**event.usage, "round": number})
        if event.type == "done" and event.version is not None:
            publish(event.model_copy(update={"type": "saved"}))
        return event

    def _agent_round(self, publish: Publish, number: int, prompt: str, request: str | None) -> AgentRun:
        assert self.workspace is not None  # GenerationService gives one to every agent-mode generation
        return AgentRun(
            self.store,
            self.logs,
            self.save,
            self.request.project_id,
            prompt,
            publish,
            self.workspace,
            self.request.provider,
            self.request.model,
            stale_before=self.stale_before(),
            kind="agent" if number == 0 else "repair",
            request=request,
            round_=number,
            images=self.request.images if number == 0 else [],
            user_id=self.request.user_id,
            allowance=self.request.allowance,
            approve=self.request.approve and number == 0,
            approved_tools=self.request.approved_tools,
            may_ask=number == 0 and not self.request.answered,
        )

    def _model_round(self, publish: Publish, number: int, prompt: str, request: str | None) -> GenerationRun:
        return GenerationRun(
            self.store,
            self.logs,
            self.save,
            self.request.project_id,
            prompt,
            publish,
            self.request.provider,
            self.request.model,
            stale_before=self.stale_before(),
            discard_if_failed=self.request.discard_if_failed and number == 0,
            kind="prompt" if number == 0 else "repair",
            request=request,
            seen_changes=self.seen_changes,
            on_file=self._file_done if self.request.verify else None,
            round_=number,
            images=self.request.images if number == 0 else [],
            user_id=self.request.user_id,
            allowance=self.request.allowance,
        )

    def _file_done(self, path: str, content: str) -> None:
        """A manifest that completes while the answer streams starts its install (again, if it changed), so the
        dependencies are ready when the last file lands. Only for checked generations: they run the app at once."""
        self._tree[path] = content.encode("utf-8")
        if is_dependency_file(path):
            self.previews.prepare(self.request.project_id, dict(self._tree))

    async def _check(self, publish: Publish, attempts: int) -> VerificationInfo:
        project_id = self.request.project_id
        checked = await self.verifications.verify(project_id, attempts, lambda text: publish(self._event("status", message=text)))
        publish(self._event("verification", message=checked.headline, verification=verification_dict(checked), round=attempts))
        return checked

    def _finish(
        self, publish: Publish, last: GenerationEvent | None, checked: VerificationInfo | None, note: str
    ) -> GenerationEvent:
        base = last or self._event("done")
        summary = base.summary or ""
        done = base.model_copy(
            update={
                "type": "done",
                "summary": summary,
                "message": " ".join(filter(None, [checked.headline if checked else "", note])) or base.message,
                "usage": summed_usage(self.rounds) or base.usage,
                "verification": verification_dict(checked) if checked else None,
            }
        )
        publish(done)
        return done

    async def _stopped(self, publish: Publish, first: GenerationEvent | None) -> GenerationEvent:
        if first is not None and first.type == "done":
            message = "Stopped by you. The last saved version is kept."
            usage = summed_usage(self.rounds) or first.usage
            event = first.model_copy(update={"type": "done", "message": message, "usage": usage})
        else:
            event = self._event("error", message="Stopped by you; nothing was saved.")
        self.logs.emit(self.request.project_id, event.message, LogLevel.warning, source="generate")
        publish(event)
        return event

    def _event(self, type_: Any, **data: Any) -> GenerationEvent:
        return GenerationEvent(type=type_, project_id=self.request.project_id, **data)
