"""Pictures attached to a prompt, through the HTTP API: checked, then sent by the real SDKs in their own shape.

Model answers come from a ScriptedLLMServer on 127.0.0.1, which records each request as the SDK sent it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import builder.settings
from builder.api import api
from builder.composition import Services
from tests.conftest import TEST_ANTHROPIC_KEY
from tests.integration.test_generation_api import SITE, Cli, post_sse, tool
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.pictures import png


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


PNG = png()
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def attached(data: bytes, name: str = "sketch.png") -> dict[str, str]:
    return {"name": name, "data": base64.b64encode(data).decode()}


async def make_project(client: httpx.AsyncClient) -> str:
    return (await client.post("/api/projects", json={"name": "Bakery", "files": SITE})).json()["id"]


def user_content(body: dict[str, Any]) -> Any:
    messages = body["messages"]
    user = [m for m in messages if m["role"] == "user"]
    return user[0]["content"]


async def test_follow_up_sends_the_picture_to_claude_as_an_image_block(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await make_project(client)
    scripted_llm.queue(ToolAnswer(tool({"index.html": "<h1>Like the sketch</h1>\n"})))

    events = await post_sse(
        client,
        f"/api/projects/{project_id}/generate",
        {"prompt": "Make it look like this sketch", "provider": "anthropic", "images": [attached(PNG)]},
    )

    assert events[-1][0] == "done", events
    content = user_content(scripted_llm.requests[0].body)
    assert content[0] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
    }
    assert content[-1]["type"] == "text" and "Make it look like this sketch" in content[-1]["text"]


async def test_new_project_sends_pictures_to_openai_as_data_urls(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "openai_vision", True)
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
    scripted_llm.queue(ToolAnswer(tool(SITE)))

    events = await post_sse(
        client,
        "/api/generate",
        {"prompt": "A page like these", "provider": "openai", "images": [attached(PNG), attached(jpeg, "photo.png")]},
    )

    assert events[-1][0] == "done", events
    content = user_content(scripted_llm.requests[0].body)
    assert content[:2] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
        # Named .png, but its bytes are a JPEG: the bytes decide.
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()}},
    ]
    assert content[2]["type"] == "text" and "A page like these" in content[2]["text"]


async def test_a_model_without_vision_is_told_about_not_silently_skipped(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer, services: Services
) -> None:
    # scripted_llm points OPENAI_BASE_URL at a local server: not OpenAI's own API, so no pictures by default.
    project_id = await make_project(client)
    scripted_llm.queue(ToolAnswer(tool({"index.html": "<h1>Hi</h1>\n"})))

    events = await post_sse(
        client, f"/api/projects/{project_id}/generate", {"prompt": "Like this", "provider": "openai", "images": [attached(PNG)]}
    )

    assert events[-1][0] == "done", events
    statuses = [d["message"] for t, d in events if t == "status"]
    assert any("The picture was not sent" in s and "can turn them on for it" in s for s in statuses), statuses
    content = user_content(scripted_llm.requests[0].body)
    assert isinstance(content, str) and "Like this" in content
    assert base64.b64encode(PNG).decode() not in scripted_llm.requests[0].text
    # The logs say so too, without the picture's bytes.
    logs = "\n".join(entry.text for entry in services.logs.history(project_id))
    assert "The picture was not sent" in logs and base64.b64encode(PNG).decode() not in logs


async def test_offline_says_the_picture_was_not_sent(client: httpx.AsyncClient, offline_only: None) -> None:
    events = await post_sse(client, "/api/generate", {"prompt": "A recipe book", "images": [attached(PNG)]})
    assert events[-1][0] == "done", events
    statuses = [d["message"] for t, d in events if t == "status"]
    assert any("The picture was not sent: Forja is offline" in s for s in statuses), statuses


async def test_wrong_type_too_big_and_too_many_are_refused_with_the_reason(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await make_project(client)
    url = f"/api/projects/{project_id}/generate"

    response = await client.post(url, json={"prompt": "Like this", "images": [attached(PDF, "screenshot.png")]})
    assert response.status_code == 422
    assert response.json() == {"detail": "“screenshot.png” is a PDF; attach a PNG, JPEG, GIF or WebP picture."}

    big = PNG + bytes(12 * 1024 * 1024)
    response = await client.post(url, json={"prompt": "Like this", "images": [attached(big, "huge.png")]})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("“huge.png” is 12 MB; the limit is 5 MB.")

    response = await client.post(url, json={"prompt": "Like this", "images": [attached(PNG)] * 5})
    assert response.status_code == 422
    assert response.json() == {"detail": "5 pictures are attached; at most 4 go with one message. Remove some and send again."}

    response = await client.post("/api/generate", json={"prompt": "Like this", "images": [{"data": "not base64!"}]})
    assert response.status_code == 422 and "not valid base64" in response.json()["detail"]

    # Nothing was asked of the model, and no project or generation was made.
    assert scripted_llm.requests == []
    assert [p["id"] for p in (await client.get("/api/projects")).json()["items"]] == [project_id]
    assert (await client.get(f"/api/projects/{project_id}/generations")).json() == []


def test_cli_image_option_sends_the_picture_or_says_what_is_wrong(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", ANTHROPIC_API_KEY=TEST_ANTHROPIC_KEY, ANTHROPIC_BASE_URL=llm_server.anthropic_base_url)
    (tmp_path / "sketch.png").write_bytes(PNG)
    (tmp_path / "scan.png").write_bytes(PDF)

    result = cli.run("generate", "A page like this", "--image", str(tmp_path / "scan.png"), "--no-verify")
    assert result.returncode == 1
    assert "error: “scan.png” is a PDF; attach a PNG, JPEG, GIF or WebP picture." in result.stderr
    assert llm_server.requests == []

    llm_server.queue(ToolAnswer(tool(SITE)))
    out = cli.json("generate", "A page like this", "--image", str(tmp_path / "sketch.png"), "--no-verify")
    assert out["version"] == 1
    [block, _text] = llm_server.requests[0].body["messages"][0]["content"]
    assert block["source"] == {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()}


async def test_the_page_attachment_endpoint_checks_keeps_and_serves_pictures(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/attachments?name=scan.png", content=PDF)
    assert response.status_code == 422
    assert response.json() == {"detail": "“scan.png” is a PDF; attach a PNG, JPEG, GIF or WebP picture."}

    response = await client.post("/api/attachments?name=sketch.png", content=PNG)
    assert response.status_code == 200
    attached = response.json()
    assert attached["media_type"] == "image/png" and attached["url"] == f"/api/attachments/{attached['id']}"
    served = await client.get(attached["url"])
    assert served.status_code == 200 and served.content == PNG
    assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"

    for bad in ("../../forja.db", "0" * 32, "x" * 32):
        assert (await client.get(f"/api/attachments/{bad}")).status_code == 404


async def test_sent_pictures_stay_with_the_message_and_only_they_are_served(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await make_project(client)
    scripted_llm.queue(ToolAnswer(tool({"index.html": "<h1>Like the sketch</h1>\n"})))
    jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
    body = {"prompt": "Like these", "provider": "anthropic", "images": [attached(PNG), attached(jpeg, "photo.jpg")]}
    events = await post_sse(client, f"/api/projects/{project_id}/generate", body)
    assert events[-1][0] == "done", events

    # The conversation's record lists them (a reload shows them), each served as the picture it is.
    [record] = (await client.get(f"/api/projects/{project_id}/generations")).json()
    assert len(record["pictures"]) == 2
    served = [await client.get(f"/api/pictures/{digest}") for digest in record["pictures"]]
    assert [(r.status_code, r.content, r.headers["content-type"]) for r in served] == [
        (200, PNG, "image/png"),
        (200, jpeg, "image/jpeg"),
    ]
    assert all(r.headers["x-content-type-options"] == "nosniff" for r in served)

    # A project's files are blobs too, but no one sent them as pictures: they are not served by hash.
    page = SITE["index.html"].encode()
    assert (await client.get(f"/api/pictures/{hashlib.sha256(page).hexdigest()}")).status_code == 404
    assert (await client.get("/api/pictures/%25")).status_code == 422


async def test_a_picture_not_sent_is_still_kept_with_the_message(client: httpx.AsyncClient, offline_only: None) -> None:
    events = await post_sse(client, "/api/generate", {"prompt": "A recipe book", "images": [attached(PNG)]})
    [record] = (await client.get(f"/api/projects/{events[-1][1]['project_id']}/generations")).json()
    assert [(await client.get(f"/api/pictures/{digest}")).content for digest in record["pictures"]] == [PNG]


async def test_an_attached_picture_is_added_to_the_project_as_a_file(client: httpx.AsyncClient, services: Services) -> None:
    project_id = await make_project(client)
    picture_id = (await client.post("/api/attachments?name=Logo Final.PNG", content=PNG)).json()["id"]
    url = f"/api/projects/{project_id}/pictures"

    added = await client.post(url, json={"attachment_id": picture_id, "name": "Logo Final.PNG"})
    assert added.status_code == 200, added.text
    assert added.json()["path"] == "assets/logo-final.png"  # a plain site: no package.json, no picture folder yet
    assert added.json()["version"]["number"] == 2
    assert added.json()["version"]["message"] == "Added picture assets/logo-final.png"
    assert (await client.get(f"/api/projects/{project_id}/files/assets/logo-final.png", params={"raw": "true"})).content == PNG

    # A path of the person's own, and the project's picture folder found for the next one.
    chosen = await client.post(url, json={"attachment_id": picture_id, "path": "img/brand/logo"})
    assert chosen.json()["path"] == "img/brand/logo" and chosen.json()["version"]["number"] == 3
    assert await services.projects.read_file(project_id, "img/brand/logo") == PNG
    again = await client.post(url, json={"attachment_id": picture_id, "name": "photo.png"})
    assert again.json()["path"] == "assets/photo.png"

    gone = await client.post(url, json={"attachment_id": "0" * 32})
    assert gone.status_code == 404 and gone.json()["detail"] == "That attached picture is gone; attach it again."
    outside = await client.post(url, json={"attachment_id": picture_id, "path": "../logo.png"})
    assert outside.status_code == 422
    assert outside.json()["detail"] == "File name '../logo.png' contains '..'; paths may not leave the project folder."
    assert len((await services.projects.get(project_id)).versions) == 4
