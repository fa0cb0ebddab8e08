"""One forced tool call to the model, for the answers that are not a file tree: a plan, an answer to a question.

The model must answer through `request.tool`; its JSON text comes back whole, with what it cost. A busy provider is
retried as a generation is; an answer in words, or one cut off at the output limit, is a GenerationError that says so.
"""

from __future__ import annotations

import asyncio

from builder.errors import GenerationError, TransientProviderError
from builder.generation.providers.base import Finished, ModelRequest, Provider, TextDelta, ToolDelta, UsageReport
from builder.settings import settings


async def _once(provider: Provider, request: ModelRequest, usage: UsageReport, what: str) -> str:
    tool_text: list[str] = []
    prose: list[str] = []
    stop = "end_turn"
    async for event in provider.stream(request):
        if isinstance(event, ToolDelta):
            tool_text.append(event.partial_json)
        elif isinstance(event, TextDelta):
            prose.append(event.text)
        elif isinstance(event, UsageReport):
            usage.add(event)
        elif isinstance(event, Finished):
            stop = event.stop_reason
    if stop == "max_tokens":
        raise GenerationError(f"The {what} was cut off at the model's output limit, so it was not kept. Ask for less.")
    if not tool_text:
        snippet = " ".join("".join(prose).split())[:240]
        article = "an" if what[0] in "aeiou" else "a"
        raise GenerationError(f"The model answered in words instead of {article} {what}: \u201c{snippet}\u201d")
    return "".join(tool_text)


async def call_tool(provider: Provider, request: ModelRequest, what: str) -> tuple[str, UsageReport]:
    """The JSON text of the model's call of `request.tool`, and its usage (summed over retries); `what` ("plan",
    "answer") names it in the error messages."""
    usage = UsageReport()
    for attempt in range(1, settings.retry_attempts + 1):
        try:
            return await _once(provider, request, usage, what), usage
        except TransientProviderError as exc:
            if attempt == settings.retry_attempts:
                raise GenerationError(f"{exc} Tried {attempt} times; no {what} was made. Try again in a minute.") from exc
            await asyncio.sleep(settings.retry_base_delay_s * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
