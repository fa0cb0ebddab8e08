"""A terminal whose preview runs on another worker: the shell opens there, and its bytes cross through Redis.

The page's worker asks the preview's worker (the preview call "terminal.open", builder/services/terminal.py) to open
the shell and carry it over two channels of the session's own: keystrokes, sizes and the end in; output and the end
out. Each side listens before the other may speak: the page's worker before it asks, the preview's before it answers.
The page's worker keeps Forja's limits on the session as for a shell of its own (output rate, idle close, the log); the
preview's worker counts the shell against the project's cap, and ends it when nothing crosses for the idle limit (the
page's worker may be gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from preview_runtime.runner import Shell

# Frames: a kind byte, then its bytes. DATA: keystrokes in, output out; RESIZE: b"<cols> <rows>"; END: either side is
# done (the page closed, or the shell ended).
DATA, RESIZE, END = b"d", b"r", b"e"
# How often the preview's worker looks whether the session went idle while no frame comes.
IDLE_CHECK_S = 1.0


def channel(session: str, way: str) -> str:
    return f"forja:terminal:{session}:{way}"


class RelayedShell(Shell):
    """The page's worker's end: a Shell whose bytes go to the preview's worker and come from it."""

    def __init__(self, redis: Redis, session: str, output: PubSub) -> None:
        self._redis, self._session, self._output = redis, session, output
        self._closed = False

    async def read(self) -> bytes:
        while True:
            message = await self._output.get_message(ignore_subscribe_messages=True, timeout=None)
            if message is None:
                continue
            frame = bytes(message["data"])
            if frame[:1] == DATA:
                return frame[1:]
            if frame[:1] == END:
                return b""

    async def _send(self, frame: bytes) -> None:
        await self._redis.publish(channel(self._session, "in"), frame)

    async def write(self, data: bytes) -> None:
        await self._send(DATA + data)

    async def resize(self, cols: int, rows: int) -> None:
        await self._send(RESIZE + f"{cols} {rows}".encode())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):  # Redis gone: the other side ends the shell when it goes idle
            await self._send(END)
        await self._output.aclose()


class TerminalRelay:
    """Terminals across the workers on one Redis (bytes in and out: a terminal's output is binary)."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, health_check_interval=30)

    async def _listening(self, session: str, way: str) -> PubSub:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(channel(session, way))
        return pubsub

    async def connect(self, session: str) -> RelayedShell:
        """The page's worker's end of `session`, listening already; then the preview's worker may be asked to open it."""
        return RelayedShell(self._redis, session, await self._listening(session, "out"))

    async def host(self, session: str, shell: Shell, idle_s: float, touched: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """The preview's worker's end of `session`, listening already: what carries `shell` until either side ends or
        nothing crosses for `idle_s`, then ends it. `touched` is called at each frame from the page."""
        incoming = await self._listening(session, "in")
        out = channel(session, "out")
        last = time.monotonic()

        async def output() -> None:
            nonlocal last
            while data := await shell.read():
                last = time.monotonic()
                await self._redis.publish(out, DATA + data)

        async def keystrokes() -> None:
            nonlocal last
            while time.monotonic() - last < idle_s:
                message = await incoming.get_message(ignore_subscribe_messages=True, timeout=IDLE_CHECK_S)
                if message is None:
                    continue
                frame = bytes(message["data"])
                last = time.monotonic()
                touched()
                if frame[:1] == DATA:
                    await shell.write(frame[1:])
                elif frame[:1] == RESIZE:
                    cols, rows = (int(n) for n in frame[1:].split())
                    await shell.resize(cols, rows)
                elif frame[:1] == END:
                    return

        async def carry() -> None:
            tasks = {asyncio.create_task(output()), asyncio.create_task(keystrokes())}
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await shell.close()
                with contextlib.suppress(Exception):
                    await self._redis.publish(out, END)
                await incoming.aclose()

        return carry

    async def close(self) -> None:
        await self._redis.aclose()
