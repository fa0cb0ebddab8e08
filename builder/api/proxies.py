"""Reverse proxies Forja trusts (FORJA_TRUSTED_PROXIES): only they may say whom a request comes from.

`X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` are written by whoever sends the request, so read from
anyone they would let a client pose as any address (and get a fresh allowance of sign-in tries per header). The
`forwarded` guard runs first: from a trusted proxy it moves what they say into the request itself (the client's
address, the scheme, the Host), and from anyone else it drops them; nothing after it reads those headers.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from builder.settings import settings

log = logging.getLogger(__name__)

FORWARDED_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple[Network, ...]:
    """FORJA_TRUSTED_PROXIES as networks; an entry that is no address or network is logged and left out."""
    networks: list[Network] = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            log.warning("FORJA_TRUSTED_PROXIES: %r is not an address or a network (CIDR); it is ignored", entry)
    return tuple(networks)


def is_trusted(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in trusted_networks(settings.trusted_proxies))


def _last(value: bytes) -> str:
    """The last value of a comma-separated header: the one the nearest proxy wrote."""
    return value.decode("latin-1").rsplit(",", 1)[-1].strip()


def client_of(forwarded_for: bytes, peer: str) -> str:
    """The client's address: walking X-Forwarded-For from the nearest hop, the first one that is no trusted proxy."""
    for hop in reversed([hop.strip().strip("[]") for hop in forwarded_for.decode("latin-1").split(",")]):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            # A hop that is no address was not written by a proxy we trust: stop at the last one that was.
            return peer
        if not is_trusted(hop):
            return hop
        peer = hop
    return peer


def forwarded(app: ASGIApp) -> ASGIApp:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        said = {name: value for name, value in headers if name in FORWARDED_HEADERS}
        if not said:
            await app(scope, receive, send)
            return
        kept = [(name, value) for name, value in headers if name not in FORWARDED_HEADERS]
        scope = dict(scope)
        client = scope.get("client")
        peer = client[0] if client else ""
        if is_trusted(peer):
            if b"x-forwarded-for" in said:
                scope["client"] = (client_of(said[b"x-forwarded-for"], peer), client[1] if client else 0)
            if (proto := _last(said.get(b"x-forwarded-proto", b"")).lower()) in ("http", "https"):
                secure = proto == "https"
                scope["scheme"] = ("wss" if secure else "ws") if scope["type"] == "websocket" else proto
            if host := _last(said.get(b"x-forwarded-host", b"")):
                kept = [(name, value) for name, value in kept if name != b"host"] + [(b"host", host.encode("latin-1"))]
        scope["headers"] = kept
        await app(scope, receive, send)

    return guarded
