"""Ask mode through the HTTP API (in process) and the CLI (a subprocess): a question is answered from the project's
files with file and line references, nothing in the project changes, and the answer joins the conversation. Model
answers come from a ScriptedLLMServer reached by the real SDKs; offline, Forja lists the lines with the question's
words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from builder.models import LOCAL_USER_ID
from builder.state.views import chat_entries
from tests.conftest import TEST_ANTHROPIC_KEY
from tests.integration.test_generation_api import Cli
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer, Usage

SHOP = {
    "index.html": b'<!doctype html>\n<h1>Barber</h1>\n<p id="total"></p>\n<script src="prices.js"></script>\n',
    "prices.js": b"const PRICES = { cut: 18, beard: 9 };\n"
    b"export function total(items) {\n  return items.reduce((sum, item) => sum + PRICES[item], 0);\n}\n",
}
ANSWER = {
    "answer": f"The price is added up in prices.js:3, from the list at prices.js:1. (key {TEST_ANTHROPIC_KEY})",
    "references": [
        {"path": "prices.js", "line": 3, "note": "total() sums the prices"},
        {"path": "prices.js", "line": 1, "note": "the price list"},
        {"path": "prices.js", "line": 99, "note": "no such line"},
        {"path": "secrets.env", "line": 1},
    ],
}


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def test_a_question_is_answered_with_places_and_changes_nothing(
    client: httpx.AsyncClient, services: Services, scripted_llm: ScriptedLLMServer
) -> None:
    # A key pasted into a file: the model reads the file with a placeholder in its place (generation/hidden.py).
    secret = "rk_live_" + "barber9c2e41"
    shop = {**SHOP, "pay.js": f"const STRIPE = '{secret}';\n".encode()}
    project_id = (await services.projects.create("Barber", shop, owner=LOCAL_USER_ID)).project_id
    await services.app_env.set(project_id, "STRIPE_KEY", secret, LOCAL_USER_ID)
    scripted_llm.queue(ToolAnswer(ANSWER, tool_name="answer_question", usage=Usage(input_tokens=400, output_tokens=60)))
    response = await client.post(
        f"/api/projects/{project_id}/ask", json={"question": "Where is the price computed?", "provider": "anthropic"}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["answer"].startswith("The price is added up in prices.js:3")
    assert TEST_ANTHROPIC_KEY not in response.text  # a key the model repeated is not kept or shown
    # Only places the project has are kept.
    assert [(r["path"], r["line"]) for r in answer["references"]] == [("prices.js", 3), ("prices.js", 1)]
    assert (answer["version"], answer["input_tokens"], answer["output_tokens"]) == (1, 400, 60)

    # The model read the files numbered by line, through a forced tool call.
    asked = scripted_llm.requests[0]
    assert asked.body["tool_choice"] == {"type": "tool", "name": "answer_question"}
    assert "   3|   return items.reduce" in asked.text and "Where is the price computed?" in asked.text
    assert "const STRIPE = '[hidden: the value of STRIPE_KEY]'" in asked.text and secret not in asked.text

    # Nothing changed: no version, the same files; the question and answer are in the conversation.
    project = (await client.get(f"/api/projects/{project_id}")).json()
    assert project["current_version"] == 1
    assert await services.projects.read_tree(project_id) == shop
    records = await services.generations.records(project_id)
    assert [(g.kind, g.outcome, g.version) for g in records] == [("ask", "saved", None)]
    chat = chat_entries([], records, [], {}, LOCAL_USER_ID)
    assert [(e.kind, e.message) for e in chat] == [
        ("prompt", "Where is the price computed?"),
        ("answer", answer["answer"]),
    ]
    assert [(link.path, link.line) for link in chat[1].links] == [("prices.js", 3), ("prices.js", 1)]
    assert chat[1].links[0].label == "prices.js:3 \u00b7 total() sums the prices"
    usage = (await client.get(f"/api/projects/{project_id}/usage")).json()
    assert (usage["generations"], usage["input_tokens"]) == (1, 400)

    # An answer in words instead of the tool is refused with a sentence; bad requests are 4xx.
    scripted_llm.queue(TextAnswer("It is in prices.js."))
    words = await client.post(f"/api/projects/{project_id}/ask", json={"question": "Where?", "provider": "openai"})
    assert words.status_code == 422 and "answered in words instead of an answer" in words.json()["detail"]
    assert (await client.post(f"/api/projects/{project_id}/ask", json={"question": " "})).status_code == 422
    assert (await client.post("/api/projects/nope/ask", json={"question": "Where?"})).status_code == 404
    empty = await services.projects.create_empty("Nothing yet", owner=LOCAL_USER_ID)
    refused = await client.post(f"/api/projects/{empty}/ask", json={"question": "Where?"})
    assert refused.status_code == 422 and "build it first" in refused.json()["detail"]


async def test_offline_the_cli_lists_the_lines_with_the_words(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    made = cli.json("generate", "A booking page for my barber shop", "--no-verify")
    out = cli.json("ask", made["id"], "Where are the bookings saved?", "--provider", "offline")
    assert out["answer"].startswith("Offline (no model), Forja cannot read questions.")
    assert out["references"], out
    for ref in out["references"]:
        assert ref["path"] in made["files"] and ("booking" in ref["note"].lower() or "saved" in ref["note"].lower())
    text = cli.run("ask", made["id"], "Where are the bookings saved?", "--provider", "offline")
    assert text.returncode == 0 and f"{out['references'][0]['path']}:{out['references'][0]['line']}" in text.stdout
    assert [v["number"] for v in cli.json("history", made["id"])] == [1]  # no version was made
