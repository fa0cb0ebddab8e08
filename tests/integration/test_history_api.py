"""The history and project-management routes (builder.api.history) in process, on the `services` fixture."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col

from builder import db
from builder.api.errors import forja_error
from builder.api.history import router
from builder.composition import Services
from builder.errors import ForjaError, NotFound
from builder.filetree import read_zip
from builder.models import LOCAL_USER_ID, Author, Project
from builder.services.access import LOCAL_ACTOR
from builder.services.history import TRASH_DAYS
from builder.store import ProjectStore

PNG = b"\x89PNG\r\n\x1a\n\x00\xff binary"


def make_app() -> FastAPI:
    """The router with builder.api's error mapping, as builder.api includes it."""
    app = FastAPI()
    app.include_router(router)
    app.add_exception_handler(ForjaError, forja_error)  # type: ignore[arg-type]
    return app


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app()), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def pid(services: Services) -> str:
    """Versions 1 (import), 2 (AI: edit, add, binary change) and 3 (delete)."""
    created = await services.projects.create(
        "Barber shop", {"index.html": "<h1>Hi</h1>\n", "app.js": "a\nb\n", "x.png": PNG}, owner=LOCAL_USER_ID
    )
    await services.projects.save(created.project_id, {"app.js": "a\nB\n", "new.js": "n\n", "x.png": PNG + b"!"}, author=Author.ai)
    await services.projects.save(created.project_id, {}, ["index.html"], message="Removed the page")
    return created.project_id


async def test_diff(client: httpx.AsyncClient, pid: str) -> None:
    response = await client.get(f"/api/projects/{pid}/versions/2/diff")
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["against"], body["files_changed"], body["lines_added"], body["lines_removed"]) == (
        2,
        1,
        3,
        2,
        1,
    )
    files = {f["path"]: f for f in body["files"]}
    assert files["app.js"]["diff"] == "--- a/app.js\n+++ b/app.js\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n"
    assert files["new.js"]["status"] == "added"
    assert files["x.png"] == {
        "path": "x.png",
        "status": "modified",
        "binary": True,
        "lines_added": 0,
        "lines_removed": 0,
        "diff": "Binary files a/x.png and b/x.png differ\n",
    }
    against = (await client.get(f"/api/projects/{pid}/versions/3/diff", params={"against": 1})).json()
    assert against["against"] == 1
    assert {f["path"]: f["status"] for f in against["files"]} == {
        "index.html": "removed",
        "app.js": "modified",
        "new.js": "added",
        "x.png": "modified",
    }
    first = (await client.get(f"/api/projects/{pid}/versions/1/diff")).json()
    assert first["against"] is None and first["files_changed"] == 3


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/projects/nope/versions/1/diff", 404),
        ("/api/projects/{pid}/versions/9/diff", 404),
        ("/api/projects/{pid}/versions/2/diff?against=9", 404),
        ("/api/projects/{pid}/versions/0/diff", 422),
        ("/api/projects/{pid}/versions/two/diff", 422),
        ("/api/projects/{pid}/versions/2/diff?against=0", 422),
        ("/api/projects/{pid}/versions/9/export", 404),
        ("/api/projects/{pid}/versions/x/export", 422),
        ("/api/projects/nope/versions/1/export", 404),
        ("/api/projects/nope/export.bundle", 404),
    ],
)
async def test_get_errors(client: httpx.AsyncClient, pid: str, path: str, status: int) -> None:
    response = await client.get(path.format(pid=pid))
    assert response.status_code == status, response.text
    assert response.json()["detail"]


async def test_restore(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    v1 = await services.projects.read_tree(pid, 1)
    response = await client.post(f"/api/projects/{pid}/versions/1/restore")
    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["parent_number"], body["author"], body["message"]) == (4, 3, "user", "Restored version 1")
    assert await services.projects.read_tree(pid) == v1
    assert len(await services.projects.versions(pid)) == 4
    assert (await client.post(f"/api/projects/{pid}/versions/9/restore")).status_code == 404
    assert (await client.post(f"/api/projects/{pid}/versions/0/restore")).status_code == 422
    assert (await client.post("/api/projects/nope/versions/1/restore")).status_code == 404


async def test_export_version_zip(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    response = await client.get(f"/api/projects/{pid}/versions/1/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="barber-shop-v1.zip"'
    assert read_zip(response.content) == await services.projects.read_tree(pid, 1)
    assert sorted(zipfile.ZipFile(io.BytesIO(response.content)).namelist()) == ["app.js", "index.html", "x.png"]


async def test_export_bundle(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    await services.projects.rename(pid, 'Café "Olé" 🚀')
    response = await client.get(f"/api/projects/{pid}/export.bundle")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="cafe-ole.bundle"'
    assert response.content.startswith(b"# v2 git bundle\n")


async def test_export_bundle_without_git_is_503(client: httpx.AsyncClient, pid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    response = await client.get(f"/api/projects/{pid}/export.bundle")
    assert response.status_code == 503
    assert "git is not installed" in response.json()["detail"]


async def test_rename(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    response = await client.patch(f"/api/projects/{pid}", json={"name": "  Salon  "})
    assert response.status_code == 200
    assert response.json()["name"] == "Salon" and response.json()["id"] == pid
    assert (await services.projects.get(pid)).name == "Salon"
    for bad in ({"name": ""}, {}, {"name": "x" * 201}, {"name": 3}):
        assert (await client.patch(f"/api/projects/{pid}", json=bad)).status_code == 422
    whitespace = await client.patch(f"/api/projects/{pid}", json={"name": "   "})
    assert whitespace.status_code == 422 and "cannot be empty" in whitespace.json()["detail"]
    assert (await client.patch("/api/projects/nope", json={"name": "X"})).status_code == 404


async def test_duplicate(client: httpx.AsyncClient, services: Services, pid: str) -> None:
    response = await client.post(f"/api/projects/{pid}/duplicate", json={"version": 1})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Barber shop (copy)" and body["version"] == 1
    assert await services.projects.read_tree(body["id"]) == await services.projects.read_tree(pid, 1)
    copy = await services.projects.get(body["id"])
    assert copy.versions[0].message == "Duplicated from Barber shop version 1"

    named = await client.post(f"/api/projects/{pid}/duplicate", json={"name": "Fork"})
    assert named.status_code == 201 and named.json()["name"] == "Fork"
    assert await services.projects.read_tree(named.json()["id"]) == await services.projects.read_tree(pid)
    bare = await client.post(f"/api/projects/{pid}/duplicate")
    assert bare.status_code == 201 and bare.json()["name"] == "Barber shop (copy)"

    assert (await client.post(f"/api/projects/{pid}/duplicate", json={"version": 9})).status_code == 404
    assert (await client.post(f"/api/projects/{pid}/duplicate", json={"version": 0})).status_code == 422
    assert (await client.post(f"/api/projects/{pid}/duplicate", json={"name": ""})).status_code == 422
    assert (await client.post("/api/projects/nope/duplicate", json={})).status_code == 404


async def test_trash_and_restore(
    client: httpx.AsyncClient, services: Services, pid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped: list[str] = []

    async def stop(project_id: str) -> bool:
        stopped.append(project_id)
        return True

    monkeypatch.setattr(services.previews, "stop", stop)
    response = await client.delete(f"/api/projects/{pid}")
    assert response.status_code == 204 and response.content == b""
    assert stopped == [pid]  # its running preview goes too
    assert await services.projects.summaries(LOCAL_ACTOR) == []
    with pytest.raises(NotFound):
        await services.projects.get(pid)
    # Everything under the project is gone from reads while it is in the trash.
    assert (await client.get(f"/api/projects/{pid}/versions/1/diff")).status_code == 404
    assert (await client.post(f"/api/projects/{pid}/versions/1/restore")).status_code == 404
    assert (await client.patch(f"/api/projects/{pid}", json={"name": "X"})).status_code == 404
    assert (await client.delete(f"/api/projects/{pid}")).status_code == 404

    trash = (await client.get("/api/trash")).json()["items"]
    assert [t["id"] for t in trash] == [pid]
    deleted_at = datetime.fromisoformat(trash[0]["deleted_at"])
    assert datetime.fromisoformat(trash[0]["purge_at"]) - deleted_at == timedelta(days=TRASH_DAYS)
    assert trash[0]["name"] == "Barber shop" and trash[0]["current_version"] == 3

    restored = await client.post(f"/api/trash/{pid}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == pid
    assert (await client.get("/api/trash")).json()["items"] == []
    assert [p.id for p in await services.projects.summaries(LOCAL_ACTOR)] == [pid]
    assert (await client.post(f"/api/trash/{pid}/restore")).status_code == 404  # not in the trash
    assert (await client.post("/api/trash/nope/restore")).status_code == 404
    assert (await client.delete("/api/projects/nope")).status_code == 404


async def test_purged_project_is_gone_from_the_trash(
    sqlite_store: ProjectStore, client: httpx.AsyncClient, services: Services, pid: str
) -> None:
    assert (await client.delete(f"/api/projects/{pid}")).status_code == 204
    async with db.session_factory(sqlite_store.engine)() as session, session.begin():
        await session.exec(
            update(Project).where(col(Project.id) == pid).values(deleted_at=datetime.now(UTC) - timedelta(days=31))
        )
    assert (await services.history.purge_expired()).projects == [pid]
    assert (await client.get("/api/trash")).json()["items"] == []
    assert (await client.post(f"/api/trash/{pid}/restore")).status_code == 404


async def test_routes_are_in_the_openapi_schema(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths) >= {
        "/api/projects/{project_id}/versions/{version}/diff",
        "/api/projects/{project_id}/versions/{version}/restore",
        "/api/projects/{project_id}/versions/{version}/export",
        "/api/projects/{project_id}/export.bundle",
        "/api/projects/{project_id}",
        "/api/projects/{project_id}/duplicate",
        "/api/trash",
        "/api/trash/{project_id}/restore",
    }
    assert set(paths["/api/projects/{project_id}"]) == {"patch", "delete"}
