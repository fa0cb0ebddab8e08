"""Who has a project open right now: one entry per open page (browser tab), kept alive by its page's heartbeat; in one
process (`PresenceService`) or shared by every worker through Redis (`SharedPresence`).

A page joins when it opens the project, says where it moves (tab, file, a generation it asked for), beats every
HEARTBEAT_S and leaves when its socket goes. A page that never says goodbye (a crashed browser, a killed worker) drops
out once its entry is TTL_S old. Watchers (every open page, through PresenceState) get the project's list each time it
changes.

Shared, per project, a hash holds each open page's entry and a sorted set when each expires (the page's heartbeat pushes
it on); both keys expire on their own once nobody beats. A change (a join, a move, a leave, an entry found expired) is
published on one channel with the project's id; each worker listens once and wakes its own watchers, which read the
list again from Redis. So a page served by one worker sees a person join on another within a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncGenerator

from redis.asyncio import Redis

from builder import outages
from builder.schemas import PresenceInfo

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
# Three beats missed: the page is gone (a beat can be late under load without the person flickering away).
TTL_S = 15.0

CHANNEL = "forja:presence"

# SharedPresence.move: KEYS entries and expiry; ARGV session, entry, now, its new expiry, the keys' lifetime in ms.
GONE, SAME, CHANGED = 0, 1, 2
MOVE = """
local expires = redis.call('ZSCORE', KEYS[2], ARGV[1])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 or not expires or tonumber(expires) <= tonumber(ARGV[3]) then
  return 0
end
local before = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
if before == ARGV[2] then return 1 end
return 2
"""


def entries_key(project_id: str) -> str:
    return f"forja:presence:{project_id}"


def expiry_key(project_id: str) -> str:
    return f"forja:presence:{project_id}:until"


class PresenceService:
    """One process's presence: the entries in a dict, the watchers woken through events."""

    def __init__(self, ttl_s: float = TTL_S) -> None:
        self.ttl_s = ttl_s
        # project -> session -> (entry, when it expires on time.monotonic's clock)
        self._entries: dict[str, dict[str, tuple[PresenceInfo, float]]] = defaultdict(dict)
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)

    async def put(self, project_id: str, entry: PresenceInfo) -> None:
        """The page is there, at this place (its follower's join and heartbeats); watchers hear it when it changed."""
        before = self._entries[project_id].get(entry.session)
        self._entries[project_id][entry.session] = (entry, time.monotonic() + self.ttl_s)
        if before is None or before[0] != entry:
            self._wake(project_id)

    async def move(self, project_id: str, entry: PresenceInfo) -> bool:
        """The page is at this place now, if it is still present: False (and nothing kept) once it left or expired.

        A move comes from whatever the person did last (a tab, a file, the end of a generation they asked for), in a
        task of its own that can finish after the page's follower said goodbye; kept, it would show a closed tab until
        its TTL. Only the follower, which alone leaves, joins (put)."""
        current = self._entries[project_id].get(entry.session)
        if current is None or current[1] <= time.monotonic():
            return False
        await self.put(project_id, entry)
        return True

    async def leave(self, project_id: str, session: str) -> None:
        if self._entries[project_id].pop(session, None) is not None:
            self._wake(project_id)

    async def here(self, project_id: str) -> list[PresenceInfo]:
        """The project's open pages, first come first; entries whose heartbeat stopped are dropped (and said)."""
        now, entries = time.monotonic(), self._entries[project_id]
        expired = [session for session, (_, until) in entries.items() if until <= now]
        for session in expired:
            del entries[session]
        if expired:
            self._wake(project_id)
        return sorted((entry for entry, _ in entries.values()), key=lambda e: (e.since, e.session))

    async def looked_up(self, project_id: str) -> list[PresenceInfo] | None:
        """The list for a watcher: `here`, or None when it cannot be read now (the shared presence's Redis away)."""
        return await self.here(project_id)

    async def watch(self, project_id: str) -> AsyncGenerator[list[PresenceInfo]]:
        """The project's list now, then each time it changes (an entry that expires counts: the list is read again
        every third of the TTL, as no event says so)."""
        woken = asyncio.Event()
        self._watchers[project_id].add(woken)
        try:
            last: list[PresenceInfo] | None = None
            while True:
                woken.clear()
                people = await self.looked_up(project_id)
                if people is not None and people != last:
                    last = people
                    yield people
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ttl_s / 3):
                        await woken.wait()
        finally:
            self._watchers[project_id].discard(woken)
            if not self._watchers[project_id]:
                del self._watchers[project_id]

    def _wake(self, project_id: str) -> None:
        """This process's watchers of the project read the list again."""
        for woken in self._watchers.get(project_id, ()):
            woken.set()

    async def close(self) -> None:
        """Nothing to let go of in one process; the shared presence stops listening."""


class SharedPresence(PresenceService):
    def __init__(self, redis: Redis, ttl_s: float = TTL_S) -> None:
        super().__init__(ttl_s)
        self._redis = redis
        self._listener: asyncio.Task[None] | None = None
        self._move = redis.register_script(MOVE)

    async def start_listening(self) -> None:
        self._listener = asyncio.create_task(self._hear_changes(), name="presence-changes")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()

    async def put(self, project_id: str, entry: PresenceInfo) -> None:
        data = entry.model_dump_json()
        keep_ms = int(self.ttl_s * 2000)
        with outages.ridden_out():  # Redis away: the page's next beat puts it again
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hget(entries_key(project_id), entry.session)
                pipe.hset(entries_key(project_id), entry.session, data)
                pipe.zadd(expiry_key(project_id), {entry.session: time.time() + self.ttl_s})
                pipe.pexpire(entries_key(project_id), keep_ms)
                pipe.pexpire(expiry_key(project_id), keep_ms)
                before, *_ = await pipe.execute()
            if before != data:
                await self._redis.publish(CHANNEL, project_id)

    async def move(self, project_id: str, entry: PresenceInfo) -> bool:
        moved = SAME  # Redis away: the page stays as it was, and its next beat says where it is
        with outages.ridden_out():
            # One script, so a leave from another worker cannot fall between the look and the write.
            moved = await self._move(
                keys=[entries_key(project_id), expiry_key(project_id)],
                args=[entry.session, entry.model_dump_json(), time.time(), time.time() + self.ttl_s, int(self.ttl_s * 2000)],
            )
            if moved == CHANGED:
                await self._redis.publish(CHANNEL, project_id)
        return moved != GONE

    async def leave(self, project_id: str, session: str) -> None:
        with outages.ridden_out():  # Redis away: the entry expires by itself (Redis restarted empty: it is gone)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(entries_key(project_id), session)
                pipe.zrem(expiry_key(project_id), session)
                removed, _ = await pipe.execute()
            if removed:
                await self._redis.publish(CHANNEL, project_id)

    async def looked_up(self, project_id: str) -> list[PresenceInfo] | None:
        with outages.ridden_out():
            return await self.here(project_id)
        return None  # Redis away: the watchers keep what they showed until it answers

    async def here(self, project_id: str) -> list[PresenceInfo]:
        now = time.time()
        expired: list[str] = await self._redis.zrangebyscore(expiry_key(project_id), "-inf", now)
        if expired:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(expiry_key(project_id), *expired)
                pipe.hdel(entries_key(project_id), *expired)
                await pipe.execute()
            await self._redis.publish(CHANNEL, project_id)
        people: list[PresenceInfo] = []
        for data in (await self._redis.hgetall(entries_key(project_id))).values():  # pyright: ignore[reportGeneralTypeIssues]
            try:
                people.append(PresenceInfo.model_validate_json(data))
            except ValueError:
                log.warning("a presence entry in Redis is not Forja's, in project %s", project_id)
        return sorted(people, key=lambda e: (e.since, e.session))

    async def _hear_changes(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("lost the presence channel; listening again", exc_info=True)
                await asyncio.sleep(1)
