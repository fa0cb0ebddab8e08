"""Co-editing across workers: Yjs updates and cursors relayed through Redis pub/sub, and the editors' seats counted in
Redis, so that people on two workers edit one document and one project's cap holds on all of them.

Without Redis (one worker) `LocalRelay` does the same in the process: nothing to relay, seats counted in a dict.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from builder import outages

log = logging.getLogger(__name__)

CHANNEL = "forja:collab"
SEATS_KEY = "forja:collab:seats:{project_id}"
# A seat lives this long unless its worker renews it: a worker that dies frees its seats within it.
SEAT_TTL_S = 30.0
RENEW_EVERY_S = SEAT_TTL_S / 3


@dataclass(frozen=True)
class Relayed:
    """What another worker's room sent: a Yjs update ("update") or a client's cursor ("awareness": the message as that
    worker checked it, and `sender`, the user id of the person whose cursor it is)."""

    project_id: str
    path: str
    kind: str
    data: bytes
    sender: str = ""


Deliver = Callable[[Relayed], None]


def encode_frame(worker: str, message: Relayed) -> bytes:
    header = json.dumps(
        {"w": worker, "p": message.project_id, "f": message.path, "k": message.kind, "s": message.sender}
    ).encode()
    return header + b"\n" + message.data


def decode_frame(frame: bytes) -> tuple[str, Relayed]:
    """The sending worker and its message; ValueError for a frame that is not a worker's."""
    header, _, data = frame.partition(b"\n")
    fields = json.loads(header)
    if not isinstance(fields, dict) or not {"w", "p", "f", "k"} <= fields.keys():
        raise ValueError("not a co-editing frame")
    return str(fields["w"]), Relayed(str(fields["p"]), str(fields["f"]), str(fields["k"]), data, str(fields.get("s", "")))


class LocalRelay:
    """One worker: no other worker to tell, and the project's editors are all here."""

    def __init__(self) -> None:
        self._seats: dict[str, dict[str, str]] = {}

    async def start(self, deliver: Deliver) -> None:
        del deliver  # nothing comes from elsewhere

    async def publish(self, message: Relayed) -> None:
        del message

    async def take_seat(self, project_id: str, user_id: str, most: int) -> str | None:
        """A seat for `user_id` among the project's editors (a person on several files or tabs takes one place), or None
        when `most` other people hold them all."""
        seats = self._seats.setdefault(project_id, {})
        if user_id not in seats.values() and len(set(seats.values())) >= most:
            return None
        seat = secrets.token_hex(8)
        seats[seat] = user_id
        return seat

    async def free_seat(self, project_id: str, seat: str) -> None:
        self._seats.get(project_id, {}).pop(seat, None)

    async def close(self) -> None:
        self._seats.clear()


class RedisRelay(LocalRelay):
    """Several workers on one Redis: one channel for every room (a worker keeps what its open rooms need), and each
    project's seats in a sorted set scored by when they lapse."""

    def __init__(self, url: str, worker: str) -> None:
        super().__init__()
        # Bytes in and out: Yjs updates are binary (the cluster's own connection decodes text).
        self._redis = Redis.from_url(url, health_check_interval=30)
        self._worker = worker
        self._tasks: list[asyncio.Task[None]] = []
        self._held: dict[str, str] = {}  # seat -> project

    async def start(self, deliver: Deliver) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(deliver), name="collab-relay"),
            asyncio.create_task(self._renew(), name="collab-seats"),
        ]

    async def publish(self, message: Relayed) -> None:
        await self._redis.publish(CHANNEL, encode_frame(self._worker, message))

    async def _listen(self, deliver: Deliver) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        try:
                            worker, relayed = decode_frame(bytes(message["data"]))
                        except ValueError:  # json's errors included
                            log.warning("dropped a message on the co-editing channel that is not a worker's")
                            continue
                        if worker != self._worker:
                            deliver(relayed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("lost the co-editing channel; listening again", exc_info=True)
                await asyncio.sleep(1)

    async def take_seat(self, project_id: str, user_id: str, most: int) -> str | None:
        key, now = SEATS_KEY.format(project_id=project_id), time.time()
        await self._redis.zremrangebyscore(key, 0, now)
        holders = {member.decode().split(" ", 1)[1] for member in await self._redis.zrange(key, 0, -1)}
        if user_id not in holders and len(holders) >= most:
            return None
        seat = secrets.token_hex(8)
        await self._redis.zadd(key, {f"{seat} {user_id}": now + SEAT_TTL_S})
        await self._redis.expire(key, int(SEAT_TTL_S * 2))
        self._held[seat] = f"{project_id} {user_id}"
        return seat

    async def free_seat(self, project_id: str, seat: str) -> None:
        held = self._held.pop(seat, None)
        if held is not None:
            await self._redis.zrem(SEATS_KEY.format(project_id=project_id), f"{seat} {held.split(' ', 1)[1]}")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            try:
                until = time.time() + SEAT_TTL_S
                for seat, held in list(self._held.items()):
                    project_id, user_id = held.split(" ", 1)
                    await self._redis.zadd(SEATS_KEY.format(project_id=project_id), {f"{seat} {user_id}": until})
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("could not renew the co-editing seats; trying again", exc_info=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            for seat, held in list(self._held.items()):
                await self.free_seat(held.split(" ", 1)[0], seat)
        await self._redis.aclose()
