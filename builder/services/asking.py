"""Ask mode: answer a question about a project from its files, with the places the answer relies on.

Nothing changes: no version, no file. The question and its answer are kept as a generation of kind "ask" (tokens and
cost counted like any model request, within the budgets), so the conversation shows them after a reload.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping

from pydantic import BaseModel, Field

from builder.errors import InvalidInput
from builder.generation.asking import AnswerDraft, ask_request, draft_answer, kept_references, offline_answer
from builder.generation.budget import check_budget
from builder.generation.guard import redact
from builder.generation.hidden import HiddenValues
from builder.generation.providers.base import UsageReport
from builder.generation.providers.choice import get_provider
from builder.schemas import CodeReference, valid_prompt
from builder.services.generations import stale_before
from builder.services.model_records import answered, saved
from builder.services.projects import ProjectService
from builder.services.quotas import QuotaService
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub, LogLevel

log = logging.getLogger(__name__)


class AskAnswer(BaseModel):
    question: str
    answer: str = Field(description="In plain words; places are named path:line.")
    references: list[CodeReference] = Field(description="The places the answer relies on, each a file and a line.")
    provider: str
    version: int = Field(description="The version whose files were read.")
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = Field(default=0.0, description="Estimate; null when the model's prices are unknown.")


class AskService:
    def __init__(self, store: ProjectStore, projects: ProjectService, quotas: QuotaService, logs: LogHub) -> None:
        self._store = store
        self._projects = projects
        self._quotas = quotas
        self._logs = logs

    async def ask(
        self, project_id: str, question: str, *, provider: str | None = None, model: str | None = None, user_id: str
    ) -> AskAnswer:
        question = redact(valid_prompt(question).strip())
        if not question:
            raise InvalidInput("Write a question first: it was empty.")
        project = await self._projects.get(project_id)
        if not project.current_version:
            raise InvalidInput("This project has no files yet: build it first, then ask about it.")
        chosen = await get_provider(provider or project.provider or None, model or project.model or None)
        tree = await self._store.read_tree(project_id)
        # Offline there is no model to send the files to: the answer is read from the tree itself.
        # The app's own secrets, where a file holds one, reach the model as placeholders only (generation/hidden.py).
        hidden = None if chosen.name == "offline" else (await HiddenValues.of(self._store, project_id)).hide_tree(tree)
        request = None if hidden is None else ask_request(question, hidden, settings.followup_context_bytes)
        if request is not None:
            allowance = await self._quotas.allowance(user_id)
            await check_budget(self._store, project_id, chosen.model, request, UsageReport(), allowance)
        record = await self._store.start_generation(
            project_id, question, chosen.name, chosen.model, stale_before(), kind="ask", user_id=user_id
        )
        started = time.monotonic()
        if request is None:
            draft, usage = await answered(self._store, record, "answer", _offline(question, tree))
        else:
            draft, usage = await answered(self._store, record, "answer", draft_answer(chosen, request))
        answer = AnswerDraft(answer=redact(draft.answer), references=kept_references(draft.references, tree))
        places = json.dumps([r.model_dump() for r in answer.references])
        cost = await saved(self._store, record, chosen, usage, started, summary=answer.answer, places=places)
        self._logs.emit(
            project_id,
            f"Answered a question with {len(answer.references)} places: {question[:200]}",
            LogLevel.info,
            source="generate",
        )
        return AskAnswer(
            question=question,
            answer=answer.answer,
            references=answer.references,
            provider=chosen.name,
            version=project.current_version,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost,
        )


async def _offline(question: str, tree: Mapping[str, bytes]) -> tuple[AnswerDraft, UsageReport]:
    return offline_answer(question, tree), UsageReport()
