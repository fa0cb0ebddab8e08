"""Plan mode in Chromium, offline: choose Plan first on the home page, read the starter's plan, edit its checks in
place (at 1440 and at 390 wide), Build this, and reach the workspace with a version; the plan is in History. With a
(scripted) model that asks first, the person answers its questions in the plan's form and the plan holds the answers;
an agent run that asks gets the same form in the conversation, and the run after it reads the answers."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, choose_example
from tests.e2e.test_phone import assert_fits
from tests.llm_server import ScriptedLLMServer, ToolAnswer

EDITED = "Open the app: the title Todo List is at the top."
ADDED = "Add \u201cWater the plants\u201d: it appears in the list."


def stored_plan(forja: str, project_id: str, want: list[str]) -> dict:
    """The project's plan once the page has saved its checks as `want` (each edit is saved as its field is left)."""
    deadline = time.monotonic() + 30
    while True:
        [plan] = httpx.get(f"{forja}/api/projects/{project_id}/plans", timeout=10).json()
        if [c["text"] for c in plan["checks"]] == want:
            return plan
        assert time.monotonic() < deadline, f"the plan's checks stayed {plan['checks']}, not {want}"
        time.sleep(0.2)


def test_plan_edit_and_build(forja: str, page: Page, traffic: Traffic) -> None:
    page.set_viewport_size(PHONE)
    page.goto(forja)
    choose_example(page, "A todo list with dark mode")
    page.locator("#mode-plan").click()
    expect(page.locator("#build-button")).to_have_text("Plan it")
    expect(page.locator("#build-button")).to_be_in_viewport(ratio=1)
    assert_fits(page, "home, Plan first, phone")
    page.screenshot(path=str(ARTIFACTS / "plan-home-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "plan-home-desktop.png"))
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]

    card = page.locator("#plan-card")
    expect(card).to_be_visible(timeout=30_000)
    expect(page.locator("#plan-title")).to_have_value("Todo List")
    checks = page.locator(".plan-check textarea")
    expect(checks).to_have_count(6)
    planned = [checks.nth(i).input_value() for i in range(6)]
    assert planned[1] == 'Add the task "Pick up the parcel": it appears in the list.'
    # A plan builds nothing: the project has no version yet.
    assert httpx.get(f"{forja}/api/projects/{project_id}", timeout=10).json()["current_version"] is None
    page.screenshot(path=str(ARTIFACTS / "plan-desktop.png"))

    # Edit the first check's text in place, delete the last, move the second up, add one.
    checks.first.fill(EDITED)
    checks.first.press("Tab")
    page.locator(".plan-check-delete").last.click()
    expect(checks).to_have_count(5)
    page.locator(".plan-check-up").nth(1).click()
    expect(checks.first).to_have_value(planned[1])
    want = [planned[1], EDITED, *planned[2:5]]
    assert stored_plan(forja, project_id, want)["status"] == "proposed"

    # At phone width the plan is in the chat pane, whole.
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-chat").click()
    page.locator("#plan-new-check").fill(ADDED)
    page.locator("#plan-add-check").click()
    expect(checks).to_have_count(6)
    expect(checks.last).to_have_value(ADDED)
    expect(card).to_be_visible()
    assert_fits(page, "plan, phone")
    page.screenshot(path=str(ARTIFACTS / "plan-phone.png"), full_page=False)
    assert stored_plan(forja, project_id, [*want, ADDED])["checks"][-1]["text"] == ADDED

    page.locator("#build-plan").click()
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=60_000)
    expect(card).to_be_hidden()
    built = stored_plan(forja, project_id, [*want, ADDED])
    assert (built["status"], built["version"]) == ("built", 1)

    # The saved version switches the page to its preview; the chat is opened after that switch, not raced by it.
    expect(page.locator("#phone-tab-preview")).to_have_attribute("aria-selected", "true", timeout=30_000)
    # The starter's own acceptance checks ran on the built app, each passed, with the page at its end.
    page.locator("#phone-tab-chat").click()
    check = page.locator('.chat-entry[data-kind="check"]').last
    expect(check).to_contain_text("6 of 6 acceptance checks pass.", timeout=180_000)
    expect(check.locator('.acceptance-check[data-passed="true"]')).to_have_count(6)
    expect(check.locator(".acceptance-check").nth(1)).to_contain_text(planned[1])
    expect(check.locator(".acceptance-shot")).to_have_count(6)
    check.locator(".acceptance-check").last.scroll_into_view_if_needed()
    assert_fits(page, "acceptance checks, phone")
    page.screenshot(path=str(ARTIFACTS / "plan-checks-phone.png"))
    page.set_viewport_size(DESKTOP)
    check.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "plan-checks-desktop.png"))
    page.set_viewport_size(PHONE)

    # History marks the plan's checks the app passed; the edited and the added one were not run (no check has their
    # words).
    page.locator("#phone-tab-history").click()
    expect(page.locator(".history-plan")).to_contain_text("Built as v1", timeout=30_000)
    expect(page.locator(".history-plan")).to_contain_text(f"\u2713 1. {planned[1]}")
    expect(page.locator(".history-plan")).to_contain_text(f"2. {EDITED}")
    expect(page.locator(".history-plan")).not_to_contain_text(f"\u2713 2. {EDITED}")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "plan-history-desktop.png"))

    # A plan of a change, asked in the follow-up box: the request shows as the person's message, the card right below
    # it; a later request's message and answer come below the card, not above it.
    page.locator("#followup-mode").get_by_role("radio", name="Plan first").click()
    page.locator("#followup").fill('replace "Todo" with "Errands"')
    page.locator("#send-followup").click()
    expect(card).to_be_visible(timeout=30_000)
    request = page.locator('.chat-entry[data-kind="prompt"]').last
    expect(request).to_contain_text('replace "Todo" with "Errands"')
    expect(request).to_contain_text("Plan mode")
    assert below(page, "#plan-card", request)
    page.locator("#followup-mode").get_by_role("radio", name="Build").click()
    page.locator("#followup").fill('replace "Add" with "Save"')
    page.locator("#send-followup").click()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=60_000)
    later = page.locator('.chat-entry[data-kind="prompt"]').last
    expect(later).to_contain_text('replace "Add" with "Save"')
    assert below(page, later, "#plan-card")
    page.screenshot(path=str(ARTIFACTS / "plan-in-the-conversation-desktop.png"))


def below(page: Page, lower: str | Locator, upper: str | Locator) -> bool:
    """Whether `lower` follows `upper` in the page (the conversation reads from top to bottom)."""
    low = page.locator(lower) if isinstance(lower, str) else lower
    up = page.locator(upper) if isinstance(upper, str) else upper
    return up.evaluate(
        "(up, low) => !!(up.compareDocumentPosition(low) & Node.DOCUMENT_POSITION_FOLLOWING)", low.element_handle()
    )


QUESTIONS = {
    "title": "",
    "summary": "",
    "pages": "",
    "data": "",
    "checks": [],
    "questions": [
        {"question": "How long is one booking?", "options": ["30 minutes", "1 hour", "2 hours"], "other": False},
        {"question": "When is the shop open?"},
    ],
}
PLAN = {
    "title": "Barber bookings",
    "summary": "Customers book a one-hour haircut while the shop is open.",
    "pages": "Book: pick a day and an hour.",
    "data": "The bookings, in a database every visitor shares.",
    "checks": ["Book Friday 10:00: it appears in the list."],
}
SHOTS = Path("/tmp/ask-shots")


@pytest.fixture
def forja_with_a_model(forja: str, llm: ScriptedLLMServer) -> Iterator[str]:
    """The session's Forja with the scripted model connected (as an admin does on the admin page) for one test, and
    offline again after it: cheaper than a Forja of its own."""
    body = {"kind": "openai", "base_url": llm.openai_base_url, "api_key": "sk-test", "model": "scripted"}
    added = httpx.post(f"{forja}/api/admin/models", json=body, timeout=10)
    assert added.status_code == 201, added.text
    try:
        yield forja
    finally:
        httpx.delete(f"{forja}/api/admin/models/{added.json()['id']}", timeout=10).raise_for_status()


def test_the_planner_asks_and_the_plan_holds_the_answers(
    forja_with_a_model: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    llm.queue(ToolAnswer(QUESTIONS, tool_name="propose_plan"))
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.goto(forja_with_a_model)
    page.locator("#prompt").fill("A booking page for my barber shop")
    page.locator("#mode-plan").click()
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))

    form = page.locator("#plan-questions")
    expect(form).to_be_visible(timeout=30_000)
    expect(page.locator("#plan-card")).to_contain_text("A few questions first")
    expect(page.locator(".plan-check")).to_have_count(0)  # no plan yet, and nothing to build
    # A missing answer is said in words, and nothing is sent to the model.
    page.locator("#plan-continue").click()
    expect(page.locator("#plan-note")).to_contain_text("has no answer yet")
    # Kept while it waits: a reload shows the questions again.
    page.reload()
    expect(form).to_be_visible(timeout=30_000)
    # The options are radio buttons named by their labels; the open question is a text field with a label of its own.
    length = form.get_by_role("group", name="1. How long is one booking?")
    expect(length.get_by_role("radio")).to_have_count(3)
    expect(length.get_by_role("textbox")).to_have_count(0)  # this question takes one of its options only
    length.get_by_text("1 hour").click()
    expect(length.get_by_role("radio", name="1 hour")).to_be_checked()
    page.get_by_role("textbox", name="Your own answer to question 2").fill("Tuesday to Saturday, 9 to 18")
    form.screenshot(path=str(SHOTS / "questions-1440.png"))
    page.screenshot(path=str(SHOTS / "workspace-1440.png"))
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-chat").click()
    expect(form).to_be_visible()
    assert_fits(page, "the planner's questions, phone")
    page.screenshot(path=str(SHOTS / "questions-390.png"))

    llm.queue(ToolAnswer(PLAN, tool_name="propose_plan"))
    page.locator("#plan-continue").click()
    told = page.locator("#plan-told")
    expect(told).to_contain_text("How long is one booking? 1 hour", timeout=30_000)
    expect(told).to_contain_text("When is the shop open? Tuesday to Saturday, 9 to 18")
    expect(page.locator("#plan-title")).to_have_value("Barber bookings")
    expect(page.locator("#build-plan")).to_be_visible()
    page.screenshot(path=str(SHOTS / "plan-390.png"))
    page.set_viewport_size(DESKTOP)
    page.locator("#plan-card").screenshot(path=str(SHOTS / "plan-1440.png"))
    second = json.dumps(llm.requests[-1].body["messages"], ensure_ascii=False)
    assert "How long is one booking? 1 hour" in second and "When is the shop open? Tuesday to Saturday, 9 to 18" in second
    assert traffic.off_machine() == []


AGENT_QUESTIONS = [
    {"question": "What should Add one add?", "options": ["One", "Two"], "other": False},
    {"question": "What is the counter called?"},
]
AGENT_SHOTS = Path("/tmp/agentask-shots")


def test_the_agent_asks_and_the_next_run_reads_the_answers(
    forja_with_a_model: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    files = {
        "index.html": "<!doctype html>\n<h1>Tally</h1>\n<script src='logic.js'></script>\n",
        "logic.js": "next = n => n + 2;\n",
    }
    made = httpx.post(f"{forja_with_a_model}/api/projects", json={"name": "Tally", "files": files}, timeout=30)
    project_id = made.json()["id"]
    AGENT_SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja_with_a_model}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v1")

    # It asks before it changes anything: no version, its questions as the plan's form.
    llm.queue(ToolAnswer({"questions": AGENT_QUESTIONS}, tool_name="ask"))
    page.locator("#followup-mode").get_by_role("radio", name="Agent").click()
    page.locator("#followup").fill("Fix the Add button")
    page.locator("#send-followup").click()
    form = page.locator("#agent-questions")
    expect(form).to_be_visible(timeout=30_000)
    expect(page.locator('.chat-entry[data-kind="questions"]')).to_contain_text("The agent has questions")
    page.locator("#agent-continue").click()
    expect(page.locator("#agent-questions-note")).to_contain_text("has no answer yet")
    adds = form.get_by_role("group", name="1. What should Add one add?")
    adds.get_by_text("One", exact=True).click()
    expect(adds.get_by_role("radio", name="One", exact=True)).to_be_checked()
    page.get_by_role("textbox", name="Your own answer to question 2").fill("Visitors")
    page.screenshot(path=str(AGENT_SHOTS / "agent-questions-1440.png"))
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-chat").click()
    form.scroll_into_view_if_needed()
    assert_fits(page, "the agent's questions, phone")
    page.screenshot(path=str(AGENT_SHOTS / "agent-questions-390.png"))

    # Continue: a new run goes on; its first request holds the task and both answers. It ends without a change here.
    asked = len(llm.requests)
    llm.queue(ToolAnswer({"summary": "Nothing to change."}, tool_name="finish"))
    page.locator("#agent-continue").click()
    expect(form).to_have_count(0, timeout=30_000)
    expect(page.locator('.chat-entry[data-kind="questions"]')).to_contain_text("2. What is the counter called? Visitors")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(AGENT_SHOTS / "agent-answered-1440.png"))
    first = json.dumps(llm.requests[asked].body["messages"][:2], ensure_ascii=False)
    assert "Fix the Add button" in first
    assert "What should Add one add? One" in first and "What is the counter called? Visitors" in first
    assert traffic.off_machine() == []
