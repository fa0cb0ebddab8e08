"""An app's custom domain is routed only once a DNS TXT record proves it its owner's: with the real parts (a static app
published by the local runner behind a real Traefik, Forja's guarded server on a loopback port) and a DNS server of
the test's on 127.0.0.1 (tests/dns_server.py) that Forja's lookups are pointed at, so no question leaves this machine.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import uvicorn

import builder.settings
from builder.api import api as forja_api
from builder.api import guarded
from builder.composition import Services
from builder.errors import NameTaken
from builder.models import LOCAL_USER_ID, utcnow
from builder.publish import dns_lookup
from builder.services.app_domains import FIRST, GIVE_UP, OFTEN, PER_SWEEP, RARELY, DomainInfo
from builder.services.domain_words import NO_ANSWER
from builder.store import ProjectStore
from preview_runtime.free_ports import free_port
from preview_runtime.preview_headers import NOT_FOUND_MARKER
from tests.dns_server import LocalDNS

PAGE = b"<!doctype html><html><head><title>Cuts</title></head><body><h1>Cuts from nine</h1></body></html>\n"
DOMAIN = "cuts.example.test"


@pytest.fixture
async def forja_server(monkeypatch: pytest.MonkeyPatch, services: Services) -> AsyncIterator[str]:
    """Forja's guarded server on a loopback port, where the edge (Traefik) sends the apps' hosts."""
    port = free_port()
    monkeypatch.setattr(builder.settings.settings, "port", port)
    server = uvicorn.Server(uvicorn.Config(guarded(forja_api), host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "Forja's server did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def by_host(url: str, host: str, path: str = "/") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        return await client.get(url + path, headers={"Host": host})


async def through_traefik(services: Services, host: str) -> httpx.Response:
    return await by_host((await services.preview_hub.manager()).proxy.internal_url().rstrip("/"), host)


async def traefik_until(services: Services, host: str, app: bool) -> httpx.Response:
    """Traefik's answer for `host` once it serves the app (`app`) or no longer does: it applies a change of routes
    within a second or so."""
    for _ in range(200):
        answer = await through_traefik(services, host)
        if ("Cuts from nine" in answer.text) == app:
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"Traefik did not {'start' if app else 'stop'} serving the app at {host}")


def assert_not_served(answer: httpx.Response) -> None:
    assert answer.status_code in (400, 404) and "Cuts from nine" not in answer.text, (answer.status_code, answer.text)


async def published(services: Services, name: str, title: str) -> str:
    created = await services.projects.create(title, {"index.html": PAGE}, owner=LOCAL_USER_ID)
    await services.publishing.publish(created.project_id, name=name, user_id=LOCAL_USER_ID)
    return created.project_id


async def test_a_domain_is_routed_only_once_its_txt_record_proves_it_the_owners(
    local_previews: None, services: Services, forja_server: str, local_dns: LocalDNS
) -> None:
    pid = await published(services, "cuts", "Cuts")
    proxy = (await services.preview_hub.manager()).proxy

    added = await services.app_domains.set(pid, "Cuts.Example.test")
    assert (added.domain, added.state, added.proof_type, added.proof_name) == (
        DOMAIN,
        "waiting",
        "TXT",
        f"_forja-verify.{DOMAIN}",
    )
    assert re.fullmatch(r"forja-verify=[0-9a-f]{32}", added.proof_value), added.proof_value
    assert (added.record_type, added.record_name, added.record_value) == ("CNAME", DOMAIN, "cuts.apps.localhost")
    assert "Until then, nothing is served there" in added.detail
    # Unproved: routed nowhere. Traefik answers its own not-found page; Forja's server does not serve the app either.
    assert proxy.apps is not None and proxy.apps.domains == ()
    unrouted = await through_traefik(services, DOMAIN)
    assert unrouted.status_code == 404 and unrouted.headers.get(NOT_FOUND_MARKER) == "none"
    assert_not_served(unrouted)
    assert_not_served(await by_host(forja_server, DOMAIN))
    # The same name asked again keeps its value: a record made for it still proves it.
    assert (await services.app_domains.set(pid, DOMAIN)).proof_value == added.proof_value

    # No record yet, then one with a value that is not this app's: still nothing.
    missing = await services.app_domains.info(pid, check=True)
    assert missing is not None and missing.state == "waiting" and "does not see the TXT record" in missing.detail
    local_dns.set(f"_forja-verify.{DOMAIN}", "TXT", "forja-verify=0123456789abcdef0123456789abcdef", "v=spf1 -all")
    wrong = await services.app_domains.info(pid, check=True)
    assert wrong is not None and wrong.state == "waiting" and "with another value" in wrong.detail
    assert (f"_forja-verify.{DOMAIN}", "TXT") in local_dns.asked  # the check asked the test's server
    assert proxy.apps.domains == ()
    assert_not_served(await through_traefik(services, DOMAIN))

    # The record with the app's value: Check proves it, and from then on the edge and Traefik serve the app there.
    local_dns.set(f"_forja-verify.{DOMAIN}", "TXT", "v=spf1 -all", added.proof_value)
    proved = await services.app_domains.info(pid, check=True)
    assert proved is not None and proved.state == "proved", proved
    assert "does not point here yet" in proved.detail  # the name itself has no record yet
    assert proxy.apps.domains == (DOMAIN,)
    served = await traefik_until(services, DOMAIN, app=True)
    assert served.status_code == 200
    assert "Cuts from nine" in (await by_host(forja_server, DOMAIN)).text
    assert (await by_host(forja_server, DOMAIN, "/api/projects")).status_code == 404  # never Forja's API

    # Pointed here (a CNAME to the app's own host, which resolves): live.
    local_dns.set(DOMAIN, "CNAME", "cuts.apps.localhost.")
    local_dns.set("cuts.apps.localhost", "A", "127.0.0.1")
    live = await services.app_domains.info(pid, check=True)
    assert live is not None and (live.state, live.points_here) == ("live", True) and "is live" in live.detail

    # Removed: no longer served, and the value is forgotten (a new claim gets a new one).
    await services.app_domains.remove(pid)
    assert proxy.apps.domains == ()
    await traefik_until(services, DOMAIN, app=False)
    again = await services.app_domains.set(pid, DOMAIN)
    assert again.state == "waiting" and again.proof_value != added.proof_value
    local_dns.forget(f"_forja-verify.{DOMAIN}")


async def named_apps(services: Services, store: ProjectStore, *titles: str) -> list[str]:
    """Projects whose apps have a name and no release: a name is all a domain needs."""
    ids: list[str] = []
    for title in titles:
        pid = (await services.projects.create(title, {"index.html": PAGE}, owner=LOCAL_USER_ID)).project_id
        await store.name_app(pid, title.lower())
        ids.append(pid)
    return ids


async def test_the_first_app_to_prove_a_name_gets_it_and_the_others_are_refused(
    services: Services, sqlite_store: ProjectStore, local_dns: LocalDNS
) -> None:
    """Claims do not block each other: a stranger's claim made first does not keep the real owner from proving it."""
    owner, stranger, late = await named_apps(services, sqlite_store, "Owner", "Stranger", "Late")
    theirs = await services.app_domains.set(stranger, "shop.example.test")
    mine = await services.app_domains.set(owner, "shop.example.test")
    assert theirs.proof_value != mine.proof_value  # a value per app and name
    local_dns.set("_forja-verify.shop.example.test", "TXT", mine.proof_value)

    # The stranger's check finds a record, not theirs: nothing proved.
    stranger_check = await services.app_domains.info(stranger, check=True)
    assert stranger_check is not None and stranger_check.state == "waiting" and "with another value" in stranger_check.detail
    proved = await services.app_domains.info(owner, check=True)
    assert proved is not None and proved.state == "proved"
    assert services.publishing.domains == {"shop.example.test": "owner"}

    # From then on the stranger's claim says so, even if their value appears too, and a new claim is refused.
    local_dns.set("_forja-verify.shop.example.test", "TXT", mine.proof_value, theirs.proof_value)
    refused = await services.app_domains.info(stranger, check=True)
    assert refused is not None and refused.state == "taken" and "already the domain of another app" in refused.detail
    with pytest.raises(NameTaken, match="already the domain of another app"):
        await services.app_domains.set(late, "Shop.Example.test")
    assert services.publishing.domains == {"shop.example.test": "owner"}
    # The owner asking for it again changes nothing.
    assert (await services.app_domains.set(owner, "shop.example.test")).state == "proved"
    # Once the owner removes it, the stranger's claim, whose record is there, can prove it.
    await services.app_domains.remove(owner)
    assert services.publishing.domains == {}
    moved = await services.app_domains.info(stranger, check=True)
    assert moved is not None and moved.state == "proved"
    assert services.publishing.domains == {"shop.example.test": "stranger"}
    local_dns.forget("_forja-verify.shop.example.test")


async def test_the_sweep_proves_a_claim_whose_record_appeared_at_its_own_pace(
    services: Services, sqlite_store: ProjectStore, local_dns: LocalDNS
) -> None:
    (pid,) = await named_apps(services, sqlite_store, "Swept")
    claim = await services.app_domains.set(pid, "swept.example.test")
    question = ("_forja-verify.swept.example.test", "TXT")

    await services.sweep()  # a first look, as soon as it is asked for: no record yet
    assert local_dns.asked.count(question) == 1 and services.publishing.domains == {}
    await services.sweep()  # not due again for a minute
    assert local_dns.asked.count(question) == 1

    local_dns.set(*question, claim.proof_value)
    # Due again a minute later (the store is asked with a later clock: the sweep's own `now`).
    later = utcnow() + OFTEN + timedelta(seconds=1)
    assert [c.project_id for c in await sqlite_store.take_due_claims(later, FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP)] == [pid]
    assert await sqlite_store.take_due_claims(later, FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP) == []  # taken: marked
    # After its first hour, hourly; after a week, never (Check still looks).
    assert await sqlite_store.take_due_claims(later + FIRST, FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP) == []
    assert len(await sqlite_store.take_due_claims(later + RARELY * 2, FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP)) == 1
    assert await sqlite_store.take_due_claims(utcnow() + GIVE_UP * 2, FIRST, OFTEN, RARELY, GIVE_UP, PER_SWEEP) == []

    # The sweep proves it once due: make it due now, as a minute passing would.
    await sqlite_store.clear_app_domain(pid)
    claim = await services.app_domains.set(pid, "swept.example.test")
    local_dns.set(*question, claim.proof_value)
    await services.sweep()
    assert services.publishing.domains == {"swept.example.test": "swept"}
    info = await services.app_domains.info(pid)
    assert info is not None and info.state == "proved"

    # A trashed project's claims are not looked up.
    (trashed,) = await named_apps(services, sqlite_store, "Trashed")
    await services.app_domains.set(trashed, "trashed.example.test")
    await services.history.delete(trashed)
    await services.sweep()
    assert ("_forja-verify.trashed.example.test", "TXT") not in local_dns.asked
    local_dns.forget("_forja-verify.swept.example.test")


def silent_resolver() -> socket.socket:
    """A UDP port on 127.0.0.1 that takes DNS questions and never answers."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    return silent


async def test_lookups_ask_the_set_resolver_and_say_when_it_does_not_answer(
    local_dns: LocalDNS, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_dns.set("_forja-verify.look.example.test", "TXT", "forja-verify=abc", "x" * 300)  # a long one comes in parts
    local_dns.set("look.example.test", "CNAME", "target.example.test.")
    local_dns.set("target.example.test", "A", "192.0.2.10")
    local_dns.set("target.example.test", "AAAA", "2001:db8::10")
    assert await dns_lookup.txt_values("_forja-verify.look.example.test") == {"forja-verify=abc", "x" * 300}
    assert await dns_lookup.addresses("look.example.test") == {"192.0.2.10", "2001:db8::10"}
    assert await dns_lookup.txt_values("nothing.example.test") == set()  # NXDOMAIN
    assert await dns_lookup.txt_values("target.example.test") == set()  # the name, but no TXT
    assert await dns_lookup.txt_values("_forja-verify." + "a" * 250 + ".test") == set()  # too long to be a DNS name

    with silent_resolver() as silent:
        monkeypatch.setattr(builder.settings.settings, "dns_resolver", f"127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setattr(builder.settings.settings, "dns_timeout_s", 0.3)
        with pytest.raises(dns_lookup.LookupFailed):
            await dns_lookup.txt_values("look.example.test")
        assert silent.recv(512)  # the question did reach the port set


async def test_odd_names_and_a_silent_resolver_get_plain_words_never_a_500(
    services: Services,
    sqlite_store: ProjectStore,
    local_dns: LocalDNS,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (pid,) = await named_apps(services, sqlite_store, "Odd")
    path = f"/api/projects/{pid}/app/domain"
    transport = httpx.ASGITransport(app=guarded(forja_api))
    odd = [
        "",
        " ",
        "http://",
        "shop",
        "exa mple.com",
        "café.example.com",
        "shop.example.com:8080",
        "*.example.com",
        "shop..example.com",
        "-shop.example.com",
        "shop.example.com/path?x=1",
        "a\x00b.example.com",
        "\u202eshop.example.com",
        "localhost",
        "odd.apps.localhost",
        "127.0.0.1",
        "[::1]",
        "x" * 64 + ".example.com",
        ".".join(["abcdefghij"] * 22) + ".com",
        "x" * 260,
    ]
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
        assert (await client.get(path)).status_code == 404  # none yet
        for name in odd:
            answer = await client.put(path, json={"domain": name})
            assert answer.status_code == 422, (name, answer.status_code, answer.text)
            assert "Traceback" not in answer.text and answer.json()["detail"], name
        assert (await client.put(path, json={"domain": ["shop.example.com"]})).status_code == 422
        assert (await client.get(path)).status_code == 404  # none was kept

        assert (await client.put(path, json={"domain": "odd.example.test"})).status_code == 200
        with silent_resolver() as silent:
            monkeypatch.setattr(builder.settings.settings, "dns_resolver", f"127.0.0.1:{silent.getsockname()[1]}")
            monkeypatch.setattr(builder.settings.settings, "dns_timeout_s", 0.3)
            checked = await client.get(path, params={"check": "true"})
        assert checked.status_code == 200, checked.text
        info = DomainInfo.model_validate(checked.json())
        assert (info.state, info.detail) == ("waiting", NO_ANSWER)
        assert (await client.get(path, params={"check": "maybe"})).status_code == 422
        assert (await client.delete(path)).status_code == 204
        assert (await client.delete(path)).status_code == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], caplog.text
