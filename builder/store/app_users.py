"""Records of the people with an account on an app Forja serves (not Forja's own accounts: builder/store/accounts.py)
and of their sessions. Each is the app's alone: every read names the project and the scope, and a session's token is
kept only as its SHA-256, so the database never holds one that works."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.errors import InvalidInput
from builder.models import AppSession, AppUser, AppUserToken, Project, utcnow
from builder.store.base import StoreBase


class AppUserRecords(StoreBase):
    async def add_app_user(self, project_id: str, scope: str, email: str, password_hash: str, role: str) -> AppUser:
        async with self._sessions() as session:
            user = AppUser(project_id=project_id, scope=scope, email=email, password_hash=password_hash, role=role)
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                raise InvalidInput(f"There is already an account for {email} here; sign in instead.") from None
            return user

    async def app_user_by_email(self, project_id: str, scope: str, email: str) -> AppUser | None:
        query = select(AppUser).where(AppUser.project_id == project_id, AppUser.scope == scope, AppUser.email == email)
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def set_app_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._sessions() as session, session.begin():
            user = await session.get(AppUser, user_id)
            if user is not None:
                user.password_hash = password_hash
                session.add(user)

    async def add_app_session(self, user: AppUser, token_hash: str, expires_at: datetime) -> None:
        async with self._sessions() as session, session.begin():
            session.add(
                AppSession(
                    token_hash=token_hash,
                    user_id=user.id,
                    project_id=user.project_id,
                    scope=user.scope,
                    expires_at=expires_at,
                )
            )

    async def app_session_user(self, project_id: str, scope: str, token_hash: str) -> AppUser | None:
        """The user of a live session of this app (project and scope); None for another app's, an expired one or a
        disabled user's."""
        # One query, not the session and then its user: every request of an app's data asks this first.
        query = (
            select(AppUser, AppSession.expires_at)
            .join(AppSession, col(AppSession.user_id) == col(AppUser.id))
            .where(AppSession.token_hash == token_hash, AppSession.project_id == project_id, AppSession.scope == scope)
        )
        async with self._sessions() as session:
            found = (await session.exec(query)).first()
        if found is None:
            return None
        user, expires_at = found
        if expires_at <= utcnow() or user.disabled_at is not None:
            return None
        return user

    async def end_app_session(self, project_id: str, scope: str, token_hash: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(
                delete(AppSession).where(
                    col(AppSession.token_hash) == token_hash,
                    col(AppSession.project_id) == project_id,
                    col(AppSession.scope) == scope,
                )
            )
            # Expired sessions count for nothing; dropped here so the table never grows without bound.
            await session.exec(delete(AppSession).where(col(AppSession.expires_at) < utcnow()))

    async def app_name(self, project_id: str) -> str:
        """The app's name, as its people see it: its project's."""
        async with self._sessions() as session:
            project = await session.get(Project, project_id)
        return project.name if project is not None else ""

    # -- the people of an app, as its owner manages them --

    async def app_users(self, project_id: str, scope: str) -> list[AppUser]:
        """The app's people, the first to sign up first."""
        query = (
            select(AppUser)
            .where(AppUser.project_id == project_id, AppUser.scope == scope)
            .order_by(col(AppUser.created_at), col(AppUser.email))
        )
        async with self._sessions() as session:
            return list((await session.exec(query)).all())

    async def app_user(self, project_id: str, scope: str, user_id: str) -> AppUser | None:
        """One of the app's people; None for anyone else's id (another app's person is not this app's)."""
        async with self._sessions() as session:
            user = await session.get(AppUser, user_id)
        return user if user is not None and (user.project_id, user.scope) == (project_id, scope) else None

    async def set_app_user(self, user_id: str, *, role: str | None = None, disabled: bool | None = None) -> AppUser | None:
        """Change a person's role or turn their account off (which ends their sessions at once, in the same
        transaction) or on again; None when there is no such account."""
        async with self._sessions() as session, session.begin():
            user = await session.get(AppUser, user_id)
            if user is None:
                return None
            if role is not None:
                user.role = role
            if disabled is not None:
                user.disabled_at = (user.disabled_at or utcnow()) if disabled else None
                if disabled:
                    await session.exec(delete(AppSession).where(col(AppSession.user_id) == user_id))
            session.add(user)
        return user

    async def remove_app_user(self, user_id: str) -> bool:
        """The account, its sessions and the links sent to it, for good; False when there was none."""
        async with self._sessions() as session, session.begin():
            await session.exec(delete(AppSession).where(col(AppSession.user_id) == user_id))
            await session.exec(delete(AppUserToken).where(col(AppUserToken.user_id) == user_id))
            removed = await session.exec(delete(AppUser).where(col(AppUser.id) == user_id))
        return bool(removed.rowcount)
