"""Records of git pushes: the pushes each person made lately (the hourly caps count them) and what each project's git
repository takes on disk (its owner's storage counts it: members.py sums it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, update
from sqlmodel import col, select

from builder.models import GitPush, Project, utcnow
from builder.store.base import StoreBase

# Pushes are counted over the last hour; older rows count for nothing and are dropped as new ones come.
KEPT = timedelta(days=1)


class GitPushRecords(StoreBase):
    async def git_pushed(self, project_id: str, git_bytes: int, user_id: str | None, size: int) -> None:
        """A push git kept: its project's git repository now takes `git_bytes`; with `user_id`, the person's push of
        `size` bytes is counted (the hourly caps), in the same transaction."""
        async with self._sessions() as session, session.begin():
            await session.exec(update(Project).where(col(Project.id) == project_id).values(git_bytes=git_bytes))
            if user_id is not None:
                await session.exec(insert(GitPush).values(user_id=user_id, size=size, at=utcnow()))
                # Old rows count for nothing; dropped here so the table never grows without bound.
                await session.exec(delete(GitPush).where(col(GitPush.at) < utcnow() - KEPT))

    async def git_pushes(self, user_id: str, since: datetime) -> list[tuple[datetime, int]]:
        """(when, bytes) of each push the person made since `since`, oldest first."""
        query = (
            select(GitPush.at, GitPush.size).where(GitPush.user_id == user_id, col(GitPush.at) >= since).order_by(col(GitPush.at))
        )
        async with self._sessions() as session:
            return [(at, size) for at, size in (await session.exec(query)).all()]

    async def set_git_bytes(self, project_id: str, size: int) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(update(Project).where(col(Project.id) == project_id).values(git_bytes=size))
