"""OpenAI and compatible servers (OpenRouter, Ollama, vLLM, LM Studio) through the official SDK."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import openai
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionContentPartImageParam,
    ChatCompletionContentPartParam,
    ChatCompletionContentPartTextParam,
    ChatCompletionMessageParam,
    ChatCompletionMessageToolCallParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionToolParam,
    ChatCompletionUserMessageParam,
)

from builder.errors import ProviderError, TransientProviderError
from builder.generation.providers.base import (
    TRANSIENT_STATUS,
    Finished,
    Message,
    ModelRequest,
    Note,
    Provider,
    ProviderEvent,
    ToolDelta,
    ToolStart,
    UsageReport,
    kept_client,
    request_timeout,
)
from builder.generation.providers.local_shapes import (
    CallReader,
    ContentReader,
    call_id,
    input_from_text,
    refuses_tools,
    text_instruction,
)
from builder.generation.providers.stored import Connection
from builder.generation.schema import TOOL_NAME
from builder.generation.who_connects import ASK_ADMIN

log = logging.getLogger(__name__)

_STOP = {"length": "max_tokens", "tool_calls": "tool_use", "stop": "end_turn"}
FILES_AS_TEXT = "This model cannot use tools, so Forja asked for the files as text."
AGENT_NEEDS_TOOLS = (
    "This model cannot use tools, and agent mode works through them: ask without agent mode, or use a model that can."
)
# (server address, model) of the connections that refused tools in this process: asked without tools from then on.
_TEXT_ONLY: set[tuple[str, str]] = set()


class _ToolsRefused(Exception):
    """The server answered a request that carried tools with "this model does not support tools"."""


def _explain(exc: openai.OpenAIError, model: str, connection: Connection) -> ProviderError:
    where = "The model's server" if connection.base_url else "OpenAI"
    if isinstance(exc, openai.APIConnectionError):
        target = "the model's server" if connection.base_url else "OpenAI"
        return TransientProviderError(f"Could not reach {target} (the connection failed or timed out).")
    status = getattr(exc, "status_code", None)
    text = str(getattr(exc, "message", exc))
    if status == 401:
        return ProviderError(f"{where} refused the key. {ASK_ADMIN}")
    if status == 404:
        return ProviderError(f"{where} does not know the model {model!r}. {ASK_ADMIN}")
    if status in TRANSIENT_STATUS or status is None or "overloaded" in text.lower():
        return TransientProviderError(f"{where} is busy right now ({text}).")
    return ProviderError(f"{where} answered with an error: {text}")


def _messages(message: Message) -> list[ChatCompletionMessageParam]:
    """One message in OpenAI's terms; what tool calls gave back is one "tool" message per call, before any text."""
    if message.tool_calls:
        calls = [
            ChatCompletionMessageToolCallParam(
                id=call.id, type="function", function={"name": call.name, "arguments": call.arguments or "{}"}
            )
            for call in message.tool_calls
        ]
        return [ChatCompletionAssistantMessageParam(role="assistant", content=message.content or None, tool_calls=calls)]
    if message.tool_results:
        results: list[ChatCompletionMessageParam] = [
            ChatCompletionToolMessageParam(role="tool", tool_call_id=r.call_id, content=r.content) for r in message.tool_results
        ]
        # A tool message carries text only: a page's screenshot follows in a user message of its own.
        pictures = [p for r in message.tool_results for p in r.images]
        if message.content or pictures:
            parts: list[ChatCompletionContentPartParam] = [
                ChatCompletionContentPartImageParam(type="image_url", image_url={"url": p.data_url()}) for p in pictures
            ]
            text = message.content or "The screenshot of the page your last call opened."
            parts.append(ChatCompletionContentPartTextParam(type="text", text=text))
            results.append(ChatCompletionUserMessageParam(role="user", content=parts))
        return results
    return [_message(message)]


def _message(message: Message) -> ChatCompletionMessageParam:
    if message.role == "user":
        if message.images:
            parts: list[ChatCompletionContentPartParam] = [
                ChatCompletionContentPartImageParam(type="image_url", image_url={"url": image.data_url()})
                for image in message.images
            ]
            parts.append(ChatCompletionContentPartTextParam(type="text", text=message.content))
            return ChatCompletionUserMessageParam(role="user", content=parts)
        return ChatCompletionUserMessageParam(role="user", content=message.content)
    return ChatCompletionAssistantMessageParam(role="assistant", content=message.content)


class OpenAIProvider(Provider):
    name = "openai"

    def __init__(self, model: str, connection: Connection) -> None:
        self.model = model
        self.base_url = connection.base_url
        self._connection = connection

    @property
    def client(self) -> openai.AsyncOpenAI:
        return kept_client(
            openai.AsyncOpenAI,
            # Local servers (Ollama, LM Studio) need no key, but the SDK insists on one.
            api_key=self._connection.api_key or "not-needed",
            base_url=self._connection.base_url or None,
            max_retries=0,
            timeout=request_timeout(openai.Timeout),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        connection = (self.base_url, self.model)
        if connection in _TEXT_ONLY and not request.tools:
            async for event in self._as_text(request):
                yield event
            return
        try:
            async for event in self._with_tools(request):
                yield event
        except _ToolsRefused as exc:
            if request.tools:
                raise ProviderError(AGENT_NEEDS_TOOLS) from exc
            # Remembered for the process's life: later requests do not pay the refused request again.
            _TEXT_ONLY.add(connection)
            log.info("the server of %s refused tools; asking for the tool's input as text from now on", self.model)
            async for event in self._as_text(request):
                yield event

    def _create(self, request: ModelRequest, system: str, **tools: Any) -> Any:
        return self.client.chat.completions.create(
            model=self.model,
            max_tokens=request.max_tokens,
            messages=[
                ChatCompletionSystemMessageParam(role="system", content=system),
                *(param for m in request.messages for param in _messages(m)),
            ],
            stream=True,
            stream_options={"include_usage": True},
            **tools,
        )

    async def _with_tools(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        usage = UsageReport()
        finish = "end_turn"
        offered = request.tools or [request.tool]
        tools = [
            ChatCompletionToolParam(
                type="function", function={"name": t.name, "description": t.description, "parameters": t.input_schema}
            )
            for t in offered
        ]
        # One forced function, or (agent mode) any of them: every answer is a call.
        choice: Any = "required" if request.tools else {"type": "function", "function": {"name": request.tool.name}}
        content = ContentReader()
        calls = CallReader(only_tool=None if request.tools else request.tool.name)
        try:
            try:
                chunks = await self._create(request, request.system, tools=tools, tool_choice=choice)
            except openai.APIStatusError as exc:
                if refuses_tools(exc.status_code, str(exc.message)):
                    raise _ToolsRefused(str(exc.message)) from exc
                raise
            async with chunks:
                async for chunk in chunks:
                    _count(chunk, usage)
                    for choice in chunk.choices:
                        delta = choice.delta
                        # Reasoning servers send their thinking in `reasoning_content` or `reasoning`: not read.
                        if delta.content:
                            for event in content.feed(delta.content):
                                yield event
                        for call in delta.tool_calls or []:
                            function = call.function
                            name, arguments = (function.name, function.arguments) if function else (None, None)
                            for event in calls.feed(call.index, call.id, name, arguments):
                                yield event
                        if choice.finish_reason:
                            finish = _STOP.get(choice.finish_reason, "end_turn")
        except openai.OpenAIError as exc:
            raise _explain(exc, self.model, self._connection) from exc
        for event in [*content.end(), *calls.end()]:
            yield event
        if finish == "end_turn" and (content.calls or calls.made):
            # llama.cpp and Ollama say "stop" after a call they parsed from the model's text.
            finish = "tool_use"
        yield usage
        yield Finished(finish)  # type: ignore[arg-type]

    async def _as_text(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        """The request without tools, the tool's input asked for as one JSON object and fed on as if it were the call."""
        if request.tool.name == TOOL_NAME:
            # Only a generation has a place to say it (its status line); a plan or an answer just arrives.
            yield Note(FILES_AS_TEXT)
        usage = UsageReport()
        finish = "end_turn"
        text: list[str] = []
        try:
            chunks = await self._create(request, request.system + text_instruction(request.tool))
            async with chunks:
                async for chunk in chunks:
                    _count(chunk, usage)
                    for choice in chunk.choices:
                        text.append(choice.delta.content or "")
                        if choice.finish_reason:
                            finish = _STOP.get(choice.finish_reason, "end_turn")
        except openai.OpenAIError as exc:
            raise _explain(exc, self.model, self._connection) from exc
        yield ToolStart(call_id(), request.tool.name)
        yield ToolDelta(input_from_text("".join(text), request.tool))
        yield usage
        yield Finished("tool_use" if finish == "end_turn" else finish)  # type: ignore[arg-type]


def _count(chunk: Any, usage: UsageReport) -> None:
    if chunk.usage is not None:
        usage.input_tokens = chunk.usage.prompt_tokens or 0
        usage.output_tokens = chunk.usage.completion_tokens or 0
        details = chunk.usage.prompt_tokens_details
        usage.cache_read_tokens = (details.cached_tokens or 0) if details else 0
