"""What every provider yields: deltas of prose and of the tool input, usage, and why it stopped."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from builder.attachments import Picture
from builder.generation.schema import TOOL_DESCRIPTION, TOOL_INPUT_SCHEMA, TOOL_NAME
from builder.settings import settings

T = TypeVar("T")


@dataclass(frozen=True)
class ToolCall:
    """One call the model made (agent mode): the provider's id for it, the tool's name, its input as JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave back, sent to the model under the call's id."""

    call_id: str
    content: str
    is_error: bool = False
    # A page's screenshot (open_page), for a model that takes pictures.
    images: tuple[Picture, ...] = ()


@dataclass
class Message:
    role: Literal["user", "assistant"]
    content: str
    # Pictures the person attached, sent before the text (user messages only).
    images: list[Picture] = field(default_factory=list)
    # Agent mode: the calls an assistant message made, and (in the user message after it) what each gave back.
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)


@dataclass(frozen=True)
class ToolSpec:
    """The one tool a request forces the model to call: its name, what it is for, and its input's JSON schema."""

    name: str
    description: str
    input_schema: dict[str, Any]


FILE_TREE_TOOL = ToolSpec(TOOL_NAME, TOOL_DESCRIPTION, TOOL_INPUT_SCHEMA)


@dataclass
class ModelRequest:
    system: str
    messages: list[Message]
    max_tokens: int
    # The person's own words, for providers (offline) that work from them rather than a chat.
    prompt: str = ""
    context_paths: list[str] = field(default_factory=list)
    # A follow-up's current text files, for providers (offline) that edit them directly rather than ask a model.
    tree: dict[str, str] = field(default_factory=dict)
    # What the model answers with: the file tree, unless it is asked for a plan (builder.generation.planning).
    tool: ToolSpec = FILE_TREE_TOOL
    # Agent mode: the tools the model chooses from, one or more calls an answer; when set, `tool` is not offered.
    tools: list[ToolSpec] = field(default_factory=list)


@dataclass
class TextDelta:
    text: str


@dataclass
class ToolStart:
    """A tool call begins (its input follows as ToolDeltas): agent mode needs its id and name."""

    id: str
    name: str


@dataclass
class ToolDelta:
    partial_json: str


@dataclass
class UsageReport:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, other: UsageReport) -> None:
        """Count `other` (one answer's report) in this running total."""
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens


@dataclass
class Note:
    """Something the person should know about how the answer was asked for (said once per generation)."""

    text: str


@dataclass
class Finished:
    stop_reason: Literal["tool_use", "end_turn", "max_tokens"]


ProviderEvent = TextDelta | ToolStart | ToolDelta | UsageReport | Note | Finished


# HTTP statuses that mean "busy or briefly unavailable": worth a retry with backoff.
TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def request_timeout(timeout_class: Callable[..., T]) -> T:
    """The request and connect timeouts as the SDK's own Timeout class (`anthropic.Timeout`, `openai.Timeout`).

    The SDKs pin their own HTTP library (now httpx2) and refuse another library's Timeout object.
    """
    return timeout_class(settings.request_timeout_s, connect=settings.connect_timeout_s)


@dataclass
class _Kept:
    loop: asyncio.AbstractEventLoop | None = None
    clients: dict[tuple[Any, str], Any] = field(default_factory=dict)


_kept = _Kept()


def kept_client(make: Callable[..., T], **options: Any) -> T:
    """`make(**options)` (an SDK's client), made once per set of options and event loop.

    A generation used to make its own: each loaded the CA bundle (12-15 ms of CPU on the event loop that serves every
    page) and opened a new connection to the API (a TCP and a TLS handshake before the first token). Kept, the
    client's pool serves the next generation on the connection already open. A client's connections belong to the
    loop that opened them: another loop (each test has its own) starts afresh.
    """
    loop = asyncio.get_running_loop()
    if loop is not _kept.loop:
        _kept.loop, _kept.clients = loop, {}
    key = (make, repr(sorted(options.items())))
    if key not in _kept.clients:
        _kept.clients[key] = make(**options)
    return _kept.clients[key]


class Provider(ABC):
    name: str
    model: str
    # The server's address, when it is not the provider's own API (a local model's, a gateway's).
    base_url: str = ""

    @abstractmethod
    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        """Yield the answer as it is produced; raise ProviderError (or its transient kind)."""
