"""What every part of the store shares: its engine, sessions, limits, the project lookup and its summary."""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import Mapping
from typing import TypeVar

from sqlalchemy import delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from builder.db import session_factory
from builder.errors import NotFound
from builder.filetree import Limits
from builder.models import Blob, Generation, Plan, Project, ProjectMember, ProjectRole, Version, VersionFile
from builder.schemas import ProjectSummary

K = TypeVar("K")

COMMIT_ATTEMPTS = 5
# Rows per IN (...) list: well under SQLite's and PostgreSQL's limits on bound parameters.
IN_CHUNK = 500


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def no_project(project_id: str) -> NotFound:
    return NotFound(f"There is no project {project_id!r}. It may have been deleted; see the home page for your projects.")


def of_member(user_id: str | None, owner: bool = False, project_id: Mapped[str] | None = None) -> tuple[ColumnElement[bool], ...]:
    """The condition "the project (`project_id`, default Project.id) is one `user_id` has a role in" (is the owner of,
    with `owner`); none when None: every project."""
    if user_id is None:
        return ()
    members = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id)
    if owner:
        members = members.where(ProjectMember.role == ProjectRole.owner)
    return (col(project_id if project_id is not None else Project.id).in_(members),)


class StoreBase:
    def __init__(self, engine: AsyncEngine, limits: Limits | None = None) -> None:
        self.engine = engine
        self.limits = limits or Limits.from_settings()
        self._sessions = session_factory(engine)
        # Commits to one project run one at a time in this process; another process's is caught by the unique
        # (project, number) pair in _write_version and retried.
        self._commit_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def close(self) -> None:
        await self.engine.dispose()

    async def _project(self, session: AsyncSession, project_id: str) -> Project:
        project = await session.get(Project, project_id)
        if project is None or project.deleted_at is not None:
            raise no_project(project_id)
        return project

    async def _remove_empty_project(self, session: AsyncSession, project: Project) -> None:
        """Delete a project that never got a version, with what it had: generation records, plans and its people."""
        for table in (Generation, Plan, ProjectMember):
            await session.exec(delete(table).where(col(table.project_id) == project.id))
        await session.delete(project)

    async def _keep_blobs(self, session: AsyncSession, contents: Mapping[K, bytes]) -> dict[K, str]:
        """Each content's hash, with a blob added for those the store does not hold yet (contents are stored once)."""
        hashes = {key: content_hash(data) for key, data in contents.items()}
        rows = {digest: {"hash": digest, "size": len(contents[key]), "data": contents[key]} for key, digest in hashes.items()}
        if rows:
            # One statement, not a look-up first: a save's few files are most often new, and each statement costs
            # a trip to the database's thread.
            insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
            await session.exec(insert(Blob).values(list(rows.values())).on_conflict_do_nothing(index_elements=["hash"]))
        return hashes

    async def _summary(self, session: AsyncSession, project: Project) -> ProjectSummary:
        current = await session.get(Version, project.current_version_id) if project.current_version_id else None
        file_count = 0
        if current is not None:
            file_count = (
                await session.exec(select(func.count()).select_from(VersionFile).where(VersionFile.version_id == current.id))
            ).one()
        return ProjectSummary(
            id=project.id,
            name=project.name,
            stack=[s for s in project.stack.split(",") if s],
            file_count=file_count,
            current_version=current.number if current else None,
            created_at=project.created_at,
            updated_at=project.updated_at,
        )
