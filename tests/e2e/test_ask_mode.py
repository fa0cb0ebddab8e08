"""Ask mode in Chromium, offline, at 1440 and 390 wide: a question in the follow-up box gets an answer with the places
it relies on; a place opens the Code tab on its file with its line selected, and the project opens there again;
nothing in the project changes."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, editor_ready
from tests.e2e.test_phone import assert_fits

FILES = {
    "index.html": '<!doctype html>\n<h1>Barber</h1>\n<p id="total"></p>\n<script type="module" src="prices.js"></script>\n',
    "prices.js": "const PRICES = { cut: 18, beard: 9 };\n\n"
    "export function total(items) {\n  return items.reduce((sum, item) => sum + PRICES[item], 0);\n}\n",
}

# Whether this browser keeps `tab` as project `id`'s (WorkspaceState.chosen_tabs).
CHOSEN_TAB = "([id, tab]) => JSON.parse(localStorage.getItem('forja.tabs') || '{}')[id] === tab"


def ask(page: Page, question: str) -> None:
    page.locator("#followup-mode").get_by_role("radio", name="Ask").click()
    expect(page.locator("#followup")).to_have_attribute(
        "placeholder", "Ask about the project, e.g. \u201cwhere is the price computed?\u201d"
    )
    page.locator("#followup").fill(question)
    page.locator("#send-followup").click()


def shown_place(page: Page) -> tuple[str, int]:
    """The Code tab's open file and the line its selection starts on."""
    return tuple(
        page.evaluate(
            "() => [window.__forjaEditor.getModel().uri.path.replace(/^\\//, ''),"
            " window.__forjaEditor.getSelection().startLineNumber]"
        )
    )


def test_ask_answers_with_places_that_open_the_code_tab(forja: str, page: Page) -> None:
    project_id = httpx.post(f"{forja}/api/projects", json={"name": "Barber prices", "files": FILES}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v1")
    page.locator("#tab-code").click()
    page.locator('.tree-file[data-path="index.html"]').click()  # another file than the answer's
    editor_ready(page)

    ask(page, "Where are the PRICES kept?")
    answer = page.locator('.chat-entry[data-kind="answer"]')
    expect(answer).to_contain_text("Offline (no model), Forja cannot read questions.", timeout=30_000)
    expect(page.locator('.chat-entry[data-kind="prompt"]').last).to_contain_text("Where are the PRICES kept?")
    links = answer.locator(".code-link")
    first_line = links.filter(has_text="prices.js:1 \u00b7")
    expect(first_line).to_contain_text("const PRICES = { cut: 18, beard: 9 };")
    expect(page.locator("#followup")).to_have_value("")
    page.screenshot(path=str(ARTIFACTS / "ask-desktop.png"))

    links.filter(has_text="prices.js:4 \u00b7").click()
    expect(page.locator("#tab-code")).to_have_attribute("aria-selected", "true")
    page.wait_for_function("() => window.__forjaEditor && window.__forjaEditor.getSelection().startLineNumber === 4")
    assert shown_place(page) == ("prices.js", 4)
    page.screenshot(path=str(ARTIFACTS / "ask-opened-desktop.png"))

    # At phone width: the answer is in the Chat pane, and a place switches to the Code pane.
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-chat").click()
    expect(first_line).to_be_visible()
    # Chat is this project's tab in this browser now (tab_memory.py's keeping, in localStorage) ...
    page.wait_for_function(CHOSEN_TAB, arg=[project_id, "chat"])
    assert_fits(page, "ask, phone")
    page.screenshot(path=str(ARTIFACTS / "ask-phone.png"))
    first_line.click()
    expect(page.locator("#phone-tab-code")).to_have_attribute("aria-selected", "true")
    page.wait_for_function("() => window.__forjaEditor && window.__forjaEditor.getSelection().startLineNumber === 1")
    assert shown_place(page) == ("prices.js", 1)
    # ... and the pane the place took them to is the one the project opens on next, not the Chat they last tapped: in a
    # new tab of this browser, which has nothing of this page's state but what the browser keeps.
    page.wait_for_function(CHOSEN_TAB, arg=[project_id, "code"])
    again = page.context.new_page()
    again.set_viewport_size(PHONE)
    again.goto(f"{forja}/p/{project_id}")
    expect(again.locator("#phone-tab-code")).to_have_attribute("aria-selected", "true", timeout=30_000)
    again.close()

    # The question changed nothing, and is kept: a reload shows it and its answer.
    project = httpx.get(f"{forja}/api/projects/{project_id}", timeout=10).json()
    assert project["current_version"] == 1
    page.reload()
    page.locator("#phone-tab-chat").click()
    expect(page.locator('.chat-entry[data-kind="answer"] .code-link', has_text="prices.js:1 \u00b7")).to_be_visible()
