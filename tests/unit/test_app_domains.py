"""Apps' addresses and custom domains: which names are taken as an app's, and the edge's configuration for them, ACME
included (no certificate authority is reachable here: the configuration Traefik gets is what is checked)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

import builder.settings
from builder.errors import InvalidInput
from builder.publish.addresses import app_name_of, app_url
from builder.services.app_domains import LONGEST, check_domain
from builder.services.domain_words import NO_ANSWER, Proof, detail
from builder.settings import Settings
from builder.settings.apps import parse_resolver
from preview_runtime.apps_edge import HTTPS, RESOLVER, AppsEdge
from preview_runtime.proxy import PreviewProxy


@pytest.fixture(autouse=True)
def edge_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"preview_domain": "localhost", "preview_port": 8800, "apps_domain": "", "public_url": ""}.items():
        monkeypatch.setattr(builder.settings.settings, name, value)


def test_an_apps_host_names_it_and_no_other_host_does() -> None:
    assert app_url("shop") == "http://shop.apps.localhost:8800"
    assert app_name_of("shop.apps.localhost:8800") == "shop"
    assert app_name_of("SHOP.apps.localhost.") == "shop"
    for host in ("apps.localhost", "a.b.apps.localhost", "shop.localhost", "127.0.0.1:8800", "[::1]:80", "-x.apps.localhost"):
        assert app_name_of(host) is None, host


def test_on_a_server_apps_live_under_their_own_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "apps_domain", "apps.example.com")
    assert app_url("shop") == "https://shop.apps.example.com"
    assert app_name_of("shop.apps.example.com") == "shop"
    assert app_name_of("shop.apps.localhost:8800") is None


def test_custom_domains_are_host_names_of_someone_elses() -> None:
    assert check_domain(" Shop.Example.com. ") == "shop.example.com"
    assert check_domain("https://shop.example.com/") == "shop.example.com"
    for bad in (
        "localhost",
        "10.0.0.1",
        "::1",
        "shop",
        "shop.example.com/path",
        "-a.example.com",
        "a..b.com",
        "x" * 250 + ".com",
    ):
        with pytest.raises(InvalidInput, match="is not a domain name"):
            check_domain(bad)
    # Its TXT record's name (`_forja-verify.<domain>`) must fit in DNS's 253 characters too.
    longest = ".".join(["a" * 59] * 4)[: LONGEST - 4] + ".com"
    assert len(longest) == LONGEST and check_domain(longest) == longest
    with pytest.raises(InvalidInput, match="too long"):
        check_domain("b" + longest)
    for own in ("shop.apps.localhost", "apps.localhost", "x.localhost"):
        with pytest.raises(InvalidInput, match="one of this Forja's own names"):
            check_domain(own)


def test_the_dialog_says_where_the_domain_stands_and_what_to_do() -> None:
    def said(proof: Proof, pointing: tuple[set[str], set[str]] | None = None, checked: bool = False) -> tuple[bool | None, str]:
        return detail("shop.example.com", proof, pointing, checked)

    assert said(Proof.unchecked) == (
        None,
        "Show that shop.example.com is yours: add the TXT record below on your domain provider's DNS page, then press "
        "Check. Forja also looks for it by itself every few minutes. Until then, nothing is served there.",
    )
    assert "does not see the TXT record of shop.example.com yet" in said(Proof.missing, checked=True)[1]
    assert "with another value" in said(Proof.other, checked=True)[1]
    assert "already the domain of another app" in said(Proof.taken)[1]
    assert said(Proof.failed, checked=True) == (None, NO_ANSWER)
    assert said(Proof.found) == (
        None,
        "shop.example.com is proved yours, and Forja serves the app there. If you have not yet, add the CNAME record "
        "below so that it points here, then press Check.",
    )
    assert said(Proof.found, ({"203.0.113.7"}, {"203.0.113.7"}), True)[0] is True
    found, words = said(Proof.found, (set(), {"203.0.113.7"}), True)
    assert found is False and "does not point here yet" in words
    found, words = said(Proof.found, ({"198.51.100.1"}, {"203.0.113.7"}), True)
    assert found is False and "points elsewhere (198.51.100.1)" in words
    assert said(Proof.found, None, True) == (None, NO_ANSWER)


def test_the_resolver_setting_is_an_address_with_its_port() -> None:
    assert parse_resolver("") is None
    assert parse_resolver(" 192.0.2.53 ") == ("192.0.2.53", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5300") == ("::1", 5300)
    assert parse_resolver("::1") == ("::1", 53)
    for bad in ("dns.example.com", "127.0.0.1:0", "127.0.0.1:x", "[::1]x", "1.2.3.4:70000"):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            parse_resolver(bad)
    with pytest.raises(ValidationError, match="does not start with an IP address"):
        Settings(dns_resolver="dns.example.com")


def test_the_edge_routes_apps_and_their_domains_and_gets_certificates_only_with_acme(tmp_path: Path) -> None:
    plain = AppsEdge("apps.localhost", "http://127.0.0.1:3000", domains=("shop.example.com",))
    routers, services = plain.routes()
    assert services == {"forja-apps": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:3000"}], "passHostHeader": True}}}
    assert routers["forja-apps"]["rule"] == "HostRegexp(`^[a-z0-9-]{1,63}\\.apps\\.localhost$`)"
    assert routers["forja-apps-domain-0"]["rule"] == "Host(`shop.example.com`)"
    assert not any("tls" in router for router in routers.values())
    assert plain.entrypoints("0.0.0.0") == {} and plain.resolvers(tmp_path) == {}

    acme = AppsEdge("apps.example.com", "http://127.0.0.1:3000", ("shop.example.com",), "ops@example.com", 8443)
    routers, _ = acme.routes()
    secure = routers["forja-apps-domain-0-tls"]
    assert secure["entryPoints"] == [HTTPS]
    assert secure["tls"] == {"certResolver": RESOLVER, "domains": [{"main": "shop.example.com"}]}
    # Metrics are counted only where a router asks (published apps' own routers, preview_runtime/visits.py).
    assert acme.entrypoints("0.0.0.0") == {HTTPS: {"address": "0.0.0.0:8443", "observability": {"metrics": False}}}
    assert acme.resolvers(tmp_path) == {
        RESOLVER: {"acme": {"email": "ops@example.com", "storage": str(tmp_path / "acme.json"), "tlsChallenge": {}}}
    }
    # What Traefik's static file holds with it: the HTTPS entrypoint beside the previews' and the resolver.
    proxy = PreviewProxy(tmp_path / "proxy", 8800, apps=acme)
    static = proxy._static_config()
    assert set(static["entryPoints"]) == {"web", HTTPS}
    assert static["certificatesResolvers"][RESOLVER]["acme"]["email"] == "ops@example.com"
    assert "certificatesResolvers" not in PreviewProxy(tmp_path / "p2", 8800, apps=plain)._static_config()
