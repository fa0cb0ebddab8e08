"""The Terminal tab in Chromium: a project starts its preview as it opens, and the Terminal opens its shell once that
runs (on a fresh open it never says no preview runs); a shell in the preview's sandbox takes typed commands and shows
their output (xterm.js over the websocket), copies what is picked in it and takes what is pasted, and a file it makes
comes to the Code tab as an unsaved draft that Save makes a version of."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_a_shell_in_the_preview_and_its_file_in_code(forja: str, page: Page) -> None:
    created = httpx.post(
        f"{forja}/api/projects",
        json={"name": "Shell", "files": {"index.html": "<!doctype html><h1>Terminal test</h1>\n"}},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    project_id = created.json()["id"]
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{forja}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)

    # The project opened on its app, and started it: the Terminal opens its shell once that runs, with no click on
    # "Start the preview" and never saying that no preview runs.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    page.locator("#tab-terminal").click()
    expect(page.locator("#terminal-start-preview")).to_have_count(0)
    # Still starting, or already running (a page of one file can be): either way, never "No preview is running".
    expect(page.get_by_text("No preview is running")).to_have_count(0)
    screen = page.locator("#terminal-screen")
    expect(screen).to_have_attribute("data-state", "open", timeout=120_000)
    rows = page.locator("#terminal-screen .xterm-rows")
    expect(rows).to_contain_text(re.compile(r"[$#] *$"), timeout=30_000)  # the shell's prompt

    screen.click()
    page.keyboard.type("echo made in the shell > notes.txt; echo ok-$((40+2))")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("ok-42", timeout=30_000)
    # Copy: a word picked in the output and Ctrl+C is on the clipboard (not an interrupt). Paste: Ctrl+V types it.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=forja)
    # xterm's own layer takes the pointer over its rows: a double click where the word is drawn picks it.
    word = rows.locator("span", has_text=re.compile(r"^ok-42$")).last.bounding_box()
    assert word is not None
    page.mouse.dblclick(word["x"] + word["width"] / 2, word["y"] + word["height"] / 2)
    page.keyboard.press("Control+C")
    assert page.evaluate("navigator.clipboard.readText()") == "ok-42"
    page.evaluate("navigator.clipboard.writeText('echo pasted-$((20+3))')")
    page.keyboard.press("Control+V")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("pasted-23", timeout=30_000)
    shot(page, "terminal-1440")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#phone-tab-terminal")).to_have_attribute("aria-selected", "true")
    page.keyboard.type("stty size")
    page.keyboard.press("Enter")
    # The terminal fit the phone's width, and the shell was told: rows, then 20 to 59 columns.
    expect(rows).to_contain_text(re.compile(r"stty size\s*\d+ [2-5]\d\D"), timeout=30_000)
    shot(page, "terminal-390")
    page.set_viewport_size({"width": 1440, "height": 900})

    page.locator("#terminal-bring-files").click()
    expect(page.locator("#editor-path")).to_have_text("notes.txt")
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("made in the shell")
    expect(page.locator("#unsaved-badge")).to_contain_text("1")
    expect(page.locator("#save-notice")).to_contain_text("1 file from the terminal")
    shot(page, "terminal-files-in-code-1440")
    page.locator("#save-button").click()
    expect(page.locator("#version-badge")).to_have_text("v2")
    saved = httpx.get(f"{forja}/api/projects/{project_id}/files/notes.txt", timeout=10)
    assert saved.status_code == 200 and "made in the shell" in saved.text

    # Leaving the tab closes the websocket, which ends the shell; the log tells who opened it and for how long.
    logs = page.locator("#tab-logs")
    logs.click()
    expect(page.get_by_text("Terminal opened by")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("closed after")).to_be_visible(timeout=30_000)
