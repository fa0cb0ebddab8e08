"""The agent's `ask` tool: its input is the planner's questions (plan_questions.py), one to three of them, and it is
offered only to a run the person can answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from builder.generation.agent_tools import AGENT_TOOLS, ASK_SPEC, ASKING_TOOLS, Ask, ToolInputError, parse_input
from builder.generation.plan_questions import QUESTION_SCHEMA, PlanQuestion
from builder.generation.prompts import answered_task
from builder.state.views import asking_run, chat_entries
from tests.unit.test_views import generation


def test_ask_takes_one_to_three_questions_in_the_planners_shapes() -> None:
    raw = {
        "questions": [
            {"question": " Who may  read the notes? ", "options": ["Only me", "Only me", "Everyone"], "other": False},
            {"question": "What is the shop called?", "answer": "a model's own answer"},
            {"question": "Which colours?"},
            {"question": "A fourth question?"},
        ]
    }
    asked = parse_input("ask", json.dumps(raw))
    assert isinstance(asked, Ask)
    assert [q.question for q in asked.questions] == ["Who may read the notes?", "What is the shop called?", "Which colours?"]
    assert asked.questions[0].options == ["Only me", "Everyone"] and not asked.questions[0].other
    assert asked.questions[1].other and asked.questions[1].answer == ""  # the person answers, never the model


@pytest.mark.parametrize(
    "arguments",
    [
        "{}",
        '{"questions": []}',
        '{"questions": "Who reads it?"}',
        '{"questions": [{"question": "Open?", "options": ["Yes"]}]}',
        '{"questions": [{"options": ["a", "b"]}]}',
        '{"questions": [{"question": "Open?"}',
    ],
)
def test_ask_refuses_what_is_not_questions_in_words_the_model_can_act_on(arguments: str) -> None:
    with pytest.raises(ToolInputError, match="The input of ask is not valid"):
        parse_input("ask", arguments)


def test_only_a_run_that_may_ask_is_offered_the_tool() -> None:
    assert "ask" not in {t.name for t in AGENT_TOOLS}
    assert [t.name for t in ASKING_TOOLS] == [*(t.name for t in AGENT_TOOLS), "ask"]
    assert ASK_SPEC.input_schema["properties"]["questions"]["items"] is QUESTION_SCHEMA


def test_the_run_after_the_answers_reads_the_task_the_steps_and_the_answers() -> None:
    text = answered_task("Add notes", ["Created NOTES.md"], "The person was asked, and answered:\n- Who? Me", True)
    assert text.startswith("Add notes\n\n") and "- Created NOTES.md" in text and text.endswith("do not ask again.")
    assert "- Who? Me" in text and "its edits are in the files now" in text
    # Its change waited for approval and was not accepted: the model is told to make it again.
    unsaved = answered_task("Add notes", [], "", False)
    assert "- (nothing yet)" in unsaved and "none of its edits are in the files" in unsaved


def test_the_conversation_answers_only_the_last_runs_waiting_questions() -> None:
    at = datetime(2026, 11, 29, tzinfo=UTC)
    asked = [PlanQuestion(question="Who reads it?", options=["Me", "All"]), PlanQuestion(question="Its name?")]
    run = generation(at, "Add notes", None, outcome="asking").model_copy(update={"id": 7, "kind": "agent", "questions": asked})
    [entry] = [e for e in chat_entries([], [run]) if e.kind == "questions"]
    assert (entry.run_id, entry.message, entry.detail) == (7, "The agent has questions before it goes on.", "")
    assert asking_run([run]) is run
    # A repair round after it leaves it waiting; a later request of the person's, or answers, do not.
    repair = run.model_copy(update={"id": 8, "kind": "repair", "questions": []})
    assert asking_run([run, repair]) is run
    assert asking_run([run, repair.model_copy(update={"kind": "prompt"})]) is None
    answered = run.model_copy(update={"questions": [q.model_copy(update={"answer": "Me"}) for q in asked]})
    assert asking_run([answered]) is None
    [told] = [e for e in chat_entries([], [answered]) if e.kind == "questions"]
    assert told.detail == "1. Who reads it? Me\n2. Its name? Me"
