"""What offline starter mode can honestly build for a request, and what it must say it did not.

Without a model, Forja can only personalise a starter. A starter fits a request when the thing
asked for is what the starter is (a list app, a one-page site, a JSON API, a posts site); a
feature counts as built only when the starter really does it. Everything else is named in the
summary as not built, so the app never shows "A chart ✓" for a chart that is not there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from builder.generation.starters import EXPLICIT_WEIGHT, PAGE_STARTER, Starter, choose_starter, score_starters

Kind = Literal["list", "page", "api", "posts"]

# What each starter is, by what its files do (see each template.json's description).
STARTER_KINDS: dict[str, Kind] = {
    "react-vite-tailwind": "list",
    "vue-vite": "list",
    "svelte-vite": "list",
    "fullstack-react-fastapi": "list",
    "html": "page",
    "fastapi": "api",
    "express-api": "api",
    "flask": "posts",
}

# Words in the thing asked for that each kind of starter is. "app" alone is not here: a chat app is not a list app.
_THINGS: dict[Kind, str] = {
    "list": r"to-?do|tasks?|lists?|checklists?|trackers?|planners?|organi[sz]ers?|inventory|habits?|recipes?|box|"
    r"collections?|bookings?|appointments?|reservations?|watchlists?|shopping|grocery|groceries|expenses?",
    "page": r"landing|pages?|sites?|website|homepage|portfolio|brochure|one-page|resume|cv",
    "api": r"apis?|rest(?:ful)?|backend|back-end|server|endpoints?|crud|microservice",
    "posts": r"blog|journal|diary|guestbook|posts|articles",
}
# Features every starter has: its colours, light and dark themes, a layout that works on phones.
_COMMON = r"dark(?:\s+mode|\s+theme)?|light(?:\s+mode|\s+theme)?|night\s+mode|themes?|colou?rs?|responsive|mobile"
_CAN_DO: dict[Kind, str] = {
    "list": r"add(?:ing)?|create|remove|delete|complete|done|tick|check(?:ed)?\s+off|mark|search(?:ing)?|filter(?:ing)?|"
    r"find|save|saved|saving|store|persist(?:ent)?|local\s*storage|items?",
    "page": r"hero|features?|opening\s+hours|hours|contact(?:\s+form)?|about(?:\s+(?:me|us))?|sections?|"
    r"call\s+to\s+action",
    "api": r"crud|create|read|update|delete|list|json|endpoints?|rest|docs|openapi|database|sqlite|storage|persist(?:ent)?",
    "posts": r"posts?|add(?:\s+form)?|forms?|delete|titles?|details?|page\s+per\s+post|database|sqlite",
}
# Words that make a feature more than the starter does, even next to one it has ("search by category").
_BEYOND = (
    r"charts?|graphs?|plots?|stats|statistics|analytics|categor(?:y|ies)|tags?|login|log\s+in|sign[\s-]?(?:in|up)|"
    r"auth\w*|accounts?|users?|passwords?|payments?|checkout|cart|upload\w*|images?|photos?|maps?|emails?|"
    r"notifications?|reminders?|calendar|export|import|sync\w*|chat|messag\w*|comments?|ai|split\w*|calculat\w*|"
    r"totals?|sums?|budgets?|share|sharing|multiplayer|realtime|real-time|video|audio|drag"
)

LEADING = re.compile(
    r"^(please\s+)?(build|make|create|write|give me|i want|i need)?\s*(me\s+)?(an?|the|my|some)?\s*", re.IGNORECASE
)
CLAUSE = re.compile(r"\s+(with|that|which|where|so that|to)\s+", re.IGNORECASE)
_OWNER = re.compile(r"\s+for\s+", re.IGNORECASE)

HOW_TO_CONNECT = (
    "these need a model: set ANTHROPIC_API_KEY or OPENAI_API_KEY, or run Ollama on this machine and set "
    "OPENAI_BASE_URL=http://127.0.0.1:11434/v1 and FORJA_OPENAI_MODEL to one of its models, then restart Forja"
)


def _has(pattern: str, text: str) -> bool:
    return re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE) is not None


def thing_asked(prompt: str) -> str:
    """The thing asked for, without its clauses: "a simple expense tracker with a chart" -> "simple expense tracker"."""
    text = " ".join(prompt.strip().rstrip(".!").split())
    head = CLAUSE.split(LEADING.sub("", text), maxsplit=1)[0]
    return _OWNER.split(head, maxsplit=1)[0].strip()


def kinds_for(thing: str) -> list[Kind]:
    return [kind for kind, words in _THINGS.items() if _has(words, thing)]


def can_build(feature: str, kind: Kind | None) -> bool:
    """Whether a starter of `kind` really does `feature`; unknown starters claim nothing."""
    if kind is None or _has(_BEYOND, feature):
        return False
    return _has(_COMMON, feature) or _has(_CAN_DO[kind], feature)


def _lower_first(text: str) -> str:
    """Features are capitalised for the app's cards; inside a sentence "A chart" reads as "a chart"."""
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


@dataclass
class Fit:
    """The starter to use, the features it really has, and what it could not build."""

    starter: Starter
    fits: bool
    thing: str
    built: list[str] = field(default_factory=list)
    not_built: list[str] = field(default_factory=list)

    def summary(self, title: str) -> str:
        if self.fits:
            made = f"Made \u201c{title}\u201d from the {self.starter.title} starter, offline (no AI): {self.starter.description}"
        else:
            made = (
                f"Offline (no AI) there is no starter for \u201c{self.thing}\u201d, so this is only a starting point: "
                f"the {self.starter.title} starter titled \u201c{title}\u201d."
            )
        missing = ""
        if self.not_built:
            names = ", ".join(f"\u201c{_lower_first(item)}\u201d" for item in self.not_built)
            missing = f" Not built offline: {names} ({HOW_TO_CONNECT})."
        return f"{made}{missing} Edit anything in the Code tab."


def decide(prompt: str, features: Sequence[str], starters: Sequence[Starter]) -> Fit:
    """Pick the starter whose kind is the thing asked for, and sort the prompt's features into built and not built.

    A named stack ("in Vue") is kept even when nothing fits; otherwise a request no starter is (a
    tip calculator) gets the one-page site, titled as asked, and the thing itself is listed as not built.
    """
    thing = thing_asked(prompt)
    wanted = kinds_for(thing)
    chosen = choose_starter(prompt, starters)
    fitting = [s for s in starters if STARTER_KINDS.get(s.name) in wanted]
    named = score_starters(prompt, [chosen])[chosen.name] >= EXPLICIT_WEIGHT
    if chosen in fitting:
        starter, fits = chosen, True
    elif fitting and not named:
        starter, fits = choose_starter(prompt, fitting), True
    else:
        page = next((s for s in starters if s.name == PAGE_STARTER), chosen)
        starter, fits = (chosen if named else page), False
    kind = STARTER_KINDS.get(starter.name)
    built = [f for f in features if can_build(f, kind)]
    not_built = [f for f in features if f not in built]
    if not fits:
        not_built.insert(0, thing)
    return Fit(starter=starter, fits=fits, thing=thing, built=built, not_built=not_built)
