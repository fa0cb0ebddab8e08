"""OpenAI and compatible servers (OpenRouter, Ollama, vLLM, LM Studio) through the official SDK."""

from __future__ import annotations

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
    Provider,
    ProviderEvent,
    TextDelta,
    ToolDelta,
    ToolStart,
    UsageReport,
    kept_client,
    request_timeout,
)
from builder.generation.providers.stored import Connection
from builder.generation.who_connects import ASK_ADMIN


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
        try:
            chunks = await self.client.chat.completions.create(
                model=self.model,
                max_tokens=request.max_tokens,
                messages=[
                    ChatCompletionSystemMessageParam(role="system", content=request.system),
                    *(param for m in request.messages for param in _messages(m)),
                ],
                tools=tools,
                tool_choice=choice,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        usage.input_tokens = chunk.usage.prompt_tokens or 0
                        usage.output_tokens = chunk.usage.completion_tokens or 0
                        details = chunk.usage.prompt_tokens_details
                        usage.cache_read_tokens = (details.cached_tokens or 0) if details else 0
                    for choice in chunk.choices:
                        delta = choice.delta
                        if delta.content:
                            yield TextDelta(delta.content)
                        for call in delta.tool_calls or []:
                            if call.id and call.function and call.function.name:
                                yield ToolStart(call.id, call.function.name)
                            if call.function and call.function.arguments:
                                yield ToolDelta(call.function.arguments)
                        if choice.finish_reason:
                            finish = {"length": "max_tokens", "tool_calls": "tool_use", "stop": "end_turn"}.get(
                                choice.finish_reason, "end_turn"
                            )
        except openai.OpenAIError as exc:
            raise _explain(exc, self.model, self._connection) from exc
        yield usage
        yield Finished(finish)  # type: ignore[arg-type]
