"""DNS lookups for the apps' custom domains: a name's TXT strings and its addresses, asked of one resolver.

The resolver is FORJA_DNS_RESOLVER's server (tests start one on 127.0.0.1), else the servers in the machine's
/etc/resolv.conf; every lookup gives up after FORJA_DNS_TIMEOUT_S. dnspython's asyncio resolver runs on the event
loop without blocking it. A name that does not exist, or has no record of the kind asked, is an empty answer; only a
resolver that did not answer (or refused) is a LookupFailed.
"""

from __future__ import annotations

import asyncio
import functools
import logging

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdata
import dns.rdatatype
import dns.resolver
from dns.rdtypes.txtbase import TXTBase

from builder.settings import settings
from builder.settings.apps import parse_resolver

log = logging.getLogger(__name__)


class LookupFailed(Exception):
    """No DNS server answered the question (timed out, refused, or none is configured)."""


@functools.lru_cache(maxsize=4)
def _resolver(server: str, timeout_s: float) -> dns.asyncresolver.Resolver:
    where = parse_resolver(server)
    if where is None:
        resolver = dns.asyncresolver.Resolver()  # reads /etc/resolv.conf, once per setting (cached)
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*where)]
    resolver.timeout = resolver.lifetime = timeout_s
    return resolver


def resolver() -> dns.asyncresolver.Resolver:
    """The resolver the settings name (LookupFailed when the machine has no resolver configured)."""
    try:
        return _resolver(settings.dns_resolver, settings.dns_timeout_s)
    except dns.resolver.NoResolverConfiguration as exc:
        raise LookupFailed("this machine has no DNS resolver configured (set FORJA_DNS_RESOLVER)") from exc


async def _answer(name: str, rdtype: dns.rdatatype.RdataType) -> list[dns.rdata.Rdata]:
    try:
        answer = await resolver().resolve(dns.name.from_text(name), rdtype, raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
        return []
    except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel):
        return []  # no DNS name, so no record (a name kept from before the checks of today, say)
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        log.info("DNS lookup of %s %s failed: %s", name, rdtype.name, exc)
        raise LookupFailed(str(exc)) from exc
    return list(answer.rrset or [])


async def txt_values(name: str) -> set[str]:
    """The TXT records of `name`, each one string (a record's strings joined, as DNS splits long ones)."""
    records = await _answer(name, dns.rdatatype.TXT)
    return {b"".join(record.strings).decode("utf-8", "replace").strip() for record in records if isinstance(record, TXTBase)}


async def addresses(name: str) -> set[str]:
    """The IPv4 and IPv6 addresses `name` resolves to (following CNAMEs), empty when it has none."""
    v4, v6 = await asyncio.gather(_answer(name, dns.rdatatype.A), _answer(name, dns.rdatatype.AAAA))
    return {record.to_text() for record in [*v4, *v6]}
