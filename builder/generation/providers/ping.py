"""One request for one token to a connected model: the admin page's "Test it" (builder/services/model_connections.py).
What went wrong is said in words, never with the key or the provider's own text.
"""

from __future__ import annotations

import anthropic
import openai

from builder.generation.providers.stored import Connection

# "Test it" waits this long for the answer of one token, then says nothing answered in time.
TEST_TIMEOUT_S = 10.0


async def ping(kind: str, connection: Connection) -> str | None:
    """None when the model answered; else why not, in words."""
    try:
        await (_ask_claude(connection) if kind == "anthropic" else _ask_openai(connection))
    except (anthropic.APIError, openai.OpenAIError) as exc:
        return _failure(exc, connection)
    return None


async def _ask_claude(connection: Connection) -> None:
    timeout = anthropic.Timeout(TEST_TIMEOUT_S)
    base_url = connection.base_url or None
    async with anthropic.AsyncAnthropic(api_key=connection.api_key, base_url=base_url, max_retries=0, timeout=timeout) as client:
        events = await client.messages.create(
            model=connection.model, max_tokens=1, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        async with events:
            async for _ in events:
                pass


async def _ask_openai(connection: Connection) -> None:
    timeout = openai.Timeout(TEST_TIMEOUT_S)
    api_key = connection.api_key or "not-needed"
    async with openai.AsyncOpenAI(
        api_key=api_key, base_url=connection.base_url or None, max_retries=0, timeout=timeout
    ) as client:
        chunks = await client.chat.completions.create(
            model=connection.model, max_tokens=1, messages=[{"role": "user", "content": "Hi"}], stream=True
        )
        async with chunks:
            async for _ in chunks:
                pass


def _failure(exc: anthropic.APIError | openai.OpenAIError, connection: Connection) -> str:
    """Why the test failed, in words. The provider's own text is left out: some quote part of the key."""
    if isinstance(exc, anthropic.APITimeoutError | openai.APITimeoutError):
        return f"Nothing answered within {TEST_TIMEOUT_S:g} seconds."
    if isinstance(exc, anthropic.APIConnectionError | openai.APIConnectionError):
        return "Nothing answered at that address." if connection.base_url else "Nothing answered: is this machine online?"
    status = getattr(exc, "status_code", None)
    words = {
        401: "The key was refused.",
        403: f"The key may not use the model {connection.model!r}.",
        404: f"The model {connection.model!r} is not known there (or the address is not the API's).",
        429: "Too many requests for this key right now: try again in a minute.",
    }
    return words.get(status, f"It answered with an error (HTTP {status}).") if status else "It did not answer as a model does."
