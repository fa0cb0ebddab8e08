"""Local models through the OpenAI-compatible provider: each tool-call shape that Ollama, llama.cpp's server and vLLM
send, and a server that refuses tools, against the scripted server (tests/llm_server.py) through the real engine.
"""

from __future__ import annotations

import json
import uuid
from typing import Literal

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from builder.generation.providers.openai import AGENT_NEEDS_TOOLS, FILES_AS_TEXT
from builder.generation.schema import TOOL_NAME
from tests.integration.test_agent_mode import followed, tally
from tests.integration.test_generation import SITE, run, text_tree, tool
from tests.integration.test_plans import PLAN
from tests.llm_server import LocalWire, ScriptedLLMServer, TextAnswer, ToolAnswer

THOUGHT = "The person wants a bakery page; I will call the tool with three files."
Thinking = Literal["content", "reasoning_content", "reasoning"]
OLLAMA_REFUSAL = "registry.ollama.ai/library/gemma3:4b does not support tools"


def model() -> str:
    """A model name of the test's own: the provider remembers, per server and model, that tools were refused."""
    return f"local-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize(
    ("wire", "thinking_in"),
    [
        ("in-content", "content"),
        ("bare-json", "content"),
        ("no-id", "reasoning_content"),
        ("args-first", "reasoning"),
    ],
)
async def test_each_local_call_shape_saves_the_apps_files(
    services: Services, scripted_llm: ScriptedLLMServer, wire: LocalWire, thinking_in: Thinking
) -> None:
    # Cut in 5s, the <tool_call> and <think> markers arrive split across chunks.
    answer = ToolAnswer(tool(SITE), chunks=5, wire=wire, openai_finish_reason="stop", thinking=THOUGHT, thinking_in=thinking_in)
    scripted_llm.queue(answer)

    project_id, events = await run(services, "A landing page", "openai", model=model())

    assert events[-1].type == "done", [e.message for e in events if e.type == "error"]
    assert await text_tree(services, project_id) == SITE
    assert [e.path for e in events if e.type == "file_done"] == list(SITE)
    said = " ".join(f"{e.message} {e.summary or ''}" for e in events)
    assert "bakery page; I will call" not in said and FILES_AS_TEXT not in said
    assert "tools" in scripted_llm.requests[0].body


async def test_a_malformed_call_in_the_content_fails_in_words(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer('{"title": "x", "files": [}', wire="in-content"))

    project_id, events = await run(services, "A landing page", "openai", model=model())

    assert events[-1].type == "error"
    assert "wrote a tool call as text, but it is not valid JSON" in events[-1].message
    assert (await services.projects.get(project_id)).current_version is None


async def test_a_server_that_refuses_tools_is_asked_for_the_files_as_text_from_then_on(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    scripted_llm.refuse_tools = OLLAMA_REFUSAL
    name = model()
    fenced = f"<think>\n{THOUGHT}\n</think>\nHere are the files:\n```json\n{json.dumps(tool(SITE), indent=2)}\n```\n"
    other = {"index.html": "<h1>Second</h1>\n"}
    scripted_llm.queue(TextAnswer(fenced, chunks=7), TextAnswer(json.dumps(tool(other, title="Second"))))

    first_id, first = await run(services, "A landing page", "openai", model=name)
    second_id, second = await run(services, "Another page", "openai", model=name)

    assert first[-1].type == "done" and second[-1].type == "done", [e.message for e in [*first, *second] if e.type == "error"]
    assert await text_tree(services, first_id) == SITE
    assert await text_tree(services, second_id) == other
    # Said once per generation, in plain words.
    assert [e.message for e in first if e.message == FILES_AS_TEXT] == [FILES_AS_TEXT]
    assert [e.message for e in second if e.message == FILES_AS_TEXT] == [FILES_AS_TEXT]
    # The refused request, then the same without tools, asking for the tool's input as JSON; the second generation
    # does not pay the refusal again.
    refused, asked, again = (r.body for r in scripted_llm.requests)
    assert refused["tools"] and "tools" not in asked and "tools" not in again and "tool_choice" not in again
    for body in (asked, again):
        system = body["messages"][0]["content"]
        assert f"Wherever these instructions say to call `{TOOL_NAME}`" in system and '"files"' in system


@pytest.mark.parametrize("wire", ["no-id", "late-id", "args-first", "no-index"])
async def test_agent_mode_works_through_local_call_shapes(
    services: Services, scripted_llm: ScriptedLLMServer, wire: LocalWire
) -> None:
    project_id = await tally(services)
    # The server checks that every "tool" message answers a call by its id: Forja's ids for calls that had none.
    scripted_llm.queue(
        ToolAnswer({"path": "logic.js"}, tool_name="read_file", chunks=4, wire=wire, thinking=THOUGHT),
        ToolAnswer({"path": "logic.js", "search": "n + 2", "replace": "n + 1"}, tool_name="edit_file", wire="in-content"),
        ToolAnswer({"summary": "Add one adds one."}, tool_name="finish", wire="bare-json"),
    )
    await services.generations.start(project_id, "Fix the Add button", "openai", model(), verify=False, agent=True)
    events = await followed(services, project_id)

    assert events[-1].type == "done", [e.message for e in events if e.type == "error"]
    assert [e.step["label"] for e in events if e.step] == ["Read logic.js", "Edited logic.js"]
    assert (await services.projects.read_file(project_id, "logic.js")).decode() == "module.exports = { next: (n) => n + 1 };\n"


async def test_agent_mode_on_a_server_that_refuses_tools_says_it_needs_them(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    scripted_llm.refuse_tools = OLLAMA_REFUSAL
    project_id = await tally(services)
    await services.generations.start(project_id, "Fix the Add button", "openai", model(), verify=False, agent=True)
    events = await followed(services, project_id)

    assert events[-1].type == "error" and events[-1].message == AGENT_NEEDS_TOOLS
    assert len(scripted_llm.requests) == 1 and (await services.projects.get(project_id)).current_version == 1


async def test_a_plan_from_a_server_that_refuses_tools_is_read_from_its_text(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    scripted_llm.refuse_tools = OLLAMA_REFUSAL
    scripted_llm.queue(TextAnswer(f"Here is the plan.\n```json\n{json.dumps(PLAN)}\n```"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client:
        response = await client.post("/api/plans", json={"prompt": "Bookings for my barber shop", "provider": "openai"})

    assert response.status_code == 200, response.text
    assert [c["text"] for c in response.json()["checks"]] == PLAN["checks"]
    refused, asked = (r.body for r in scripted_llm.requests)
    assert refused["tools"][0]["function"]["name"] == "propose_plan" and "tools" not in asked
    assert "Wherever these instructions say to call `propose_plan`" in asked["messages"][0]["content"]
