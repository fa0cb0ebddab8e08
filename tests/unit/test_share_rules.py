"""Share links' pure rules: reading an expiry and the CLI's share commands."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from builder import cli_shares
from builder.services import shares


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
