"""Offline starter mode: no model, no network. The prompt picks a starter and personalises it.

It answers through the same `emit_file_tree` stream as the real providers, one file per
delta, so the workspace shows files arriving exactly as it does with Claude; asked for a plan
(`propose_plan`), it answers with the fitting starter's own plan.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Mapping

from builder.errors import ProviderError
from builder.generation.offline_edits import COLOURS, colour_named, edit
from builder.generation.offline_fit import CLAUSE, LEADING, decide
from builder.generation.offline_question import picked_starter, starter_question
from builder.generation.plan_questions import split_answers
from builder.generation.planning import PLAN_TOOL, PlanDraft
from builder.generation.providers.base import (
    Finished,
    ModelRequest,
    Provider,
    ProviderEvent,
    ToolDelta,
    UsageReport,
)
from builder.generation.starters import Starter, StarterVariables, load_starters, render_starter
from builder.generation.who_connects import HOW_TO_CONNECT
from builder.text import shorten, trim_dangling

# One sentence for a follow-up offline mode cannot make, so it never ends in silence.
CANNOT_CHANGE = (
    'Offline starter mode can only rename the app, change its texts (\'replace "old" with "new"\', '
    "'change the tagline to ...'), its colour and its light or dark theme; for other changes edit the Code tab, or "
    f"connect a model: {HOW_TO_CONNECT}."
)

# A colour asked of the look: "in green", "with a blue accent", "green colours". A colour word alone is not ("a green
# grocer", "red velvet cake").
_COLOUR_WORDS = "|".join(COLOURS)
_ASK = r"(?:in|with|using)\s+(?:an?\s+|the\s+)?"
_STYLE = re.compile(
    rf"\b(?:{_ASK}(?P<colour>{_COLOUR_WORDS})|(?P<named>{_COLOUR_WORDS})\s+(?:colou?rs?|accents?|theme))\b",
    re.IGNORECASE,
)

# Colours that suit a kind of business, when the person names none.
_THEMES = {
    "bakery": "#d97706", "cafe": "#92400e", "coffee": "#92400e", "barber": "#0f766e", "salon": "#db2777",
    "photograph": "#111827", "restaurant": "#dc2626", "garden": "#16a34a", "fitness": "#ea580c", "gym": "#ea580c",
}  # fmt: skip
# What a request keeps, and two of them as its checks add them: a recipe box's checks add "Lemon cake", not an errand.
# A noun with no examples gets "First <noun>" and "Second <noun>".
_NOUNS: list[tuple[str, str, str, tuple[str, str]]] = [
    (r"\b(todo|to-do|task|errand|chore)s?\b", "task", "tasks", ("Pick up the parcel", "Buy stamps")),
    (r"\brecipes?\b", "recipe", "recipes", ("Lemon cake", "Tomato soup")),
    # Before books: "book a table" is a booking, not a book.
    (
        r"\b(booking|appointment|barber|salon|reservation)s?\b|\bbook\s+(?:a|an|the|your|their|my|our)\b|"
        r"\b(?:can|to)\s+book\b",
        "appointment",
        "appointments",
        ("", ""),
    ),
    (r"\b(blog|post|article)s?\b", "post", "posts", ("Opening day", "Summer plans")),
    (r"\b(journal|diary|diaries)\b", "entry", "entries", ("A walk by the river", "Rainy Sunday")),
    (r"\b(expense|budget|spending)s?\b", "expense", "expenses", ("Train ticket", "Groceries")),
    (r"\bnotes?\b", "note", "notes", ("Ideas for the garden", "Phone numbers")),
    (r"\bhabits?\b", "habit", "habits", ("Drink water", "Read ten pages")),
    (r"\b(book|reading)s?\b", "book", "books", ("The Hobbit", "Pride and Prejudice")),
    (r"\b(shopping|grocery|groceries)\b", "item", "items", ("Milk", "Bread")),
    (r"\b(contact|customer)s?\b", "contact", "contacts", ("Ana Lima", "Ben Okafor")),
    (r"\b(event)s?\b", "event", "events", ("Summer party", "Book club")),
    (r"\bworkouts?\b", "workout", "workouts", ("Morning run", "Yoga class")),
    (r"\bmeals?\b", "meal", "meals", ("Pasta bake", "Chicken curry")),
]


# Whose app it is: "for my barber shop" -> "barber shop"; "for the week" is when, not whose.
_OWNER_NAME = re.compile(
    r"\bfor\s+(?!(?:the\s+|this\s+|next\s+|a\s+)?(?:week|day|month|year|weekend)s?\b)(?:my|our|a|an|the)?\s*"
    r"([\w' &-]{3,40}?)(?=$|[,.;]|\s+(?:with|that|where|which|so|to|in)\b)",
    re.IGNORECASE,
)


# People an app is for, rather than the name of a business: "a recipe box for my family" is the Family Recipe Box.
_PEOPLE = re.compile(
    r"family|kids|children|friends|team|class|classroom|household|roommates|flatmates|parents|partner|students",
    re.IGNORECASE,
)


def _title(prompt: str) -> str:
    text = " ".join(prompt.strip().rstrip(".!").split())
    owner = _OWNER_NAME.search(text)
    thing = re.split(r"\s+for\s+", CLAUSE.split(LEADING.sub("", text), maxsplit=1)[0], maxsplit=1)[0]
    if owner and _PEOPLE.fullmatch(owner.group(1)):
        name = f"{owner.group(1)} {thing}"
    else:
        name = owner.group(1) if owner else thing
    words = [w for w in name.split() if w.lower() not in COLOURS]
    # Five words at most, and not ending on a joining word ("Pizza Night Planner Für").
    words = trim_dangling(words[:5]) if words else ["My", "app"]
    return " ".join(w if w.isupper() else w.capitalize() for w in words)


def _features(prompt: str) -> list[str]:
    features: list[str] = []
    for match in re.finditer(r"\b(?:with|including|featuring)\s+([^.;]+)", prompt, re.IGNORECASE):
        for piece in re.split(r",|\band\b", match.group(1)):
            piece = CLAUSE.split(piece.strip(), maxsplit=1)[0].strip()
            if 2 < len(piece) < 60:
                features.append(piece[0].upper() + piece[1:])
    for match in re.finditer(r"\b(?:i|we|you|people|customers|users|visitors|guests)\s+can\s+([^.;,]+)", prompt, re.IGNORECASE):
        phrase = match.group(1).strip()
        features.append(phrase[0].upper() + phrase[1:])
    # "a tip calculator that splits the bill": what the thing must do is a feature too, built or not.
    for match in re.finditer(r"\b(?:that|which)\s+([^.;,]+?)(?=\s+(?:with|where)\b|[.;,]|$)", prompt, re.IGNORECASE):
        phrase = match.group(1).strip()
        if 2 < len(phrase) < 60:
            features.append(phrase[0].upper() + phrase[1:])
    unique = list(dict.fromkeys(features))
    # "a list I can share with my partner" gives "Share with my partner" and "My partner": the longer one says it.
    return [f for f in unique if not any(f != other and f.lower() in other.lower() for other in unique)][:6]


def colour_asked(prompt: str) -> str | None:
    """The colour the person asked for: one asked as a look ("in blue") first, else any colour word named."""
    # On single spaces: a long run of them would have the pattern's optional spaces tried at each of its places.
    for style in _STYLE.finditer(" ".join(prompt.split())):
        if asked := style.group("colour") or style.group("named"):
            return asked.lower()
    return colour_named(prompt)


def look_done(prompt: str) -> str:
    """What the app's look took from the request, as the summary says it: "Made it green, with a dark theme." or ""."""
    colour, dark = colour_asked(prompt), re.search(r"\bdark\b", prompt, re.IGNORECASE)
    if colour and dark:
        return f"Made it {colour}, with a dark theme."
    if colour or dark:
        return f"Made it {colour}." if colour else "Gave it a dark theme."
    return ""


def personalise(prompt: str, picked: Starter | None = None) -> StarterVariables:
    """The starter's variables for this request; its tagline is the fitting starter's own (`Fit.tagline`), or the
    `picked` one's."""
    lowered = prompt.lower()
    colour = colour_asked(prompt)
    accent = COLOURS[colour] if colour else next((hexa for word, hexa in _THEMES.items() if word in lowered), "#4f46e5")
    noun, plural, examples = next(
        ((n, p, e) for pattern, n, p, e in _NOUNS if re.search(pattern, lowered)), ("item", "items", ("", ""))
    )
    variables = StarterVariables(
        title=shorten(_title(prompt), 120),
        prompt=prompt[:2000],
        features=_features(prompt),
        accent=accent,
        dark=bool(re.search(r"\bdark\b", lowered)),
        item_noun=noun,
        item_noun_plural=plural,
        examples=examples,
    )
    fit = decide(prompt, variables.features, load_starters(), picked)
    tagline = shorten(fit.tagline(variables.item_noun, variables.item_noun_plural), 300)
    return variables.model_copy(update={"tagline": tagline})


class OfflineProvider(Provider):
    name = "offline"
    model = ""

    async def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]:
        if request.tool.name == PLAN_TOOL.name:
            words, answers = split_answers(request.prompt)
            question = None if request.tree or answers else starter_question(words, load_starters())
            answer = {"questions": [question.model_dump()]} if question else offline_plan(request.prompt, request.tree)
            yield ToolDelta(json.dumps(answer) if isinstance(answer, dict) else answer.model_dump_json())
            yield UsageReport()
            yield Finished("tool_use")
            return
        head, files = self._follow_up(request) if request.tree else self._new(request.prompt)
        yield ToolDelta(json.dumps(head, ensure_ascii=False)[:-1] + ', "files": [')
        for index, (path, content) in enumerate(files.items()):
            yield ToolDelta(("," if index else "") + json.dumps({"path": path, "content": content}, ensure_ascii=False))
            await asyncio.sleep(0)
        yield ToolDelta("]}")
        yield UsageReport()
        yield Finished("tool_use")

    def _new(self, request: str) -> tuple[dict[str, object], dict[str, str]]:
        prompt, picked = _picked(request)
        variables = personalise(prompt, picked)
        fit = decide(prompt, variables.features, load_starters(), picked)
        # Only what the starter really does is shown in the app; the rest is named in the summary.
        variables = variables.model_copy(update={"features": fit.built})
        files = render_starter(fit.starter, variables)
        look = look_done(prompt)
        head: dict[str, object] = {
            "title": variables.title,
            "summary": fit.summary(variables.title, variables.item_noun_plural) + (f" {look}" if look else ""),
            "stack": list(fit.starter.stack),
        }
        return head, files

    def _follow_up(self, request: ModelRequest) -> tuple[dict[str, object], dict[str, str]]:
        change = edit(request.prompt, request.tree)
        if not change.files:
            raise ProviderError(CANNOT_CHANGE)
        summary = "Changed offline (no AI): " + "; ".join(change.done) + "."
        if change.not_done:
            names = ", ".join(f"\u201c{part}\u201d" for part in change.not_done)
            summary += f" Not done offline: {names}; connect a model to do them: {HOW_TO_CONNECT}."
        return {"title": change.title, "summary": summary}, change.files


def offline_plan(prompt: str, tree: Mapping[str, str]) -> PlanDraft:
    """The plan offline starter mode really builds: for a new app (no `tree`), the fitting starter's own in the
    person's words; for a change, what its edit of these files would do, or ProviderError when it can do none of it
    (a plan whose Build this could only fail). The person's answer to `starter_question`, after their words, picks the
    starter."""
    prompt, picked = _picked(prompt)
    variables = personalise(prompt, picked)
    if tree:
        change = edit(prompt, tree)
        if not change.files:
            raise ProviderError(CANNOT_CHANGE)
        summary = "Offline starter mode will change: " + "; ".join(change.done) + ". The rest stays as it is."
        if change.not_done:
            names = ", ".join(f"\u201c{part}\u201d" for part in change.not_done)
            summary += f" Not done offline: {names}."
        return PlanDraft(
            title=change.title or variables.title,
            summary=summary,
            pages="The pages stay as they are; only what is asked changes.",
            data="Unchanged.",
            checks=[f"Open the app: it shows this change: {done}" for done in change.done][:10],
        )
    fit = decide(prompt, variables.features, load_starters(), picked)
    starter = fit.starter
    summary = f"Built offline (no AI) from the {starter.title} starter: {starter.description}"
    if fit.not_built or fit.lacks:
        summary += f" Offline it cannot build: {', '.join([*fit.not_built, *fit.lacks])}."
    if starter.plan is None:
        return PlanDraft(title=variables.title, summary=summary, pages=starter.description, data="", checks=[])
    plan = starter.plan.for_app(variables)
    return PlanDraft(title=variables.title, summary=summary, pages=plan.pages, data=plan.data, checks=list(plan.checks))


def _picked(request: str) -> tuple[str, Starter | None]:
    """The person's words, and the starter their answer picked (none when they were not asked)."""
    prompt, answers = split_answers(request)
    return prompt, picked_starter(prompt, answers, load_starters())
