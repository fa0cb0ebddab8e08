"""Accounts in the store: people, their sign-ins and API tokens, one-time links, failed sign-ins and the
settings an admin changed. Secrets are kept only as SHA-256 hashes (tokens) or argon2 hashes (passwords)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.errors import InvalidInput
from builder.models import (
    LOCAL_USER_ID,
    AccountLink,
    ApiToken,
    GitToken,
    ProjectMember,
    Role,
    ServerSetting,
    SignIn,
    User,
    utcnow,
)
from builder.store.base import StoreBase

# A sign-in or token seen again within this is not written again: a page makes many requests a minute.
TOUCH_EVERY = timedelta(minutes=5)


class AccountRecords(StoreBase):
    # -- people ----------------------------------------------------------------------------------

    async def add_user(self, email: str, name: str, password_hash: str, role: Role) -> User:
        async with self._sessions() as session:
            user = User(email=email, name=name, password_hash=password_hash, role=role)
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                raise InvalidInput(f"There is already an account for {email}; sign in instead.") from None
            return user

    async def user(self, user_id: str) -> User | None:
        async with self._sessions() as session:
            return await session.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        async with self._sessions() as session:
            return (await session.exec(select(User).where(User.email == email))).first()

    async def users(self) -> list[User]:
        """Everyone with an account, oldest first; not the local user of FORJA_AUTH=none."""
        async with self._sessions() as session:
            query = select(User).where(User.id != LOCAL_USER_ID).order_by(col(User.created_at), col(User.id))
            return list((await session.exec(query)).all())

    async def count_users(self) -> int:
        async with self._sessions() as session:
            return (await session.exec(select(func.count()).select_from(User).where(User.id != LOCAL_USER_ID))).one()

    async def update_user(self, user_id: str, **fields: object) -> User | None:
        async with self._sessions() as session, session.begin():
            user = await session.get(User, user_id)
            if user is None:
                return None
            for name, value in fields.items():
                setattr(user, name, value)
            session.add(user)
        return user

    async def adopt_local_projects(self, user_id: str) -> int:
        """The projects made without sign-in (the local user's) become this person's; returns how many."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                update(ProjectMember).where(col(ProjectMember.user_id) == LOCAL_USER_ID).values(user_id=user_id)
            )
            return result.rowcount or 0

    # -- sign-ins and tokens ---------------------------------------------------------------------

    async def add_sign_in(self, user_id: str, token_hash: str, expires_at: datetime, user_agent: str) -> None:
        async with self._sessions() as session, session.begin():
            session.add(SignIn(token_hash=token_hash, user_id=user_id, expires_at=expires_at, user_agent=user_agent[:200]))
            user = await session.get(User, user_id)
            if user is not None:
                user.previous_sign_in_at, user.last_sign_in_at = user.last_sign_in_at, utcnow()
                session.add(user)

    async def signed_in_user(self, token_hash: str, extend_to: datetime) -> User | None:
        """The person of a live sign-in, its expiry moved to `extend_to` (at most every few minutes)."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            sign_in = (await session.exec(select(SignIn).where(SignIn.token_hash == token_hash))).first()
            if sign_in is None or sign_in.expires_at <= now:
                return None
            user = await session.get(User, sign_in.user_id)
            if user is None or user.disabled_at is not None:
                return None
            if now - sign_in.last_seen_at > TOUCH_EVERY:
                sign_in.last_seen_at, sign_in.expires_at = now, extend_to
                session.add(sign_in)
            return user

    async def end_sign_in(self, token_hash: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(delete(SignIn).where(col(SignIn.token_hash) == token_hash))

    async def end_sign_ins(self, user_id: str, keep: str | None = None) -> None:
        """Sign the person out everywhere (but the sign-in whose hash is `keep`)."""
        async with self._sessions() as session, session.begin():
            query = delete(SignIn).where(col(SignIn.user_id) == user_id)
            if keep is not None:
                query = query.where(col(SignIn.token_hash) != keep)
            await session.exec(query)

    async def add_token(self, user_id: str, name: str, token_hash: str, hint: str) -> ApiToken:
        async with self._sessions() as session, session.begin():
            token = ApiToken(user_id=user_id, name=name, token_hash=token_hash, hint=hint)
            session.add(token)
        return token

    async def token_user(self, token_hash: str) -> User | None:
        now = utcnow()
        async with self._sessions() as session, session.begin():
            token = (await session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash))).first()
            if token is None or token.revoked_at is not None:
                return None
            user = await session.get(User, token.user_id)
            if user is None or user.disabled_at is not None:
                return None
            if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
                token.last_used_at = now
                session.add(token)
            return user

    async def tokens(self, user_id: str) -> list[ApiToken]:
        async with self._sessions() as session:
            query = select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
            return list((await session.exec(query.order_by(col(ApiToken.created_at).desc()))).all())

    async def revoke_token(self, user_id: str, token_id: int) -> bool:
        """Revoke the API token, and the git tokens made with it: none outlives its revocation through them."""
        async with self._sessions() as session, session.begin():
            token = await session.get(ApiToken, token_id)
            if token is None or token.user_id != user_id or token.revoked_at is not None:
                return False
            token.revoked_at = now = utcnow()
            session.add(token)
            await session.exec(
                update(GitToken)
                .where(col(GitToken.api_token_id) == token_id, col(GitToken.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            return True

    # -- one-time links --------------------------------------------------------------------------

    async def add_link(self, link: AccountLink) -> AccountLink:
        async with self._sessions() as session, session.begin():
            session.add(link)
        return link

    async def link(self, kind: str, token_hash: str) -> AccountLink | None:
        """An unused, unexpired link of this kind."""
        async with self._sessions() as session:
            found = (
                await session.exec(select(AccountLink).where(AccountLink.kind == kind, AccountLink.token_hash == token_hash))
            ).first()
        if found is None or found.used_at is not None or found.expires_at <= utcnow():
            return None
        return found

    async def use_link(self, link_id: int) -> bool:
        """Mark a link used; False when another request used it first."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                update(AccountLink)
                .where(col(AccountLink.id) == link_id, col(AccountLink.used_at).is_(None))
                .values(used_at=utcnow())
            )
            return bool(result.rowcount)

    async def open_invitations(self) -> list[AccountLink]:
        async with self._sessions() as session:
            query = select(AccountLink).where(
                AccountLink.kind == "invite", col(AccountLink.used_at).is_(None), col(AccountLink.expires_at) > utcnow()
            )
            return list((await session.exec(query.order_by(col(AccountLink.created_at).desc()))).all())

    # -- settings an admin changed ---------------------------------------------------------------

    async def setting(self, key: str) -> str | None:
        async with self._sessions() as session:
            found = await session.get(ServerSetting, key)
            return found.value if found is not None else None

    async def set_setting(self, key: str, value: str) -> None:
        async with self._sessions() as session, session.begin():
            found = await session.get(ServerSetting, key)
            if found is None:
                session.add(ServerSetting(key=key, value=value))
            else:
                found.value, found.updated_at = value, utcnow()
                session.add(found)

    async def setting_once(self, key: str, value: str) -> str:
        """The setting's value, stored as `value` by whichever caller came first (several workers may ask at once)."""
        async with self._sessions() as session:
            session.add(ServerSetting(key=key, value=value))
            try:
                await session.commit()
                return value
            except IntegrityError:
                await session.rollback()
        found = await self.setting(key)
        assert found is not None, f"the setting {key} was stored, then vanished"
        return found
