"""The Environment dialog, as a person uses it: from the project menu, a secret and a public variable added, listed by
name only (the public one marked), one removed; the page never holds a value once saved; the preview's data reset,
asked first. At 1440x900 and 390x844."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, accessible

SECRET = "sk_test_e2e_9d8c7b6a5f4e3d2c"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"env-{name}.png"))


def add(page: Page, name: str, value: str) -> None:
    page.locator("#env-name").fill(name)
    page.locator("#env-value").fill(value)
    page.locator("#env-save").click()
    expect(page.locator("#env-notice")).to_contain_text(f"{name} is saved")
    expect(page.locator("#env-value")).to_have_value("")


def test_a_person_sets_the_apps_variables_and_sees_only_their_names(forja: str, page: Page) -> None:
    files = {"index.html": "<!doctype html><h1>Shop</h1>\n"}
    project = httpx.post(f"{forja}/api/projects", json={"name": "Env Shop", "files": files}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#version-badge")).to_be_visible(timeout=90_000)
    page.locator("#project-menu").click()
    page.locator("#menu-env").click()
    dialog = page.get_by_role("dialog", name="Environment")
    expect(dialog).to_be_visible()
    expect(page.locator("#env-empty")).to_be_visible()

    add(page, "STRIPE_KEY", SECRET)
    add(page, "VITE_SHOP_TITLE", "Corner shop")
    rows = page.locator(".env-row")
    expect(rows).to_have_count(2)
    expect(page.locator('.env-row[data-name="VITE_SHOP_TITLE"]')).to_contain_text("public: built into the page")
    expect(page.locator('.env-row[data-name="STRIPE_KEY"]')).not_to_contain_text("public")
    assert SECRET not in page.content()
    shot(page, "1-dialog-desktop")
    accessible(page, "the Environment dialog")

    page.set_viewport_size(PHONE)
    expect(dialog).to_be_visible()
    shot(page, "2-dialog-phone")
    accessible(page, "the Environment dialog on a phone", widths=(PHONE,))

    page.locator('.env-row[data-name="VITE_SHOP_TITLE"] .env-remove').click()
    expect(page.locator("#env-notice")).to_contain_text("VITE_SHOP_TITLE is removed")
    expect(rows).to_have_count(1)
    listed = httpx.get(f"{forja}/api/projects/{project}/env", timeout=30)
    assert [v["name"] for v in listed.json()] == ["STRIPE_KEY"] and SECRET not in listed.text

    # The preview's data: reset only once asked.
    page.locator("#data-reset").click()
    asked = page.get_by_role("alertdialog", name="Reset the preview's data?")
    expect(asked).to_contain_text("The published app's data stays")
    asked.locator(".data-reset-confirm").click()
    expect(page.locator("#env-notice")).to_contain_text("The preview's data is reset")
