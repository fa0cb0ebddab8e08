"""builder/git/addresses.py: the remote's addresses are looked up once, each judged, and git is pinned to them."""

from __future__ import annotations

import pytest

import builder.git.addresses
from builder.errors import InvalidInput
from builder.git.addresses import pin
from builder.settings import settings

REFUSAL = "Forja imports only from public git servers."
NAMES = {
    "docs.example.test": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "mixed.example.test": ["93.184.215.14", "10.1.2.3"],
}


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.git.addresses, "resolve", lambda name, _port: NAMES.get(name, []))
    monkeypatch.setattr(settings, "git_import_private", False)


def test_https_is_pinned_to_every_address_found() -> None:
    pinned = pin("https://docs.example.test/o/r.git", REFUSAL)
    assert pinned.url == "https://docs.example.test/o/r.git"
    assert pinned.config == (
        "-c",
        "http.curloptResolve=docs.example.test:443:93.184.215.14,[2606:2800:21f:cb07:6820:80da:af6b:8b2c]",
    )


def test_git_protocol_names_the_checked_address_in_the_url() -> None:
    assert pin("git://docs.example.test/o/r.git", REFUSAL).url == "git://93.184.215.14:9418/o/r.git"


@pytest.mark.parametrize(
    "url",
    [
        "https://mixed.example.test/r.git",  # one private address among public ones is enough
        "https://127.0.0.1/r.git",
        "https://[::1]/r.git",
        "https://[::ffff:10.0.0.1]/r.git",
        "https://[::127.0.0.1]/r.git",  # IPv4-compatible: Python calls it global
        "https://169.254.169.254/r.git",
    ],
)
def test_a_private_or_local_address_is_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match=r"is a private or local address; Forja imports only from public git servers\.$"):
        pin(url, REFUSAL)


def test_allowed_private_addresses_are_still_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "git_import_private", True)
    assert pin("http://mixed.example.test:8080/r.git", REFUSAL).config == (
        "-c",
        "http.curloptResolve=mixed.example.test:8080:93.184.215.14,10.1.2.3",
    )


def test_a_name_nobody_knows_is_said_in_words() -> None:
    with pytest.raises(InvalidInput, match=r"^nowhere\.example\.test cannot be found from this server"):
        pin("https://nowhere.example.test/r.git", REFUSAL)
