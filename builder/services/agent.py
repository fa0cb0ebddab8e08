"""Agent mode around its runs: the project's Approve changes and engine settings, a waiting change accepted or rejected, the
answers to a run's questions, and the screenshots its steps took. The runs themselves are generations
(builder/services/agent_run.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from builder.errors import ChangeNotPending, NotAsking, NotFound
from builder.generation.guard import redact
from builder.generation.plan_questions import answers_text, questions_of, stored, with_answers
from builder.generation.prompts import answered_task
from builder.models import Author
from builder.schemas import CommitResult, Engine, FileDiff, GenerationInfo, PendingChange, VerificationInfo
from builder.services.generations import GenerationService
from builder.services.history import file_diff
from builder.services.preview_drafts import PreviewDrafts
from builder.services.projects import ProjectService
from builder.services.verification import VerificationService
from builder.settings import settings
from builder.store import ProjectStore, stored_number

log = logging.getLogger(__name__)

# The request of the run that goes on after the answers, as the conversation shows it (the answers show above it).
GO_ON = "Go on with my answers."


class AgentService:
    def __init__(
        self,
        store: ProjectStore,
        projects: ProjectService,
        drafts: PreviewDrafts,
        verifications: VerificationService,
        generations: GenerationService,
    ) -> None:
        self._store = store
        self._generations = generations
        self._projects = projects
        self._drafts = drafts
        self._verifications = verifications

    async def set_approve_changes(self, project_id: str, on: bool) -> None:
        """On: each agent run's change waits for a person to accept it before it becomes a version."""
        await self._store.set_approve_changes(project_id, on)

    async def set_engine(self, project_id: str, engine: Engine) -> None:
        """What works on the project from its next request on: Forja's own model, or a coding agent (OpenCode, Codex)."""
        await self._store.set_engine(project_id, engine)

    async def accept(self, project_id: str, generation_id: int, user_id: str | None = None) -> CommitResult:
        """The run's waiting change, saved as a version (by the agent, accepted by `user_id`). ChangeNotPending when
        it was decided already, or the project has a newer version than the one the run changed."""
        record = await self._store.generation_record(project_id, self._number(generation_id))
        if record.outcome != "awaiting" or not record.pending:
            raise ChangeNotPending(f"This change is not waiting for approval any more (it was {record.outcome}).")
        change = PendingChange.model_validate_json(record.pending)
        current = (await self._store.get_project(project_id)).current_version
        if change.base_version != current:
            raise ChangeNotPending(
                f"The project changed since the agent's run (it is at version {current}; the run changed version "
                f"{change.base_version}), so its change was not applied. Reject it and ask the agent again."
            )
        if await self._store.decide_pending(project_id, generation_id, "saved") is None:
            raise ChangeNotPending("This change was just accepted or rejected by someone else.")
        writes = {path: text.encode() for path, text in change.writes.items()}
        try:
            result = await self._projects.save(project_id, writes, change.deletes, change.summary, Author.ai, user_id)
        except BaseException:
            # Not saved (a storage quota, say): it waits again, for another try.
            await self._store.finish_generation(generation_id, outcome="awaiting")
            raise
        await self._store.finish_generation(generation_id, version_id=result.version.id, pending="")
        return result

    async def check_accepted(self, project_id: str) -> VerificationInfo | None:
        """The accepted change's version checked as a generation's is (unless FORJA_VERIFY_GENERATIONS is off): checks
        run again after every change, an accepted one too. Its problems are the person's to fix ("Fix this")."""
        if not settings.verify_generations:
            return None
        try:
            return await self._verifications.verify(project_id)
        except Exception:
            # The change is saved whatever happens here: an internal failure of its check is logged, not answered.
            log.exception("the check of %s's accepted change failed", project_id)
            return None

    async def reject(self, project_id: str, generation_id: int) -> None:
        """The run's waiting change is dropped; the preview goes back to the saved version."""
        record = await self._store.generation_record(project_id, self._number(generation_id))
        change = await self._store.decide_pending(project_id, generation_id, "rejected")
        if change is None:
            raise ChangeNotPending(f"This change is not waiting for approval any more (it was {record.outcome}).")
        await self._store.finish_generation(generation_id, pending="")
        await self._drafts.restore(project_id, sorted(change.writes), change.deletes)

    async def answer(
        self,
        project_id: str,
        generation_id: int,
        answers: list[str],
        *,
        provider: str | None = None,
        model: str | None = None,
        verify: bool | None = None,
        user_id: str | None = None,
    ) -> None:
        """The person's answers to a run's questions (in their order), kept with it; a new agent run then goes on with
        the task, `generations.follow` gives its events. InvalidInput for a missing answer or one not among a question's
        fixed options; NotAsking when the run asked nothing or was answered already."""
        record = await self._store.generation_record(project_id, self._number(generation_id))
        questions = questions_of(record.questions)
        if not questions or any(q.answer for q in questions):
            raise NotAsking("This agent run has no questions waiting for answers (they may have been answered already).")
        answered = with_answers(questions, [redact(a) for a in answers])
        kept = stored(answered)
        if not await self._store.swap_questions(project_id, generation_id, record.questions, kept, ("asking", "answered")):
            raise NotAsking("These questions were just answered by someone else.")
        done = [step["label"] for step in json.loads(record.steps or "[]")]
        try:
            await self._generations.start(
                project_id,
                GO_ON,
                provider,
                model,
                verify=verify,
                for_model=answered_task(record.prompt, done, answers_text(answered), record.version_id is not None),
                user_id=user_id,
                agent=True,
                answered=True,
            )
        except BaseException:
            # No run goes on with them (the project busy, a budget spent): the questions wait again.
            await self._store.swap_questions(project_id, generation_id, kept, record.questions, ("answered", "asking"))
            raise

    async def diffs(self, project_id: str, runs: Sequence[GenerationInfo]) -> dict[int, list[FileDiff]]:
        """Each waiting change's files against the version the run changed, by run."""
        found: dict[int, list[FileDiff]] = {}
        for run in runs:
            change = run.pending
            if run.outcome != "awaiting" or change is None:
                continue
            base = await self._store.read_tree(project_id, change.base_version) if change.base_version else {}
            changed = [file_diff(path, base.get(path), text.encode()) for path, text in sorted(change.writes.items())]
            found[run.id] = changed + [file_diff(path, base.get(path), None) for path in change.deletes]
        return found

    async def step_screenshot(self, project_id: str, generation_id: int, number: int) -> bytes:
        found = stored_number(generation_id) and stored_number(number)
        data = await self._store.step_screenshot(project_id, generation_id, number) if found else None
        if data is None:
            raise NotFound(f"Project {project_id} has no agent step {number} with a screenshot in run {generation_id}.")
        return data

    @staticmethod
    def _number(generation_id: int) -> int:
        if not stored_number(generation_id):
            raise NotFound(f"There is no agent run {generation_id}.")
        return generation_id
