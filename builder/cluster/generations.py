"""Generations shared by every worker: one runs in the worker that started it, and any worker follows it.

The project's lease (`forja:generation:<id>`) says a generation runs and which worker runs it; that worker keeps it
alive. Its events go to a stream of the project's, emptied when a generation starts and kept for a while after it
ends, so a page served by another worker (or opened later) follows it from its first event. When the lease is gone
but the stream never got its last event, the worker died mid-generation: followers get an error event that says so
(whatever it saved is a whole version; nothing is half-saved). Stop asks the running worker over pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from redis.asyncio import Redis

from builder import outages
from builder.cluster.leases import Leases
from builder.errors import GenerationBusy
from builder.generation.engine import GenerationEvent
from builder.generation.hub import GenerationHub, Publish

log = logging.getLogger(__name__)

LEASE_S = 15.0
KEEP_AFTER_S = 3600  # a generation's events stay readable this long after it ends
CANCEL_CHANNEL = "forja:generation:stop"
END = "end"  # the stream's last entry: the generation's task is over, whatever it published last
READ_BLOCK_MS = 1000
WORKER_GONE = (
    "The Forja worker running this generation stopped before it finished. Versions it saved are kept whole; "
    "nothing was half-saved. Send your request again to go on."
)


def lease_key(project_id: str) -> str:
    return f"forja:generation:{project_id}"


def stream_key(project_id: str) -> str:
    return f"forja:generation:{project_id}:events"


class SharedGenerationHub(GenerationHub):
    shared = True

    def __init__(self, redis: Redis, owner: str, lease_s: float = LEASE_S) -> None:
        super().__init__()
        self._redis = redis
        self._leases = Leases(redis, owner, lease_s)
        self._outbox: dict[str, asyncio.Queue[str | None]] = {}
        self._listener: asyncio.Task[None] | None = None

    async def start_listening(self) -> None:
        """Hear Stop for the generations this worker runs, whichever worker the person clicked it on."""
        self._listener = asyncio.create_task(self._hear_stops(), name="generation-stops")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()

    async def running(self, project_id: str) -> bool:
        return await self._leases.holder(lease_key(project_id)) is not None

    async def start(self, project_id: str, run: Callable[[Publish], Coroutine[Any, Any, GenerationEvent]]) -> None:
        if not await self._leases.take(lease_key(project_id)):
            raise GenerationBusy("This project is already being generated; wait for it to finish.")
        await self._redis.delete(stream_key(project_id))
        outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._outbox[project_id] = outbox

        async def shared(publish: Publish) -> GenerationEvent:
            def both(event: GenerationEvent) -> None:
                publish(event)
                outbox.put_nowait(event.model_dump_json(exclude_none=True))

            async with self._leases.kept(lease_key(project_id)):
                writer = asyncio.create_task(self._write(project_id, outbox), name=f"generation-events-{project_id}")
                try:
                    return await run(both)
                finally:
                    outbox.put_nowait(None)
                    # The last events reach the stream before the lease goes: followers read to the end.
                    await asyncio.shield(writer)

        self._run(project_id, shared)

    async def _write(self, project_id: str, outbox: asyncio.Queue[str | None]) -> None:
        key = stream_key(project_id)
        while (event := await outbox.get()) is not None:
            await self._redis.xadd(key, {"event": event})
        await self._redis.xadd(key, {"event": END})
        await self._redis.expire(key, KEEP_AFTER_S)
        self._outbox.pop(project_id, None)

    async def cancel(self, project_id: str) -> bool:
        if self._cancel_here(project_id):
            return True
        if not await self.running(project_id):
            return False
        await self._redis.publish(CANCEL_CHANNEL, project_id)
        return True

    async def _hear_stops(self) -> None:
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CANCEL_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._cancel_here(str(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("lost the generation stop channel; listening again", exc_info=True)
                await asyncio.sleep(1)

    async def follow(self, project_id: str) -> AsyncIterator[GenerationEvent]:
        """The generation's events from its first, wherever it runs; ends with done or error, or with an error event
        when the worker running it died."""
        key, last = stream_key(project_id), "0"
        while True:
            answer = await self._redis.xread({key: last}, block=READ_BLOCK_MS, count=100)
            entries = [entry for _stream, batch in answer or [] for entry in batch]
            for entry_id, fields in entries:
                last = entry_id
                if fields.get("event") == END:
                    return
                event = GenerationEvent.model_validate_json(fields["event"])
                yield event
                if event.type in ("done", "error"):
                    return
            if entries:
                continue
            if not await self.running(project_id):
                # Nothing new and nobody runs it: read once more (the end may have just landed), then it is over.
                if await self._redis.xread({key: last}, count=1):
                    continue
                if last != "0" or await self._redis.exists(key):
                    yield GenerationEvent(type="error", project_id=project_id, message=WORKER_GONE)
                return

    async def wait(self, project_id: str) -> GenerationEvent | None:
        if self._running_here(project_id):
            return await super().wait(project_id)
        last: GenerationEvent | None = None
        with contextlib.suppress(StopAsyncIteration):
            async for event in self.follow(project_id):
                last = event
        return last
