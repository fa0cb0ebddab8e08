"""Co-edited files' shared documents (their Yjs updates until saved and who changed them) and versions' authors."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.models import CollabAuthor, CollabUpdate, User, VersionAuthor
from builder.store.base import StoreBase


class CollabRecords(StoreBase):
    async def add_collab_update(self, project_id: str, path: str, data: bytes) -> None:
        async with self._sessions() as session, session.begin():
            session.add(CollabUpdate(project_id=project_id, path=path, data=data))

    async def collab_updates(self, project_id: str, path: str) -> list[bytes]:
        """A room's updates, oldest first: applied in any order they give the same document, but in order it is fastest."""
        query = (
            select(CollabUpdate.data)
            .where(CollabUpdate.project_id == project_id, CollabUpdate.path == path)
            .order_by(col(CollabUpdate.id))
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def compact_collab_updates(self, project_id: str, path: str, replaced: int, whole: bytes) -> None:
        """Replace a room's first `replaced` updates by `whole`, one update holding them all (and maybe more)."""
        async with self._sessions() as session, session.begin():
            ids = (
                await session.exec(
                    select(CollabUpdate.id)
                    .where(CollabUpdate.project_id == project_id, CollabUpdate.path == path)
                    .order_by(col(CollabUpdate.id))
                    .limit(replaced)
                )
            ).all()
            await session.exec(delete(CollabUpdate).where(col(CollabUpdate.id).in_(ids)))
            session.add(CollabUpdate(project_id=project_id, path=path, data=whole))

    async def collab_paths(self, project_id: str) -> list[str]:
        """The files of the project that have a shared document."""
        query = select(CollabUpdate.path).where(CollabUpdate.project_id == project_id).distinct()
        async with self._sessions() as session:
            return sorted((await session.exec(query)).all())

    async def add_collab_author(self, project_id: str, path: str, user_id: str) -> None:
        async with self._sessions() as session:
            if await session.get(CollabAuthor, (project_id, path, user_id)) is not None:
                return
            session.add(CollabAuthor(project_id=project_id, path=path, user_id=user_id))
            try:
                await session.commit()
            except IntegrityError:  # another worker added them at the same moment
                await session.rollback()

    async def collab_authors(self, project_id: str, paths: Iterable[str]) -> set[str]:
        wanted = list(paths)
        if not wanted:
            return set()
        query = select(CollabAuthor.user_id).where(CollabAuthor.project_id == project_id, col(CollabAuthor.path).in_(wanted))
        async with self._sessions() as session:
            return set((await session.exec(query)).all())

    async def clear_collab_authors(self, project_id: str, paths: Iterable[str]) -> None:
        query = delete(CollabAuthor).where(col(CollabAuthor.project_id) == project_id, col(CollabAuthor.path).in_(list(paths)))
        async with self._sessions() as session, session.begin():
            await session.exec(query)

    async def set_version_authors(self, version_id: int, user_ids: Iterable[str]) -> None:
        async with self._sessions() as session, session.begin():
            for user_id in sorted(set(user_ids)):
                session.add(VersionAuthor(version_id=version_id, user_id=user_id))

    async def version_authors(self, version_ids: Iterable[int], session: AsyncSession | None = None) -> dict[int, list[str]]:
        """Each version's co-authors' names (or their ids when their account is gone), by version id. In `session` when
        the caller holds one: a second connection per call, taken while holding the first, starved the pool under
        fifty visits at once (each waited for a connection the others held)."""
        wanted = list(version_ids)
        if not wanted:
            return {}
        if session is None:
            async with self._sessions() as session:
                return await self.version_authors(wanted, session)
        query = (
            select(VersionAuthor.version_id, VersionAuthor.user_id, User.name)
            .join(User, col(User.id) == col(VersionAuthor.user_id), isouter=True)
            .where(col(VersionAuthor.version_id).in_(wanted))
            .order_by(col(User.name))
        )
        found: dict[int, list[str]] = {}
        for version_id, user_id, name in (await session.exec(query)).all():
            found.setdefault(version_id, []).append(name or user_id)
        return found
