"""Project logs shared by every worker: one Redis stream that all write to and all read.

`emit` stays synchronous (runners and services call it from anywhere): lines are queued and one writer task adds them
to the stream in order. A reader task follows the stream and delivers every line (this worker's own too) to the local
hub, so `history` and `follow` work as in one process, with the same sequence numbers on every worker: a line's
number comes from its stream id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from redis.asyncio import Redis

from builder import outages
from preview_runtime.logs import LogHub, LogLevel, LogLine, classify

log = logging.getLogger(__name__)

STREAM = "forja:logs"
# Lines kept in the stream, and read by a worker as it starts: every project's last lines, many times over.
RETAIN = 200_000
PRIME = 50_000
READ_BLOCK_MS = 5000


def sequence_of(entry_id: str) -> int:
    """A stream id ("<ms>-<n>") as one growing number, the same on every worker."""
    millis, _, n = entry_id.partition("-")
    return int(millis) * 1000 + int(n or 0)


class SharedLogHub(LogHub):
    def __init__(self, redis: Redis, keep: int = 2000) -> None:
        super().__init__(keep)
        self._redis = redis
        self._outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Read what the stream holds (the last lines of every project), then follow it and start writing."""
        last = "0"
        # Oldest first, at most what each project keeps: enough to show every project's recent lines.
        entries = await self._redis.xrevrange(STREAM, count=PRIME)
        for entry_id, fields in reversed(entries):
            self._from_stream(entry_id, fields)
            last = entry_id
        self._tasks = [
            asyncio.create_task(self._read(last), name="shared-logs-reader"),
            asyncio.create_task(self._write(), name="shared-logs-writer"),
        ]

    async def close(self) -> None:
        """Send what is queued (for a moment at most), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await self._outbox.join()
        for task in self._tasks:
            task.cancel()

    def emit(self, project_id: str, text: str, level: LogLevel | None = None, source: str = "forja") -> None:
        self._outbox.put_nowait(
            {
                "project": project_id,
                "text": self.redacted(project_id, text),
                "level": (level or classify(text)).value,
                "source": source,
                "time": datetime.now(UTC).isoformat(),
            }
        )

    async def _write(self) -> None:
        while True:
            fields = await self._outbox.get()
            while True:
                try:
                    await self._redis.xadd(STREAM, fields, maxlen=RETAIN, approximate=True)  # pyright: ignore[reportArgumentType]
                    self._outbox.task_done()
                    break
                except Exception as exc:  # Redis away for a moment: the line waits, the ones after it too (order)
                    if not outages.noted(exc):
                        log.warning("could not write a log line to Redis; trying again", exc_info=True)
                    await asyncio.sleep(1)

    async def _read(self, last: str) -> None:
        while True:
            try:
                answer = await self._redis.xread({STREAM: last}, block=READ_BLOCK_MS, count=500)
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("could not read the log stream from Redis; trying again", exc_info=True)
                await asyncio.sleep(1)
                continue
            outages.REDIS.answered()
            for _stream, entries in answer or []:
                for entry_id, fields in entries:
                    self._from_stream(entry_id, fields)
                    last = entry_id

    def _from_stream(self, entry_id: str, fields: dict[str, str]) -> None:
        try:
            line = LogLine(
                seq=sequence_of(entry_id),
                time=datetime.fromisoformat(fields["time"]),
                level=LogLevel(fields["level"]),
                source=fields["source"],
                text=fields["text"],
            )
        except (KeyError, ValueError):
            log.warning("a log entry in Redis is not Forja's: %s", entry_id)
            return
        self._deliver(fields["project"], line)
