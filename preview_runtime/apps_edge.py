"""Published apps on the preview edge: which hosts Traefik sends to the server that answers for apps, and, for custom
domains with ACME on, the HTTPS entrypoint and the certificates Traefik obtains for them.

A published server app's hosts go straight to its sandbox instead (alias_routers), while it runs or is parked, on the
worker that runs it; the other workers send them on to that worker's proxy (forward_routers), Host kept. Their
/_forja/ paths (the app's own backend: its people's sign-in) still go to Forja's server (backend_routers). Before a
request reaches the sandbox, Traefik asks Forja who is asking (identity_middleware): the app gets X-Forja-User and its
signed token from Forja alone, never a visitor's own headers of those names.

Apps are `<name>.<suffix>` (one label under the apps' domain) plus the custom domains their owners added. Their
requests go to `upstream` (Forja's own server, which serves each app's files from disk), with the Host kept. With an
ACME email, Traefik listens for HTTPS on `https_port` too and gets a certificate for each custom domain by the
TLS-ALPN-01 challenge on that port (no port 80 needed); the certificates are kept in the proxy's state folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROUTER = "forja-apps"
ALIAS_PRIORITY = 70  # a published server app's own host: above the apps' server (50, custom domains 60)
SERVICE = "forja-apps"
ALIAS_ROUTER = f"{ROUTER}-alias-"
# The app's own backend on such a host (its people's sign-in, /_forja/...): above its sandbox, to the apps' server.
BACKEND_PRIORITY = 75
BACKEND_ROUTER = f"{ROUTER}-backend-"
BACKEND_PATH = "/_forja/"  # then the preview id and a number: Traefik's metrics name the preview
# A preview's own backend (/_forja/ of `<id>.<domain>`): above the preview's own router (100), to the apps' server.
PREVIEW_BACKEND_PRIORITY = 110
PREVIEW_BACKEND_ROUTER = f"{ROUTER}-preview-backend-"
# Another worker's sandbox: below its own worker's alias (a stale forward never wins over a sandbox here), above the rest.
FORWARD_PRIORITY = 65
FORWARD_ROUTER = f"{ROUTER}-forward-"
FORWARDED_MW = f"{ROUTER}-forwarded"
# Set on what a worker forwards: a forwarded request is never forwarded again (two workers whose views of where a
# sandbox runs disagree for a moment cannot send it round in a loop); it falls to that worker's own edge instead.
FORWARDED_HEADER = "X-Forja-Forwarded"
# Who is asking a server app. A request with the app's session cookie goes through a router of its own (SIGNED, above
# the host's other) whose ForwardAuth asks Forja: the answer's headers replace the visitor's (authResponseHeaders
# removes each listed header from the request, then copies the answer's); only the cookie goes to Forja, nothing else of
# the request. Any other request has the visitor's headers of those names removed (ANONYMOUS_MW) and never waits on
# Forja: the app answers its visitors while Forja restarts.
IDENTITY_MW = f"{ROUTER}-identity"
ANONYMOUS_MW = f"{ROUTER}-anonymous"
IDENTITY_PATH = "/_forja/identity/"  # then the app's host: builder/api/app_identity.py
USER_HEADER = "X-Forja-User"
TOKEN_HEADER = "X-Forja-User-Token"
SESSION_COOKIE = "forja_app_session"  # builder/api/app_auth.py: `__Host-` before it on HTTPS
SIGNED = "-signed"
ANONYMOUS = {"headers": {"customRequestHeaders": {USER_HEADER: "", TOKEN_HEADER: ""}}}  # "" removes the header
RESOLVER = "forja-acme"
HTTPS = "websecure"


@dataclass(frozen=True)
class AppsEdge:
    suffix: str
    upstream: str
    domains: tuple[str, ...] = field(default=())
    acme_email: str = ""
    https_port: int = 443

    def entrypoints(self, host: str) -> dict[str, dict]:
        """The HTTPS entrypoint, only when custom domains get certificates."""
        https = {"address": f"{host}:{self.https_port}", "observability": {"metrics": False}}  # as the proxy's own
        return {HTTPS: https} if self.acme_email else {}

    def resolvers(self, state_dir: Path) -> dict[str, dict]:
        if not self.acme_email:
            return {}
        acme = {"email": self.acme_email, "storage": str(state_dir / "acme.json"), "tlsChallenge": {}}
        return {RESOLVER: {"acme": acme}}

    def routes(self) -> tuple[dict[str, dict], dict[str, dict]]:
        """Routers and services of the dynamic configuration."""
        routers: dict[str, dict] = {
            ROUTER: {
                "entryPoints": ["web"],
                "rule": f"HostRegexp(`^[a-z0-9-]{{1,63}}\\.{re.escape(self.suffix.strip('.').lower())}$`)",
                "priority": 50,
                "service": SERVICE,
            }
        }
        for number, domain in enumerate(sorted(self.domains)):
            rule = f"Host(`{domain}`)"
            routers[f"{ROUTER}-domain-{number}"] = {"entryPoints": ["web"], "rule": rule, "priority": 60, "service": SERVICE}
            if self.acme_email:
                routers[f"{ROUTER}-domain-{number}-tls"] = {
                    "entryPoints": [HTTPS],
                    "rule": rule,
                    "priority": 60,
                    "service": SERVICE,
                    "tls": {"certResolver": RESOLVER, "domains": [{"main": domain}]},
                }
        services = {SERVICE: {"loadBalancer": {"servers": [{"url": self.upstream}], "passHostHeader": True}}}
        return routers, services


def alias_routers(
    aliases: dict[str, str], routes: dict[str, str], parked: frozenset[str], waking: str, upstream: str = ""
) -> tuple[dict[str, dict], dict[str, dict]]:
    """Routers for hosts that are another name of a preview (host -> preview id), and their middlewares: its service
    while it runs, who is asking told by Forja's server (`upstream`, when there is one: identity_routers); the waking
    page's while parked; none otherwise, so the host falls to the apps' server. No other middleware: a published app is
    public and answers with its own headers."""
    routers: dict[str, dict] = {}
    middlewares: dict[str, dict] = {}
    for number, (host, preview_id) in enumerate(sorted(aliases.items())):
        if preview_id in routes:
            service = f"preview-{preview_id}"
        elif preview_id in parked:
            service = waking
        else:
            continue
        name = f"{ALIAS_ROUTER}{preview_id}-{number}"
        routers[name] = {
            "entryPoints": ["web"],
            "rule": f"Host(`{host}`)",
            "priority": ALIAS_PRIORITY,
            "service": service,
            # Counted (the only routers that are): a visit to the app's address is use (see PreviewProxy.visits).
            "observability": {"metrics": True},
        }
        if upstream and preview_id in routes:
            signed, middleware = identity_routers(name, routers[name], host, upstream)
            routers |= signed
            middlewares |= middleware
    return routers, middlewares


def identity_routers(
    name: str, router: dict, host: str, upstream: str, before: tuple[str, ...] = ()
) -> tuple[dict[str, dict], dict[str, dict]]:
    """`router` of a running server app's host (or a preview's) with the visitor's identity headers removed, and its
    twin for requests with the app's session cookie, whose ForwardAuth asks Forja's server (`upstream`) with the host in
    the path (Forja reads X-Forwarded-Host only from the proxies it trusts, builder/api/proxies.py). Both run `before`
    first: a preview's headers and gate, so the gate still decides before Forja is asked who is asking."""
    router["middlewares"] = [*before, ANONYMOUS_MW]
    asks = f"{IDENTITY_MW}-{name.removeprefix(ALIAS_ROUTER)}"
    cookie = f"HeaderRegexp(`Cookie`, `(^|;)\\s*(__Host-)?{SESSION_COOKIE}=`)"
    signed = {
        **router,
        "rule": f"{router['rule']} && {cookie}",
        "priority": router["priority"] + 1,
        "middlewares": [*before, asks],
    }
    forward_auth = {
        "address": f"{upstream.rstrip('/')}{IDENTITY_PATH}{host}",
        "authRequestHeaders": ["Cookie"],
        "authResponseHeaders": [USER_HEADER, TOKEN_HEADER],
    }
    return {f"{name}{SIGNED}": signed}, {asks: {"forwardAuth": forward_auth}, ANONYMOUS_MW: ANONYMOUS}


def backend_routers(hosts: Iterable[str]) -> dict[str, dict]:
    """Routers that send /_forja/ of a server app's hosts (its sandbox's, here or on another worker) to the apps' server,
    which answers the app's own backend there for every app: no app's server can answer in its place."""
    routers: dict[str, dict] = {}
    for number, host in enumerate(sorted(set(hosts))):
        routers[f"{BACKEND_ROUTER}{number}"] = {
            "entryPoints": ["web"],
            "rule": f"Host(`{host}`) && PathPrefix(`{BACKEND_PATH}`)",
            "priority": BACKEND_PRIORITY,
            "service": SERVICE,
        }
    return routers


def preview_backend_routers(previews: dict[str, bool], headers: str, gate: str) -> dict[str, dict]:
    """Routers that send /_forja/ of previews' hosts (host -> whether the gate guards it) to the apps' server, which
    answers each preview's backend: with a preview's headers (the Preview tab frames its pages), and through the gate
    for a private one, so only a browser Forja sent to the preview reaches its backend. A running or parked preview's
    alike: its backend answers while its dev server sleeps."""
    routers: dict[str, dict] = {}
    for number, (host, guarded) in enumerate(sorted(previews.items())):
        routers[f"{PREVIEW_BACKEND_ROUTER}{number}"] = {
            "entryPoints": ["web"],
            "rule": f"Host(`{host}`) && PathPrefix(`{BACKEND_PATH}`)",
            "priority": PREVIEW_BACKEND_PRIORITY,
            "middlewares": [headers, gate] if guarded else [headers],
            "service": SERVICE,
        }
    return routers


def forward_routers(forwards: dict[str, str]) -> tuple[dict[str, dict], dict[str, dict], dict[str, dict]]:
    """Routers, services and the one middleware for hosts whose sandbox runs on another worker (host -> that worker's
    proxy, `http://host:port`): sent there with their Host, marked as forwarded; not counted (its own worker counts)."""
    if not forwards:
        return {}, {}, {}
    routers: dict[str, dict] = {}
    services: dict[str, dict] = {}
    upstreams = sorted(set(forwards.values()))
    for number, (host, upstream) in enumerate(sorted(forwards.items())):
        service = f"{FORWARD_ROUTER}{upstreams.index(upstream)}"
        routers[f"{FORWARD_ROUTER}{number}"] = {
            "entryPoints": ["web"],
            "rule": f"Host(`{host}`) && !Header(`{FORWARDED_HEADER}`, `1`)",
            "priority": FORWARD_PRIORITY,
            "middlewares": [FORWARDED_MW],
            "service": service,
        }
        services[service] = {"loadBalancer": {"servers": [{"url": upstream}], "passHostHeader": True}}
    middleware = {FORWARDED_MW: {"headers": {"customRequestHeaders": {FORWARDED_HEADER: "1"}}}}
    return routers, services, middleware


def aliased_preview(router: str) -> str | None:
    """The preview id an alias router's name holds (`<ALIAS_ROUTER><preview id>-<n>[-signed]@file`), else None."""
    if not router.startswith(ALIAS_ROUTER):
        return None
    preview_id, _, number = router.removeprefix(ALIAS_ROUTER).split("@", 1)[0].removesuffix(SIGNED).rpartition("-")
    return preview_id if preview_id and number.isdigit() else None
