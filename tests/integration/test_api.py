"""The HTTP API in process, on the `services` fixture's temp SQLite database."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import stat
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.types import Message, Receive, Scope, Send

import builder.composition
import builder.settings
from builder import db
from builder.api import api
from builder.api.guards import isolate
from builder.composition import Services
from builder.models import Generation
from builder.store import ProjectStore
from preview_runtime.logs import LogHub

PNG = b"\x89PNG\r\n\x1a\n\x00\xff binary"
TREE = {"index.html": "<h1>Hello</h1>", "src/app.js": "console.log('hi')"}


def zip_of(files: dict[str, bytes | str], root: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(root + path, content)
    return buffer.getvalue()


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def create(client: httpx.AsyncClient, files: dict[str, str] = TREE, name: str = "Hello app") -> str:
    response = await client.post("/api/projects", json={"name": name, "files": files})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "projects": 0}
    await create(client)
    assert (await client.get("/health")).json() == {"status": "ok", "projects": 1}


async def test_doctor_answers_the_services_report(client: httpx.AsyncClient, services: Services) -> None:
    """GET /api/doctor is services.doctor's report, the one the CLI and the /doctor page read."""
    response = await client.get("/api/doctor")
    assert response.status_code == 200
    report = response.json()
    assert set(report["runners"]) == {"docker", "local", "webcontainer", "swarm"}
    assert {check["name"] for check in report["checks"]} >= {"python", "node", "sandbox", "docker", "preview image"}
    assert report == (await services.doctor.report()).model_dump(mode="json")


async def test_create_project_from_json(client: httpx.AsyncClient, services: Services) -> None:
    response = await client.post("/api/projects", json={"name": "Hello app", "files": TREE})
    assert response.status_code == 201
    body = response.json()
    assert body["version"] == 1 and body["files"] == 2
    assert await services.projects.read_tree(body["id"]) == {p: c.encode() for p, c in TREE.items()}
    assert (await services.projects.get(body["id"])).name == "Hello app"


@pytest.mark.parametrize(
    "payload",
    [{"name": "No files"}, {"files": {"a.js": "x"}}, {"name": "", "files": {"a.js": "x"}}, {"name": "x", "files": ["a.js"]}],
)
async def test_create_project_from_bad_json(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    response = await client.post("/api/projects", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Send JSON {'name': ..., 'files': {path: content}} or a zip upload")
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_create_project_from_a_body_that_is_not_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/projects", content=b"name=x", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("Send JSON {'name': ..., 'files': {path: content}} or a zip upload")


async def test_create_project_with_a_bad_path_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/projects", json={"name": "Evil", "files": {"ok.js": "x", "../../etc/passwd": "x"}})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "File name '../../etc/passwd' contains '..'; paths may not leave the project folder.",
        "path": "../../etc/passwd",
    }
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_create_project_from_zip_upload(client: httpx.AsyncClient, services: Services) -> None:
    data = zip_of({"index.html": "<h1>Shop</h1>", "logo.png": PNG, "node_modules/x/index.js": "x"}, root="barber-shop-main/")
    response = await client.post("/api/projects", files={"file": ("barber-shop_v2.zip", data, "application/zip")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1 and body["files"] == 2
    project = await services.projects.get(body["id"])
    assert project.name == "Barber shop v2"
    assert await services.projects.read_tree(body["id"]) == {"index.html": b"<h1>Shop</h1>", "logo.png": PNG}

    named = await client.post(
        "/api/projects", files={"file": ("site.zip", data, "application/zip")}, data={"name": "  My   shop "}
    )
    assert named.status_code == 201
    assert (await services.projects.get(named.json()["id"])).name == "My shop"


async def test_create_project_from_json_tree_upload(client: httpx.AsyncClient, services: Services) -> None:
    tree = json.dumps({"files": [{"path": "index.html", "content": "<p>json</p>"}]}).encode()
    response = await client.post("/api/projects", files={"file": ("landing-page.json", tree, "application/json")})
    assert response.status_code == 201
    assert (await services.projects.get(response.json()["id"])).name == "Landing page"


async def test_bad_zip_upload_is_refused_naming_the_file(client: httpx.AsyncClient) -> None:
    link = zipfile.ZipInfo("app/secret.txt")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app/index.html", "ok")
        archive.writestr(link, "/etc/shadow")
    response = await client.post("/api/projects", files={"file": ("app.zip", buffer.getvalue(), "application/zip")})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "app/secret.txt is a symbolic link; links are not allowed in an import.",
        "path": "app/secret.txt",
    }

    traversal = zip_of({"index.html": "ok", "../../evil.sh": "rm -rf /"})
    response = await client.post("/api/projects", files={"file": ("app.zip", traversal, "application/zip")})
    assert response.status_code == 422
    assert "'../../evil.sh' contains '..'" in response.json()["detail"]

    response = await client.post("/api/projects", files={"file": ("app.zip", b"this is not a zip", "application/zip")})
    assert response.status_code == 422
    assert "not a zip archive" in response.json()["detail"]
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_upload_without_a_file_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/projects", files={"upload": ("app.zip", b"x", "application/zip")})
    assert response.status_code == 422
    assert response.json()["detail"] == "Attach the project as a form field named 'file' (a .zip)."


async def test_list_and_get_projects(client: httpx.AsyncClient) -> None:
    first = await create(client, name="First")
    second = await create(client, {"package.json": '{"dependencies": {"react": "18", "vite": "5"}}'}, name="Second")
    await client.put(f"/api/projects/{first}/files/index.html", json={"content": "<h1>changed</h1>"})

    listed = (await client.get("/api/projects")).json()["items"]
    assert [p["id"] for p in listed] == [first, second]  # the most recently changed first
    assert listed[0]["current_version"] == 2 and listed[0]["file_count"] == 2
    assert listed[1]["stack"] == ["react", "vite"]

    detail = (await client.get(f"/api/projects/{first}")).json()
    assert detail["name"] == "First"
    assert [(v["number"], v["author"], v["parent_number"]) for v in detail["versions"]] == [(1, "import", None), (2, "user", 1)]


async def test_files_list_and_read(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    await client.put(
        f"/api/projects/{pid}/files/img/logo.png", json={"content": base64.b64encode(PNG).decode(), "encoding": "base64"}
    )

    files = (await client.get(f"/api/projects/{pid}/files")).json()
    assert files == [
        {"path": "img/logo.png", "size": len(PNG), "binary": True},
        {"path": "index.html", "size": len(TREE["index.html"]), "binary": False},
        {"path": "src/app.js", "size": len(TREE["src/app.js"]), "binary": False},
    ]
    assert [f["path"] for f in (await client.get(f"/api/projects/{pid}/files", params={"version": 1})).json()] == [
        "index.html",
        "src/app.js",
    ]

    text = await client.get(f"/api/projects/{pid}/files/src/app.js")
    assert text.json() == {"path": "src/app.js", "content": TREE["src/app.js"], "encoding": "utf-8"}
    image = (await client.get(f"/api/projects/{pid}/files/img/logo.png")).json()
    assert image["encoding"] == "base64" and base64.b64decode(image["content"]) == PNG

    raw = await client.get(f"/api/projects/{pid}/files/img/logo.png", params={"raw": "true"})
    assert raw.status_code == 200
    assert raw.content == PNG
    assert raw.headers["content-type"] == "application/octet-stream"

    missing = await client.get(f"/api/projects/{pid}/files/nope.js")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"Project {pid} has no file 'nope.js' in version 2."


async def test_write_file_makes_a_version_unless_nothing_changed(client: httpx.AsyncClient, services: Services) -> None:
    pid = await create(client)
    response = await client.put(f"/api/projects/{pid}/files/src/app.js", json={"content": "changed", "message": "tweak"})
    assert response.status_code == 200
    version = response.json()
    assert (version["number"], version["parent_number"], version["author"]) == (2, 1, "user")
    assert version["message"] == "tweak" and version["files_changed"] == 1
    assert await services.projects.read_file(pid, "src/app.js") == b"changed"

    same = await client.put(f"/api/projects/{pid}/files/src/app.js", json={"content": "changed"})
    assert same.status_code == 200
    assert same.json()["number"] == 2

    new_file = await client.put(f"/api/projects/{pid}/files/src/new.js", json={"content": "new"})
    assert new_file.json()["number"] == 3
    assert new_file.json()["message"] == "Edited src/new.js"

    versions = (await client.get(f"/api/projects/{pid}/versions")).json()
    assert [(v["number"], v["parent_number"]) for v in versions] == [(1, None), (2, 1), (3, 2)]


async def test_write_file_refuses_bad_input(client: httpx.AsyncClient) -> None:
    pid = await create(client)
    bad_base64 = await client.put(f"/api/projects/{pid}/files/a.png", json={"content": "@@not base64@@", "encoding": "base64"})
    assert bad_base64.status_code == 422
    assert bad_base64.json()["detail"] == "content is not valid base64; send text with encoding 'utf-8' instead."
    clash = await client.put(f"/api/projects/{pid}/files/index.html/x.js", json={"content": "x"})
    assert clash.status_code == 422
    assert clash.json()["detail"] == "index.html is both a file and a folder in the tree."
    assert [v["number"] for v in (await client.get(f"/api/projects/{pid}/versions")).json()] == [1]


@pytest.mark.parametrize(
    "method_path",
    [
        ("GET", "/api/projects/nope"),
        ("GET", "/api/projects/nope/versions"),
        ("GET", "/api/projects/nope/files"),
        ("GET", "/api/projects/nope/files/index.html"),
        ("GET", "/api/projects/nope/export"),
        ("GET", "/api/projects/nope/logs"),
    ],
)
async def test_unknown_project_is_404_with_a_plain_message(client: httpx.AsyncClient, method_path: tuple[str, str]) -> None:
    response = await client.request(*method_path)
    assert response.status_code == 404
    assert response.json() == {
        "detail": "There is no project 'nope'. It may have been deleted; see the home page for your projects."
    }


async def test_put_to_an_unknown_project_is_404(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/projects/nope/files/a.js", json={"content": "x"})
    assert response.status_code == 404
    assert "There is no project 'nope'" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2F..%2Ftmp%2Fforja-evil",
        "%2Fetc%2Fpasswd",
        "%2E%2E/%2E%2E/etc/passwd",
        "src/..%2F..%2F..%2Fevil.js",
        "..%5C..%5Cevil.js",
        "C:%2Fevil.js",
        "evil%00.js",
    ],
)
async def test_path_traversal_in_put_never_writes(client: httpx.AsyncClient, services: Services, path: str) -> None:
    pid = await create(client)
    before = await services.projects.read_tree(pid)
    response = await client.put(f"/api/projects/{pid}/files/{path}", json={"content": "root::0:0:evil"})
    assert response.status_code in (404, 422), response.text
    assert [v["number"] for v in (await client.get(f"/api/projects/{pid}/versions")).json()] == [1]
    assert await services.projects.read_tree(pid) == before


async def test_export_returns_the_files_as_a_zip(client: httpx.AsyncClient) -> None:
    pid = await create(client, name="Hello app")
    await client.put(
        f"/api/projects/{pid}/files/img/logo.png", json={"content": base64.b64encode(PNG).decode(), "encoding": "base64"}
    )
    response = await client.get(f"/api/projects/{pid}/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="hello-app-v2.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == {p: c.encode() for p, c in TREE.items()} | {
            "img/logo.png": PNG
        }

    old = await client.get(f"/api/projects/{pid}/export", params={"version": 1})
    assert old.headers["content-disposition"] == 'attachment; filename="hello-app-v1.zip"'
    with zipfile.ZipFile(io.BytesIO(old.content)) as archive:
        assert sorted(archive.namelist()) == sorted(TREE)


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) >= {
        "/health",
        "/api/projects",
        "/api/projects/{project_id}",
        "/api/projects/{project_id}/versions",
        "/api/projects/{project_id}/files",
        "/api/projects/{project_id}/files/{path}",
        "/api/projects/{project_id}/export",
        "/api/projects/{project_id}/logs",
    }
    assert set(paths["/api/projects"]) == {"get", "post"}
    assert set(paths["/api/projects/{project_id}/files/{path}"]) == {"get", "put"}


class SSEReader:
    """Drives the ASGI app by hand: httpx's ASGITransport waits for the whole body, and this one never ends."""

    def __init__(self, path: str, query: str = "") -> None:
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.buffer = ""
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.task: asyncio.Task[None] | None = None
        self._requested = False

    async def _receive(self) -> Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        await self.messages.put(message)

    async def __aenter__(self) -> SSEReader:
        self.task = asyncio.create_task(api(self.scope, self._receive, self._send))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.disconnected.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, timeout=5)  # the stream must end when the client goes away

    async def start(self) -> Message:
        message = await asyncio.wait_for(self.messages.get(), timeout=5)
        assert message["type"] == "http.response.start"
        return message

    async def event(self) -> dict[str, str]:
        """The next whole event (`id`, `event`, `data` fields), waiting at most 5 s for it."""
        while "\n\n" not in self.buffer:
            message = await asyncio.wait_for(self.messages.get(), timeout=5)
            assert message["type"] == "http.response.body"
            self.buffer += message.get("body", b"").decode()
        block, self.buffer = self.buffer.split("\n\n", 1)
        return dict(line.split(": ", 1) for line in block.splitlines())


async def test_logs_stream_history_then_live_lines(client: httpx.AsyncClient) -> None:
    pid = await create(client, name="Logged")
    async with SSEReader(f"/api/projects/{pid}/logs") as stream:
        start = await stream.start()
        assert start["status"] == 200
        headers = {k.decode(): v.decode() for k, v in start["headers"]}
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache"

        first = await stream.event()
        assert first["event"] == "log"
        line = json.loads(first["data"])
        assert line["text"] == "Imported 2 files from the API as version 1."
        assert line["level"] == "info" and line["source"] == "forja"
        assert first["id"] == str(line["seq"])

        # A save while the stream is open arrives as the next event.
        await client.put(f"/api/projects/{pid}/files/index.html", json={"content": "<h1>new</h1>"})
        second = await stream.event()
        assert json.loads(second["data"])["text"] == "Saved version 2: index.html changed."
        assert int(second["id"]) > int(first["id"])

    # `since` skips what the client has already seen.
    async with SSEReader(f"/api/projects/{pid}/logs", query=f"since={first['id']}") as resumed:
        await resumed.start()
        assert json.loads((await resumed.event())["data"])["text"] == "Saved version 2: index.html changed."


async def test_isolate_adds_cross_origin_isolation_headers(services: Services) -> None:
    transport = httpx.ASGITransport(app=isolate(api))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-embedder-policy"] == "credentialless"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


async def test_isolate_keeps_headers_the_app_already_set() -> None:
    async def app(scope: Scope, _receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"cross-origin-embedder-policy", b"require-corp")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=isolate(app)), base_url="http://testserver") as http:
        response = await http.get("/")
    assert response.headers.get_list("cross-origin-embedder-policy") == ["require-corp"]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"


# -- bad input gets a 4xx with a sentence, never a 500 ------------------------------------------------------------


@pytest.fixture
async def any_db_client(store: ProjectStore, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The API on each database the store supports (SQLite and PostgreSQL)."""
    monkeypatch.setattr(builder.composition, "_services", Services(store=store, logs=LogHub()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


def raw_json(text: str) -> dict[str, Any]:
    """A request body sent as written: json= would refuse to encode a lone surrogate."""
    return {"content": text.encode("ascii"), "headers": {"content-type": "application/json"}}


async def test_lone_surrogates_in_json_are_refused_with_a_sentence(any_db_client: httpx.AsyncClient) -> None:
    client = any_db_client
    named = await client.post("/api/projects", **raw_json('{"name": "x", "files": {"a\\ud800.js": "x"}}'))
    assert named.status_code == 422 and "not valid Unicode" in named.json()["detail"]
    assert "ud800" in named.json()["path"]
    content = await client.post("/api/projects", **raw_json('{"name": "x", "files": {"a.js": "\\ud800"}}'))
    assert content.status_code == 422 and content.json()["detail"].startswith("a.js is not valid text")
    # Fields pydantic checks itself (a str field refuses surrogates) get its 422; the rest get Forja's.
    name = await client.post("/api/projects", **raw_json('{"name": "\\udfff", "files": {"a.js": "x"}}'))
    assert name.status_code == 422 and "valid string" in name.json()["detail"]

    project_id = await create(client)
    put = await client.put(f"/api/projects/{project_id}/files/a.js", **raw_json('{"content": "\\ud800"}'))
    assert put.status_code == 422 and "not valid text" in put.json()["detail"]
    message = await client.put(f"/api/projects/{project_id}/files/a.js", **raw_json('{"content": "x", "message": "\\ud800"}'))
    assert message.status_code == 422 and message.json()["detail"]
    renamed = await client.patch(f"/api/projects/{project_id}", **raw_json('{"name": "\\ud800"}'))
    assert renamed.status_code == 422 and renamed.json()["detail"]
    # FastAPI's own validation answer quotes the input: it must survive a surrogate as well.
    invalid = await client.post(f"/api/projects/{project_id}/generate", **raw_json('{"prompt": "x", "provider": "\\ud800"}'))
    assert invalid.status_code == 422 and invalid.json()["detail"][0]["input"] == "\ud800"
    assert [v["number"] for v in (await client.get(f"/api/projects/{project_id}/versions")).json()] == [1]


HUGE = "99999999999999999999"  # over 2**63


async def test_out_of_range_ids_and_version_numbers_are_404(any_db_client: httpx.AsyncClient) -> None:
    client = any_db_client
    project_id = await create(client)
    for number in (HUGE, "2147483648", "-1"):
        for url in (
            f"/api/projects/{project_id}/files?version={number}",
            f"/api/projects/{project_id}/files/index.html?version={number}",
            f"/api/projects/{project_id}/tree?version={number}",
            f"/api/projects/{project_id}/export?version={number}",
            f"/api/projects/{project_id}/versions/1/diff?against={number}",
        ):
            response = await client.get(url)
            assert response.status_code in (404, 422), (url, response.text)
            assert response.status_code == 404 or number == "-1"
            assert isinstance(response.json()["detail"], (str, list)) and response.json()["detail"]
    for url in (f"/api/projects/{project_id}/versions/{HUGE}/diff", f"/api/projects/{project_id}/versions/{HUGE}/export"):
        response = await client.get(url)
        assert response.status_code == 404 and f"no version {HUGE}" in response.json()["detail"]
    restored = await client.post(f"/api/projects/{project_id}/versions/{HUGE}/restore")
    assert restored.status_code == 404
    duplicated = await client.post(f"/api/projects/{project_id}/duplicate", **raw_json(f'{{"version": {HUGE}}}'))
    assert duplicated.status_code == 404 and f"no version {HUGE}" in duplicated.json()["detail"]
    shared = await client.post(f"/api/projects/{project_id}/share", **raw_json(f'{{"version": {HUGE}}}'))
    assert shared.status_code == 404 and f"no version {HUGE}" in shared.json()["detail"]
    revoked = await client.delete(f"/api/shares/{HUGE}")
    assert revoked.status_code == 404 and revoked.json()["detail"] == f"There is no share link {HUGE}."
    assert (await client.delete("/api/shares/-1")).status_code == 422


async def test_a_zip_whose_crc_lies_is_422_naming_the_file(client: httpx.AsyncClient) -> None:
    data = bytearray(zip_of({"index.html": "<h1>Hello</h1>"}))
    central = data.find(b"PK\x01\x02")
    for offset in (14, central + 16):  # the CRC in the local header and in the central directory
        data[offset] ^= 1
    response = await client.post("/api/projects", files={"file": ("site.zip", bytes(data), "application/zip")})
    assert response.status_code == 422
    assert response.json()["path"] == "index.html" and "index.html is damaged in the zip" in response.json()["detail"]


# -- one generation per project, whichever door it comes through --------------------------------------------------


async def test_a_generation_running_in_another_process_blocks_a_follow_up(
    any_db_client: httpx.AsyncClient, store: ProjectStore, offline_only: None
) -> None:
    client = any_db_client
    project_id = await create(client)
    # What the CLI (another process on the same database) leaves while its generation runs.
    await store.start_generation(project_id, "Make it red", "offline", "", stale_before=datetime.now(UTC) - timedelta(hours=1))
    busy = await client.post(f"/api/projects/{project_id}/generate", json={"prompt": "Make it blue"})
    assert busy.status_code == 409 and "already being generated" in busy.json()["detail"]


async def test_a_generation_left_running_by_a_dead_process_does_not_block(
    any_db_client: httpx.AsyncClient, store: ProjectStore, offline_only: None
) -> None:
    client = any_db_client
    project_id = await create(client, {"index.html": "<h1>Bakery</h1>"})
    record = await store.start_generation(project_id, "Make it red", "offline", "", stale_before=datetime.now(UTC))
    # Started longer ago than any generation may run: its process died without recording the end.
    started = datetime.now(UTC) - timedelta(seconds=builder.settings.settings.generation_timeout_s + 120)
    async with db.session_factory(store.engine)() as session, session.begin():
        await session.exec(update(Generation).where(col(Generation.id) == record).values(created_at=started))
    response = await client.post(f"/api/projects/{project_id}/generate", json={"prompt": "A landing page for my bakery"})
    assert response.status_code == 200, response.text
    outcomes = [g["outcome"] for g in (await client.get(f"/api/projects/{project_id}/generations")).json()]
    assert outcomes[0] == "interrupted"


async def test_a_runner_the_settings_leave_out_is_refused_in_words(local_previews: None, client: httpx.AsyncClient) -> None:
    project_id = await create(client)
    response = await client.post(f"/api/projects/{project_id}/preview", json={"runner": "swarm"})
    assert response.status_code == 409, response.text
    assert response.json()["detail"] == (
        "The swarm runner cannot be used: this Forja is set to run previews with the local runner only."
    )
    response = await client.post(f"/api/projects/{project_id}/preview", json={"runner": "kubernetes"})
    assert response.status_code == 422
