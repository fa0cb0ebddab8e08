"""An httpx transport whose connections are opened by a function of Forja's: into a sandbox's network namespace
(the local runner's bridge), or into the swarm runner's overlay networks through its edge.

`http://HOST:PORT/` goes wherever connect(HOST, PORT) leads; what follows is plain HTTP/1.1 over those streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpcore
import httpx

from preview_runtime.direct_http import tls_context

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[str, int], Awaitable[Streams]]


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's interface)
        try:
            return await asyncio.wait_for(self._reader.read(max_bytes), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's interface)
        try:
            self._writer.write(buffer)
            await asyncio.wait_for(self._writer.drain(), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            reader, writer = await asyncio.wait_for(self._connect(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return _Stream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class StreamTransport(httpx.AsyncHTTPTransport):
    def __init__(self, connect: Connect) -> None:
        super().__init__(verify=tls_context())  # its own pool below: the context is never used
        self._pool = httpcore.AsyncConnectionPool(network_backend=_Backend(connect))
