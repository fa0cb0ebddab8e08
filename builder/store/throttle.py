"""Records the sign-in throttle reads: failed checks of a secret (per account, address and browser), the accounts made
per address, and the browsers that signed in to an account (their device cookies, kept as SHA-256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from builder.models import SignInAttempt, TrustedDevice, utcnow
from builder.store.base import StoreBase

# Failed checks are kept this long: the Account page tells of those since the person's previous sign-in.
KEPT = timedelta(days=30)
FAILED = "failed"
SIGN_UP = "sign-up"


@dataclass(frozen=True)
class Failures:
    """Failed checks in a window: of one account from one address, of it from everywhere (and the last one's
    moment), from the address whatever the account, and of it through one browser."""

    pair: int
    account: int
    account_last: datetime | None
    address: int
    device: int


@dataclass(frozen=True)
class FailureSummary:
    count: int
    addresses: int
    last_at: datetime | None


class ThrottleRecords(StoreBase):
    async def add_failure(self, key: str, address: str, device: str) -> None:
        async with self._sessions() as session, session.begin():
            session.add(SignInAttempt(email=key[:254], address=address[:64], device=device[:64], kind=FAILED))
            # Old rows count for nothing; dropped here so the table never grows without bound.
            await session.exec(delete(SignInAttempt).where(col(SignInAttempt.at) < utcnow() - KEPT))

    async def failures(self, key: str, address: str, device: str, since: datetime) -> Failures:
        async with self._sessions() as session:
            recent = select(func.count()).where(col(SignInAttempt.at) >= since, SignInAttempt.kind == FAILED)
            pair = (await session.exec(recent.where(SignInAttempt.email == key, SignInAttempt.address == address))).one()
            account = await session.exec(
                select(func.count(), func.max(SignInAttempt.at)).where(
                    col(SignInAttempt.at) >= since, SignInAttempt.kind == FAILED, SignInAttempt.email == key
                )
            )
            count, last = account.one()
            by_address = (await session.exec(recent.where(SignInAttempt.address == address))).one()
            by_device = (
                (await session.exec(recent.where(SignInAttempt.email == key, SignInAttempt.device == device))).one()
                if device
                else 0
            )
        return Failures(pair, count, last, by_address, by_device)

    async def failure_summary(self, key: str, since: datetime) -> FailureSummary:
        """Failed checks of an account since a moment: how many, from how many addresses, the last one's moment."""
        async with self._sessions() as session:
            query = select(func.count(), func.count(func.distinct(SignInAttempt.address)), func.max(SignInAttempt.at)).where(
                col(SignInAttempt.at) > since, SignInAttempt.kind == FAILED, SignInAttempt.email == key
            )
            count, addresses, last = (await session.exec(query)).one()
        return FailureSummary(count, addresses, last)

    async def add_sign_up(self, address: str, key: str = "") -> None:
        """An account made from the address: on Forja (`key` empty) or on what `key` names (an app)."""
        async with self._sessions() as session, session.begin():
            session.add(SignInAttempt(email=key[:254], address=address[:64], kind=SIGN_UP))

    async def sign_ups(self, address: str, since: datetime, key: str = "") -> int:
        async with self._sessions() as session:
            query = select(func.count()).where(
                col(SignInAttempt.at) >= since,
                SignInAttempt.kind == SIGN_UP,
                SignInAttempt.address == address,
                SignInAttempt.email == key[:254],
            )
            return (await session.exec(query)).one()

    async def trust_device(self, token_hash: str, user_id: str) -> None:
        """Remember that this browser signed in to this account (again: its moment moves)."""
        async with self._sessions() as session:
            found = (
                await session.exec(
                    select(TrustedDevice).where(TrustedDevice.token_hash == token_hash, TrustedDevice.user_id == user_id)
                )
            ).first()
            if found is None:
                session.add(TrustedDevice(token_hash=token_hash, user_id=user_id))
            else:
                found.last_used_at = utcnow()
                session.add(found)
            try:
                await session.commit()
            except IntegrityError:
                # The same browser signing in twice at once: the other request remembered it.
                await session.rollback()

    async def device_trusted(self, token_hash: str, user_id: str, since: datetime) -> bool:
        async with self._sessions() as session:
            query = select(func.count()).where(
                TrustedDevice.token_hash == token_hash,
                TrustedDevice.user_id == user_id,
                col(TrustedDevice.last_used_at) >= since,
            )
            return (await session.exec(query)).one() > 0

    async def forget_devices(self, user_id: str) -> None:
        """A password reset: browsers that knew the old password are trusted no more."""
        async with self._sessions() as session, session.begin():
            await session.exec(delete(TrustedDevice).where(col(TrustedDevice.user_id) == user_id))
