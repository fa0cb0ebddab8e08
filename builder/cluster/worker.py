"""This worker's place among Forja's workers on one Redis: its connection, its name, the shared hubs, and leading."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from builder import outages
from builder.cluster.collab import RedisRelay
from builder.cluster.generations import SharedGenerationHub
from builder.cluster.leases import Leases, worker_name
from builder.cluster.logs import SharedLogHub
from builder.cluster.presence import SharedPresence
from builder.cluster.previews import SharedPreviewRegistry
from builder.cluster.terminals import TerminalRelay
from builder.errors import ServerUnavailable

log = logging.getLogger(__name__)

LEADER_KEY = "forja:leader"
LEADER_LEASE_S = 15.0


@dataclass
class Cluster:
    redis: Redis
    name: str
    logs: SharedLogHub
    generations: SharedGenerationHub
    previews: SharedPreviewRegistry
    collab: RedisRelay
    presence: SharedPresence
    terminals: TerminalRelay
    lease_s: float = LEADER_LEASE_S

    @classmethod
    async def join(cls, url: str, lease_s: float = LEADER_LEASE_S) -> Cluster:
        """Connect to Redis and start following the shared logs and generations; ServerUnavailable in words when Redis
        does not answer. `lease_s`: how long this worker's leases (the leader's, its generations', previews' and
        publishes') outlive it (FORJA_WORKER_LEASE_S)."""
        redis = Redis.from_url(url, decode_responses=True, health_check_interval=30)
        try:
            await redis.ping()  # pyright: ignore[reportGeneralTypeIssues] (redis-py types sync and async alike)
        except (RedisError, OSError) as exc:
            await redis.aclose()
            where = url.split("@")[-1]  # never a password in a message
            raise ServerUnavailable(
                f"Redis does not answer at {where} (REDIS_URL): {exc}. Start it, or unset REDIS_URL to run one worker alone."
            ) from None
        name = worker_name()
        logs = SharedLogHub(redis)
        await logs.start()
        generations = SharedGenerationHub(redis, name, lease_s)
        await generations.start_listening()
        presence = SharedPresence(redis)
        await presence.start_listening()
        log.info("worker %s joined the workers on Redis %s", name, url.split("@")[-1])
        previews = SharedPreviewRegistry(redis, name, lease_s)
        relay, terminals = RedisRelay(url, name), TerminalRelay(url)
        return cls(redis, name, logs, generations, previews, relay, presence, terminals, lease_s)

    async def leave(self) -> None:
        await self.previews.close()
        await self.presence.close()
        await self.generations.close()
        await self.logs.close()
        await self.terminals.close()
        await self.redis.aclose()

    async def lead(self, work: Callable[[], Awaitable[None]], every_s: float) -> None:
        """Forever: while this worker holds the leader lease, run `work` every `every_s` seconds; when the leader dies,
        another worker takes over within a lease's time."""
        leases = Leases(self.redis, self.name, self.lease_s)
        leading, last = False, 0.0
        while True:
            try:
                leading = await leases.keep(LEADER_KEY) if leading else await leases.take(LEADER_KEY)
                if leading and time.monotonic() - last >= every_s:
                    last = time.monotonic()
                    await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not outages.noted(exc):
                    log.exception("the leader's work failed; trying again")
            await asyncio.sleep(self.lease_s / 3)
