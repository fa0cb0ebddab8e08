"""Which worker runs each share link's preview, in Redis: one preview of a shared version for all the workers.

A visitor's requests for a link land on any worker. The first one to start the version's preview holds its entry (a
lease kept alive while the preview lives); the others send visitors to that preview's address instead of starting
their own, and ask that address whether the app answers (a parked preview's address wakes it, on its own worker).
When the worker dies its entries expire, and the next visit starts the preview again elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis

from builder.cluster.leases import drop_held, keep_held
from preview_runtime.echoes import probe_url
from preview_runtime.runner import PreviewInfo, PreviewState

log = logging.getLogger(__name__)

PREFIX = "forja:preview:"
LEASE_S = 15.0


class SharedPreview(BaseModel):
    worker: str
    preview_id: str
    url: str

    def info(self, project_id: str, version: int) -> PreviewInfo:
        """Another worker's preview, as this one can tell it: its address (whether it answers is asked there)."""
        return PreviewInfo(
            preview_id=self.preview_id,
            project_id=project_id,
            version=version,
            runner="another worker",
            state=PreviewState.running,
            url=self.url,
        )


# preview id -> whether this worker still runs it (not failed, stopped or removed)
Alive = Callable[[str], Awaitable[bool]]


class PreviewDirectory:
    def __init__(self, redis: Redis, worker: str) -> None:
        self.redis = redis
        self.worker = worker
        self.ttl_ms = int(LEASE_S * 1000)
        self._held: dict[str, str] = {}  # key -> the entry's value as stored
        self._keeper: asyncio.Task[None] | None = None

    async def claim(self, key: str, preview_id: str, url: str) -> SharedPreview | None:
        """Take `key` for this worker's preview `preview_id`; the other worker's entry when one holds it already."""
        value = SharedPreview(worker=self.worker, preview_id=preview_id, url=url).model_dump_json()
        for _ in range(3):  # an entry that expires between the two calls is taken on the next round
            if await self.redis.set(PREFIX + key, value, nx=True, px=self.ttl_ms):
                self._held[key] = value
                return None
            if (held := await self.lookup(key)) is not None:
                return held
        return await self.lookup(key)

    async def lookup(self, key: str) -> SharedPreview | None:
        """The entry of the worker that runs the version's preview, if it is another one."""
        raw = await self.redis.get(PREFIX + key)
        if raw is None:
            return None
        try:
            entry = SharedPreview.model_validate_json(raw)
        except ValidationError:
            log.warning("an unreadable shared preview entry %s was ignored", key)
            return None
        return None if entry.worker == self.worker else entry

    async def release(self, key: str) -> None:
        if (value := self._held.pop(key, None)) is not None:
            await drop_held(self.redis, PREFIX + key, value)  # only the holder drops it: its value names the worker

    def keep(self, alive: Alive) -> None:
        """Keep this worker's entries while their previews live (`alive`), and drop the others', in the background."""
        self._keeper = asyncio.create_task(self._keep(alive), name="shared-previews")

    async def _keep(self, alive: Alive) -> None:
        while True:
            await asyncio.sleep(LEASE_S / 3)
            for key, value in list(self._held.items()):
                try:
                    preview_id = SharedPreview.model_validate_json(value).preview_id
                    if not await alive(preview_id):
                        await self.release(key)
                    elif not await keep_held(self.redis, PREFIX + key, value, self.ttl_ms):
                        log.warning("the shared preview entry %s was lost (this worker was too slow to keep it)", key)
                        self._held.pop(key, None)
                except Exception:  # Redis away for a moment: try again at the next beat
                    log.warning("could not keep the shared preview entry %s", key, exc_info=True)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
        for key in list(self._held):
            try:
                await self.release(key)
            except Exception:
                log.warning("could not drop the shared preview entry %s", key, exc_info=True)


def direct(url: str) -> tuple[httpx.URL, dict[str, str]]:
    """Where to send a request for `url`, and its headers: a *.localhost name (browsers send it to loopback, the
    resolver may not know it) is asked for on 127.0.0.1 with the name in the Host header."""
    address = httpx.URL(url)
    if not address.host.endswith(".localhost"):
        return address, {}
    return address.copy_with(host="127.0.0.1"), {"Host": address.netloc.decode()}


async def app_answers(url: str) -> bool:
    """Whether the preview at `url` (another worker's) serves its app. A parked one's address answers with the waking
    page (503) and wakes it, so asking is also how this worker wakes it."""
    address, headers = direct(url)
    try:
        # Not through an HTTP_PROXY of the environment: the workers reach each other directly.
        async with httpx.AsyncClient(timeout=3, trust_env=False) as client:
            return (await client.get(probe_url(str(address)), headers=headers)).status_code == 200
    except httpx.HTTPError:
        return False
