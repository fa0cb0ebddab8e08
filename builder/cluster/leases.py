"""Leases in Redis: a key one worker holds for `ttl_s` and keeps alive while it works; when the worker dies the key
expires, and the others see the work as abandoned instead of waiting for it forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from builder import outages

log = logging.getLogger(__name__)

# Only the holder may keep or drop its lease: compare the value, then act, in one step.
_KEEP = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_DROP = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
_REPLACE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) else return 0 end"
)


async def keep_held(redis: Redis, key: str, value: str, ttl_ms: int) -> bool:
    """Extend `key` for `ttl_ms` if it still holds `value`; False when someone else's now (or gone)."""
    return bool(await redis.eval(_KEEP, 1, key, value, str(ttl_ms)))  # pyright: ignore[reportGeneralTypeIssues]


async def replace_held(redis: Redis, key: str, value: str, new_value: str, ttl_ms: int) -> bool:
    """Write `new_value` to `key` for `ttl_ms` if it still holds `value`; False when someone else's now (or gone)."""
    return bool(await redis.eval(_REPLACE, 1, key, value, new_value, str(ttl_ms)))  # pyright: ignore[reportGeneralTypeIssues]


async def drop_held(redis: Redis, key: str, value: str) -> None:
    """Delete `key` if it still holds `value`."""
    await redis.eval(_DROP, 1, key, value)  # pyright: ignore[reportGeneralTypeIssues]


def worker_name() -> str:
    """This worker's name in leases: its host and process, and a random part (a pid can come back after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Leases:
    def __init__(self, redis: Redis, owner: str, ttl_s: float) -> None:
        self.redis = redis
        self.owner = owner
        self.ttl_ms = int(ttl_s * 1000)

    async def take(self, key: str) -> bool:
        """The lease, if nobody holds it."""
        return bool(await self.redis.set(key, self.owner, nx=True, px=self.ttl_ms))

    async def keep(self, key: str) -> bool:
        """Extend our lease; False when it is not ours any more (it expired and someone else took it)."""
        return await keep_held(self.redis, key, self.owner, self.ttl_ms)

    async def drop(self, key: str) -> None:
        await drop_held(self.redis, key, self.owner)

    async def holder(self, key: str) -> str | None:
        return await self.redis.get(key)

    @contextlib.asynccontextmanager
    async def kept(self, key: str) -> AsyncIterator[None]:
        """Keep a lease we took alive (at a third of its time) for as long as the block runs, then drop it."""

        async def keep_alive() -> None:
            while True:
                await asyncio.sleep(self.ttl_ms / 3000)
                try:
                    if not await self.keep(key):
                        log.warning("the lease %s was lost (this worker was too slow to keep it)", key)
                except Exception as exc:  # Redis away for a moment: try again at the next beat
                    if not outages.noted(exc):
                        log.warning("could not keep the lease %s", key, exc_info=True)

        keeper = asyncio.create_task(keep_alive(), name=f"lease-{key}")
        try:
            yield
        finally:
            keeper.cancel()
            with contextlib.suppress(Exception):
                await self.drop(key)
