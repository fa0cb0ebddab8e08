"""Share links' pure rules: reading an expiry and the CLI's share commands."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from builder.cli import shares as cli_shares
from builder.services import shares
from builder.services.shares import share_url
from builder.settings import settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("30d", timedelta(days=30)),
        ("never", "never"),
        (90, timedelta(seconds=90)),
        ("3600", timedelta(hours=1)),
        (None, None),
    ],
)
def test_parse_expires(text: str | int | None, expected: object) -> None:
    assert shares.parse_expires(text) == expected


@pytest.mark.parametrize("text", ["soon", "-1d", "0", 0, -5, "7y", True, "99999d"])
def test_parse_expires_refuses(text: str | int) -> None:
    with pytest.raises(ValueError):
        shares.parse_expires(text)


def test_cli_parsers() -> None:
    root = argparse.ArgumentParser()
    sub = root.add_subparsers(dest="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true")
    cli_shares.add_parsers(sub, common)
    args = root.parse_args(["share", "abc", "--version", "2", "--expires", "24h", "--json"])
    assert (args.id, args.version, args.expires, args.json) == ("abc", 2, timedelta(hours=24), True)
    assert root.parse_args(["revoke", "5"]).share_id == 5
    assert root.parse_args(["shares", "abc"]).id == "abc"
    assert set(cli_shares.COMMANDS) == {"share", "revoke", "shares"}


def test_a_share_link_is_on_the_address_the_person_is_using(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opened at localhost, the link says localhost, not the 127.0.0.1 Forja listens on (issue 15)."""
    monkeypatch.setattr(settings, "public_url", "")
    assert share_url("tok", "http://localhost:8000/p/abc") == "http://localhost:8000/s/tok"
    assert share_url("tok", "https://forja.lan/p/abc?x=1") == "https://forja.lan/s/tok"
    assert share_url("tok", "http://user:pw@localhost:8000/") == "http://localhost:8000/s/tok"
    # Nothing usable from the page: Forja's own address.
    assert share_url("tok") == f"{settings.base_url}/s/tok"
    assert share_url("tok", "javascript:alert(1)") == f"{settings.base_url}/s/tok"


def test_a_public_url_wins_over_the_page_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "public_url", "https://apps.example.org/")
    assert share_url("tok", "http://localhost:8000/p/abc") == "https://apps.example.org/s/tok"
