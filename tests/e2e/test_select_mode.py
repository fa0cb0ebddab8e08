"""Select mode in the Preview: point at an element, ask about it, or type over its text (a version, no model)."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, FrameLocator, Locator, Page, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import ARTIFACTS, Traffic, forja_on_claude
from tests.llm_server import ScriptedLLMServer, ToolAnswer

GREETING = (
    '<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>Greeting</title></head>\n'
    "<body>\n<main>\n<h1>Hello</h1>\n<h1>Welcome to the shop</h1>\n</main>\n</body>\n</html>\n"
)

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def build_offline(page: Page, forja: str, prompt: str) -> str:
    page.goto(forja)
    page.locator("#prompt").fill(prompt)
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)
    return page.url.rsplit("/", 1)[1]


def wait_checked(page: Page) -> None:
    """The generation's own check ends before the test saves versions of its own."""
    expect(page.locator('.chat-entry[data-kind="check"]')).to_contain_text("Checked", timeout=180_000)


def assert_outlined(frame: FrameLocator, element: Locator) -> None:
    outline = frame.locator("[data-forja-outline]")
    expect(outline).to_be_visible()
    expect(outline).to_contain_text(f"<{element.evaluate('e => e.tagName.toLowerCase()')}>")
    # The outline glides to its element (a 60 ms transition), and a hover that scrolled the page moves it once more.
    deadline = time.monotonic() + 5
    while True:
        box, target = outline.bounding_box(), element.bounding_box()
        assert box is not None and target is not None
        if all(abs(box[key] - target[key]) <= 2 for key in ("x", "y", "width", "height")):
            return
        assert time.monotonic() < deadline, (box, target)
        time.sleep(0.05)


# Where the outline's tag label is against the page's text above `element`: the lines of text (outside the label) that
# end above the element's top and that the label's box overlaps, the gap to the nearest line above that stands over the
# element's left end (where a label above the element used to go), and whether the label is wholly in view.
LABEL_AGAINST_TEXT_ABOVE = """element => {
  const label = document.querySelector("[data-forja-outline] > div");
  const box = label.getBoundingClientRect();
  const target = element.getBoundingClientRect();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const covered = [];
  let gap = Infinity;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim() || label.contains(node)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const line of range.getClientRects()) {
      if (line.bottom > target.top + 0.5) continue;
      if (line.left < target.left + 40 && line.right > target.left) gap = Math.min(gap, target.top - line.bottom);
      if (line.right > box.left && line.left < box.right && line.bottom > box.top && line.top < box.bottom) {
        covered.push(node.textContent.trim());
      }
    }
  }
  const inView = box.top >= 0 && box.left >= 0 && box.right <= innerWidth && box.bottom <= innerHeight;
  return { covered, gap, inView, height: box.height };
}"""


def assert_label_clear_of_text_above(element: Locator) -> None:
    """The outline's tag label covers none of the page's text above `element`, and is whole in view (readable)."""
    placed = element.evaluate(LABEL_AGAINST_TEXT_ABOVE)
    assert placed["covered"] == [] and placed["inView"] and placed["height"] >= 16, placed
    # Not a vacuous pass: a line of the page's text stands close above, where a label above the element would sit.
    assert placed["gap"] < placed["height"] + 4, placed


def type_over(element: Locator, page: Page, text: str) -> None:
    element.dblclick()
    expect(element).to_have_attribute("contenteditable", "true")
    page.keyboard.type(text)  # the script selected the whole text: typing replaces it
    page.keyboard.press("Enter")


def versions(forja: str, project_id: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{forja}/api/projects/{project_id}/versions", timeout=10)
    answer.raise_for_status()
    return answer.json()


def file_text(forja: str, project_id: str, path: str) -> str:
    answer = httpx.get(f"{forja}/api/projects/{project_id}/files/{path}", params={"raw": "true"}, timeout=10)
    answer.raise_for_status()
    return answer.text


def test_select_a_react_heading_and_type_over_it(forja: str, page: Page, traffic: Traffic) -> None:
    page.set_viewport_size(DESKTOP)
    project_id = build_offline(page, forja, "A todo list with dark mode")
    frame = page.frame_locator("#preview-frame")
    heading = frame.locator("h2", has_text="What you can do")
    expect(heading).to_be_visible(timeout=120_000)
    wait_checked(page)
    # The stored project has no source places: they are in the preview's copy only.
    assert "data-forja-src" not in file_text(forja, project_id, "src/components/Features.jsx")

    # Off, the preview is the app as written: no source places, nothing is outlined.
    expect(heading).not_to_have_attribute("data-forja-src", re.compile("."))
    heading.hover()
    expect(frame.locator("[data-forja-outline]")).to_have_count(0)

    page.locator("#preview-select").click()
    expect(page.locator("#preview-select")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#preview-select-notice")).to_contain_text("Click an element")
    expect(page.locator("#preview-frame")).to_have_attribute("data-selecting", "on")
    # Source places reach the running copy only while Select mode is on (the dev server hot-reloads them).
    expect(heading).to_have_attribute("data-forja-src", "src/components/Features.jsx:7:7", timeout=30_000)
    page.mouse.move(0, 0)
    heading.hover()
    assert_outlined(frame, heading)
    # The app's heading has its title 8 px above it: the tag's label leaves that readable.
    title = frame.locator("h1")
    title.hover()
    assert_outlined(frame, title)
    assert_label_clear_of_text_above(title)
    both_widths(page, "select-mode-label")

    heading.click()
    chip = page.locator("#picked-chip")
    expect(page.locator("#picked-label")).to_have_text("Editing <h2> \u201cWhat you can do\u201d")
    expect(page.locator("#picked-place")).to_have_text("src/components/Features.jsx:7")
    expect(page.locator("#picked-edit")).to_be_visible()
    shot(page, "select-mode-desktop")

    type_over(heading, page, "Things you can do")
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=30_000)
    expect(page.locator("#preview-select-notice")).to_have_text(
        "Saved as version 2 in src/components/Features.jsx: \u201cWhat you can do\u201d \u2192 \u201cThings you can do\u201d."
    )
    expect(chip).to_contain_text("\u201cThings you can do\u201d")
    shot(page, "select-mode-saved")
    # The dev server's hot reload shows the saved source (not just the typed DOM) in the preview.
    expect(frame.locator("h2", has_text="Things you can do")).to_be_visible(timeout=30_000)
    source = file_text(forja, project_id, "src/components/Features.jsx")
    assert ">Things you can do</h2>" in source and "What you can do" not in source and "data-forja-src" not in source
    latest = versions(forja, project_id)[-1]
    assert latest["number"] == 2 and latest["message"] == "Text: \u201cWhat you can do\u201d \u2192 \u201cThings you can do\u201d"

    # Text that is not at the place given is not guessed at: 422 with a sentence, nothing saved.
    missing = httpx.post(
        f"{forja}/api/projects/{project_id}/text",
        json={"old": "Not on the page", "new": "x", "src": "src/components/Features.jsx:7:7"},
        timeout=10,
    )
    assert missing.status_code == 422 and "not written as plain text" in missing.json()["detail"]
    assert httpx.post(f"{forja}/api/projects/{project_id}/text", json={"old": "a", "new": "b"}, timeout=10).status_code == 422
    assert len(versions(forja, project_id)) == 2

    page.locator("#tab-history").click()
    expect(page.locator(".history-row").first).to_contain_text("Things you can do")
    shot(page, "select-mode-history")

    # The chip goes with the element; Select off leaves the app alone again.
    page.locator("#tab-preview").click()
    page.locator("#picked-clear").click()
    expect(chip).to_have_count(0)
    page.locator("#preview-select").click()
    expect(page.locator("#preview-select")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#preview-frame")).to_have_attribute("data-selecting", "off")
    expect(frame.locator("h2", has_text="Things you can do")).not_to_have_attribute("data-forja-src", re.compile("."))
    assert traffic.off_machine() == []


def test_select_on_a_phone_in_a_plain_html_page(forja: str, page: Page, traffic: Traffic) -> None:
    page.set_viewport_size(PHONE)
    project_id = build_offline(page, forja, "A one-page website for Luna Bakery")
    expect(page.locator("#phone-tab-preview")).to_have_attribute("aria-selected", "true", timeout=30_000)
    frame = page.frame_locator("#preview-frame")
    heading = frame.locator("h1").first
    expect(heading).to_contain_text("Luna Bakery", timeout=120_000)
    page.locator("#phone-tab-chat").click()
    wait_checked(page)
    page.locator("#phone-tab-preview").click()

    page.locator("#preview-select").click()
    expect(page.locator("#preview-select")).to_have_attribute("aria-pressed", "true")
    heading.click()
    expect(frame.locator("[data-forja-outline]")).to_be_visible()
    shot(page, "select-mode-phone")

    type_over(heading, page, "Sol Bakery")
    expect(page.locator("#preview-select-notice")).to_contain_text("Saved as version 2")
    # A plain page has no hot reload: the frame loads again and shows the saved file.
    expect(frame.locator("h1").first).to_have_text("Sol Bakery", timeout=30_000)
    assert "<h1>Sol Bakery</h1>" in file_text(forja, project_id, "index.html")

    page.locator("#phone-tab-chat").click()
    expect(page.locator("#picked-label")).to_have_text("Editing <h1> \u201cSol Bakery\u201d")
    expect(page.locator("#picked-place")).to_have_text("index.html")
    expect(page.locator("#picked-chip")).to_be_in_viewport()
    shot(page, "select-mode-phone-chat")

    # Offline, a follow-up that only gives the picked element's new text is saved the same way, no model.
    page.locator("#followup").fill("change it to \u201cSol Breads\u201d")
    page.locator("#send-followup").click()
    expect(page.locator("#version-badge")).to_have_text("v3", timeout=30_000)
    expect(page.locator("#picked-label")).to_have_text("Editing <h1> \u201cSol Breads\u201d")
    expect(page.locator("#followup")).to_have_value("")
    assert "<h1>Sol Breads</h1>" in file_text(forja, project_id, "index.html")
    page.locator("#phone-tab-preview").click()
    expect(frame.locator("h1").first).to_have_text("Sol Breads", timeout=30_000)
    assert traffic.off_machine() == []


def mark_frame(frame: FrameLocator) -> None:
    """A mark on the frame's page that a reload of the page takes away."""
    frame.locator("body").evaluate("() => { window.__beforeSave = true; }")


def wait_reloaded(frame: FrameLocator) -> None:
    """Until the frame's page is a new one (mark_frame's mark is gone)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            if frame.locator("body").evaluate("() => window.__beforeSave === undefined"):
                return
        except PlaywrightError:
            pass  # the page went while it was asked: it is loading again
        assert time.monotonic() < deadline, "the preview did not load again within 30 s"
        time.sleep(0.2)


def both_widths(page: Page, name: str) -> None:
    """The workspace as it is now, at 1440 and on a phone (390), where the Preview is one of the page's tabs."""
    shot(page, f"{name}-1440")
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-preview").click()
    expect(page.locator("#preview-select-notice")).to_be_in_viewport()
    shot(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


def test_typing_over_a_heading_built_from_pieces_saves_only_what_the_app_shows(
    forja: str, page: Page, browser: Browser, traffic: Traffic
) -> None:
    """Issue 52: `<h1>Your {site.itemNounPlural}</h1>` typed over. The part the app works out is refused with a
    sentence and nothing is saved; the written word is saved in the app's file, with the check that quoted the old
    heading, and the frame, a reload, a share link and the export all show the saved heading, never typed words."""
    page.set_viewport_size(DESKTOP)
    project_id = build_offline(page, forja, "A todo list with dark mode")
    frame = page.frame_locator("#preview-frame")
    heading = frame.locator("h1")
    expect(heading).to_have_text(re.compile(r"^Your \w+$"), timeout=120_000)
    old = heading.inner_text()
    noun = old.removeprefix("Your ")
    wait_checked(page)
    page.locator("#preview-select").click()
    expect(heading).to_have_attribute("data-forja-src", re.compile(r"^src/App\.jsx:\d+:\d+$"), timeout=30_000)

    # The whole heading, the worked-out noun too: refused, with why and what to do; no version, no typed words shown.
    mark_frame(frame)
    type_over(heading, page, "Book your cut")
    expect(heading).to_have_text(old)  # the frame put the saved words back as soon as Enter was pressed
    notice = page.locator("#preview-select-notice")
    expect(notice).to_have_text(
        f"Not saved: \u201c{old}\u201d is built from pieces of code in src/App.jsx, and only its written words "
        "(\u201cYour\u201d) can be typed over here. Ask for this change in the follow-up box, or make it in the Code tab.",
        timeout=30_000,
    )
    expect(page.locator(".preview-select-bar")).to_have_attribute("data-failed", "true")
    expect(heading).to_have_text(old, timeout=30_000)
    expect(frame.get_by_text("Book your cut")).to_have_count(0)
    expect(page.locator("#version-badge")).to_have_text("v1")
    assert [v["number"] for v in versions(forja, project_id)] == [1]
    both_widths(page, "select-mode-refused")

    # Only the written word: saved in src/App.jsx, with the acceptance check that quoted the heading, as version 2.
    expect(heading).to_have_attribute("data-forja-src", re.compile("."), timeout=30_000)
    mark_frame(frame)
    type_over(heading, page, f"My {noun}")
    expect(heading).to_have_text(old)  # not yet saved: the frame shows what is
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=30_000)
    expect(notice).to_have_text(
        f"Saved as version 2 in src/App.jsx: \u201c{old}\u201d \u2192 \u201cMy {noun}\u201d. "
        "The app's check 01-open-the-app.spec.js now expects the new words too."
    )
    # The frame loads again, from the saved version.
    wait_reloaded(frame)
    expect(heading).to_have_text(f"My {noun}", timeout=30_000)
    latest = versions(forja, project_id)[-1]
    assert latest["number"] == 2
    source = file_text(forja, project_id, "src/App.jsx")
    assert ">My {site.itemNounPlural}</h1>" in source and "data-forja-src" not in source
    check = file_text(forja, project_id, ".forja/checks/01-open-the-app.spec.js")
    assert f'toHaveText("My {noun}")' in check and f'"Your {noun}"' not in check
    both_widths(page, "select-mode-saved")

    # A reload of the workspace, a share link of the version and its export show the saved heading.
    page.reload()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=30_000)
    page.locator("#tab-preview").click()
    expect(frame.locator("h1")).to_have_text(f"My {noun}", timeout=120_000)
    link = httpx.post(f"{forja}/api/projects/{project_id}/share", json={}, timeout=30).json()["url"]
    visitor = browser.new_context(viewport=DESKTOP)
    shared = visitor.new_page()
    shared.goto(link)
    expect(shared.frame_locator("iframe.app").locator("h1")).to_have_text(f"My {noun}", timeout=180_000)
    visitor.close()
    exported = httpx.get(f"{forja}/api/projects/{project_id}/export", timeout=30)
    exported.raise_for_status()
    with zipfile.ZipFile(io.BytesIO(exported.content)) as archive:
        assert ">My {site.itemNounPlural}</h1>" in archive.read("src/App.jsx").decode()
    assert traffic.off_machine() == []


@pytest.fixture(scope="module")
def forja_with_claude(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with forja_on_claude(llm, tmp_path_factory.mktemp("select"), "forja-select.log", FORJA_VERIFY_GENERATIONS="false") as base:
        yield base


def test_a_follow_up_about_a_picked_element_tells_the_model_which_and_where(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, traffic: Traffic
) -> None:
    first = {"title": "Greeting", "summary": "Two greetings.", "files": [{"path": "index.html", "content": GREETING}]}
    edit = {
        "summary": "The second heading is bigger.",
        "edits": [{"path": "index.html", "search": "<h1>Welcome", "replace": '<h1 style="font-size:3rem">Welcome'}],
    }
    llm.queue(ToolAnswer(first), ToolAnswer(edit))
    page.set_viewport_size(DESKTOP)
    page.goto(forja_with_claude)
    page.locator("#prompt").fill("A page with two greetings")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=60_000)
    page.locator("#tab-preview").click()
    frame = page.frame_locator("#preview-frame")
    second = frame.locator("h1", has_text="Welcome to the shop")
    expect(second).to_be_visible(timeout=120_000)

    page.locator("#preview-select").click()
    expect(page.locator("#preview-frame")).to_have_attribute("data-selecting", "on")
    second.click()
    expect(page.locator("#picked-label")).to_have_text("Editing <h1> \u201cWelcome to the shop\u201d")
    expect(page.locator("#picked-place")).to_have_text("index.html")
    page.locator("#followup").fill("make it bigger")
    page.locator("#send-followup").click()
    expect(page.locator("#version-badge")).to_have_text("v2", timeout=60_000)
    # Sent, the chip goes: the next follow-up is about the whole app again.
    expect(page.locator("#picked-chip")).to_have_count(0)

    asked = json.dumps(llm.requests[-1].body["messages"], ensure_ascii=False)
    assert "make it bigger" in asked
    assert "The person picked this element in the preview; the request is about it: <h1>" in asked
    assert "Its text: \u201cWelcome to the shop\u201d" in asked
    assert "html > body:nth-of-type(1) > main:nth-of-type(1) > h1:nth-of-type(2)" in asked
    # The person's own words are what the conversation shows.
    expect(page.locator('.chat-entry[data-kind="prompt"]').last).to_have_text(re.compile("make it bigger$"))
    assert traffic.off_machine() == []
