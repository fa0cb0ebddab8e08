"""Papercuts a new user found (issue 15): what a person sees and clicks in the workspace."""

from __future__ import annotations

import re
import zipfile

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, editor_ready
from tests.e2e.test_workspace import generate

FILES = {
    "package.json": '{"name": "pizza-night", "private": true}\n',
    "src/App.jsx": "export default function App() {\n  return <h1>Pizza night</h1>;\n}\n",
    "src/typography/playful.css": "h1 { font-family: cursive; }\n",
}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def make_project(forja: str, name: str) -> str:
    """A project with two versions, so History has something to show and to export."""
    project_id = httpx.post(f"{forja}/api/projects", json={"name": name, "files": FILES}).json()["id"]
    httpx.put(
        f"{forja}/api/projects/{project_id}/files/src/App.jsx",
        json={"content": FILES["src/App.jsx"].replace("Pizza night", "Pizza party"), "message": "Party"},
    ).raise_for_status()
    return project_id


def test_every_export_button_downloads_its_file(forja: str, page: Page, tmp_path) -> None:
    """Header "Export .zip", History "Download .zip" and "All versions as git" download, not a 404 page."""
    page.goto(f"{forja}/p/{make_project(forja, 'Exports')}")
    expect(page.locator("#version-badge")).to_have_text("v2")

    with page.expect_download() as header_zip:
        page.locator("#export-zip").click()
    assert zipfile.is_zipfile(header_zip.value.path())
    assert header_zip.value.suggested_filename.endswith(".zip")

    page.locator("#tab-history").click()
    page.locator('.history-row[data-version="1"]').click()
    expect(page.locator("#diff-totals")).to_contain_text("Version 1")
    with page.expect_download() as version_zip:
        page.locator("#download-version").click()
    with zipfile.ZipFile(version_zip.value.path()) as archive:
        app = next(name for name in archive.namelist() if name.endswith("src/App.jsx"))
        assert "Pizza night" in archive.read(app).decode()

    with page.expect_download() as bundle:
        page.locator("#download-bundle").click()
    assert bundle.value.path().read_bytes().startswith(b"# v")  # "# v2 git bundle" or "# v3 git bundle"
    assert b"git bundle" in bundle.value.path().read_bytes()[:20]
    # The page stayed where it was: no client-side "404: Page not found".
    expect(page.locator("body")).not_to_contain_text("404")
    expect(page.locator("#diff-totals")).to_be_visible()


def test_tree_names_titles_dark_editor_and_save_hint(forja: str, page: Page) -> None:
    page.goto(forja)
    expect(page).to_have_title("Forja")

    page.emulate_media(color_scheme="dark")
    page.goto(f"{forja}/p/{make_project(forja, 'Pizza Night')}")
    expect(page).to_have_title("Pizza Night \u00b7 Forja")
    page.locator("#tab-code").click()

    # Monaco follows the page's dark mode.
    expect(page.locator(".monaco-editor.vs-dark")).to_be_visible()

    # File names keep their descenders: each name's box is a full line tall and clips nothing.
    # The name is each row's second child (after its icon), whatever class it carries.
    names = page.locator('[role="treeitem"] > :nth-child(2)')
    expect(page.locator('[data-path="package.json"] > :nth-child(2)')).to_have_text("package.json")
    for name in names.all():
        box = name.evaluate(
            "e => ({scroll: e.scrollHeight, client: e.clientHeight, font: parseFloat(getComputedStyle(e).fontSize)})"
        )
        assert box["scroll"] <= box["client"], box
        assert box["client"] >= 1.2 * box["font"], box

    # The Ctrl+S hint has the Save button's own text colour, whatever the button's state.
    page.locator('[data-path="src/App.jsx"]').click()
    editor_ready(page)
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("// more cheese")
    expect(page.locator("#unsaved-badge")).to_be_visible()
    colors = page.locator("#save-shortcut").evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e.closest('button')).color,"
        " getComputedStyle(e.closest('button')).backgroundColor]"
    )
    assert colors[0] == colors[1] and colors[0] != colors[2], colors
    page.locator("#file-tree").hover()
    shot(page, "papercuts-dark-code")
    page.emulate_media(color_scheme="light")
    expect(page.locator(".monaco-editor.vs-dark")).to_have_count(0)
    shot(page, "papercuts-light-code")


def test_history_toolbar_stays_out_of_the_tabs_at_laptop_width(forja: str, page: Page) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{forja}/p/{make_project(forja, 'Narrow')}")
    expect(page.locator("#version-badge")).to_have_text("v2")
    page.locator("#tab-history").click()
    expect(page.locator("#restore-version")).to_be_visible()
    shot(page, "papercuts-history-1024")
    tabs = page.locator("#desktop-tabs").bounding_box()
    toolbar = page.locator(".history-toolbar").bounding_box()
    assert tabs is not None and toolbar is not None
    assert toolbar["y"] >= tabs["y"] + tabs["height"] - 1, (tabs, toolbar)
    # Everything in the toolbar stays inside it: below the tabs, and not cut off on the right.
    for control in page.locator(".history-toolbar > *").all():
        box = control.bounding_box()
        assert box is not None, control
        assert box["y"] >= toolbar["y"] - 1 and box["y"] + box["height"] <= toolbar["y"] + toolbar["height"] + 1, (box, toolbar)
        assert box["x"] + box["width"] <= toolbar["x"] + toolbar["width"] + 1, (box, toolbar)
    # Every tab takes a click (Playwright refuses to click an element something else covers).
    for tab in ("code", "logs", "preview", "history"):
        page.locator(f"#tab-{tab}").click(timeout=5_000)
        page.locator("#tab-history").click(timeout=5_000)
        expect(page.locator(".history-toolbar")).to_be_visible()


def test_restore_and_turning_a_link_off_ask_first(forja: str, page: Page) -> None:
    """Both change what people see: a dialog asks, Escape leaves everything as it was."""
    forja_localhost = forja.replace("127.0.0.1", "localhost")
    project_id = make_project(forja, "Careful")
    page.goto(f"{forja_localhost}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v2")

    page.locator("#tab-history").click()
    page.locator('.history-row[data-version="1"]').click()
    page.locator("#restore-version").click()
    expect(page.locator(".confirm-dialog")).to_contain_text("Restore version 1?")
    shot(page, "papercuts-confirm-restore")
    page.keyboard.press("Escape")
    expect(page.locator(".confirm-dialog")).to_have_count(0)
    expect(page.locator("#version-badge")).to_have_text("v2")
    page.locator("#restore-version").click()
    page.locator(".confirm-restore").click()
    expect(page.locator("#version-badge")).to_have_text("v3")

    # The share link is on the address this person uses (localhost), not on 127.0.0.1.
    page.locator("#tab-preview").click()
    page.locator("#share-button").click()
    page.locator("#create-share").click()
    expect(page.locator("#share-link")).to_have_value(re.compile(rf"^{re.escape(forja_localhost)}/s/[A-Za-z0-9_-]{{40,}}$"))
    page.locator(".revoke-share").first.click()
    expect(page.locator(".confirm-dialog")).to_contain_text("Turn this link off?")
    page.keyboard.press("Escape")
    expect(page.locator(".confirm-dialog")).to_have_count(0)
    expect(page.locator(".share-row").first).not_to_contain_text("turned off")
    page.locator(".revoke-share").first.click()
    page.locator(".confirm-revoke").click()
    expect(page.locator(".share-row").first).to_contain_text("turned off")


def test_a_very_long_prompt_is_folded_in_the_conversation(forja: str, page: Page) -> None:
    prompt = ("A pizza night planner where friends vote on toppings and bring drinks. " * 280)[:20_000]
    project_id = generate(forja, prompt)
    page.goto(f"{forja}/p/{project_id}")
    bubble = page.locator('.chat-entry[data-kind="prompt"]')
    expect(bubble).to_contain_text("A pizza night planner")
    box = bubble.bounding_box()
    assert box is not None and box["height"] < 400, box
    shot(page, "papercuts-long-prompt-folded")
    bubble.locator(".show-all summary").click()
    expect(bubble.locator(".show-all .when-open")).to_have_text("Show less")
    expect(bubble.locator(".show-all .when-open")).to_be_visible()
    expect(bubble.locator(".show-all .when-folded")).to_be_hidden()
    unfolded = bubble.bounding_box()
    assert unfolded is not None and unfolded["height"] > 1000, unfolded
    bubble.locator(".show-all summary").click()
    folded = bubble.bounding_box()
    assert folded is not None and folded["height"] < 400
