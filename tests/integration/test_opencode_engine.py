"""OpenCode as a project's engine: the pinned OpenCode (installed by setup from its lockfile) edits a starter in the
project's sandbox through the scripted model, and Forja saves ONE version, runs it and checks it.

The model is tests/llm_server.py on Claude's endpoint (the default connection, as most Forjas have), answering in
OpenCode's own tool names (`edit`). OpenCode reaches it only through Forja's relay, which adds the key: the sandbox
holds a token of the run's, never the key. The sandbox's proxy reaches nothing else, so OpenCode's own attempt to reach
npm's registry at startup is refused: nothing leaves this machine. An OpenAI-compatible connection is the same run with
another protocol: its relay and configuration are checked without running OpenCode again, which costs ~13 s.
"""

from __future__ import annotations

import asyncio
import os
import re

import pytest

import builder.settings
from builder.composition import Services
from builder.errors import ProviderError
from builder.generation.engine import GenerationEvent
from builder.generation.starters import StarterVariables, load_starters, render_starter
from builder.models import LOCAL_USER_ID
from builder.services.engine_run import agent_of, changes, chosen_connection, installed, upstream
from builder.store import ProjectStore
from preview_runtime.engines import opencode
from preview_runtime.engines.relay import ModelRelay
from tests.conftest import TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer


def require_installed(engine: str) -> None:
    """Skips the test when the coding agent of `engine` is not installed here; fails it in CI, where setup installs it."""
    agent = agent_of(engine)
    if installed(agent) is None:
        reason = f"{agent.name} is not installed (scripts/setup.sh installs it into .cache/engines)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{agent.name} is required in CI but {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture
def opencode_installed() -> None:
    require_installed("opencode")


@pytest.mark.usefixtures("local_previews", "opencode_installed")
async def test_opencode_edits_a_starter_and_forja_saves_one_checked_version(
    services: Services, sqlite_store: ProjectStore, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "verify_generations", True)
    starter = next(s for s in load_starters() if s.name == "html")
    files = render_starter(starter, StarterVariables(title="Corner Bakery"))
    project_id = (await services.projects.create("Corner Bakery", files, owner=LOCAL_USER_ID)).project_id
    await services.agent.set_engine(project_id, "opencode")
    assert (await sqlite_store.get_project(project_id)).engine == "opencode"
    edit = {
        "filePath": "index.html",
        "oldString": '<a href="#offer">What we offer</a>',
        "newString": '<a href="#offer">Our breads</a>',
    }
    scripted_llm.queue(
        ToolAnswer(edit, tool_name="edit"),
        TextAnswer("The offer link now reads Our breads."),
    )

    # No provider asked for: the default connection, Claude, as Forja's own round would use.
    await services.generations.start(project_id, "Call the offer link Our breads", verify=True, user_id=LOCAL_USER_ID)
    async with asyncio.timeout(240):
        events: list[GenerationEvent] = [event async for event in services.generations.follow(project_id)]

    done = events[-1]
    logged = "\n".join(line.text for line in services.logs.history(project_id))
    assert done.type == "done", logged
    assert done.usage is not None and done.usage["provider"] == "anthropic"
    assert done.version == 2 and done.summary == "The offer link now reads Our breads."
    assert (
        done.usage is not None and done.usage["input_tokens"] == 200
    )  # the scripted model's 100 per answer, as OpenCode counted
    assert done.verification is not None and done.verification["status"] == "passed", done.verification
    project = await sqlite_store.get_project(project_id)
    assert [v.number for v in project.versions] == [1, 2]  # one version saved, no repair round
    tree = await sqlite_store.read_tree(project_id)
    assert b'<a href="#offer">Our breads</a>' in tree["index.html"]
    assert {path for path, data in tree.items() if files.get(path, "").encode() != data} == {"index.html"}
    # Both model requests came through the relay to Claude's endpoint, which put the person's key in place of the run's
    # token (in x-api-key, where Anthropic's protocol has it), with the protocol's version passed on.
    requests = scripted_llm.requests
    assert [(r.path, r.headers.get("x-api-key"), r.headers.get("authorization")) for r in requests] == [
        ("/v1/messages", TEST_ANTHROPIC_KEY, None)
    ] * 2
    assert all(r.headers.get("anthropic-version") for r in requests)
    assert "edit" in {t["name"] for t in requests[0].body["tools"]}
    assert re.search(r"^edit: \S*index\.html \(completed\)$", logged, re.M) and "The offer link now reads Our breads." in logged
    assert "Blocked a connection to registry.npmjs.org" in logged  # OpenCode tried; the sandbox let nothing out


async def _post(port: int, path: str, headers: str, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    answer = await reader.read()
    writer.close()
    return answer


async def test_the_relay_serves_its_own_run_only(scripted_llm: ScriptedLLMServer) -> None:
    async with ModelRelay(f"{scripted_llm.anthropic_base_url}/v1", "person-key", "anthropic") as relay:
        # A wrong token, and the run's own one where Claude's protocol does not carry a key.
        for headers in ("x-api-key: guess\r\n", f"Authorization: Bearer {relay.token}\r\n"):
            refused = await _post(relay.port, "/relay/messages", headers)
            assert refused.startswith(b"HTTP/1.1 403") and b"its own run only" in refused
    assert relay.forwarded == 0 and not scripted_llm.requests


async def test_an_openai_compatible_connection_is_relayed_with_its_own_protocol(scripted_llm: ScriptedLLMServer) -> None:
    config = opencode.config("openai", "http://forja-model-relay/relay", "gpt-4.1", "token")
    assert config["provider"][opencode.PROVIDER]["npm"] == "@ai-sdk/openai-compatible"
    scripted_llm.queue(TextAnswer("hello"))
    body = b'{"model": "gpt-4.1", "stream": true, "messages": [{"role": "user", "content": "hi"}]}'
    async with ModelRelay(scripted_llm.openai_base_url, TEST_OPENAI_KEY) as relay:
        answer = await _post(relay.port, "/relay/chat/completions", f"Authorization: Bearer {relay.token}\r\n", body)
    assert answer.startswith(b"HTTP/1.1 200") and b"hello" in answer
    [request] = scripted_llm.requests
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == f"Bearer {TEST_OPENAI_KEY}"


@pytest.mark.usefixtures("services")  # the connections an admin stored are read from its database: none here
async def test_opencode_takes_the_connection_forja_would(scripted_llm: ScriptedLLMServer) -> None:
    claude = await chosen_connection(None, None)  # no provider picked: the default one, Claude here
    assert claude is not None and upstream(claude) == ("anthropic", f"{scripted_llm.anthropic_base_url.rstrip('/')}/v1")
    picked = await chosen_connection("openai", "gpt-5")
    assert picked is not None and (picked.model, upstream(picked)) == ("gpt-5", ("openai", scripted_llm.openai_base_url))
    assert await chosen_connection("offline", None) is None


def test_the_transcript_says_what_opencode_did() -> None:
    tool = '{"type":"tool_use","part":{"tool":"edit","state":{"status":"completed","title":"index.html"}}}'
    text = '{"type":"text","part":{"text":"Done."}}'
    assert opencode.transcript_line(tool) == "edit: index.html (completed)"
    assert opencode.transcript_line(text) == opencode.said_text(text) == "Done."
    assert opencode.said_text(tool) is None and opencode.transcript_line('{"type":"step_start","part":{}}') is None
    finish = '{"type":"step_finish","part":{"tokens":{"input":100,"output":19,"cache":{"read":5,"write":0}}}}'
    assert opencode.step_tokens(finish) == (100, 19, 5, 0) and opencode.step_tokens(text) is None


def test_what_opencode_changed_is_read_from_the_files_and_redacted() -> None:
    key = "sk-ant-" + "a" * 30
    before = {"index.html": b"<h1>Hi</h1>", "old.txt": b"gone", "same.txt": b"kept"}
    after = {"index.html": f"<p>{key}</p>".encode(), "logo.png": b"\xff\xd8", "same.txt": b"kept"}
    writes, deletes = changes(before, after)
    assert writes == {"index.html": b"<p>[redacted]</p>", "logo.png": b"\xff\xd8"} and deletes == ["old.txt"]


@pytest.mark.usefixtures("offline_only")
async def test_a_request_opencode_cannot_take_is_refused_before_it_starts(services: Services, sqlite_store: ProjectStore) -> None:
    project_id = (await services.projects.create("Barber", {"index.html": "<h1>Barber</h1>"}, owner=LOCAL_USER_ID)).project_id
    await services.agent.set_engine(project_id, "opencode")
    # Refused as the call's answer (the box keeps the request, the API says 400), not as a generation that fails.
    with pytest.raises(ProviderError, match="OpenCode works with a connected model, Claude or an OpenAI-compatible one"):
        await services.generations.start(project_id, "Make the heading green", user_id=LOCAL_USER_ID)
    assert await sqlite_store.list_generations(project_id) == []
