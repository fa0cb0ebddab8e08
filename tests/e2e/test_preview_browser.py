"""The browser's side of previews: console errors come back to Logs; WebContainers fall back by themselves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, WATCH_PREVIEW_WORDS, Traffic, another_forja

BROKEN_PAGE = {
    "index.html": '<!doctype html>\n<html><head><title>Broken</title></head>\n<body><h1>Almost</h1>\n<script src="app.js"></script></body></html>\n',
    "app.js": "console.error('Booking list failed to load', {code: 7});\nwindow.bookings.map((b) => b.name);\n",
}


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def create(base: str, name: str, files: dict[str, str]) -> str:
    response = httpx.post(f"{base}/api/projects", json={"name": name, "files": files})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def log_lines(base: str, project_id: str) -> list[dict]:
    return httpx.get(f"{base}/api/projects/{project_id}/logs/tail", params={"lines": 2000}).json()


def test_console_errors_of_a_server_preview_reach_the_logs_flagged(forja: str, page: Page, traffic: Traffic) -> None:
    project_id = create(forja, "Broken bookings", BROKEN_PAGE)
    page.goto(f"{forja}/p/{project_id}")
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Almost", timeout=60_000)

    def browser_errors() -> list[str]:
        return [line["text"] for line in log_lines(forja, project_id) if line["source"] == "browser" and line["level"] == "error"]

    for _ in range(100):
        if len(browser_errors()) >= 2:
            break
        page.wait_for_timeout(100)
    errors = browser_errors()
    assert any('Booking list failed to load {"code":7}' in text for text in errors), errors
    # One line per error, with its stack, so "Fix this error" sends all of it.
    assert any(text.startswith("Uncaught TypeError") and "'map'" in text and "/app.js:2:" in text for text in errors), errors

    page.locator("#tab-logs").click()
    row = page.locator("#logs").get_by_text("Booking list failed to load", exact=False)
    expect(row).to_be_visible()
    shot(page, "logs-browser-console-errors")
    # The running copy carries the bridge; the project as stored and shown in Monaco does not.
    stored = httpx.get(f"{forja}/api/projects/{project_id}/files/index.html").json()["content"]
    assert "data-forja-console" not in stored
    assert traffic.off_machine() == [], f"requests left this machine: {traffic.off_machine()}"


@pytest.fixture(scope="module")
def forja_with_webcontainers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Forja that tries WebContainers first, with a short boot timeout (offline, the boot never settles).

    Only `auto` lets a browser try one; with no Docker engine to reach, its server runner is the local one."""
    with another_forja(
        tmp_path_factory.mktemp("forja-wc"),
        "forja-webcontainers.log",
        {
            "FORJA_WEBCONTAINERS": "true",
            "FORJA_PREVIEW_RUNNER": "auto",
            "DOCKER_HOST": "unix:///nonexistent/docker.sock",
            # Long enough for a person's click on "Run on server" to come first on a busy machine (3 s did not, in CI).
            "FORJA_WEBCONTAINER_BOOT_TIMEOUT_S": "10",
        },
    ) as base:
        yield base


def test_webcontainer_falls_back_to_the_server_runner_and_says_so(
    forja_with_webcontainers: str, page: Page, traffic: Traffic
) -> None:
    """StackBlitz answers the reachability check (a local stand-in) but the runtime never boots."""
    base = forja_with_webcontainers
    reachability = "https://stackblitz.com/headless?forja-reachability"
    page.route(reachability, lambda route: route.fulfill(status=200, body=""))
    project_id = create(base, "Opening hours", {"index.html": "<!doctype html>\n<h1>Open from nine</h1>\n"})
    page.goto(f"{base}/p/{project_id}")
    assert page.evaluate("self.crossOriginIsolated") is True
    # The project opens on its app, started at once: here in the browser first.
    expect(page.locator("#tab-preview")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#preview-message")).to_contain_text("in your browser (WebContainer)")
    shot(page, "preview-webcontainer-booting")
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Open from nine", timeout=60_000)
    address = page.locator("#preview-address").input_value()
    assert re.fullmatch(r"http://[0-9a-f]+\.localhost:\d+", address), address
    lines = log_lines(base, project_id)
    texts = [line["text"] for line in lines]
    fallback = [line for line in lines if "Falling back to the server runner" in line["text"]]
    assert fallback and "did not boot within 10 s" in fallback[0]["text"], texts
    # Nothing is wrong with the project, so the line must not offer "Fix this error".
    assert fallback[0]["level"] == "warning" and fallback[0]["source"] == "webcontainer"
    server_start = next(i for i, t in enumerate(texts) if "with the local runner" in t)
    assert texts.index(fallback[0]["text"]) < server_start, "the Logs say why before the server runner starts"
    page.locator("#tab-logs").click()
    expect(page.locator("#logs").get_by_text("Falling back to the server runner", exact=False)).to_be_visible()
    shot(page, "logs-webcontainer-fallback")

    # The boot tried StackBlitz's servers; every such request was stopped in the browser.
    assert any("/headless?" in url and "forja-reachability" not in url for url in traffic.blocked), traffic.blocked
    assert set(traffic.off_machine()) <= {*traffic.blocked, reachability}  # answered in the browser itself
    assert all(
        (urlsplit(url).hostname or "").endswith(("stackblitz.com", "webcontainer.io", "webcontainer-api.io"))
        for url in traffic.blocked
    )

    # Another project in the same tab does not try again a boot that failed minutes ago: the server runner starts at
    # once, with no WebContainer line in its Logs.
    second = create(base, "Price list", {"index.html": "<!doctype html>\n<h1>Prices</h1>\n"})
    page.goto(f"{base}/p/{second}")
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Prices", timeout=60_000)
    assert not any(line["source"] == "webcontainer" for line in log_lines(base, second)), log_lines(base, second)


def test_a_person_can_skip_the_webcontainer_wait(forja_with_webcontainers: str, page: Page) -> None:
    base = forja_with_webcontainers
    project_id = create(base, "Menu", {"index.html": "<!doctype html>\n<h1>Today's menu</h1>\n"})
    # StackBlitz "answers" (a local stand-in), so the boot would wait for its timeout.
    page.route("https://stackblitz.com/headless?forja-reachability", lambda route: route.fulfill(status=200, body=""))
    page.goto(f"{base}/p/{project_id}")
    page.locator("#preview-run-on-server").click()
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Today's menu", timeout=60_000)
    texts = [line["text"] for line in log_lines(base, project_id)]
    assert "Running the preview on the server instead of in this browser." in texts
    assert not any("did not boot" in t for t in texts), texts


def test_without_internet_the_fallback_comes_at_once(forja_with_webcontainers: str, page: Page, traffic: Traffic) -> None:
    """Every request to StackBlitz fails, as on a machine without internet: no waiting for the boot timeout."""
    base = forja_with_webcontainers
    project_id = create(base, "Hours", {"index.html": "<!doctype html>\n<h1>Open late</h1>\n"})
    page.goto(f"{base}/p/{project_id}")
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Open late", timeout=60_000)
    lines = log_lines(base, project_id)
    fallback = next(line for line in lines if "Falling back to the server runner" in line["text"])
    assert "cannot be reached from this browser" in fallback["text"], fallback
    assert not any("did not boot" in line["text"] for line in lines)
    assert traffic.blocked and all(urlsplit(url).hostname == "stackblitz.com" for url in traffic.blocked), traffic.blocked


def test_a_page_that_cannot_run_them_starts_the_server_runner_at_once(
    forja_with_webcontainers: str, page: Page, traffic: Traffic
) -> None:
    """Safari and in-app browsers are not cross-origin isolated (here Chromium is told it is not): the page says so as
    the project opens, and the server runner starts with no WebContainer tried, named, or warned about in the Logs."""
    base = forja_with_webcontainers
    page.add_init_script("Object.defineProperty(window, 'crossOriginIsolated', { get: () => false })")
    page.add_init_script(WATCH_PREVIEW_WORDS)
    project_id = create(base, "Bread times", {"index.html": "<!doctype html>\n<h1>Bread at seven</h1>\n"})
    page.goto(f"{base}/p/{project_id}")
    assert page.evaluate("self.crossOriginIsolated") is False
    expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Bread at seven", timeout=60_000)
    said = page.evaluate("window.__previewWords")
    assert "local" in said and not [words for words in said if "webcontainer" in words.lower()], said
    assert not [line for line in log_lines(base, project_id) if line["source"] == "webcontainer"]
    assert traffic.off_machine() == [], traffic.off_machine()


def test_a_look_alike_package_is_not_installed_in_the_browser_neither_at_start_nor_after_a_save(
    forja_with_webcontainers: str, page: Page
) -> None:
    base = forja_with_webcontainers
    page.route("https://stackblitz.com/headless?forja-reachability", lambda route: route.fulfill(status=200, body=""))
    vite = {"name": "menu", "private": True, "scripts": {"dev": "vite"}, "devDependencies": {"vite": "^7.0.0"}}
    page_html = "<!doctype html>\n<h1>Menu</h1>\n"
    project_id = create(base, "Menu board", {"package.json": json.dumps(vite), "index.html": page_html})
    page.goto(f"{base}/p/{project_id}")
    message = page.locator("#preview-message")
    expect(message).to_contain_text("in your browser (WebContainer)")
    # A save that asks for a look-alike while the browser runs it: the browser is not given it to install.
    vite["dependencies"] = {"raect": "^19.0.0"}
    saved = httpx.put(f"{base}/api/projects/{project_id}/files/package.json", json={"content": json.dumps(vite)})
    assert saved.status_code == 200, saved.text
    expect(message).to_contain_text("raect is one or two letters away from the popular package react", timeout=30_000)
    expect(page.locator("#preview-retry")).to_be_visible()
    expect(page.locator("#preview-doctor")).to_have_count(0)
    shot(page, "preview-webcontainer-packages-refused")
    # Opened again (or tried again), it is refused before the browser starts anything; no server runner instead.
    page.reload()
    expect(message).to_contain_text("raect is one or two letters away", timeout=30_000)
    texts = [line["text"] for line in log_lines(base, project_id)]
    assert len([t for t in texts if t.startswith("The app's packages were not installed: raect")]) >= 2, texts
    assert not any("Falling back" in t or "with the local runner" in t for t in texts), texts
