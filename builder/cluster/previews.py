"""Which worker runs each preview: one preview per project (and per shared version) for all of Forja's workers.

A preview runs in one worker, the one that started it; the others answer for it from its entry here (its state,
version and address, kept current by its worker) and ask its worker to act on it (stop, restart, push a save,
Select mode, run a command) through `call`. A worker alone needs none of that: this class is the registry of a
worker with no others, and builder/cluster/previews.py keeps the same entries in Redis for several workers.

Beside the previews, what a worker builds for them (a publish of a project, `working`) is held the same way, so that
every worker knows whether the worker doing it is still alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis

from builder import outages
from builder.cluster.leases import Leases, drop_held, replace_held
from builder.errors import ForjaError, PreviewError
from preview_runtime.direct_http import direct_client
from preview_runtime.echoes import probe_url
from preview_runtime.preview_headers import app_answered
from preview_runtime.runner import PreviewInfo

log = logging.getLogger(__name__)


class PreviewEntry(BaseModel):
    """A preview as any worker can tell it: which worker runs it, and its last known state there."""

    worker: str
    info: PreviewInfo


# preview id -> its state now, while this worker still runs it (None once it failed, stopped or was removed)
Current = Callable[[str], Awaitable[PreviewInfo | None]]
# An operation another worker asks of this one: (its arguments) -> a JSON-able answer
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class WorkerGone(PreviewError):
    """The worker that runs a preview did not answer: it stopped, or is too busy to."""

    status = 503


class PreviewRegistry:
    """The registry of a worker alone: every preview it knows of is its own, so there is never another to ask."""

    shared = False

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self._selecting: set[str] = set()
        self._admitting = asyncio.Lock()
        self._working: set[str] = set()

    @contextlib.asynccontextmanager
    async def admission(self) -> AsyncIterator[None]:
        """Held from a preview's admission (its count against a quota or a pool) until its entry counts it: one at a
        time, so two starts never both take the last place."""
        async with self._admitting:
            yield

    @contextlib.asynccontextmanager
    async def working(self, key: str) -> AsyncIterator[bool]:
        """Held while this worker does the work `key` names (a publish of a project), for every worker to see
        (`worked_on`) until it ends or this worker dies; yields False, holding nothing, when a worker does it already."""
        if key in self._working:
            yield False
            return
        self._working.add(key)
        try:
            yield True
        finally:
            self._working.discard(key)

    async def worked_on(self, key: str) -> bool:
        """Whether a live worker does the work `key` names."""
        return key in self._working

    async def claim(self, key: str, info: PreviewInfo) -> PreviewEntry | None:
        """Take `key` for this worker's preview; the entry of the worker that holds it already, if another does."""
        return None

    async def lookup(self, key: str) -> PreviewEntry | None:
        """The entry of `key` when another worker runs its preview."""
        return None

    async def update(self, key: str, info: PreviewInfo) -> None:
        """The new state of this worker's preview of `key`, for the others."""

    async def release(self, key: str) -> None:
        """This worker's preview of `key` is gone."""

    async def elsewhere(self) -> dict[str, PreviewEntry]:
        """Every preview other workers run, by key."""
        return {}

    async def selecting(self, project_id: str) -> bool:
        """Whether Select mode is on for the project's preview, on whichever worker it runs."""
        return project_id in self._selecting

    async def set_selecting(self, project_id: str, on: bool) -> None:
        if on:
            self._selecting.add(project_id)
        else:
            self._selecting.discard(project_id)

    def serve(self, handlers: dict[str, Handler], current: Current) -> None:
        """Answer other workers' calls with `handlers`, and keep this worker's entries alive and current (`current`)
        while their previews live. Nobody else calls a worker alone."""

    async def call(self, worker: str, operation: str, arguments: dict[str, Any], timeout_s: float) -> Any:
        raise WorkerGone(f"No other Forja worker runs this preview (asked for {operation!r} on {worker}).")

    async def tell_others(self, operation: str, arguments: dict[str, Any]) -> None:
        """Every other worker does `operation` (with the handlers `serve` got); nobody waits for it. Alone: nobody."""

    async def close(self) -> None:
        """Drop this worker's entries (a restarted worker claims again what it takes back)."""


ENTRY_PREFIX = "forja:preview:entry:"
WORK_PREFIX = "forja:work:"
SELECTING_KEY = "forja:preview:selecting"
LEASE_S = 15.0
ADMISSION_KEY = "forja:preview:admission"
# An admission takes a few queries; a worker that died holding one frees it after this.
ADMISSION_LEASE_MS = 10_000
ADMISSION_WAIT_S = 30.0
# How long a call's answer waits to be read before Redis drops it.
REPLY_KEEP_MS = 30_000

# Take the key when it is free, or when its entry is of the same preview (this worker took it back after a restart,
# under a new worker name): compare, then act, in one step.
_CLAIM = """
local held = redis.call('get', KEYS[1])
if held and cjson.decode(held)['info']['preview_id'] ~= ARGV[2] then return held end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[3])
return false
"""


# What every worker hears (tell_others): no worker's name is this (names hold a host and a process id).
EVERYONE_CHANNEL = "forja:preview:everyone"


def calls_channel(worker: str) -> str:
    return f"forja:preview:calls:{worker}"


class Call(BaseModel):
    id: str  # "" for a call told to every worker, which nobody answers
    operation: str
    arguments: dict[str, Any]
    origin: str = ""  # the worker that told everyone (it does the operation itself, not through the channel)


class Reply(BaseModel):
    ok: bool
    value: Any = None
    status: int = 500
    message: str = ""
    body: dict[str, Any] = {}


class RemoteRefusal(PreviewError):
    """What the worker running a preview answered when it refused or failed an operation: its status, its sentence
    and the rest of its answer (a quota's numbers)."""

    def __init__(self, message: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self._body = body

    def body(self) -> dict[str, object]:
        return self._body or super().body()


class SharedPreviewRegistry(PreviewRegistry):
    """The entries in Redis, for several workers: each keeps its own alive (a lease) while their previews live, so a
    dead worker's entries expire within LEASE_S; calls go over pub/sub to the holder, answers come back in a list."""

    shared = True

    def __init__(self, redis: Redis, worker: str, lease_s: float = LEASE_S) -> None:
        super().__init__(worker)
        self.redis = redis
        self.lease_s = lease_s
        self.ttl_ms = int(lease_s * 1000)
        self._held: dict[str, str] = {}  # key -> the entry's value as stored
        # One change of this worker's entries at a time: each compares the value the last one stored.
        self._writing = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[None]] = []

    def _value(self, info: PreviewInfo) -> str:
        return PreviewEntry(worker=self.worker, info=info).model_dump_json()

    @contextlib.asynccontextmanager
    async def admission(self) -> AsyncIterator[None]:
        """One admission at a time on this worker, then across the workers (a lease in Redis)."""
        async with self._admitting:
            holder, deadline = secrets.token_hex(8), time.monotonic() + ADMISSION_WAIT_S
            while not await self.redis.set(ADMISSION_KEY, holder, nx=True, px=ADMISSION_LEASE_MS):
                if time.monotonic() > deadline:
                    raise PreviewError("Forja is busy starting other previews; try again in a moment.")
                await asyncio.sleep(0.02)
            try:
                yield
            finally:
                await drop_held(self.redis, ADMISSION_KEY, holder)

    @contextlib.asynccontextmanager
    async def working(self, key: str) -> AsyncIterator[bool]:
        """A lease in Redis (WORK_PREFIX + key) this worker keeps alive while the work lasts: a worker that dies drops
        it within LEASE_S."""
        leases = Leases(self.redis, self.worker, self.lease_s)
        if not await leases.take(WORK_PREFIX + key):
            yield False
            return
        async with leases.kept(WORK_PREFIX + key):
            yield True

    async def worked_on(self, key: str) -> bool:
        return bool(await self.redis.exists(WORK_PREFIX + key))

    async def claim(self, key: str, info: PreviewInfo) -> PreviewEntry | None:
        value = self._value(info)
        held = await self.redis.eval(_CLAIM, 1, ENTRY_PREFIX + key, value, info.preview_id, str(self.ttl_ms))  # pyright: ignore[reportGeneralTypeIssues]
        if held is None:
            self._held[key] = value
            return None
        return _entry(key, held)

    async def lookup(self, key: str) -> PreviewEntry | None:
        raw = await self.redis.get(ENTRY_PREFIX + key)
        entry = _entry(key, raw) if raw is not None else None
        return None if entry is None or entry.worker == self.worker else entry

    async def update(self, key: str, info: PreviewInfo) -> None:
        async with self._writing:
            held = self._held.get(key)
            if held is None:
                return
            value = self._value(info)
            if await replace_held(self.redis, ENTRY_PREFIX + key, held, value, self.ttl_ms):
                self._held[key] = value
            elif await self.claim(key, info) is None:
                # The lease ran out while this worker was too busy to renew it (seen under CI's load), and no other
                # worker has started a preview of the key since: the other workers see this one again.
                log.warning("the preview entry %s had expired; this worker, still running the preview, took it again", key)
            else:
                log.warning("the preview entry %s was lost (this worker was too slow to keep it)", key)
                self._held.pop(key, None)

    async def release(self, key: str) -> None:
        async with self._writing:
            if (value := self._held.pop(key, None)) is not None:
                await drop_held(self.redis, ENTRY_PREFIX + key, value)  # only the holder drops it: its value names it

    async def elsewhere(self) -> dict[str, PreviewEntry]:
        found: dict[str, PreviewEntry] = {}
        async for name in self.redis.scan_iter(match=ENTRY_PREFIX + "*", count=500):
            raw = await self.redis.get(name)
            key = name.removeprefix(ENTRY_PREFIX)
            if raw is not None and (entry := _entry(key, raw)) is not None and entry.worker != self.worker:
                found[key] = entry
        return found

    async def selecting(self, project_id: str) -> bool:
        try:
            return bool(await self.redis.sismember(SELECTING_KEY, project_id))  # pyright: ignore[reportGeneralTypeIssues]
        except Exception as exc:
            if not outages.noted(exc):
                raise
            return False  # Redis away: the running copy gets the files as written; the marks come back with Select mode

    async def set_selecting(self, project_id: str, on: bool) -> None:
        if on:
            await self.redis.sadd(SELECTING_KEY, project_id)  # pyright: ignore[reportGeneralTypeIssues]
        else:
            await self.redis.srem(SELECTING_KEY, project_id)  # pyright: ignore[reportGeneralTypeIssues]

    def serve(self, handlers: dict[str, Handler], current: Current) -> None:
        self._background = [
            asyncio.create_task(self._keep(current), name="preview-entries"),
            asyncio.create_task(self._answer(handlers), name="preview-calls"),
        ]

    async def call(self, worker: str, operation: str, arguments: dict[str, Any], timeout_s: float) -> Any:
        """Ask `worker` to do `operation` on a preview it runs; its answer, or its refusal raised as RemoteRefusal."""
        call = Call(id=secrets.token_hex(16), operation=operation, arguments=arguments)
        reply_key = f"forja:preview:reply:{call.id}"
        heard = await self.redis.publish(calls_channel(worker), call.model_dump_json())
        if not heard:
            raise WorkerGone("The Forja worker running this preview is gone; its preview ends with it. Try again in a moment.")
        answer = await self.redis.blpop([reply_key], timeout=timeout_s)  # pyright: ignore[reportGeneralTypeIssues]
        if answer is None:
            raise WorkerGone(f"The Forja worker running this preview did not answer within {timeout_s:.0f} s. Try again.")
        reply = Reply.model_validate_json(answer[1])
        if not reply.ok:
            raise RemoteRefusal(reply.message, reply.status, reply.body)
        return reply.value

    async def tell_others(self, operation: str, arguments: dict[str, Any]) -> None:
        call = Call(id="", operation=operation, arguments=arguments, origin=self.worker)
        await self.redis.publish(EVERYONE_CHANNEL, call.model_dump_json())

    async def _answer(self, handlers: dict[str, Handler]) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(calls_channel(self.worker), EVERYONE_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            task = asyncio.create_task(self._run_call(handlers, str(message["data"])))
                            self._tasks.add(task)
                            task.add_done_callback(self._tasks.discard)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("lost the preview calls channel; listening again", exc_info=True)
                await asyncio.sleep(1)

    async def _run_call(self, handlers: dict[str, Handler], raw: str) -> None:
        try:
            call = Call.model_validate_json(raw)
        except ValidationError:
            log.warning("an unreadable preview call was ignored")
            return
        handler = handlers.get(call.operation)
        if not call.id:  # told to every worker: done here unless it came from here, and answered to nobody
            if call.origin != self.worker and handler is not None:
                try:
                    await handler(call.arguments)
                except Exception:
                    log.exception("the operation %s told to every worker failed here", call.operation)
            return
        try:
            if handler is None:
                raise PreviewError(f"This Forja worker does not know the preview operation {call.operation!r}.")
            reply = Reply(ok=True, value=await handler(call.arguments))
        except ForjaError as exc:
            reply = Reply(ok=False, status=exc.status, message=exc.message, body=exc.body())
        except Exception:
            log.exception("the preview operation %s asked by another worker failed", call.operation)
            reply = Reply(ok=False, message="Something went wrong on the Forja worker running this preview; its log has why.")
        key = f"forja:preview:reply:{call.id}"
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(key, reply.model_dump_json())
            pipe.pexpire(key, REPLY_KEEP_MS)
            await pipe.execute()

    async def _keep(self, current: Current) -> None:
        """Every third of a lease: each entry of this worker's, renewed with its preview's state now (a dev server
        that died after it answered shows as failed everywhere), or dropped once its preview is gone."""
        while True:
            await asyncio.sleep(self.lease_s / 3)
            for key, value in list(self._held.items()):
                try:
                    info = await current(PreviewEntry.model_validate_json(value).info.preview_id)
                    if info is None:
                        await self.release(key)
                    else:
                        await self.update(key, info)
                except Exception as exc:  # Redis away for a moment: try again at the next beat
                    if not outages.noted(exc):
                        log.warning("could not keep the preview entry %s", key, exc_info=True)

    async def close(self) -> None:
        for task in [*self._background, *self._tasks]:
            task.cancel()
        for key in list(self._held):
            try:
                await self.release(key)
            except Exception as exc:
                if not outages.noted(exc):
                    log.warning("could not drop the preview entry %s", key, exc_info=True)


def _entry(key: str, raw: str) -> PreviewEntry | None:
    try:
        return PreviewEntry.model_validate_json(raw)
    except ValidationError:
        log.warning("an unreadable preview entry %s was ignored", key)
        return None


def direct(url: str) -> tuple[httpx.URL, dict[str, str]]:
    """Where to send a request for `url`, and its headers: a *.localhost name (browsers send it to loopback, the
    resolver may not know it) is asked for on 127.0.0.1 with the name in the Host header."""
    address = httpx.URL(url)
    if not address.host.endswith(".localhost"):
        return address, {}
    return address.copy_with(host="127.0.0.1"), {"Host": address.netloc.decode()}


def proxy_address(url: str) -> str:
    """The proxy of the worker that serves a preview at `url`, as that worker's Traefik can be reached by another:
    `http://host:port` (127.0.0.1 for a *.localhost name, as `direct` asks it)."""
    address, _ = direct(url)
    return str(address.copy_with(path="/", query=None, fragment=None)).rstrip("/")


async def app_answers(url: str, cookie: str = "") -> bool:
    """Whether the preview at `url` (another worker's) serves its app, with any status of its own (app_answered). A
    parked one's address answers with the waking page (503) and wakes it, so asking is also how this worker wakes it.
    `cookie`: the Cookie header a private preview's gate lets through."""
    address, headers = direct(url)
    if cookie:
        headers["Cookie"] = cookie
    try:
        # Not through an HTTP_PROXY of the environment: the workers reach each other directly.
        async with direct_client(3) as client:
            return app_answered(await client.get(probe_url(str(address)), headers=headers))
    except httpx.HTTPError:
        return False
