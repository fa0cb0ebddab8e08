"""Which Host headers name Forja itself: loopback, its listen address, its public URL and FORJA_ALLOWED_HOSTS. The
guards refuse any other host (DNS rebinding); a published app's own hosts are told apart before them (apps.py)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from builder.settings import settings

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

# An entry of FORJA_ALLOWED_HOSTS without a port allows its name on any port (a proxy may listen anywhere).
ANY_PORT = "*"
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _name_and_port(entry: str) -> tuple[str, str]:
    """("forja.lan", "8080") from "forja.lan:8080", ("fd00::1", "") from "[fd00::1]"; the name lower-cased."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, rest.removeprefix(":")
    if entry.count(":") == 1:
        name, _, port = entry.partition(":")
        return name, port
    return entry, ""


def allowed_hosts() -> frozenset[tuple[str, str]]:
    """(name, port) pairs Forja answers to: loopback and the listen address on Forja's port, the public URL's host on
    its port, and FORJA_ALLOWED_HOSTS (a port given, or any). A port of "" is a Host header that names none."""
    own_ports = ("", str(settings.port))
    names = set(LOOPBACK_HOSTS) | {settings.host.strip("[]").lower()}
    # 0.0.0.0 / :: mean "every interface", never a name a browser sends.
    names -= {"0.0.0.0", "::"}
    pairs = {(name, port) for name in names for port in own_ports}
    if settings.public_url:
        public = urlsplit(settings.public_url)
        if public.hostname:
            port = str(public.port) if public.port else DEFAULT_PORTS.get(public.scheme, "")
            pairs |= {(public.hostname.lower(), p) for p in ("", port, str(settings.port))}
    for entry in settings.allowed_hosts.split(","):
        if entry.strip():
            name, port = _name_and_port(entry)
            pairs.add((name, port or ANY_PORT))
    return frozenset(pairs)


# A Host header as RFC 9110 has it: a DNS name or IPv4 address, or an IPv6 address in brackets, then an optional port.
_HOST = re.compile(r"(?:(?P<name>[a-z0-9_.-]+)|\[(?P<ipv6>[0-9a-f:.]+)\])(?::(?P<port>[0-9]{1,5}))?")


def parse_host(header: bytes) -> tuple[str, str] | None:
    """(name, port) of a Host header ("[::1]:3000" -> ("::1", "3000")); None when it is not one ("a:b:c", "x:evil")."""
    found = _HOST.fullmatch(header.decode("latin-1").strip().lower())
    if found is None or (found["port"] and not 0 < int(found["port"]) < 65536):
        return None
    return found["name"] or found["ipv6"], found["port"] or ""


def host_allowed(pair: tuple[str, str] | None, allowed: frozenset[tuple[str, str]]) -> bool:
    return pair is not None and (pair in allowed or (pair[0], ANY_PORT) in allowed)
