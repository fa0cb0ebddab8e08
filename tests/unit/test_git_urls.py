"""The clone commands the Clone dialog and the CLI show: never a token in an address."""

from __future__ import annotations

import shlex

import pytest

from builder.git.urls import clone_command, clone_url, credential_setup, git_user, token_clone_command


@pytest.mark.parametrize(
    ("base", "command"),
    [
        ("http://127.0.0.1:3000", "git clone http://127.0.0.1:3000/git/abc123.git"),
        ("https://forja.example.com/", "git clone https://forja.example.com/git/abc123.git"),
        ("https://example.com/forja", "git clone https://example.com/forja/git/abc123.git"),
    ],
)
def test_the_clone_command_has_no_credentials(base: str, command: str) -> None:
    assert clone_command(base, "abc123") == command


def test_a_git_tokens_lines_keep_it_out_of_the_address() -> None:
    url = clone_url("https://example.com/forja", "abc123")
    setup = credential_setup(url, "ana.lima@example.org", "forja_git_SECRET-_x")
    assert setup == (
        "printf '%s\\n' url=https://example.com/forja/git/abc123.git username=ana.lima password=forja_git_SECRET-_x "
        "| git credential-store store"
    )
    clone = token_clone_command(url)
    assert clone == "git clone -c credential.helper=store -c credential.useHttpPath=true https://example.com/forja/git/abc123.git"
    assert "forja_git_" not in clone


def test_a_percent_or_a_quote_in_the_address_stays_what_it_is() -> None:
    """printf gets the fields as arguments, never as its format, and the shell reads each as one word."""
    url = "http://host/a%20b'c/git/x.git"
    words = shlex.split(credential_setup(url, "bo@example.org", "forja_git_t"))
    assert words[:5] == ["printf", "%s\\n", f"url={url}", "username=bo", "password=forja_git_t"]
    assert shlex.split(token_clone_command(url))[-1] == url


def test_a_user_name_nothing_in_a_url_can_break() -> None:
    assert git_user("@example.org") == "forja"
    assert git_user("a:b/c@d") == "abc"
