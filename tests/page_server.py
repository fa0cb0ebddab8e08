"""Web pages served on a loopback port for the agent's fetch_url (builder/services/page_fetch.py): answers by path, a
body that never ends, and every request's head kept."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    forever: bool = False  # the body repeated, chunked, until the client hangs up


@dataclass
class PageServer:
    port: int
    pages: dict[str, Answer]
    host: str = "127.0.0.1"
    heads: list[str] = field(default_factory=list)
    # Bytes of body written to each connection that streamed forever, once it ended.
    streamed: list[int] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [head.split(" ", 2)[1] for head in self.heads]

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            self.heads.append(head)
            answer = self.pages.get(head.split(" ", 2)[1], Answer(b"not here", "text/plain", 404))
            lines = [f"HTTP/1.1 {answer.status} X", f"Content-Type: {answer.content_type}", "Connection: close"]
            lines += [f"{name}: {value}" for name, value in answer.headers]
            if answer.forever:
                writer.write(("\r\n".join([*lines, "Transfer-Encoding: chunked"]) + "\r\n\r\n").encode())
                await self._stream(answer.body, writer)
            else:
                writer.write(("\r\n".join([*lines, f"Content-Length: {len(answer.body)}"]) + "\r\n\r\n").encode())
                writer.write(answer.body)
                await writer.drain()
        writer.close()

    async def _stream(self, body: bytes, writer: asyncio.StreamWriter) -> None:
        sent = 0
        try:
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(body), body))
                await writer.drain()
                sent += len(body)
        finally:
            self.streamed.append(sent)


@contextlib.asynccontextmanager
async def page_server(pages: dict[str, Answer], host: str = "127.0.0.1") -> AsyncIterator[PageServer]:
    site = PageServer(0, pages, host)
    server = await asyncio.start_server(site.serve, host, 0)
    site.port = int(server.sockets[0].getsockname()[1])
    try:
        yield site
    finally:
        server.close()
