"""Forja as an MCP server, driven by the official SDK's own client.

One Forja runs in the test's process: its guarded API and the MCP endpoint's transport, served by granian on a loopback
port, its previews with the local runner behind a real Traefik. `python -m builder mcp` runs beside it on the same
database over stdio, as the CLI does on the server's machine; then the endpoint at /api/mcp is asked over HTTP with
personal API tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from granian.constants import Interfaces
from granian.server.embed import Server
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import builder.settings
from builder.api import api, guarded
from builder.api.identity import session_cookie_name
from builder.api.mcp import TOKEN_ONLY, endpoint
from builder.composition import Services
from builder.models import ProjectRole
from tests.accounts import PASSWORD, someone
from tests.conftest import DatabaseUrls, free_port
from tests.integration.test_cli import REPO, Cli
from tests.waiting import listening

TOOLS = {
    "list_projects",
    "generate",
    "plan",
    "answer_plan",
    "answer_agent",
    "ask_project",
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
# A page the local runner serves with nothing to install.
SERVER = "require('http').createServer((q, s) => s.end('<h1>mcp</h1>')).listen(Number(process.env.PORT), process.env.HOST)\n"
PACKAGE = '{"name": "mcp", "version": "1.0.0", "scripts": {"dev": "node server.js"}}\n'


@pytest.fixture
async def forja(local_previews: None, services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """Forja's guarded API with the MCP endpoint running, on settings.port; answers its address."""
    port = free_port()
    monkeypatch.setattr(builder.settings.settings, "port", port)
    server = Server(guarded(api), address="127.0.0.1", port=port, interface=Interfaces.ASGINL, log_enabled=False)

    async def serve() -> None:
        # The endpoint's transport starts and ends in one task, as in Forja's lifespan (its task group needs that).
        async with endpoint.running():
            await server.serve()

    serving = asyncio.create_task(serve())
    try:
        async with asyncio.timeout(30):
            while not await listening(port):
                assert not serving.done(), f"granian did not start: {serving.exception()}"
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.signal_handler_interrupt()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(serving, 15)


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


async def stdio_session(client: Client, services: Services) -> tuple[str, str]:
    """Build offline, plan, read and write files, run the preview: what an agent on this machine does. Answers the
    project built and the project planned."""
    assert {tool.name for tool in (await client.list_tools()).tools} == TOOLS
    made = await ok(client, "generate", prompt="A landing page for a bakery", check=False)
    project = made["project_id"]
    assert made["version"] == 1 and "index.html" in made["files"] and made["check"] is None
    assert (made["steps"], made["generation_id"]) == ([], None)  # agent mode's, for a follow-up with agent=True
    assert [p["id"] for p in await ok(client, "list_projects")] == [project]
    # A blog fits two starters alike: the offline planner asks which, and the answer picks the plan's starter.
    asked = await ok(client, "plan", prompt="A blog")
    assert asked["status"] == "asking" and asked["checks"] == []
    [question] = asked["questions"]
    posts = question["options"][0]
    assert posts.startswith("A site of posts") and question["other"] is False
    drafted = await ok(client, "answer_plan", plan_id=asked["id"], answers=[posts])
    assert drafted["status"] == "proposed" and drafted["questions"][0]["answer"] == posts
    assert "Flask" in drafted["summary"] and drafted["checks"]
    page = await ok(client, "read_file", project_id=project, path="index.html")
    assert page["encoding"] == "utf-8" and "<html" in page["content"]
    answer = await ok(client, "ask_project", project_id=project, question="Where is the bakery's name?")
    assert answer["answer"].startswith("Offline (no model)") and answer["version"] == 1
    assert answer["references"] and {ref["path"] for ref in answer["references"]} <= set(made["files"])
    assert "There is no project 'nope'" in await refused(client, "list_files", project_id="nope")
    # Agent mode changes an app that exists, with a model that uses tools: offline, it is refused in words.
    agent = await refused(client, "generate", prompt="Fix the title", project_id=project, check=False, agent=True)
    assert agent.startswith("Agent mode needs a model that can use tools")
    assert "give its project_id" in await refused(client, "generate", prompt="A bakery", check=False, agent=True)
    # Each save is a version; the second makes the project a plain Node server the sandbox runs with no install.
    assert (await ok(client, "write_file", project_id=project, path="server.js", content=SERVER))["number"] == 2
    assert (await ok(client, "write_file", project_id=project, path="package.json", content=PACKAGE))["number"] == 3
    assert (await ok(client, "read_file", project_id=project, path="server.js"))["content"] == SERVER
    # Previews belong to the running Forja: the stdio server asks it, as the CLI does.
    started = await ok(client, "start_preview", project_id=project, runner="local", wait=True)
    assert started["status"] == "running" and started["runner"] == "local" and started["version"] == 3
    status = await ok(client, "preview_status", project_id=project)
    assert (status["url"], status["status"], status["version"]) == (started["url"], "running", 3)
    tail = (await client.call_tool("preview_logs", {"project_id": project, "lines": 5})).content
    lines = [line.text for line in services.logs.history(project)]
    assert len(lines) > 5 and tail[0].text == "\n".join(lines[-5:])  # pyright: ignore[reportAttributeAccessIssue]
    return project, asked["project_id"]


@asynccontextmanager
async def mcp_as(url: str, token: str) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120, trust_env=False)
    async with http, Client(streamable_http_client(f"{url}/api/mcp", http_client=http)) as client:
        yield client


async def http_status(url: str, token: str | None, method: str = "POST", **headers: str) -> tuple[int, str]:
    """What /api/mcp answers a plain request (a tools list) with this token and these headers."""
    headers |= {"Accept": "application/json, text/event-stream"} | ({"Authorization": f"Bearer {token}"} if token else {})
    async with httpx2.AsyncClient(trust_env=False) as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        response = await http.request(method, f"{url}/api/mcp", json=body, headers=headers)
    return response.status_code, response.text


async def test_stdio_and_http_with_roles_quotas_and_tokens(
    forja: str, services: Services, sqlite_url: DatabaseUrls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without accounts (no token needed, no API key: the offline starters build), on the served Forja's database.
    cli = Cli(builder.settings.settings.data_dir, sqlite_url.sync, FORJA_PORT=str(builder.settings.settings.port))
    params = StdioServerParameters(command=sys.executable, args=["-m", "builder", "mcp"], env=cli.env, cwd=str(REPO))
    async with Client(params) as client:
        built, planned = await stdio_session(client, services)
    await services.previews.stop(built)

    # With accounts: the HTTP endpoint acts as the person a personal token names.
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    async with (
        someone(services, "ana@example.org", "Ana Lima") as ana,
        someone(services, "bo@example.org", "Bo Park") as bo,
    ):
        created = await services.projects.create(
            "Served", {"package.json": PACKAGE.encode(), "server.js": SERVER.encode()}, owner=ana.actor.user_id
        )
        project = created.project_id
        await services.access.add_member(project, bo.actor.email, ProjectRole.viewer)
        async with mcp_as(forja, ana.token) as client:
            # The first account (the admin) took over what was made before accounts.
            assert {p["id"] for p in await ok(client, "list_projects")} == {project, built, planned}
            # Quotas refuse in their own words: Ana owns three projects, her limit here.
            monkeypatch.setattr(builder.settings.settings, "quota_projects", 3)
            assert (await refused(client, "generate", prompt="A bakery", check=False)).startswith(
                "You own 3 projects, your limit on this Forja."
            )
            started = await ok(client, "start_preview", project_id=project, runner="local")
            assert started["runner"] == "local" and started["version"] == 1
            assert (await ok(client, "preview_status", project_id=project))["url"] == started["url"]
            assert (await ok(client, "write_file", project_id=project, path="notes.md", content="hi"))["number"] == 2
        async with mcp_as(forja, bo.token) as client:  # a viewer reads, and may not write
            assert (await ok(client, "read_file", project_id=project, path="notes.md"))["content"] == "hi"
            assert "viewer" in await refused(client, "write_file", project_id=project, path="x.md", content="no")
        # Another site's page is refused even with a good token; no token, a wrong one, a revoked one: refused before
        # any tool runs. POST only: no session to stream or end.
        assert await http_status(forja, ana.token, Origin="https://elsewhere.example") == (
            403,
            '{"detail":"Requests from other sites may not change Forja\'s projects."}',
        )
        assert (await http_status(forja, ana.token, "GET"))[0] == 405
        assert (await http_status(forja, None))[0] == 401
        # A browser's sign-in opens the API, but not this endpoint: a page on a preview's origin is same-site with
        # Forja, and its requests here would carry the cookie.
        cookie = f"{session_cookie_name()}={await services.accounts.sign_in(ana.actor.email, PASSWORD, '127.0.0.1')}"
        async with httpx2.AsyncClient(trust_env=False) as http:
            assert (await http.get(f"{forja}/api/auth/me", headers={"Cookie": cookie})).json()["email"] == ana.actor.email
        status, said = await http_status(forja, None, Cookie=cookie)
        assert status == 401 and json.loads(said) == {"detail": TOKEN_ONLY}
        assert (await http_status(forja, "forja_not-a-token"))[0] == 401
        (token,) = await services.accounts.tokens(ana.actor)
        await services.accounts.revoke_token(ana.actor, token.id)
        assert (await http_status(forja, ana.token))[0] == 401
