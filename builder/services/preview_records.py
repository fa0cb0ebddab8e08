"""The PreviewSession table: each preview started, who started it, the version it holds now, and when it stopped.

The version a project's preview holds changes without a restart (each save is pushed into it), and a runner only knows
the one it started with (a container's label, a parked preview's record). This record follows each push, so a Forja
that restarts and adopts a preview shows the version that really runs in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from builder.db import session_factory
from builder.models import PreviewSession, Version, utcnow
from preview_runtime.runner import PreviewInfo


class PreviewRecords:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    async def started(self, info: PreviewInfo, started_by: str | None = None) -> None:
        """A preview of `info.version` started (`started_by`: the person who asked, if one did)."""
        async with self._sessions() as session, session.begin():
            version_id = await session.scalar(
                select(Version.id).where(col(Version.project_id) == info.project_id, col(Version.number) == info.version)
            )
            session.add(
                PreviewSession(
                    id=info.preview_id,
                    project_id=info.project_id,
                    version_id=version_id,
                    runner=info.runner,
                    status=info.state.value,
                    url=info.url,
                    handle=info.handle,
                    user_id=started_by,
                )
            )

    async def holds(self, preview_id: str, version_id: int) -> None:
        """A saved version was pushed into the running preview."""
        async with self._sessions() as session, session.begin():
            for row in await session.exec(select(PreviewSession).where(col(PreviewSession.id) == preview_id)):
                row.version_id = version_id
                session.add(row)

    async def versions_held(self, preview_ids: Iterable[str]) -> dict[str, int]:
        """Preview id -> the version number it holds, for those of `preview_ids` with a record that says."""
        ids = list(preview_ids)
        if not ids:
            return {}
        async with self._sessions() as session:
            rows = await session.exec(
                select(PreviewSession.id, Version.number)
                .join(Version, col(Version.id) == col(PreviewSession.version_id))
                .where(col(PreviewSession.id).in_(ids))
            )
            return dict(rows.all())

    async def stopped(self, preview_id: str) -> None:
        async with self._sessions() as session, session.begin():
            for row in await session.exec(select(PreviewSession).where(col(PreviewSession.id) == preview_id)):
                row.status, row.stopped_at = "stopped", utcnow()
                session.add(row)
