"""The doctor's sentences with their addresses and URL credentials taken out (builder/hidden_addresses.py): what other
programs say keeps its words, and versions, ports and times stay as they are."""

from __future__ import annotations

import pytest

from builder.hidden_addresses import without_addresses


@pytest.mark.parametrize(
    ("said", "shown"),
    [
        (
            "localhost resolves to 127.0.0.1 here, which is this machine.",
            "localhost resolves to [address] here, which is this machine.",
        ),
        ("registry.npmjs.org resolves to ::1.", "registry.npmjs.org resolves to [address]."),
        ("Could not connect to deb.debian.org:80 (151.101.2.132).", "Could not connect to deb.debian.org:80 ([address])."),
        ("Cannot connect to host 10.0.0.5:2376 ssl:default", "Cannot connect to host [address]:2376 ssl:default"),
        ("fe80::1%eth0 and 2001:db8::5 and ::ffff:10.0.0.1", "[address] and [address] and [address]"),
        ("via http://forja:s3cret@proxy.corp:3128/ then", "via http://proxy.corp:3128/ then"),
        ("via https://user:pw@10.1.2.3:8443", "via https://[address]:8443"),
    ],
)
def test_addresses_and_credentials_are_taken_out(said: str, shown: str) -> None:
    assert without_addresses(said) == shown


@pytest.mark.parametrize(
    "said",
    [
        "Node.js v24.19.0, npm 11.17.0",
        "Traefik 3.7.15",
        "Chromium 131.0.6778.85",
        "at 10:30 today: sha256:deadbeef",
        "Installs in sandboxed previews may reach registry.npmjs.org, pypi.org.",
    ],
)
def test_what_is_no_address_stays(said: str) -> None:
    assert without_addresses(said) == said
