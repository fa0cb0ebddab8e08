"""The generation engine, end to end: prompt in, one saved version (or nothing) out.

The real anthropic and openai SDKs talk over 127.0.0.1 to a ScriptedLLMServer (tests/llm_server.py) that replays
scripted answers in each API's streaming protocol; only Forja's settings point them there. Nothing in the SDKs or in
the engine is mocked or patched, so these tests break when the engine, the providers or an SDK upgrade does.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import builder.settings
from builder.composition import Services
from builder.errors import ForjaError
from builder.generation import guard
from builder.generation.engine import GenerationEvent
from builder.generation.providers.offline import personalise
from builder.generation.schema import TOOL_INPUT_SCHEMA, TOOL_NAME
from builder.generation.starters import choose_starter, load_starters, render_starter
from builder.models import LOCAL_USER_ID, Author
from tests.conftest import TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY
from tests.llm_server import HTTPErrorAnswer, RecordedRequest, ScriptedLLMServer, StreamErrorAnswer, TextAnswer, ToolAnswer, Usage

PROVIDERS = ["anthropic", "openai"]
SECRET = "supersecretvalue123456"

SITE = {
    "index.html": '<!doctype html>\n<html>\n<head><link rel="stylesheet" href="styles.css"></head>\n'
    '<body><h1>Hello</h1>\n<script src="script.js"></script></body>\n</html>\n',
    "styles.css": "body { font-family: system-ui; color: #222; }\nh1 { color: #d97706; }\n",
    "script.js": "document.querySelector('h1').addEventListener('click', () => alert('Hi!'));\n",
}
# Accents, CJK, emoji (astral, ZWJ sequences, flags), quotes, backslashes and control characters.
UNICODE_SITE = {
    "index.html": "<h1>Café crème — naïve résumé</h1>\n<p>你好，世界 · 日本語 · 한국어</p>\n",  # noqa: RUF001
    "src/emoji.js": 'export const party = "🎉🚀 👩‍💻 🇵🇹 😀";\nconst path = "C:\\\\temp\\\\x";\n',
    "data/quotes.json": '{"quote": "she said \\"olá\\"", "tab": "\\t"}\n',
    "notes.txt": "line one\r\nline\ttwo\n\u00a0non-breaking \u2028 separator\n",
}


def tool(files: dict[str, str], title: str = "Sunrise Bakery", summary: str = "A page for the bakery.", **extra: Any) -> dict:
    """An `emit_file_tree` input."""
    return {"title": title, "summary": summary, "files": [{"path": p, "content": c} for p, c in files.items()], **extra}


async def run(
    services: Services, prompt: str, provider: str | None, project_id: str | None = None, model: str | None = None
) -> tuple[str, list[GenerationEvent]]:
    """One generation through the generation service; a new empty project unless `project_id` is given.

    A refusal to start (an unusable provider) comes back as the one error event, as a follower would show it.
    """
    project_id = project_id or await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    try:
        await services.generations.start(project_id, prompt, provider, model)
    except ForjaError as exc:
        return project_id, [GenerationEvent(type="error", project_id=project_id, message=exc.message)]
    return project_id, [event async for event in services.generations.follow(project_id)]


async def text_tree(services: Services, project_id: str) -> dict[str, str]:
    return {p: d.decode("utf-8") for p, d in (await services.projects.read_tree(project_id)).items()}


async def make_project(services: Services, files: dict[str, str]) -> str:
    return (await services.projects.create("Shop", files, Author.import_, "Imported", owner=LOCAL_USER_ID)).project_id


def last_user_message(request: RecordedRequest) -> str:
    message = request.body["messages"][-1]
    assert message["role"] == "user"
    return message["content"]


def of_type(events: list[GenerationEvent], type_: str) -> list[GenerationEvent]:
    return [e for e in events if e.type == type_]


def assert_saved(events: list[GenerationEvent], version: int) -> GenerationEvent:
    types = [e.type for e in events]
    assert "error" not in types, [e.message for e in of_type(events, "error")]
    assert types[-4:] == ["summary", "usage", "saved", "done"], types
    assert events[-1].version == version
    return events[-1]


def assert_failed(events: list[GenerationEvent]) -> str:
    assert events[-1].type == "error", [(e.type, e.message) for e in events]
    assert not of_type(events, "done")
    return events[-1].message


# -- 1. a new project from one tool answer --------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_new_project_from_a_tool_answer(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    usage = Usage(input_tokens=1200, output_tokens=345, cache_read_input_tokens=800, cache_creation_input_tokens=50)
    summary = "A one-page site for Sunrise Bakery with its opening hours."
    scripted_llm.queue(ToolAnswer(tool(SITE, summary=summary, stack=["html"]), chunks=7, usage=usage))

    project_id, events = await run(services, "A landing page for my bakery", provider)

    done = assert_saved(events, version=1)
    assert events[0].type == "status"
    assert done.title == "Sunrise Bakery" and done.summary == summary and done.files_done == len(SITE)
    assert await text_tree(services, project_id) == SITE
    project = await services.projects.get(project_id)
    assert project.name == "Sunrise Bakery"
    assert [(v.number, v.parent_number, v.author, v.message) for v in project.versions] == [(1, None, Author.ai, summary)]

    # Every file is announced, then reported once, complete, in the order the model wrote them.
    types_paths = [(e.type, e.path) for e in events if e.type in ("file_started", "file_done")]
    assert types_paths == [(t, p) for p in SITE for t in ("file_started", "file_done")]
    assert [(e.path, e.content, e.files_done) for e in of_type(events, "file_done")] == [
        (p, c, i) for i, (p, c) in enumerate(SITE.items(), 1)
    ]
    assert [e.summary for e in of_type(events, "summary")] == [summary]

    model = "claude-sonnet-5-5" if provider == "anthropic" else "gpt-4.1"
    if provider == "anthropic":  # Anthropic counts cached tokens apart from input_tokens
        tokens = {"input_tokens": 1200, "output_tokens": 345, "cache_read_tokens": 800, "cache_write_tokens": 50}
        cost = (1200 * 3.0 + 345 * 15.0 + 800 * 0.30 + 50 * 3.75) / 1e6
    else:  # OpenAI's prompt_tokens include the cached ones; it reports no cache writes
        tokens = {"input_tokens": 2050, "output_tokens": 345, "cache_read_tokens": 800, "cache_write_tokens": 0}
        cost = ((2050 - 800) * 2.0 + 345 * 8.0 + 800 * 0.50) / 1e6
    usage_event = of_type(events, "usage")[0].usage
    assert usage_event is not None
    assert usage_event == {"provider": provider, "model": model, **tokens, "cost_usd": pytest.approx(cost)}
    # The done event sums every round (here the one) and lists each.
    assert done.usage == {**usage_event, "rounds": [{**usage_event, "round": 0}]}

    [record] = await services.generations.records(project_id)
    assert (record.provider, record.model, record.outcome, record.version, record.error) == (provider, model, "saved", 1, "")
    assert record.prompt == "A landing page for my bakery"
    assert record.summary == summary
    assert {k: getattr(record, k) for k in tokens} == tokens
    assert record.cost_usd == pytest.approx(cost)
    assert record.duration_s > 0
    assert scripted_llm.pending == 0 and len(scripted_llm.requests) == 1


async def test_unknown_model_price_is_recorded_as_unknown(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer(tool(SITE)))
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    _, events = await run(services, "A page", "openai", project_id, "llama-3.3-70b")
    assert_saved(events, 1)
    assert events[-1].usage is not None and events[-1].usage["cost_usd"] is None
    [record] = await services.generations.records(project_id)
    assert record.model == "llama-3.3-70b" and record.cost_usd is None
    assert scripted_llm.requests[0].body["model"] == "llama-3.3-70b"


async def test_openai_stop_finish_reason_for_a_forced_tool_is_accepted(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    # OpenAI reports finish_reason "stop" (not "tool_calls") when tool_choice names the function.
    scripted_llm.queue(ToolAnswer(tool(SITE), openai_finish_reason="stop"))
    project_id, events = await run(services, "A landing page", "openai")
    assert_saved(events, 1)
    assert await text_tree(services, project_id) == SITE


# -- 2. streaming granularity -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [1, "every-byte"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_files_are_byte_exact_at_any_chunking(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, chunks: int | str
) -> None:
    scripted_llm.queue(ToolAnswer(tool(UNICODE_SITE, title="Café 🎉"), chunks=chunks))  # type: ignore[arg-type]
    project_id, events = await run(services, "A page in many languages", provider)
    assert_saved(events, 1)
    tree = await services.projects.read_tree(project_id)
    assert tree == {p: c.encode("utf-8") for p, c in UNICODE_SITE.items()}
    assert [(e.path, e.content) for e in of_type(events, "file_done")] == list(UNICODE_SITE.items())
    assert (await services.projects.get(project_id)).name == "Café 🎉"


async def test_tool_input_with_unicode_escapes(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    # The same tree written with \uXXXX escapes (surrogate pairs for emoji), as some models do.
    arguments = json.dumps(tool(UNICODE_SITE), ensure_ascii=True)
    scripted_llm.queue(ToolAnswer(arguments, chunks=1))
    project_id, events = await run(services, "A page", "anthropic")
    assert_saved(events, 1)
    assert await text_tree(services, project_id) == UNICODE_SITE


# -- 3. what the SDKs sent -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_request_shape_and_no_secret_leaves(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_key = "sk-ant-api03-envkeyABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    monkeypatch.setenv("FORJA_TEST_SECRET_TOKEN", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", env_key)
    guard.secret_values.cache_clear()
    prompt = f"A bakery page. My token is {SECRET}, the key {env_key} and {TEST_ANTHROPIC_KEY}; use {TEST_OPENAI_KEY}."
    scripted_llm.queue(ToolAnswer(tool(SITE)))

    project_id, events = await run(services, prompt, provider)
    assert_saved(events, 1)

    [request] = scripted_llm.requests
    body = request.body
    assert body["stream"] is True
    assert body["max_tokens"] == builder.settings.settings.max_output_tokens
    if provider == "anthropic":
        assert request.path == "/v1/messages"
        # The SDK sends the key as x-api-key or (newer versions) as a bearer token.
        assert TEST_ANTHROPIC_KEY in (
            request.headers.get("x-api-key"),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        )
        assert body["model"] == "claude-sonnet-5-5"
        [system] = body["system"]
        assert system["type"] == "text" and system["cache_control"] == {"type": "ephemeral"}
        assert TOOL_NAME in system["text"]
        [tool_spec] = body["tools"]
        assert tool_spec["name"] == TOOL_NAME and tool_spec["input_schema"] == TOOL_INPUT_SCHEMA
        assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
        messages = body["messages"]
    else:
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {TEST_OPENAI_KEY}"
        assert body["model"] == "gpt-4.1"
        system, *messages = body["messages"]
        assert system["role"] == "system" and TOOL_NAME in system["content"]
        [tool_spec] = body["tools"]
        assert tool_spec["type"] == "function"
        assert tool_spec["function"]["name"] == TOOL_NAME and tool_spec["function"]["parameters"] == TOOL_INPUT_SCHEMA
        assert body["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
        assert body["stream_options"] == {"include_usage": True}
    [message] = messages
    assert message["role"] == "user" and "A bakery page." in message["content"]
    assert "[redacted]" in message["content"]

    for secret in (SECRET, env_key, TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY):
        assert secret not in request.text
    [record] = await services.generations.records(project_id)
    assert record.prompt.startswith("A bakery page. My token is [redacted]")
    for secret in (SECRET, env_key, TEST_ANTHROPIC_KEY, TEST_OPENAI_KEY):
        assert secret not in record.prompt


async def test_follow_up_does_not_send_secrets_from_the_files(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORJA_TEST_SECRET_TOKEN", SECRET)
    guard.secret_values.cache_clear()
    project_id = await make_project(services, {**SITE, "config.js": f"export const token = '{SECRET}';\n"})
    scripted_llm.queue(ToolAnswer(tool({"styles.css": "h1 { color: red; }\n"})))
    _, events = await run(services, "Make the heading red", "anthropic", project_id)
    assert_saved(events, 2)
    [request] = scripted_llm.requests
    assert "config.js" in request.text and SECRET not in request.text


# -- 4. answers cut at max_tokens -------------------------------------------------------------------------------------

FOUR = {
    "index.html": "<h1>Four files</h1>\n",
    "styles.css": "h1 { color: teal; }\n",
    "src/app.js": "export function main() {\n" + "  console.log('a complete line of code');\n" * 20 + "}\n",
    "README.md": "# Four\n",
}


def cut_inside(files: dict[str, str], path: str, **extra: Any) -> str:
    """The tool input text cut half-way through `path`'s content."""
    text = json.dumps(tool(files, **extra), ensure_ascii=False)
    start = text.index(json.dumps(files[path])[1:-1])
    return text[: start + len(files[path]) // 2]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_cut_answer_is_continued_and_only_complete_files_are_kept(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str
) -> None:
    rest = {"src/app.js": FOUR["src/app.js"], "README.md": FOUR["README.md"]}
    scripted_llm.queue(
        ToolAnswer(cut_inside(FOUR, "src/app.js"), chunks=16, stop="max_tokens"),
        ToolAnswer(tool(rest, summary="Four files."), chunks=16),
    )
    project_id, events = await run(services, "Four files", provider)

    assert_saved(events, 1)
    assert await text_tree(services, project_id) == FOUR
    assert [(e.path, e.content) for e in of_type(events, "file_done")] == list(FOUR.items())
    assert any("continuing (part 2)" in e.message for e in of_type(events, "status"))
    assert [v.number for v in await services.projects.versions(project_id)] == [1]

    first, second = scripted_llm.requests
    continuation = last_user_message(second)
    assert "cut off" in continuation
    listed = [line[2:] for line in continuation.split("arrived complete:\n")[1].splitlines() if line.startswith("- ")]
    assert listed == ["index.html", "styles.css"]  # the complete files, not the cut one
    assert "The file src/app.js was cut off and was NOT saved" in continuation
    # The continuation carries the whole conversation: the first request's messages come first.
    assert second.body["messages"][: len(first.body["messages"])] == first.body["messages"]
    assert "index.html, styles.css" in second.body["messages"][-2]["content"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_answer_cut_on_every_segment_saves_nothing(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "max_segments", 2)
    scripted_llm.queue(
        ToolAnswer(cut_inside(FOUR, "src/app.js"), stop="max_tokens"),
        ToolAnswer(cut_inside({"src/app.js": FOUR["src/app.js"]}, "src/app.js"), stop="max_tokens"),
    )
    project_id, events = await run(services, "Four files", provider)

    message = assert_failed(events)
    assert "not finished after 2 parts" in message and "Nothing was saved" in message
    project = await services.projects.get(project_id)
    assert project.current_version is None and project.versions == []
    assert len(scripted_llm.requests) == 2
    [record] = await services.generations.records(project_id)
    assert (record.outcome, record.error, record.version) == ("failed", message, None)


async def test_follow_up_cut_on_every_segment_keeps_the_version(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "max_segments", 2)
    project_id = await make_project(services, SITE)
    scripted_llm.queue(
        ToolAnswer(cut_inside(FOUR, "src/app.js"), stop="max_tokens"),
        ToolAnswer(cut_inside(FOUR, "index.html"), stop="max_tokens"),
    )
    _, events = await run(services, "Add a script", "anthropic", project_id)
    assert_failed(events)
    assert [v.number for v in await services.projects.versions(project_id)] == [1]
    assert await text_tree(services, project_id) == SITE


# -- 5. overload, rate limits and dropped streams -------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_overloaded_then_answered(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    scripted_llm.queue(HTTPErrorAnswer(529, "overloaded_error", "Overloaded"), ToolAnswer(tool(SITE)))
    project_id, events = await run(services, "A page", provider)
    assert_saved(events, 1)
    assert await text_tree(services, project_id) == SITE
    retries = [e.message for e in of_type(events, "status") if "Retrying" in e.message]
    assert len(retries) == 1 and "busy" in retries[0]
    assert len(scripted_llm.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_stream_dropped_mid_file_then_answered(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    answer = ToolAnswer(tool(FOUR), chunks=8)
    cut = len(cut_inside(FOUR, "src/app.js"))
    scripted_llm.queue(StreamErrorAnswer(answer, after_chars=cut), answer)
    project_id, events = await run(services, "Four files", provider)

    assert_saved(events, 1)
    assert await text_tree(services, project_id) == FOUR
    assert [v.number for v in await services.projects.versions(project_id)] == [1]
    assert any("Retrying" in e.message for e in of_type(events, "status"))
    done = of_type(events, "file_done")
    # Every reported file is complete; the cut file was only reported once it arrived whole.
    assert all(e.path is not None and e.content == FOUR[e.path] for e in done)
    assert [e.path for e in done].count("src/app.js") == 1
    # The retried answer counts its files from where the failed attempt started, not on top of it.
    assert [e.files_done for e in done][-len(FOUR) :] == [1, 2, 3, 4]
    assert events[-1].files_done == len(FOUR)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_rate_limited_every_time(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "retry_attempts", 3)
    limited = HTTPErrorAnswer(429, "rate_limit_error", "Rate limited: slow down")
    scripted_llm.queue(limited, limited, limited, ToolAnswer(tool(SITE)))
    project_id, events = await run(services, "A page", provider)

    message = assert_failed(events)
    assert "Tried 3 times" in message and "nothing was saved" in message
    assert len([e for e in of_type(events, "status") if "Retrying" in e.message]) == 2
    assert len(scripted_llm.requests) == 3 and scripted_llm.pending == 1
    project = await services.projects.get(project_id)
    assert project.current_version is None
    [record] = await services.generations.records(project_id)
    assert (record.outcome, record.error) == ("failed", message)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_refused_key_is_not_retried(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    scripted_llm.queue(HTTPErrorAnswer(401, "authentication_error", "invalid x-api-key"), ToolAnswer(tool(SITE)))
    project_id, events = await run(services, "A page", provider)
    message = assert_failed(events)
    assert "refused the key" in message
    assert len(scripted_llm.requests) == 1
    assert (await services.projects.get(project_id)).current_version is None


# -- 6. prose instead of a tool call -------------------------------------------------------------------------------


PROSE = (
    'Sure! Here is your page.\n\n**index.html**\n```html\n<h1>Hello from prose</h1>\n<script src="src/app.js"></script>\n```\n\n'
    "And the script:\n\n```js src/app.js\nconsole.log('prose');\n```\n\nEnjoy!"
)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_prose_with_code_blocks_is_saved(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    scripted_llm.queue(TextAnswer(PROSE, chunks=5))
    project_id, events = await run(services, "A page", provider)
    assert_saved(events, 1)
    assert await text_tree(services, project_id) == {
        "index.html": '<h1>Hello from prose</h1>\n<script src="src/app.js"></script>\n',
        "src/app.js": "console.log('prose');\n",
    }
    assert [e.path for e in of_type(events, "file_done")] == ["index.html", "src/app.js"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_prose_without_code_saves_nothing(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    scripted_llm.queue(TextAnswer("I would love to help! What colours do you like for your bakery?"))
    project_id, events = await run(services, "A page", provider)
    message = assert_failed(events)
    assert "answered in words instead of writing files" in message and "What colours do you like" in message
    assert (await services.projects.get(project_id)).current_version is None
    [record] = await services.generations.records(project_id)
    assert record.outcome == "failed"


@pytest.mark.parametrize(
    "cut",
    [
        '{"files": [{"path": "a.txt", "content": "a"',
        # One file arrived complete, then the answer stopped without reaching the output limit.
        '{"title": "Half", "files": [{"path": "a.txt", "content": "a"}, {"path": "b.txt", "content": "b',
    ],
)
async def test_unfinished_answer_saves_nothing(services: Services, scripted_llm: ScriptedLLMServer, cut: str) -> None:
    scripted_llm.queue(ToolAnswer(cut))
    project_id, events = await run(services, "A page", "anthropic")
    assert "ended before it was complete" in assert_failed(events)
    assert (await services.projects.get(project_id)).current_version is None


async def test_answer_without_files_saves_nothing(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer({"title": "Nothing", "summary": "I changed nothing.", "files": []}))
    project_id, events = await run(services, "A page", "openai")
    assert "did not change any file" in assert_failed(events)
    assert (await services.projects.get(project_id)).current_version is None


# -- 7. unsafe paths ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unsafe_paths_are_skipped(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    files = {"../etc/passwd": "root:x:0:0", "/abs/x": "absolute", "index.html": "<h1>Safe</h1>\n", "a\\b.txt": "backslash"}
    scripted_llm.queue(ToolAnswer(tool(files, summary="Made a page.", delete=["../outside.txt"])))
    project_id, events = await run(services, "A page", provider)

    done = assert_saved(events, 1)
    assert await services.projects.read_tree(project_id) == {"index.html": b"<h1>Safe</h1>\n"}
    assert [e.path for e in of_type(events, "file_done")] == ["index.html"]
    assert done.summary is not None and done.summary.startswith("Made a page. Skipped 4 file(s) with unsafe paths")
    for bad in ("../etc/passwd", "/abs/x", "../outside.txt"):
        assert bad in done.summary
    assert (await services.projects.versions(project_id))[0].message == done.summary


async def test_only_unsafe_paths_saves_nothing(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    scripted_llm.queue(ToolAnswer(tool({"../../etc/passwd": "root"})))
    project_id, events = await run(services, "A page", "anthropic")
    message = assert_failed(events)
    assert "did not change any file" in message and "../../etc/passwd" in message
    assert (await services.projects.get(project_id)).current_version is None


# -- 8. secrets the model writes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_secrets_written_by_the_model_are_redacted(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORJA_TEST_SECRET_TOKEN", SECRET)
    guard.secret_values.cache_clear()
    files = {
        **SITE,
        "src/config.js": f"export const token = '{SECRET}';\nexport const key = 'ghp_abcdefghijklmnopqrstuvwxyz0123';\n",
    }
    scripted_llm.queue(ToolAnswer(tool(files, summary="Added the config.")))
    project_id, events = await run(services, "A page", provider)

    done = assert_saved(events, 1)
    tree = await text_tree(services, project_id)
    assert tree["src/config.js"] == "export const token = '[redacted]';\nexport const key = '[redacted]';\n"
    assert {p: c for p, c in tree.items() if p != "src/config.js"} == SITE
    assert done.summary == "Added the config. Removed secrets the model wrote into src/config.js."
    assert all(SECRET not in (e.content or "") for e in events)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_key_in_the_models_title_or_summary_is_redacted(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORJA_TEST_SECRET_TOKEN", SECRET)
    guard.secret_values.cache_clear()
    scripted_llm.queue(
        ToolAnswer(tool(SITE, title=f"Bakery {SECRET}", summary="Uses sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789."))
    )
    project_id, events = await run(services, "A page", provider)

    done = assert_saved(events, 1)
    project = await services.projects.get(project_id)
    assert project.name == "Bakery [redacted]"
    assert done.summary == "Uses [redacted]."
    assert all(SECRET not in (e.content or "") and "sk-ant-api03" not in (e.content or "") for e in events)


# -- 9. follow-ups -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_follow_up_with_edits_and_delete(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    project_id = await make_project(services, {**SITE, "old.css": "p { margin: 0; }\n"})
    edits = [
        {"path": "index.html", "search": "<h1>Hello</h1>", "replace": "<h1>Bonjour</h1>"},
        {"path": "styles.css", "search": "color: #222;", "replace": "color: #111;"},
        {"path": "index.html", "search": "<h1>Bonjour</h1>", "replace": "<h1>Bonjour 🥐</h1>"},  # sees the edit before it
    ]
    answer = tool(
        {"about.html": "<h1>About</h1>\n"}, title="Renamed?", summary="French heading.", edits=edits, delete=["old.css"]
    )
    scripted_llm.queue(ToolAnswer(answer, chunks=9))
    _, events = await run(services, "Say hello in French and drop old.css", provider, project_id)

    assert_saved(events, 2)
    assert await text_tree(services, project_id) == {
        "index.html": SITE["index.html"].replace("<h1>Hello</h1>", "<h1>Bonjour 🥐</h1>"),
        "styles.css": SITE["styles.css"].replace("color: #222;", "color: #111;"),
        "script.js": SITE["script.js"],
        "about.html": "<h1>About</h1>\n",
    }
    project = await services.projects.get(project_id)
    assert project.name == "Shop"  # a follow-up keeps the name
    latest = project.versions[-1]
    assert (latest.number, latest.parent_number, latest.author, latest.message) == (2, 1, Author.ai, "French heading.")
    assert latest.files_changed == 4

    [request] = scripted_llm.requests
    context = last_user_message(request)
    assert "What happened so far:\n- import: Imported" in context
    for path, content in {**SITE, "old.css": "p { margin: 0; }\n"}.items():
        assert f"- {path} ({len(content.encode())} bytes)" in context
        assert f'<file path="{path}">\n{content}\n</file>' in context
    assert context.rstrip().endswith(
        f"Say hello in French and drop old.css\n\nChange the project accordingly with `{TOOL_NAME}`."
    )


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_follow_up_reaches_the_model_on_the_connection_the_first_generation_opened(
    services: Services, scripted_llm: ScriptedLLMServer, provider: str
) -> None:
    scripted_llm.queue(ToolAnswer(tool(SITE)))
    project_id, events = await run(services, "A landing page for my bakery", provider)
    assert_saved(events, 1)
    scripted_llm.queue(ToolAnswer(tool({}, edits=[{"path": "styles.css", "search": "#d97706", "replace": "#16a34a"}])))
    _, events = await run(services, "Make the heading green", provider, project_id)
    assert_saved(events, 2)
    first, follow_up = scripted_llm.requests
    assert follow_up.client_port == first.client_port  # no new TCP connection, no new TLS handshake on a real API


async def test_follow_up_on_a_large_project_sends_only_relevant_files(
    services: Services, scripted_llm: ScriptedLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "followup_context_bytes", 400)
    big = "x" * 2000 + "\n"
    project_id = await make_project(services, {**SITE, "data/big.txt": big, "src/unrelated.js": "// " + "y" * 500 + "\n"})
    scripted_llm.queue(ToolAnswer(tool({}, edits=[{"path": "styles.css", "search": "#d97706", "replace": "#16a34a"}])))
    _, events = await run(services, "Make the heading green in styles.css", "openai", project_id)
    assert_saved(events, 2)
    context = last_user_message(scripted_llm.requests[0])
    assert "- data/big.txt (2001 bytes)" in context and "- src/unrelated.js" in context  # the whole list...
    assert '<file path="styles.css">' in context and '<file path="index.html">' in context  # ...named and entry files...
    assert big not in context and '<file path="src/unrelated.js">' not in context  # ...but not every content
    assert "#16a34a" in (await text_tree(services, project_id))["styles.css"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_edit_that_misses_is_asked_again(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    project_id = await make_project(services, SITE)
    first = tool(
        {},
        summary="Changed the heading and colour.",
        edits=[
            {"path": "styles.css", "search": "#d97706", "replace": "#dc2626"},
            {"path": "index.html", "search": "<h1>Helo</h1>", "replace": "<h1>Welcome</h1>"},
        ],
    )
    fixed = tool({}, edits=[{"path": "index.html", "search": "<h1>Hello</h1>", "replace": "<h1>Welcome</h1>"}])
    scripted_llm.queue(ToolAnswer(first), ToolAnswer(fixed))
    _, events = await run(services, "Welcome people in red", provider, project_id)

    done = assert_saved(events, 2)
    assert done.summary == "Changed the heading and colour."
    assert any("did not match" in e.message for e in of_type(events, "status"))
    tree = await text_tree(services, project_id)
    assert tree["index.html"] == SITE["index.html"].replace("<h1>Hello</h1>", "<h1>Welcome</h1>")
    assert tree["styles.css"] == SITE["styles.css"].replace("#d97706", "#dc2626")
    assert [v.number for v in await services.projects.versions(project_id)] == [1, 2]

    _, second = scripted_llm.requests
    retry = last_user_message(second)
    assert "could not be applied" in retry and "index.html: search text starting '<h1>Helo</h1>'" in retry
    assert f'<file path="index.html">\n{SITE["index.html"]}\n</file>' in retry
    assert '<file path="styles.css">' not in retry  # only the files whose edits failed


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_edit_that_misses_twice_saves_nothing(services: Services, scripted_llm: ScriptedLLMServer, provider: str) -> None:
    project_id = await make_project(services, SITE)
    wrong = tool(
        {"new.txt": "new\n"},
        edits=[
            {"path": "styles.css", "search": "#d97706", "replace": "#dc2626"},
            {"path": "index.html", "search": "<h2>Hello</h2>", "replace": "<h2>Welcome</h2>"},
        ],
    )
    still_wrong = tool({}, edits=[{"path": "index.html", "search": "<h1>Hello", "replace": "x"}, *wrong["edits"][1:]])
    scripted_llm.queue(ToolAnswer(wrong), ToolAnswer(still_wrong))
    _, events = await run(services, "Welcome people", provider, project_id)

    message = assert_failed(events)
    assert "could not be applied to index.html" in message and "Nothing was saved" in message
    assert len(scripted_llm.requests) == 2
    assert [v.number for v in await services.projects.versions(project_id)] == [1]
    assert await text_tree(services, project_id) == SITE
    records = await services.generations.records(project_id)
    assert [r.outcome for r in records] == ["failed"]


async def test_edit_of_a_search_text_found_twice_is_asked_again(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    project_id = await make_project(services, {"a.txt": "same\nsame\n"})
    scripted_llm.queue(
        ToolAnswer(tool({}, edits=[{"path": "a.txt", "search": "same", "replace": "other"}])),
        ToolAnswer(tool({}, edits=[{"path": "a.txt", "search": "same\nsame", "replace": "same\nother"}])),
    )
    _, events = await run(services, "Change the second line", "anthropic", project_id)
    assert_saved(events, 2)
    assert await text_tree(services, project_id) == {"a.txt": "same\nother\n"}


# -- 10. offline starters --------------------------------------------------------------------------------------------

_connects: list[Any] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _connects is not None:
        _connects.append(args[1])


sys.addaudithook(_audit)  # permanent but inert unless a `no_network()` block is active


@contextmanager
def no_network() -> Iterator[None]:
    """Fails if anything in the process (any thread) opens a network connection inside the block."""
    global _connects
    _connects = []
    try:
        yield
        assert _connects == [], f"connected to {_connects}"
    finally:
        _connects = None


async def test_offline_new_project(services: Services, offline_only: None) -> None:
    prompt = "A todo list with dark mode"
    starter = choose_starter(prompt, load_starters())
    expected = render_starter(starter, personalise(prompt))
    with no_network():
        project_id, events = await run(services, prompt, None)
    done = assert_saved(events, 1)
    assert done.title == "Todo List"
    assert await text_tree(services, project_id) == expected
    if starter.name == "react-vite-tailwind":
        assert {"package.json", "src/App.jsx"} <= set(expected)
    project = await services.projects.get(project_id)
    assert project.name == "Todo List"
    assert [(v.number, v.author) for v in project.versions] == [(1, Author.ai)]
    assert [e.path for e in of_type(events, "file_done")] == list(expected)
    [record] = await services.generations.records(project_id)
    assert (record.provider, record.model, record.outcome, record.cost_usd) == ("offline", "", "saved", 0.0)
    assert (record.input_tokens, record.output_tokens) == (0, 0)


async def test_offline_expense_tracker_claims_no_chart(services: Services, offline_only: None) -> None:
    with no_network():
        project_id, events = await run(services, "a simple expense tracker with categories and a chart", None)
    done = assert_saved(events, 1)
    assert "Not built offline" in (done.summary or "") and "\u201ca chart\u201d" in (done.summary or "")
    files = await text_tree(services, project_id)
    # The README quotes the prompt as asked ("> a simple expense tracker ..."); that quote is the only mention.
    claims = [
        (p, line) for p, text in files.items() for line in text.splitlines() if "chart" in line and not line.startswith("> ")
    ]
    assert claims == []


async def test_offline_follow_up_renames_and_recolours(services: Services, offline_only: None) -> None:
    project_id, events = await run(services, "A landing page for my bakery", None)
    assert_saved(events, 1)
    with no_network():
        _, events = await run(services, "call it Luna Bakery and make it green", None, project_id)
    done = assert_saved(events, 2)
    assert "renamed it \u201cLuna Bakery\u201d" in (done.summary or "") and "green" in (done.summary or "")
    files = await text_tree(services, project_id)
    assert "<title>Luna Bakery</title>" in files["index.html"] and "--accent: #16a34a" in files["styles.css"]
    assert (await services.projects.get(project_id)).name == "Luna Bakery"


async def test_offline_follow_up_it_cannot_make_says_how_to_connect_a_model(services: Services, offline_only: None) -> None:
    project_id = await make_project(services, SITE)
    with no_network():
        _, events = await run(services, "Add a shopping cart", None, project_id)
    message = assert_failed(events)
    assert "Offline starter mode can only" in message and "connect one on its admin page" in message
    assert "ANTHROPIC_API_KEY" not in message and "OPENAI_BASE_URL" not in message and "restart" not in message
    assert [v.number for v in await services.projects.versions(project_id)] == [1]
    assert await text_tree(services, project_id) == SITE


# -- the engine's contracts with its callers -----------------------------------------------------------------------


async def test_blank_prompt_ends_with_an_error_event(services: Services, offline_only: None) -> None:
    project_id, events = await run(services, "   \n ", None)
    assert "Describe what you want first" in assert_failed(events)
    assert (await services.projects.get(project_id)).current_version is None


async def test_hub_runs_one_generation_per_project_and_replays_its_events(
    services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    scripted_llm.queue(ToolAnswer(tool(SITE), chunks=3))
    hub = services.generations
    await hub.start(project_id, "A page", "anthropic")
    assert await hub.running(project_id)
    with pytest.raises(Exception, match="already being generated"):
        await hub.start(project_id, "Another page", "anthropic")
    followed = await asyncio.wait_for(_collect(services, project_id), timeout=10)
    final = await hub.wait(project_id)
    assert final is not None and final.type == "done" and followed[-1] == final
    assert [e.type for e in followed][-4:] == ["summary", "usage", "saved", "done"]
    # Someone who opens the page afterwards sees the whole run from its first event.
    assert await asyncio.wait_for(_collect(services, project_id), timeout=10) == followed
    # `done` is sent once the generation's record is final.
    [record] = await services.generations.records(project_id)
    assert (record.outcome, record.version) == ("saved", 1)
    assert await text_tree(services, project_id) == SITE


async def test_hub_follower_gets_an_error_for_a_blank_prompt(services: Services, offline_only: None) -> None:
    project_id = await services.projects.create_empty("New app", owner=LOCAL_USER_ID)
    await services.generations.start(project_id, "  ")
    followed = await asyncio.wait_for(_collect(services, project_id), timeout=5)
    assert [e.type for e in followed] == ["error"]


async def _collect(services: Services, project_id: str) -> list[GenerationEvent]:
    return [e async for e in services.generations.follow(project_id)]
