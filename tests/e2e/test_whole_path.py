"""A person's whole path, at desktop width and on a phone, against a real Forja whose Claude is the scripted server.

Build from a prompt, see the preview, edit the code, point at an element and change its text, attach a picture
to a follow-up about that element, share the app, look back in History, download a version and read the Logs. Each step
is what a person does with the mouse or a thumb; each leaves a screenshot (`path-<width>-<step>.png`) to look at, and
each page and pane passes axe-core's WCAG 2 A/AA rules in light and dark.
"""

from __future__ import annotations

import base64
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.conftest import ARTIFACTS, Traffic, accessible, editor_ready, forja_on_claude
from tests.llm_server import ScriptedLLMServer, ToolAnswer
from tests.pictures import png

WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}

# A React app the way a model writes one: Vite's own layout, with the dev server settings previews need.
PACKAGE = {
    "name": "barber-shop",
    "private": True,
    "version": "0.0.0",
    "type": "module",
    "scripts": {"dev": "vite", "build": "vite build"},
    "dependencies": {"react": "19.3.1", "react-dom": "19.3.1"},
    "devDependencies": {"@vitejs/plugin-react": "6.3.0", "vite": "8.3.8"},
}
VITE_CONFIG = """import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

export default defineConfig({
  plugins: [react()],
  server: { host: '0.0.0.0', port: Number(process.env.PORT) || 5173, strictPort: true, allowedHosts: true },
})
"""
INDEX_HTML = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>Fade &amp; Co</title>
  </head>
  <body>
    <div id="root"></div>
    <script type="module" src="/src/main.jsx"></script>
  </body>
</html>
"""
MAIN_JSX = """import { createRoot } from 'react-dom/client'
import App from './App.jsx'

createRoot(document.getElementById('root')).render(<App />)
"""
APP_JSX = """const slots = ['9:00', '10:30', '12:00', '15:30']

export default function App() {
  return (
    <main style={{ fontFamily: 'system-ui', maxWidth: 560, margin: '2rem auto', padding: '0 1rem' }}>
      <h1>Fade &amp; Co Barbers</h1>
      <p className="tagline">Book a cut in two taps.</p>
      <ul>
        {slots.map((slot) => (
          <li key={slot}>
            <button type="button">{slot}</button>
          </li>
        ))}
      </ul>
    </main>
  )
}
"""


SKETCH_PNG = png(48, 32)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def first_answer() -> dict[str, Any]:
    files = {
        "package.json": json.dumps(PACKAGE, indent=2) + "\n",
        "vite.config.js": VITE_CONFIG,
        "index.html": INDEX_HTML,
        "src/main.jsx": MAIN_JSX,
        "src/App.jsx": APP_JSX,
    }
    return {
        "title": "Fade & Co Barbers",
        "summary": "A booking page with the day's free slots.",
        "files": [{"path": path, "content": content} for path, content in files.items()],
    }


def map_answer() -> dict[str, Any]:
    return {
        "summary": "Adds the address under the tagline, as in the sketch.",
        "edits": [
            {
                "path": "src/App.jsx",
                "search": "      <ul>\n",
                "replace": '      <address className="where">12 Rua Augusta, Lisbon</address>\n      <ul>\n',
            }
        ],
    }


@pytest.fixture(scope="module")
def forja_with_claude(llm: ScriptedLLMServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Checked as every generation is, but never repaired: each model request here is one the person made.
    with forja_on_claude(llm, tmp_path_factory.mktemp("whole-path"), "forja-whole-path.log", FORJA_AUTO_FIX_ATTEMPTS="0") as base:
        yield base


def shot(page: Page, width: str, step: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"path-{width}-{step}.png"))


def show(page: Page, width: str, pane: str) -> None:
    """Bring a pane into view: a tab at desktop width (where the chat is always beside it), the bottom bar on a phone."""
    if pane == "chat" and width == "desktop":
        expect(page.locator(".conversation-pane")).to_be_visible()
        return
    tab = page.locator(f"#phone-tab-{pane}" if width == "phone" else f"#tab-{pane}")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")


def preview(page: Page) -> Any:
    return page.frame_locator("#preview-frame")


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_persons_whole_path(
    width: str, forja_with_claude: str, llm: ScriptedLLMServer, page: Page, browser: Browser, traffic: Traffic, tmp_path
) -> None:
    base = forja_with_claude
    page.set_viewport_size(WIDTHS[width])
    asked = len(llm.requests)

    # Build: describe the app; the workspace opens on the running preview.
    llm.queue(ToolAnswer(first_answer()))
    page.goto(base)
    page.locator("#prompt").fill("A booking page for my barber shop")
    shot(page, width, "1-home")
    accessible(page, "home")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=60_000)
    tab = page.locator("#phone-tab-preview" if width == "phone" else "#tab-preview")
    expect(tab).to_have_attribute("aria-selected", "true", timeout=30_000)
    expect(preview(page).locator("h1")).to_have_text("Fade & Co Barbers", timeout=120_000)
    shot(page, width, "2-preview")
    accessible(page, "workspace, Preview tab")

    # Edit: change the code in Monaco and save; the preview follows.
    show(page, width, "code")
    page.locator('[data-path="src/App.jsx"]').click()
    expect(page.locator("#editor-path")).to_have_text("src/App.jsx")
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Book a cut")
    accessible(page, "workspace, Code tab")
    editor_ready(page)
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+F")
    page.keyboard.type("two taps")
    page.keyboard.press("Escape")
    page.keyboard.type("one tap")
    shot(page, width, "3-edit")
    page.keyboard.press("Control+S")
    expect(page.locator("#version-badge")).to_have_text("v2")
    show(page, width, "preview")
    expect(preview(page).locator(".tagline")).to_have_text("Book a cut in one tap.", timeout=30_000)

    # Select: point at the tagline in the preview and type over it; saved as a version, no model asked.
    tagline = preview(page).locator(".tagline")
    page.locator("#preview-select").click()
    expect(page.locator("#preview-select")).to_have_attribute("aria-pressed", "true")
    expect(tagline).to_have_attribute("data-forja-src", "src/App.jsx:7:7", timeout=30_000)
    tagline.click()
    expect(page.locator("#picked-label")).to_have_text("Editing <p> \u201cBook a cut in one tap.\u201d")
    accessible(page, "workspace, Select mode")
    tagline.dblclick()
    expect(tagline).to_have_attribute("contenteditable", "true")
    page.keyboard.type("Book a cut in one tap, any day.")
    page.keyboard.press("Enter")
    expect(page.locator("#version-badge")).to_have_text("v3", timeout=30_000)
    expect(tagline).to_have_text("Book a cut in one tap, any day.", timeout=30_000)
    shot(page, width, "4-select")
    assert len(llm.requests) == asked + 1, "a text typed into the preview needs no model"

    # Attach a picture to a follow-up about the picked element; the model gets both, the app shows the change.
    llm.queue(ToolAnswer(map_answer()))
    show(page, width, "chat")
    expect(page.locator("#picked-chip")).to_be_visible()
    with page.expect_file_chooser() as chooser:
        page.locator("#attach-button").click()
    chooser.value.set_files({"name": "sketch.png", "mimeType": "image/png", "buffer": SKETCH_PNG})
    expect(page.locator(".attachment-chip")).to_have_count(1, timeout=15_000)
    page.locator("#followup").fill("Put our address under this, as in the sketch")
    shot(page, width, "5-attach")
    accessible(page, "workspace, conversation")
    page.locator("#send-followup").click()
    expect(page.locator("#version-badge")).to_have_text("v4", timeout=60_000)
    expect(page.locator("#picked-chip")).to_have_count(0)
    sent = llm.requests[-1].body["messages"][0]["content"]
    assert sent[0] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(SKETCH_PNG)}}
    assert "Put our address under this" in sent[-1]["text"] and "src/App.jsx" in sent[-1]["text"]
    # The conversation keeps the picture with the message, once the generation is over too.
    sent_picture = page.locator(".chat-entry .sent-picture")
    expect(sent_picture).to_have_count(1, timeout=60_000)
    expect(sent_picture).to_have_js_property("naturalWidth", 48)  # the sketch itself, loaded from the store
    shot(page, width, "5-sent")
    show(page, width, "preview")
    expect(preview(page).locator("address.where")).to_have_text("12 Rua Augusta, Lisbon", timeout=30_000)

    # Share: a stranger opens the link.
    page.locator("#share-button").click()
    page.locator("#create-share").click()
    link = page.locator("#share-link")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{40,}$"))
    shot(page, width, "6-share")
    accessible(page, "share dialog")
    url = link.input_value()
    page.keyboard.press("Escape")
    stranger = browser.new_context(viewport=WIDTHS[width])
    visitor = stranger.new_page()
    visitor.goto(url)
    expect(visitor.frame_locator("iframe").locator("address")).to_have_text("12 Rua Augusta, Lisbon", timeout=120_000)
    visitor.screenshot(path=str(ARTIFACTS / f"path-{width}-6-shared.png"))
    accessible(visitor, "a share link's page")
    stranger.close()

    # History: every step is a version, with what changed.
    show(page, width, "history")
    expect(page.locator(".history-row")).to_have_count(4)
    expect(page.locator('.history-row[data-version="3"]')).to_contain_text("any day")
    page.locator('.history-row[data-version="2"]').click()
    expect(page.locator(".diff-file")).to_contain_text("one tap")
    shot(page, width, "7-history")
    accessible(page, "workspace, History tab")

    # Download: the project as a zip, with the changed source in it.
    with page.expect_download() as download:
        page.locator("#download-version").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        app = next(name for name in archive.namelist() if name.endswith("src/App.jsx"))
        assert "one tap." in archive.read(app).decode() and "any day" not in archive.read(app).decode()
    shot(page, width, "8-download")

    # Logs: what the installs, the dev server and the saves wrote.
    show(page, width, "logs")
    expect(page.locator(".log-line").first).to_be_visible()
    shot(page, width, "9-logs")
    accessible(page, "workspace, Logs tab")

    assert len(llm.requests) == asked + 2
    assert project_id
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"
