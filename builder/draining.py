"""A worker's stop in two steps, for a load balancer in front of several: on SIGTERM it first drains, answering /health
with a 503 for FORJA_DRAIN_SECONDS while it goes on serving, and only then lets its server stop (which stops taking
connections and finishes the requests under way).

Without the drain, the server closes its idle keep-alive connections at once, and a load balancer that had just sent a
request on one of them gets a reset it cannot retry safely (the request was written): the client gets a 502. With it,
the balancer's health check takes the worker out of its pool first, so nothing new is sent there when it closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_draining = threading.Event()


def draining() -> bool:
    """Whether this worker was asked to stop and is letting its load balancer take it out of its pool."""
    return _draining.is_set()


def drain_on_sigterm(seconds: float) -> None:
    """Put the drain in front of the server's own SIGTERM handler. Called in the server's lifespan, after the server
    has set its handler: uvicorn's (signal.signal) or a Granian worker's (the event loop's)."""
    if seconds <= 0:
        return
    loop = asyncio.get_running_loop()
    stop = _servers_stop(loop)
    if stop is None:
        log.warning("This worker cannot drain before it stops: its server's stop on SIGTERM is not one Forja knows.")
        return

    def begin() -> None:
        if draining():  # a second SIGTERM changes nothing: the stop is already on its way
            return
        _draining.set()
        log.warning("Stopping: the health check says so for %g s, then the requests under way finish.", seconds)
        loop.call_later(seconds, stop)

    if isinstance(_loop_handlers(loop).get(signal.SIGTERM), asyncio.Handle):
        loop.add_signal_handler(signal.SIGTERM, begin)
    else:
        signal.signal(signal.SIGTERM, lambda signum, frame: loop.call_soon_threadsafe(begin))


def _servers_stop(loop: asyncio.AbstractEventLoop) -> Callable[[], None] | None:
    """What the server does on SIGTERM, to do after the drain; None when it is not a handler that can be called."""
    handle = _loop_handlers(loop).get(signal.SIGTERM)
    if isinstance(handle, asyncio.Handle):
        # A Granian worker sets its stop with loop.add_signal_handler; asyncio keeps no public way to read it back.
        return handle._run  # pyright: ignore[reportPrivateUsage]
    if threading.current_thread() is not threading.main_thread():
        return None  # signal.signal works in the main thread only
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return None
    return lambda: previous(signal.SIGTERM, None)


def _loop_handlers(loop: asyncio.AbstractEventLoop) -> dict[int, object]:
    return getattr(loop, "_signal_handlers", {})
