"""Records of git pushes: the pushes each person made lately (the hourly caps count them) and what each project's git
repository takes on disk (its owner's storage counts it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import col, select

from builder.models import GitPush, Project, ProjectMember, ProjectRole, utcnow
from builder.store.base import StoreBase

# Pushes are counted over the last hour; older rows count for nothing and are dropped as new ones come.
KEPT = timedelta(days=1)


class GitPushRecords(StoreBase):
    async def add_git_push(self, user_id: str, size: int) -> None:
        async with self._sessions() as session, session.begin():
            session.add(GitPush(user_id=user_id, size=size))
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

    async def git_bytes(self, user_id: str) -> int:
        """What the git repositories of the projects the person owns take on disk."""
        owned = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id, ProjectMember.role == ProjectRole.owner)
        query = select(func.coalesce(func.sum(Project.git_bytes), 0)).where(col(Project.id).in_(owned))
        async with self._sessions() as session:
            return int((await session.exec(query)).one())
