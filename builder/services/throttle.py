"""Slowing down the guessing of secrets without letting anyone lock a person out (after OWASP's authentication
guidance: throttle, do not lock; and device cookies).

Every check of a secret (a sign-in's password, the password change's current one, the setup code) passes `check`
first and reports a failure to `failed`. Failures are counted per (account, address), per account and per address in
a window of 15 minutes. Past FORJA_SIGNIN_ATTEMPTS for one account from one address, that address waits out the
window for that account; past it for the account from everywhere, each further try waits a growing delay (a short 429
until then), so a stranger can slow an account down but never shut it; past ten times as many from one address, that
address waits. A browser that signed in to the account before (its device cookie) is never slowed by others'
failures, only by its own: the owner's browser always gets in with the right password, whatever others try.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta

from builder.errors import TooManyAttempts
from builder.models import utcnow
from builder.settings import settings
from builder.store import ProjectStore

WINDOW = timedelta(minutes=15)
# Many people can share one address (an office, a proxy): it may fail more often than one account.
ADDRESS_FACTOR = 10
# The growing delay doubles from 2 s and stops here: slow enough against guessing, short enough for the owner.
MAX_DELAY_S = 60
# A browser stays trusted this long after it last signed in to the account.
DEVICE_TRUST = timedelta(days=365)
SIGN_UP_WINDOW = timedelta(hours=1)


def address_key(address: str) -> str:
    """What one client's failures are counted under: its address, or for IPv6 its /64 (one machine often holds a
    whole /64, and changing the low bits must not buy more tries)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass(frozen=True)
class Attempt:
    """Who is trying: the client's address and the SHA-256 of its device cookie ("" when it sent none)."""

    address: str
    device: str = ""

    @property
    def key(self) -> str:
        return address_key(self.address)


def delay_s(failures: int) -> int:
    """Seconds an account waits between tries once it had `failures` failed ones (past the limit): 2, 4, 8... at most
    MAX_DELAY_S."""
    return min(2 ** min(failures - settings.signin_attempts + 1, 16), MAX_DELAY_S)


class Throttle:
    def __init__(self, store: ProjectStore) -> None:
        self._store = store

    async def check(self, key: str, attempt: Attempt, user_id: str | None) -> None:
        """TooManyAttempts (429, in words, with how long to wait) when `attempt` may not try the secret of `key` (an
        account's address, or what else is guessed) now."""
        now = utcnow()
        counts = await self._store.failures(key, attempt.key, attempt.device, now - WINDOW)
        limit = settings.signin_attempts
        if user_id and attempt.device and counts.device < limit:
            if await self._store.device_trusted(attempt.device, user_id, now - DEVICE_TRUST):
                return
        if counts.address >= ADDRESS_FACTOR * limit:
            raise TooManyAttempts(
                "Too many failed sign-ins from your address in the last 15 minutes. Wait a quarter of an hour and try again.",
                retry_after=int(WINDOW.total_seconds()),
            )
        if counts.pair >= limit:
            raise TooManyAttempts(
                "Too many failed sign-ins for this account from your address in the last 15 minutes. Wait a quarter of "
                "an hour and try again, or ask an admin for a password reset link.",
                retry_after=int(WINDOW.total_seconds()),
            )
        if counts.account >= limit and counts.account_last is not None:
            wait = (counts.account_last + timedelta(seconds=delay_s(counts.account)) - now).total_seconds()
            if wait > 0:
                seconds = math.ceil(wait)
                raise TooManyAttempts(
                    f"This account had {counts.account} failed sign-ins in the last 15 minutes, so Forja slows down: "
                    f"try again in {seconds} second{'s' if seconds != 1 else ''}. A browser that signed in to it before "
                    "is not slowed down, and neither is an admin's password reset link.",
                    retry_after=seconds,
                )

    async def failed(self, key: str, attempt: Attempt) -> None:
        await self._store.add_failure(key, attempt.key, attempt.device)

    async def check_sign_up(self, attempt: Attempt, key: str = "") -> None:
        """TooManyAttempts when the address made FORJA_SIGNUPS_PER_HOUR accounts in the last hour (on Forja, or on
        what `key` names: each app's are counted apart)."""
        limit = settings.signups_per_hour
        if limit and await self._store.sign_ups(attempt.key, utcnow() - SIGN_UP_WINDOW, key) >= limit:
            raise TooManyAttempts(
                f"{limit} accounts were made from your address in the last hour, the most this Forja allows "
                "(FORJA_SIGNUPS_PER_HOUR). Try again in an hour.",
                retry_after=int(SIGN_UP_WINDOW.total_seconds()),
            )

    async def signed_up(self, attempt: Attempt, key: str = "") -> None:
        await self._store.add_sign_up(attempt.key, key)

    async def trust(self, device: str, user_id: str) -> None:
        await self._store.trust_device(device, user_id)
