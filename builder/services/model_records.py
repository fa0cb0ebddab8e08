"""Model requests that make no version (a plan, an answer to a question), kept as generations of their kind: each ends
`saved` with its tokens, estimated cost and duration, or `failed` with the reason, as a generation of files does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

from builder.errors import GenerationError, ProviderError
from builder.generation.pricing import estimate_cost
from builder.generation.providers.base import Provider, UsageReport
from builder.settings import settings
from builder.store import ProjectStore

T = TypeVar("T")


async def answered(store: ProjectStore, record: int, what: str, call: Awaitable[T]) -> T:
    """`call`'s result within the generation's time limit; a failure ends the record `failed` and is a
    GenerationError in words ("The plan took too long and was stopped.", or the model's failure)."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(settings.generation_timeout_s):
            return await call
    except (GenerationError, ProviderError, TimeoutError) as exc:
        message = f"The {what} took too long and was stopped." if isinstance(exc, TimeoutError) else str(exc)
        await store.finish_generation(record, outcome="failed", error=message, duration_s=round(time.monotonic() - started, 3))
        raise GenerationError(message) from exc
    except BaseException:
        await asyncio.shield(store.finish_generation(record, outcome="failed", error="Stopped."))
        raise


async def saved(
    store: ProjectStore, record: int, provider: Provider, usage: UsageReport, started: float, **fields: object
) -> float | None:
    """End the record `saved` with `fields` (its summary...), its tokens and cost; answers the cost (None: unknown)."""
    cost = estimate_cost(provider.model, usage) if provider.name != "offline" else 0.0
    await store.finish_generation(
        record,
        outcome="saved",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cost_usd=cost or 0.0,
        cost_known=cost is not None,
        duration_s=round(time.monotonic() - started, 3),
        **fields,
    )
    return cost
