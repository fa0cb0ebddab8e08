"""What the browser side of previews relies on, through the API: the tree, console lines reaching the log."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from builder.api import api
from builder.api.guards import same_origin_writes
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.settings import settings


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=same_origin_writes(api)), base_url="http://testserver"
    ) as http:
        yield http


async def test_tree_holds_every_file_of_the_version(client: httpx.AsyncClient, services: Services) -> None:
    result = await services.projects.import_tree(
        "Tree", {"index.html": b"<h1>One</h1>", "img/dot.png": b"\x89PNG\r\n\x1a\n\xff"}, "a test", owner=LOCAL_USER_ID
    )
    await services.projects.save(result.project_id, {"index.html": b"<h1>Two</h1>"})
    current = (await client.get(f"/api/projects/{result.project_id}/tree")).json()
    assert current["version"] == 2
    files = {f["path"]: f for f in current["files"]}
    assert files["index.html"] == {"path": "index.html", "content": "<h1>Two</h1>", "encoding": "utf-8"}
    assert base64.b64decode(files["img/dot.png"]["content"]) == b"\x89PNG\r\n\x1a\n\xff"
    first = (await client.get(f"/api/projects/{result.project_id}/tree", params={"version": 1})).json()
    assert {f["path"]: f["content"] for f in first["files"]}["index.html"] == "<h1>One</h1>"
    assert (await client.get("/api/projects/nope/tree")).status_code == 404


async def test_browser_lines_reach_the_log_flagged(client: httpx.AsyncClient, services: Services) -> None:
    project_id = (
        await services.projects.import_tree("Logs", {"index.html": b"<h1>x</h1>"}, "a test", owner=LOCAL_USER_ID)
    ).project_id
    origin = {"Origin": settings.builder_origins[0]}
    lines = [
        {"source": "browser", "text": "x is undefined", "level": "error"},
        {"source": "install", "text": "added 10 packages"},
        {"source": "install", "text": "npm ERR! code E404"},
    ]
    response = await client.post(f"/api/projects/{project_id}/preview/logs", json={"lines": lines}, headers=origin)
    assert response.status_code == 204, response.text
    logged = [(line.source, line.level.value, line.text) for line in services.logs.history(project_id)[-3:]]
    assert logged == [
        ("browser", "error", "x is undefined"),
        ("install", "info", "added 10 packages"),
        ("install", "error", "npm ERR! code E404"),
    ]


async def test_browser_lines_are_refused_from_other_origins_and_when_malformed(
    client: httpx.AsyncClient, services: Services
) -> None:
    project_id = (
        await services.projects.import_tree("Logs", {"index.html": b"<h1>x</h1>"}, "a test", owner=LOCAL_USER_ID)
    ).project_id
    before = len(services.logs.history(project_id))
    url = f"/api/projects/{project_id}/preview/logs"
    line = {"source": "browser", "text": "forged", "level": "error"}
    preview_origin = {"Origin": "http://abc123.localhost:8800"}
    assert (await client.post(url, json={"lines": [line]}, headers=preview_origin)).status_code == 403
    assert (await client.post(url, json={"lines": [{**line, "source": "forja"}]})).status_code == 422
    assert (await client.post(url, json={"lines": [{**line, "level": "fatal"}]})).status_code == 422
    assert (await client.post(url, json={"lines": [{**line, "text": "x" * 5000}]})).status_code == 422
    assert (await client.post(url, json={"lines": [line] * 201})).status_code == 422
    assert (await client.post("/api/projects/nope/preview/logs", json={"lines": [line]})).status_code == 404
    assert len(services.logs.history(project_id)) == before
