"""Published apps and their releases: which name serves which release, and each publish's record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.errors import NameTaken, NotFound
from builder.models import Project, ProjectMember, ProjectRole, PublishedApp, Release, ShareLink, Version, utcnow
from builder.store.base import StoreBase


@dataclass(frozen=True)
class LiveApp:
    """What an app's address serves: its project, its live release (None before the first or once unpublished)."""

    project_id: str
    name: str
    release_id: int | None
    spa: bool
    unpublished: bool
    kind: str = "static"
    number: int | None = None  # the live release's number


@dataclass(frozen=True)
class PinnedRelease:
    """A release a working share link pins, as its own host serves it."""

    project_id: str
    release_id: int
    spa: bool
    ready: bool  # built and not marked pruned (its folder may still be gone: the caller looks)
    unpublished: bool


@dataclass(frozen=True)
class AppRow:
    """A published app as lists show it: its address's name, its project and the release it serves."""

    project_id: str
    project_name: str
    name: str
    live_release_id: int | None
    live_number: int | None
    live_version: int | None
    live_size_bytes: int | None
    unpublished: bool
    trashed: bool
    updated_at: datetime
    live_override_reason: str  # why its owner published the live release despite a critical finding; "" if not


def _app_row(
    project_id: str,
    project_name: str,
    name: str,
    live_id: int | None,
    number: int | None,
    version: int | None,
    size: int | None,
    unpublished_at: datetime | None,
    deleted_at: datetime | None,
    updated_at: datetime,
    override_reason: str | None,
) -> AppRow:
    return AppRow(
        project_id=project_id,
        project_name=project_name,
        name=name,
        live_release_id=live_id,
        live_number=number,
        live_version=version,
        live_size_bytes=size,
        unpublished=unpublished_at is not None,
        trashed=deleted_at is not None,
        updated_at=updated_at,
        live_override_reason=override_reason or "",
    )


def _owned_by(user_id: str):
    return select(ProjectMember.project_id).where(ProjectMember.user_id == user_id, ProjectMember.role == ProjectRole.owner)


class ReleaseRecords(StoreBase):
    async def published_app(self, project_id: str) -> PublishedApp | None:
        async with self._sessions() as session:
            return await session.get(PublishedApp, project_id)

    async def live_app(self, name: str) -> LiveApp | None:
        """What the address `name` serves; None for no such app, or one whose project is gone for good or trashed."""
        query = (
            select(PublishedApp, Release.spa, Release.kind, Release.number)
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .outerjoin(Release, col(Release.id) == col(PublishedApp.live_release_id))
            .where(PublishedApp.name == name, col(Project.deleted_at).is_(None))
        )
        async with self._sessions() as session:
            row = (await session.exec(query)).first()
        if row is None:
            return None
        app, spa, kind, number = row
        return LiveApp(
            app.project_id, app.name, app.live_release_id, bool(spa), app.unpublished_at is not None, kind or "static", number
        )

    async def pinned_release(self, name: str, number: int) -> PinnedRelease | None:
        """Release `number` of the app `name`, when a share link that still works pins it; None otherwise, so a
        release's own host serves nothing that no link gives out (revoked, expired, trashed: nothing)."""
        now = utcnow()
        query = (
            select(PublishedApp, Release)
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .join(Release, col(Release.project_id) == col(PublishedApp.project_id))
            .join(ShareLink, col(ShareLink.release_id) == col(Release.id))
            .where(
                PublishedApp.name == name,
                Release.number == number,
                col(Project.deleted_at).is_(None),
                col(ShareLink.revoked_at).is_(None),
                or_(col(ShareLink.expires_at).is_(None), col(ShareLink.expires_at) > now),
            )
        )
        async with self._sessions() as session:
            row = (await session.exec(query)).first()
        if row is None:
            return None
        app, release = row
        assert release.id is not None
        return PinnedRelease(app.project_id, release.id, release.spa, release.state == "ready", app.unpublished_at is not None)

    async def name_app(self, project_id: str, name: str) -> PublishedApp:
        """Give the project's app the name (made on its first naming); NameTaken when another app has it."""
        async with self._sessions() as session:
            try:
                async with session.begin():
                    await self._project(session, project_id)
                    app = await session.get(PublishedApp, project_id)
                    if app is None:
                        app = PublishedApp(project_id=project_id, name=name)
                    elif app.name == name:
                        return app
                    app.name = name
                    app.updated_at = utcnow()
                    session.add(app)
                    await session.flush()
            except IntegrityError:
                raise NameTaken(f"The name {name!r} is taken by another app; choose another one.") from None
            await session.refresh(app)
            return app

    async def name_taken(self, name: str, project_id: str) -> bool:
        async with self._sessions() as session:
            found = (await session.exec(select(PublishedApp.project_id).where(PublishedApp.name == name))).first()
        return found is not None and found != project_id

    async def new_release(self, project_id: str, version: int, user_id: str | None) -> Release:
        """A release in state building for the project's version (NotFound when it has no such version)."""
        async with self._sessions() as session, session.begin():
            await self._project(session, project_id)
            found = (
                await session.exec(select(Version.id).where(Version.project_id == project_id, Version.number == version))
            ).first()
            if found is None:
                raise NotFound(f"Project {project_id} has no version {version}.")
            last = (await session.exec(select(func.max(Release.number)).where(Release.project_id == project_id))).one()
            release = Release(project_id=project_id, number=(last or 0) + 1, version_id=found, user_id=user_id)
            session.add(release)
            await session.flush()
            await session.refresh(release)
            return release

    async def finish_release(self, release: Release) -> None:
        """Write a release's outcome (its state, figures, error and log)."""
        release.finished_at = utcnow()
        async with self._sessions() as session, session.begin():
            session.add(release)

    async def set_release_state(self, release_id: int, state: str, error: str = "", override_reason: str = "") -> None:
        """A built release stopped by the review (state blocked, `error` saying why), or let live with a reason."""
        values = {"state": state, "error": error, "override_reason": override_reason}
        async with self._sessions() as session, session.begin():
            await session.exec(update(Release).where(col(Release.id) == release_id).values(**values))

    async def releases(self, project_id: str) -> list[tuple[Release, int]]:
        """The project's releases, newest first, each with its version's number."""
        query = (
            select(Release, Version.number)
            .join(Version, col(Version.id) == col(Release.version_id))
            .where(Release.project_id == project_id)
            .order_by(col(Release.number).desc())
        )
        async with self._sessions() as session:
            return [(release, number) for release, number in (await session.exec(query)).all()]

    async def release_version(self, project_id: str, number: int) -> int | None:
        """The number of the version a release published; None for no such release."""
        query = (
            select(Version.number)
            .join(Release, col(Version.id) == col(Release.version_id))
            .where(Release.project_id == project_id, Release.number == number)
        )
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def release(self, project_id: str, number: int) -> Release:
        async with self._sessions() as session:
            found = (
                await session.exec(select(Release).where(Release.project_id == project_id, Release.number == number))
            ).first()
        if found is None:
            raise NotFound(f"Project {project_id} has no release {number}.")
        return found

    async def set_live(self, project_id: str, release_id: int | None, unpublished: bool = False) -> None:
        """Point the app's address at a release (or at nothing, 410, when unpublished)."""
        now = utcnow()
        values: dict[str, object] = {"updated_at": now, "unpublished_at": now if unpublished else None}
        if not unpublished:
            values["live_release_id"] = release_id
        async with self._sessions() as session, session.begin():
            result = await session.exec(update(PublishedApp).where(col(PublishedApp.project_id) == project_id).values(**values))
            if not result.rowcount:
                raise NotFound(f"Project {project_id} is not published.")

    async def mark_pruned(self, release_ids: list[int]) -> None:
        if not release_ids:
            return
        async with self._sessions() as session, session.begin():
            await session.exec(update(Release).where(col(Release.id).in_(release_ids)).values(state="pruned"))

    async def running_builds(self) -> list[Release]:
        """Releases still building: after a restart, their builds are gone."""
        async with self._sessions() as session:
            return list((await session.exec(select(Release).where(Release.state == "building"))).all())

    async def app_rows(self, project_ids: list[str] | None = None) -> list[AppRow]:
        """The published apps of these projects (None: every project's, newest change first), each with its live
        release, in one query."""
        if project_ids is not None and not project_ids:
            return []
        # sqlmodel's select takes at most four columns; this is SQLAlchemy's, run on the connection.
        query = (
            sa_select(
                col(PublishedApp.project_id),
                col(Project.name),
                col(PublishedApp.name),
                col(PublishedApp.live_release_id),
                col(Release.number),
                col(Version.number),
                col(Release.size_bytes),
                col(PublishedApp.unpublished_at),
                col(Project.deleted_at),
                col(PublishedApp.updated_at),
                col(Release.override_reason),
            )
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .outerjoin(Release, col(Release.id) == col(PublishedApp.live_release_id))
            .outerjoin(Version, col(Version.id) == col(Release.version_id))
            .order_by(col(PublishedApp.updated_at).desc())
        )
        if project_ids is not None:
            query = query.where(col(PublishedApp.project_id).in_(project_ids))
        async with self._sessions() as session:
            rows = (await (await session.connection()).execute(query)).all()
        return [_app_row(*row) for row in rows]

    async def live_apps_owned(self, user_id: str, besides: str | None = None) -> int:
        """Apps of the person's projects that serve a release now (taken-down ones and those in the trash do not),
        leaving out the project `besides`."""
        query = (
            select(func.count())
            .select_from(PublishedApp)
            .join(Project, col(Project.id) == col(PublishedApp.project_id))
            .where(
                col(PublishedApp.project_id).in_(_owned_by(user_id)),
                col(PublishedApp.live_release_id).is_not(None),
                col(PublishedApp.unpublished_at).is_(None),
                col(Project.deleted_at).is_(None),
            )
        )
        if besides is not None:
            query = query.where(PublishedApp.project_id != besides)
        async with self._sessions() as session:
            return (await session.exec(query)).one()

    async def build_seconds(self, user_id: str, since: datetime) -> float:
        """Seconds of publish builds of the person's projects' releases made since `since` (failed ones too)."""
        query = select(func.coalesce(func.sum(Release.build_s), 0.0)).where(
            col(Release.project_id).in_(_owned_by(user_id)), col(Release.created_at) >= since
        )
        async with self._sessions() as session:
            return float((await session.exec(query)).one())
