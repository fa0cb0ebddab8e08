"""builder.services.previews.PreviewService with a real local preview behind a real Traefik on loopback.

The project installs with npm but has no dependencies, so nothing is fetched from a registry.
"""

from __future__ import annotations

import asyncio
import json

import httpx

from builder.models import Author
from builder.services import Services
from preview_runtime.runner import PreviewState

# Reads package.json once, when it starts: only a restart shows a new description.
SERVER = b"""const http = require('http');
const { description } = require('./package.json');
http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>' + description + '</h1>')).listen(Number(process.env.PORT), process.env.HOST);
"""


def manifest(description: str) -> bytes:
    return json.dumps(
        {"name": "deps", "version": "1.0.0", "description": description, "scripts": {"dev": "node server.js"}}
    ).encode()


async def served(services: Services, project_id: str) -> str:
    previews = services.previews
    async with asyncio.timeout(120):
        info = await previews.wait_ready(project_id)
    assert info.state == PreviewState.running, info.detail
    proxy = (await previews.manager()).proxy
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        response = await client.get(proxy.internal_url(), headers={"Host": proxy.host_for(info.preview_id)})
    return response.text


async def test_a_dependency_change_restarts_the_preview_and_other_saves_do_not(local_previews: None, services: Services) -> None:
    created = await services.projects.create("Deps", {"package.json": manifest("one"), "server.js": SERVER})
    pid = created.project_id
    first = await services.previews.start(pid)
    assert await served(services, pid) == "<h1>one</h1>"

    await services.projects.save(pid, {"notes.txt": b"not a dependency"}, author=Author.user)
    kept = await services.previews.status(pid)
    assert kept is not None and kept.preview_id == first.preview_id

    await services.projects.save(pid, {"package.json": manifest("two")}, author=Author.user)
    restarted = await services.previews.status(pid)
    assert restarted is not None and restarted.preview_id != first.preview_id
    assert await served(services, pid) == "<h1>two</h1>"
    texts = [line.text for line in services.logs.history(pid)]
    assert "The dependencies changed: restarting the preview to install them." in texts
