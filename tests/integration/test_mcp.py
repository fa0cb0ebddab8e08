"""Forja as an MCP server, driven by the official SDK's own client: `python -m builder mcp` over stdio, on a data dir
of the test's own, and the streamable HTTP endpoint at /api/mcp behind Forja's guards, with personal API tokens."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import builder.settings
from builder.api import api, guarded
from builder.api.mcp import endpoint
from builder.models import ProjectRole
from builder.services import Services
from tests.accounts import BASE, someone
from tests.integration.test_cli import REPO, Cli

TOOLS = {
    "list_projects",
    "generate",
    "list_files",
    "read_file",
    "write_file",
    "start_preview",
    "preview_status",
    "preview_logs",
    "share",
    "publish",
    "list_releases",
}
# A page the local runner serves with no dependencies to install.
SERVER = b"require('http').createServer((q, s) => s.end('<h1>mcp</h1>')).listen(Number(process.env.PORT), process.env.HOST)\n"
PACKAGE = b'{"name": "mcp", "version": "1.0.0", "scripts": {"dev": "node server.js"}}'


async def ok(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, (tool, result.content)
    content = result.structured_content
    assert content is not None, (tool, result.content)
    return content.get("result", content)


async def refused(client: Client, tool: str, **arguments: Any) -> str:
    """The sentence of a tool's error (the SDK puts its own words before Forja's)."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, (tool, result.content)
    text = result.content[0].text  # pyright: ignore[reportAttributeAccessIssue]
    return text.removeprefix(f"Error executing tool {tool}: ")


async def test_stdio_builds_offline_reads_and_writes_files(tmp_path) -> None:
    cli = Cli(tmp_path / "data")  # no accounts, no API key: the offline starters build
    params = StdioServerParameters(command=sys.executable, args=["-m", "builder", "mcp"], env=cli.env, cwd=str(REPO))
    async with Client(params) as client:
        assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
        made = await ok(client, "generate", prompt="A landing page for a bakery", check=False)
        project = made["project_id"]
        assert made["version"] == 1 and "index.html" in made["files"] and made["check"] is None
        assert [p["id"] for p in await ok(client, "list_projects")] == [project]
        page = await ok(client, "read_file", project_id=project, path="index.html")
        assert page["encoding"] == "utf-8" and "<html" in page["content"]
        saved = await ok(client, "write_file", project_id=project, path="notes.md", content="# Notes\n", message="notes")
        assert saved["number"] == 2
        assert (await ok(client, "read_file", project_id=project, path="notes.md"))["content"] == "# Notes\n"
        assert "There is no project 'nope'" in await refused(client, "list_files", project_id="nope")
        # Previews live in the running Forja; none runs on this test's port, and the tool says so.
        port = cli.env["FORJA_PORT"]
        assert await refused(client, "preview_status", project_id=project) == (
            f"Forja is not running on port {port}; start it with: bash scripts/run.sh"
        )


@asynccontextmanager
async def mcp_as(token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=guarded(api)), base_url=BASE, headers=headers, timeout=120)
    async with http, Client(streamable_http_client(f"{BASE}/api/mcp", http_client=http)) as client:
        yield client


async def http_status(token: str | None, **more: str) -> tuple[int, str]:
    """What /api/mcp answers a plain request (a tools list) with this token (and `more` headers)."""
    headers = ({"Authorization": f"Bearer {token}"} if token else {}) | more
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=guarded(api)), base_url=BASE) as http:
        response = await http.post(
            "/api/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers=headers | {"Accept": "application/json, text/event-stream"},
        )
    return response.status_code, response.text


async def test_http_endpoint_with_personal_tokens(
    local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    async with (
        someone(services, "ana@example.org", "Ana Lima") as ana,
        someone(services, "bo@example.org", "Bo Park") as bo,
        endpoint.running(),
    ):
        created = await services.projects.create(
            "Served", {"package.json": PACKAGE, "server.js": SERVER}, owner=ana.actor.user_id
        )
        project = created.project_id
        await services.access.add_member(project, bo.actor.email, ProjectRole.viewer)
        async with mcp_as(ana.token) as client:
            assert {p["id"] for p in await ok(client, "list_projects")} == {project}
            # Quotas refuse in their own words: Ana owns one project, her limit here.
            monkeypatch.setattr(builder.settings.settings, "quota_projects", 1)
            assert (await refused(client, "generate", prompt="A bakery", check=False)).startswith(
                "You own 1 projects, your limit on this Forja."
            )
            started = await ok(client, "start_preview", project_id=project, runner="local", wait=True)
            assert started["status"] == "running" and started["runner"] == "local"
            status = await ok(client, "preview_status", project_id=project)
            assert status["url"] == started["url"] and status["version"] == 1
            assert (await client.call_tool("preview_logs", {"project_id": project, "lines": 20})).is_error is False
            saved = await ok(client, "write_file", project_id=project, path="notes.md", content="hi")
            assert saved["number"] == 2
        async with mcp_as(bo.token) as client:
            assert (await ok(client, "read_file", project_id=project, path="notes.md"))["content"] == "hi"
            assert "viewer" in (await refused(client, "write_file", project_id=project, path="x.md", content="no"))
        # Another site's page cannot call it, even with a good token; no token, a wrong one, a revoked one: refused
        # before any tool runs.
        assert await http_status(ana.token, Origin="https://elsewhere.example") == (
            403,
            '{"detail":"Requests from other sites may not change Forja\'s projects."}',
        )
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=guarded(api)), base_url=BASE) as http:
            assert (await http.get("/api/mcp", headers={"Authorization": f"Bearer {ana.token}"})).status_code == 405
        assert (await http_status(None))[0] == 401
        assert (await http_status("forja_not-a-token"))[0] == 401
        (token,) = await services.accounts.tokens(ana.actor)
        await services.accounts.revoke_token(ana.actor, token.id)
        assert (await http_status(ana.token))[0] == 401
