"""Waiting in async tests for something that happens in the background."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(check: Callable[[], Awaitable[bool]], what: str, within: float = 60, every: float = 0.1) -> None:
    """Until `check` holds, asked every `every` seconds (0: at each turn of the loop, for a moment that passes
    quickly); fails saying `what` did not happen within `within` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen within {within:.0f} s"
        await asyncio.sleep(every)


async def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` (a server a test started)."""
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    await writer.wait_closed()
    return True
