"""A team's MCP server's address (builder/services/mcp_client.py) or command and environment values
(builder/services/mcp_stdio.py), and a call's arguments as the run's log keeps them (builder/services/mcp_tools.py). Names are answered by a resolver of the test's, so no DNS question leaves this
machine."""

from __future__ import annotations

from typing import cast

import pytest

import builder.settings
from builder.errors import InvalidInput, McpServerUnreachable
from builder.services.access import LOCAL_ACTOR
from builder.services.mcp_client import check_url, checked_addresses
from builder.services.mcp_servers import McpServerService, NewMcpServer
from builder.services.mcp_stdio import env_from_lines
from builder.services.mcp_tools import logged
from builder.store import ProjectStore
from tests.conftest import TEST_ANTHROPIC_KEY


def answering(*addresses: str):
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://tools.example.com/mcp", "must start with http:// or https://"),
        ("https://ana:pw@tools.example.com/mcp", "Put the token in the token field"),
        ("https://tools.example.com/mcp#x", "cannot hold a #"),
    ],
)
def test_an_address_of_another_form_is_refused_in_words(url: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_url(url)


async def test_a_name_with_any_private_address_is_refused_unless_its_host_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://tools.example.com/mcp"
    assert await checked_addresses(url, answering("93.184.215.14")) == ["93.184.215.14"]
    for private in ("10.0.0.5", "169.254.169.254", "::ffff:127.0.0.1"):
        with pytest.raises(McpServerUnreachable, match="only to servers on public addresses"):
            await checked_addresses(url, answering("93.184.215.14", private))
    with pytest.raises(McpServerUnreachable, match="was not found"):
        await checked_addresses(url, answering())
    monkeypatch.setattr(builder.settings.settings, "mcp_private_hosts", "intranet.example, tools.example.com:8443")
    assert await checked_addresses("http://intranet.example:9000/mcp", answering("10.0.0.5")) == ["10.0.0.5"]
    with pytest.raises(McpServerUnreachable):  # listed for another port only
        await checked_addresses(url, answering("10.0.0.5"))
    assert await checked_addresses("https://tools.example.com:8443/mcp", answering("10.0.0.5")) == ["10.0.0.5"]


def test_the_log_keeps_arguments_without_their_secrets() -> None:
    given = {
        "author": "Ana",
        "note": f"key {TEST_ANTHROPIC_KEY}",
        "password": "hunter2",
        "headers": {"Authorization": "Bearer abc", "accept": "json"},
        "apiKey": "plain",
        "items": [{"token": "t1"}, "sk-" + "a" * 24],
        "count": 3,
    }
    assert logged(given) == {
        "author": "Ana",
        "note": "key [redacted]",
        "password": "[redacted]",
        "headers": {"Authorization": "[redacted]", "accept": "json"},
        "apiKey": "[redacted]",
        "items": [{"token": "[redacted]"}, "[redacted]"],
        "count": 3,
    }


@pytest.mark.parametrize(
    ("new", "why"),
    [
        (NewMcpServer(name="notes"), "Give the server's address, or the command that starts it"),
        (NewMcpServer(name="notes", url="https://tools.example.com/mcp", command="npx notes"), "not both"),
        (NewMcpServer(name="notes", url="https://tools.example.com/mcp", env={"KEY": "v"}), "an address's server gets"),
        (NewMcpServer(name="notes", command="npx notes\nrm -rf /"), "fit on one line"),
        (NewMcpServer(name="notes", command="npx notes", env={"NOT A NAME": "v"}), "cannot name an environment value"),
    ],
)
async def test_a_server_given_both_ways_or_neither_is_refused_in_words(new: NewMcpServer, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        await McpServerService(cast(ProjectStore, None)).add(LOCAL_ACTOR, new)


def test_environment_values_are_read_one_a_line() -> None:
    assert env_from_lines("API_KEY=a=b\n\n  REGION = eu \n") == {"API_KEY": "a=b", "REGION": "eu"}
    with pytest.raises(InvalidInput, match="as NAME=value"):
        env_from_lines("API_KEY")
