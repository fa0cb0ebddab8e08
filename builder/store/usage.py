"""What the server as a whole has done, for the admin page: model use and previews per UTC day, and what a running
preview's row needs (its project's name, when it started)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col, select

from builder.models import Generation, PreviewSession, Project
from builder.store.base import StoreBase
from builder.store.generations import GENERATION_RUNNING


class utc_day(FunctionElement[str]):
    """The UTC calendar day of a stored moment, as 'YYYY-MM-DD', in each database's own terms."""

    type = String()
    inherit_cache = True
    name = "utc_day"


@compiles(utc_day, "sqlite")
def _sqlite_day(element: utc_day, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite keeps moments as UTC text ('2025-03-01 12:00:00.000000'): its date() reads them as they are.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _postgresql_day(element: utc_day, compiler: SQLCompiler, **kw: object) -> str:
    # timestamptz: the day depends on the session's time zone unless it is turned to UTC first.
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class DayModelUse:
    tokens: int
    cost_usd: float
    generations: int


@dataclass(frozen=True)
class StoreHealth:
    dialect: str
    latency_ms: float


class UsageRecords(StoreBase):
    async def model_use_by_day(self, since: datetime) -> dict[str, DayModelUse]:
        """Input and output tokens, estimated cost and generations (repair rounds count) per UTC day from `since`."""
        day = utc_day(col(Generation.created_at))
        query = (
            sa_select(
                day,
                func.coalesce(func.sum(col(Generation.input_tokens) + col(Generation.output_tokens)), 0),
                func.coalesce(func.sum(Generation.cost_usd), 0.0),
                func.count(),
            )
            .where(col(Generation.created_at) >= since)
            .group_by(day)
        )
        async with self._sessions() as session:
            rows = (await (await session.connection()).execute(query)).all()
        return {str(d): DayModelUse(int(tokens), float(cost), int(count)) for d, tokens, cost, count in rows}

    async def previews_by_day(self, since: datetime) -> dict[str, int]:
        """Previews started per UTC day from `since` (share links' and Forja's checks' too)."""
        day = utc_day(col(PreviewSession.started_at))
        query = sa_select(day, func.count()).where(col(PreviewSession.started_at) >= since).group_by(day)
        async with self._sessions() as session:
            rows = (await (await session.connection()).execute(query)).all()
        return {str(d): int(count) for d, count in rows}

    async def running_generations(self) -> int:
        """Generations marked running, in every Forja process that shares this database."""
        query = select(func.count()).select_from(Generation).where(Generation.outcome == GENERATION_RUNNING)
        async with self._sessions() as session:
            return (await session.exec(query)).one()

    async def project_names(self, project_ids: list[str]) -> dict[str, str]:
        """Each project's name (in the trash or not)."""
        if not project_ids:
            return {}
        async with self._sessions() as session:
            rows = await session.exec(select(Project.id, Project.name).where(col(Project.id).in_(project_ids)))
            return dict(rows.all())

    async def preview_starts(self, preview_ids: list[str]) -> dict[str, datetime]:
        """When each recorded preview started."""
        if not preview_ids:
            return {}
        query = select(PreviewSession.id, PreviewSession.started_at).where(col(PreviewSession.id).in_(preview_ids))
        async with self._sessions() as session:
            return dict((await session.exec(query)).all())

    async def ping(self) -> StoreHealth:
        """A `SELECT 1` and how long it took; raises what the database driver raises when it does not answer."""
        started = time.perf_counter()
        async with self._sessions() as session:
            await (await session.connection()).execute(text("SELECT 1"))
        return StoreHealth(self.engine.dialect.name, (time.perf_counter() - started) * 1000)
