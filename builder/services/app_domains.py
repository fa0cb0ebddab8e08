"""Custom domains: a published app served at a host name of its owner's (`shop.example.com`) besides its own address.

The owner adds the name, and Forja makes a random value for that app and name. Nothing is routed until the name is
proved theirs: a TXT record `_forja-verify.<name>` holding `forja-verify=<value>`, which only whoever runs the name's
DNS can make (as Vercel, Netlify and GitHub Pages ask). Forja looks for it when someone presses Check and, at its
sweeps, by itself: every minute in a claim's first hour, then every hour, for a week. Until then the name is a claim,
routed nowhere, and claims do not block each other: of several apps asking for one name, the first whose record is
seen gets it, and a name one app proved is refused to the others.

Proof is asked once: a proved domain stays the app's until its owner removes it, whatever its TXT record does later
(a record removed or a DNS server down for a while would otherwise take a live app off its domain). Whoever holds the
name later points it elsewhere in DNS, which is what takes its visitors away from Forja.

Once proved, the owner points the name at the app (a CNAME to the app's own address, the second record shown) and the
preview edge (Traefik) sends that host to Forja's server, which answers from the app's live release (publish/edge.py);
with FORJA_ACME_EMAIL set, Traefik also obtains a certificate for it (preview_runtime/proxy.py). Every worker reloads
the proved names at its sweeps.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import secrets
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from builder.errors import InvalidInput, NameTaken, NotFound
from builder.models import utcnow
from builder.publish import dns_lookup
from builder.publish.addresses import app_host, apps_suffix
from builder.services.domain_words import Proof, detail
from builder.services.preview_hub import PreviewHub
from builder.services.publishing import PublishService
from builder.settings import settings
from builder.store import ProjectStore

log = logging.getLogger(__name__)

PROOF_LABEL = "_forja-verify"
PROOF_PREFIX = "forja-verify="
# The longest name whose proof name (`_forja-verify.<name>`) is still a DNS name (253 characters at most).
LONGEST = 253 - len(PROOF_LABEL) - 1
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
# The sweep's pace: each claim looked up every minute in its first hour, then every hour, and no more after a week
# (Check still looks); at most this many claims per sweep of one worker.
FIRST = timedelta(hours=1)
OFTEN = timedelta(minutes=1)
RARELY = timedelta(hours=1)
GIVE_UP = timedelta(days=7)
PER_SWEEP = 20

DomainState = Literal["waiting", "taken", "proved", "live"]


class DomainInfo(BaseModel):
    domain: str
    state: DomainState = Field(
        description="waiting: its TXT record is not seen yet, so nothing is routed; taken: another app proved it first; "
        "proved: routed to the app; live: proved, and the name points here (known after a check)."
    )
    proof_type: str
    proof_name: str = Field(description="The TXT record's name, which proves the domain is the owner's.")
    proof_value: str = Field(description="The value that record must hold (made for this app and domain).")
    record_type: str
    record_name: str
    record_value: str = Field(description="Where the name must point for visitors to reach the app.")
    points_here: bool | None  # None: not checked
    detail: str


def proof_name(domain: str) -> str:
    return f"{PROOF_LABEL}.{domain}"


def proof_value(token: str) -> str:
    return f"{PROOF_PREFIX}{token}"


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
    if len(name) > LONGEST:
        raise InvalidInput(f"That domain is too long: at most {LONGEST} characters, for its TXT record's name to fit.")
    own = {urlsplit(settings.public_url).hostname or "", settings.preview_domain.strip(".").lower()} - {""}
    suffix = apps_suffix()
    if name == suffix or name.endswith(f".{suffix}") or name in own or name.endswith(".localhost"):
        raise InvalidInput(f"{name} is one of this Forja's own names; give a domain of your own, like shop.example.com.")
    return name


async def look_for_proof(domain: str, token: str) -> Proof:
    """What the domain's TXT record says about the value `token`."""
    try:
        values = await dns_lookup.txt_values(proof_name(domain))
    except dns_lookup.LookupFailed:
        return Proof.failed
    if proof_value(token) in values:
        return Proof.found
    return Proof.other if values else Proof.missing


async def _pointing(domain: str, target: str) -> tuple[set[str], set[str]] | None:
    """The addresses of the domain and of the app's own host, None when DNS did not answer."""
    try:
        there, here = await asyncio.gather(dns_lookup.addresses(domain), dns_lookup.addresses(target))
    except dns_lookup.LookupFailed:
        return None
    return there, here


class AppDomains:
    def __init__(self, store: ProjectStore, publishing: PublishService, hub: PreviewHub) -> None:
        self._store = store
        self._publishing = publishing
        self._hub = hub

    async def load(self) -> None:
        """Read every app's proved domain into this worker's edge: its answers and its Traefik routes (a no-op for
        Traefik when they did not change)."""
        domains = await self._store.app_domains()
        self._publishing.domains = domains
        # Only a running edge: one started later reads them at the next sweep (Forja's start loads them after it).
        if (manager := self._hub.started_manager) is not None:
            await manager.proxy.set_app_domains(sorted(domains))
            await self._publishing.servers.reroute(domains)  # server apps' sandboxes answer at their domains directly

    async def sweep(self) -> None:
        """The claims due for a look are looked up, those whose record is there proved; then every proved domain is
        routed (this worker's edge reloaded)."""
        claims = await self._store.take_due_claims(utcnow(), FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP)
        found = await asyncio.gather(*(look_for_proof(claim.domain, claim.token) for claim in claims))
        for claim, proof in zip(claims, found, strict=True):
            if proof is Proof.found:
                await self._prove(claim.project_id, claim.domain)
        await self.load()

    async def _prove(self, project_id: str, domain: str) -> bool:
        """Make the claim the app's domain; False when another app proved it first (or the claim changed)."""
        try:
            proved = await self._store.prove_app_domain(project_id, domain)
        except NameTaken:
            log.info("project %s showed the TXT record of %s, which another app proved first", project_id, domain)
            return False
        if proved:
            log.info("project %s proved the domain %s: it is routed to its app", project_id, domain)
        return proved

    async def info(self, project_id: str, check: bool = False) -> DomainInfo | None:
        """The app's domain with the records it needs and its state; with `check`, its TXT record and where it points
        are looked up (and a claim whose record is there is proved and routed at once). None without one."""
        await self._store.get_project(project_id)
        app = await self._store.published_app(project_id)
        domain = app and (app.domain or app.domain_claim)
        if app is None or not domain or not app.domain_token:
            return None
        proved, target = app.domain is not None, app_host(app.name)
        proof, pointing = Proof.unchecked, None
        if check and proved:
            pointing = await _pointing(domain, target)
        elif check:
            proof, pointing = await asyncio.gather(look_for_proof(domain, app.domain_token), _pointing(domain, target))
            if proof is Proof.found and await self._prove(project_id, domain):
                proved = True
                await self.load()
        if proved:
            proof = Proof.found
        elif proof is Proof.found:  # seen, but not proved: another app proved it first, or the claim just changed
            proof = Proof.unchecked
        if not proved and await self._store.domain_owner(domain) not in (None, project_id):
            proof = Proof.taken
        points, said = detail(domain, proof, pointing, check)
        state: DomainState = "taken" if proof is Proof.taken else "waiting" if not proved else "live" if points else "proved"
        return DomainInfo(
            domain=domain,
            state=state,
            proof_type="TXT",
            proof_name=proof_name(domain),
            proof_value=proof_value(app.domain_token),
            record_type="CNAME",
            record_name=domain,
            record_value=target,
            points_here=points,
            detail=said,
        )

    async def set(self, project_id: str, domain: str) -> DomainInfo:
        """Ask for a domain for the app: answers the records to make. Routed only once proved (see the module's doc)."""
        name = check_domain(domain)
        await self._store.get_project(project_id)
        await self._store.claim_app_domain(project_id, name, secrets.token_hex(16))
        await self.load()  # a domain proved before, if another, is routed no more
        info = await self.info(project_id)
        assert info is not None
        return info

    async def remove(self, project_id: str) -> None:
        await self._store.get_project(project_id)
        if not await self._store.clear_app_domain(project_id):
            raise NotFound("This app has no domain of its own.")
        await self.load()
