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
import io
import json
import logging
import os
import resource
import secrets
import shutil
import sys
import time
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
