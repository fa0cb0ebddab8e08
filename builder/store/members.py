"""Who works on which project, and what the projects a person owns add up to (their count and their storage)."""

from __future__ import annotations

from sqlalchemy import delete, func
from sqlmodel import col, select

from builder.models import Blob, Project, ProjectMember, ProjectRole, User, Version, VersionFile
from builder.store.base import StoreBase


class MemberRecords(StoreBase):
    async def member_role(self, project_id: str, user_id: str) -> ProjectRole | None:
        """The person's role in the project (in the trash or not); None when they have none."""
        async with self._sessions() as session:
            member = await session.get(ProjectMember, (project_id, user_id))
            return member.role if member is not None else None

    async def member_roles(self, user_id: str, project_ids: list[str]) -> dict[str, ProjectRole]:
        if not project_ids:
            return {}
        query = select(ProjectMember).where(ProjectMember.user_id == user_id, col(ProjectMember.project_id).in_(project_ids))
        async with self._sessions() as session:
            return {member.project_id: member.role for member in (await session.exec(query)).all()}

    async def members(self, project_id: str) -> list[tuple[User, ProjectRole]]:
        """Everyone with a role in the project: owners first, then by when they were added."""
        query = (
            select(User, ProjectMember.role)
            .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
            .where(ProjectMember.project_id == project_id)
            .order_by(col(ProjectMember.added_at), col(User.email))
        )
        async with self._sessions() as session:
            rows = [(user, ProjectRole(role)) for user, role in (await session.exec(query)).all()]
        return sorted(rows, key=lambda row: row[1] != ProjectRole.owner)

    async def set_member(self, project_id: str, user_id: str, role: ProjectRole) -> None:
        async with self._sessions() as session, session.begin():
            member = await session.get(ProjectMember, (project_id, user_id))
            if member is None:
                session.add(ProjectMember(project_id=project_id, user_id=user_id, role=role))
            else:
                member.role = role
                session.add(member)

    async def remove_member(self, project_id: str, user_id: str) -> bool:
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                delete(ProjectMember).where(col(ProjectMember.project_id) == project_id, col(ProjectMember.user_id) == user_id)
            )
            return bool(result.rowcount)

    async def owners(self, project_ids: list[str]) -> dict[str, str]:
        """Each project's owner (the first one, when there are several)."""
        if not project_ids:
            return {}
        query = (
            select(ProjectMember.project_id, ProjectMember.user_id)
            .where(col(ProjectMember.project_id).in_(project_ids), ProjectMember.role == ProjectRole.owner)
            .order_by(col(ProjectMember.added_at).desc())
        )
        async with self._sessions() as session:
            return {project_id: user_id for project_id, user_id in (await session.exec(query)).all()}

    async def owned_projects(self, user_id: str) -> int:
        """Projects the person owns, in the trash or not (a trashed project still holds its files)."""
        query = (
            select(func.count())
            .select_from(ProjectMember)
            .where(ProjectMember.user_id == user_id, ProjectMember.role == ProjectRole.owner)
        )
        async with self._sessions() as session:
            return (await session.exec(query)).one()

    async def storage(self, user_id: str, adding: dict[str, int] | None = None) -> tuple[int, int]:
        """What the projects the person owns hold, in one query: the bytes of the distinct file contents in all their
        versions (a content many versions keep counts once), plus those of `adding` ({hash: size}) they do not hold
        yet; and what their git repositories take on disk (Project.git_bytes)."""
        owned = select(ProjectMember.project_id).where(ProjectMember.user_id == user_id, ProjectMember.role == ProjectRole.owner)
        held = (
            select(VersionFile.blob_hash)
            .join(Version, col(Version.id) == col(VersionFile.version_id))
            .where(col(Version.project_id).in_(owned))
            .distinct()
        )
        files = select(func.coalesce(func.sum(Blob.size), 0)).where(col(Blob.hash).in_(held)).scalar_subquery()
        git = select(func.coalesce(func.sum(Project.git_bytes), 0)).where(col(Project.id).in_(owned)).scalar_subquery()
        async with self._sessions() as session:
            total, git_total = (await session.exec(select(files, git))).one()
            if adding:
                known = set((await session.exec(held.where(col(VersionFile.blob_hash).in_(list(adding))))).all())
                total += sum(size for digest, size in adding.items() if digest not in known)
        return int(total), int(git_total)
