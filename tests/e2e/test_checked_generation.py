"""A person asks for an app; the model's first answer throws at load. Forja runs it, sees the error in a browser,
has it repaired, and the conversation says what happened, with the screenshot. Chromium drives the real page of a
real Forja whose Claude provider talks to the scripted model server (tests/llm_server.py) over the real SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, forja_on_claude
from tests.e2e.test_phone import assert_fits
from tests.integration.test_agent_mode import TALLY
from tests.llm_server import ScriptedLLMServer, ToolAnswer, Usage

PAGE = (
    '<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>Greeting</title>\n'
    "<style>body { font-family: sans-serif; margin: 3rem; } h1 { color: #c2410c; }</style></head>\n"
    '<body>\n<h1 id="greeting">Hello</h1>\n<p>A page that greets whoever opens it.</p>\n'
    '<script src="main.js"></script>\n</body>\n</html>\n'
)
BROKEN = "document.querySelector('#name').textContent = 'Hello, Ana';"
NOT_A_FIX = "document.querySelector('#nom').textContent = 'Hello, Ana';"
FIXED = "document.querySelector('#greeting').textContent = 'Hello, Ana';"


def answer(title: str) -> dict[str, Any]:
    files = {"index.html": PAGE, "main.js": BROKEN + "\n"}
    summary = "A page that greets Ana by name."
    return {"title": title, "summary": summary, "files": [{"path": p, "content": c} for p, c in files.items()]}


def edit(search: str, replace: str) -> dict[str, Any]:
    return {"summary": "Greets the right element.", "edits": [{"path": "main.js", "search": search, "replace": replace}]}


@pytest.fixture(scope="module")
def forja_with_claude(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Forja whose Claude is the scripted server, allowed one automatic repair round."""
    with forja_on_claude(llm, tmp_path_factory.mktemp("checked"), "forja-checked.log", FORJA_AUTO_FIX_ATTEMPTS="1") as base:
        yield base


def build(page: Page, base: str, prompt: str) -> str:
    page.goto(base)
    page.locator("#prompt").fill(prompt)
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    return page.url.rsplit("/", 1)[1]


def screenshot_loaded(page: Page, entry: Any) -> bool:
    image = entry.locator(".check-screenshot img")
    return bool(image.evaluate("img => img.complete && img.naturalWidth > 200"))


def test_a_broken_first_answer_is_repaired_and_the_conversation_shows_the_check(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    llm.queue(
        ToolAnswer(answer("Greeting"), usage=Usage(input_tokens=2000, output_tokens=300)),
        ToolAnswer(edit(BROKEN, FIXED), usage=Usage(input_tokens=2500, output_tokens=60)),
    )
    project_id = build(page, forja_with_claude, "A page that greets Ana")

    checks = page.locator('.chat-entry[data-kind="check"]')
    expect(checks).to_have_count(2, timeout=180_000)
    expect(checks.nth(0)).to_contain_text("with 1 problem left")
    expect(checks.nth(0)).to_contain_text("The page stopped with an error")
    expect(page.locator('.chat-entry[data-kind="repair"]')).to_contain_text("Fixing 1 problem found by the check")
    expect(checks.nth(1)).to_contain_text("Checked: runs, no errors.")
    expect(page.locator("#fix-this")).to_have_count(0)
    assert screenshot_loaded(page, checks.nth(1))
    # Both rounds' tokens, summed for the project.
    expect(page.locator("#project-usage")).to_contain_text("2 generations \u00b7 4,860 tokens")

    # The Preview tab opened by itself, on the repaired app.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    expect(page.frame_locator("#preview-frame").locator("#greeting")).to_have_text("Hello, Ana", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "workspace-checked-repaired.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "workspace-checked-repaired-390.png"), full_page=True)

    checked = httpx.get(f"{forja_with_claude}/api/projects/{project_id}/verifications").json()
    assert [(c["version"], c["status"], c["attempts"]) for c in checked] == [(1, "problems", 0), (2, "passed", 1)]
    assert traffic.off_machine() == [], traffic.off_machine()


def test_problems_left_are_said_plainly_and_fix_this_runs_one_more_round(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    # The automatic round changes the wrong thing (one problem before and after): Forja stops and says so.
    llm.queue(
        ToolAnswer(answer("Greeting two")),
        ToolAnswer(edit(BROKEN, NOT_A_FIX)),
        ToolAnswer(edit(NOT_A_FIX, FIXED)),
    )
    build(page, forja_with_claude, "Another page that greets Ana")
    checks = page.locator('.chat-entry[data-kind="check"]')
    expect(checks).to_have_count(2, timeout=180_000)
    expect(checks.nth(1)).to_contain_text("with 1 problem left")
    expect(checks.nth(1)).to_contain_text("(at /main.js:1)")
    expect(checks.nth(1)).to_contain_text("did not reduce the problems, so Forja stopped repairing")
    fix_this = page.locator("#fix-this")
    expect(fix_this).to_be_visible()
    expect(page.locator("#progress")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "workspace-check-problems-left.png"))

    fix_this.click()
    expect(checks).to_have_count(3, timeout=120_000)
    expect(checks.nth(2)).to_contain_text("Checked: runs, no errors.")
    expect(fix_this).to_have_count(0)
    expect(page.frame_locator("#preview-frame").locator("#greeting")).to_have_text("Hello, Ana", timeout=60_000)
    assert len(llm.requests) >= 3
    assert traffic.off_machine() == [], traffic.off_machine()


GREETS_ANA = """import { test, expect } from '@playwright/test';

test('Open the page: it greets Ana with an exclamation mark', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('#greeting')).toHaveText('Hello, Ana!');
});
"""


def test_a_check_added_in_words_is_written_run_and_repaired(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    working = {"index.html": PAGE, "main.js": FIXED + "\n"}
    built = {
        "title": "Greeting three",
        "summary": "Greets Ana.",
        "files": [{"path": p, "content": c} for p, c in working.items()],
    }
    llm.queue(ToolAnswer(built))
    project_id = build(page, forja_with_claude, "A third page that greets Ana")
    checks = page.locator('.chat-entry[data-kind="check"]')
    expect(checks).to_have_count(1, timeout=180_000)
    expect(checks.nth(0)).to_contain_text("Checked: runs, no errors.")

    # Add check: the model writes the check's file; it fails, and the repair round makes the app pass it.
    llm.queue(
        ToolAnswer(
            {"summary": "Added the check.", "files": [{"path": ".forja/checks/01-greets-ana.spec.js", "content": GREETS_ANA}]}
        ),
        ToolAnswer(edit(FIXED, FIXED.replace("Hello, Ana", "Hello, Ana!"))),
    )
    page.locator("#followup-mode").get_by_role("radio", name="Add check").click()
    page.locator("#followup").fill("Open the page: it greets Ana with an exclamation mark")
    page.locator("#send-followup").click()
    expect(checks).to_have_count(3, timeout=180_000)
    failed, passed = checks.nth(1), checks.nth(2)
    expect(failed.locator('.acceptance-check[data-passed="false"]')).to_contain_text(
        "Open the page: it greets Ana with an exclamation mark"
    )
    expect(failed.locator(".acceptance-why")).to_contain_text("toHaveText('Hello, Ana!')")
    expect(passed).to_contain_text("Checked: runs, no errors. 1 of 1 acceptance check passes.")
    expect(passed.locator('.acceptance-check[data-passed="true"]')).to_have_count(1)
    shot = passed.locator(".acceptance-shot")
    expect(shot).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 100", arg=shot.element_handle())
    asked = llm.requests[-2].text
    assert (
        "The person adds an acceptance check to the app:\\n\\nOpen the page" in asked
        and "`.forja/checks/01-short-name.spec.js`" in asked
    )
    page.screenshot(path=str(ARTIFACTS / "acceptance-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#phone-tab-chat").click()
    passed.scroll_into_view_if_needed()
    assert_fits(page, "acceptance checks, phone")
    page.screenshot(path=str(ARTIFACTS / "acceptance-phone.png"))

    checked = httpx.get(f"{forja_with_claude}/api/projects/{project_id}/verifications").json()
    assert [[a["passed"] for a in c["acceptance"]] for c in checked] == [[], [False], [True]]
    assert traffic.off_machine() == [], traffic.off_machine()


def tool(name: str, **arguments: Any) -> ToolAnswer:
    return ToolAnswer(arguments, tool_name=name)


def test_an_agent_run_lists_its_steps_and_a_held_change_waits_for_accept(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    project_id = httpx.post(f"{forja_with_claude}/api/projects", json={"name": "Tally", "files": TALLY}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja_with_claude}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v1")

    # Agent mode: the run reads, runs the tests (they fail), edits, runs them again (they pass), opens the page.
    llm.queue(
        tool("read_file", path="logic.js"),
        tool("run_command", command="npm test"),
        tool("edit_file", path="logic.js", search="n + 2", replace="n + 1"),
        tool("run_command", command="npm test"),
        tool("open_page", path="/"),
        tool("finish", summary="Add one now adds one, and the tests pass."),
    )
    page.locator("#followup-mode").get_by_role("radio", name="Agent").click()
    expect(page.locator("#agent-options")).to_contain_text("Approve changes")
    page.locator("#followup").fill("The Add button adds two: fix it and make the tests pass")
    page.locator("#send-followup").click()
    steps = page.locator('.chat-entry[data-kind="steps"] .agent-step')
    expect(steps).to_have_count(5, timeout=120_000)
    expect(steps.nth(1)).to_have_attribute("data-ok", "false")
    expect(steps.nth(3)).to_have_attribute("data-ok", "true")
    expect(steps.nth(4).locator(".acceptance-shot")).to_be_visible()
    expect(page.locator('.chat-entry[data-kind="check"]')).to_have_count(1, timeout=180_000)
    expect(page.locator("#version-badge")).to_have_text("v2")
    steps.nth(1).locator("summary").click()
    expect(steps.nth(1).locator(".agent-step-detail")).to_contain_text("next(1) should be 2, got 3")
    page.screenshot(path=str(ARTIFACTS / "agent-desktop.png"))

    # Approve changes on: the next run's change waits, with its diff, until accepted.
    page.locator("#approve-changes").click()
    expect(page.locator("#approve-changes")).to_have_attribute("data-state", "checked")
    llm.queue(
        tool("edit_file", path="index.html", search="<h1>Tally</h1>", replace="<h1>Tally counter</h1>"),
        tool("finish", summary="The heading says Tally counter."),
    )
    page.locator("#followup").fill("Call the heading Tally counter")
    page.locator("#send-followup").click()
    approval = page.locator('.chat-entry[data-kind="approval"]')
    expect(approval).to_contain_text("Waiting for your approval: 1 file changed.", timeout=120_000)
    expect(page.locator("#version-badge")).to_have_text("v2")
    approval.locator("summary", has_text="Show the change").click()
    expect(approval.locator(".diff-file")).to_contain_text("+<body><h1>Tally counter</h1>")
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-chat").click()
    approval.scroll_into_view_if_needed()
    assert_fits(page, "agent approval, phone")
    page.screenshot(path=str(ARTIFACTS / "agent-approval-phone.png"))
    approval.locator("#accept-change").click()
    expect(approval).to_have_count(0, timeout=30_000)
    # Accepted, the change is checked as any change is.
    expect(page.locator('.chat-entry[data-kind="check"]')).to_have_count(2, timeout=120_000)
    project = httpx.get(f"{forja_with_claude}/api/projects/{project_id}", timeout=10).json()
    assert project["current_version"] == 3
    assert traffic.off_machine() == [], traffic.off_machine()
