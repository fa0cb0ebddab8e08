"""Records of the links an app's people are sent by email (address checks, password resets, invitations) and of how
each app takes new accounts. A link's token is kept only as its SHA-256, and using one is a single UPDATE that only
an unused, unexpired link passes, so two tabs cannot both use it."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlmodel import col, select

from builder.models import AppSession, AppSignUp, AppUser, AppUserToken, utcnow
from builder.store.base import StoreBase


class AppTokenRecords(StoreBase):
    async def add_app_token(self, token: AppUserToken) -> None:
        async with self._sessions() as session, session.begin():
            # Links past their time count for nothing; dropped here so the table never grows without bound.
            await session.exec(delete(AppUserToken).where(col(AppUserToken.expires_at) < utcnow()))
            session.add(token)

    async def app_token(self, project_id: str, scope: str, purpose: str, token_hash: str) -> AppUserToken | None:
        """The unused, unexpired link of this app for `purpose`; None for any other."""
        query = select(AppUserToken).where(
            AppUserToken.token_hash == token_hash,
            AppUserToken.project_id == project_id,
            AppUserToken.scope == scope,
            AppUserToken.purpose == purpose,
            col(AppUserToken.used_at).is_(None),
            AppUserToken.expires_at > utcnow(),
        )
        async with self._sessions() as session:
            return (await session.exec(query)).first()

    async def use_app_token(self, token_id: int) -> bool:
        """Mark the link used; False when it was used (or expired) meanwhile."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            used = await session.exec(
                update(AppUserToken)
                .where(col(AppUserToken.id) == token_id, col(AppUserToken.used_at).is_(None), col(AppUserToken.expires_at) > now)
                .values(used_at=now)
            )
        return bool(used.rowcount)

    async def app_invitations(self, project_id: str, scope: str) -> list[AppUserToken]:
        """The app's invitations not used, withdrawn or expired yet, the latest first."""
        query = select(AppUserToken).where(
            AppUserToken.project_id == project_id,
            AppUserToken.scope == scope,
            AppUserToken.purpose == "invite",
            col(AppUserToken.used_at).is_(None),
            AppUserToken.expires_at > utcnow(),
        )
        async with self._sessions() as session:
            return list((await session.exec(query.order_by(col(AppUserToken.created_at).desc()))).all())

    async def withdraw_app_invitation(self, project_id: str, scope: str, invitation_id: int) -> bool:
        """Mark the app's waiting invitation used, so its link no longer works; False when none by that id waits. Kept
        (until it expires) rather than dropped, so that SQLite cannot give its id to the next invitation."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            withdrawn = await session.exec(
                update(AppUserToken)
                .where(
                    col(AppUserToken.id) == invitation_id,
                    col(AppUserToken.project_id) == project_id,
                    col(AppUserToken.scope) == scope,
                    col(AppUserToken.purpose) == "invite",
                    col(AppUserToken.used_at).is_(None),
                    col(AppUserToken.expires_at) > now,
                )
                .values(used_at=now)
            )
        return bool(withdrawn.rowcount)

    async def verify_app_user(self, user_id: str) -> None:
        async with self._sessions() as session, session.begin():
            user = await session.get(AppUser, user_id)
            if user is not None and user.verified_at is None:
                user.verified_at = utcnow()
                session.add(user)

    async def reset_app_password(self, user_id: str, password_hash: str) -> None:
        """The new password, every session of the person ended and their other reset links voided, in one transaction;
        the address is checked too (the link came to it)."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            user = await session.get(AppUser, user_id)
            if user is None:
                return
            user.password_hash = password_hash
            user.verified_at = user.verified_at or now
            session.add(user)
            await session.exec(delete(AppSession).where(col(AppSession.user_id) == user_id))
            await session.exec(
                update(AppUserToken)
                .where(col(AppUserToken.user_id) == user_id, col(AppUserToken.used_at).is_(None))
                .values(used_at=now)
            )

    async def app_sign_up_mode(self, project_id: str, scope: str) -> str:
        async with self._sessions() as session:
            found = await session.get(AppSignUp, (project_id, scope))
        return found.mode if found is not None else "open"

    async def set_app_sign_up_mode(self, project_id: str, scope: str, mode: str) -> None:
        async with self._sessions() as session, session.begin():
            found = await session.get(AppSignUp, (project_id, scope))
            if found is None:
                session.add(AppSignUp(project_id=project_id, scope=scope, mode=mode))
            else:
                found.mode = mode
                session.add(found)
