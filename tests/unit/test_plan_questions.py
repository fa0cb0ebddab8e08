"""The planner's questions: what a model may ask (their shape), which answers are taken, how the answers reach the plan
and the build, and offline starter mode's one question that picks between two starters."""

from __future__ import annotations

import json

import pytest

from builder.errors import GenerationError, InvalidInput
from builder.generation.offline_question import picked_starter, plain_name, starter_question
from builder.generation.plan_questions import (
    PlanQuestion,
    answers_text,
    read_questions,
    split_answers,
    with_answers,
)
from builder.generation.planning import PLAN_TOOL, PlanDraft, _parsed, build_message, draft_plan, plan_request
from builder.generation.providers.offline import OfflineProvider
from builder.generation.starters import get_starter, load_starters

HOURS = PlanQuestion(question="When are you open?", options=["Weekdays 9-17", "Every day 8-20"])
LENGTH = PlanQuestion(question="How long is one booking?", options=["30 minutes", "1 hour"], other=False)
NAME = PlanQuestion(question="What is the shop called?")


def test_questions_keep_their_shape_and_at_most_three_are_taken() -> None:
    raw = [
        {"question": "  When are   you open? ", "options": ["Weekdays", "Weekdays", " Every day "]},
        {"question": "What is the shop called?"},
        {"question": "How long is one booking?", "options": ["30 minutes", "1 hour"], "other": False},
        {"question": "A fourth question?"},
    ]
    questions = read_questions(raw)
    assert [q.question for q in questions] == ["When are you open?", "What is the shop called?", "How long is one booking?"]
    assert questions[0].options == ["Weekdays", "Every day"] and questions[0].other  # duplicates and spaces go
    assert questions[1].options == [] and not questions[2].other
    assert read_questions(None) == []
    for broken in ({"question": "x"}, [{"question": "Open?", "options": ["Yes"]}], [{"options": ["a", "b"]}]):
        with pytest.raises(ValueError):
            read_questions(broken)
    with pytest.raises(ValueError):
        read_questions([{"question": "Which?", "options": ["a", "b", "c", "d", "e", "f"]}])


def test_plan_tool_lets_the_model_ask_and_the_prompt_says_when() -> None:
    assert PLAN_TOOL.input_schema["properties"]["questions"]["maxItems"] == 3
    system = plan_request("A booking page").system
    assert "only what changes what gets built" in system and "Never\n  ask twice" in system


def test_answers_are_checked_in_plain_words() -> None:
    answered = with_answers([HOURS, LENGTH, NAME], ["Saturdays only", "1 hour", "  Tom's   cuts "])
    assert [q.answer for q in answered] == ["Saturdays only", "1 hour", "Tom's cuts"]  # HOURS takes words of their own
    with pytest.raises(InvalidInput, match=r"Question 3 \(\u201cWhat is the shop called\?\u201d\) has no answer yet"):
        with_answers([HOURS, LENGTH, NAME], ["Weekdays 9-17", "1 hour", " "])
    with pytest.raises(
        InvalidInput, match="question 2 is one of \u201c30 minutes\u201d, \u201c1 hour\u201d: \u201c45 minutes\u201d is not"
    ):
        with_answers([HOURS, LENGTH, NAME], ["Weekdays 9-17", "45 minutes", "Tom"])
    with pytest.raises(InvalidInput, match="Answer each of the 3 questions: 2 answers came"):
        with_answers([HOURS, LENGTH, NAME], ["Weekdays 9-17", "1 hour"])


def test_the_answers_reach_the_planner_and_the_build() -> None:
    answered = with_answers([HOURS, LENGTH], ["Every day 8-20", "30 minutes"])
    request = plan_request("A booking page for my barber shop", None, answered)
    text = request.messages[0].content
    assert "When are you open? Every day 8-20" in text and "How long is one booking? 30 minutes" in text
    assert "ask nothing more" in text
    assert split_answers(request.prompt) == (
        "A booking page for my barber shop",
        ["When are you open? Every day 8-20", "How long is one booking? 30 minutes"],
    )
    plan = PlanDraft(title="Barber bookings", checks=["Book Friday 10:00: it appears in the list."])
    message = build_message("A booking page for my barber shop", plan, answered)
    assert answers_text(answered) in message and "Book Friday 10:00" in message
    assert answers_text([HOURS]) == ""  # nothing answered, nothing said


def test_a_model_that_asks_gives_questions_and_an_empty_plan() -> None:
    draft, questions = _parsed(json.dumps({"title": "", "checks": [], "questions": [HOURS.model_dump()]}))
    assert questions == [HOURS] and draft.checks == []
    with pytest.raises(GenerationError, match="not complete or not readable"):
        _parsed(json.dumps({"title": "x", "questions": "when?"}))


@pytest.mark.parametrize(
    ("prompt", "rivals"),
    [("a blog", ["flask", "html"]), ("an event list", ["html", "react-vite-tailwind"])],
)
def test_offline_asks_which_starter_when_a_prompt_fits_two_alike(prompt: str, rivals: list[str]) -> None:
    starters = load_starters()
    question = starter_question(prompt, starters)
    assert question is not None and not question.other
    assert sorted(question.options) == sorted(plain_name(get_starter(name)) for name in rivals)
    for name in rivals:
        line = answers_text(with_answers([question], [plain_name(get_starter(name))]))
        assert picked_starter(prompt, split_answers(f"{prompt}\n\n{line}")[1], starters).name == name  # type: ignore[union-attr]


@pytest.mark.parametrize("prompt", ["a todo list with dark mode", "a blog in Flask", "a landing page for my bakery", "xyz"])
def test_offline_does_not_ask_when_one_starter_fits_best(prompt: str) -> None:
    assert starter_question(prompt, load_starters()) is None


async def test_offline_planner_asks_once_and_the_answer_picks_the_starter() -> None:
    offline = OfflineProvider()
    draft, questions, _ = await draft_plan(offline, plan_request("a blog"))
    [question] = questions
    assert draft.checks == []
    page = plain_name(get_starter("html"))
    answered = with_answers(questions, [page])
    draft, again, _ = await draft_plan(offline, plan_request("a blog", None, answered), may_ask=False)
    assert again == [] and "Plain HTML landing page" in draft.summary and draft.checks
    posts = with_answers(questions, [question.options[0]])
    draft, _, _ = await draft_plan(offline, plan_request("a blog", None, posts), may_ask=False)
    assert "Flask" in draft.summary
