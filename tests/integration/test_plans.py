"""Plan mode through the HTTP API (in process) and the CLI (a subprocess): a plan is proposed, revised in words,
edited in place and built; offline starters answer with their own plan. Model answers come from a ScriptedLLMServer
reached by the real SDKs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from builder.api import api
from builder.composition import Services
from tests.conftest import TEST_ANTHROPIC_KEY
from tests.integration.test_generation_api import SITE, Cli, parse_sse, stored_projects, tool
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer, Usage

PLAN = {
    "title": "Barber bookings",
    "summary": "A page where customers book a haircut.",
    "pages": "Bookings: pick a day and a time, see the bookings.",
    "data": "The bookings, in a database every visitor shares.",
    "checks": ["Open the app: the booking form is shown.", "Book Friday 10:00: it appears in the list."],
}
REVISED = {
    **PLAN,
    "summary": f"Bookings, paid with the key {TEST_ANTHROPIC_KEY}.",
    "checks": [*PLAN["checks"], "Cancel the Friday booking: it is gone from the list."],
}


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as http:
        yield http


async def test_plan_proposed_revised_edited_and_built(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer, services: Services
) -> None:
    scripted_llm.queue(ToolAnswer(PLAN, tool_name="propose_plan", chunks=9, usage=Usage(input_tokens=300, output_tokens=90)))
    response = await client.post("/api/plans", json={"prompt": "Bookings for my barber shop", "provider": "anthropic"})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert (plan["title"], plan["status"], plan["version"], plan["provider"]) == (
        "Barber bookings",
        "proposed",
        None,
        "anthropic",
    )
    assert [(c["number"], c["text"], c["passed"]) for c in plan["checks"]] == [
        (1, PLAN["checks"][0], None),
        (2, PLAN["checks"][1], None),
    ]
    asked = scripted_llm.requests[0].body
    assert asked["tool_choice"] == {"type": "tool", "name": "propose_plan"}
    assert [t["name"] for t in asked["tools"]] == ["propose_plan"]
    project_id = plan["project_id"]
    project = (await client.get(f"/api/projects/{project_id}")).json()
    assert (project["name"], project["current_version"]) == ("Barber bookings", None)  # planned, nothing built

    # Revised in words, through the other SDK: the model is shown the current plan.
    scripted_llm.queue(ToolAnswer(REVISED, tool_name="propose_plan"))
    response = await client.post(
        f"/api/plans/{plan['id']}/revise", json={"request": "Let people cancel a booking", "provider": "openai"}
    )
    assert response.status_code == 200, response.text
    assert [c["text"] for c in response.json()["checks"]] == REVISED["checks"]
    assert TEST_ANTHROPIC_KEY not in response.text  # a key the model wrote into its plan is not kept or shown
    revise_body = scripted_llm.requests[1].body
    assert revise_body["tool_choice"] == {"type": "function", "function": {"name": "propose_plan"}}
    assert "Book Friday 10:00: it appears in the list." in scripted_llm.requests[1].text

    # Edited in place: reordered, one deleted, one added, a part's text changed.
    edited = [REVISED["checks"][1], REVISED["checks"][0], "Book Saturday 9:00: the list shows two bookings."]
    response = await client.put(f"/api/plans/{plan['id']}", json={"checks": edited, "data": "The bookings, kept on the server."})
    assert response.status_code == 200, response.text
    assert [c["text"] for c in response.json()["checks"]] == edited
    assert response.json()["data"] == "The bookings, kept on the server." and response.json()["pages"] == PLAN["pages"]
    refused = await client.put(f"/api/plans/{plan['id']}", json={"checks": []})
    assert refused.status_code == 422 and "at least one acceptance check" in refused.json()["detail"]

    # Build this: the normal generation, whose model reads the edited plan.
    scripted_llm.queue(ToolAnswer(tool(SITE)))
    response = await client.post(f"/api/plans/{plan['id']}/build", json={"provider": "anthropic"})
    assert response.status_code == 200, response.text
    events = parse_sse(response.text)
    assert events[-1][0] == "done" and events[-1][1]["version"] == 1
    build_text = scripted_llm.requests[2].text
    assert "Book Saturday 9:00: the list shows two bookings." in build_text and "kept on the server" in build_text
    assert "Cancel the Friday booking" not in build_text  # deleted in place
    assert scripted_llm.requests[2].body["tool_choice"] == {"type": "tool", "name": "emit_file_tree"}

    built = (await client.get(f"/api/plans/{plan['id']}")).json()
    assert (built["status"], built["version"]) == ("built", 1)
    again = await client.post(f"/api/plans/{plan['id']}/build", json={})
    assert again.status_code == 409 and "built already (version 1)" in again.json()["detail"]
    assert (await client.put(f"/api/plans/{plan['id']}", json={"title": "x"})).status_code == 409
    listed = (await client.get(f"/api/projects/{project_id}/plans")).json()
    assert [(p["id"], p["status"]) for p in listed] == [(plan["id"], "built")]
    generations = (await client.get(f"/api/projects/{project_id}/generations")).json()
    assert [(g["kind"], g["provider"], g["outcome"], g["version"]) for g in generations] == [
        ("plan", "anthropic", "saved", None),
        ("plan", "openai", "saved", None),
        ("prompt", "anthropic", "saved", 1),
    ]
    assert (generations[0]["input_tokens"], generations[0]["output_tokens"]) == (300, 90)
    assert generations[2]["prompt"] == "Bookings for my barber shop"  # the person's words; the model read the plan

    # A plan for a change to the project: the model is told its files.
    scripted_llm.queue(ToolAnswer(PLAN, tool_name="propose_plan"))
    response = await client.post(
        "/api/plans", json={"prompt": "Add a price list", "project_id": project_id, "provider": "anthropic"}
    )
    assert response.status_code == 200 and response.json()["project_id"] == project_id
    assert "index.html" in scripted_llm.requests[3].text
    assert len(await services.plans.of_project(project_id)) == 2


QUESTIONS = {
    "title": "",
    "summary": "",
    "pages": "",
    "data": "",
    "checks": [],
    "questions": [
        {"question": "How long is one booking?", "options": ["30 minutes", "1 hour"], "other": False},
        {"question": "When is the shop open?"},
    ],
}


async def test_the_planner_asks_first_and_plans_and_builds_with_the_answers(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    scripted_llm.queue(ToolAnswer(QUESTIONS, tool_name="propose_plan"))
    response = await client.post("/api/plans", json={"prompt": "A booking page for my barber shop", "provider": "anthropic"})
    assert response.status_code == 200, response.text
    asking = response.json()
    assert (asking["status"], asking["checks"]) == ("asking", [])
    assert [(q["question"], q["options"], q["other"], q["answer"]) for q in asking["questions"]] == [
        ("How long is one booking?", ["30 minutes", "1 hour"], False, ""),
        ("When is the shop open?", [], True, ""),
    ]
    plan_url = f"/api/plans/{asking['id']}"
    # Kept: a reload shows the questions again; nothing else can be done with the plan until they are answered.
    assert (await client.get(plan_url)).json()["questions"] == asking["questions"]
    waits = await client.post(f"{plan_url}/build", json={})
    assert waits.status_code == 409 and "waits for your answers" in waits.json()["detail"]

    # Answers checked before any model is asked.
    missing = await client.post(f"{plan_url}/answers", json={"answers": ["1 hour", " "]})
    assert missing.status_code == 422 and missing.json()["detail"] == (
        "Question 2 (\u201cWhen is the shop open?\u201d) has no answer yet."
    )
    other = await client.post(f"{plan_url}/answers", json={"answers": ["45 minutes", "Tuesday to Saturday, 9 to 18"]})
    assert other.status_code == 422 and "\u201c45 minutes\u201d is not" in other.json()["detail"]
    assert len(scripted_llm.requests) == 1

    scripted_llm.queue(ToolAnswer(PLAN, tool_name="propose_plan"))
    answers = ["1 hour", "Tuesday to Saturday, 9 to 18"]
    response = await client.post(f"{plan_url}/answers", json={"answers": answers, "provider": "openai"})
    assert response.status_code == 200, response.text
    plan = response.json()
    assert (plan["status"], plan["title"], plan["provider"]) == ("proposed", "Barber bookings", "openai")
    assert [q["answer"] for q in plan["questions"]] == answers
    second = scripted_llm.requests[1].text
    assert "How long is one booking? 1 hour" in second and "When is the shop open? Tuesday to Saturday, 9 to 18" in second
    assert (await client.post(f"{plan_url}/answers", json={"answers": answers})).status_code == 409  # asked once

    scripted_llm.queue(ToolAnswer(tool(SITE)))
    built = parse_sse((await client.post(f"{plan_url}/build", json={"provider": "anthropic"})).text)
    assert built[-1][0] == "done" and built[-1][1]["version"] == 1
    build_text = scripted_llm.requests[2].text
    assert "How long is one booking? 1 hour" in build_text and "Tuesday to Saturday, 9 to 18" in build_text
    assert PLAN["checks"][1] in build_text
    kinds = [(g["kind"], g["outcome"]) for g in (await client.get(f"/api/projects/{plan['project_id']}/generations")).json()]
    assert kinds == [("plan", "saved"), ("plan", "saved"), ("prompt", "saved")]


async def test_offline_asks_which_starter_and_builds_the_one_picked(client: httpx.AsyncClient, offline_only: None) -> None:
    asking = (await client.post("/api/plans", json={"prompt": "A blog"})).json()
    [question] = asking["questions"]
    page = next(option for option in question["options"] if option.startswith("A one-page site"))
    plan = (await client.post(f"/api/plans/{asking['id']}/answers", json={"answers": [page]})).json()
    assert plan["status"] == "proposed" and "Plain HTML landing page" in plan["summary"]
    done = parse_sse((await client.post(f"/api/plans/{plan['id']}/build", json={})).text)
    assert done[-1][0] == "done"
    files = [f["path"] for f in (await client.get(f"/api/projects/{plan['project_id']}/files")).json()]
    assert "index.html" in files and "app.py" not in files  # the one-page site, not the posts site


async def test_a_plan_the_model_did_not_give_leaves_no_project(
    client: httpx.AsyncClient, scripted_llm: ScriptedLLMServer
) -> None:
    scripted_llm.queue(TextAnswer("Which days is the shop open?"))
    response = await client.post("/api/plans", json={"prompt": "Bookings", "provider": "anthropic"})
    assert response.status_code == 422
    assert "answered in words instead of a plan" in response.json()["detail"] and "Which days" in response.json()["detail"]
    assert (await client.get("/api/projects")).json()["items"] == []


async def test_offline_plan_path_and_bad_requests(client: httpx.AsyncClient, offline_only: None) -> None:
    response = await client.post("/api/plans", json={"prompt": "A todo list with dark mode"})
    assert response.status_code == 200, response.text
    plan = response.json()
    # The starter's own plan, in the person's words.
    assert plan["provider"] == "offline" and plan["title"] == "Todo List"
    assert "tasks" in plan["pages"] and "kept in this browser" in plan["data"]
    assert plan["checks"][1]["text"] == 'Add the task "Pick up the parcel": it appears in the list.'

    revised = await client.post(f"/api/plans/{plan['id']}/revise", json={"request": "Add due dates"})
    assert revised.status_code == 400 and "edit its parts and checks in place" in revised.json()["detail"]

    response = await client.post(f"/api/plans/{plan['id']}/build", json={})
    events = parse_sse(response.text)
    assert events[-1][0] == "done" and events[-1][1]["version"] == 1
    assert (await client.get(f"/api/plans/{plan['id']}")).json()["status"] == "built"

    blank = await client.post("/api/plans", json={"prompt": "   "})
    assert blank.status_code == 422 and "Describe what you want first" in blank.json()["detail"]
    assert (await client.post("/api/plans", json={"prompt": ""})).status_code == 422
    for method, url in [("GET", "/api/plans/nope"), ("PUT", "/api/plans/nope"), ("POST", "/api/plans/nope/build")]:
        missing = await client.request(method, url, json={})
        assert missing.status_code == 404 and "There is no plan 'nope'" in missing.json()["detail"], (method, url)
    unknown = await client.post("/api/plans", json={"prompt": "x", "project_id": "nope"})
    assert unknown.status_code == 404


async def test_offline_plans_a_change_only_as_far_as_it_can_make_it(client: httpx.AsyncClient, offline_only: None) -> None:
    """Offline starter mode edits an app's texts, name, colour and theme: its plan of a change says which of these it
    will make, and a change it cannot make is refused before any plan offers a Build this that would fail."""
    built = await client.post("/api/plans", json={"prompt": "A todo list with dark mode"})
    await client.post(f"/api/plans/{built.json()['id']}/build", json={})
    project = built.json()["project_id"]

    green = await client.post("/api/plans", json={"prompt": "make it green", "project_id": project})
    assert green.status_code == 200, green.text
    plan = green.json()
    assert plan["summary"].startswith("Offline starter mode will change: made the accent colour green.")
    assert [c["text"] for c in plan["checks"]] == ["Open the app: it shows this change: made the accent colour green"]
    done = parse_sse((await client.post(f"/api/plans/{plan['id']}/build", json={})).text)
    assert done[-1][0] == "done" and done[-1][1]["version"] == 2

    page = await client.post("/api/plans", json={"prompt": "Add a page with our prices", "project_id": project})
    assert page.status_code == 422
    assert page.json()["detail"].startswith("Offline starter mode can only rename the app, change its texts")
    assert (await client.get(f"/api/projects/{project}")).json()["current_version"] == 2


async def test_cli_plans_then_builds_the_plan(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "data")
    planned = cli.json("plan", "A recipe box where I can save and search recipes")
    assert planned["plan_id"] == planned["id"] and planned["status"] == "proposed"
    assert len(planned["checks"]) >= 3 and all(c["passed"] is None for c in planned["checks"])
    [project] = await stored_projects(tmp_path / "data")
    assert (project.id, project.current_version) == (planned["project_id"], None)  # the plan made no version

    out = cli.json("generate", "--from-plan", planned["plan_id"], "--no-verify")
    assert (out["id"], out["version"], out["plan_id"]) == (planned["project_id"], 1, planned["plan_id"])
    assert [c["text"] for c in out["checks"]] == [c["text"] for c in planned["checks"]]
    assert all(c["passed"] is None and c["screenshot"] is None for c in out["checks"])

    # A plan that asks first is answered with plan-answer, its answers in the questions' order.
    asked = cli.json("plan", "A blog")
    assert asked["status"] == "asking" and len(asked["questions"]) == 1
    posts = asked["questions"][0]["options"][0]
    answered = cli.json("plan-answer", asked["plan_id"], posts)
    assert (answered["status"], answered["questions"][0]["answer"]) == ("proposed", posts)
