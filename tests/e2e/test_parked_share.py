"""A shared React app whose preview was parked, opened again in Chromium: "Starting the app...", then the app.

A Forja of its own, with a park time of a few seconds: the visitor opens the link and sees the app; nobody looks, so its
preview is parked; the next visit through the link gets the "Starting the app..." page, then the app, woken without
a second install. The preview's own address, parked again, answers the waking page, which loads the app by itself.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from builder.generation.starters import StarterVariables, get_starter, render_starter
from tests.e2e.conftest import ARTIFACTS, accessible, another_forja

TITLE = "Sleepy bakery"
PARK_AFTER_S = 4


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"parked-{name}.png"))


def _preview_state(base: str, project_id: str) -> str:
    """The state of the project's share preview (the admin's list; without accounts it is open on loopback)."""
    rows = [row for row in httpx.get(f"{base}/api/admin/previews", timeout=10).json() if row["project_id"] == project_id]
    return rows[0]["state"] if rows else ""


def _until_parked(base: str, project_id: str) -> None:
    deadline = time.monotonic() + 60
    while _preview_state(base, project_id) != "parked":
        assert time.monotonic() < deadline, "the shared preview was not parked within 60 s"
        time.sleep(0.5)


def _installs(base: str, project_id: str) -> int:
    """The times a preview of the project ran npm install, from its log (the local runner says each command it runs)."""
    with httpx.stream("GET", f"{base}/api/projects/{project_id}/logs", timeout=httpx.Timeout(5, read=2)) as stream:
        texts = []
        try:
            for line in stream.iter_lines():
                texts.append(line)
        except httpx.ReadTimeout:
            pass
    return sum("Running on " in text and "npm install" in text for text in texts)


def test_a_parked_shared_react_app_wakes_through_its_link(browser: Browser, tmp_path: Path) -> None:
    files = render_starter(get_starter("react-vite-tailwind"), StarterVariables(title=TITLE))
    with another_forja(tmp_path, "forja-parked.log", {"FORJA_PREVIEW_PARK_AFTER_S": str(PARK_AFTER_S)}) as base:
        project = httpx.post(f"{base}/api/projects", json={"name": TITLE, "files": files}, timeout=30).json()
        link = httpx.post(f"{base}/api/projects/{project['id']}/share", json={}, timeout=30).json()["url"]
        visitor = browser.new_context(viewport={"width": 1100, "height": 760})
        page = visitor.new_page()

        page.goto(link)
        expect(page.frame_locator("iframe.app").get_by_text(TITLE).first).to_be_visible(timeout=180_000)
        _until_parked(base, project["id"])

        # Through the link: its page says the app is starting, then shows it.
        response = page.goto(link)
        assert response is not None and response.status == 200
        expect(page.get_by_role("heading", name="Starting the app...")).to_be_visible()
        _shot(page, "1-share-starting")
        accessible(page, "a share link's page, starting the app")
        expect(page.frame_locator("iframe.app").get_by_text(TITLE).first).to_be_visible(timeout=30_000)
        _shot(page, "2-share-woken")
        preview_url = page.locator("iframe.app").get_attribute("src")
        assert preview_url

        # Its own address, parked again: the waking page, which loads the app once it answers.
        _until_parked(base, project["id"])
        response = page.goto(preview_url)
        assert response is not None and response.status == 503
        assert response.headers["cache-control"] == "no-store"
        expect(page.get_by_role("heading", name="Starting the app...")).to_be_visible()
        _shot(page, "3-address-waking")
        expect(page.get_by_text(TITLE).first).to_be_visible(timeout=30_000)
        _shot(page, "4-address-woken")
        visitor.close()
        assert _installs(base, project["id"]) == 1
