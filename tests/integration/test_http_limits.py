"""Issue 14's HTTP-layer protections, each against the real app (API behind its guards) or service layer."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

import builder.settings
from builder.api import api
from builder.api.guards import limited_bodies, trusted_hosts
from builder.composition import Services
from builder.db import session_factory
from builder.models import LOCAL_USER_ID, Generation, Project
from builder.services.access import LOCAL_ACTOR
from builder.store import ProjectStore
from preview_runtime.logs import LogHub
from tests.integration.test_cli import Cli

TREE = {"index.html": "<h1>Hello</h1>"}


@pytest.fixture
async def client(services: Services, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(builder.settings.settings, "public_url", "https://forja.example.org")
    monkeypatch.setattr(builder.settings.settings, "allowed_hosts", "forja.lan, [fd00::1]")
    monkeypatch.setattr(builder.settings.settings, "max_request_bytes", 64 * 1024)
    # Assembled as builder.builder assembles it: the guards outermost.
    app = trusted_hosts(limited_bodies(api))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:3000") as http:
        yield http


# -- Host ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["127.0.0.1:3000", "localhost", "[::1]:3000", "forja.example.org", "FORJA.LAN:8080", "[fd00::1]"]
)
async def test_forja_answers_to_its_own_names(client: httpx.AsyncClient, host: str) -> None:
    response = await client.get("/health", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["evil.example.com", "127.0.0.1.evil.example.com:3000", ""])
async def test_a_foreign_host_gets_a_400_that_says_why(client: httpx.AsyncClient, host: str) -> None:
    for path in ("/health", "/api/projects", "/s/" + "a" * 43, "/"):
        response = await client.get(path, headers={"Host": host})
        assert response.status_code == 400
        assert "does not answer to the host name" in response.json()["detail"]
        assert "FORJA_ALLOWED_HOSTS" in response.json()["detail"]


async def test_a_foreign_host_cannot_open_the_websocket() -> None:
    sent: list[dict[str, object]] = []

    async def app(_scope: object, _receive: object, _send: object) -> None:
        raise AssertionError("the app must not see the connection")

    async def receive() -> dict[str, object]:
        return {"type": "websocket.connect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/_event", "headers": [(b"host", b"rebound.example.com")]}
    await trusted_hosts(app)(scope, receive, send)  # type: ignore[arg-type]
    assert sent and sent[0]["type"] == "websocket.close" and sent[0]["code"] == 1008


# -- body size -------------------------------------------------------------------------------------


async def test_a_declared_oversized_body_gets_a_413_before_it_is_read(client: httpx.AsyncClient, services: Services) -> None:
    pid = (await client.post("/api/projects", json={"name": "Small", "files": TREE})).json()["id"]
    body = b'{"content": "' + b"x" * (65 * 1024) + b'"}'
    response = await client.put(f"/api/projects/{pid}/files/big.txt", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 64" in response.json()["detail"]
    assert [f.path for f in await services.projects.files(pid)] == ["index.html"]


async def test_a_chunked_oversized_body_is_counted_and_refused(client: httpx.AsyncClient, services: Services) -> None:
    pid = (await client.post("/api/projects", json={"name": "Small", "files": TREE})).json()["id"]
    pulled = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield b'{"content": "'
        for _ in range(1000):  # 16 MB if it were all read
            pulled += 1
            yield b"x" * 16 * 1024
        yield b'"}'

    response = await client.put(
        f"/api/projects/{pid}/files/big.txt", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert [f.path for f in await services.projects.files(pid)] == ["index.html"]


async def test_project_uploads_keep_the_upload_limit(client: httpx.AsyncClient) -> None:
    files = {"index.html": "<h1>" + "x" * (100 * 1024) + "</h1>"}  # over max_request_bytes, under the upload limit
    assert (await client.post("/api/projects", json={"name": "Bigger", "files": files})).status_code == 201


# -- zip imports -----------------------------------------------------------------------------------


def _zip_of_entries(count: int, folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("index.html", "<h1>Hi</h1>")
        for i in range(count):
            archive.writestr(f"{folder}f{i}.txt", b"")
    return buffer.getvalue()


async def test_a_zip_listing_too_many_entries_is_refused_before_unpacking(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "max_zip_entries", 1000)
    response = await client.post("/api/projects", files={"file": ("many.zip", _zip_of_entries(1500), "application/zip")})
    assert response.status_code == 422
    assert "lists 1,501 entries; the limit is 1,000" in response.json()["detail"]


# -- lists -----------------------------------------------------------------------------------------


async def test_project_lists_page_with_a_total_and_health_counts_all(client: httpx.AsyncClient, services: Services) -> None:
    ids = {(await services.projects.create(f"P{i}", TREE, owner=LOCAL_USER_ID)).project_id for i in range(105)}
    assert (await client.get("/health")).json() == {"status": "ok", "projects": 105}
    first = (await client.get("/api/projects")).json()
    assert first["total"] == 105 and first["limit"] == 100 and len(first["items"]) == 100
    rest = (await client.get("/api/projects", params={"offset": 100, "limit": 50})).json()
    assert len(rest["items"]) == 5
    assert {p["id"] for p in first["items"] + rest["items"]} == ids
    assert (await client.get("/api/projects", params={"limit": 0})).status_code == 422
    assert len(await services.projects.summaries(LOCAL_ACTOR)) == 105  # the CLI and the page reach every project

    for pid in list(ids)[:3]:
        await services.history.delete(pid)
    trash = (await client.get("/api/trash", params={"limit": 2})).json()
    assert trash["total"] == 3 and len(trash["items"]) == 2


# -- generations after a crash ---------------------------------------------------------------------


async def test_start_up_interrupts_running_generations_and_removes_their_empty_projects(store: ProjectStore) -> None:
    saved = (await store.create_project("Has a version", {"index.html": b"<h1>Hi</h1>"}, owner=LOCAL_USER_ID)).project_id
    # What a generation killed before its first save leaves: a project with no version, and its record running.
    empty = await store.create_empty_project("Dies before saving", owner=LOCAL_USER_ID)
    sessions = session_factory(store.engine)
    async with sessions() as session, session.begin():
        session.add(Generation(project_id=empty, prompt="a shop", provider="offline", model=""))
        session.add(Generation(project_id=saved, prompt="change it", provider="offline", model=""))
    # A server starting on this database: no generation runs in it.
    service = Services(store, LogHub()).generations
    assert await service.interrupt_abandoned() == 2
    async with sessions() as session:
        projects = {p.id for p in (await session.exec(select(Project))).all()}
        outcomes = {g.project_id: g.outcome for g in (await session.exec(select(Generation))).all()}
    assert projects == {saved}
    assert outcomes == {saved: "interrupted"}
    assert await service.interrupt_abandoned() == 0


# -- the CLI and the API share their limits --------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "x" * 20_001], "The prompt is not accepted: String should have at most 20000 characters."),
        (["generate", ""], "The prompt is not accepted: String should have at least 1 character."),
    ],
)
def test_the_cli_refuses_what_the_api_refuses(cli: Cli, args: list[str], message: str) -> None:
    result = cli.run(*args)
    assert result.returncode == 1
    assert message in result.stderr


def test_the_cli_refuses_a_name_the_api_refuses(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "index.html").write_text("<h1>Hi</h1>")
    result = cli.run("import", str(folder), "--name", "n" * 201)
    assert result.returncode == 1
    assert "The project name is not accepted: String should have at most 200 characters." in result.stderr
    assert cli.ok("projects").strip().startswith("No projects yet")
