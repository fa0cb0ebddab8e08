"""The trash: a project moved there disappears from lists and reads, comes back with its whole history, or is
deleted for good after a while with everything that belongs to it."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import delete, exists, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.errors import NotFound
from builder.models import (
    AcceptanceRun,
    AppDatabase,
    AppDataChange,
    AppDataRow,
    AppEnvVar,
    AppSession,
    AppSignUp,
    AppUser,
    AppUserToken,
    Blob,
    CollabAuthor,
    CollabUpdate,
    FindingConfirmation,
    Generation,
    GitToken,
    Plan,
    PreviewSession,
    Project,
    ProjectMember,
    PublishedApp,
    Release,
    Review,
    ReviewFinding,
    ShareLink,
    Verification,
    Version,
    VersionAuthor,
    VersionFile,
    utcnow,
)
from builder.schemas import ProjectSummary, PurgeResult, TrashedProject
from builder.store.base import COMMIT_ATTEMPTS, IN_CHUNK, StoreBase, of_member

log = logging.getLogger(__name__)


class TrashRecords(StoreBase):
    async def trash(self, project_id: str) -> None:
        """Move a project to the trash: it disappears from lists and reads until restored or purged."""
        async with self._sessions() as session, session.begin():
            project = await self._project(session, project_id)
            project.deleted_at = utcnow()
            session.add(project)

    async def list_trash(self, limit: int | None = None, offset: int = 0, owner: str | None = None) -> list[TrashedProject]:
        """Projects in the trash (`owner`'s, unless None), most recently trashed first."""
        async with self._sessions() as session:
            projects = await session.exec(
                select(Project)
                .where(col(Project.deleted_at).is_not(None), *of_member(owner, owner=True))
                .order_by(col(Project.deleted_at).desc(), col(Project.id))
                .offset(offset)
                .limit(limit)
            )
            trashed: list[TrashedProject] = []
            for project in projects.all():
                assert project.deleted_at is not None
                summary = await self._summary(session, project)
                trashed.append(TrashedProject(**summary.model_dump(), deleted_at=project.deleted_at))
            return trashed

    async def untrash(self, project_id: str) -> ProjectSummary:
        """Bring a project back from the trash, with all its versions."""
        async with self._sessions() as session, session.begin():
            project = await session.get(Project, project_id)
            if project is None or project.deleted_at is None:
                raise NotFound(f"There is no project {project_id!r} in the trash.")
            project.deleted_at = None
            session.add(project)
            await session.flush()
            return await self._summary(session, project)

    async def purge_trashed(self, before: datetime) -> PurgeResult:
        """Delete for good the projects trashed before `before`, with everything that belongs to them.

        Blobs are shared between versions and projects, so only the blobs no remaining version
        refers to are deleted.
        """
        async with self._sessions() as session, session.begin():
            # The UPDATE locks the rows (on SQLite: takes the write lock) so a concurrent restore
            # from the trash either lands first or waits.
            ids = list(
                (
                    await session.exec(
                        update(Project)
                        .where(col(Project.deleted_at).is_not(None), col(Project.deleted_at) < before)
                        .values(deleted_at=Project.deleted_at)
                        .returning(col(Project.id))
                    )
                ).scalars()
            )
            if not ids:
                return PurgeResult(projects=[])
            versions = select(Version.id).where(col(Version.project_id).in_(ids))
            candidates = set(
                (
                    await session.exec(select(VersionFile.blob_hash).where(col(VersionFile.version_id).in_(versions)).distinct())
                ).all()
            )
            version_count = (
                await session.exec(select(func.count()).select_from(Version).where(col(Version.project_id).in_(ids)))
            ).one()
            reviews = select(Review.id).where(col(Review.project_id).in_(ids))
            await session.exec(delete(ReviewFinding).where(col(ReviewFinding.review_id).in_(reviews)))
            for table in (
                AppDataRow,
                AppDataChange,
                AppSession,  # before AppUser, whose rows they refer to
                AppUserToken,
                AppSignUp,
                AppUser,
                ShareLink,
                GitToken,
                PreviewSession,
                Generation,
                AcceptanceRun,
                Verification,
                ProjectMember,
                FindingConfirmation,
                Review,  # before Release and Version, whose rows it refers to
                Release,
                PublishedApp,
                AppEnvVar,
                AppDatabase,
                Plan,
                CollabUpdate,
                CollabAuthor,
            ):
                await session.exec(delete(table).where(col(table.project_id).in_(ids)))
            await session.exec(delete(VersionFile).where(col(VersionFile.version_id).in_(versions)))
            await session.exec(delete(VersionAuthor).where(col(VersionAuthor.version_id).in_(versions)))
            await session.exec(update(Version).where(col(Version.project_id).in_(ids)).values(parent_id=None))
            await session.exec(delete(Version).where(col(Version.project_id).in_(ids)))
            await session.exec(delete(Project).where(col(Project.id).in_(ids)))
        blobs = await self._delete_unused_blobs(candidates)
        log.info("purged %d projects from the trash (%d versions, %d blobs)", len(ids), version_count, blobs)
        return PurgeResult(projects=sorted(ids), versions=version_count, blobs=blobs)

    async def _delete_unused_blobs(self, candidates: set[str]) -> int:
        """Delete the blobs among `candidates` that no version refers to; returns how many."""
        wanted = sorted(candidates)
        deleted = 0
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for attempt in range(COMMIT_ATTEMPTS):
                try:
                    async with self._sessions() as session, session.begin():
                        result = await session.exec(
                            delete(Blob).where(
                                col(Blob.hash).in_(chunk),
                                ~exists().where(col(VersionFile.blob_hash) == col(Blob.hash)),
                            )
                        )
                        deleted += result.rowcount or 0
                    break
                except IntegrityError:
                    # A commit elsewhere started using one of these blobs meanwhile; look again.
                    if attempt == COMMIT_ATTEMPTS - 1:
                        log.warning("left %d unused blobs for the next purge", len(chunk))
        return deleted
