"""An app's own variables end to end: a planted value reaches the app's server in a real local preview (its page shows
it), and nowhere else: not its log lines, the API's answers, the files, the export, or the model's request (through
the real SDK to the scripted model server)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from builder.api import api
from builder.app_secrets import MAX_VARIABLES, encrypt
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from tests.conftest import served
from tests.integration.test_generation_api import post_sse, tool
from tests.integration.test_publish import get, starter_files
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.waiting import until

PLANTED = "sk_test_planted_4eC39HqLyjWDarjtT1zdp7dc"
# Prints the key into its log and into its page: what a careless app does, and what the log must hide.
SERVER = b"""const http = require('http');
console.log('started with key ' + process.env.STRIPE_KEY);
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>' + process.env.STRIPE_KEY + '|' + process.env.VITE_TITLE + '</h1>');
}).listen(Number(process.env.PORT), process.env.HOST);
"""
TREE = {
    "package.json": json.dumps({"name": "shop", "version": "1.0.0", "scripts": {"dev": "node server.js"}}).encode(),
    "server.js": SERVER,
}
# An acceptance check that fails on that page: what the browser saw (the key) would be in its words.
FAILING_CHECK = b"""test('Open the shop: its name is the heading', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading')).toHaveText('Corner shop');
});
"""


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def test_a_planted_value_reaches_the_apps_page_and_nothing_else(
    local_previews: None, services: Services, client: httpx.AsyncClient
) -> None:
    tree = {**TREE, ".forja/checks/01-name.spec.js": FAILING_CHECK}
    pid = (await services.projects.create("Shop", tree, owner=LOCAL_USER_ID)).project_id
    answer = await client.put(f"/api/projects/{pid}/env/STRIPE_KEY", json={"value": PLANTED})
    assert answer.status_code == 200, answer.text
    await client.put(f"/api/projects/{pid}/env/VITE_TITLE", json={"value": "Corner shop"})
    listed = await client.get(f"/api/projects/{pid}/env")
    assert [(v["name"], v["public"]) for v in listed.json()] == [("STRIPE_KEY", False), ("VITE_TITLE", True)]
    assert PLANTED not in answer.text + listed.text

    await services.previews.start(pid)
    assert await served(services, pid) == f"<h1>{PLANTED}|Corner shop</h1>"

    async def logged() -> bool:
        return any(line.text.startswith("started with key") for line in services.logs.history(pid))

    await until(logged, "the app's start line in its log")
    texts = [line.text for line in services.logs.history(pid)]
    assert "started with key [redacted]" in texts
    assert not [text for text in texts if PLANTED in text]
    tail = await client.get(f"/api/projects/{pid}/logs/tail")
    assert "started with key [redacted]" in tail.text and PLANTED not in tail.text

    # A failed acceptance check keeps and shows what the page showed as the log does: redacted.
    checked = await services.verifications.verify(pid)
    [failed] = checked.acceptance
    assert not failed.passed and "toHaveText" in failed.message
    [problem] = [p for p in checked.problems if p.kind == "acceptance"]
    assert "[redacted]|Corner shop" in problem.detail and PLANTED not in problem.detail + problem.message
    stored = await client.get(f"/api/projects/{pid}/verifications")
    assert "toHaveText" in stored.text and PLANTED not in stored.text

    for path in ("files", "tree", "export"):
        got = await client.get(f"/api/projects/{pid}/{path}")
        assert got.status_code == 200, (path, got.text)
        assert PLANTED.encode() not in got.content, path
    with zipfile.ZipFile(io.BytesIO((await client.get(f"/api/projects/{pid}/export")).content)) as exported:
        assert not [n for n in exported.namelist() if PLANTED.encode() in exported.read(n)]


async def test_a_new_value_restarts_the_running_preview_and_unset_takes_it_away(local_previews: None, services: Services) -> None:
    pid = (await services.projects.create("Shop", TREE, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(pid, "STRIPE_KEY", "sk_first_value")
    first = await services.previews.start(pid)
    assert await served(services, pid) == "<h1>sk_first_value|undefined</h1>"

    await services.app_env.set(pid, "STRIPE_KEY", "sk_second_value")
    restarted = await services.previews.status(pid)
    assert restarted is not None and restarted.preview_id != first.preview_id
    assert await served(services, pid) == "<h1>sk_second_value|undefined</h1>"

    await services.app_env.unset(pid, "STRIPE_KEY")
    assert await served(services, pid) == "<h1>undefined|undefined</h1>"


async def test_values_are_encrypted_at_rest(services: Services) -> None:
    pid = (await services.projects.create("Shop", TREE, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(pid, "STRIPE_KEY", PLANTED)
    store = services._store  # pyright: ignore[reportPrivateUsage] (the raw row, as the database holds it)
    row = next(row for row in await store.env_vars(pid) if row.name == "STRIPE_KEY")
    assert row is not None and PLANTED not in row.value and not row.public
    assert await services.app_env.values(pid) == {"STRIPE_KEY": PLANTED}


async def test_the_model_gets_the_names_and_never_a_value(
    services: Services, client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    pid = (await services.projects.create("Shop", TREE, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(pid, "STRIPE_KEY", PLANTED)
    scripted_llm.queue(ToolAnswer(tool({"index.html": "<h1>Pay</h1>\n"})))

    events = await post_sse(client, f"/api/projects/{pid}/generate", {"prompt": "Add a pay button", "provider": "anthropic"})

    assert events[-1][0] == "done", events
    sent = json.dumps(scripted_llm.requests[0].body)
    assert "STRIPE_KEY" in sent and "process.env.NAME" in sent
    assert PLANTED not in sent


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("DATABASE_URL", "Forja will set DATABASE_URL"),
        ("PORT", "Forja sets PORT"),
        ("lower", "not a variable name"),
        ("LD_PRELOAD", "LD_PRELOAD changes how programs load code; Forja does not let an app set it."),
        ("NODE_OPTIONS", "NODE_OPTIONS changes which code Node.js loads; Forja does not let an app set it."),
        ("SSL_CERT_DIR", "SSL_CERT_DIR names a file of this server that the app's sandbox would be let read"),
    ],
)
async def test_names_forja_keeps_or_that_are_not_variables_are_refused(
    services: Services, client: httpx.AsyncClient, name: str, said: str
) -> None:
    pid = (await services.projects.create("Shop", TREE, owner=LOCAL_USER_ID)).project_id
    answer = await client.put(f"/api/projects/{pid}/env/{name}", json={"value": "x"})
    assert answer.status_code == 422 and said in answer.json()["detail"], answer.text
    missing = await client.delete(f"/api/projects/{pid}/env/NOPE")
    assert missing.status_code == 404


async def test_a_front_end_build_gets_only_the_public_variables(local_previews: None, services: Services) -> None:
    files = starter_files("react-vite-tailwind", "Corner shop")
    manifest = json.loads(files["package.json"])
    # What the build's processes had, written beside the site: the build of the page must not have the key.
    keep_env = "node -e \"require('fs').writeFileSync('dist/env.txt', process.env.STRIPE_KEY + '|' + process.env.VITE_TITLE)\""
    manifest["scripts"]["build"] = f"vite build && {keep_env}"
    files["package.json"] = json.dumps(manifest).encode()
    files["src/main.jsx"] += b"\nconsole.info(import.meta.env.VITE_TITLE, import.meta.env.STRIPE_KEY)\n"
    pid = (await services.projects.create("Shop", files, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(pid, "STRIPE_KEY", PLANTED)
    await services.app_env.set(pid, "VITE_TITLE", "Public title 7f3a")

    published = await services.publishing.publish(pid, user_id=LOCAL_USER_ID)

    assert (await get(published.app.url, "/env.txt")).text == "undefined|Public title 7f3a"
    app = await services._store.published_app(pid)  # pyright: ignore[reportPrivateUsage] (where its files are)
    assert app is not None and app.live_release_id is not None
    folder = services.publishing.folder(pid, app.live_release_id)
    built = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert any(b"Public title 7f3a" in data for path, data in built.items() if path.suffix == ".js")
    assert not [path for path, data in built.items() if PLANTED.encode() in data]


# Answers what it got of two variables, and whether it can read a folder of the server that is not in its sandbox.
PROBE = b"""const fs = require('fs');
const http = require('http');
let seen;
try { seen = fs.readdirSync(process.argv[2]).join(','); } catch (e) { seen = e.code; }
http.createServer((req, res) => {
  res.end([process.env.LD_PRELOAD, process.env.SSL_CERT_DIR, process.env.STRIPE_KEY, seen].join('|'));
}).listen(Number(process.env.PORT), process.env.HOST);
"""


async def test_variables_stored_before_with_names_that_change_loading_are_not_given_to_the_app(
    local_previews: None, services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Names Forja now refuses, kept from before it did: the app's processes do not get them, and the log says so. The
    local runner shows a file or folder a certificate variable names to the sandbox: an app that could name one would
    read any folder of the server. (Forja passes its own SSL_CERT_DIR on when it has one: here it has none.)"""
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    server_folder = tmp_path / "server-only"
    server_folder.mkdir()
    (server_folder / "forja-secret.txt").write_text("not for apps")
    package = {"name": "probe", "version": "1.0.0", "scripts": {"dev": f"node server.js {server_folder}"}}
    tree = {"package.json": json.dumps(package).encode(), "server.js": PROBE}
    pid = (await services.projects.create("Probe", tree, owner=LOCAL_USER_ID)).project_id
    store = services._store  # pyright: ignore[reportPrivateUsage]  # rows as an older Forja kept them, unchecked
    for name, value in {"LD_PRELOAD": "/nonexistent/forja-probe.so", "SSL_CERT_DIR": str(server_folder)}.items():
        await store.set_env_var(pid, name, encrypt(value), False, None, MAX_VARIABLES)
    await services.app_env.set(pid, "STRIPE_KEY", "sk_test_kept_value")

    await services.previews.start(pid)
    assert await served(services, pid) == "||sk_test_kept_value|ENOENT"
    said = [line.text for line in services.logs.history(pid)]
    for name in ("LD_PRELOAD", "SSL_CERT_DIR"):
        assert [text for text in said if text.startswith(f"The variable {name} is not given to the app: ")], said
    assert not [text for text in said if "forja-probe.so" in text]  # no process tried to load it
    # Listed by name still, so that they can be removed.
    assert {"LD_PRELOAD", "SSL_CERT_DIR"} <= {info.name for info in await services.app_env.names(pid)}
    await services.app_env.unset(pid, "LD_PRELOAD")
    assert "LD_PRELOAD" not in {info.name for info in await services.app_env.names(pid)}


# A library that, once loaded by any process, leaves a mark at MARK (a path of the server, outside every sandbox).
PRELOADED = """#include <stdio.h>
__attribute__((constructor)) static void loaded(void) {
    FILE *mark = fopen(MARK, "a");
    if (mark) { fputs("loaded\\n", mark); fclose(mark); }
}
"""


async def test_a_library_of_the_project_named_by_ld_preload_is_never_loaded_outside_the_sandbox(
    local_previews: None, services: Services, tmp_path: Path
) -> None:
    """The local runner starts its sandbox from the project's folder with the preview's environment: LD_PRELOAD naming
    a library among the project's files would be loaded by the processes that build the sandbox, on the server."""
    compiler = shutil.which("cc")
    if compiler is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("a C compiler (cc) is required in CI for this test", pytrace=False)
        pytest.skip("no C compiler (cc) to build the library")
    mark = tmp_path / "loaded-on-the-server"
    (tmp_path / "probe.c").write_text(PRELOADED)
    built = await asyncio.create_subprocess_exec(
        compiler, "-shared", "-fPIC", f'-DMARK="{mark}"', "-o", str(tmp_path / "probe.so"), str(tmp_path / "probe.c")
    )
    assert await built.wait() == 0
    tree = {**TREE, "probe.so": (tmp_path / "probe.so").read_bytes()}
    pid = (await services.projects.create("Preload", tree, owner=LOCAL_USER_ID)).project_id
    store = services._store  # pyright: ignore[reportPrivateUsage]  # a row as an older Forja kept it, unchecked
    await store.set_env_var(pid, "LD_PRELOAD", encrypt("./probe.so"), False, None, MAX_VARIABLES)

    await services.previews.start(pid)
    assert await served(services, pid) == "<h1>undefined|undefined</h1>"
    assert not mark.exists(), mark.read_text()
