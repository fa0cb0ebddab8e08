"""Offline starter mode: no model, no network. The prompt picks a starter and personalises it.

It answers through the same `emit_file_tree` stream as the real providers, one file per
delta, so the workspace shows files arriving exactly as it does with Claude.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from builder.errors import ProviderError
from builder.generation.providers.base import (
    Finished,
    ModelRequest,
    Provider,
    ProviderEvent,
    ToolDelta,
    UsageReport,
)
from builder.generation.starters import StarterVariables, choose_starter, load_starters, render_starter
from builder.text import shorten, trim_dangling

_COLOURS = {
    "red": "#dc2626", "orange": "#ea580c", "amber": "#d97706", "yellow": "#ca8a04", "green": "#16a34a",
    "teal": "#0d9488", "cyan": "#0891b2", "blue": "#2563eb", "indigo": "#4f46e5", "purple": "#9333ea",
    "violet": "#7c3aed", "pink": "#db2777", "rose": "#e11d48", "brown": "#92400e", "black": "#111827", "gray": "#4b5563",
}  # fmt: skip
# Colours that suit a kind of business, when the person names none.
_THEMES = {
    "bakery": "#d97706", "cafe": "#92400e", "coffee": "#92400e", "barber": "#0f766e", "salon": "#db2777",
    "photograph": "#111827", "restaurant": "#dc2626", "garden": "#16a34a", "fitness": "#ea580c", "gym": "#ea580c",
}  # fmt: skip
_NOUNS = [
    (r"\b(todo|to-do|task)s?\b", "task", "tasks"),
    (r"\brecipes?\b", "recipe", "recipes"),
    (r"\b(booking|appointment|barber|salon|reservation)s?\b", "appointment", "appointments"),
    (r"\b(expense|budget|spending)s?\b", "expense", "expenses"),
    (r"\bnotes?\b", "note", "notes"),
    (r"\bhabits?\b", "habit", "habits"),
    (r"\b(book|reading)s?\b", "book", "books"),
    (r"\b(shopping|grocery|groceries)\b", "item", "items"),
    (r"\b(contact|customer)s?\b", "contact", "contacts"),
    (r"\b(event)s?\b", "event", "events"),
]
_LEADING = re.compile(
    r"^(please\s+)?(build|make|create|write|give me|i want|i need)?\s*(me\s+)?(an?|the|my|some)?\s*", re.IGNORECASE
)
_CLAUSE = re.compile(r"\s+(with|that|which|where|so that|to)\s+", re.IGNORECASE)


def _title(prompt: str) -> str:
    text = " ".join(prompt.strip().rstrip(".!").split())
    owner = re.search(
        r"\bfor\s+(?:my|our|a|an|the)?\s*([\w' &-]{3,40}?)(?=$|[,.;]|\s+(?:with|that|where|which|so|to|in)\b)", text, re.I
    )
    if owner:
        name = owner.group(1)
    else:
        name = _CLAUSE.split(_LEADING.sub("", text), maxsplit=1)[0]
    words = [w for w in name.split() if w.lower() not in _COLOURS]
    # Five words at most, and not ending on a joining word ("Pizza Night Planner Für").
    words = trim_dangling(words[:5]) if words else ["My", "app"]
    return " ".join(w if w.isupper() else w.capitalize() for w in words)


def _features(prompt: str) -> list[str]:
    features: list[str] = []
    for match in re.finditer(r"\b(?:with|including|featuring)\s+([^.;]+)", prompt, re.IGNORECASE):
        for piece in re.split(r",|\band\b", match.group(1)):
            piece = _CLAUSE.split(piece.strip(), maxsplit=1)[0].strip()
            if 2 < len(piece) < 60:
                features.append(piece[0].upper() + piece[1:])
    for match in re.finditer(r"\b(?:where|so)\s+(?:i|you|people|customers|users)\s+can\s+([^.;,]+)", prompt, re.IGNORECASE):
        phrase = match.group(1).strip()
        features.append(phrase[0].upper() + phrase[1:])
    return list(dict.fromkeys(features))[:6]


def personalise(prompt: str) -> StarterVariables:
    lowered = prompt.lower()
    accent = next((hexa for word, hexa in _COLOURS.items() if re.search(rf"\b{word}\b", lowered)), None)
    accent = accent or next((hexa for word, hexa in _THEMES.items() if word in lowered), "#4f46e5")
    noun, plural = next(((n, p) for pattern, n, p in _NOUNS if re.search(pattern, lowered)), ("item", "items"))
    sentence = " ".join(prompt.split())
    return StarterVariables(
        title=shorten(_title(prompt), 120),
        tagline=shorten(sentence[0].upper() + sentence[1:], 300) if sentence else "",
        prompt=prompt[:2000],
        features=_features(prompt),
        accent=accent,
        dark=bool(re.search(r"\bdark\b", lowered)),
        item_noun=noun,
        item_noun_plural=plural,
    )


class OfflineProvider(Provider):
    name = "offline"
    model = ""

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        if request.context_paths or len(request.messages) > 1:
            raise ProviderError(
                "Offline starter mode builds new apps from starters; it cannot change an existing app from a description. "
                "Edit the code in the Code tab, or set ANTHROPIC_API_KEY (or OPENAI_API_KEY) and restart Forja to let AI make changes."
            )
        starters = load_starters()
        starter = choose_starter(request.prompt, starters)
        variables = personalise(request.prompt)
        files = render_starter(starter, variables)
        summary = (
            f"Made \u201c{variables.title}\u201d from the {starter.title} starter, offline (no AI): "
            "the name, colours and texts come from your description. Edit anything in the Code tab."
        )
        head = {"title": variables.title, "summary": summary, "stack": list(starter.stack)}
        yield ToolDelta(json.dumps(head, ensure_ascii=False)[:-1] + ', "files": [')
        for index, (path, content) in enumerate(files.items()):
            yield ToolDelta(("," if index else "") + json.dumps({"path": path, "content": content}, ensure_ascii=False))
            await asyncio.sleep(0)
        yield ToolDelta("]}")
        yield UsageReport()
        yield Finished("tool_use")
