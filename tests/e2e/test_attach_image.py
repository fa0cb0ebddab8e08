"""A person attaches pictures to a follow-up (picked, pasted, dropped) and the model server receives them.

Chromium drives the real page of a real Forja whose Claude provider talks to the scripted model server
(tests/llm_server.py) over the real SDK; at desktop (1440x900) and phone (390x844) width.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import ARTIFACTS, forja_on_claude
from tests.integration.test_attach_images import PDF
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.pictures import png

SITE = {"index.html": "<!doctype html>\n<h1>Bakery</h1>\n"}
SKETCH = png(64, 48)
PASTED = png(8, 8)
DROPPED = png(16, 16)

# A picture made into a File in the page and handed over as a paste or a drop, the way the browser does it.
SYNTHETIC = """([kind, b64, name]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type: "image/png" }));
  const box = document.getElementById("followup");
  const event = kind === "paste"
    ? new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true })
    : new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true });
  box.dispatchEvent(event);
}"""


@pytest.fixture(scope="module")
def forja_with_claude(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with forja_on_claude(llm, tmp_path_factory.mktemp("attach"), "forja-attach.log", FORJA_VERIFY_GENERATIONS="false") as base:
        yield base


@pytest.mark.parametrize(
    ("name", "viewport"),
    [("desktop", {"width": 1440, "height": 900}), ("phone", {"width": 390, "height": 844})],
)
def test_pictures_attached_to_a_follow_up_reach_the_model(
    forja_with_claude: str, llm: ScriptedLLMServer, page: Page, name: str, viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    project_id = httpx.post(f"{forja_with_claude}/api/projects", json={"name": "Bakery", "files": SITE}).json()["id"]
    page.goto(f"{forja_with_claude}/p/{project_id}")
    if name == "phone":
        page.locator("#phone-tab-chat").click()
    box = page.locator("#followup")
    expect(box).to_be_visible(timeout=30_000)
    chips = page.locator(".attachment-chip")

    # Picked with the paper-clip button's file input.
    with page.expect_file_chooser() as chooser:
        page.locator("#attach-button").click()
    chooser.value.set_files({"name": "sketch.png", "mimeType": "image/png", "buffer": SKETCH})
    expect(chips).to_have_count(1, timeout=15_000)
    expect(chips.first).to_contain_text("sketch.png")
    # Pasted, then dropped, onto the box.
    page.evaluate(SYNTHETIC, ["paste", base64.b64encode(PASTED).decode(), "pasted.png"])
    expect(chips).to_have_count(2, timeout=15_000)
    page.evaluate(SYNTHETIC, ["drop", base64.b64encode(DROPPED).decode(), "dropped.png"])
    expect(chips).to_have_count(3, timeout=15_000)
    for chip in chips.all():
        assert chip.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")

    # A PDF named .png is refused by its bytes, with the reason; the three pictures stay.
    page.locator("#followup-files").set_input_files({"name": "scan.png", "mimeType": "image/png", "buffer": PDF})
    expect(page.locator("#attach-error")).to_have_text("“scan.png” is a PDF; attach a PNG, JPEG, GIF or WebP picture.")
    expect(chips).to_have_count(3)
    # One removed with its x.
    chips.nth(2).locator(".attachment-remove").click()
    expect(chips).to_have_count(2)
    expect(page.locator("#attach-error")).to_have_count(0)
    page.evaluate(SYNTHETIC, ["drop", base64.b64encode(DROPPED).decode(), "dropped.png"])
    expect(chips).to_have_count(3, timeout=15_000)
    box.fill("Make the page look like this sketch")
    page.screenshot(path=str(ARTIFACTS / f"attach-image-{name}.png"))

    # "Use this as the logo": the sketch saved into the project as a file, where the person says, as version 2; the
    # Code tab shows it there, and the pictures stay attached to the message.
    chips.first.locator(".attachment-add").click()
    place = page.locator("#picture-path")
    expect(place).to_have_value("assets/sketch.png")
    place.fill("assets/logo.png")
    page.screenshot(path=str(ARTIFACTS / f"attach-image-to-project-{name}.png"))
    page.locator("#picture-add").click()
    expect(page.locator("#save-notice")).to_have_text("Added as version 2.")
    expect(page.locator("#editor-path")).to_have_text("assets/logo.png")
    expect(page.locator("#binary-view img")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"attach-image-added-{name}.png"))
    raw = httpx.get(f"{forja_with_claude}/api/projects/{project_id}/files/assets/logo.png", params={"raw": "true"})
    assert raw.content == SKETCH
    if name == "phone":
        page.locator("#phone-tab-chat").click()
    expect(chips).to_have_count(3)

    before = len(llm.requests)
    llm.queue(
        ToolAnswer(
            {"title": "Bakery", "summary": "Like the sketch.", "files": [{"path": "index.html", "content": "<h1>Sketch</h1>\n"}]}
        )
    )
    page.locator("#send-followup").click()
    expect(chips).to_have_count(0, timeout=15_000)
    deadline = time.monotonic() + 30
    while len(llm.requests) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    content = llm.requests[before].body["messages"][0]["content"]
    images = [block for block in content if block["type"] == "image"]
    assert [block["source"]["data"] for block in images] == [
        base64.b64encode(picture).decode() for picture in (SKETCH, PASTED, DROPPED)
    ]
    assert all(block["source"]["type"] == "base64" and block["source"]["media_type"] == "image/png" for block in images)
    assert content[-1]["type"] == "text" and "Make the page look like this sketch" in content[-1]["text"]


def test_the_paper_clip_opens_the_chooser_before_the_page_is_connected(forja_with_claude: str, page: Page) -> None:
    # Forja's socket refused, as on a page still connecting (or reconnecting): the chooser opens all the same.
    page.route_web_socket(re.compile(r"/_event"), lambda socket: socket.close())
    page.goto(forja_with_claude)
    # Once the page's own script has drawn the box's hidden file input (a button drawn by the server answers nothing
    # before that, as any page's), and with no socket at all.
    expect(page.locator("#prompt-files")).to_be_attached(timeout=30_000)
    with page.expect_file_chooser(timeout=10_000) as chooser:
        page.locator("#attach-button").click()
    assert chooser.value.is_multiple()
