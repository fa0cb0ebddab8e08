"""Cost estimates per model family, in US dollars per million tokens.

Estimates only, for showing people what a generation cost; unknown models cost 0 and say so.
"""

from __future__ import annotations

from builder.generation.providers.base import UsageReport

# (input, output, cache read, cache write) per million tokens, matched by substring of the model name.
_PRICES: list[tuple[str, tuple[float, float, float, float]]] = [
    ("opus", (5.0, 25.0, 0.50, 6.25)),
    ("sonnet", (3.0, 15.0, 0.30, 3.75)),
    ("haiku", (1.0, 5.0, 0.10, 1.25)),
    ("gpt-4.1-mini", (0.40, 1.60, 0.10, 0.0)),
    ("gpt-4.1", (2.0, 8.0, 0.50, 0.0)),
    ("gpt-4o-mini", (0.15, 0.60, 0.075, 0.0)),
    ("gpt-4o", (2.5, 10.0, 1.25, 0.0)),
]


def estimate_cost(model: str, usage: UsageReport) -> float | None:
    lowered = model.lower()
    for fragment, (inp, out, read, write) in _PRICES:
        if fragment in lowered:
            uncached = max(usage.input_tokens - usage.cache_read_tokens, 0) if "gpt" in fragment else usage.input_tokens
            return (
                uncached * inp + usage.output_tokens * out + usage.cache_read_tokens * read + usage.cache_write_tokens * write
            ) / 1_000_000
    return None
