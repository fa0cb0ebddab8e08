"""The model relay: how an external coding agent in a sandbox reaches its model without holding the person's key.

The agent's provider (OpenAI-compatible or Anthropic's) points at http://RELAY_HOST/relay with a token made for this
run as its key. Its requests leave the sandbox the way installs do, through the egress proxy, which sends that one name
(and no other) to this relay on the host's loopback (EgressPolicy.relays). The relay refuses a request without the
run's token where the protocol carries a key (`Authorization: Bearer` for OpenAI's, `x-api-key` for Anthropic's, its
other headers such as `anthropic-version` passed on), puts the person's key there instead and forwards the request to
the model's base URL, then passes the answer back as it streams. The key never enters the sandbox; the token is worth
nothing once the run ends.

Before a request is passed on, `admit` (when given) reads its body: a sentence refuses it with 403 in the protocol's
error shape, which agents do not retry (they retry a 429), so the run ends there and the sentence is kept in
`refused` for Forja to say. Budgets and quotas are checked so before each of the agent's requests, as before each of
Forja's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit

from preview_runtime.local.http_head import RequestHead, parse_request, read_head
from preview_runtime.local.inside_bridge import CHUNK, pump

logger = logging.getLogger(__name__)

RELAY_HOST = "forja-model-relay"  # a name no resolver knows: only the egress proxy's relay route leads anywhere
PREFIX = "/relay/"
_CONNECT_TIMEOUT_S = 15
_METHODS = ("GET", "POST")
Protocol = Literal["openai", "anthropic"]
_KEY_HEADERS = ("authorization", "x-api-key")  # where either protocol may carry a key: never passed on as it came
MAX_BODY = 32 * 1024 * 1024  # a request's body read whole for `admit`: a model's context is far smaller
# The request's body -> a sentence refusing it, or None to pass it on.
Admit = Callable[[bytes], Awaitable[str | None]]


def _key_header(protocol: Protocol, key: str) -> tuple[str, str]:
    """The header that carries `key` in `protocol`'s requests."""
    return ("x-api-key", key) if protocol == "anthropic" else ("Authorization", f"Bearer {key}")


@dataclass
class ModelRelay:
    """One run's relay to the model at `base_url` with the person's `api_key`, speaking `protocol`; `async with`
    serves it."""

    base_url: str
    api_key: str
    protocol: Protocol = "openai"
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = 0
    forwarded: int = 0  # requests passed on to the model
    admit: Admit | None = None
    refused: str = ""  # the sentence `admit` refused the last request with
    _server: asyncio.Server | None = None

    @property
    def inside_url(self) -> str:
        """The base URL the agent in the sandbox is given."""
        return f"http://{RELAY_HOST}{PREFIX.rstrip('/')}"

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = parse_request(await read_head(reader))
            if (why := self._refusal(request)) is not None:
                await _answer(writer, 403, why)
                return
            await self._forward(request, reader, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            logger.info("model relay: %s", exc)
            with contextlib.suppress(OSError, RuntimeError):
                await _answer(writer, 502, f"The model could not be reached: {exc}")
        finally:
            writer.close()

    def _refusal(self, request: RequestHead) -> str | None:
        header, expected = _key_header(self.protocol, self.token)
        given = next((value for name, value in request.headers if name.lower() == header.lower()), "")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            return "This relay serves its own run only."
        if request.method not in _METHODS or not urlsplit(request.target).path.startswith(PREFIX):
            return "Only the model's API is relayed."
        return None

    async def _forward(self, request: RequestHead, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = urlsplit(self.base_url)
        secure = upstream.scheme == "https"
        host, port = upstream.hostname or "", upstream.port or (443 if secure else 80)
        path = upstream.path.rstrip("/") + "/" + request.target.removeprefix(PREFIX)
        headers = [(name, value) for name, value in request.headers if name.lower() not in _KEY_HEADERS]
        headers.append(_key_header(self.protocol, self.api_key))
        length = request.body_length()
        body = b""
        if self.admit is not None:
            if length > MAX_BODY:
                raise ValueError(f"a request of {length} bytes is larger than a model's")
            body, length = await reader.readexactly(length), 0
            if (why := await self.admit(body)) is not None:
                self.refused = why
                await _answer(writer, 403, why)
                return
        server = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ssl.create_default_context() if secure else None), _CONNECT_TIMEOUT_S
        )
        self.forwarded += 1
        try:
            authority = host if port == (443 if secure else 80) else f"{host}:{port}"
            server[1].write(RequestHead(request.method, path, "HTTP/1.1", headers).forwarded(path, authority) + body)
            while length > 0 and (data := await reader.read(min(length, CHUNK))):
                server[1].write(data)
                length -= len(data)
            await server[1].drain()
            await pump(server[0], writer)
        finally:
            server[1].close()


async def _answer(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = json.dumps({"error": {"message": text, "type": "forja_relay"}}).encode()
    reason = {403: "Forbidden", 502: "Bad Gateway"}[status]
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(f"{head}Connection: close\r\n\r\n".encode() + body)
    await writer.drain()
