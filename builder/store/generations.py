"""Generation records: one running generation per project across processes, and how each ended."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.attachments import Picture, sniff
from builder.errors import GenerationBusy, NotFound
from builder.generation.plan_questions import questions_of
from builder.models import Blob, Generation, Project, Version
from builder.schemas import AgentStep, CodeReference, GenerationInfo, PendingChange
from builder.store.base import StoreBase, of_member

GENERATION_RUNNING = "running"
GENERATION_INTERRUPTED = "interrupted"


class GenerationRecords(StoreBase):
    async def start_generation(
        self,
        project_id: str,
        prompt: str,
        provider: str,
        model: str,
        stale_before: datetime,
        kind: str = "prompt",
        pictures: Sequence[Picture] = (),
        user_id: str | None = None,
    ) -> int:
        """Record a running generation; GenerationBusy if the project has one running already.

        Running records from before `stale_before` belong to a process that died (no generation
        runs that long) and are marked interrupted rather than blocking the project for ever.
        """
        async with self._sessions() as session, session.begin():
            # Lock the project row (on SQLite: take the write lock) so two processes cannot both
            # find no running generation and both start one.
            await session.exec(update(Project).where(col(Project.id) == project_id).values(name=Project.name))
            await self._project(session, project_id)
            await self._interrupt(session, stale_before, project_id)
            if await self._running_generation(session, project_id):
                raise GenerationBusy("This project is already being generated; wait for it to finish.")
            # Kept as blobs (content-addressed, like files) so the conversation shows them after a reload too.
            hashes = (await self._keep_blobs(session, dict(enumerate(picture.data for picture in pictures)))).values()
            record = Generation(
                project_id=project_id,
                prompt=prompt,
                provider=provider,
                model=model,
                kind=kind,
                pictures=",".join(hashes),
                user_id=user_id,
            )
            session.add(record)
            await session.flush()
            assert record.id is not None
            return record.id

    async def _running_generation(self, session: AsyncSession, project_id: str) -> bool:
        query = select(Generation.id).where(Generation.project_id == project_id, Generation.outcome == GENERATION_RUNNING)
        return (await session.exec(query)).first() is not None

    async def generation_running(self, project_id: str, stale_before: datetime) -> bool:
        """Whether any process has a generation of the project running (one started before `stale_before` is dead)."""
        query = select(Generation.id).where(
            Generation.project_id == project_id,
            Generation.outcome == GENERATION_RUNNING,
            col(Generation.created_at) >= stale_before,
        )
        async with self._sessions() as session:
            return (await session.exec(query)).first() is not None

    async def _interrupt(self, session: AsyncSession, before: datetime | None, project_id: str | None = None) -> int:
        """Mark running records interrupted: those created before `before`, or all of them when it is None."""
        query = update(Generation).where(col(Generation.outcome) == GENERATION_RUNNING)
        if before is not None:
            query = query.where(col(Generation.created_at) < before)
        if project_id is not None:
            query = query.where(col(Generation.project_id) == project_id)
        result = await session.exec(
            query.values(outcome=GENERATION_INTERRUPTED, error="Forja stopped while this generation was running.")
        )
        return result.rowcount or 0

    async def interrupt_generations(self, before: datetime) -> int:
        """Mark running generations started before `before` as interrupted; returns how many."""
        async with self._sessions() as session, session.begin():
            return await self._interrupt(session, before)

    async def running_generation_projects(self) -> set[str]:
        """The projects with a generation recorded as running."""
        async with self._sessions() as session:
            query = select(Generation.project_id).where(col(Generation.outcome) == GENERATION_RUNNING).distinct()
            return set((await session.exec(query)).all())

    async def interrupt_running(self, project_ids: set[str], reason: str) -> tuple[int, list[str]]:
        """Mark these projects' running generations interrupted (with `reason`) and remove the empty projects they leave.

        For generations no process runs any more: at a lone server's start, all of them; with several workers, those
        whose worker's lease is gone. A project is removed when it never got a version and every generation it had was
        interrupted: what a generation that died before saving leaves behind. Returns how many generations were
        marked, and the removed projects' ids.
        """
        if not project_ids:
            return 0, []
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                update(Generation)
                .where(col(Generation.outcome) == GENERATION_RUNNING, col(Generation.project_id).in_(project_ids))
                .values(outcome=GENERATION_INTERRUPTED, error=reason)
            )
            removed: list[str] = []
            for project_id in sorted(project_ids):
                project = await session.get(Project, project_id)
                if project is None or project.current_version_id is not None:
                    continue
                records = (await session.exec(select(Generation).where(Generation.project_id == project_id))).all()
                if any(record.outcome != GENERATION_INTERRUPTED for record in records):
                    continue
                await self._remove_empty_project(session, project)
                removed.append(project_id)
            return result.rowcount or 0, removed

    async def finish_generation(self, generation_id: int, **fields: object) -> None:
        """Record how a generation ended (outcome, tokens, cost, duration, version, error)."""
        async with self._sessions() as session, session.begin():
            record = await session.get(Generation, generation_id)
            if record is None:
                raise NotFound(f"There is no generation {generation_id}.")
            for name, value in fields.items():
                setattr(record, name, value)
            session.add(record)

    async def list_generations(self, project_id: str) -> list[GenerationInfo]:
        async with self._sessions() as session:
            await self._project(session, project_id)
            rows = await session.exec(
                select(Generation, Version.number)
                .join(Version, col(Version.id) == col(Generation.version_id), isouter=True)
                .where(Generation.project_id == project_id)
                .order_by(col(Generation.id))
            )
            return [
                GenerationInfo(
                    **record.model_dump(
                        exclude={"version_id", "cost_usd", "cost_known", "pictures", "places", "steps", "pending", "questions"}
                    ),
                    pictures=[h for h in record.pictures.split(",") if h],
                    references=[CodeReference.model_validate(r) for r in json.loads(record.places or "[]")],
                    steps=[_step(s) for s in json.loads(record.steps or "[]")],
                    pending=PendingChange.model_validate_json(record.pending) if record.pending else None,
                    questions=questions_of(record.questions),
                    version=number,
                    cost_usd=record.cost_usd if record.cost_known else None,
                )
                for record, number in rows
            ]

    async def save_steps(self, generation_id: int, steps: Sequence[AgentStep], screenshots: dict[int, bytes]) -> None:
        """An agent run's steps so far (each open_page's screenshot kept as a blob, by step number)."""
        async with self._sessions() as session, session.begin():
            record = await session.get(Generation, generation_id)
            if record is None:
                raise NotFound(f"There is no generation {generation_id}.")
            hashes = await self._keep_blobs(session, screenshots) if screenshots else {}
            kept = {s["number"]: s.get("screenshot_hash") for s in json.loads(record.steps or "[]")}
            rows = []
            for step in steps:
                row = step.model_dump(exclude={"screenshot"})
                if found := hashes.get(step.number) or kept.get(step.number):
                    row["screenshot_hash"] = found
                rows.append(row)
            record.steps = json.dumps(rows)
            session.add(record)

    async def step_screenshot(self, project_id: str, generation_id: int, number: int) -> bytes | None:
        async with self._sessions() as session:
            record = await session.get(Generation, generation_id)
            if record is None or record.project_id != project_id:
                return None
            found = next((s.get("screenshot_hash") for s in json.loads(record.steps or "[]") if s["number"] == number), None)
            blob = await session.get(Blob, found) if found else None
            return blob.data if blob is not None else None

    async def generation_record(self, project_id: str, generation_id: int) -> Generation:
        """One generation of the project, as stored; NotFound for another project's."""
        async with self._sessions() as session:
            record = await session.get(Generation, generation_id)
            if record is None or record.project_id != project_id:
                raise NotFound(f"Project {project_id} has no generation {generation_id}.")
            return record

    async def decide_pending(self, project_id: str, generation_id: int, outcome: str) -> PendingChange | None:
        """Move an agent run awaiting approval to `outcome` ("saved" or "rejected") and give its change; None when
        it is not awaiting (decided already, perhaps by someone else at the same moment)."""
        async with self._sessions() as session, session.begin():
            record = await session.get(Generation, generation_id)
            if record is None or record.project_id != project_id:
                raise NotFound(f"Project {project_id} has no agent run {generation_id}.")
            result = await session.exec(
                update(Generation)
                .where(col(Generation.id) == generation_id, col(Generation.outcome) == "awaiting")
                .values(outcome=outcome)
            )
            if not result.rowcount:
                return None
            return PendingChange.model_validate_json(record.pending)

    async def swap_questions(
        self, project_id: str, generation_id: int, asked: str, answered: str, outcomes: tuple[str, str]
    ) -> bool:
        """An agent run's questions (JSON as stored, `asked`) replaced by `answered`, its outcome moved from the first of
        `outcomes` to the second (another outcome, awaiting approval, stays); False when the questions are not `asked`
        any more (answered already, perhaps by someone else at the same moment)."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                update(Generation)
                .where(
                    col(Generation.id) == generation_id,
                    col(Generation.project_id) == project_id,
                    col(Generation.questions) == asked,
                )
                .values(
                    questions=answered,
                    outcome=case((col(Generation.outcome) == outcomes[0], outcomes[1]), else_=col(Generation.outcome)),
                )
            )
            return bool(result.rowcount)

    async def set_approve_changes(self, project_id: str, on: bool) -> None:
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.approve_changes = on
            session.add(project)

    async def set_engine(self, project_id: str, engine: str) -> None:
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.engine = engine
            session.add(project)

    async def picture(self, digest: str, member: str | None = None) -> Picture:
        """A picture attached to a prompt (in a project `member` has a role in, unless None); NotFound for any other
        blob (a project's files are not served this way)."""
        async with self._sessions() as session:
            used = select(Generation.id).where(
                col(Generation.pictures).contains(digest), *of_member(member, project_id=col(Generation.project_id))
            )
            blob = await session.get(Blob, digest) if (await session.exec(used)).first() is not None else None
        media_type = sniff(blob.data) if blob is not None else None
        if blob is None or media_type is None:
            raise NotFound("There is no such picture.")
        return Picture(media_type, blob.data)


def _step(row: dict[str, object]) -> AgentStep:
    return AgentStep.model_validate({**row, "screenshot": bool(row.get("screenshot_hash"))})
