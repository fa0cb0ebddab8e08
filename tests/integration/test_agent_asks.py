"""Agent mode asks before it guesses: the run that calls `ask` ends with what it changed saved and its questions on
its record; the person's answers (checked as a plan's are) start a new run that reads the task, what the first run
did and the answers, and that cannot ask again."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from tests.conftest import TEST_ANTHROPIC_KEY
from tests.integration.test_agent_mode import call, tally
from tests.llm_server import ScriptedLLMServer

TASK = "Add a notes page for the shop"
QUESTIONS = [
    {"question": "Who may read the notes?", "options": ["Only me", "Everyone"], "other": False},
    {"question": "What is the shop called?"},
]


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


def done_of(stream: str) -> dict[str, Any]:
    return json.loads(stream.split("event: done\ndata: ")[1].split("\n")[0])


async def test_the_agent_asks_saves_what_it_did_and_goes_on_with_the_answers(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await tally(services)
    scripted_llm.queue(call("write_file", path="NOTES.md", content="# Notes\n"), call("ask", questions=QUESTIONS))
    response = await client.post(
        f"/api/projects/{project_id}/generate",
        json={"prompt": TASK, "provider": "anthropic", "agent": True, "verify": False},
    )
    assert response.status_code == 200, response.text
    done = done_of(response.text)
    assert done["version"] == 2 and done["message"].startswith("The agent has questions"), done
    run = done["generation_id"]
    assert [q["question"] for q in done["questions"]] == ["Who may read the notes?", "What is the shop called?"]
    assert "ask" in {t["name"] for t in scripted_llm.requests[0].body["tools"]}
    assert (await services.projects.read_file(project_id, "NOTES.md")) == b"# Notes\n"
    [asking] = [g for g in (await client.get(f"/api/projects/{project_id}/generations")).json() if g["kind"] == "agent"]
    assert asking["outcome"] == "asking" and asking["version"] == 2
    assert [(q["question"], q["options"], q["answer"]) for q in asking["questions"]] == [
        ("Who may read the notes?", ["Only me", "Everyone"], ""),
        ("What is the shop called?", [], ""),
    ]

    answers = f"/api/projects/{project_id}/agent/{run}/answers"
    missing = await client.post(answers, json={"answers": ["Only me"], "provider": "anthropic"})
    assert missing.status_code == 422 and "Answer each of the 2 questions" in missing.json()["detail"]
    blank = await client.post(answers, json={"answers": ["Only me", " "], "provider": "anthropic"})
    assert blank.status_code == 422 and "has no answer yet" in blank.json()["detail"]
    assert len(scripted_llm.requests) == 2

    scripted_llm.queue(
        call("edit_file", path="NOTES.md", search="# Notes", replace="# Notes of Bloom & Co"),
        call("finish", summary="A notes file only you read."),
    )
    answered = await client.post(answers, json={"answers": ["Only me", "Bloom & Co"], "provider": "anthropic"})
    assert answered.status_code == 200, answered.text
    second = done_of(answered.text)
    assert second["version"] == 3 and second["generation_id"] != run
    assert (await services.projects.read_file(project_id, "NOTES.md")) == b"# Notes of Bloom & Co\n"

    # The second run's first request: the task, what the first run did, and both answers; no `ask` offered now.
    first = json.dumps(scripted_llm.requests[2].body["messages"][0])
    assert TASK in first and "Created NOTES.md" in first
    assert "Who may read the notes? Only me" in first and "What is the shop called? Bloom & Co" in first
    assert "ask" not in {t["name"] for t in scripted_llm.requests[2].body["tools"]}

    records = {g["id"]: g for g in (await client.get(f"/api/projects/{project_id}/generations")).json()}
    assert records[run]["outcome"] == "answered"
    assert [q["answer"] for q in records[run]["questions"]] == ["Only me", "Bloom & Co"]
    assert records[second["generation_id"]]["outcome"] == "saved"
    assert records[second["generation_id"]]["prompt"] == "Go on with my answers."

    again = await client.post(answers, json={"answers": ["Everyone", "Other"], "provider": "anthropic"})
    assert again.status_code == 409 and "no questions waiting" in again.json()["detail"]
    assert len(scripted_llm.requests) == 4


async def test_with_approve_changes_the_asking_runs_change_waits_and_the_next_run_is_told(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    project_id = await tally(services)
    await services.agent.set_approve_changes(project_id, True)
    question = {"question": f"Use the key {TEST_ANTHROPIC_KEY} for the notes?", "options": ["Yes", "No"]}
    scripted_llm.queue(call("write_file", path="NOTES.md", content="# Notes\n"), call("ask", questions=[question]))
    response = await client.post(
        f"/api/projects/{project_id}/generate",
        json={"prompt": TASK, "provider": "anthropic", "agent": True, "verify": False},
    )
    done = done_of(response.text)
    assert "version" not in done and done["message"].startswith("Waiting for your approval"), done
    assert done["message"].endswith("a new run continues the work with your answers.")
    [waiting] = [g for g in (await client.get(f"/api/projects/{project_id}/generations")).json() if g["kind"] == "agent"]
    assert waiting["outcome"] == "awaiting" and list(waiting["pending"]["writes"]) == ["NOTES.md"]
    # A key the model wrote into its question never reaches the person.
    assert TEST_ANTHROPIC_KEY not in waiting["questions"][0]["question"] and "Use the key" in waiting["questions"][0]["question"]

    # Answered before the change was accepted: the next run is told its edits are not in the files.
    scripted_llm.queue(call("write_file", path="NOTES.md", content="# Notes\n"), call("finish", summary="Notes."))
    answered = await client.post(
        f"/api/projects/{project_id}/agent/{done['generation_id']}/answers",
        json={"answers": ["No"], "provider": "anthropic", "verify": False},
    )
    assert answered.status_code == 200, answered.text
    first = json.dumps(scripted_llm.requests[2].body["messages"][0])
    assert "none of its edits are in the files" in first and "Created NOTES.md" in first
    records = {g["id"]: g for g in (await client.get(f"/api/projects/{project_id}/generations")).json()}
    assert records[done["generation_id"]]["outcome"] == "awaiting"  # still to accept or reject, answered
    assert records[done["generation_id"]]["questions"][0]["answer"] == "No"
