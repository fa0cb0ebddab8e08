"""Files that are bytes by their content, whatever their name, go through import, the API, history, export and a
preview's working copy byte for byte; text with a byte-order mark is text and keeps its own encoding."""

from __future__ import annotations

import asyncio
import base64
import codecs
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from builder.generation import prompts
from builder.models import LOCAL_USER_ID
from builder.services.text_edits import TextChange
from preview_runtime.local import LocalRunner
from preview_runtime.plan import RunPlan
from preview_runtime.runner import PreviewSpec, PreviewState

# A picture saved without an extension, a binary lockfile, a CSV from Excel (UTF-16 with its mark), an SVG in
# Latin-1 without a mark, and a page with a UTF-8 mark.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
LOCKB = b"#!/usr/bin/env bun\nbun-lockfile-format-v0\n\x02\x00\x00\x00\xa0\x01\xff\xfe"
CSV = codecs.BOM_UTF16_LE + "name,city\nZoë,Köln\n".encode("utf-16-le")
SVG = "<svg xmlns='http://www.w3.org/2000/svg'><text>Café</text></svg>".encode("latin-1")
PAGE = codecs.BOM_UTF8 + "<h1>Olá</h1>".encode()
FILES = {"index.html": PAGE, "logo": PNG, "bun.lockb": LOCKB, "data/people.csv": CSV, "art.svg": SVG}
HTML_PLAN = RunPlan(install="", dev="python -m http.server ${PORT:-8080} --bind 127.0.0.1", port=8080, has_server=False)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


async def test_a_zip_of_bytes_and_encodings_comes_back_byte_for_byte(
    client: httpx.AsyncClient, services: Services, tmp_path: Path
) -> None:
    created = await client.post("/api/projects", files={"file": ("mixed.zip", _zip(FILES), "application/zip")})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]

    listed = {f["path"]: f["binary"] for f in (await client.get(f"/api/projects/{pid}/files")).json()}
    assert listed == {"index.html": False, "logo": True, "bun.lockb": True, "data/people.csv": False, "art.svg": True}
    for path, data in FILES.items():
        read = (await client.get(f"/api/projects/{pid}/files/{path}")).json()
        # Only UTF-8 travels as a JSON string; everything else, UTF-16 text included, as base64 of its bytes.
        content = read["content"].encode() if read["encoding"] == "utf-8" else base64.b64decode(read["content"])
        assert content == data, path
        assert read["encoding"] == ("utf-8" if path == "index.html" else "base64")
        assert (await client.get(f"/api/projects/{pid}/files/{path}", params={"raw": "true"})).content == data

    # The JSON tree an API read gives is an import of its own, byte for byte.
    tree = (await client.get(f"/api/projects/{pid}/tree")).json()
    again = await client.post("/api/projects", files={"file": ("again.json", _json(tree), "application/json")})
    assert again.status_code == 201, again.text
    assert await services.projects.read_tree(again.json()["id"]) == FILES

    exported = await client.get(f"/api/projects/{pid}/export")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == FILES

    # History: a changed picture without an extension is "Binary files"; the UTF-16 CSV is diffed as text.
    await services.projects.save(pid, {"logo": PNG + b"\x00", "data/people.csv": CSV + "Ana,Porto\n".encode("utf-16-le")})
    diff = {f["path"]: f for f in (await client.get(f"/api/projects/{pid}/versions/2/diff")).json()["files"]}
    assert diff["logo"]["diff"] == "Binary files a/logo and b/logo differ\n" and diff["logo"]["binary"]
    assert not diff["data/people.csv"]["binary"] and diff["data/people.csv"]["diff"].endswith("+Ana,Porto\n")

    # The model is told a binary file's name and size, never its bytes.
    stored = await services.projects.read_tree(pid)
    message = prompts.follow_up_message("make it blue", [], stored, prompts.relevant_files(stored, "make it blue", 10_000))
    assert f"- logo (binary, {len(PNG) + 1} bytes)" in message
    assert "IHDR" not in message and "bun-lockfile" not in message
    assert "Zoë,Köln" in message  # the CSV is text, read as its mark says

    await _preview_serves_the_same_bytes(tmp_path, stored)


async def _preview_serves_the_same_bytes(tmp_path: Path, files: dict[str, bytes]) -> None:
    """The local runner's working copy holds the stored bytes, at start and after a push, and serves them."""
    runner = LocalRunner(tmp_path / "work", sandbox=False)
    try:
        spec = PreviewSpec(preview_id="bytes1", project_id="project-1", version=1, files=files, plan=HTML_PLAN)
        await runner.start(spec, lambda *_: None)
        folder = runner.work_dir / "bytes1"
        assert {p: (folder / p).read_bytes() for p in files} == files
        info = await runner.status("bytes1")
        for _ in range(200):
            if info.state == PreviewState.running:
                break
            await asyncio.sleep(0.05)
            info = await runner.status("bytes1")
        async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
            assert (await http.get(info.upstream + "/logo")).content == files["logo"]
        await runner.push_files("bytes1", {"icon": PNG}, [])
        assert (folder / "icon").read_bytes() == PNG
    finally:
        await runner.close()


async def test_select_mode_edits_a_utf16_page_in_utf16(services: Services) -> None:
    """A text edit (Select mode) of a page in UTF-16 changes its words and keeps its encoding and mark."""
    html = "<!doctype html>\n<html><body><h1>{}</h1></body></html>\n"
    page = codecs.BOM_UTF16_LE + html.format("Bakery").encode("utf-16-le")
    created = await services.projects.create("Bakery", {"index.html": page, "logo": PNG}, owner=LOCAL_USER_ID)
    await services.text_edits.replace_text(
        created.project_id, TextChange(old="Bakery", new="Bread", dom_path="html > body:nth-of-type(1) > h1:nth-of-type(1)")
    )
    tree = await services.projects.read_tree(created.project_id)
    assert tree == {"index.html": codecs.BOM_UTF16_LE + html.format("Bread").encode("utf-16-le"), "logo": PNG}


def _json(tree: dict[str, object]) -> bytes:
    return json.dumps(tree).encode()
