"""The shapes in which local OpenAI-compatible servers (Ollama, llama.cpp's server, vLLM) send tool calls.

The hosted API sends every call in `delta.tool_calls`, its id and name on the first chunk. Local servers may send a
call without an id, its id or name on a later chunk, or its arguments before its name; a model without native tool
support writes the call into the content (Hermes/Qwen `<tool_call>{...}</tool_call>`, or the whole content one
`{"name": ..., "arguments": ...}` object); reasoning models open the content with a `<think>` block. These readers
turn each shape into the same ProviderEvents, as the chunks arrive.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from builder.errors import ProviderError
from builder.generation.providers.base import ProviderEvent, TextDelta, ToolDelta, ToolSpec, ToolStart

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
_THINKING = re.compile(r"^\s*<think>.*?(</think>|$)", re.DOTALL)
_FENCED = re.compile(r"```(?:json)?[ \t]*\n(.*?)(?:\n```|$)", re.DOTALL)


def call_id() -> str:
    """An id for a call the server sent without one: it only names the call in the history Forja sends back."""
    return f"call_{secrets.token_hex(8)}"


def held_back(text: str, marker: str) -> int:
    """How many characters at the end of `text` could be the start of `marker` (so must wait for the next chunk)."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0


def call_events(text: str) -> list[ProviderEvent]:
    """A call written as text, `{"name": ..., "arguments": {...}}` (or "parameters"), as a ToolStart and its input."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProviderError(
            f"The model wrote a tool call as text, but it is not valid JSON ({exc.msg} at character {exc.pos}), "
            "so it could not be used. Try again."
        ) from exc
    call = _as_call(raw)
    if call is None:
        raise ProviderError("The model wrote a tool call as text without the tool's name, so it could not be used. Try again.")
    name, arguments = call
    return [ToolStart(call_id(), name), ToolDelta(arguments)]


def _as_call(raw: Any) -> tuple[str, str] | None:
    """(name, arguments as JSON text) when `raw` is a call written as an object, else None."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        return None
    arguments = raw.get("arguments", raw.get("parameters"))
    if isinstance(arguments, str):
        return raw["name"], arguments
    if isinstance(arguments, dict):
        return raw["name"], json.dumps(arguments, ensure_ascii=False)
    return None


@dataclass
class ContentReader:
    """Reads `delta.content` chunk by chunk: prose streams on as TextDelta, a leading `<think>` block is dropped, and a
    call written as text becomes ToolStart + ToolDelta. Only what could be the start of a marker is held back."""

    buffer: str = ""
    # Nothing but whitespace or thinking so far: a `<think>` block or a bare JSON call may still begin.
    at_start: bool = True
    thinking: bool = False
    in_call: bool = False
    # The content began with `{`: it is held whole, as it may be one call written as JSON.
    bare: bool = False
    calls: int = 0

    def feed(self, text: str) -> list[ProviderEvent]:
        self.buffer += text
        events: list[ProviderEvent] = []
        while self._step(events):
            pass
        return events

    def _step(self, events: list[ProviderEvent]) -> bool:
        """Consume what the buffer allows; True when there may be more to consume."""
        if self.thinking:
            return self._think()
        if self.in_call:
            return self._call(events)
        if self.bare:
            return False
        if self.at_start:
            start = self.buffer.lstrip()
            if start.startswith(THINK_OPEN):
                self.buffer, self.thinking = start[len(THINK_OPEN) :], True
                return True
            if not start or THINK_OPEN.startswith(start):
                return False
            self.bare = start.startswith("{")
            self.at_start = False
            if self.bare:
                self.buffer = start
                return False
        return self._prose(events)

    def _think(self) -> bool:
        end = self.buffer.find(THINK_CLOSE)
        if end < 0:
            self.buffer = self.buffer[len(self.buffer) - held_back(self.buffer, THINK_CLOSE) :]
            return False
        self.buffer, self.thinking = self.buffer[end + len(THINK_CLOSE) :], False
        return True

    def _call(self, events: list[ProviderEvent]) -> bool:
        end = self.buffer.find(CALL_CLOSE)
        if end < 0:
            return False
        events.extend(call_events(self.buffer[:end]))
        self.calls += 1
        self.buffer, self.in_call = self.buffer[end + len(CALL_CLOSE) :], False
        return True

    def _prose(self, events: list[ProviderEvent]) -> bool:
        start = self.buffer.find(CALL_OPEN)
        if start >= 0:
            if prose := self.buffer[:start]:
                events.append(TextDelta(prose))
            self.buffer, self.in_call = self.buffer[start + len(CALL_OPEN) :], True
            return True
        keep = held_back(self.buffer, CALL_OPEN)
        if prose := self.buffer[: len(self.buffer) - keep]:
            events.append(TextDelta(prose))
        self.buffer = self.buffer[len(self.buffer) - keep :]
        return False

    def end(self) -> list[ProviderEvent]:
        """What was held back, once the content is complete."""
        rest, self.buffer = self.buffer, ""
        if self.thinking:
            return []
        if self.in_call:
            # A model may stop without closing its last call.
            self.calls += 1
            return call_events(rest)
        if self.bare:
            try:
                call = _as_call(json.loads(rest))
            except json.JSONDecodeError:
                call = None
            if call is not None:
                self.calls += 1
                return [ToolStart(call_id(), call[0]), ToolDelta(call[1])]
        return [TextDelta(rest)] if rest else []


@dataclass
class _Call:
    id: str | None = None
    name: str | None = None
    started: bool = False
    held: list[str] = field(default_factory=list)


@dataclass
class CallReader:
    """Reads `delta.tool_calls` chunk by chunk, whatever arrives first: a call starts once its name is known (with the
    server's id, or one of Forja's when it sent none), and arguments that came before it follow the start."""

    # The tool a call without a name is for, when only one was offered.
    only_tool: str | None = None
    calls: dict[int, _Call] = field(default_factory=dict)

    def feed(self, index: int | None, id_: str | None, name: str | None, arguments: str | None) -> list[ProviderEvent]:
        if index is None:
            # Servers that send no index (some Ollama versions) send each call whole, its name on it.
            index = len(self.calls) if name or not self.calls else max(self.calls)
        call = self.calls.setdefault(index, _Call())
        call.id = call.id or id_
        call.name = call.name or name
        if arguments:
            call.held.append(arguments)
        return self._flush(call) if call.name else []

    def _flush(self, call: _Call) -> list[ProviderEvent]:
        events: list[ProviderEvent] = []
        if not call.started:
            call.started = True
            events.append(ToolStart(call.id or call_id(), call.name or ""))
        events.extend(ToolDelta(text) for text in call.held)
        call.held = []
        return events

    def end(self) -> list[ProviderEvent]:
        """Calls whose name never came: for the one tool offered, or refused in words."""
        events: list[ProviderEvent] = []
        for call in self.calls.values():
            if call.name or not call.held:
                continue
            if self.only_tool is None:
                raise ProviderError("The model's server sent a tool call without the tool's name, so it could not be used.")
            call.name = self.only_tool
            events.extend(self._flush(call))
        return events

    @property
    def made(self) -> bool:
        return any(call.started for call in self.calls.values())


def refuses_tools(status: int | None, message: str) -> bool:
    """Whether an error answer says the server or model cannot take tools (Ollama: "... does not support tools")."""
    text = message.lower()
    return status in (400, 422) and "tool" in text and ("support" in text or "not allowed" in text)


def text_instruction(tool: ToolSpec) -> str:
    """Added to the system prompt when tools cannot be sent: the tool's input, asked for as one JSON object."""
    return (
        f"\n\nThis model's server cannot take tools. Wherever these instructions say to call `{tool.name}`, answer "
        f"instead with exactly one JSON object: the input that `{tool.name}` takes ({tool.description}). It must match "
        f"this JSON schema:\n{json.dumps(tool.input_schema, ensure_ascii=False)}\nWrite nothing before or after it."
    )


def input_from_text(text: str, tool: ToolSpec) -> str:
    """The tool's input as JSON text, from an answer asked for as text: its thinking, prose before the JSON and a
    ```json fence are tolerated, and a `{"name": ..., "arguments": ...}` wrapper is unwrapped."""
    text = _THINKING.sub("", text, count=1)
    fenced = _FENCED.search(text)
    body = fenced.group(1) if fenced else text
    decoder = json.JSONDecoder()
    for start in (i for i, char in enumerate(body) if char == "{"):
        try:
            raw, _ = decoder.raw_decode(body, start)
        except json.JSONDecodeError:
            continue
        call = _as_call(raw)
        if call is not None and call[0] == tool.name:
            return call[1]
        return json.dumps(raw, ensure_ascii=False)
    raise ProviderError(
        "This model cannot use tools, and its answer as text held no complete JSON object as Forja asked "
        "(it may have been cut off), so it could not be used. Try again, or use a model that can call tools."
    )
