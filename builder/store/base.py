"""What every part of the store shares: its engine, sessions, limits and the project lookup."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Mapping
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.db import session_factory
from builder.errors import NotFound
from builder.filetree import Limits
from builder.models import Blob, Project

K = TypeVar("K")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class StoreBase:
    def __init__(self, engine: AsyncEngine, limits: Limits | None = None) -> None:
        self.engine = engine
        self.limits = limits or Limits.from_settings()
        self._sessions = session_factory(engine)
        # Commits to one project run one at a time in this process; other processes are
        # caught by the version check in _write_version and retried.
        self._commit_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def close(self) -> None:
        await self.engine.dispose()

    async def _project(self, session: AsyncSession, project_id: str) -> Project:
        project = await session.get(Project, project_id)
        if project is None or project.deleted_at is not None:
            raise NotFound(f"There is no project {project_id!r}. It may have been deleted; see the home page for your projects.")
        return project

    async def _keep_blobs(self, session: AsyncSession, contents: Mapping[K, bytes]) -> dict[K, str]:
        """Each content's hash, with a blob added for those the store does not hold yet (contents are stored once)."""
        hashes = {key: content_hash(data) for key, data in contents.items()}
        known = set((await session.exec(select(Blob.hash).where(col(Blob.hash).in_(set(hashes.values()))))).all())
        for key, digest in hashes.items():
            if digest not in known:
                session.add(Blob(hash=digest, size=len(contents[key]), data=contents[key]))
                known.add(digest)
        return hashes
