"""Whether a published app's script can set a cookie Forja reads, as the doctor reports it (addresses.cookie_scope).
What browsers do with such cookies is tests/e2e/test_session_isolation.py's, in Chromium."""

from __future__ import annotations

import pytest

from builder.publish.addresses import cookie_scope


@pytest.mark.parametrize(
    ("forja", "suffix", "secure"),
    [
        ("http://localhost:8000", "apps.localhost", False),  # the default: localhost is a top-level name
        ("http://127.0.0.1:8000", "apps.localhost", False),  # an address gets no domain cookie
        ("https://forja.example.com", "example-apps.net", False),  # a site of their own
        ("https://forja.example.com", "apps.example.com", True),  # same site, but the session cookie is __Host-
    ],
)
def test_apps_that_cannot_reach_forjas_cookies(forja: str, suffix: str, secure: bool) -> None:
    ok, detail = cookie_scope(forja, suffix, secure)
    assert ok, detail


def test_apps_that_could_set_a_cookie_forja_reads_are_named() -> None:
    ok, detail = cookie_scope("http://forja.example.com", "apps.example.com", secure=False)
    assert not ok and "can set a cookie for example.com" in detail and "HTTPS" in detail
    ok, detail = cookie_scope("https://forja.apps.example.com", "apps.example.com", secure=True)
    assert not ok and "under the apps' domain" in detail
