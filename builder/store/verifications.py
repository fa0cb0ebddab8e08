"""Verification records (what Forja saw when it ran a version) and what generations have cost."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from builder.models import AcceptanceRun, Generation, Verification, Version
from builder.schemas import AcceptanceInfo, Usage, VerificationInfo, VerificationStatus
from builder.store.base import StoreBase
from preview_runtime.acceptance import AcceptanceOutcome
from preview_runtime.verify import Problem

# Every column of an acceptance run but its screenshot, which is read alone, by its own address.
_RUN_COLUMNS = (
    col(AcceptanceRun.verification_id),
    col(AcceptanceRun.position),
    col(AcceptanceRun.path),
    col(AcceptanceRun.title),
    col(AcceptanceRun.passed),
    col(AcceptanceRun.message),
    col(AcceptanceRun.duration_s),
    col(AcceptanceRun.screenshot).is_not(None),
)


def _acceptance(project_id: str, verification_id: int, row: Sequence[Any]) -> AcceptanceInfo:
    _, number, path, title, passed, message, duration_s, has_screenshot = row
    return AcceptanceInfo(
        number=number,
        path=path,
        title=title,
        passed=passed,
        message=message,
        duration_s=duration_s,
        screenshot=f"/api/projects/{project_id}/verifications/{verification_id}/acceptance/{number}/screenshot"
        if has_screenshot
        else None,
    )


def _info(record: Verification, number: int | None, acceptance: list[AcceptanceInfo] | None = None) -> VerificationInfo:
    assert record.id is not None
    status: VerificationStatus = record.status  # type: ignore[assignment]  # written only from VerificationStatus
    return VerificationInfo(
        id=record.id,
        project_id=record.project_id,
        version=number,
        status=status,
        problems=[Problem.model_validate(p) for p in json.loads(record.problems)],
        attempts=record.attempts,
        screenshot=f"/api/projects/{record.project_id}/verifications/{record.id}/screenshot" if record.screenshot else None,
        duration_s=record.duration_s,
        note=record.note,
        acceptance=acceptance or [],
        created_at=record.created_at,
    )


def _passed_with_screenshot() -> tuple[ColumnElement[bool], ...]:
    return (col(Verification.status) == "passed", col(Verification.screenshot).is_not(None))


class VerificationRecords(StoreBase):
    async def add_verification(
        self,
        project_id: str,
        version: int,
        status: VerificationStatus,
        problems: list[Problem],
        attempts: int,
        screenshot: bytes | None,
        duration_s: float,
        acceptance: Sequence[AcceptanceOutcome] = (),
    ) -> VerificationInfo:
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            version_id = (
                await session.exec(select(Version.id).where(Version.project_id == project.id, Version.number == version))
            ).first()
            record = Verification(
                project_id=project_id,
                version_id=version_id,
                status=status,
                problems=json.dumps([p.model_dump() for p in problems]),
                attempts=attempts,
                screenshot=screenshot,
                duration_s=duration_s,
            )
            session.add(record)
            await session.flush()
            assert record.id is not None
            runs = [
                AcceptanceRun(
                    verification_id=record.id,
                    project_id=project_id,
                    position=n,
                    path=outcome.path,
                    title=outcome.title[:500],
                    passed=outcome.passed,
                    message=outcome.message,
                    duration_s=outcome.duration_s,
                    screenshot=outcome.screenshot,
                )
                for n, outcome in enumerate(acceptance, 1)
            ]
            session.add_all(runs)
            infos = [
                _acceptance(
                    project_id,
                    record.id,
                    (
                        None,
                        run.position,
                        run.path,
                        run.title,
                        run.passed,
                        run.message,
                        run.duration_s,
                        run.screenshot is not None,
                    ),
                )
                for run in runs
            ]
            return _info(record, version, infos)

    async def note_verification(self, verification_id: int, note: str) -> None:
        """Say after the fact why no repair followed this check."""
        async with self._sessions() as session, session.begin():
            record = await session.get(Verification, verification_id)
            if record is not None:
                record.note = note
                session.add(record)

    async def list_verifications(self, project_id: str) -> list[VerificationInfo]:
        return await self._verifications(project_id)

    async def last_verification(self, project_id: str) -> VerificationInfo | None:
        """The project's newest verification, with its acceptance checks; None when it has none."""
        found = await self._verifications(project_id, last_only=True)
        return found[0] if found else None

    async def _verifications(self, project_id: str, last_only: bool = False) -> list[VerificationInfo]:
        """The project's verifications, oldest first (only the newest with `last_only`), each with its acceptance
        checks."""
        query = (
            select(Verification, Version.number)
            .join(Version, col(Version.id) == col(Verification.version_id), isouter=True)
            .where(Verification.project_id == project_id)
        )
        query = query.order_by(col(Verification.id).desc()).limit(1) if last_only else query.order_by(col(Verification.id))
        async with self._sessions() as session:
            await self._project(session, project_id)
            found = list(await session.exec(query))
            runs: dict[int, list[AcceptanceInfo]] = {}
            checks = sa_select(*_RUN_COLUMNS).where(col(AcceptanceRun.verification_id).in_([record.id for record, _ in found]))
            for row in (await (await session.connection()).execute(checks.order_by(col(AcceptanceRun.id)))).all():
                runs.setdefault(row[0], []).append(_acceptance(project_id, row[0], row))
            return [_info(record, number, runs.get(record.id or 0)) for record, number in found]

    async def acceptance_screenshot(self, project_id: str, verification_id: int, number: int) -> bytes | None:
        query = select(AcceptanceRun.screenshot).where(
            AcceptanceRun.project_id == project_id,
            AcceptanceRun.verification_id == verification_id,
            AcceptanceRun.position == number,
        )
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def verification_screenshot(self, project_id: str, verification_id: int) -> bytes | None:
        async with self._sessions() as session:
            record = await session.get(Verification, verification_id)
            return record.screenshot if record is not None and record.project_id == project_id else None

    async def thumbnail(self, project_id: str, version: int | None = None) -> bytes | None:
        """The screenshot of the project's last verification that passed (of `version` only, when given); None when none."""
        query = select(Verification.screenshot).where(*_passed_with_screenshot(), Verification.project_id == project_id)
        if version is not None:
            query = query.join(Version, col(Version.id) == col(Verification.version_id)).where(Version.number == version)
        async with self._sessions() as session:
            return (await session.exec(query.order_by(col(Verification.id).desc()))).first()

    async def thumbnail_ids(self, project_ids: list[str]) -> dict[str, int]:
        """Each project's last passing verification with a screenshot (its id), for those that have one."""
        if not project_ids:
            return {}
        query = (
            select(Verification.project_id, func.max(Verification.id))
            .where(*_passed_with_screenshot(), col(Verification.project_id).in_(project_ids))
            .group_by(col(Verification.project_id))
        )
        async with self._sessions() as session:
            return {project_id: last for project_id, last in await session.exec(query) if last is not None}

    async def usage(self, project_id: str | None = None, since: datetime | None = None, user_id: str | None = None) -> Usage:
        """Tokens and estimated cost of the generations of one project (or all; or one person's), since a moment (or ever)."""
        # sqlmodel's select takes at most four columns; this is SQLAlchemy's, run on the connection.
        query = sa_select(
            func.count(),
            func.coalesce(func.sum(Generation.input_tokens), 0),
            func.coalesce(func.sum(Generation.output_tokens), 0),
            func.coalesce(func.sum(Generation.cost_usd), 0.0),
            func.coalesce(func.sum(case((col(Generation.cost_known).is_(False), 1), else_=0)), 0),
        )
        if project_id is not None:
            query = query.where(col(Generation.project_id) == project_id)
        if since is not None:
            query = query.where(col(Generation.created_at) >= since)
        if user_id is not None:
            query = query.where(col(Generation.user_id) == user_id)
        async with self._sessions() as session:
            count, input_tokens, output_tokens, cost, unknown = (await (await session.connection()).execute(query)).one()
        return Usage(
            generations=count,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost_usd=round(float(cost), 6),
            cost_unknown=unknown,
        )
