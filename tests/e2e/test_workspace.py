"""A new user's first session: open Forja, import a project, read it, edit it, save it."""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect

from preview_runtime.common import human_size
from tests.e2e.conftest import (
    ARTIFACTS,
    DESKTOP,
    WATCH_PREVIEW_WORDS,
    WEBCONTAINER_API,
    Traffic,
    choose_example,
    editor_ready,
    free_port,
    preview_details,
    reopens_on_the_tab_chosen,
    start_forja,
    stop,
)


def picture(size: int = 96) -> bytes:
    """A real PNG (tomato and cream squares), so the Code tab has a picture to show."""
    rows = b"".join(
        b"\x00" + b"".join(b"\xff\x63\x47" if (x // 16 + y // 16) % 2 else b"\xfa\xf3\xe0" for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


LOGO = picture()
FONT = b"wOF2\x00\x01\x00\x00" + bytes(range(256)) * 8  # bytes a font file could hold, with no extension
APP_JSX = "export default function App() {\n  return <h1>Barber shop</h1>;\n}\n"
PROJECT: dict[str, str | bytes] = {
    "barber-shop/index.html": '<!doctype html>\n<div id="root"></div>\n<script type="module" src="/src/main.jsx"></script>\n',
    "barber-shop/package.json": '{"name": "barber-shop", "dependencies": {"react": "^19.0.0"}, "devDependencies": {"vite": "^7.0.0"}}\n',
    "barber-shop/src/main.jsx": 'import { createRoot } from "react-dom/client";\nimport App from "./App.jsx";\n'
    'createRoot(document.getElementById("root")).render(<App />);\n',
    "barber-shop/src/App.jsx": APP_JSX,
    "barber-shop/src/styles/app.css": "h1 { color: tomato; }\n",
    "barber-shop/public/logo": LOGO,
    "barber-shop/public/brand-font": FONT,
}


def make_zip(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_import_edit_save(forja: str, page: Page, traffic: Traffic, tmp_path) -> None:
    page.goto(forja)
    expect(page.get_by_role("heading", name="Describe the app you want")).to_be_visible()
    expect(page.locator(".example-chip")).to_have_count(6)
    choose_example(page, "A website for my barber shop with opening hours")
    shot(page, "home")

    archive = tmp_path / "barber-shop.zip"
    archive.write_bytes(make_zip(PROJECT))
    page.locator("#import_zip input[type=file]").set_input_files(str(archive))
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]

    # The project opens on its app; the Code tab's tree shows folders and files with the zip's top folder stripped,
    # and App.jsx opens first.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    page.locator("#tab-code").click()
    expect(page.locator('[data-path="src"]')).to_be_visible()
    expect(page.locator('[data-path="src/styles/app.css"]')).to_be_visible()
    expect(page.locator("#editor-path")).to_have_text("src/App.jsx")
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Barber shop")
    expect(page.locator("#version-badge")).to_have_text("v1")
    assert page.evaluate("self.crossOriginIsolated") is True
    shot(page, "workspace-imported")

    # Folding a folder hides its files.
    page.locator('[data-path="src/styles"]').click()
    expect(page.locator('[data-path="src/styles/app.css"]')).to_have_count(0)
    page.locator('[data-path="src/styles"]').click()

    # Another file opens with its own content and language.
    page.locator('[data-path="src/styles/app.css"]').click()
    expect(page.locator("#editor-path")).to_have_text("src/styles/app.css")
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("tomato")

    # Files of bytes are told by their content, not their name: a picture is shown, any other is described, and
    # both download as they are stored; neither opens in the editor.
    page.locator('[data-path="public/logo"]').click()
    expect(page.locator("#binary-view img")).to_be_visible()
    expect(page.locator("#binary-note")).to_have_text(f"logo: picture, {human_size(len(LOGO))}")
    expect(page.locator(".monaco-editor")).to_have_count(0)
    assert page.locator("#binary-view img").evaluate("img => img.naturalWidth") == 96
    with page.expect_download() as download:
        page.locator("#binary-download").click()
    assert download.value.suggested_filename == "logo"
    assert download.value.path().read_bytes() == LOGO
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"code-picture-{width}")
    page.set_viewport_size({"width": 1400, "height": 860})
    page.locator('[data-path="public/brand-font"]').click()
    expect(page.locator("#binary-note")).to_have_text(f"brand-font: binary file, {human_size(len(FONT))}")
    expect(page.locator("#binary-view img")).to_have_count(0)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        shot(page, f"code-binary-{width}")
    page.set_viewport_size({"width": 1400, "height": 860})

    # Edit App.jsx in Monaco and save with Ctrl+S: a new version, authored by the user.
    page.locator('[data-path="src/App.jsx"]').click()
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Barber shop")
    editor_ready(page)
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("// opening hours come next")
    expect(page.locator("#unsaved-badge")).to_be_visible()
    shot(page, "workspace-unsaved")
    page.keyboard.press("Control+S")
    expect(page.locator("#version-badge")).to_have_text("v2")
    expect(page.locator("#save-notice")).to_have_text("Saved as version 2.")
    expect(page.locator(".chat-entry")).to_have_count(2)
    expect(page.locator(".chat-entry").last).to_contain_text("You")
    expect(page.locator(".chat-entry").last).to_contain_text("1 file changed")
    expect(page.locator(".chat-entry").first).to_contain_text("7 files changed")
    shot(page, "workspace-saved")

    saved = httpx.get(f"{forja}/api/projects/{project_id}/files/src/App.jsx").json()["content"]
    assert saved.startswith(APP_JSX) and saved.rstrip().endswith("// opening hours come next")
    versions = httpx.get(f"{forja}/api/projects/{project_id}/versions").json()
    assert [(v["number"], v["author"]) for v in versions] == [(1, "import"), (2, "user")]

    # Logs tell what happened, with levels (the preview, started as the project opened, says its own lines too).
    page.locator("#tab-logs").click()
    # A duplicated line would arrive a moment after the first; give it the chance to show.
    page.wait_for_timeout(500)
    expect(page.locator(".log-line", has_text="Saved version 2")).to_have_count(1)
    shot(page, "workspace-logs")

    page.locator("#tab-preview").click()
    shot(page, "workspace-preview")

    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"
    assert traffic.console_errors == []


def test_api_docs_work_offline(forja: str, page: Page, traffic: Traffic) -> None:
    page.goto(f"{forja}/api/docs")
    # Swagger UI renders the whole description in the browser: past 30 s on a busy machine, now that it has 85 paths.
    expect(page.get_by_text("/api/projects/{project_id}/files/{path}").first).to_be_visible(timeout=90_000)
    shot(page, "api-docs")
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"


def test_bad_import_is_refused_with_the_file_named(forja: str, page: Page, tmp_path) -> None:
    before = httpx.get(f"{forja}/api/projects").json()["items"]
    archive = tmp_path / "evil.zip"
    archive.write_bytes(make_zip({"ok.txt": "fine", "../../etc/passwd": "root::0:0"}))
    page.goto(forja)
    page.locator("#import_zip input[type=file]").set_input_files(str(archive))
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Could not import evil.zip")
    expect(alert).to_contain_text("../../etc/passwd")
    shot(page, "home-import-refused")
    assert httpx.get(f"{forja}/api/projects").json()["items"] == before


def test_unknown_project_says_so(forja: str, page: Page) -> None:
    page.goto(f"{forja}/p/000000000000")
    expect(page.get_by_role("heading", name="Project not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to your projects")).to_be_visible()


def test_build_from_prompt_offline(forja: str, page: Page, traffic: Traffic) -> None:
    """No API key: the prompt still becomes a working project, and the page says it is offline mode.

    The settings ask for the local runner: from the build to the running app, no WebContainer is tried, named or
    loaded (this Forja leaves WebContainers on, as by default)."""
    page.add_init_script(WATCH_PREVIEW_WORDS)
    page.goto(forja)
    expect(page.locator("#mode-note")).to_contain_text("Offline starter mode")
    # At phone width the note's many words push nothing off the screen: Build it is whole, nothing scrolls sideways.
    desktop = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#build-button")).to_be_in_viewport(ratio=1)
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    shot(page, "home-offline-phone")
    page.set_viewport_size(desktop)  # type: ignore[arg-type]
    choose_example(page, "A todo list with dark mode")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)
    expect(page.locator("#project-name")).to_have_text("Todo List")
    expect(page.locator('.chat-entry[data-kind="prompt"]')).to_contain_text("A todo list with dark mode")
    expect(page.locator('.chat-entry[data-kind="version"]')).to_contain_text("offline")
    # The saved version is run for its check, and the Preview tab opens on it by itself.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    expect(page.locator('.chat-entry[data-kind="check"]')).to_contain_text("Checked: runs, no errors.", timeout=120_000)
    page.locator("#tab-code").click()
    expect(page.locator('[data-path="package.json"]')).to_be_visible()
    expect(page.locator(".monaco-editor .view-lines")).not_to_be_empty()
    # Offline, the follow-up box stays: it makes plain edits and says what it cannot do.
    expect(page.locator("#followup")).to_have_attribute("placeholder", re.compile("Offline: rename"))
    shot(page, "workspace-generated-offline")

    generations = httpx.get(f"{forja}/api/projects/{project_id}/generations").json()
    assert [(g["provider"], g["outcome"], g["version"]) for g in generations] == [("offline", "saved", 1)]
    files = {f["path"] for f in httpx.get(f"{forja}/api/projects/{project_id}/files").json()}
    assert "package.json" in files and any(p.startswith("src/") for p in files)

    # The generated app runs with no network: its packages come from the seeded npm cache.
    page.locator("#tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Todo List", timeout=120_000)
    shot(page, "workspace-generated-offline-preview")
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"
    assert traffic.console_errors == []

    # The runner's badge and the preview's message, as they changed from the build on: the local runner, never a
    # WebContainer; the Logs have no line of one; no script the page loaded holds StackBlitz's WebContainer API.
    said = page.evaluate("window.__previewWords")
    assert "local" in said, said
    assert not [words for words in said if "webcontainer" in words.lower()], said
    logs = httpx.get(f"{forja}/api/projects/{project_id}/logs/tail", params={"lines": 2000}).json()
    assert not [line for line in logs if line["source"] == "webcontainer"], logs
    scripts = {url for url in traffic.urls if url.startswith(forja) and urlsplit(url).path.endswith(".js")}
    assert scripts, traffic.urls
    assert not [url for url in scripts if WEBCONTAINER_API in httpx.get(url).text]


def test_offline_says_what_it_did_not_build(forja: str, page: Page) -> None:
    """Offline, a request beyond the starters still gets a starting point, and the conversation names what is missing."""
    page.goto(forja)
    page.locator("#prompt").fill("a simple expense tracker with categories and a chart")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=30_000)
    version = page.locator('.chat-entry[data-kind="version"]')
    expect(version).to_contain_text("Not built offline")
    expect(version).to_contain_text("\u201ca chart\u201d")


def test_preview_runs_on_its_own_origin_and_shows_saved_edits(forja: str, page: Page, traffic: Traffic, tmp_path) -> None:
    archive = tmp_path / "opening-hours.zip"
    archive.write_bytes(
        make_zip(
            {
                "index.html": '<!doctype html>\n<title>Hours</title>\n<h1>Open from nine</h1>\n<script src="app.js"></script>\n',
                "app.js": "document.title = 'Opening hours';\n",
            }
        )
    )
    page.goto(forja)
    page.locator("#import_zip input[type=file]").set_input_files(str(archive))
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    project_id = page.url.rsplit("/", 1)[1]

    # The project opens on its app, started with no click.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("h1")).to_have_text("Open from nine", timeout=60_000)
    address = page.locator("#preview-address").input_value()
    assert re.fullmatch(r"http://[0-9a-f]+\.localhost:\d+", address), address
    assert urlsplit(address).netloc != urlsplit(forja).netloc, "the preview must not share the builder's origin"
    assert page.evaluate("self.crossOriginIsolated") is True
    shot(page, "workspace-preview-running")
    # How it runs is one click away, not two bars above every preview.
    expect(page.locator("#preview-runner-reason")).to_have_count(0)
    with preview_details(page):
        expect(page.locator("#preview-runner-reason")).to_have_text(
            "local runner: Docker is not used: this Forja is set to run previews with the local runner only."
        )
        shot(page, "workspace-preview-details")

    # A saved edit reaches the running preview without restarting it.
    page.locator("#tab-code").click()
    editor_ready(page)
    page.locator(".monaco-editor .view-lines").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("<h1>Open from eight</h1>")
    page.keyboard.press("Control+S")
    expect(page.locator("#version-badge")).to_have_text("v2")
    page.locator("#tab-preview").click()
    expect(page.locator("#preview-address")).to_have_value(address)
    page.locator("#preview-reload").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Open from eight", timeout=15_000)
    shot(page, "workspace-preview-edited")

    # The preview's own origin cannot read the builder's API (no CORS), so it cannot act for the person.
    cross = (
        page.frame_locator("#preview-frame")
        .locator("body")
        .evaluate(
            "async (_, api) => { try { await fetch(api, {credentials: 'include'}); return 'read'; } catch (e) { return 'blocked'; } }",
            f"{forja}/api/projects",
        )
    )
    assert cross == "blocked"
    # A cross-site "simple" POST needs no CORS to reach the server; Forja must refuse it by its Origin.
    page.frame_locator("#preview-frame").locator("body").evaluate(
        """async (_, api) => {
            const body = JSON.stringify({name: 'made-by-preview', files: {'a.txt': 'x'}});
            try { await fetch(api, {method: 'POST', mode: 'no-cors', body}); } catch (e) { /* unreadable by design */ }
        }""",
        f"{forja}/api/projects",
    )
    assert "made-by-preview" not in [p["name"] for p in httpx.get(f"{forja}/api/projects").json()["items"]]

    # The tab a person chooses in a project is the one it opens on next time, in this browser; another project still
    # opens on its app.
    page.set_viewport_size(DESKTOP)
    reopens_on_the_tab_chosen(page, forja, project_id)
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"


def test_history_shows_the_diff_and_restores_a_version(forja: str, page: Page, traffic: Traffic) -> None:
    created = httpx.post(f"{forja}/api/projects", json={"name": "Menu", "files": {"menu.txt": "soup\nbread\n"}}).json()
    project_id = created["id"]
    httpx.put(
        f"{forja}/api/projects/{project_id}/files/menu.txt", json={"content": "soup\ncake\n", "message": "Cake instead of bread"}
    )

    page.goto(f"{forja}/p/{project_id}")
    expect(page.locator("#version-badge")).to_have_text("v2")
    page.locator("#tab-history").click()
    expect(page.locator(".history-row")).to_have_count(2)
    expect(page.locator(".history-row").first).to_contain_text("Cake instead of bread")
    expect(page.locator("#diff-totals")).to_contain_text("Version 2 against version 1: 1 file, +1 \u22121 lines")
    expect(page.locator(".diff-file")).to_contain_text("-bread")
    expect(page.locator(".diff-file")).to_contain_text("+cake")
    shot(page, "workspace-history")

    page.locator('.history-row[data-version="1"]').click()
    expect(page.locator("#diff-totals")).to_contain_text("Version 1 against an empty project")
    page.locator("#restore-version").click()
    page.locator(".confirm-restore").click()
    expect(page.locator("#history-message")).to_contain_text("Version 1 is current again, saved as version 3.")
    expect(page.locator("#version-badge")).to_have_text("v3")
    assert httpx.get(f"{forja}/api/projects/{project_id}/files/menu.txt").json()["content"] == "soup\nbread\n"
    assert [v["number"] for v in httpx.get(f"{forja}/api/projects/{project_id}/versions").json()] == [1, 2, 3]
    # A version saved elsewhere (here the API) while the page is open: its badge and History show it, no reload.
    httpx.put(f"{forja}/api/projects/{project_id}/files/menu.txt", json={"content": "soup\npie\n", "message": "Pie, by API"})
    expect(page.locator("#version-badge")).to_have_text("v4")
    expect(page.locator(".history-row").first).to_contain_text("Pie, by API")
    expect(page.locator(".history-row")).to_have_count(4)

    # Fork from an older version: it becomes version 1 of a new project.
    page.locator('.history-row[data-version="2"]').click()
    page.locator("#fork-version").click()
    page.wait_for_url(re.compile(rf"/p/(?!{project_id})[0-9a-f]+$"))
    expect(page.locator("#project-name")).to_have_text("Menu (from v2)")
    fork_id = page.url.rsplit("/", 1)[1]
    assert httpx.get(f"{forja}/api/projects/{fork_id}/files/menu.txt").json()["content"] == "soup\ncake\n"
    assert traffic.console_errors == []


def test_share_link_opens_for_anyone_until_turned_off(forja: str, page: Page, browser, tmp_path) -> None:
    created = httpx.post(
        f"{forja}/api/projects", json={"name": "Shared hours", "files": {"index.html": "<h1>Open from nine</h1>\n"}}
    ).json()
    page.goto(f"{forja}/p/{created['id']}")
    expect(page.locator("#version-badge")).to_have_text("v1")
    page.locator("#tab-preview").click()
    page.locator("#share-button").click()
    page.locator("#create-share").click()
    link = page.locator("#share-link")
    expect(link).to_have_value(re.compile(r"/s/[A-Za-z0-9_-]{40,}$"))
    url = link.input_value()
    shot(page, "workspace-share-dialog")

    # A later change does not alter what the link shows.
    httpx.put(f"{forja}/api/projects/{created['id']}/files/index.html", json={"content": "<h1>Closed today</h1>\n"})

    stranger = browser.new_context(viewport={"width": 1200, "height": 800})
    visitor = stranger.new_page()
    assert stranger.cookies() == []
    visitor.goto(url)
    expect(visitor.frame_locator("iframe").locator("h1")).to_have_text("Open from nine", timeout=60_000)
    shot(visitor, "share-link-open")

    page.locator(".revoke-share").first.click()
    page.locator(".confirm-revoke").click()
    expect(page.locator(".share-row").first).to_contain_text("turned off")
    response = visitor.goto(url)
    assert response is not None and response.status == 410
    expect(visitor.locator("body")).to_contain_text("turned off")
    shot(visitor, "share-link-revoked")
    assert visitor.goto(url[:-4] + "abcd").status == 404
    stranger.close()


def test_rename_duplicate_trash_and_restore(forja: str, page: Page) -> None:
    created = httpx.post(f"{forja}/api/projects", json={"name": "Draft", "files": {"index.html": "<h1>Hi</h1>\n"}}).json()
    page.goto(f"{forja}/p/{created['id']}")
    expect(page.locator("#version-badge")).to_have_text("v1")

    page.locator("#project-menu").click()
    page.locator("#menu-rename").click()
    page.locator("#rename-input").fill("Barber booking")
    page.locator("#rename-save").click()
    expect(page.locator("#project-name")).to_have_text("Barber booking")
    assert httpx.get(f"{forja}/api/projects/{created['id']}").json()["name"] == "Barber booking"

    page.locator("#project-menu").click()
    page.locator("#menu-duplicate").click()
    page.wait_for_url(re.compile(rf"/p/(?!{created['id']})[0-9a-f]+$"))
    expect(page.locator("#project-name")).to_have_text("Barber booking (copy)")
    copy_id = page.url.rsplit("/", 1)[1]
    assert httpx.get(f"{forja}/api/projects/{copy_id}/files/index.html").json()["content"] == "<h1>Hi</h1>\n"

    page.locator("#project-menu").click()
    page.locator("#menu-trash").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("its app's data")
    page.locator("#trash-confirm").click()
    page.wait_for_url(f"{forja}/")
    row = page.locator(".trash-row", has_text="Barber booking (copy)")
    expect(row).to_be_visible()
    assert httpx.get(f"{forja}/api/projects/{copy_id}").status_code == 404
    shot(page, "home-trash")
    row.locator(".restore-project").click()
    expect(page.locator(".trash-row", has_text="Barber booking (copy)")).to_have_count(0)
    expect(page.locator(".project-card", has_text="Barber booking (copy)")).to_be_visible()
    assert httpx.get(f"{forja}/api/projects/{copy_id}").status_code == 200


def generate(forja: str, prompt: str) -> str:
    """A project made from a prompt through the API, checked as every generation is; returns its id once done."""
    with httpx.stream("POST", f"{forja}/api/generate", json={"prompt": prompt}, timeout=300) as response:
        event = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "done":
                return json.loads(line.removeprefix("data: "))["project_id"]
    raise AssertionError(f"the generation of {prompt!r} ended without a done event")


def test_home_cards_show_the_last_good_screenshot(forja: str, page: Page, traffic: Traffic) -> None:
    """A project Forja saw work shows its screenshot on its card; one never checked shows its initial, same size."""
    checked = generate(forja, "A landing page for my bakery")
    verifications = httpx.get(f"{forja}/api/projects/{checked}/verifications").json()
    assert verifications[-1]["status"] == "passed", verifications
    name = httpx.get(f"{forja}/api/projects/{checked}").json()["name"]
    httpx.post(f"{forja}/api/projects", json={"name": "Quiet notes", "files": {"notes.md": "# Notes\n"}}).raise_for_status()

    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(forja)
        # By its address: other tests' projects may have the same or a longer name ("Sunrise Bakery").
        picture = page.locator(f'.project-card[href="/p/{checked}"]').locator("img.project-thumb")
        expect(picture).to_have_attribute("alt", name)
        expect(picture).to_have_attribute("src", f"/api/projects/{checked}/thumbnail?v={verifications[-1]['id']}")
        expect(picture).to_have_js_property("complete", True)
        assert picture.evaluate("img => img.naturalWidth") > 0  # the JPEG really loaded
        initial = page.locator(".project-card", has_text="Quiet notes").locator(".project-thumb-empty")
        expect(initial).to_have_text("Q")
        shown, placeholder = picture.bounding_box(), initial.bounding_box()
        assert shown is not None and placeholder is not None
        assert abs(shown["height"] - placeholder["height"]) < 1 and abs(shown["width"] - placeholder["width"]) < 1
        assert abs(shown["width"] / shown["height"] - 1.6) < 0.02
        page.get_by_role("heading", name="Your projects").evaluate("heading => { heading.scrollIntoView(); scrollBy(0, -24); }")
        shot(page, f"home-thumbnails-{width}")
    assert traffic.console_errors == []


def test_share_link_survives_a_restart(page: Page, tmp_path) -> None:
    """Stop Forja and start it again: projects, versions, records and links are all there."""
    data, port, preview_port = tmp_path / "data", free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    process = start_forja(data, port, preview_port, "forja-restart.log", web_dir=tmp_path / "web")
    try:
        project = httpx.post(
            f"{base}/api/projects", json={"name": "Kept", "files": {"index.html": "<h1>Still here</h1>\n"}}
        ).json()
        link = httpx.post(f"{base}/api/projects/{project['id']}/share", json={"expires_in": "never"}).json()["url"]
    finally:
        stop(process)
    process = start_forja(data, port, preview_port, "forja-restart.log", web_dir=tmp_path / "web")
    try:
        assert httpx.get(f"{base}/api/projects/{project['id']}/versions").json()[0]["number"] == 1
        page.goto(link)
        expect(page.frame_locator("iframe").locator("h1")).to_have_text("Still here", timeout=60_000)
    finally:
        stop(process)


SERVER_JS = """const http = require('http');
const { description } = require('./package.json');
http.createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>' + description + '</h1>')).listen(Number(process.env.PORT), process.env.HOST);
"""


def package_json(description: str) -> str:
    # The description last, on a line of its own: the test edits its last word by keyboard.
    manifest = {"name": "deps", "version": "1.0.0", "scripts": {"dev": "node server.js"}, "description": description}
    return json.dumps(manifest, indent=2)


def edit_in_editor(page: Page, version: str, *keys: str, typed: str = "") -> None:
    """From the Code tab: press `keys` in the open file, type `typed`, save, and see `version`; then the Preview tab."""
    page.locator("#tab-code").click()
    editor_ready(page)
    page.locator(".monaco-editor .view-lines").click()
    for key in keys:
        page.keyboard.press(key)
    page.keyboard.type(typed)
    page.keyboard.press("Control+S")
    expect(page.locator("#version-badge")).to_have_text(version)
    page.locator("#tab-preview").click()


def test_a_dependency_change_restarts_the_preview_and_the_page_follows(forja: str, page: Page) -> None:
    """package.json saved in the editor: the preview installs again on a new address, and the Preview tab shows it."""
    files = {"package.json": package_json("Cuts from nine"), "server.js": SERVER_JS}
    project_id = httpx.post(f"{forja}/api/projects", json={"name": "Deps", "files": files}).json()["id"]
    page.goto(f"{forja}/p/{project_id}")
    page.locator("#tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Cuts from nine", timeout=60_000)
    address = page.locator("#preview-address").input_value()

    page.locator("#tab-code").click()
    page.locator('[data-path="package.json"]').click()
    expect(page.locator("#editor-path")).to_have_text("package.json")
    expect(page.locator(".monaco-editor .view-lines")).to_contain_text("Cuts from nine")
    edit_in_editor(page, "v2", "Control+End", "ArrowUp", "End", "ArrowLeft", *["Backspace"] * len("nine"), typed="eight")
    assert json.loads(httpx.get(f"{forja}/api/projects/{project_id}/files/package.json").json()["content"])["description"] == (
        "Cuts from eight"
    )
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Cuts from eight", timeout=60_000)
    assert page.locator("#preview-address").input_value() != address
    page.locator("#tab-logs").click()
    expect(page.locator("#logs")).to_contain_text("The dependencies changed: restarting the preview to install them.")
    shot(page, "workspace-dependencies-changed")

    # A package.json that is no longer JSON: the Preview tab says what is wrong and where, not "no dev script".
    edit_in_editor(page, "v3", "Control+End", typed=",")
    expect(page.locator("#preview-message")).to_contain_text("package.json is not valid JSON (line 8, column 2)")
    shot(page, "workspace-preview-broken-package-json")

    # Fixed and saved: the failed preview starts again by itself.
    edit_in_editor(page, "v4", "Control+End", "Backspace")
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Cuts from eight", timeout=60_000)


def test_the_home_page_reaches_every_project_a_page_at_a_time(forja: str, page: Page) -> None:
    """Past one page of cards a button brings the next ones (the list used to stop silently at 100)."""
    total = httpx.get(f"{forja}/api/projects", params={"limit": 1}).json()["total"]
    for number in range(max(0, 30 - total)):
        httpx.post(f"{forja}/api/projects", json={"name": f"Filler {number}", "files": {"a.md": "a\n"}}).raise_for_status()
    total = httpx.get(f"{forja}/api/projects", params={"limit": 1}).json()["total"]
    assert total >= 30
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(forja)
        cards, more = page.locator(".project-card"), page.locator("#show-more-projects")
        expect(cards).to_have_count(24)
        expect(more).to_have_text(f"Show more (24 of {total} shown)")
        more.scroll_into_view_if_needed()
        shot(page, f"home-show-more-{width}")
        more.click()
        expect(cards).to_have_count(min(total, 48))
    oldest = httpx.get(f"{forja}/api/projects", params={"limit": 1, "offset": total - 1}).json()["items"][0]
    while page.locator("#show-more-projects").count():
        page.locator("#show-more-projects").click()
        page.wait_for_timeout(200)
    expect(page.locator(".project-card", has_text=oldest["name"]).first).to_be_visible()
