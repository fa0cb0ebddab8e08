"""Forja as a client of a team's MCP server (streamable HTTP), under the rules page_fetch.py keeps for pages:

- http and https only, no user or password in the address.
- Every address the server's name resolves to must be public (builder/services/page_fetch.py's rule, the previews'
  egress proxy's), unless the admin listed the host in FORJA_MCP_PRIVATE_HOSTS (an intranet's server).
- The name is resolved once and the connections go to the checked addresses only, never resolved again (DNS
  rebinding reaches nothing); TLS still checks the certificate against the name. The SDK follows a redirect only on
  the same origin, so to the same addresses.
- No proxy or cookie from the environment; the bearer token the admin gave, and no other credential.
- settings.mcp_call_timeout_s for connecting and for each call.

A server started by a command line is builder/services/mcp_stdio.py's, in a sandbox of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import httpcore2
import httpx2

from builder.errors import InvalidInput, McpServerUnreachable
from builder.settings import settings
from preview_runtime.direct_http import tls_context
from preview_runtime.local.egress import Resolver, address_refusal, system_resolver

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult

_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ListedTool:
    """A tool as the server lists it: what the admin sees, and what the model is offered if it is allowed."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool  # the server's readOnlyHint is true; anything else may change things outside Forja


def check_url(url: str) -> str:
    """The server's address, checked for its form; InvalidInput saying what is wrong."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in _PORTS or not host:
        raise InvalidInput(
            "The address must start with http:// or https:// and name a server, like https://tools.example.com/mcp."
        )
    if parts.username or parts.password:
        raise InvalidInput("Put the token in the token field, not in the address.")
    if parts.fragment:
        raise InvalidInput("The address cannot hold a #: give the server's address only.")
    return url


def _listed(host: str, port: int) -> bool:
    written = f"[{host}]" if ":" in host else host
    return bool({host, f"{written}:{port}"} & settings.mcp_hosts)


async def checked_addresses(url: str, resolve: Resolver = system_resolver) -> list[str]:
    """The addresses the server's host resolves to, once, each allowed; McpServerUnreachable saying why not."""
    parts = urlsplit(check_url(url))
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or _PORTS[parts.scheme]
    try:
        found = await resolve(host, port)
    except OSError:
        found = []
    if not found:
        raise McpServerUnreachable(f"{host} was not found: no such server is known here.")
    if not _listed(host, port):
        for address in found:
            if why := address_refusal(address):
                raise McpServerUnreachable(
                    f"{host} leads to {why}: Forja connects only to servers on public addresses, unless this Forja's "
                    "administrator allowed that private server in its settings."
                )
    return found


class _Pinned(httpcore2.AsyncNetworkBackend):
    """Connections to the checked addresses, whatever name httpcore2 asks for: no second resolution."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = addresses
        self._network = cast(httpcore2.AsyncNetworkBackend, httpcore2.AnyIOBackend())

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore2's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        error: Exception = httpcore2.ConnectError(f"{host} has no address")
        for address in self._addresses:
            try:
                return await self._network.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                error = exc
        raise error

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _PinnedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, addresses: Sequence[str]) -> None:
        super().__init__(verify=tls_context(), trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(ssl_context=tls_context(), network_backend=_Pinned(addresses))


@asynccontextmanager
async def connected(url: str, token: str, resolve: Resolver = system_resolver) -> AsyncIterator[Client]:
    """A session with the server at `url`, initialized; McpServerUnreachable when it cannot be had in time."""
    # The SDK is imported when a server is used, not with this module: it is most of a second at every start of Forja
    # and of the forja command, which seldom talk to one.
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    addresses = await checked_addresses(url, resolve)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = settings.mcp_call_timeout_s
    # The SDK answers an HTTP error with a JSON-RPC error of its own that drops the status: heard here instead.
    refused: list[int] = []

    async def heard(response: httpx2.Response) -> None:
        if response.status_code in (401, 403):
            refused.append(response.status_code)

    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx2.AsyncClient(
                transport=_PinnedTransport(addresses),
                headers=headers,
                timeout=timeout,
                trust_env=False,
                event_hooks={"response": [heard]},
            )
        )
        try:
            async with asyncio.timeout(timeout):
                client = await stack.enter_async_context(Client(streamable_http_client(url, http_client=http)))
        except TimeoutError:
            raise McpServerUnreachable(f"The server at {url} did not answer within {timeout:.0f} s.") from None
        except Exception as exc:
            why = f"The server at {url} refused the token (HTTP {refused[0]})." if refused else _failure(url, exc, timeout)
            raise McpServerUnreachable(why) from None
        yield client


def _failure(url: str, exc: BaseException, timeout: float) -> str:
    """Why the server could not be reached, in words; its own text is left out (it may quote the token)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, httpx2.HTTPStatusError):
        status = exc.response.status_code
        if status in (401, 403):
            return f"The server at {url} refused the token (HTTP {status})."
        return f"The server at {url} answered with an error (HTTP {status})."
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
        return f"Nothing answered at {url}."
    if isinstance(exc, httpx2.TimeoutException):  # the client's own timeout, the same as the session's
        return f"The server at {url} did not answer within {timeout:.0f} s."
    return f"The server at {url} did not answer as an MCP server does."


async def list_tools(session: AbstractAsyncContextManager[Client], server: str) -> list[ListedTool]:
    """The server's tools, every page of them, through `session` (connected's, or mcp_stdio's); `server` names it in
    the sentence of a timeout."""
    async with session as client:
        try:
            async with asyncio.timeout(settings.mcp_call_timeout_s):
                found, cursor = [], None
                while True:
                    page = await client.list_tools(cursor=cursor)
                    found += page.tools
                    if not (cursor := page.next_cursor):
                        break
        except TimeoutError:
            raise McpServerUnreachable(f"{server} did not list its tools in time.") from None
    return [
        ListedTool(
            tool.name,
            (tool.description or "").strip(),
            dict(tool.input_schema),
            bool(tool.annotations and tool.annotations.read_only_hint is True),
        )
        for tool in found
    ]


def result_text(result: CallToolResult) -> str:
    """The text parts of a tool's answer; other parts (pictures, resources) are named, not sent."""
    from mcp.types import TextContent

    parts = [item.text if isinstance(item, TextContent) else f"[{item.type} left out]" for item in result.content]
    if not parts and result.structured_content is not None:
        parts.append(str(result.structured_content))
    return "\n".join(parts)
