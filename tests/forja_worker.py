"""One real Forja worker without its page, for the tests of faults: `python -m uvicorn tests.forja_worker:app`.

Its API behind the guards Forja serves it with (builder.api.guarded), started and stopped as `reflex run` starts and
stops Forja (builder/builder.py's `running_services`: builds and generations a stopped Forja left are ended, the preview
proxy and the sweeps start, the leader's among them), so that a worker killed and started again does what a Forja's
does. The page is left out: building it takes minutes, and what is tested here is answered by the API.
"""

from __future__ import annotations

import contextlib

from starlette.types import Receive, Scope, Send

from builder.api import api, guarded
from builder.builder import running_services

served = guarded(api)


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "lifespan":
        await served(scope, receive, send)
        return
    async with contextlib.AsyncExitStack() as stack:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await stack.enter_async_context(running_services())
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stack.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return
