"""The address every message to a person names (the run command's "Forja is running at", the first admin's sign-up
link in the log) is the one address a browser should open."""

from __future__ import annotations

import pytest

from builder.settings.server import ServerSettings


@pytest.mark.parametrize(
    ("host", "public_url", "page_url"),
    [
        ("127.0.0.1", "", "http://localhost:8000"),
        ("0.0.0.0", "", "http://localhost:8000"),  # never 0.0.0.0, which no browser opens
        ("::", "", "http://localhost:8000"),
        ("[::1]", "", "http://localhost:8000"),
        ("192.168.1.20", "", "http://192.168.1.20:8000"),
        ("0.0.0.0", "https://forja.example.org/", "https://forja.example.org"),
    ],
)
def test_the_page_address_a_person_is_told(host: str, public_url: str, page_url: str) -> None:
    chosen = ServerSettings(host=host, port=8000, public_url=public_url)
    assert chosen.page_url == page_url
