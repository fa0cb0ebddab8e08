"""Questions a planner asks before it guesses: up to three, each multiple-choice (2 to 5 options, and the person may
type their own answer unless the question says not) or short-answer (no options).

The model asks through the plan tool's `questions` (builder.generation.planning) only when the answer changes what gets
built, and once: the answers go back to it with the request, and the plan it then drafts keeps them (shown as "You told
us"), as does the generation that builds the plan. Offline starter mode asks the one question that picks between two
starters a prompt fits equally (builder.generation.offline_fit.starter_question).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationError, field_validator

from builder.errors import InvalidInput

MAX_QUESTIONS = 3
MAX_OPTIONS = 5
MAX_QUESTION_CHARS = 300
MAX_OPTION_CHARS = 200
MAX_ANSWER_CHARS = 1000
ANSWERS_HEADING = "The person was asked, and answered:"

# One question as a model writes it: the planner's plan tool and the agent's `ask` tool (agent_tools.py) share it.
QUESTION_SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "description": "One plain question, e.g. 'How long is one booking?'"},
        "options": {
            "type": "array",
            "items": {"type": "string"},
            "maxItems": MAX_OPTIONS,
            "description": "2 to 5 short answers to choose from; none for a question answered in a few words.",
        },
        "other": {
            "type": "boolean",
            "description": "Whether the person may type their own answer instead of an option (default true).",
        },
    },
    "required": ["question"],
}

QUESTIONS_SCHEMA = {
    "type": "array",
    "maxItems": MAX_QUESTIONS,
    "description": "Only when the request leaves open something that changes what gets built (e.g. a booking page's "
    "opening hours or slot length), up to 3 questions for the person instead of a plan; leave the plan's parts empty "
    "then. Never ask again once the person has answered.",
    "items": QUESTION_SCHEMA,
}


class PlanQuestion(BaseModel):
    """A question for the person and, once they answered, their answer."""

    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    options: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS)
    other: bool = Field(default=True, description="Whether an answer of the person's own words is taken.")
    answer: str = Field(default="", max_length=MAX_ANSWER_CHARS)

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return " ".join(value.split()) if isinstance(value, str) else value

    @field_validator("options", mode="after")
    @classmethod
    def _clean_options(cls, value: list[str]) -> list[str]:
        options = list(dict.fromkeys(o for o in (" ".join(option.split()) for option in value) if o))
        if len(options) == 1:
            raise ValueError("a multiple-choice question has 2 to 5 options")
        if too_long := next((o for o in options if len(o) > MAX_OPTION_CHARS), None):
            raise ValueError(f"an option is at most {MAX_OPTION_CHARS} characters: {too_long[:60]!r}...")
        return options


def read_questions(raw: object) -> list[PlanQuestion]:
    """The model's `questions`, as many as are allowed; ValueError when they are not questions."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError("questions is not a list")
    try:
        return [PlanQuestion.model_validate(item) for item in raw[:MAX_QUESTIONS]]
    except ValidationError as exc:
        raise ValueError(str(exc)) from None


def questions_of(stored: str) -> list[PlanQuestion]:
    """A plan's questions as kept in the database (a JSON list)."""
    return [PlanQuestion.model_validate(item) for item in json.loads(stored or "[]")]


def stored(questions: Sequence[PlanQuestion]) -> str:
    return json.dumps([q.model_dump() for q in questions], ensure_ascii=False)


def with_answers(questions: Sequence[PlanQuestion], answers: Sequence[str]) -> list[PlanQuestion]:
    """The questions with the person's `answers` (in the questions' order); InvalidInput, in words, for one missing, one
    too long, or one that is not among the options of a question that takes no answer of the person's own."""
    if len(answers) != len(questions):
        raise InvalidInput(f"Answer each of the {len(questions)} questions: {len(answers)} answers came.")
    done = []
    for number, (question, given) in enumerate(zip(questions, answers, strict=True), 1):
        answer = " ".join(given.split())
        if not answer:
            raise InvalidInput(f"Question {number} (\u201c{question.question}\u201d) has no answer yet.")
        if len(answer) > MAX_ANSWER_CHARS:
            raise InvalidInput(f"The answer to question {number} is longer than {MAX_ANSWER_CHARS} characters.")
        if question.options and not question.other and answer not in question.options:
            choices = ", ".join(f"\u201c{o}\u201d" for o in question.options)
            raise InvalidInput(f"The answer to question {number} is one of {choices}: \u201c{answer[:80]}\u201d is not.")
        done.append(question.model_copy(update={"answer": answer}))
    return done


def answers_text(questions: Sequence[PlanQuestion]) -> str:
    """The answered questions as the model reads them (and offline starter mode: see offline_fit.picked_starter)."""
    lines = "\n".join(f"- {q.question} {q.answer}" for q in questions if q.answer)
    return f"{ANSWERS_HEADING}\n{lines}" if lines else ""


def split_answers(text: str) -> tuple[str, list[str]]:
    """A request that carries `answers_text` at its end: the person's own words, and the answer lines."""
    words, _, answers = text.partition(f"\n\n{ANSWERS_HEADING}\n")
    return words, [line.removeprefix("- ") for line in answers.splitlines() if line.strip()]
