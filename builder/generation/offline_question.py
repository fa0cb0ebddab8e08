"""Offline starter mode's one question: when a request fits two starters of different kinds equally ("a blog": the
posts site or the one-page site), the offline planner asks which, with the starters' plain names as the options, and
the answer picks the starter for the plan and for the build (builder.generation.providers.offline).

A starter's fit is its score for the request (builder.generation.starters.score_starters): one a keyword, ten a named
stack. A request that names a stack ("a blog in Flask") has decided already and is not asked.
"""

from __future__ import annotations

from collections.abc import Sequence

from builder.generation.offline_fit import STARTER_KINDS, Kind
from builder.generation.plan_questions import PlanQuestion
from builder.generation.starters import EXPLICIT_WEIGHT, Starter, score_starters

QUESTION = "Which of these is closest to what you want?"

# What each kind of starter is, in the words of a person who does not program: the question's options.
PLAIN_NAMES: dict[Kind, str] = {
    "list": "A list you add to, tick off and search",
    "page": "A one-page site: what you offer, opening hours and how to reach you",
    "api": "A service that keeps data for other programs (no pages of its own)",
    "posts": "A site of posts, each on a page of its own, with a form to add them",
    "bookings": "A booking page where customers sign in and pick a day and a time",
}


def plain_name(starter: Starter) -> str:
    kind = STARTER_KINDS.get(starter.name)
    return PLAIN_NAMES[kind] if kind else starter.title


def rivals(prompt: str, starters: Sequence[Starter]) -> tuple[Starter, Starter] | None:
    """The two starters `prompt` fits equally well, when they are of different kinds and nothing fits better."""
    scores = score_starters(prompt, starters)
    ranked = sorted(starters, key=lambda s: -scores[s.name])
    if len(ranked) < 2:
        return None
    first, second = ranked[0], ranked[1]
    best = scores[first.name]
    if not 0 < best < EXPLICIT_WEIGHT or scores[second.name] != best:
        return None
    if len(ranked) > 2 and scores[ranked[2].name] == best:
        return None  # three or more alike: one question of two options cannot settle it
    if STARTER_KINDS.get(first.name) == STARTER_KINDS.get(second.name) or plain_name(first) == plain_name(second):
        return None
    return first, second


def starter_question(prompt: str, starters: Sequence[Starter]) -> PlanQuestion | None:
    """The one question that picks between the two starters `prompt` fits equally; None when one fits best."""
    pair = rivals(prompt, starters)
    if pair is None:
        return None
    return PlanQuestion(question=QUESTION, options=[plain_name(s) for s in pair], other=False)


def picked_starter(prompt: str, answers: Sequence[str], starters: Sequence[Starter]) -> Starter | None:
    """Of the two starters `prompt` fits equally, the one an answer (an `answers_text` line: the question, then the
    answer) names by its plain name; None when none does."""
    pair = rivals(prompt, starters) or ()
    return next((s for line in answers for s in pair if line.endswith(plain_name(s))), None)
