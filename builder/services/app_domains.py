"""Custom domains: a published app served at a host name of its owner's (`shop.example.com`) besides its own address.

The owner adds the name; Forja says which DNS record to make (a CNAME to the app's own address), checks whether the
name resolves where the app's address does, and from then on the preview edge (Traefik) sends that host to Forja's
server, which answers from the app's live release (publish/edge.py). With FORJA_ACME_EMAIL set, Traefik also obtains
a certificate for it (preview_runtime/proxy.py). Every worker reloads the names at its sweeps.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
from urllib.parse import urlsplit

from pydantic import BaseModel

from builder.errors import InvalidInput, NotFound
from builder.publish.addresses import app_host, apps_suffix
from builder.services.preview_hub import PreviewHub
from builder.services.publishing import PublishService
from builder.settings import settings
from builder.store import ProjectStore

log = logging.getLogger(__name__)

_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
RESOLVE_TIMEOUT_S = 5.0


class DomainInfo(BaseModel):
    domain: str
    record_type: str
    record_name: str
    record_value: str
    points_here: bool | None  # None: not checked
    detail: str


def verdict(domain: str, there: set[str] | None, here: set[str]) -> tuple[bool | None, str]:
    """Whether `domain` (resolving to `there`, None when not looked up) points where the app's address does (`here`),
    and the sentence that says so and what to do."""
    if there is None:
        return None, f"Make the DNS record below for {domain} at your domain's provider, then check it here."
    if there and here and there & here:
        return True, f"{domain} points here: the app answers there."
    if not there:
        return False, (
            f"{domain} does not point here yet: make the DNS record below at your domain's provider; it can take a few "
            "minutes to an hour to be seen."
        )
    return False, f"{domain} points elsewhere ({', '.join(sorted(there))}): change its record to the one below."


def check_domain(domain: str) -> str:
    """The domain as a host name, or InvalidInput saying why it cannot be an app's."""
    name = domain.strip().lower().rstrip(".")
    if name.startswith(("http://", "https://")):
        name = urlsplit(name).hostname or ""
    try:
        ipaddress.ip_address(name)
        is_address = True
    except ValueError:
        is_address = False
    if is_address or not _DOMAIN.match(name):
        raise InvalidInput(f"{domain!r} is not a domain name: give one like shop.example.com (no address, no path).")
    own = {urlsplit(settings.public_url).hostname or "", settings.preview_domain.strip(".").lower()} - {""}
    suffix = apps_suffix()
    if name == suffix or name.endswith(f".{suffix}") or name in own or name.endswith(".localhost"):
        raise InvalidInput(f"{name} is one of this Forja's own names; give a domain of your own, like shop.example.com.")
    return name


def _addresses(host: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return set()


class AppDomains:
    def __init__(self, store: ProjectStore, publishing: PublishService, hub: PreviewHub) -> None:
        self._store = store
        self._publishing = publishing
        self._hub = hub

    async def load(self) -> None:
        """Read every app's domain into this worker's edge: its answers and its Traefik routes (a no-op for Traefik when
        they did not change)."""
        domains = await self._store.app_domains()
        self._publishing.domains = domains
        # Only a running edge: one started later reads them at the next sweep (Forja's start loads them after it).
        if (manager := self._hub.started_manager) is not None:
            await manager.proxy.set_app_domains(sorted(domains))
            await self._publishing.servers.reroute(domains)  # server apps' sandboxes answer at their domains directly

    async def info(self, project_id: str, check: bool = False) -> DomainInfo | None:
        """The app's domain with the DNS record it needs and, with `check`, whether the name points here yet (a DNS
        lookup of both names); None without one."""
        await self._store.get_project(project_id)
        app = await self._store.published_app(project_id)
        if app is None or app.domain is None:
            return None
        target = app_host(app.name)
        there: set[str] | None = None
        here: set[str] = set()
        if check:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                there, here = await asyncio.gather(
                    asyncio.to_thread(_addresses, app.domain), asyncio.to_thread(_addresses, target)
                )
        points, detail = verdict(app.domain, there, here)
        return DomainInfo(
            domain=app.domain, record_type="CNAME", record_name=app.domain, record_value=target, points_here=points, detail=detail
        )

    async def set(self, project_id: str, domain: str) -> DomainInfo:
        name = check_domain(domain)
        await self._store.get_project(project_id)
        await self._store.set_app_domain(project_id, name)
        await self.load()
        info = await self.info(project_id)
        assert info is not None
        return info

    async def remove(self, project_id: str) -> None:
        await self._store.get_project(project_id)
        app = await self._store.published_app(project_id)
        if app is None or app.domain is None:
            raise NotFound("This app has no domain of its own.")
        await self._store.set_app_domain(project_id, None)
        await self.load()
