"""A real local HTTP server that speaks the Anthropic Messages, OpenAI chat-completions and Responses streaming protocols.

Why: Forja's engine talks to Claude through the official `anthropic` SDK and to OpenAI-compatible servers through the
official `openai` SDK. We test it without mocks or monkeypatching: the real SDKs are pointed (via `base_url`) at this
server, which replays scripted answers over real sockets, byte for byte in the shape the hosted APIs use. That way the
tests exercise the SDKs' own HTTP, SSE decoding, event models and error mapping, and a protocol change in an SDK upgrade
shows up as a failing test instead of a silent drift between a mock and reality.

Usage::

    with ScriptedLLMServer() as server:
        server.queue(ToolAnswer({"files": [...]}, chunks=7), HTTPErrorAnswer(529, "overloaded_error", "Overloaded"))
        client = anthropic.AsyncAnthropic(api_key="test-key", base_url=server.anthropic_base_url, max_retries=0)
        ...
        assert server.requests[0].body["tool_choice"] == {"type": "tool", "name": "emit_file_tree"}

Endpoints: ``POST /v1/messages`` (Anthropic), ``POST /v1/chat/completions`` (OpenAI) and ``POST /v1/responses``
(OpenAI's Responses API, which Codex CLI speaks: a `ToolAnswer` there is a ``function_call`` item). Answers are consumed one per
request, in order, whichever endpoint receives the request, and are rendered in that endpoint's protocol. Only streaming
requests (``"stream": true``) are served; anything else gets a JSON error so a test fails loudly instead of hanging.

Streams are sent with HTTP/1.1 chunked transfer encoding, one socket write per chunk, with TCP_NODELAY, so clients see
every event as soon as it is written (the tests assert this with ``tokens_per_second`` pacing).
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import socket
import string
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import pytest

log = logging.getLogger(__name__)

TOOL_NAME = "emit_file_tree"
"""The single tool Forja forces the model to call."""

CHARS_PER_TOKEN = 4
"""Rough size of a token, used only to turn `tokens_per_second` into a delay and to derive default usage."""

ANTHROPIC_PATH = "/v1/messages"
OPENAI_PATH = "/v1/chat/completions"
RESPONSES_PATH = "/v1/responses"

Chunks = int | Sequence[int] | Literal["every-byte"]
"""How a streamed text is cut into deltas: a fixed size in characters, explicit sizes, or one character per delta."""

Protocol = Literal["anthropic", "openai", "responses"]

LocalWire = Literal["openai", "no-id", "late-id", "args-first", "no-index", "in-content", "bare-json"]
"""How a tool call goes on the OpenAI wire. ``openai``: id, name and an empty argument on the first chunk, then
index-only argument chunks, as OpenAI sends it. ``no-id``: never an id (llama.cpp's server). ``late-id``: the name first,
the id on the first argument chunk. ``args-first``: an index-only argument chunk before the chunk that names the call.
``no-index``: the whole call in one chunk without an index (older Ollama). ``in-content``: a model without native tool
support writing Hermes/Qwen ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` into the content (split where
`chunks` cuts it), finish_reason ``stop``. ``bare-json``: the whole content one ``{"name": ..., "arguments": ...}``
object (Ollama models without tool support), finish_reason ``stop``."""
_ROUTES: dict[str, Protocol] = {ANTHROPIC_PATH: "anthropic", OPENAI_PATH: "openai", RESPONSES_PATH: "responses"}


# -- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Token counts, in Anthropic's terms (where `input_tokens` excludes cached tokens).

    On the OpenAI endpoint they are converted the way OpenAI counts: ``prompt_tokens`` includes cached tokens
    (``input + cache_read + cache_creation``), ``prompt_tokens_details.cached_tokens`` is ``cache_read_input_tokens``
    and ``completion_tokens`` is ``output_tokens``. OpenAI only sends usage when the request asked for it with
    ``stream_options: {"include_usage": true}``.
    """

    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0


@dataclass(frozen=True)
class ToolAnswer:
    """A streamed call to the tool whose input JSON text is `arguments`.

    `arguments` as a dict is serialised with ``json.dumps(..., ensure_ascii=False)``; as a str it is sent verbatim, so a
    test can send truncated or invalid JSON, or JSON text containing ``\\uXXXX`` escapes and surrogate pairs.

    `chunks` sets the size (in characters) of each ``partial_json`` / ``arguments`` delta, or lists the sizes (text left
    over after the list is sent as one last delta), or is ``"every-byte"``: one character per delta (so an incremental
    JSON parser sees every boundary, including inside escapes) *and* every SSE event is written to the socket in
    several writes, cut inside each multi-byte UTF-8 sequence, so the client's byte-level decoder sees split sequences.
    A delta itself cannot carry half a character: it is a JSON string, and a lone surrogate escape would be invalid
    UTF-8 once the SDK re-encodes it (the anthropic SDK does exactly that), which the real APIs never send.

    `stop="max_tokens"` ends with Anthropic ``stop_reason: "max_tokens"`` / OpenAI ``finish_reason: "length"``; pair it
    with a deliberately cut `arguments` str. `usage` defaults to 100 input tokens and ~4 characters per output token.
    `tokens_per_second` paces the deltas (at ~4 characters per token) for streaming benchmarks. `text_before` streams a
    text block (Anthropic) / content (OpenAI) before the tool call. `openai_finish_reason` overrides the OpenAI
    finish_reason of a completed call: OpenAI itself reports ``"stop"`` rather than ``"tool_calls"`` when
    ``tool_choice`` forces a named function, and the engine should accept both.

    On the OpenAI endpoint, `wire` sends the call the way a local server does (see `LocalWire`), and `thinking` is sent
    first, where `thinking_in` says: a ``<think>`` block opening the content (DeepSeek-R1, Qwen3 via Ollama), or the
    delta's ``reasoning_content`` (vLLM, llama.cpp) or ``reasoning`` (Ollama) field.
    """

    arguments: dict[str, Any] | str
    chunks: Chunks = 64
    stop: Literal["tool_use", "max_tokens"] = "tool_use"
    usage: Usage | None = None
    tokens_per_second: float | None = None
    text_before: str = ""
    tool_name: str = TOOL_NAME
    openai_finish_reason: Literal["tool_calls", "stop"] = "tool_calls"
    wire: LocalWire = "openai"
    thinking: str = ""
    thinking_in: Literal["content", "reasoning_content", "reasoning"] = "content"
    # Once `held_after` characters are out, the rest waits until the test sets `held`: a test watches the generation
    # while it runs for as long as that takes, not for as long as a paced answer happens to last.
    held: threading.Event | None = None
    held_after: int = 0
    # Answers only a request whose body holds this text: requests made side by side (an evaluation's tasks run in
    # parallel) each get their own answer, whichever comes first.
    when: str = ""

    @property
    def text(self) -> str:
        """The exact tool-input JSON text that is streamed."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass(frozen=True)
class TextAnswer:
    """Prose and no tool call: the model ignored the tool. Streamed as a text block / ``delta.content``."""

    text: str
    chunks: Chunks = 64
    stop: Literal["end_turn", "max_tokens"] = "end_turn"
    usage: Usage | None = None
    tokens_per_second: float | None = None


@dataclass(frozen=True)
class HTTPErrorAnswer:
    """An error response before any stream starts, in the endpoint's JSON error shape.

    Anthropic: ``{"type": "error", "error": {"type": error_type, "message": message}, "request_id": ...}``.
    OpenAI: ``{"error": {"message": message, "type": error_type, "param": null, "code": code}}``.
    `retry_after` (seconds) is sent as a ``retry-after`` header, which both SDKs honour when they retry.
    """

    status: int
    error_type: str
    message: str
    retry_after: float | None = None
    code: str | None = None


@dataclass(frozen=True)
class StreamErrorAnswer:
    """Starts streaming `after`, then fails after `after_chars` characters of tool input and ends the stream.

    Anthropic sends ``event: error`` with ``{"type": "error", "error": {"type": error_type, "message": message}}`` (as
    the real API does when it overloads mid-stream); OpenAI-compatible servers send a ``data: {"error": {...}}`` chunk.
    Both SDKs raise while the caller iterates.
    """

    after: ToolAnswer
    after_chars: int
    error_type: str = "overloaded_error"
    message: str = "Overloaded"


Answer = ToolAnswer | TextAnswer | HTTPErrorAnswer | StreamErrorAnswer


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it, so tests can assert what the client actually sent."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    """Header names are lower-cased."""
    body: Any
    """The parsed JSON body, or None when the body was not JSON."""
    raw_body: bytes
    client_port: int = 0
    """The port of the connection it came on: requests on one kept-alive connection share it."""

    @property
    def text(self) -> str:
        """The raw body as text, for "this secret appears nowhere in what was sent" assertions."""
        return self.raw_body.decode("utf-8", errors="replace")


# -- splitting and pacing -------------------------------------------------------------------------


def split_text(text: str, chunks: Chunks) -> list[str]:
    """Cut `text` into the deltas described by `chunks` (see `ToolAnswer`). An empty text yields no deltas."""
    if not text:
        return []
    if isinstance(chunks, str):
        if chunks != "every-byte":
            raise ValueError(f"chunks must be an int, a list of ints or 'every-byte', not {chunks!r}")
        return list(text)
    if isinstance(chunks, int):
        if chunks < 1:
            raise ValueError(f"chunk size must be at least 1, not {chunks}")
        return [text[i : i + chunks] for i in range(0, len(text), chunks)]
    pieces: list[str] = []
    start = 0
    for size in chunks:
        if size < 1:
            raise ValueError(f"chunk sizes must be at least 1, not {size}")
        if start >= len(text):
            break
        pieces.append(text[start : start + size])
        start += size
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _first_chars(pieces: list[str], limit: int) -> list[str]:
    """The leading pieces that together hold exactly `limit` characters (the last one cut if needed)."""
    out: list[str] = []
    left = limit
    for piece in pieces:
        if left <= 0:
            break
        out.append(piece[:left])
        left -= len(piece)
    return out


def utf8_fragments(data: bytes) -> list[bytes]:
    """Cut `data` before every UTF-8 continuation byte, so each multi-byte sequence spans several writes."""
    cuts = [i for i, byte in enumerate(data) if 0x80 <= byte < 0xC0]
    if not cuts:
        return [data]
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in pairwise(bounds) if a < b]


def _random_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def _default_usage(usage: Usage | None, *texts: str) -> Usage:
    if usage is not None:
        return usage
    chars = sum(len(t) for t in texts)
    return Usage(input_tokens=100, output_tokens=max(1, math.ceil(chars / CHARS_PER_TOKEN)))


# -- protocol renderers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    """One SSE event: `name` is the ``event:`` field (Anthropic only), `data` is JSON or a literal string."""

    name: str | None
    data: Any
    generated_chars: int = 0
    """Characters of model output this event carries; drives `tokens_per_second` pacing."""


def _anthropic_events(answer: ToolAnswer | TextAnswer | StreamErrorAnswer, model: str) -> Iterator[_Event]:
    """The real Messages API event sequence: message_start, ping, content blocks, message_delta, message_stop."""
    error = answer if isinstance(answer, StreamErrorAnswer) else None
    streamed = answer.after if isinstance(answer, StreamErrorAnswer) else answer
    text_before = streamed.text_before if isinstance(streamed, ToolAnswer) else streamed.text
    text_chunks = _text_chunks(streamed.chunks) if isinstance(streamed, ToolAnswer) else streamed.chunks
    tool_text = streamed.text if isinstance(streamed, ToolAnswer) else ""
    usage = _default_usage(streamed.usage, text_before, tool_text)

    yield _Event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": _random_id("msg_"),
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                    "output_tokens": 1,
                },
            },
        },
    )
    yield _Event("ping", {"type": "ping"})

    index = 0
    if text_before:
        yield _Event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
        )
        for piece in split_text(text_before, text_chunks):
            yield _Event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
                len(piece),
            )
        yield _Event("content_block_stop", {"type": "content_block_stop", "index": index})
        index += 1

    if isinstance(streamed, ToolAnswer):
        yield _Event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "tool_use", "id": _random_id("toolu_"), "name": streamed.tool_name, "input": {}},
            },
        )
        pieces = split_text(tool_text, streamed.chunks)
        if error is not None:
            pieces = _first_chars(pieces, error.after_chars)
        for piece in pieces:
            yield _Event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": piece}},
                len(piece),
            )
        if error is not None:
            yield _Event("error", {"type": "error", "error": {"type": error.error_type, "message": error.message}})
            return
        yield _Event("content_block_stop", {"type": "content_block_stop", "index": index})

    stop_reason = streamed.stop
    yield _Event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": usage.output_tokens},
        },
    )
    yield _Event("message_stop", {"type": "message_stop"})


def _openai_usage(usage: Usage) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    details: dict[str, int] = {"cached_tokens": usage.cache_read_input_tokens, "audio_tokens": 0}
    if usage.cache_creation_input_tokens:
        details["cache_write_tokens"] = usage.cache_creation_input_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": details,
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _openai_events(answer: ToolAnswer | TextAnswer | StreamErrorAnswer, model: str, include_usage: bool) -> Iterator[_Event]:
    """chat.completion.chunk objects as OpenAI streams them, then usage (if asked for) and ``[DONE]``."""
    error = answer if isinstance(answer, StreamErrorAnswer) else None
    streamed = answer.after if isinstance(answer, StreamErrorAnswer) else answer
    text_before = streamed.text_before if isinstance(streamed, ToolAnswer) else streamed.text
    text_chunks = _text_chunks(streamed.chunks) if isinstance(streamed, ToolAnswer) else streamed.chunks
    tool_text = streamed.text if isinstance(streamed, ToolAnswer) else ""
    usage = _default_usage(streamed.usage, text_before, tool_text)
    completion_id = _random_id("chatcmpl-")
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            data["usage"] = None
        return data

    if isinstance(streamed, ToolAnswer) and streamed.thinking:
        yield from _openai_thinking(streamed, chunk)
    if isinstance(streamed, ToolAnswer) and streamed.wire in ("in-content", "bare-json"):
        yield _Event(None, chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in split_text(_call_as_text(streamed), streamed.chunks):
            yield _Event(None, chunk({"content": piece}), len(piece))
        finish = "length" if streamed.stop == "max_tokens" else "stop"
        yield from _openai_end(chunk({}, finish), completion_id, created, model, usage if include_usage else None)
        return
    if text_before:
        yield _Event(None, chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in split_text(text_before, text_chunks):
            yield _Event(None, chunk({"content": piece}), len(piece))

    if isinstance(streamed, ToolAnswer) and streamed.wire != "openai" and error is None:
        yield from _openai_local_call(streamed, tool_text, chunk)
        finish = "length" if streamed.stop == "max_tokens" else streamed.openai_finish_reason
    elif isinstance(streamed, ToolAnswer):
        header: dict[str, Any] = {
            "tool_calls": [
                {
                    "index": 0,
                    "id": _random_id("call_"),
                    "type": "function",
                    "function": {"name": streamed.tool_name, "arguments": ""},
                }
            ]
        }
        if not text_before:
            header = {"role": "assistant", "content": None, **header, "refusal": None}
        yield _Event(None, chunk(header))
        pieces = split_text(tool_text, streamed.chunks)
        if error is not None:
            pieces = _first_chars(pieces, error.after_chars)
        for piece in pieces:
            yield _Event(None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), len(piece))
        if error is not None:
            yield _Event(None, {"error": {"message": error.message, "type": error.error_type, "param": None, "code": None}})
            return
        finish = "length" if streamed.stop == "max_tokens" else streamed.openai_finish_reason
    else:
        if not text_before:
            yield _Event(None, chunk({"role": "assistant", "content": "", "refusal": None}))
        finish = "length" if streamed.stop == "max_tokens" else "stop"

    yield from _openai_end(chunk({}, finish), completion_id, created, model, usage if include_usage else None)


def _openai_end(last: dict[str, Any], completion_id: str, created: int, model: str, usage: Usage | None) -> Iterator[_Event]:
    """The chunk with the finish_reason, the usage chunk (when the request asked for usage) and ``[DONE]``."""
    yield _Event(None, last)
    if usage is not None:
        yield _Event(
            None,
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_scripted",
                "choices": [],
                "usage": _openai_usage(usage),
            },
        )
    yield _Event(None, "[DONE]")


def _openai_thinking(answer: ToolAnswer, chunk: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[_Event]:
    if answer.thinking_in == "content":
        for piece in split_text(f"<think>\n{answer.thinking}\n</think>\n\n", _text_chunks(answer.chunks)):
            yield _Event(None, chunk({"content": piece}), len(piece))
        return
    for piece in split_text(answer.thinking, _text_chunks(answer.chunks)):
        yield _Event(None, chunk({"content": None, answer.thinking_in: piece}), len(piece))


def _call_as_text(answer: ToolAnswer) -> str:
    """The call as a model without native tool support writes it into the content."""
    call = f'{{"name": {json.dumps(answer.tool_name)}, "arguments": {answer.text}}}'
    if answer.wire == "bare-json":
        return call
    return f"{answer.text_before}<tool_call>\n{call}\n</tool_call>"


def _openai_local_call(answer: ToolAnswer, tool_text: str, chunk: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[_Event]:
    """One tool call in delta.tool_calls, sent the way `answer.wire` says a local server sends it."""
    call_id = _random_id("call_")
    named = {"type": "function", "function": {"name": answer.tool_name, "arguments": ""}}
    if answer.wire == "no-index":
        whole = {"id": call_id, "type": "function", "function": {"name": answer.tool_name, "arguments": tool_text}}
        yield _Event(None, chunk({"role": "assistant", "content": None, "tool_calls": [whole]}), len(tool_text))
        return
    pieces = split_text(tool_text, answer.chunks)
    if answer.wire == "args-first" and pieces:
        first = pieces.pop(0)
        yield _Event(None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": first}}]}), len(first))
    header = {"index": 0, **({"id": call_id} if answer.wire == "args-first" else {}), **named}
    yield _Event(None, chunk({"role": "assistant", "content": None, "tool_calls": [header]}))
    for number, piece in enumerate(pieces):
        call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
        if answer.wire == "late-id" and number == 0:
            call["id"] = call_id
        yield _Event(None, chunk({"tool_calls": [call]}), len(piece))


def _responses_events(answer: ToolAnswer | TextAnswer | StreamErrorAnswer, model: str) -> Iterator[_Event]:
    """A Responses API stream as OpenAI sends it: response.created, then per output item (a message for text, a
    function_call for a tool call) its .added, deltas and .done events, then response.completed with the whole output
    and the usage (``input_tokens`` including cached ones, as OpenAI counts). A stream error is an ``error`` event."""
    error = answer if isinstance(answer, StreamErrorAnswer) else None
    streamed = answer.after if isinstance(answer, StreamErrorAnswer) else answer
    text = streamed.text_before if isinstance(streamed, ToolAnswer) else streamed.text
    tool_text = streamed.text if isinstance(streamed, ToolAnswer) else ""
    usage = _default_usage(streamed.usage, text, tool_text)
    response: dict[str, Any] = {
        "id": _random_id("resp_"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": model,
        "output": [],
        "usage": None,
        # What the request set, as the API echoes it (its tools left out: the client knows what it sent).
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
    }
    sequence = iter(range(1 << 30))

    def event(kind: str, data: dict[str, Any], chars: int = 0) -> _Event:
        return _Event(kind, {"type": kind, "sequence_number": next(sequence), **data}, chars)

    yield event("response.created", {"response": response})
    yield event("response.in_progress", {"response": response})
    output: list[dict[str, Any]] = []
    if text:
        item: dict[str, Any] = {"id": _random_id("msg_"), "type": "message", "status": "in_progress", "role": "assistant"}
        at = {"item_id": item["id"], "output_index": len(output)}
        yield event("response.output_item.added", {"output_index": len(output), "item": {**item, "content": []}})
        part = {"type": "output_text", "text": "", "annotations": []}
        yield event("response.content_part.added", {**at, "content_index": 0, "part": part})
        for piece in split_text(text, _text_chunks(streamed.chunks)):
            yield event("response.output_text.delta", {**at, "content_index": 0, "delta": piece, "logprobs": []}, len(piece))
        yield event("response.output_text.done", {**at, "content_index": 0, "text": text, "logprobs": []})
        yield event("response.content_part.done", {**at, "content_index": 0, "part": {**part, "text": text}})
        output.append({**item, "status": "completed", "content": [{**part, "text": text}]})
        yield event("response.output_item.done", {"output_index": len(output) - 1, "item": output[-1]})
    if isinstance(streamed, ToolAnswer):
        call = {"id": _random_id("fc_"), "type": "function_call", "status": "in_progress", "call_id": _random_id("call_")}
        call |= {"name": streamed.tool_name, "arguments": ""}
        at = {"item_id": call["id"], "output_index": len(output)}
        yield event("response.output_item.added", {"output_index": len(output), "item": call})
        pieces = split_text(tool_text, streamed.chunks)
        for piece in _first_chars(pieces, error.after_chars) if error is not None else pieces:
            yield event("response.function_call_arguments.delta", {**at, "delta": piece}, len(piece))
        if error is not None:
            yield event("error", {"code": error.error_type, "message": error.message, "param": None})
            return
        yield event("response.function_call_arguments.done", {**at, "arguments": tool_text})
        output.append({**call, "status": "completed", "arguments": tool_text})
        yield event("response.output_item.done", {"output_index": len(output) - 1, "item": output[-1]})
    cached = usage.cache_read_input_tokens
    prompt = usage.input_tokens + cached + usage.cache_creation_input_tokens
    counted = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": usage.cache_creation_input_tokens},
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + usage.output_tokens,
    }
    yield event("response.completed", {"response": {**response, "status": "completed", "output": output, "usage": counted}})


def _text_chunks(chunks: Chunks) -> Chunks:
    """Explicit sizes describe the tool input; a text block before it is cut in the default size instead."""
    return chunks if isinstance(chunks, int | str) else 64


def _error_body(protocol: Protocol, error_type: str, message: str, code: str | None = None) -> dict[str, Any]:
    if protocol == "anthropic":
        return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": _random_id("req_")}
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


def _tool_protocol_error(protocol: Protocol, body: dict[str, Any]) -> str | None:
    """What the real API would refuse in a conversation with tool calls (agent mode), else None.

    Anthropic: every tool_use block of an assistant message is answered by a tool_result with its id in the next user
    message, and a tool_result answers a call of the message before. OpenAI: every call of an assistant message is
    answered by a "tool" message with its id, before the next user or assistant message.
    """
    if protocol == "responses":
        items = [item for item in body.get("input") or [] if isinstance(item, dict)]
        called = {item.get("call_id") for item in items if item.get("type") == "function_call"}
        answered = {item.get("call_id") for item in items if item.get("type") == "function_call_output"}
        if called != answered:
            return f"input: function_call and function_call_output items do not pair up: {sorted(map(str, called ^ answered))}"
        return None
    messages = body.get("messages") or []
    if protocol == "anthropic":
        for before, after in pairwise([{}, *messages]):
            called = {b.get("id") for b in _blocks(before) if b.get("type") == "tool_use"}
            answered = {b.get("tool_use_id") for b in _blocks(after) if b.get("type") == "tool_result"}
            if answered - called:
                return f"messages: tool_result blocks answer unknown tool_use ids {sorted(map(str, answered - called))}"
            if before.get("role") == "assistant" and called - answered:
                return f"messages: tool_use ids {sorted(map(str, called - answered))} have no tool_result in the next message"
        return None
    pending: set[str] = set()
    for message in messages:
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") not in pending:
                return f"messages: a tool message answers an unknown tool_call_id {message.get('tool_call_id')!r}"
            pending.discard(message["tool_call_id"])
            continue
        if pending:
            return f"messages: tool_call ids {sorted(pending)} were not answered by tool messages"
        pending = {call.get("id") for call in message.get("tool_calls") or []}
    return None


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


# -- the HTTP server ------------------------------------------------------------------------------


class _ClientGone(Exception):
    """The client closed the connection (or the server is shutting down) while we were streaming."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: ScriptedLLMServer


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the owning `ScriptedLLMServer`; keeps connections alive like the real APIs."""

    protocol_version = "HTTP/1.1"
    server_version = "ScriptedLLM/1.0"
    disable_nagle_algorithm = True  # small SSE writes must leave at once, not wait for Nagle/delayed-ACK
    timeout = 60  # an idle keep-alive connection eventually frees its thread

    @property
    def owner(self) -> ScriptedLLMServer:
        assert isinstance(self.server, _HTTPServer)  # the only server this handler is given to
        return self.server.owner

    def setup(self) -> None:
        super().setup()
        self.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.owner._track(self.connection, add=False)

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            self.owner._handle(self)
        except Exception:
            # A bug in the fixture must not look like a model answer: log it and drop the connection, which the
            # SDKs report as APIConnectionError.
            log.exception("ScriptedLLMServer failed while handling %s %s", self.command, self.path)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class ScriptedLLMServer:
    """A streaming Anthropic + OpenAI server on 127.0.0.1 that replays `queue`d answers, one per request.

    Use it as a context manager (or through the `llm_server` fixture). It records every request in `requests`.
    """

    def __init__(self, *answers: Answer) -> None:
        self.requests: list[RecordedRequest] = []
        # (wall-clock time, model characters generated so far) after each delta is written: benchmarks
        # use it to know when a given character of the answer left the server.
        self.sent: list[tuple[float, int]] = []
        self._answers: deque[Answer] = deque(answers)
        # When set, a chat-completions request that carries tools gets this 400 (Ollama, for a model without tool
        # support: "registry.ollama.ai/library/gemma3:4b does not support tools"), and consumes no answer.
        self.refuse_tools: str | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> Self:
        """Bind an OS-assigned port on 127.0.0.1 and serve in a background thread."""
        if self._httpd is not None:
            return self
        self._closing.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        # A short poll interval keeps `close()` (which waits for the serve loop to notice) fast in every test teardown.
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name=f"scripted-llm-{self.port}", daemon=True)
        self._thread.start()
        log.debug("scripted LLM server listening on %s", self.url)
        return self

    def close(self) -> None:
        """Stop serving, cut any open connection (including paced streams) and free the port."""
        httpd = self._httpd
        if httpd is None:
            return
        self._closing.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # -- public API

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedLLMServer is not started; use it as a context manager or call start()")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        """For ``anthropic.AsyncAnthropic(base_url=...)``: the SDK appends ``/v1/messages``."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """For ``openai.AsyncOpenAI(base_url=...)``: the SDK appends ``/chat/completions``."""
        return f"{self.url}/v1"

    def queue(self, *answers: Answer) -> None:
        """Append scripted answers; each request (to either endpoint) consumes the oldest one (of those whose `when`
        its body holds)."""
        with self._lock:
            self._answers.extend(answers)

    def _take(self, body: str) -> Answer | None:
        """The oldest queued answer for a request of `body`: one whose `when` it holds, or one with none."""
        for answer in self._answers:
            if not isinstance(answer, ToolAnswer) or answer.when in body:
                self._answers.remove(answer)
                return answer
        return None

    def drop_queued(self) -> None:
        """Drop the answers no request has consumed yet (a failed test's)."""
        with self._lock:
            self._answers.clear()

    @property
    def pending(self) -> int:
        """How many queued answers no request has consumed yet."""
        with self._lock:
            return len(self._answers)

    # -- request handling (runs in the server's per-connection threads)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = RecordedRequest(
            method=handler.command,
            path=split.path,
            query=split.query,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            raw_body=raw,
            client_port=handler.client_address[1],
        )
        with self._lock:
            self.requests.append(record)

        protocol = _ROUTES.get(split.path)
        if handler.command != "POST" or protocol is None:
            message = f"ScriptedLLMServer: no route for {handler.command} {split.path}"
            self._send_json(handler, 404, _error_body("anthropic", "not_found_error", message))
            return
        if not isinstance(body, dict) or body.get("stream") is not True:
            message = 'ScriptedLLMServer only serves streaming requests (JSON body with "stream": true)'
            self._send_json(handler, 400, _error_body(protocol, "invalid_request_error", message), protocol)
            return

        if protocol == "openai" and self.refuse_tools and body.get("tools"):
            self._send_json(handler, 400, _error_body(protocol, "api_error", self.refuse_tools), protocol)
            return
        if (wrong := _tool_protocol_error(protocol, body)) is not None:
            self._send_json(handler, 400, _error_body(protocol, "invalid_request_error", wrong), protocol)
            return

        with self._lock:
            answer = self._take(raw.decode("utf-8", "replace"))
        if answer is None:
            message = f"ScriptedLLMServer: no scripted answer queued for POST {split.path} (request #{len(self.requests)})"
            log.warning("%s", message)
            self._send_json(handler, 500, _error_body(protocol, "api_error", message), protocol)
            return

        if isinstance(answer, HTTPErrorAnswer):
            headers: list[tuple[str, str]] = []
            if answer.retry_after is not None:
                headers.append(("retry-after", f"{answer.retry_after:g}"))
            error = _error_body(protocol, answer.error_type, answer.message, answer.code)
            self._send_json(handler, answer.status, error, protocol, headers)
            return

        model = str(body.get("model") or "scripted-model")
        if protocol == "anthropic":
            events = _anthropic_events(answer, model)
        elif protocol == "responses":
            events = _responses_events(answer, model)
        else:
            stream_options = body.get("stream_options")
            include_usage = isinstance(stream_options, dict) and stream_options.get("include_usage") is True
            events = _openai_events(answer, model, include_usage)
        streamed = answer.after if isinstance(answer, StreamErrorAnswer) else answer
        self._stream(
            handler,
            protocol,
            events,
            split_utf8=streamed.chunks == "every-byte",
            tokens_per_second=streamed.tokens_per_second,
            close_after=isinstance(answer, StreamErrorAnswer),
            held=(answer.held, answer.held_after) if isinstance(answer, ToolAnswer) and answer.held else None,
        )

    def _send_json(
        self,
        handler: _Handler,
        status: int,
        payload: dict[str, Any],
        protocol: Protocol | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status, "Overloaded" if status == 529 else None)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        self._send_request_id(handler, protocol)
        for name, value in extra_headers:
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _send_request_id(handler: _Handler, protocol: Protocol | None) -> None:
        if protocol == "anthropic":
            handler.send_header("request-id", _random_id("req_"))
        elif protocol is not None:
            handler.send_header("x-request-id", _random_id("req_", 32))

    def _stream(
        self,
        handler: _Handler,
        protocol: Protocol,
        events: Iterator[_Event],
        *,
        split_utf8: bool,
        tokens_per_second: float | None,
        close_after: bool,
        held: tuple[threading.Event, int] | None = None,
    ) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("Transfer-Encoding", "chunked")
        self._send_request_id(handler, protocol)
        if close_after:
            handler.send_header("Connection", "close")
        handler.end_headers()

        started = time.monotonic()
        generated = 0
        try:
            for event in events:
                if held is not None and event.generated_chars and generated >= held[1]:
                    while not held[0].wait(0.1):
                        if self._closing.is_set():
                            raise _ClientGone("server closing")
                    held = None
                generated += event.generated_chars
                if event.generated_chars and tokens_per_second:
                    due = started + generated / CHARS_PER_TOKEN / tokens_per_second
                    delay = due - time.monotonic()
                    if delay > 0 and self._closing.wait(delay):
                        raise _ClientGone("server closing")
                payload = _encode_event(event)
                for piece in utf8_fragments(payload) if split_utf8 else [payload]:
                    self._write_chunk(handler, piece)
                if event.generated_chars:
                    self.sent.append((time.time(), generated))
            self._write_chunk(handler, b"")  # the zero-length chunk that ends a chunked body
        except (_ClientGone, OSError) as exc:
            log.debug("stream to %s ended early: %r", handler.address_string(), exc)
            handler.close_connection = True
            return
        if close_after:
            handler.close_connection = True

    @staticmethod
    def _write_chunk(handler: _Handler, data: bytes) -> None:
        """One HTTP chunk in one write; `wfile` is unbuffered, so it reaches the socket immediately."""
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        handler.wfile.flush()


def _encode_event(event: _Event) -> bytes:
    """Serialise one SSE event, keeping non-ASCII text as raw UTF-8 as the real APIs do."""
    if isinstance(event.data, str):
        data = event.data
    else:
        try:
            data = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
            data.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates in a verbatim str: only \u escapes can carry them
            data = json.dumps(event.data, separators=(",", ":"))
    head = f"event: {event.name}\n" if event.name else ""
    return f"{head}data: {data}\n\n".encode()


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLMServer]:
    """A running `ScriptedLLMServer` for one test; import it into a conftest to use it by name."""
    with ScriptedLLMServer() as server:
        yield server
