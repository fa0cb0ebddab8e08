"""A team's MCP server started by its command line (tests/mcp_stdio_server.py, its source given through one of its
environment values), in a sandbox of its own. The admin adds it, lists and allows its tools, and the scripted model
calls them through Forja: the server runs as the sandbox's user in an empty scratch folder of its own, cannot read a
file of Forja's data folder, reach this machine's services or any host but the registries, nor write outside its
sandbox, and nothing it wrote is left on the machine once the run ends. Its environment values are never shown again,
nor logged from what it writes on stderr. Without bubblewrap, adding one and using one are refused in the doctor's
words.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import logging
import os
import resource
import secrets
import shutil
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import builder.settings
from builder.cli import COMMANDS, command_name, parser
from builder.composition import Services
from builder.errors import InvalidInput, McpServerUnreachable
from builder.services.access import LOCAL_ACTOR
from builder.services.mcp_servers import AllowedTools, NewMcpServer
from builder.services.preview_runners import local_limits
from builder.store import ProjectStore
from preview_runtime.local.sandbox import SANDBOX_UID
from tests.integration.test_agent_mode import call, followed, tally
from tests.llm_server import ScriptedLLMServer

SOURCE = (Path(__file__).parents[1] / "mcp_stdio_server.py").read_text()
KEY = "notes-key-5a1f93"


@pytest.fixture(autouse=True)
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Forja's data folder, which holds the servers' sandboxes."""
    (folder := tmp_path / "data").mkdir()
    monkeypatch.setattr(builder.settings.settings, "data_dir", folder)
    return folder


def notes_server() -> NewMcpServer:
    return NewMcpServer(name="team-notes", command='python -c "$NOTES_SOURCE"', env={"NOTES_SOURCE": SOURCE, "NOTES_KEY": KEY})


async def test_a_servers_command_runs_in_a_sandbox_of_its_own(
    services: Services,
    sqlite_store: ProjectStore,
    scripted_llm: ScriptedLLMServer,
    data: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "builder.services.mcp_stdio")
    (data / "kept.txt").write_text("forja-data-secret")
    # In the checkout, outside any sandbox: the server is asked to write there.
    outside = Path(__file__).parent / f"written-by-mcp-{secrets.token_hex(4)}.txt"
    added = await services.mcp_servers.add(LOCAL_ACTOR, notes_server())
    assert (added.url, added.command, added.env_names, added.token_set) == (
        "",
        'python -c "$NOTES_SOURCE"',
        ["NOTES_KEY", "NOTES_SOURCE"],
        False,
    )
    [row] = await sqlite_store.mcp_servers()
    shown = json.dumps([s.model_dump(mode="json") for s in await services.mcp_servers.list(LOCAL_ACTOR)])
    assert KEY not in row.env and KEY not in shown

    # What a Forja that was killed left (older than a program lives), and a session another process runs now.
    left, live = data / "mcp-sandboxes" / "program-left", data / "mcp-sandboxes" / "program-live"
    for folder in (left, live):
        (folder / ".home").mkdir(parents=True)
    long_ago = time.time() - builder.settings.settings.preview_ttl_s - 3600
    os.utime(left, (long_ago, long_ago))

    listed = await services.mcp_servers.list_tools(LOCAL_ACTOR, added.id)
    assert not left.exists() and live.exists()
    shutil.rmtree(live)
    assert [(t.name, t.changes_things) for t in listed.tools] == [("peek", False), ("reach", False), ("write_note", True)]
    await services.mcp_servers.allow(LOCAL_ACTOR, added.id, AllowedTools(tools=["peek", "reach", "write_note"]))
    project_id = await tally(services)
    scripted_llm.queue(
        call("mcp_team_notes_peek", path=str(data / "kept.txt")),
        call("mcp_team_notes_reach", url=scripted_llm.anthropic_base_url),
        call("mcp_team_notes_reach", url="http://tools.example.invalid/"),
        call("mcp_team_notes_write_note", title="tally", text="Adds one", outside=str(outside)),
        call("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        call("finish", summary="Add one adds one."),
    )
    await services.generations.start(
        project_id, "Fix the count", "anthropic", agent=True, approved_tools=frozenset({"mcp_team_notes_write_note"})
    )
    events = await followed(services, project_id)
    assert events[-1].type == "done", [e.message for e in events if e.type == "error"]
    steps = [e.step for e in events if e.type == "step" and e.step is not None]
    assert [(s["label"], s["ok"]) for s in steps[:4]] == [
        ("Used peek on team-notes", True),
        ("Used reach on team-notes", True),
        ("Used reach on team-notes", True),
        ("Used write_note on team-notes", True),
    ]
    said = [json.dumps(request.body["messages"][-1]["content"]) for request in scripted_llm.requests[1:5]]

    # Forja's data folder is not in its sandbox.
    assert "refused: No such file or directory" in said[0] and "forja-data-secret" not in said[0]
    # Its network is its own: this machine's services (the model's server here) are not in it, and its one way out,
    # the previews' egress proxy, reaches the package registries only.
    assert "refused: <urlopen error [Errno 111] Connection refused>" in said[1]
    assert "refused: HTTP Error 403" in said[2]
    # It wrote in its own scratch folder, as the sandbox's user under a preview's limits, and could not write outside.
    wrote = said[3]
    assert f"Saved tally in {data / 'mcp-sandboxes' / 'program-'}" in wrote
    files = min(local_limits().open_files, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    assert f"as user {SANDBOX_UID}, at most {files} open files." in wrote and f"Could not write {outside}" in wrote
    assert not outside.exists()
    # What it wrote on stderr is in Forja's log, its environment values hidden.
    assert "MCP server team-notes: notes starting, key [redacted]" in caplog.text and KEY not in caplog.text
    # Killed at the run's end, its scratch folder (and the note in it) removed.
    assert not await asyncio.to_thread(lambda: list((data / "mcp-sandboxes").glob("program-*")))


async def test_the_cli_adds_a_servers_command_with_its_environment_from_stdin(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["mcp-servers", "add", "cli-notes", "--command", "python -c 'print(1)'", "--env-stdin"]
    args = parser().parse_args(argv)
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"NOTES_KEY={KEY}\n"))
    made, said = await COMMANDS[command_name(args)].run(services, args)
    assert "cli-notes" in said and "python -c 'print(1)'  (in a sandbox; environment NOTES_KEY;" in said
    assert KEY not in said and made.env_names == ["NOTES_KEY"]


async def test_without_bubblewrap_a_servers_command_is_refused_in_words(
    services: Services, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    added = await services.mcp_servers.add(LOCAL_ACTOR, notes_server())
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    why = "^Bubblewrap is not installed: Forja runs a server's command only inside a sandbox of its own"
    with pytest.raises(InvalidInput, match=why):
        await services.mcp_servers.add(LOCAL_ACTOR, notes_server().model_copy(update={"name": "other-notes"}))
    with pytest.raises(McpServerUnreachable, match=f"{why}.*Install bubblewrap"):
        await services.mcp_servers.list_tools(LOCAL_ACTOR, added.id)
    # A server's address is still taken.
    await services.mcp_servers.add(LOCAL_ACTOR, NewMcpServer(name="by-address", url="https://tools.example.com/mcp"))
    # The doctor says so, with what to do.
    said = {check.name: check for check in (await services.doctor.report()).checks}["MCP commands"]
    assert not said.ok and said.detail.startswith(
        "MCP servers added by a command cannot start: Forja runs their commands only in a sandbox of their own, and "
        "bubblewrap is not installed."
    )
    assert said.detail.endswith("Add servers by their address instead.")


@contextlib.contextmanager
def npm_mirror(files: dict[str, bytes]) -> Iterator[tuple[str, list[str]]]:
    """An npm mirror on loopback serving one package, `forja-mcp-echo` 1.0.0 (`files`, its package's files), as the
    registry does: its packument, then its tarball; each request's path recorded. At 127.0.0.2, as a team's mirror
    at an address of its own would be: a sandbox sends 127.0.0.1 to its own `lo`, not through its egress proxy."""
    tarball = io.BytesIO()
    with tarfile.open(fileobj=tarball, mode="w:gz") as packed:
        for path, data in files.items():
            info = tarfile.TarInfo(f"package/{path}")
            info.size, info.mode = len(data), 0o755
            packed.addfile(info, io.BytesIO(data))
    body, asked = tarball.getvalue(), []
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(body).digest()).decode()

    class Mirror(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            base = f"http://127.0.0.2:{server.server_address[1]}"
            manifest = json.loads(files["package.json"]) | {
                "dist": {"tarball": f"{base}/forja-mcp-echo/-/forja-mcp-echo-1.0.0.tgz", "integrity": integrity}
            }
            packument = {"name": "forja-mcp-echo", "dist-tags": {"latest": "1.0.0"}, "versions": {"1.0.0": manifest}}
            answer = {"/forja-mcp-echo": json.dumps(packument).encode(), "/forja-mcp-echo/-/forja-mcp-echo-1.0.0.tgz": body}
            data = answer.get(self.path)
            self.send_response(200 if data is not None else 404)
            self.send_header("Content-Length", str(len(data or b"")))
            self.end_headers()
            self.wfile.write(data or b"")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.2", 0), Mirror)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}/", asked
    finally:
        server.shutdown()
        server.server_close()


async def test_npx_installs_a_server_from_the_registry_once_and_its_later_sessions_start_from_its_own_cache(
    services: Services, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = {
        "package.json": json.dumps(
            {"name": "forja-mcp-echo", "version": "1.0.0", "bin": {"forja-mcp-echo": "server.js"}}
        ).encode(),
        "server.js": (Path(__file__).parents[1] / "mcp_npm_package" / "server.js").read_bytes(),
    }
    with npm_mirror(package) as (address, asked):
        # The team's mirror, as FORJA_NPM_REGISTRY names it: the servers' sandboxes reach it as the previews' do.
        monkeypatch.setattr(builder.settings.settings, "npm_registry", address)
        added = await services.mcp_servers.add(LOCAL_ACTOR, NewMcpServer(name="echo", command="npx -y forja-mcp-echo"))
        listed = await services.mcp_servers.list_tools(LOCAL_ACTOR, added.id)
        assert [t.name for t in listed.tools] == ["echo"]
        assert "/forja-mcp-echo/-/forja-mcp-echo-1.0.0.tgz" in asked, asked
        fetched = len(asked)
        # Its next session (another listing, an agent run's) starts from what the first fetched, in its own folder.
        again = await services.mcp_servers.list_tools(LOCAL_ACTOR, added.id)
        assert [t.name for t in again.tools] == ["echo"] and len(asked) == fetched, asked
    kept = data / "mcp-sandboxes" / "kept" / str(added.id)
    assert (kept / "npm").is_dir() and not list((data / "mcp-sandboxes").glob("program-*"))
    await services.mcp_servers.remove(LOCAL_ACTOR, added.id)
    assert not kept.exists()  # a later server given its number starts with nothing of it
