"""Claude through the official SDK: Messages API, a forced tool (`emit_file_tree`, or `propose_plan`), streamed input.

The raw event stream (`create(stream=True)`) is read rather than `messages.stream()`: the
latter re-parses the whole partial tool input on every delta, which grows quadratically with
a 150 KB file tree.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic.types import (
    AssistantMessageParam,
    Base64ImageSourceParam,
    ContentBlockParam,
    ImageBlockParam,
    MessageParam,
    TextBlockParam,
    ToolChoiceParam,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
    UserMessageParam,
)

from builder.attachments import Picture
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
    ToolResult,
    ToolStart,
    UsageReport,
    kept_client,
    request_timeout,
)
from builder.generation.providers.stored import Connection
from builder.generation.who_connects import ASK_ADMIN


def _explain(exc: anthropic.APIError, model: str) -> ProviderError:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, anthropic.APIConnectionError):
        return TransientProviderError("Could not reach Claude (the connection failed or timed out).")
    if status == 401:
        return ProviderError(f"Claude refused the key. {ASK_ADMIN}")
    if status == 403:
        return ProviderError(f"This key may not use the model {model!r}. {ASK_ADMIN}")
    if status == 404:
        return ProviderError(f"Claude does not know the model {model!r}. {ASK_ADMIN}")
    text = str(getattr(exc, "message", exc))
    if status in TRANSIENT_STATUS or "overloaded" in text.lower() or status is None:
        return TransientProviderError(f"Claude is busy right now ({text}).")
    return ProviderError(f"Claude answered with an error: {text}")


def _arguments(text: str) -> dict[str, Any]:
    """A call's input as the API takes it back: an object (a model that sent broken JSON gets an empty one)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _image(picture: Picture) -> ImageBlockParam:
    source = Base64ImageSourceParam(type="base64", media_type=picture.media_type, data=picture.base64())  # type: ignore[typeddict-item]
    return ImageBlockParam(type="image", source=source)


def _result(result: ToolResult) -> ToolResultBlockParam:
    if not result.images:
        return ToolResultBlockParam(
            type="tool_result", tool_use_id=result.call_id, content=result.content, is_error=result.is_error
        )
    parts: list[TextBlockParam | ImageBlockParam] = [TextBlockParam(type="text", text=result.content)]
    parts += [_image(picture) for picture in result.images]
    return ToolResultBlockParam(type="tool_result", tool_use_id=result.call_id, content=parts, is_error=result.is_error)


def _message(message: Message) -> MessageParam:
    if message.tool_calls:
        calls: list[ContentBlockParam] = [TextBlockParam(type="text", text=message.content)] if message.content else []
        calls += [
            ToolUseBlockParam(type="tool_use", id=call.id, name=call.name, input=_arguments(call.arguments))
            for call in message.tool_calls
        ]
        return AssistantMessageParam(role="assistant", content=calls)
    if message.tool_results:
        results: list[ContentBlockParam] = [_result(r) for r in message.tool_results]
        if message.content:
            results.append(TextBlockParam(type="text", text=message.content))
        return UserMessageParam(role="user", content=results)
    if message.role == "user":
        if message.images:
            blocks: list[ContentBlockParam] = [_image(image) for image in message.images]
            blocks.append(TextBlockParam(type="text", text=message.content))
            return UserMessageParam(role="user", content=blocks)
        return UserMessageParam(role="user", content=message.content)
    return AssistantMessageParam(role="assistant", content=message.content)


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, model: str, connection: Connection) -> None:
        self.model = model
        self.base_url = connection.base_url
        self._connection = connection

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        return kept_client(
            anthropic.AsyncAnthropic,
            api_key=self._connection.api_key,
            base_url=self._connection.base_url or None,
            max_retries=0,
            timeout=request_timeout(anthropic.Timeout),
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        usage = UsageReport()
        stop_reason = "end_turn"
        messages = [_message(m) for m in request.messages]
        offered = request.tools or [request.tool]
        tools = [ToolParam(name=t.name, description=t.description, input_schema=t.input_schema) for t in offered]
        # One forced tool, or (agent mode) any of them: every answer is a call.
        choice: ToolChoiceParam = {"type": "any"} if request.tools else {"type": "tool", "name": request.tool.name}
        try:
            events = await self.client.messages.create(
                model=self.model,
                max_tokens=request.max_tokens,
                # Cached: the system prompt (with the starters' conventions) is the same every call.
                system=[{"type": "text", "text": request.system, "cache_control": {"type": "ephemeral"}}],
                messages=messages,
                tools=tools,
                tool_choice=choice,
                stream=True,
            )
            async with events:
                async for event in events:
                    if event.type == "message_start":
                        start = event.message.usage
                        usage.input_tokens = start.input_tokens or 0
                        usage.cache_read_tokens = start.cache_read_input_tokens or 0
                        usage.cache_write_tokens = start.cache_creation_input_tokens or 0
                    elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                        yield ToolStart(event.content_block.id, event.content_block.name)
                    elif event.type == "content_block_delta":
                        if event.delta.type == "input_json_delta":
                            yield ToolDelta(event.delta.partial_json)
                        elif event.delta.type == "text_delta":
                            yield TextDelta(event.delta.text)
                    elif event.type == "message_delta":
                        stop_reason = event.delta.stop_reason or stop_reason
                        usage.output_tokens = event.usage.output_tokens or usage.output_tokens
        except anthropic.APIError as exc:
            raise _explain(exc, self.model) from exc
        yield usage
        yield Finished("max_tokens" if stop_reason == "max_tokens" else "tool_use" if stop_reason == "tool_use" else "end_turn")
