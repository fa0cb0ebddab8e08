"""The only way out of a local preview's sandbox: an HTTP CONNECT proxy that reaches the package registries only.

Installs need npm's and PyPI's registries; the preview's server code must not reach Forja's API, other previews, or
any service on this machine or its private networks. Each sandbox's HTTPS_PROXY leads (through inside_bridge.py) to
a unix socket this proxy serves. It allows CONNECT to an allowlist of host names on ports 443 and 80, and refuses a
host whose every resolved address is not public: it connects to the address it checked, never resolving again.
Plain-HTTP proxying (GET http://...) is not offered: registries are reached over https.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

DEFAULT_EGRESS_HOSTS = ("registry.npmjs.org", "registry.yarnpkg.com", "pypi.org", "files.pythonhosted.org")
# Variables naming a registry mirror or index: their hosts are allowed too (see registry_hosts).
_REGISTRY_VARS = ("npm_config_registry", "NPM_CONFIG_REGISTRY", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
_PORTS = (443, 80)
_REQUEST_LIMIT = 8192
_CHUNK = 1 << 16

# host, port -> its addresses (numeric), as the system's resolver gives them.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def registry_hosts(env: Mapping[str, str]) -> set[str]:
    """The hosts of the registry mirrors and indexes configured in a preview's environment."""
    found: set[str] = set()
    for name in _REGISTRY_VARS:
        for url in env.get(name, "").split():
            if host := urlsplit(url).hostname:
                found.add(host.lower())
    return found


def address_refusal(address: str) -> str | None:
    """Why a connection to this (numeric) address is refused, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:
        return f"{address} is this machine"
    if ip.is_multicast or ip.is_link_local or ip.is_private or not ip.is_global:
        return f"{address} is not a public address"
    return None


@dataclass
class EgressPolicy:
    """Which targets a preview may connect to: allowlisted names, registry ports, public addresses only."""

    hosts: Collection[str] = DEFAULT_EGRESS_HOSTS
    resolve: Resolver = system_resolver

    def __post_init__(self) -> None:
        self.hosts = frozenset(host.lower().rstrip(".") for host in self.hosts if host)

    def name_refusal(self, host: str, port: int) -> str | None:
        """Why CONNECT host:port is refused before resolving anything, or None."""
        if host.lower().rstrip(".") not in self.hosts:
            return f"{host} is not a package registry Forja allows"
        if port not in _PORTS:
            return f"port {port} is not https (443) or http (80)"
        return None

    async def addresses(self, host: str, port: int) -> tuple[list[str], str | None]:
        """The addresses to connect to, or a refusal: one address that is not public refuses them all."""
        try:
            found = await self.resolve(host, port)
        except OSError as exc:
            return [], f"{host} does not resolve ({exc})"
        for address in found:
            if why := address_refusal(address):
                return [], why
        return (found, None) if found else ([], f"{host} has no address")


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
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _REQUEST_LIMIT:
            raise ValueError("request head too long")
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if method.upper() != "CONNECT":
            await self._refuse(writer, target, "only https (CONNECT) is proxied", 405)
            return
        host, _, port_text = target.rpartition(":")
        host, port = host.strip("[]"), int(port_text)
        if why := self.policy.name_refusal(host, port):
            await self._refuse(writer, host, why)
            return
        addresses, why = await self.policy.addresses(host, port)
        if why:
            await self._refuse(writer, host, why)
            return
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        for address in addresses:
            with contextlib.suppress(OSError):
                upstream = await asyncio.wait_for(asyncio.open_connection(address, port), timeout=15)
                break
        if upstream is None:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await splice((reader, writer), upstream)

    async def _refuse(self, writer: asyncio.StreamWriter, host: str, why: str, status: int = 403) -> None:
        if host not in self._told:
            self._told.add(host)
            self.say(f"Blocked a connection to {host} ({why}): previews may reach only the package registries.")
        logger.info("egress refused %s: %s", host, why)
        body = f"Forja refused this connection: {why}. Previews may reach only the package registries.\n".encode()
        reason = "Forbidden" if status == 403 else "Method Not Allowed"
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        writer.write(body)
        await writer.drain()
        writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # the other direction may still be talking (HTTP half-close)


async def splice(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter], b: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    """Bytes both ways until both sides are done, then both closed."""
    try:
        await asyncio.gather(_pump(a[0], b[1]), _pump(b[0], a[1]))
    finally:
        for writer in (a[1], b[1]):
            writer.close()
