"""Publish from the workspace, as a person does: the React starter built for production, opened at its own address on
a phone, a second release, a rollback to the first, and the app taken down. At 1440x900 and 390x844."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from builder.generation.starters import StarterVariables, get_starter, render_starter
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, accessible


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"publish-{name}.png"))


def open_publish(page: Page) -> None:
    page.locator("#publish-button").click()
    expect(page.get_by_role("dialog", name="Publish your app")).to_be_visible()


def publish_now(page: Page, release: int) -> None:
    page.locator("#publish-now").click()
    expect(page.locator("#publish-notice")).to_contain_text(f"as release {release}", timeout=180_000)


def test_a_person_publishes_opens_it_on_a_phone_rolls_back_and_takes_it_down(
    forja: str, page: Page, browser: Browser, traffic: Traffic
) -> None:
    files = render_starter(get_starter("react-vite-tailwind"), StarterVariables(title="Fade Barbers"))
    project = httpx.post(f"{forja}/api/projects", json={"name": "Fade Barbers", "files": files}, timeout=30).json()["id"]

    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)
    open_publish(page)
    expect(page.locator("#app-name")).to_have_value("fade-barbers")
    shot(page, "1-dialog-desktop")
    accessible(page, "the Publish dialog, before the first publish")
    publish_now(page, 1)
    address = page.locator("#app-address").input_value()
    assert re.fullmatch(r"http://fade-barbers\.apps\.localhost:\d+", address), address
    expect(page.locator("#app-state")).to_have_text("Live")
    expect(page.locator(".release-row")).to_have_count(1)
    shot(page, "2-published-desktop")
    page.get_by_role("button", name="Done").click()

    # The app at its own address, on a phone: the built page, a handful of requests, no dev server's modules.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone.route("**/*", traffic.guard)
    visitor = phone.new_page()
    requests: list[str] = []
    visitor.on("request", lambda request: requests.append(request.url))
    response = visitor.goto(address)
    assert response is not None and response.status == 200
    expect(visitor.get_by_text("Fade Barbers").first).to_be_visible()
    assert not any("/src/" in url or "@vite" in url or "node_modules" in url for url in requests), requests
    assert len(requests) <= 6, requests
    visitor.screenshot(path=str(ARTIFACTS / "publish-3-app-phone.png"))

    # A second release from a new version, then back to the first in one click.
    site = files["src/site.js"].replace('"Fade Barbers"', '"Fade Barbers, now open Sundays"')
    httpx.put(f"{forja}/api/projects/{project}/files/src/site.js", json={"content": site}, timeout=30).raise_for_status()
    page.reload()
    expect(page.locator("#version-badge")).to_contain_text("2", timeout=30_000)
    page.set_viewport_size(PHONE)
    open_publish(page)
    publish_now(page, 2)
    visitor.reload()
    expect(visitor.get_by_text("now open Sundays").first).to_be_visible()
    shot(page, "4-second-release-phone")
    accessible(page, "the Publish dialog with two releases", widths=(PHONE,))
    page.locator('.release-row[data-release="1"] .rollback-release').click()
    expect(page.locator("#publish-notice")).to_contain_text("Release 1 is live again")
    visitor.reload()
    expect(visitor.get_by_text("Fade Barbers").first).to_be_visible()
    expect(visitor.get_by_text("now open Sundays")).to_have_count(0)

    # Taken down: the address says so, with a 410.
    page.set_viewport_size(DESKTOP)
    page.locator("#unpublish-app").click()
    page.locator(".confirm-unpublish").click()
    expect(page.locator("#app-state")).to_have_text("Taken down")
    gone = visitor.goto(address)
    assert gone is not None and gone.status == 410
    expect(visitor.get_by_text("unpublished")).to_be_visible()
    visitor.screenshot(path=str(ARTIFACTS / "publish-5-taken-down-phone.png"))
    phone.close()
    assert traffic.off_machine() == []


def test_a_published_app_shows_on_its_home_card_and_in_the_admin_page(forja: str, page: Page, traffic: Traffic) -> None:
    page_html = "<!doctype html><html lang='en'><title>Quiet cafe</title><h1>Quiet cafe</h1><p>Open at eight.</p></html>"
    made = httpx.post(f"{forja}/api/projects", json={"name": "Quiet cafe", "files": {"index.html": page_html}}, timeout=30)
    project = made.json()["id"]
    published = httpx.post(f"{forja}/api/projects/{project}/publish", json={"name": "quiet-cafe"}, timeout=60)
    assert published.status_code == 201, published.text
    address = published.json()["app"]["url"]

    page.set_viewport_size(DESKTOP)
    page.goto(forja)
    card = page.locator(".project-card-box", has=page.locator(f'a.project-card[href="/p/{project}"]'))
    live = card.locator("a.project-app-live")
    expect(live).to_have_attribute("href", address)
    expect(live).to_have_attribute("target", "_blank")
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(ARTIFACTS / "publish-card-1440.png"))
    page.set_viewport_size(PHONE)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "publish-card-390.png"))
    accessible(page, "the home page with a published app", widths=(DESKTOP, PHONE))

    page.goto(f"{forja}/admin")
    row = page.locator('.admin-app[data-app="quiet-cafe"]')
    expect(row).to_contain_text("Quiet cafe")
    expect(row).to_contain_text("Release 1 (v1)")
    expect(row).to_contain_text("Live")
    expect(row.locator("a.admin-app-link")).to_have_attribute("href", address)
    page.locator("#admin-apps").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "publish-admin-390.png"))
    page.set_viewport_size(DESKTOP)
    page.locator("#admin-apps").screenshot(path=str(ARTIFACTS / "publish-admin-1440.png"))

    # Taken down: the card says so, with no link; the admin page too.
    httpx.delete(f"{forja}/api/projects/{project}/app", timeout=30).raise_for_status()
    page.reload()
    expect(row).to_contain_text("Taken down")
    page.goto(forja)
    expect(card.locator(".project-app")).to_have_text("Taken down")
    expect(card.locator("a.project-app-live")).to_have_count(0)
    assert traffic.off_machine() == []
