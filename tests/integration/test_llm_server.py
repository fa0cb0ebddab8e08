"""The scripted LLM server is faithful: the real anthropic and openai SDKs, pointed at it, see what the hosted APIs send.

Every test drives an official SDK over a real 127.0.0.1 socket (no mocks, no monkeypatching). The clients run with
`_strict_response_validation=True`, so every event the server sends must also validate against the SDKs' own models.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import anthropic
import openai
import pytest
from openai.types.responses import ResponseInputItemParam

from tests.llm_server import (
    TOOL_NAME,
    HTTPErrorAnswer,
    LocalWire,
    ScriptedLLMServer,
    StreamErrorAnswer,
    TextAnswer,
    ToolAnswer,
    Usage,
    split_text,
    utf8_fragments,
)

SECRET = "sk-forja-do-not-leak-0123456789"
SYSTEM_PROMPT = "You are Forja. Answer only by calling emit_file_tree."

FILE_TREE: dict[str, Any] = {
    "files": [
        {"path": "app.py", "content": 'print("Olá, café crème à la française — naïve résumé")\n'},
        {"path": "README.md", "content": "# 你好，世界\n日本語のテキスト と 한국어 텍스트\n"},  # noqa: RUF001 (deliberate CJK punctuation)
        {"path": "static/emoji.txt", "content": "🚀✨ 👩‍💻 🇵🇹 ok 😀\n"},
        {"path": "data.json", "content": '{"quote": "she said \\"hi\\"", "tab": "\\t"}\n'},
    ]
}

# A tool input written with \uXXXX escapes (é, then 😀 as a surrogate pair) instead of raw UTF-8.
ESCAPED_ARGUMENTS = r'{"files": [{"path": "caf\u00e9.txt", "content": "smile \ud83d\ude00 and \"quotes\" \\ done"}]}'

ANTHROPIC_TOOL: dict[str, Any] = {
    "name": TOOL_NAME,
    "description": "Emit the complete file tree of the app.",
    "input_schema": {"type": "object", "properties": {"files": {"type": "array"}}, "required": ["files"]},
}
OPENAI_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": TOOL_NAME,
        "description": "Emit the complete file tree of the app.",
        "parameters": {"type": "object", "properties": {"files": {"type": "array"}}, "required": ["files"]},
    },
}

Provider = Literal["anthropic", "openai"]
PROVIDERS: list[Provider] = ["anthropic", "openai"]


@pytest.fixture
def server() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as running:
        yield running


# -- driving the real SDKs ------------------------------------------------------------------------


@dataclass
class Run:
    """What one streamed request looked like from the caller's side."""

    tool_deltas: list[str] = field(default_factory=list)
    text_deltas: list[str] = field(default_factory=list)
    delta_times: list[float] = field(default_factory=list)
    tool_names: list[str] = field(default_factory=list)
    stop: str | None = None
    usage: Any = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def tool_json(self) -> str:
        return "".join(self.tool_deltas)

    @property
    def text(self) -> str:
        return "".join(self.text_deltas)


@asynccontextmanager
async def anthropic_client(server: ScriptedLLMServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        api_key="test-key", base_url=server.anthropic_base_url, max_retries=0, _strict_response_validation=True
    ) as client:
        yield client


@asynccontextmanager
async def openai_client(server: ScriptedLLMServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key="test-key", base_url=server.openai_base_url, max_retries=0, _strict_response_validation=True
    ) as client:
        yield client


def anthropic_params() -> dict[str, Any]:
    """The request shape Forja's engine sends: cached system prompt, one forced tool, streaming."""
    return {
        "model": "claude-sonnet-5-5",
        "max_tokens": 32000,
        "system": [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": "Build a todo app"}],
        "tools": [ANTHROPIC_TOOL],
        "tool_choice": {"type": "tool", "name": TOOL_NAME},
    }


def openai_params(*, include_usage: bool = True) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": "gpt-4.1",
        "max_tokens": 32000,
        "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "Build a todo app"}],
        "tools": [OPENAI_TOOL],
        "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}},
        "stream": True,
    }
    if include_usage:
        params["stream_options"] = {"include_usage": True}
    return params


async def run_anthropic_helper(server: ScriptedLLMServer, run: Run | None = None) -> tuple[Run, anthropic.types.Message]:
    """`client.messages.stream(...)`, the SDK helper that also parses the tool input incrementally (jiter)."""
    run = run if run is not None else Run()
    async with anthropic_client(server) as client:
        run.started = time.monotonic()
        async with client.messages.stream(**anthropic_params()) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    run.delta_times.append(time.monotonic())
                    if event.delta.type == "input_json_delta":
                        run.tool_deltas.append(event.delta.partial_json)
                    elif event.delta.type == "text_delta":
                        run.text_deltas.append(event.delta.text)
            message = await stream.get_final_message()
        run.ended = time.monotonic()
    run.tool_names = [block.name for block in message.content if block.type == "tool_use"]
    run.stop = message.stop_reason
    run.usage = message.usage
    return run, message


async def run_anthropic_raw(server: ScriptedLLMServer, run: Run | None = None) -> Run:
    """`client.messages.create(stream=True)`: the raw event stream, no accumulation by the SDK."""
    run = run if run is not None else Run()
    async with anthropic_client(server) as client:
        run.started = time.monotonic()
        stream = await client.messages.create(**anthropic_params(), stream=True)
        async for event in stream:
            if event.type == "content_block_start" and event.content_block.type == "tool_use":
                run.tool_names.append(event.content_block.name)
            elif event.type == "content_block_delta":
                run.delta_times.append(time.monotonic())
                if event.delta.type == "input_json_delta":
                    run.tool_deltas.append(event.delta.partial_json)
                elif event.delta.type == "text_delta":
                    run.text_deltas.append(event.delta.text)
            elif event.type == "message_delta":
                run.stop = event.delta.stop_reason
        run.ended = time.monotonic()
    return run


async def run_openai(server: ScriptedLLMServer, run: Run | None = None, *, include_usage: bool = True) -> Run:
    run = run if run is not None else Run()
    async with openai_client(server) as client:
        run.started = time.monotonic()
        stream = await client.chat.completions.create(**openai_params(include_usage=include_usage))
        async for chunk in stream:
            if chunk.usage is not None:
                run.usage = chunk.usage
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta.content:
                run.delta_times.append(time.monotonic())
                run.text_deltas.append(choice.delta.content)
            for call in choice.delta.tool_calls or []:
                assert call.index == 0
                if call.function is not None and call.function.name:
                    run.tool_names.append(call.function.name)
                if call.function is not None and call.function.arguments:
                    run.delta_times.append(time.monotonic())
                    run.tool_deltas.append(call.function.arguments)
            if choice.finish_reason is not None:
                run.stop = choice.finish_reason
        run.ended = time.monotonic()
    return run


async def run_provider(server: ScriptedLLMServer, provider: Provider, run: Run | None = None) -> Run:
    if provider == "anthropic":
        result, _ = await run_anthropic_helper(server, run)
        return result
    return await run_openai(server, run)


# -- tool input reassembly ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("chunks", [1, 7, 64, "every-byte"])
async def test_tool_input_reassembles_exactly(server: ScriptedLLMServer, provider: Provider, chunks: Any) -> None:
    answer = ToolAnswer(FILE_TREE, chunks=chunks)
    server.queue(answer)

    run = await run_provider(server, provider)

    assert run.tool_json == answer.text == json.dumps(FILE_TREE, ensure_ascii=False)
    assert json.loads(run.tool_json) == FILE_TREE
    assert run.tool_names == [TOOL_NAME]
    assert run.stop == ("tool_use" if provider == "anthropic" else "tool_calls")
    size = 1 if chunks == "every-byte" else chunks
    assert len(run.tool_deltas) == math.ceil(len(answer.text) / size)
    assert all(len(delta) <= size for delta in run.tool_deltas)
    assert server.pending == 0


async def test_anthropic_helper_parses_the_tool_input(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE, chunks=7))
    _, message = await run_anthropic_helper(server)
    [block] = message.content
    assert block.type == "tool_use"
    assert block.name == TOOL_NAME
    assert block.id.startswith("toolu_")
    assert block.input == FILE_TREE


async def test_raw_anthropic_stream_reassembles_too(server: ScriptedLLMServer) -> None:
    answer = ToolAnswer(FILE_TREE, chunks="every-byte")
    server.queue(answer)
    run = await run_anthropic_raw(server)
    assert run.tool_json == answer.text
    assert run.stop == "tool_use"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_escaped_arguments_split_inside_escapes_and_surrogate_pairs(server: ScriptedLLMServer, provider: Provider) -> None:
    """One character per delta: the client's incremental parser sees a boundary inside every \\uXXXX escape."""
    server.queue(ToolAnswer(ESCAPED_ARGUMENTS, chunks="every-byte"))
    run = await run_provider(server, provider)
    assert run.tool_json == ESCAPED_ARGUMENTS
    assert "\\" in run.tool_deltas and "d" in run.tool_deltas  # "\ud83d" really arrived one character at a time
    files = json.loads(run.tool_json)["files"]
    assert files[0]["path"] == "café.txt"
    assert files[0]["content"] == 'smile 😀 and "quotes" \\ done'


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_explicit_chunk_sizes(server: ScriptedLLMServer, provider: Provider) -> None:
    text = json.dumps(FILE_TREE, ensure_ascii=False)
    server.queue(ToolAnswer(FILE_TREE, chunks=[1, 2, 3, 50]))
    run = await run_provider(server, provider)
    assert [len(d) for d in run.tool_deltas] == [1, 2, 3, 50, len(text) - 56]
    assert run.tool_json == text


async def test_every_byte_splits_utf8_sequences_between_socket_writes(server: ScriptedLLMServer) -> None:
    """Read the raw HTTP response: some chunks end inside a multi-byte UTF-8 sequence, and the body is still valid."""
    server.queue(ToolAnswer({"c": "é你😀"}, chunks="every-byte"))
    body = json.dumps({**anthropic_params(), "stream": True}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()

    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-type: text/event-stream" in head.lower()
    chunks: list[bytes] = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]

    def decodes(piece: bytes) -> bool:
        try:
            piece.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    broken = [c for c in chunks if not decodes(c)]
    assert len(broken) >= 6  # é: 1 cut, 你: 2 cuts, 😀: 3 cuts, each cut leaves a chunk that does not decode alone
    text = b"".join(chunks).decode("utf-8")
    assert '"partial_json":"😀"' in text  # raw UTF-8 on the wire, not \u escapes
    assert text.startswith("event: message_start\ndata: ")
    assert text.endswith('event: message_stop\ndata: {"type":"message_stop"}\n\n')


def test_split_helpers() -> None:
    assert split_text("abcdefg", 3) == ["abc", "def", "g"]
    assert split_text("abcdefg", [2, 2]) == ["ab", "cd", "efg"]
    assert split_text("a😀", "every-byte") == ["a", "😀"]
    assert split_text("", 5) == []
    assert utf8_fragments("a😀b".encode()) == [b"a\xf0", b"\x9f", b"\x98", b"\x80b"]
    assert utf8_fragments(b"ascii") == [b"ascii"]


# -- stop reasons, usage, text ----------------------------------------------------------------------

TRUNCATED = '{"files": [{"path": "app.py", "content": "import re\\nprint(\\"olá'


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_max_tokens_stop(server: ScriptedLLMServer, provider: Provider) -> None:
    server.queue(ToolAnswer(TRUNCATED, chunks=5, stop="max_tokens"))
    run = await (run_anthropic_raw(server) if provider == "anthropic" else run_openai(server))
    assert run.tool_json == TRUNCATED
    assert run.stop == ("max_tokens" if provider == "anthropic" else "length")
    with pytest.raises(json.JSONDecodeError):
        json.loads(run.tool_json)


async def test_anthropic_helper_survives_truncated_input(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(TRUNCATED, chunks=5, stop="max_tokens"))
    run, message = await run_anthropic_helper(server)
    assert run.stop == "max_tokens"
    block = message.content[0]
    assert block.type == "tool_use"
    files = block.input["files"]
    assert isinstance(files, list) and files[0]["path"] == "app.py"  # jiter's partial parse of the cut JSON


async def test_anthropic_usage_including_cache(server: ScriptedLLMServer) -> None:
    usage = Usage(input_tokens=1200, output_tokens=345, cache_read_input_tokens=9000, cache_creation_input_tokens=250)
    server.queue(ToolAnswer(FILE_TREE, usage=usage), ToolAnswer(FILE_TREE, usage=usage))

    run, _ = await run_anthropic_helper(server)
    assert run.usage.input_tokens == 1200
    assert run.usage.output_tokens == 345
    assert run.usage.cache_read_input_tokens == 9000
    assert run.usage.cache_creation_input_tokens == 250

    # Raw events: input and cache counts arrive in message_start, output_tokens in message_delta.
    async with anthropic_client(server) as client:
        stream = await client.messages.create(**anthropic_params(), stream=True)
        events = [event async for event in stream]
    assert [e.type for e in events[:2]] == ["message_start", "content_block_start"]  # the SDK drops `ping`
    assert [e.type for e in events[-3:]] == ["content_block_stop", "message_delta", "message_stop"]
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and delta.type == "message_delta"
    assert start.message.usage.input_tokens == 1200
    assert start.message.usage.cache_read_input_tokens == 9000
    assert start.message.usage.cache_creation_input_tokens == 250
    assert delta.usage.output_tokens == 345


async def test_openai_usage_only_when_asked(server: ScriptedLLMServer) -> None:
    usage = Usage(input_tokens=1200, output_tokens=345, cache_read_input_tokens=9000, cache_creation_input_tokens=250)
    server.queue(ToolAnswer(FILE_TREE, usage=usage), ToolAnswer(FILE_TREE, usage=usage))

    run = await run_openai(server)
    assert run.usage is not None
    assert run.usage.prompt_tokens == 1200 + 9000 + 250  # OpenAI counts cached tokens inside prompt_tokens
    assert run.usage.completion_tokens == 345
    assert run.usage.total_tokens == 1200 + 9000 + 250 + 345
    assert run.usage.prompt_tokens_details is not None
    assert run.usage.prompt_tokens_details.cached_tokens == 9000

    without = await run_openai(server, include_usage=False)
    assert without.usage is None
    assert without.tool_json == json.dumps(FILE_TREE, ensure_ascii=False)
    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert "stream_options" not in server.requests[1].body


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_text_answer_has_no_tool_call(server: ScriptedLLMServer, provider: Provider) -> None:
    prose = "I'd rather describe the app: 一个待办事项应用 with émojis 🚀."
    server.queue(TextAnswer(prose, chunks=4))
    run = await run_provider(server, provider)
    assert run.text == prose
    assert run.tool_deltas == [] and run.tool_names == []
    assert run.stop == ("end_turn" if provider == "anthropic" else "stop")


async def test_anthropic_text_stream_helper(server: ScriptedLLMServer) -> None:
    server.queue(TextAnswer("Sorry, no tool today."))
    async with anthropic_client(server) as client, client.messages.stream(**anthropic_params()) as stream:
        text = "".join([piece async for piece in stream.text_stream])
        message = await stream.get_final_message()
    assert text == "Sorry, no tool today."
    assert [block.type for block in message.content] == ["text"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_text_before_tool_call(server: ScriptedLLMServer, provider: Provider) -> None:
    server.queue(ToolAnswer(FILE_TREE, chunks=9, text_before="Here is your app:"))
    run = await run_provider(server, provider)
    assert run.text == "Here is your app:"
    assert json.loads(run.tool_json) == FILE_TREE
    assert run.tool_names == [TOOL_NAME]


async def test_anthropic_text_before_is_its_own_block(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE, text_before="Thinking out loud."))
    _, message = await run_anthropic_helper(server)
    assert [block.type for block in message.content] == ["text", "tool_use"]


async def test_openai_forced_tool_finish_reason_stop(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE, openai_finish_reason="stop"))
    run = await run_openai(server)
    assert run.stop == "stop"
    assert json.loads(run.tool_json) == FILE_TREE


# -- errors ---------------------------------------------------------------------------------------


async def test_anthropic_529_is_overloaded_error(server: ScriptedLLMServer) -> None:
    server.queue(HTTPErrorAnswer(529, "overloaded_error", "Overloaded", retry_after=2))
    with pytest.raises(anthropic.OverloadedError) as caught:
        await run_anthropic_helper(server)
    error = caught.value
    assert type(error) is anthropic.OverloadedError
    assert isinstance(error, anthropic.InternalServerError)
    assert error.status_code == 529
    assert error.type == "overloaded_error"
    assert error.api_message == "Overloaded"
    assert error.response.headers["retry-after"] == "2"
    assert error.request_id is not None and error.request_id.startswith("req_")


async def test_anthropic_500_is_internal_server_error(server: ScriptedLLMServer) -> None:
    server.queue(HTTPErrorAnswer(500, "api_error", "Internal server error"))
    with pytest.raises(anthropic.InternalServerError) as caught:
        await run_anthropic_raw(server)
    assert type(caught.value) is anthropic.InternalServerError
    assert caught.value.status_code == 500


async def test_openai_529_is_internal_server_error(server: ScriptedLLMServer) -> None:
    server.queue(HTTPErrorAnswer(529, "overloaded_error", "Overloaded"))
    with pytest.raises(openai.InternalServerError) as caught:
        await run_openai(server)
    assert type(caught.value) is openai.InternalServerError
    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_is_rate_limit_error(server: ScriptedLLMServer, provider: Provider) -> None:
    server.queue(HTTPErrorAnswer(429, "rate_limit_error", "Slow down", retry_after=1.5, code="rate_limit_exceeded"))
    expected = anthropic.RateLimitError if provider == "anthropic" else openai.RateLimitError
    with pytest.raises(expected) as caught:
        await run_provider(server, provider)
    error = caught.value
    assert type(error) is expected
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "1.5"
    if isinstance(error, openai.RateLimitError):
        assert error.code == "rate_limit_exceeded"
        assert error.body == {"message": "Slow down", "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}
    else:
        assert error.type == "rate_limit_error"


@pytest.mark.parametrize("helper", [True, False])
async def test_anthropic_mid_stream_error(server: ScriptedLLMServer, helper: bool) -> None:
    answer = ToolAnswer(FILE_TREE, chunks=10)
    server.queue(StreamErrorAnswer(answer, after_chars=95))
    run = Run()
    with pytest.raises(anthropic.APIStatusError) as caught:
        if helper:
            await run_anthropic_helper(server, run)
        else:
            await run_anthropic_raw(server, run)
    error = caught.value
    # The HTTP status was already 200 when the error event arrived, so the SDK raises the base class.
    assert type(error) is anthropic.APIStatusError
    assert error.status_code == 200
    assert error.type == "overloaded_error"
    assert error.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert run.tool_json == answer.text[:95]
    assert len(run.tool_deltas) == 10


async def test_openai_mid_stream_error(server: ScriptedLLMServer) -> None:
    answer = ToolAnswer(FILE_TREE, chunks=10)
    server.queue(StreamErrorAnswer(answer, after_chars=95, error_type="server_error", message="The server had an error"))
    run = Run()
    with pytest.raises(openai.APIError) as caught:
        await run_openai(server, run)
    error = caught.value
    assert type(error) is openai.APIError  # not an APIStatusError: there is no status to report
    assert error.message == "The server had an error"
    assert error.type == "server_error"
    assert run.tool_json == answer.text[:95]
    assert run.tool_names == [TOOL_NAME]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_mid_stream_error_then_a_retry_succeeds(server: ScriptedLLMServer, provider: Provider) -> None:
    server.queue(StreamErrorAnswer(ToolAnswer(FILE_TREE), after_chars=30), ToolAnswer(FILE_TREE))
    with pytest.raises((anthropic.APIStatusError, openai.APIError)):
        await run_provider(server, provider)
    run = await run_provider(server, provider)
    assert json.loads(run.tool_json) == FILE_TREE


async def test_empty_queue_is_a_500_saying_so(server: ScriptedLLMServer) -> None:
    with pytest.raises(anthropic.InternalServerError) as anthropic_error:
        await run_anthropic_raw(server)
    assert "no scripted answer queued" in str(anthropic_error.value)
    with pytest.raises(openai.InternalServerError) as openai_error:
        await run_openai(server)
    assert "no scripted answer queued" in str(openai_error.value)
    assert len(server.requests) == 2


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_unknown_path_is_404(server: ScriptedLLMServer, provider: Provider) -> None:
    if provider == "anthropic":
        async with anthropic_client(server) as client:
            with pytest.raises(anthropic.NotFoundError):
                await client.models.list()
    else:
        async with openai_client(server) as client:
            with pytest.raises(openai.NotFoundError):
                await client.models.list()
    assert server.requests[0].method == "GET"
    assert server.requests[0].path == "/v1/models"


async def test_non_streaming_request_is_refused_without_consuming(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE))
    async with anthropic_client(server) as client:
        with pytest.raises(anthropic.BadRequestError, match="only serves streaming"):
            await client.messages.create(**{**anthropic_params(), "max_tokens": 1000})
    assert server.pending == 1


# -- what the clients sent ------------------------------------------------------------------------


async def test_requests_are_recorded_per_protocol_in_one_shared_queue(server: ScriptedLLMServer) -> None:
    first = ToolAnswer({"files": [{"path": "a.txt", "content": "first"}]})
    second = ToolAnswer({"files": [{"path": "b.txt", "content": "second"}]})
    server.queue(first, second)

    anthropic_run, _ = await run_anthropic_helper(server)
    openai_run = await run_openai(server)
    assert anthropic_run.tool_json == first.text
    assert openai_run.tool_json == second.text

    sent_to_anthropic, sent_to_openai = server.requests
    assert sent_to_anthropic.method == "POST" and sent_to_anthropic.path == "/v1/messages"
    # anthropic 2.x sends api_key as a bearer token, not as the x-api-key header of 0.x.
    assert sent_to_anthropic.headers["authorization"] == "Bearer test-key"
    assert "x-api-key" not in sent_to_anthropic.headers
    assert "anthropic-version" in sent_to_anthropic.headers
    body = sent_to_anthropic.body
    assert body["stream"] is True
    assert body["max_tokens"] == 32000
    assert body["system"] == [{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}]
    assert body["tools"] == [ANTHROPIC_TOOL]
    assert body["tool_choice"] == {"type": "tool", "name": TOOL_NAME}

    assert sent_to_openai.path == "/v1/chat/completions"
    assert sent_to_openai.headers["authorization"] == "Bearer test-key"
    assert sent_to_openai.body["tools"] == [OPENAI_TOOL]
    assert sent_to_openai.body["tool_choice"] == {"type": "function", "function": {"name": TOOL_NAME}}
    assert sent_to_openai.body["max_tokens"] == 32000


async def test_secret_absence_can_be_asserted_on_the_raw_body(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE))
    async with anthropic_client(server) as client:
        stream = await client.messages.create(**anthropic_params(), stream=True, metadata={"user_id": "u-42"})
        async for _ in stream:
            pass
    [request] = server.requests
    assert SECRET not in request.text
    assert '"user_id":"u-42"' in request.text.replace(" ", "")


# -- streaming really streams ---------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_paced_deltas_arrive_incrementally(server: ScriptedLLMServer, provider: Provider) -> None:
    """The first half of a paced body reaches the caller while the server still holds the second half back, so the
    caller sees the body as it is written, not once it ends; at 400 tokens/s the body also takes its time."""
    text = json.dumps({"files": [{"path": "big.txt", "content": "x" * 760}]})
    half = len(text) // 2
    held = threading.Event()
    server.queue(ToolAnswer(text, chunks=16, tokens_per_second=400, held=held, held_after=half))
    run = Run()
    reading = asyncio.create_task(run_provider(server, provider, run))
    try:
        for _ in range(3000):  # up to 30 s for the first half, however loaded the machine
            if len(run.tool_json) >= half or reading.done():
                break
            await asyncio.sleep(0.01)
        seen_while_held = run.tool_json
    finally:
        held.set()
        await reading

    assert half <= len(seen_while_held) < len(text) and text.startswith(seen_while_held)
    assert run.tool_json == text
    assert run.ended - run.started >= 0.8 * len(text) / 4 / 400  # pacing was applied


async def test_client_hanging_up_mid_stream_leaves_the_server_usable(server: ScriptedLLMServer) -> None:
    server.queue(ToolAnswer(FILE_TREE, chunks=4, tokens_per_second=200), ToolAnswer(FILE_TREE))
    async with anthropic_client(server) as client:
        stream = await client.messages.create(**anthropic_params(), stream=True)
        async for event in stream:
            if event.type == "content_block_delta":
                break
        await stream.close()
    run, _ = await run_anthropic_helper(server)
    assert json.loads(run.tool_json) == FILE_TREE


# -- local servers' shapes ------------------------------------------------------------------------


async def local_stream(server: ScriptedLLMServer, answer: ToolAnswer) -> tuple[list[dict[str, Any]], str | None]:
    """Each delta as the server sent it (unset fields left out), and the finish_reason; the SDK does not validate,
    as Forja's provider does not: a local server's chunk may lack a field OpenAI always sends."""
    server.queue(answer)
    deltas: list[dict[str, Any]] = []
    finish = None
    async with openai.AsyncOpenAI(api_key="test-key", base_url=server.openai_base_url, max_retries=0) as client:
        async for chunk in await client.chat.completions.create(**openai_params()):
            for choice in chunk.choices:
                deltas.append(choice.delta.model_dump(exclude_unset=True))
                finish = choice.finish_reason or finish
    return deltas, finish


def calls_sent(deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [call for delta in deltas for call in delta.get("tool_calls") or []]


async def test_local_wires_send_what_they_say(server: ScriptedLLMServer) -> None:
    arguments = ToolAnswer(FILE_TREE).text
    deltas, _ = await local_stream(server, ToolAnswer(FILE_TREE, chunks=40, wire="no-id"))
    sent = calls_sent(deltas)
    assert all("id" not in call for call in sent) and sent[0]["function"]["name"] == TOOL_NAME

    sent = calls_sent((await local_stream(server, ToolAnswer(FILE_TREE, chunks=40, wire="late-id")))[0])
    assert "id" not in sent[0] and sent[0]["function"]["name"] == TOOL_NAME and sent[1]["id"].startswith("call_")

    sent = calls_sent((await local_stream(server, ToolAnswer(FILE_TREE, chunks=40, wire="args-first")))[0])
    assert set(sent[0]) == {"index", "function"} and set(sent[0]["function"]) == {"arguments"}
    assert sent[1]["function"]["name"] == TOOL_NAME and "".join(c["function"]["arguments"] for c in sent) == arguments

    [whole] = calls_sent((await local_stream(server, ToolAnswer(FILE_TREE, wire="no-index")))[0])
    assert "index" not in whole and whole["function"]["arguments"] == arguments

    in_content: tuple[tuple[LocalWire, str], ...] = (("in-content", "<tool_call>\n{"), ("bare-json", "{"))
    for wire, opening in in_content:
        deltas, finish = await local_stream(server, ToolAnswer(FILE_TREE, chunks=5, wire=wire, text_before="Sure. "))
        content = "".join(d.get("content") or "" for d in deltas)
        assert not calls_sent(deltas) and finish == "stop"
        call = content.removeprefix("Sure. ").removeprefix("<tool_call>\n").removesuffix("\n</tool_call>")
        assert content.startswith(opening if wire == "bare-json" else f"Sure. {opening}")
        assert json.loads(call) == {"name": TOOL_NAME, "arguments": FILE_TREE}


async def test_thinking_goes_where_thinking_in_says(server: ScriptedLLMServer) -> None:
    deltas, _ = await local_stream(server, ToolAnswer(FILE_TREE, thinking="Hmm.", chunks=3))
    assert "".join(d.get("content") or "" for d in deltas) == "<think>\nHmm.\n</think>\n\n"
    fields: tuple[Literal["reasoning_content", "reasoning"], ...] = ("reasoning_content", "reasoning")
    for field_name in fields:
        deltas, _ = await local_stream(server, ToolAnswer(FILE_TREE, thinking="Hmm.", thinking_in=field_name))
        assert "".join(d.get(field_name) or "" for d in deltas) == "Hmm." and not any(d.get("content") for d in deltas)


async def test_refuse_tools_answers_400_to_requests_with_tools_only(server: ScriptedLLMServer) -> None:
    server.refuse_tools = "registry.ollama.ai/library/gemma3:4b does not support tools"
    server.queue(TextAnswer("{}"))
    async with openai_client(server) as client:
        with pytest.raises(openai.BadRequestError, match="does not support tools"):
            await client.chat.completions.create(**openai_params())
        assert server.pending == 1
        plain = {k: v for k, v in openai_params().items() if k not in ("tools", "tool_choice")}
        text = [c.choices[0].delta.content async for c in await client.chat.completions.create(**plain) if c.choices]
    assert "".join(t or "" for t in text) == "{}" and server.pending == 0


async def test_responses_api_streams_a_function_call_then_text_the_sdk_reads(server: ScriptedLLMServer) -> None:
    """Codex CLI's protocol: a function call the client answers with a function_call_output, then prose; the SDK's own
    event models (strict validation) read both streams, and usage counts cached tokens inside input_tokens."""
    usage = Usage(input_tokens=300, output_tokens=20, cache_read_input_tokens=50)
    server.queue(ToolAnswer({"cmd": "ls"}, tool_name="exec_command", chunks=3, usage=usage), TextAnswer("Done.", chunks=2))
    async with openai_client(server) as client:
        async with client.responses.stream(model="gpt-4.1", input="hi") as stream:
            deltas = [event.delta async for event in stream if event.type == "response.function_call_arguments.delta"]
            called = await stream.get_final_response()
        [call] = called.output
        assert call.type == "function_call" and call.name == "exec_command" and json.loads(call.arguments) == {"cmd": "ls"}
        assert "".join(deltas) == call.arguments and len(deltas) > 1
        assert called.usage is not None and (called.usage.input_tokens, called.usage.output_tokens) == (350, 20)
        assert called.usage.input_tokens_details.cached_tokens == 50
        # Answering a call that was never made is refused, as OpenAI refuses it, and takes no answer.
        with pytest.raises(openai.BadRequestError, match="do not pair up"):
            await client.responses.create(
                model="gpt-4.1", input=[{"type": "function_call_output", "call_id": "call_x", "output": "?"}], stream=True
            )
        answered: list[ResponseInputItemParam] = [
            {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
            {"type": "function_call_output", "call_id": call.call_id, "output": "index.html"},
        ]
        async with client.responses.stream(model="gpt-4.1", input=answered) as stream:
            said = await stream.get_final_response()
    assert said.output_text == "Done." and said.status == "completed"
    assert [r.path for r in server.requests] == ["/v1/responses"] * 3 and server.pending == 0
