"""Workspace polish from issue 15, as a new user meets it: reloads, logs, keyboard, phone, offline."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS

PLAIN_HTML = {
    "index.html": "<!doctype html>\n<title>Bakery</title>\n<h1>Fresh bread at seven</h1>\n",
    "style.css": "h1 { color: brown; }\n",
}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def make_project(forja: str, name: str, files: dict[str, str]) -> str:
    response = httpx.post(f"{forja}/api/projects", json={"name": name, "files": files})
    response.raise_for_status()
    return response.json()["id"]


def test_a_saved_edit_to_a_plain_html_page_reloads_the_preview_by_itself(forja: str, page: Page) -> None:
    project_id = make_project(forja, "Bakery", PLAIN_HTML)
    page.goto(f"{forja}/p/{project_id}")
    page.locator("#tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Fresh bread at seven", timeout=60_000)

    page.locator("#tab-code").click()
    expect(page.locator("#editor-path")).to_have_text("index.html")
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("<h1>Fresh bread at six</h1>")
    page.keyboard.press("Control+S")
    expect(page.locator("#version-badge")).to_have_text("v2")
    page.locator("#tab-preview").click()
    # No click on Reload: a page without hot reload is loaded again once the files are in the preview.
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Fresh bread at six", timeout=3_000)
