"""Where git may connect for an import or a linked remote: the host is resolved once here, each of its addresses
checked, and git is made to connect to those addresses, never resolving the name again.

Checking a name and then letting git resolve it afresh would let a name that answers a public address first and a
private one a moment later (DNS rebinding) lead Forja's git to a service only Forja can reach; a remote linked while its
name was public could later be pointed at one. So every git command that talks to a remote goes through `pin`: over
http(s), curl gets the checked addresses (`http.curloptResolve`, git 2.37+); over git://, the URL names the address.
Behind a proxy from the environment, the proxy resolves the name itself, as for the previews' egress.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from builder.errors import InvalidInput
from builder.settings import settings
from preview_runtime.local.egress import address_refusal

DEFAULT_PORTS = {"https": 443, "http": 80, "git": 9418}

Resolver = Callable[[str, int], list[str]]


def system_addresses(host: str, port: int) -> list[str]:
    """The addresses this machine's resolver gives for the name, in its order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


# The one lookup of a name; a test points a name it made up at its own loopback server.
resolve: Resolver = system_addresses


@dataclass(frozen=True)
class Pinned:
    """The URL to hand git (over git://, its host is the checked address) and the options that pin http(s) to them."""

    url: str
    config: tuple[str, ...]


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def pin(url: str, refusal: str) -> Pinned:
    """The remote's addresses, resolved once and checked: a private or local one is refused (`refusal` ends the
    sentence, e.g. "Forja imports only from public git servers.") unless FORJA_GIT_IMPORT_PRIVATE allows it."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    literal = _literal(host)
    try:
        addresses = [literal] if literal else resolve(host, port)
    except OSError:
        addresses = []
    if not addresses:
        raise InvalidInput(f"{host} cannot be found from this server: check the repository's address.")
    if not settings.git_import_private and any(address_refusal(a) for a in addresses):
        raise InvalidInput(f"{host} is a private or local address; {refusal}")
    if parts.scheme == "git":
        netloc = parts.netloc.rpartition("@")[0]
        at = f"{netloc}@" if netloc else ""
        return Pinned(urlunsplit(parts._replace(netloc=f"{at}{_bracketed(addresses[0])}:{port}")), ())
    if literal:
        return Pinned(url, ())
    listed = ",".join(_bracketed(a) for a in addresses)
    return Pinned(url, ("-c", f"http.curloptResolve={host}:{port}:{listed}"))
