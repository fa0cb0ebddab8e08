"""Pages the agent reads (its fetch_url tool): one http(s) address a person named, fetched by Forja under rules that
keep a model's request from reaching what only Forja can reach.

- http and https only, and no user or password in the address.
- FORJA_FETCH_ALLOWED_HOSTS empty: any host whose every address is public (loopback, private, link-local with the
  cloud's metadata service, multicast, reserved, IPv6 ULA and the IPv4 forms inside IPv6 are not: the rules of the
  previews' egress proxy, preview_runtime/local/egress.py). Not empty: only the hosts listed, at any address, since an
  intranet's documentation lives on a private one.
- The name is resolved once, every address it gives is checked, and the connection goes to a checked address: it is
  never resolved again (a name answering a public address to the check and a private one to the connection, DNS
  rebinding, reaches nothing). TLS still checks the certificate against the name.
- At most MAX_REDIRECTS redirects, each one's address checked as the first's.
- At most FORJA_FETCH_MAX_BYTES read from the network (reading stops there), FORJA_FETCH_TIMEOUT_S for all of it, and
  PAGE_CHARS characters of text returned; a cut is said with the text.
- A client of its own per page: no cookie, no key, no proxy from the environment; a User-Agent naming Forja.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from builder.errors import PageNotRead
from builder.filetree import human_size
from builder.generation.agent_tools import PAGE_CHARS
from builder.page_text import html_text
from builder.settings import settings
from preview_runtime.direct_http import tls_context
from preview_runtime.local.egress import Resolver, address_refusal, system_resolver

MAX_REDIRECTS = 3
USER_AGENT = "Forja (an app builder's agent, reading a page a person named)"
_PORTS = {"http": 80, "https": 443}
_HTML = ("text/html", "application/xhtml+xml")
_TEXT = ("text/plain", "text/markdown", "text/x-markdown", "application/json")


@dataclass(frozen=True)
class FetchRules:
    allowed: frozenset[str] = frozenset()  # host or host:port; empty: any public host
    max_bytes: int = 2_000_000
    timeout_s: float = 15
    resolve: Resolver = system_resolver

    @classmethod
    def from_settings(cls) -> FetchRules:
        return cls(settings.fetch_hosts, settings.fetch_max_bytes, settings.fetch_timeout_s)

    def listed(self, host: str, port: int) -> bool:
        written = f"[{host}]" if ":" in host else host
        return bool({host, f"{written}:{port}"} & self.allowed)


@dataclass(frozen=True)
class Page:
    url: str
    kind: str  # what it was read as: "HTML", "text" or "JSON"
    text: str
    wire_bytes: int  # bytes read from the network
    cut: str = ""  # what was left out, in words; "" when nothing was

    def summary(self) -> str:
        """How much was read, for the run's log: never the text itself."""
        cut = f"; {self.cut}" if self.cut else ""
        return f"{self.kind}, {human_size(self.wire_bytes)} read, {len(self.text):,} characters{cut}"


@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    port: int


def shown(url: str) -> str:
    """An address as the log and the model see it: without its #fragment, which is never sent."""
    return url.partition("#")[0]


def _target(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port or _PORTS.get(parts.scheme.lower())
    except ValueError:
        raise PageNotRead(f"{shown(url)} is not a web address.") from None
    if parts.scheme.lower() not in _PORTS or not parts.hostname or port is None:
        raise PageNotRead(f"{shown(url)} is not an http:// or https:// address, the only pages the agent reads.")
    if parts.username is not None or parts.password is not None:
        raise PageNotRead("The agent reads no address with a user name or password in it.")
    return _Target(url, parts.hostname.lower().rstrip("."), port)


async def _addresses(target: _Target, rules: FetchRules) -> list[str]:
    """The addresses the host resolves to, once, each allowed; or PageNotRead saying why not."""
    listed = rules.listed(target.host, target.port)
    if rules.allowed and not listed:
        raise PageNotRead(
            f"{target.host} is not one of the sites this Forja lets the agent read (its administrator chooses them)."
        )
    try:
        found = await rules.resolve(target.host, target.port)
    except OSError:
        raise PageNotRead(f"{target.host} was not found: no such site is known here.") from None
    for address in () if listed else found:
        if why := address_refusal(address):
            raise PageNotRead(
                f"{target.host} leads to {why}: the agent reads public pages only (an administrator can allow a "
                "private site, such as an intranet's documentation)."
            )
    if not found:
        raise PageNotRead(f"{target.host} was not found: no such site is known here.")
    return found


class _Pinned(httpcore.AsyncNetworkBackend):
    """Connections to the addresses checked for the one host a client is made for, whatever name httpcore asks for:
    no second resolution."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self._addresses = addresses
        # httpcore hides the class's type behind a stand-in for when anyio is missing; httpx depends on anyio.
        self._network = cast(httpcore.AsyncNetworkBackend, httpcore.AnyIOBackend())

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in self._addresses:
            try:
                return await self._network.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, addresses: Sequence[str]) -> None:
        super().__init__(verify=tls_context())  # its own pool below
        self._pool = httpcore.AsyncConnectionPool(ssl_context=tls_context(), network_backend=_Pinned(addresses))


@asynccontextmanager
async def _client(addresses: Sequence[str], timeout_s: float) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"User-Agent": USER_AGENT, "Accept": ", ".join((*_HTML, *_TEXT)), "Accept-Encoding": "gzip, identity"}
    async with httpx.AsyncClient(
        transport=_PinnedTransport(addresses), headers=headers, timeout=timeout_s, trust_env=False
    ) as client:
        yield client


async def fetch_page(url: str, rules: FetchRules) -> Page:
    """The page at `url` as text, read under the module's rules; PageNotRead with a sentence when it is not."""
    try:
        async with asyncio.timeout(rules.timeout_s):
            return await _follow(url.strip(), rules)
    except TimeoutError:
        raise PageNotRead(f"{shown(url)} did not answer within {rules.timeout_s:.0f} s.") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise PageNotRead(f"{shown(url)} could not be read: {str(exc) or type(exc).__name__}.") from None


async def _follow(url: str, rules: FetchRules) -> Page:
    for _ in range(MAX_REDIRECTS + 1):
        target = _target(url)
        addresses = await _addresses(target, rules)
        async with _client(addresses, rules.timeout_s) as client, client.stream("GET", target.url) as response:
            if response.is_redirect and (location := response.headers.get("location")):
                url = urljoin(target.url, location)
                continue
            if response.status_code >= 400:
                raise PageNotRead(f"{shown(target.url)} answered {response.status_code} {response.reason_phrase}.")
            kind = _kind(target.url, response.headers.get("content-type", ""))
            body, cut = await _body(response, rules.max_bytes)
            text = _text(kind, body, response.charset_encoding)
            cuts = [f"only its first {human_size(rules.max_bytes)} were read"] if cut else []
            if len(text) > PAGE_CHARS:
                text = text[:PAGE_CHARS]
                cuts.append(f"its text is cut at {PAGE_CHARS:,} characters")
            return Page(shown(target.url), kind, text, response.num_bytes_downloaded, " and ".join(cuts))
    raise PageNotRead(f"{shown(url)} is more than {MAX_REDIRECTS} redirects away from the address given.")


def _kind(url: str, content_type: str) -> str:
    media = content_type.partition(";")[0].strip().lower()
    if media in _HTML:
        return "HTML"
    if media.endswith(("/json", "+json")):
        return "JSON"
    if media in _TEXT:
        return "text"
    what = f"{'an' if media[:1] in 'aeiou' else 'a'} {media} file" if media else "a file of no stated type"
    raise PageNotRead(f"{shown(url)} is {what}; the agent reads web pages, plain text and JSON only.")


async def _body(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """At most `max_bytes` of the body, read from the network (and as many once unzipped); whether it was cut."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise PageNotRead(f"{shown(str(response.url))} came in a compression ({encoding}) the agent does not read.")
    inflate = zlib.decompressobj(wbits=31) if encoding == "gzip" else None
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        over = response.num_bytes_downloaded > max_bytes
        if over:
            chunk = chunk[: max(0, len(chunk) - (response.num_bytes_downloaded - max_bytes))]
        data = inflate.decompress(chunk, max_bytes - size) if inflate else chunk
        parts.append(data)
        size += len(data)
        if over or size >= max_bytes:
            return b"".join(parts)[:max_bytes], True
    return b"".join(parts), False


def _text(kind: str, body: bytes, charset: str | None) -> str:
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    return html_text(text) if kind == "HTML" else text
