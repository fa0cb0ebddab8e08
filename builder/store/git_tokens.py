"""Git tokens in the store: each for one person and one project, kept as its SHA-256, until revoked or expired."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from builder.models import ApiToken, GitToken, Project, User, utcnow
from builder.store.accounts import TOUCH_EVERY
from builder.store.base import StoreBase


class GitTokenRecords(StoreBase):
    async def add_git_token(self, token: GitToken) -> str:
        """Keep the token; its project's name (NotFound when the project is gone or in the trash)."""
        async with self._sessions() as session, session.begin():
            project = await self._project(session, token.project_id)
            session.add(token)
            return project.name

    async def git_token(self, token_hash: str) -> tuple[GitToken, User] | None:
        """The token with this hash and its person, revoked or expired too (the caller says which); its last use is
        noted (at most every few minutes) when it still works."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            found = (
                await session.exec(
                    select(GitToken, User)
                    .join(User, col(User.id) == col(GitToken.user_id))
                    .where(GitToken.token_hash == token_hash)
                )
            ).first()
            if found is None:
                return None
            token, user = found
            works = token.revoked_at is None and token.expires_at > now and user.disabled_at is None
            if works and (token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY):
                token.last_used_at = now
                session.add(token)
            return token, user

    async def git_tokens(self, user_id: str, now: datetime) -> list[tuple[GitToken, str]]:
        """The person's git tokens that still work, each with its project's name, newest first."""
        query = (
            select(GitToken, Project.name)
            .join(Project, col(Project.id) == col(GitToken.project_id))
            .where(GitToken.user_id == user_id, col(GitToken.revoked_at).is_(None), col(GitToken.expires_at) > now)
            .order_by(col(GitToken.created_at).desc(), col(GitToken.id).desc())
        )
        async with self._sessions() as session:
            return [(token, name) for token, name in (await session.exec(query)).all()]

    async def count_git_tokens(self, user_id: str, now: datetime) -> int:
        query = (
            select(func.count())
            .select_from(GitToken)
            .where(GitToken.user_id == user_id, col(GitToken.revoked_at).is_(None), col(GitToken.expires_at) > now)
        )
        async with self._sessions() as session:
            return (await session.exec(query)).one()

    async def revoke_git_token(self, user_id: str, token_id: int) -> bool:
        async with self._sessions() as session, session.begin():
            token = await session.get(GitToken, token_id)
            if token is None or token.user_id != user_id or token.revoked_at is not None:
                return False
            token.revoked_at = utcnow()
            session.add(token)
            return True

    async def api_token_id(self, token_hash: str) -> int | None:
        """The id of the working API token with this hash (the one a request came with)."""
        query = select(ApiToken.id).where(ApiToken.token_hash == token_hash, col(ApiToken.revoked_at).is_(None))
        async with self._sessions() as session:
            return (await session.exec(query)).first()
