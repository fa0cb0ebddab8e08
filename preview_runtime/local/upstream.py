"""The machine's own proxy (a corporate one), through which the egress proxy reaches the registries when it has one.

Forja's environment may name it (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); previews' own values of those variables lead
to the egress proxy instead, so without chaining, installs behind such a proxy could reach nothing. It is read once,
where the runner is built (`UpstreamProxy.from_env`), and its credentials never appear in a log or a repr.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

Scheme = Literal["https", "http"]


@dataclass(frozen=True)
class ProxyServer:
    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # "Basic ...", from the URL's userinfo

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str) -> ProxyServer | None:
        """The proxy a URL names (`http://user:pass@host:port`, the scheme optional); None, logged, if unusable."""
        parts = urlsplit(url if "://" in url else f"http://{url}")
        try:
            port = parts.port or 80
        except ValueError:
            port = 0
        if parts.scheme != "http" or not parts.hostname or not port:
            # Only the URL's host goes to the log: the rest may hold a password.
            logger.warning("ignoring the upstream proxy at %s: only http://host:port proxies are supported", parts.hostname)
            return None
        authorization = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        return cls(parts.hostname, port, authorization)


@dataclass(frozen=True)
class UpstreamProxy:
    """Which proxy reaches which targets: `https` for tunnels (CONNECT), `http` for plain-HTTP requests."""

    https: ProxyServer | None = None
    http: ProxyServer | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> UpstreamProxy | None:
        """The proxy these variables name (lower case first, as curl and Python read them), or None."""

        def value(name: str) -> str:
            return (env.get(name.lower()) or env.get(name.upper()) or "").strip()

        https, http = (ProxyServer.from_url(url) if (url := value(name)) else None for name in ("https_proxy", "http_proxy"))
        if https is None and http is None:
            return None
        no_proxy = tuple(entry.strip().lower() for entry in value("no_proxy").split(",") if entry.strip())
        return cls(https, http, no_proxy)

    def server_for(self, scheme: Scheme, host: str, port: int) -> ProxyServer | None:
        """The proxy to reach host:port through, or None to connect directly (NO_PROXY, or no proxy for `scheme`)."""
        server = self.https if scheme == "https" else self.http
        if server is None or any(_matches(entry, host.lower().rstrip("."), port) for entry in self.no_proxy):
            return None
        return server


def _matches(entry: str, host: str, port: int) -> bool:
    """Whether a NO_PROXY entry covers host:port: `*`, a domain and its subdomains (`.corp` or `corp`), an address
    or a network (`10.0.0.0/8`), each with an optional `:port`."""
    if entry == "*":
        return True
    port_text = ""
    if entry.startswith("["):  # [v6] or [v6]:port
        entry, _, rest = entry[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif entry.count(":") == 1:  # host:port (a bare v6 address has more colons)
        entry, _, port_text = entry.partition(":")
    if port_text and port_text != str(port):
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        pass
    domain = entry.lstrip(".").rstrip(".")
    return bool(domain) and (host == domain or host.endswith("." + domain))
