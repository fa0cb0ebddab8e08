"""Agent mode: the model works on a project in steps with tools, through the real SDKs against the scripted server,
which now scripts a conversation of tool calls and refuses, as the APIs do, a tool result that answers no call.

The project is a small Node app nobody at Forja would call a starter: a server of its own, a test script, a bug in
its logic. The run reads, runs `npm test` (which fails), edits, runs it again in the same sandbox (it passes, so the
edit reached the sandbox), opens the page in headless Chromium, and ends as ONE version listing its steps. The step
cap and the budget stop runs that loop; Stop ends one; Approve changes holds the change until accepted or rejected.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import builder.settings
from builder.api import api
from builder.composition import Services
from builder.errors import GenerationBusy, ProviderError
from builder.generation.engine import GenerationEvent
from builder.models import LOCAL_USER_ID
from tests.conftest import TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage
from tests.waiting import until

SERVER = """const http = require('http');
const fs = require('fs');
const path = require('path');
http.createServer((req, res) => {
  const name = req.url === '/logic.js' ? 'logic.js' : 'index.html';
  res.setHeader('Content-Type', name.endsWith('.js') ? 'text/javascript' : 'text/html');
  res.end(fs.readFileSync(path.join(__dirname, name)));
}).listen(process.env.PORT || 3000, process.env.HOST || '127.0.0.1');
"""
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Tally</title></head>
<body><h1>Tally</h1><p>Count: <span id="count">0</span></p><button id="add">Add one</button>
<script>window.module = {}; </script><script src="/logic.js"></script>
<script>let n = 0; document.getElementById('add').onclick = () => {
  n = module.exports.next(n); document.getElementById('count').textContent = n; };</script>
</body></html>
"""
BUGGY = "module.exports = { next: (n) => n + 2 };\n"
TEST = """const { next } = require('./logic.js');
if (next(1) !== 2) { console.error('next(1) should be 2, got ' + next(1)); process.exit(1); }
console.log('all tests passed');
"""
TALLY = {
    "package.json": json.dumps(
        {"name": "tally", "private": True, "scripts": {"start": "node server.js", "test": "node test.js"}}
    ),
    "server.js": SERVER,
    "index.html": PAGE,
    "logic.js": BUGGY,
    "test.js": TEST,
}


def call(tool: str, **arguments: Any) -> ToolAnswer:
    return ToolAnswer(arguments, tool_name=tool)


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def tally(services: Services) -> str:
    return (await services.projects.create("Tally", TALLY, owner=LOCAL_USER_ID)).project_id


async def followed(services: Services, project_id: str) -> list[GenerationEvent]:
    async with asyncio.timeout(240):
        return [event async for event in services.generations.follow(project_id)]


@pytest.mark.usefixtures("local_previews")
async def test_a_run_reads_tests_edits_and_looks_then_saves_one_version(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await tally(services)
    scripted_llm.queue(
        call("list_files"),
        call("read_file", path="logic.js"),
        call("run_command", command="npm test"),
        call("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        call("run_command", command="npm test"),
        call("open_page", path="/"),
        call("run_command", command="npm install raect && touch ran.txt"),  # a look-alike: refused, nothing run
        call("finish", summary=f"Add one now adds one; the tests pass. (key {TEST_ANTHROPIC_KEY})"),
    )
    await services.generations.start(
        project_id, "The Add button adds two; fix it", "anthropic", verify=False, user_id=LOCAL_USER_ID, agent=True
    )
    events = await followed(services, project_id)

    done = events[-1]
    assert done.type == "done", [e.message for e in events if e.type == "error"]
    assert done.version == 2 and done.generation_id is not None
    steps = [e.step for e in events if e.type == "step" and e.step is not None]
    assert [s["label"] for s in steps] == [
        "Listed 5 files",
        "Read logic.js",
        "Ran npm test",
        "Edited logic.js",
        "Ran npm test",
        "Opened /",
        "Run command npm install raect && touch ran.txt",
    ]
    # The first test run fails on the bug; the second, after the edit, passes in the same sandbox.
    assert not steps[2]["ok"] and "next(1) should be 2, got 3" in steps[2]["detail"]
    assert steps[4]["ok"] and "all tests passed" in steps[4]["detail"]
    assert steps[5]["ok"] and steps[5]["screenshot"], steps[5]
    # The install gate refused the line before it ran (no exit code), naming the look-alike.
    assert not steps[6]["ok"] and steps[6]["detail"].startswith("The command was not run: "), steps[6]
    assert "popular package react" in steps[6]["detail"]

    # One version, with the edit; the summary's key is gone.
    project = await services.projects.get(project_id)
    assert project.current_version == 2 and len(project.versions) == 2
    assert (await services.projects.read_file(project_id, "logic.js")).decode() == "module.exports = { next: (n) => n + 1 };\n"
    [record] = [g for g in await services.generations.records(project_id) if g.kind == "agent"]
    assert record.outcome == "saved" and record.version == 2 and len(record.steps) == 7
    assert TEST_ANTHROPIC_KEY not in record.summary

    # The screenshot the page step took is served to the project's viewers.
    shot = await client.get(f"/api/projects/{project_id}/agent/{record.id}/steps/6/screenshot")
    assert shot.status_code == 200 and shot.content[:3] == b"\xff\xd8\xff"
    missing = await client.get(f"/api/projects/{project_id}/agent/{record.id}/steps/2/screenshot")
    assert missing.status_code == 404

    # The model chose among the tools each turn and got each call's result under its id (the server refuses
    # otherwise); the test's output reached it; Forja's key never did.
    first, third = scripted_llm.requests[0].body, scripted_llm.requests[3].body
    assert first["tool_choice"] == {"type": "any"}
    assert {t["name"] for t in first["tools"]} >= {"read_file", "edit_file", "run_command", "open_page", "finish"}
    results = [b for b in third["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert results and results[0]["is_error"] is True and "next(1) should be 2" in results[0]["content"]
    # Claude takes pictures: the page's screenshot went back with its step's result.
    [looked] = [b for b in scripted_llm.requests[6].body["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert [part["type"] for part in looked["content"]] == ["text", "image"]
    assert looked["content"][1]["source"]["media_type"] == "image/jpeg"
    assert all(TEST_ANTHROPIC_KEY not in r.text for r in scripted_llm.requests)


async def test_the_step_cap_ends_a_run_that_loops_and_saves_nothing(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "agent_max_steps", 3)
    project_id = await tally(services)
    scripted_llm.queue(*[call("read_file", path="logic.js") for _ in range(4)])
    await services.generations.start(project_id, "Make it better", "openai", verify=False, agent=True)
    events = await followed(services, project_id)

    assert events[-1].type == "error" and "its 3 steps (FORJA_AGENT_MAX_STEPS)" in events[-1].message
    assert [e.step["label"] for e in events if e.step] == ["Read logic.js"] * 3
    assert (await services.projects.get(project_id)).current_version == 1
    [record] = [g for g in await services.generations.records(project_id) if g.kind == "agent"]
    assert record.outcome == "failed" and len(record.steps) == 3
    # Over the OpenAI protocol: every call answered by a "tool" message with its id, and the key never sent.
    last = scripted_llm.requests[-1].body
    assert last["tool_choice"] == "required"
    assert [m["role"] for m in last["messages"][-2:]] == ["assistant", "tool"]
    assert all(TEST_OPENAI_KEY not in r.text for r in scripted_llm.requests)


async def test_the_budget_stops_a_run_before_a_request_would_pass_it(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first request fits ($0.28 at most); after it spent $0.18, the next one's largest cost would pass $0.40.
    monkeypatch.setattr(builder.settings.settings, "budget_project_usd", 0.40)
    project_id = await tally(services)
    scripted_llm.queue(ToolAnswer({"path": "logic.js"}, tool_name="read_file", usage=Usage(30000, 6000)))
    await services.generations.start(project_id, "Make it better", "anthropic", verify=False, agent=True)
    events = await followed(services, project_id)

    assert events[-1].type == "error" and "FORJA_BUDGET_PROJECT_USD" in events[-1].message
    assert len(scripted_llm.requests) == 1
    assert (await services.projects.get(project_id)).current_version == 1


async def test_stop_ends_a_run_and_one_runs_at_a_time(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    project_id = await tally(services)
    release = threading.Event()
    scripted_llm.queue(
        call("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        ToolAnswer({"path": "logic.js"}, tool_name="read_file", chunks=2, held=release, held_after=5),
    )
    await services.generations.start(project_id, "Fix the count", "anthropic", verify=False, agent=True)
    async with asyncio.timeout(60):
        async for event in services.generations.follow(project_id):
            if event.type == "step":
                break
    with pytest.raises(GenerationBusy):
        await services.generations.start(project_id, "Something else", "anthropic", verify=False, agent=True)

    # Stopped while the model's next answer is half sent: the run ends at once, without waiting for the rest.
    async def asked_again() -> bool:
        return len(scripted_llm.requests) == 2

    await until(asked_again, "the second request to the model", within=30)
    assert await services.generations.stop(project_id)
    try:
        events = await followed(services, project_id)
    finally:
        release.set()
    assert events[-1].type == "error" and "Stopped by you; nothing was saved." in events[-1].message
    assert (await services.projects.get(project_id)).current_version == 1
    [record] = [g for g in await services.generations.records(project_id) if g.kind == "agent"]
    assert record.outcome == "stopped" and [s.label for s in record.steps] == ["Edited logic.js"]


@pytest.mark.usefixtures("local_previews")
async def test_approve_changes_holds_each_change_until_accepted_or_rejected(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "verify_generations", True)
    project_id = await tally(services)
    setting = await client.put(f"/api/projects/{project_id}/agent/approve-changes", json={"approve_changes": True})
    assert setting.status_code == 200 and (await services.projects.get(project_id)).approve_changes

    scripted_llm.queue(
        call("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        call("write_file", path="CHANGELOG.md", content="- Add one adds one.\n"),
        call("finish", summary="Add one now adds one."),
    )
    response = await client.post(
        f"/api/projects/{project_id}/generate", json={"prompt": "Fix the count", "provider": "anthropic", "agent": True}
    )
    assert response.status_code == 200, response.text
    done = json.loads(response.text.split("event: done\ndata: ")[1].split("\n")[0])
    assert "version" not in done and done["message"].startswith("Waiting for your approval")
    run = done["generation_id"]
    # Nothing is a version yet; the change is there to look at.
    assert (await services.projects.get(project_id)).current_version == 1
    [waiting] = [g for g in (await client.get(f"/api/projects/{project_id}/generations")).json() if g["kind"] == "agent"]
    assert waiting["outcome"] == "awaiting" and waiting["pending"]["base_version"] == 1
    assert waiting["pending"]["writes"] == {"logic.js": BUGGY.replace("n + 2", "n + 1"), "CHANGELOG.md": "- Add one adds one.\n"}

    accepted = await client.post(f"/api/projects/{project_id}/agent/{run}/accept")
    assert accepted.status_code == 200 and accepted.json()["version"] == 2
    # Accepted, it is checked as any change is: its own tests now pass.
    checked = accepted.json()["verification"]
    assert (checked["status"], checked["headline"]) == ("passed", "Checked: runs, no errors."), checked
    assert (await services.projects.read_file(project_id, "CHANGELOG.md")) == b"- Add one adds one.\n"
    again = await client.post(f"/api/projects/{project_id}/agent/{run}/accept")
    assert again.status_code == 409 and "not waiting for approval" in again.json()["detail"]

    # A second run's change is rejected: no version, and it cannot be accepted after.
    scripted_llm.queue(call("delete_file", path="CHANGELOG.md"), call("finish", summary="Removed the changelog."))
    response = await client.post(
        f"/api/projects/{project_id}/generate", json={"prompt": "Drop the changelog", "provider": "anthropic", "agent": True}
    )
    second = json.loads(response.text.split("event: done\ndata: ")[1].split("\n")[0])["generation_id"]
    rejected = await client.post(f"/api/projects/{project_id}/agent/{second}/reject")
    assert rejected.status_code == 204
    late = await client.post(f"/api/projects/{project_id}/agent/{second}/accept")
    assert late.status_code == 409
    project = await services.projects.get(project_id)
    assert project.current_version == 2 and "CHANGELOG.md" in await services.projects.read_tree(project_id)


async def test_agent_mode_needs_a_model_and_an_app(client: httpx.AsyncClient, services: Services) -> None:
    project_id = await tally(services)
    with pytest.raises(ProviderError, match="Agent mode needs a model"):
        await services.generations.start(project_id, "Fix it", "offline", agent=True)
    empty = await services.projects.create_empty("Empty", owner=LOCAL_USER_ID)
    response = await client.post(
        f"/api/projects/{empty}/generate", json={"prompt": "Fix it", "provider": "offline", "agent": True}
    )
    assert response.status_code == 400 and "Agent mode needs a model" in response.json()["detail"]
    new = await client.post("/api/generate", json={"prompt": "A tally", "provider": "anthropic", "agent": True})
    assert new.status_code == 422 and "build it first" in new.json()["detail"]


@pytest.mark.usefixtures("local_previews")
async def test_over_openai_a_pages_screenshot_follows_its_result_for_a_model_that_sees(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "openai_vision", True)
    project_id = await tally(services)
    scripted_llm.queue(
        call("edit_file", path="index.html", search="<h1>Tally</h1>", replace="<h1>Tally counter</h1>"),
        call("open_page", path="/"),
        call("finish", summary="The heading says Tally counter."),
    )
    await services.generations.start(project_id, "Rename the heading", "openai", verify=False, agent=True)
    events = await followed(services, project_id)
    assert events[-1].type == "done" and events[-1].version == 2, [e.message for e in events]
    # A tool message carries text only: the screenshot follows it in a user message, before the next turn.
    messages = scripted_llm.requests[2].body["messages"]
    assert [m["role"] for m in messages[-2:]] == ["tool", "user"]
    assert "No problem seen" in messages[-2]["content"]
    assert messages[-1]["content"][0]["image_url"]["url"].startswith("data:image/jpeg;base64,")


@pytest.mark.usefixtures("local_previews")
async def test_a_run_whose_version_fails_its_check_is_repaired_by_an_agent_round(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    # Its own tests pass, so what the check finds is the agent's.
    fixed = {**TALLY, "logic.js": BUGGY.replace("n + 2", "n + 1")}
    project_id = (await services.projects.create("Tally", fixed, owner=LOCAL_USER_ID)).project_id
    broken = "let n = 0; countStarts();"
    scripted_llm.queue(
        call("edit_file", path="index.html", search="let n = 0;", replace=broken),
        call("finish", summary="Counts from the start."),
        # The repair round is an agent round too: it looks at the log, then fixes what the check saw.
        call("read_logs", lines=20),
        call("edit_file", path="index.html", search=broken, replace="let n = 0;"),
        call("finish", summary="Removed the call to a function that does not exist."),
    )
    await services.generations.start(project_id, "Count from the start", "anthropic", verify=True, agent=True)
    events = await followed(services, project_id)

    done = events[-1]
    assert done.type == "done" and done.verification is not None, [e.message for e in events]
    assert done.verification["status"] == "passed" and done.version == 3
    checks = [e.verification["status"] for e in events if e.type == "verification" and e.verification]
    assert checks == ["problems", "passed"]
    records = [g for g in await services.generations.records(project_id) if g.kind in ("agent", "repair")]
    assert [(g.kind, g.outcome, [s.tool for s in g.steps]) for g in records] == [
        ("agent", "saved", ["edit_file"]),
        ("repair", "saved", ["read_logs", "edit_file"]),
    ]
    # The repair round's task was the check's problem, in words.
    assert "countStarts is not defined" in scripted_llm.requests[2].text


async def test_the_apps_secret_pasted_in_a_file_reaches_the_agent_as_a_placeholder_and_stays_in_the_file(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    """A private variable's value pasted into logic.js: the agent reads the file with a placeholder in its place, edits
    the line by that placeholder, and the saved file holds the value again where the edit kept it. No request to the
    model holds the value."""
    secret = "tally-" + "secret-7c41e9d2"
    project_id = await tally(services)
    await services.app_env.set(project_id, "TALLY_KEY", secret, LOCAL_USER_ID)
    pasted = f"const key = '{secret}';\n{BUGGY}"
    await services.projects.save(project_id, {"logic.js": pasted})
    seen = "const key = '[hidden: the value of TALLY_KEY]';"
    scripted_llm.queue(
        call("read_file", path="logic.js"),
        call("edit_file", path="logic.js", search=seen, replace=seen.replace("const key", "const apiKey")),
        call("finish", summary="Renamed the key."),
    )
    await services.generations.start(project_id, "Rename key to apiKey", "anthropic", verify=False, agent=True)
    events = await followed(services, project_id)

    assert events[-1].type == "done", [e.message for e in events if e.type == "error"]
    saved = (await services.projects.read_file(project_id, "logic.js")).decode()
    assert saved == pasted.replace("const key", "const apiKey")
    read = [b for b in scripted_llm.requests[1].body["messages"][-1]["content"] if b["type"] == "tool_result"]
    assert seen in json.dumps(read)
    assert "[hidden: " in scripted_llm.requests[0].text  # the file sent with the task, too
    assert all(secret not in r.text for r in scripted_llm.requests)
