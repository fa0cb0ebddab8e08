"""The clone command the Clone dialog and `forja clone-url` show."""

from __future__ import annotations

import pytest

from builder.git.urls import clone_command, git_user


@pytest.mark.parametrize(
    ("base", "email", "command"),
    [
        ("http://127.0.0.1:3000", None, "git clone http://127.0.0.1:3000/git/abc123.git"),
        (
            "https://forja.example.com/",
            "ana.lima@example.org",
            "git clone https://ana.lima:YOUR_TOKEN@forja.example.com/git/abc123.git",
        ),
        ("https://example.com/forja", "bo+x@example.org", "git clone https://box:YOUR_TOKEN@example.com/forja/git/abc123.git"),
    ],
)
def test_the_clone_command(base: str, email: str | None, command: str) -> None:
    assert clone_command(base, "abc123", email) == command


def test_a_user_name_nothing_in_a_url_can_break() -> None:
    assert git_user("@example.org") == "forja"
    assert git_user("a:b/c@d") == "abc"
