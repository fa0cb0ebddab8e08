"""The only way out of a local preview's sandbox: an HTTP proxy that reaches the package registries only.

Installs need npm's and PyPI's registries; the preview's server code must not reach Forja's API, other previews, or
any service on this machine or its private networks. Each sandbox's HTTPS_PROXY and HTTP_PROXY lead (through
inside_bridge.py) to a unix socket this proxy serves. It tunnels (CONNECT) and forwards plain-HTTP requests
(`GET http://host/...`, as npm and pip send for http:// registries) to:

- allowlisted registry names on ports 443 and 80, refusing a name whose every resolved address is not public: it
  connects to the address it checked, never resolving again;
- the registry mirrors the operator configured (npm_config_registry, PIP_INDEX_URL...), on the port of their URL,
  whatever they resolve to: a company's mirror usually lives on a private address and a port of its own.

A registry name that resolves to an address that is not public here (split-horizon DNS sending registry.npmjs.org to
a company mirror) is refused like any other, and the refusal names the setting that makes it a mirror (Forja's
FORJA_NPM_REGISTRY and FORJA_PIP_INDEX_URL become npm_config_registry and PIP_INDEX_URL).

Behind a corporate proxy (upstream.py) allowed names are reached through it, by name: it resolves them, not this
machine, so the address rule cannot apply (an address written as such still is checked).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from preview_runtime.local.http_head import RequestHead, parse_request, read_head, response_status
from preview_runtime.local.inside_bridge import CHUNK, pump, splice
from preview_runtime.local.registry_reading import Ecosystem, Verdict
from preview_runtime.local.registry_relay import Reading, answer_without, relay, uncompressed, verdict_for
from preview_runtime.local.upstream import ProxyServer, Scheme, UpstreamProxy

logger = logging.getLogger(__name__)

DEFAULT_EGRESS_HOSTS = ("registry.npmjs.org", "registry.yarnpkg.com", "pypi.org", "files.pythonhosted.org")
# Variables naming a registry mirror or index: their hosts are allowed too (see registry_hosts).
_REGISTRY_VARS = ("npm_config_registry", "NPM_CONFIG_REGISTRY", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
_PORTS = (443, 80)
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CONNECT_TIMEOUT_S = 15
# The setting that makes each default registry a mirror, and its value for that registry itself.
MIRROR_SETTINGS = {
    "registry.npmjs.org": ("FORJA_NPM_REGISTRY", "https://registry.npmjs.org/"),
    "registry.yarnpkg.com": ("FORJA_NPM_REGISTRY", "https://registry.yarnpkg.com/"),
    "pypi.org": ("FORJA_PIP_INDEX_URL", "https://pypi.org/simple/"),
    "files.pythonhosted.org": ("FORJA_PIP_INDEX_URL", "https://pypi.org/simple/"),
}
# The kind of project whose installs each default registry serves (doctor says per kind what can run).
REGISTRY_KINDS = {
    "registry.npmjs.org": "npm",
    "registry.yarnpkg.com": "npm",
    "pypi.org": "Python",
    "files.pythonhosted.org": "Python",
}
# pypi.org's index links each package's files on files.pythonhosted.org: pypi.org as a mirror (a split-horizon name
# for a company's proxy) serves both.
_FILES_OF = {"pypi.org": "files.pythonhosted.org"}
_REASONS = {403: "Forbidden", 405: "Method Not Allowed", 502: "Bad Gateway"}

# host, port -> its addresses (numeric), as the system's resolver gives them.
Resolver = Callable[[str, int], Awaitable[list[str]]]
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def registry_hosts(env: Mapping[str, str]) -> set[tuple[str, int]]:
    """The (host, port) of the registry mirrors and indexes configured in a preview's environment."""
    found: set[tuple[str, int]] = set()
    for name in _REGISTRY_VARS:
        for url in env.get(name, "").split():
            parts = urlsplit(url)
            with contextlib.suppress(ValueError):  # a port that is not a number: not a usable mirror
                port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
                if parts.hostname and port:
                    found.add((_name(parts.hostname), port))
                    if files := _FILES_OF.get(_name(parts.hostname)):
                        found.add((files, port))
    return found


def _not_public(address: str) -> str | None:
    """What a (numeric) address is when it is not a public one, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and (inside := _ipv4_inside(ip)) is not None:
        ip = inside
    if ip.is_loopback or ip.is_unspecified:
        return "this machine"
    if ip.is_multicast or ip.is_link_local or ip.is_private or not ip.is_global:
        return "not a public address"
    return None


def _ipv4_inside(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and leads to: mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d, which
    Python counts as global) or 6to4 (2002:aabb:ccdd::)."""
    if ip.ipv4_mapped is not None or ip.sixtofour is not None:
        return ip.ipv4_mapped or ip.sixtofour
    if int(ip) >> 32 == 0 and int(ip) > 1:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(address: str) -> str | None:
    """Why a connection to this (numeric) address is refused, or None for a public address."""
    what = _not_public(address)
    return f"{address} is {what}" if what else None


def mirror_advice(host: str, address: str) -> str:
    """What allows an allowed registry whose name resolves to `address`, which is not public: the setting that makes it
    a mirror (a mirror may be at any address)."""
    setting = MIRROR_SETTINGS.get(_name(host))
    to = (
        f"set {setting[0]}={setting[1]} (or your mirror's own address)"
        if setting
        else "set FORJA_NPM_REGISTRY or FORJA_PIP_INDEX_URL to its URL"
    )
    return (
        f"{host} resolves to {address} here, which is {_not_public(address)}. If that is this network's own mirror "
        f"of it (a company mirror, split-horizon DNS), {to}: Forja allows the registry set there at any address."
    )


def _name(host: str) -> str:
    return host.lower().rstrip(".")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Refusal:
    """Why a target is refused; and, when a setting would allow it, which (a sentence)."""

    why: str
    advice: str = ""


@dataclass(frozen=True)
class Route:
    """How to reach an allowed target: one of the addresses checked for it, or through the upstream proxy."""

    addresses: tuple[str, ...] = ()
    via: ProxyServer | None = None
    port: int | None = None  # the port to connect to when not the request's (a relay's, on the host's loopback)


@dataclass
class EgressPolicy:
    """Which targets a preview may connect to: allowlisted names on registry ports at public addresses, and the
    configured mirrors (host and port) at any address; and whether to reach them through an upstream proxy."""

    hosts: Collection[str] = DEFAULT_EGRESS_HOSTS
    resolve: Resolver = system_resolver
    mirrors: Collection[tuple[str, int]] = ()
    upstream: UpstreamProxy | None = None
    # Names that lead to a relay of Forja's own on the host's loopback (engines/relay.py: an external coding agent's
    # way to its model), by plain HTTP only: name -> the relay's port.
    relays: Mapping[str, int] = field(default_factory=dict)
    reading: Reading | None = None  # the registries whose HTTPS is read, and whom to ask (registry_relay.py)

    def __post_init__(self) -> None:
        self.hosts = frozenset(_name(host) for host in self.hosts if host)
        self.mirrors = frozenset((_name(host), port) for host, port in self.mirrors if host)

    def is_mirror(self, host: str, port: int) -> bool:
        return (_name(host), port) in self.mirrors

    def name_refusal(self, host: str, port: int) -> str | None:
        """Why host:port is refused before resolving anything, or None."""
        if self.is_mirror(host, port):
            return None
        if _name(host) not in self.hosts:
            return f"{host} is not a package registry Forja allows"
        if port not in _PORTS:
            return f"port {port} is not https (443) or http (80)"
        return None

    async def route(self, scheme: Scheme, host: str, port: int) -> Route | Refusal:
        """How to reach host:port, or why it is refused."""
        if (relay := self.relays.get(_name(host))) is not None and scheme == "http":
            return Route(addresses=("127.0.0.1",), port=relay)
        if why := self.name_refusal(host, port):
            return Refusal(why)
        if not self.is_mirror(host, port) and _is_address(host) and (why := address_refusal(host)):
            return Refusal(why)  # an upstream proxy may reach private networks: an address needs no resolver to be refused
        if self.upstream is not None and (server := self.upstream.server_for(scheme, host, port)) is not None:
            return Route(via=server)
        return await self.addresses(host, port)

    async def addresses(self, host: str, port: int) -> Route | Refusal:
        """The addresses to connect to, or a refusal: but for a mirror, one address that is not public refuses them
        all."""
        try:
            found = await self.resolve(host, port)
        except OSError as exc:
            return Refusal(f"{host} does not resolve ({exc})")
        for address in found if not self.is_mirror(host, port) else ():
            if why := address_refusal(address):
                return Refusal(why, mirror_advice(host, address))
        return Route(addresses=tuple(found)) if found else Refusal(f"{host} has no address")


async def registry_refusals(policy: EgressPolicy, within_s: float) -> dict[str, Refusal | None]:
    """Each registry `policy` allows (its allowed names on https, its mirrors on their ports), their names looked up
    now, and what it would refuse of them (None: nothing); a name with no answer within `within_s` seconds counts as
    not resolving."""
    targets = sorted({(host, 443) for host in policy.hosts} | set(policy.mirrors))

    async def refusal(host: str, port: int) -> Refusal | None:
        try:
            route = await asyncio.wait_for(policy.route("http" if port == 80 else "https", host, port), within_s)
        except TimeoutError:
            return Refusal(f"{host} did not resolve within {within_s:.0f} s")
        return route if isinstance(route, Refusal) else None

    found = await asyncio.gather(*(refusal(host, port) for host, port in targets))
    return {host: refused for (host, _), refused in zip(targets, found, strict=True)}


@dataclass
class EgressProxy:
    """One preview's proxy: its refusals go into that preview's log, once per host."""

    policy: EgressPolicy
    say: Callable[[str], None]
    _told: set[str] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = parse_request(await read_head(reader))
        scheme: Scheme
        origin, length = "", 0  # a plain-HTTP request's path and query, and its body's length
        if request.method == "CONNECT":
            host, _, port_text = request.target.rpartition(":")
            scheme, host, port = "https", host.strip("[]"), int(port_text)
        else:
            url = urlsplit(request.target)
            if url.scheme.lower() != "http" or not url.hostname:
                await self._answer(writer, request.target, "only CONNECT and http:// requests are proxied", 405)
                return
            scheme, host, port = "http", url.hostname, url.port or 80
            origin = (url.path or "/") + (f"?{url.query}" if url.query else "")
            length = request.body_length()
        route = await self.policy.route(scheme, host, port)
        if isinstance(route, Refusal):
            await self._answer(writer, host, route.why, 403, route.advice)
            return
        reading = self.policy.reading
        kind = reading.registry(host, port) if reading is not None else None
        verdict = Verdict()
        if scheme == "http" and reading is not None and kind is not None:  # a mirror's plain HTTP: read as it comes
            verdict = await verdict_for(reading, kind, request, origin, writer, self._say_once)
            if verdict.refusal:
                writer.close()
                return
            request = uncompressed(request) if verdict.held_back else request
        try:
            upstream = await self._open(route, scheme, host, port)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            where = f"through the upstream proxy {route.via}" if route.via else "directly"
            await self._answer(writer, host, f"it could not be reached {where}: {str(exc) or type(exc).__name__}", 502)
            return
        if scheme == "https":
            if kind is not None and reading is not None:
                await self._read(reading, kind, (reader, writer), upstream, route, host, port)
                return
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await splice((reader, writer), upstream)
            return
        upstream[1].write(_forward(request, origin, host, port, route.via))
        if verdict.held_back and kind is not None:
            try:
                await answer_without(request, upstream, writer, kind[0], verdict.held_back)
            finally:
                for end in (writer, upstream[1]):
                    end.close()
            return
        await _relay_one_request((reader, writer), upstream, length)

    async def _read(
        self,
        reading: Reading,
        kind: tuple[Ecosystem, str],
        client: Streams,
        upstream: Streams,
        route: Route,
        host: str,
        port: int,
    ) -> None:
        """A registry's tunnel, read: TLS verified to the registry, the install's ended here (registry_relay.py)."""
        try:
            await asyncio.wait_for(upstream[1].start_tls(reading.upstream_tls, server_hostname=host), _CONNECT_TIMEOUT_S)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            upstream[1].close()
            await self._answer(client[1], host, f"its TLS could not be verified: {str(exc) or type(exc).__name__}", 502)
            return
        # Made before the tunnel is answered: bytes of the install's TLS read by the plain stream meanwhile would be lost.
        context = await asyncio.to_thread(reading.authority.context, host)
        client[1].write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await client[1].start_tls(context)  # no await before it: it stops the plain stream reading at once

        async def again() -> Streams:
            streams = await self._open(route, "https", host, port)
            await asyncio.wait_for(streams[1].start_tls(reading.upstream_tls, server_hostname=host), _CONNECT_TIMEOUT_S)
            return streams

        authority = host if port == 443 else _authority(host, port)
        await relay(reading, kind, client, _once(upstream, again), self._say_once, authority)

    def _say_once(self, text: str) -> None:
        if text not in self._told:
            self._told.add(text)
            self.say(text)

    async def _open(self, route: Route, scheme: Scheme, host: str, port: int) -> Streams:
        """A connection to the target (a tunnel, through an upstream proxy) or, for plain HTTP through an upstream
        proxy, to that proxy."""
        if route.via is None:
            error: OSError = OSError(f"{host} has no address")
            for address in route.addresses:
                try:
                    return await asyncio.wait_for(asyncio.open_connection(address, route.port or port), _CONNECT_TIMEOUT_S)
                except OSError as exc:
                    error = exc
            raise error
        streams = await asyncio.wait_for(asyncio.open_connection(route.via.host, route.via.port), _CONNECT_TIMEOUT_S)
        if scheme == "http":
            return streams
        authority = _authority(host, port)
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if route.via.authorization:
            lines.append(f"Proxy-Authorization: {route.via.authorization}")
        streams[1].write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            status = response_status(await asyncio.wait_for(read_head(streams[0]), _CONNECT_TIMEOUT_S * 2))
        except BaseException:
            streams[1].close()
            raise
        if not 200 <= status < 300:
            streams[1].close()
            raise OSError(f"it answered {status}")
        return streams

    async def _answer(self, writer: asyncio.StreamWriter, host: str, why: str, status: int, advice: str = "") -> None:
        """Refuse (or, 502, fail) the request: said in the preview's log once per host, answered to the client."""
        if status == 502:
            told, answer = f"Could not reach {host}: {why}.", f"Forja could not reach {host}: {why}.\n"
        else:
            advice = f" {advice}" if advice else ""
            told = f"Blocked a connection to {host} ({why}): previews may reach only the package registries.{advice}"
            answer = f"Forja refused this connection: {why}. Previews may reach only the package registries.{advice}\n"
        if host not in self._told:
            self._told.add(host)
            self.say(told)
        logger.info("egress %s %s: %s", "failed" if status == 502 else "refused", host, why)
        body = answer.encode()
        head = f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        writer.write(f"{head}Connection: close\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()


def _once(first: Streams, then: Callable[[], Awaitable[Streams]]) -> Callable[[], Awaitable[Streams]]:
    """A connector whose first connection is `first` (already open), then new ones from `then`."""
    kept = [first]

    async def connect() -> Streams:
        return kept.pop() if kept else await then()

    return connect


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _forward(request: RequestHead, origin: str, host: str, port: int, via: ProxyServer | None) -> bytes:
    """A plain-HTTP request's head for the next hop: origin-form to the server, absolute-form to an upstream proxy."""
    host_header = _authority(host, port) if port != 80 else (f"[{host}]" if ":" in host else host)
    if via is None:
        return request.forwarded(origin, host_header)
    return request.forwarded(f"http://{host_header}{origin}", host_header, via.authorization)


async def _relay_one_request(client: Streams, server: Streams, length: int) -> None:
    """The request's body (`length` bytes) to the server, then only its answer back. Whatever else the client sends
    on this connection (a pipelined request naming another host) goes nowhere: the server, or an upstream proxy that
    would serve any host, sees one request, even if it ignores `Connection: close`."""
    try:
        while length > 0 and (data := await client[0].read(min(length, CHUNK))):
            server[1].write(data)
            await server[1].drain()
            length -= len(data)
        await pump(server[0], client[1])
    finally:
        for writer in (client[1], server[1]):
            writer.close()
