"""Codex CLI as a project's engine: the pinned Codex (installed by setup from its lockfile) edits a page in the
project's sandbox through the scripted model's Responses API, and Forja saves ONE version, runs it and checks it. The
page is plain HTML with nothing to install, so the check costs a second: the starters' own checks are OpenCode's test's.

The model is tests/llm_server.py's `/v1/responses` on the OpenAI connection (Codex speaks nothing else), answering
with a call of Codex's own shell tool (`exec_command`), whose output Codex sends back: it prints the sandbox's
environment, so the test reads what Codex held, the run's token and never the key. Codex reaches the model only through
Forja's relay, which adds the key. A project whose model is Claude is refused in words before anything starts.
"""

from __future__ import annotations

import asyncio
import re

import pytest

import builder.settings
from builder.composition import Services
from builder.errors import ProviderError
from builder.generation import prompts
from builder.generation.engine import GenerationEvent
from builder.models import LOCAL_USER_ID
from builder.schemas import QuotaSet
from builder.services.access import Actor
from builder.services.engine_run import model_note
from builder.store import ProjectStore
from preview_runtime.engines import codex
from tests.conftest import TEST_OPENAI_KEY
from tests.integration.test_opencode_engine import require_installed
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer


@pytest.fixture
def codex_installed() -> None:
    require_installed("codex")


@pytest.mark.usefixtures("local_previews", "codex_installed")
async def test_codex_edits_a_page_and_forja_saves_one_checked_version(
    services: Services, sqlite_store: ProjectStore, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "verify_generations", True)
    files = {"index.html": '<h1>Corner Bakery</h1>\n<a href="#offer">What we offer</a>\n'}
    project_id = (await services.projects.create("Corner Bakery", files, owner=LOCAL_USER_ID)).project_id
    await services.agent.set_engine(project_id, "codex")
    await services.projects.set_provider(project_id, "openai")
    assert (await sqlite_store.get_project(project_id)).engine == "codex"
    edit = 'sed -i \'s|<a href="#offer">What we offer</a>|<a href="#offer">Our breads</a>|\' index.html && env'
    scripted_llm.queue(
        ToolAnswer({"cmd": edit}, tool_name="exec_command"),
        TextAnswer("The offer link now reads Our breads."),
    )

    await services.generations.start(project_id, "Call the offer link Our breads", verify=True, user_id=LOCAL_USER_ID)
    async with asyncio.timeout(240):
        events: list[GenerationEvent] = [event async for event in services.generations.follow(project_id)]

    done = events[-1]
    logged = "\n".join(line.text for line in services.logs.history(project_id))
    assert done.type == "done", logged
    assert done.usage is not None and done.usage["provider"] == "openai"
    assert done.version == 2 and done.summary == "The offer link now reads Our breads."
    assert done.usage["input_tokens"] == 200  # the scripted model's 100 per answer, as Codex's turn counted them
    assert done.verification is not None and done.verification["status"] == "passed", done.verification
    project = await sqlite_store.get_project(project_id)
    assert [v.number for v in project.versions] == [1, 2]  # one version saved, no repair round
    tree = await sqlite_store.read_tree(project_id)
    assert b'<a href="#offer">Our breads</a>' in tree["index.html"]
    assert {path for path, data in tree.items() if files.get(path, "").encode() != data} == {"index.html"}
    # Both model requests came through the relay to the Responses endpoint, which put the person's key in place of
    # the run's token; the command's output Codex sent back shows the sandbox held that token and not the key.
    requests = scripted_llm.requests
    assert [(r.path, r.headers.get("authorization")) for r in requests] == [("/v1/responses", f"Bearer {TEST_OPENAI_KEY}")] * 2
    assert "exec_command" in {t.get("name") for t in requests[0].body["tools"]}
    [output] = [item["output"] for item in requests[1].body["input"] if item.get("type") == "function_call_output"]
    assert f"{codex.TOKEN_VARIABLE}=" in output and "exited with code 0" in output
    assert all(TEST_OPENAI_KEY not in text for text in (output, logged))
    assert re.search(r"^command: \S+ -lc .*index\.html.* \(exit code 0\)$", logged, re.M)
    assert "The offer link now reads Our breads." in logged
    assert "Blocked a connection" not in logged  # its plugins and apps are off: it tried to reach nothing but the relay


async def test_codex_with_a_claude_model_is_refused_in_words_before_it_starts(
    services: Services, sqlite_store: ProjectStore, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = (await services.projects.create("Barber", {"index.html": "<h1>Barber</h1>"}, owner=LOCAL_USER_ID)).project_id
    await services.agent.set_engine(project_id, "codex")
    await services.projects.set_provider(project_id, "anthropic")
    said = "Codex works only with an OpenAI-compatible model, and this project uses Claude"
    assert said in await model_note("codex", "anthropic")  # what the engine picker says under it
    assert await model_note("codex", "openai") == await model_note("opencode", "anthropic") == ""
    with pytest.raises(ProviderError, match=said):
        await services.generations.start(project_id, "Make the heading green", user_id=LOCAL_USER_ID)
    assert await sqlite_store.list_generations(project_id) == [] and not scripted_llm.requests


def test_the_transcript_says_what_codex_did() -> None:
    command = (
        '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"/bin/bash -lc ls",'
        '"aggregated_output":"no such file","exit_code":2,"status":"failed"}}'
    )
    said = '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"Done."}}'
    turn = '{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":50,"output_tokens":17}}'
    assert codex.transcript_line(command) == "command: /bin/bash -lc ls (exit code 2): no such file"
    assert codex.transcript_line(said) == codex.said_text(said) == "Done."
    assert codex.said_text(command) is None and codex.transcript_line('{"type":"turn.started"}') is None
    assert codex.step_tokens(turn) == (250, 17, 50, 0) and codex.step_tokens(said) is None
    assert codex.transcript_line('{"type":"turn.failed","error":{"message":"stream ended"}}') == "error: stream ended"


@pytest.mark.usefixtures("local_previews", "codex_installed")
async def test_codex_is_stopped_at_the_request_that_could_pass_the_persons_quota(
    services: Services, sqlite_store: ProjectStore, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    ana = await services.accounts.create_user("ana@example.org", "Ana", "ana-password-1", admin=True)
    bo = await services.accounts.create_user("bo@example.org", "Bo", "bo-password-1")
    admin = Actor(ana.id, ana.email, ana.name, ana.role)
    await services.accounts.set_quotas(admin, bo.id, QuotaSet(tokens_day=16_500, cost_day_usd=0))
    # The check before the run weighs Forja's own first request: without its system prompt, the prompt and 16,000
    # tokens of answer, which 16,500 a day allows. Codex's first request carries its own instructions and tools, a few
    # thousand tokens more: the relay weighs that one before passing it on, and refuses it.
    monkeypatch.setattr(prompts, "system_prompt", lambda: "")
    files = {"index.html": "<h1>Corner Bakery</h1>\n"}
    project_id = (await services.projects.create("Corner Bakery", files, owner=bo.id)).project_id
    await services.agent.set_engine(project_id, "codex")
    await services.projects.set_provider(project_id, "openai")

    await services.generations.start(project_id, "Call it Our breads", verify=False, user_id=bo.id)
    async with asyncio.timeout(120):
        events: list[GenerationEvent] = [event async for event in services.generations.follow(project_id)]

    said = events[-1]
    assert said.type == "error" and "of your 16,500 model tokens today" in said.message, said
    assert said.message.endswith("Codex stopped there, and nothing was saved.")
    assert scripted_llm.requests == []  # nothing reached the model
    assert [v.number for v in (await sqlite_store.get_project(project_id)).versions] == [1]
