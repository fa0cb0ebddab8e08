"""The people of a published app, managed from the workspace as its owner does: a static app published, the Users
dialog empty with a link to the app's sign-up page, a person signing up there in another browser, then turned off from
the dialog: signed out at once, and refused at their next sign-in; the preview's people, a choice in the dialog, are
others. Then the app's data, from the Data dialog: a booking a person saved through the app, changed (a box of JSON
that keeps its text and says what is wrong when it is not JSON), downloaded as CSV and deleted. At 1440x900 and
390x844, light and dark."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, accessible
from tests.e2e.test_publish import open_publish

PAGE = "<!doctype html><html lang='en'><title>Corner barber</title><h1>Corner barber</h1><p>Book a cut.</p></html>"
EMAIL = "kim@example.org"
SECRET = "kim's long secret"
# People who signed up may book; each reads, changes and deletes their own bookings.
RULES = {"collections": {"bookings": {"read": "owner", "create": "signed-in", "update": "owner", "delete": "owner"}}}
BOOK = """async (row) => (await fetch('/_forja/data/bookings', {
  method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(row)})).status"""


@pytest.fixture(scope="module")
def barber(forja: str) -> Iterator[tuple[str, str]]:
    """The published barber's project id and address, for the module's tests."""
    name = f"barber-{secrets.token_hex(3)}"  # a rerun's own: names stay taken
    files = {"index.html": PAGE, ".forja/data.json": json.dumps(RULES)}
    made = httpx.post(f"{forja}/api/projects", json={"name": "Corner barber", "files": files}, timeout=30)
    project = made.json()["id"]
    published = httpx.post(f"{forja}/api/projects/{project}/publish", json={"name": name}, timeout=60)
    assert published.status_code == 201, published.text
    yield project, published.json()["app"]["url"]


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"app-users-{name}.png"))


def settled(page: Page) -> None:
    """Until the choice's indicator has slid to the chosen side."""
    page.locator("#app-users-scope").evaluate(
        "(choice) => Promise.all(choice.getAnimations({subtree: true}).map((a) => a.finished))"
    )


def open_users(page: Page) -> None:
    open_publish(page)
    page.locator("#open-app-users").click()
    expect(page.get_by_role("dialog", name="People who use your app")).to_be_visible()


def signed_in(visitor: Page, address: str) -> bool:
    """Whom the app's session cookie of the visitor's browser names, asked by a tab of that browser (its cookies; the
    browser resolves the app's *.localhost host, which the test process's own resolver does not)."""
    probe = visitor.context.new_page()
    try:
        probe.goto(f"{address}/_forja/auth/me")
        return json.loads(probe.locator("body").inner_text())["signed_in"]
    finally:
        probe.close()


def sign_up(context: BrowserContext, address: str, email: str) -> Page:
    visitor = context.new_page()
    visitor.goto(f"{address}/_forja/auth/sign-up")
    visitor.locator("#email").fill(email)
    visitor.locator("#password").fill(SECRET)
    visitor.get_by_role("button", name="Make my account").click()
    expect(visitor.get_by_role("heading", name="Corner barber")).to_be_visible()
    return visitor


def test_the_owner_turns_off_a_person_who_signed_up_and_they_can_no_longer_sign_in(
    forja: str, barber: tuple[str, str], page: Page, browser: Browser, traffic: Traffic
) -> None:
    project, address = barber

    # Nobody yet: the dialog says where people sign up, as a link.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)
    open_users(page)
    expect(page.locator("#app-users-empty")).to_contain_text("Nobody has signed up yet")
    expect(page.locator("#app-sign-up-link")).to_have_attribute("href", f"{address}/_forja/auth/sign-up")
    shot(page, "1-empty-1440")
    page.get_by_role("button", name="Done").click()

    # A person signs up on the app's own page, on a phone.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
    visitor = sign_up(phone, address, EMAIL)
    assert signed_in(visitor, address)

    # The owner sees them, and turns them off.
    open_users(page)
    row = page.locator(f'.app-user-row[data-email="{EMAIL}"]')
    expect(row).to_contain_text("User")
    expect(row.locator(".app-user-off")).to_have_count(0)
    shot(page, "2-list-1440")
    page.emulate_media(color_scheme="dark")
    shot(page, "2-list-1440-dark")
    page.emulate_media(color_scheme="light")
    accessible(page, "the Users dialog with one person", widths=(DESKTOP, PHONE))
    row.locator(".app-user-off-button").click()
    expect(page.locator("#app-users-notice")).to_contain_text(f"{EMAIL} is turned off")
    expect(row.locator(".app-user-off")).to_have_text("Turned off")
    expect(row.locator(".app-user-on")).to_be_visible()
    shot(page, "3-turned-off-1440")

    # The preview's people are others: nobody there yet; back to the published app's, the person is still listed.
    scope = page.locator("#app-users-scope")
    scope.get_by_role("radio", name="In the preview").click()
    expect(page.locator("#app-users-empty")).to_contain_text("Nobody has signed up in the preview yet")
    expect(page.locator(".app-user-row")).to_have_count(0)
    settled(page)
    shot(page, "3-preview-1440")
    scope.get_by_role("radio", name="Published app").click()
    expect(row).to_contain_text("Turned off")

    # Signed out at once, and refused at the next sign-in, in words.
    assert not signed_in(visitor, address)
    visitor.goto(f"{address}/_forja/auth/sign-in")
    visitor.locator("#email").fill(EMAIL)
    visitor.locator("#password").fill(SECRET)
    visitor.get_by_role("button", name="Sign in").click()
    expect(visitor.get_by_text("This account is turned off")).to_be_visible()
    assert not signed_in(visitor, address)
    visitor.screenshot(path=str(ARTIFACTS / "app-users-4-refused-390.png"))
    phone.close()

    # On a phone: the list, and Remove asks first.
    page.set_viewport_size(PHONE)
    shot(page, "5-turned-off-390")
    scope.get_by_role("radio", name="In the preview").click()
    expect(page.locator("#app-users-empty")).to_be_visible()
    settled(page)
    shot(page, "5-preview-390")
    scope.get_by_role("radio", name="Published app").click()
    page.emulate_media(color_scheme="dark")
    shot(page, "5-turned-off-390-dark")
    page.emulate_media(color_scheme="light")
    row.locator(".app-user-remove").click()
    expect(page.get_by_role("alertdialog")).to_contain_text(f"Remove {EMAIL}?")
    shot(page, "6-remove-asks-390")
    page.locator(".app-user-remove-confirm").click()
    expect(page.locator("#app-users-notice")).to_contain_text(f"{EMAIL} is removed")
    expect(page.locator(".app-user-row")).to_have_count(0)
    expect(page.locator("#app-sign-up-link")).to_be_visible()
    assert traffic.off_machine() == []


def data_shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"app-data-{name}.png"))
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(ARTIFACTS / f"app-data-{name}-dark.png"))
    page.emulate_media(color_scheme="light")


def test_the_owner_changes_downloads_and_deletes_a_row_a_person_saved_through_the_app(
    forja: str, barber: tuple[str, str], page: Page, browser: Browser, traffic: Traffic
) -> None:
    project, address = barber
    ana = f"ana-{secrets.token_hex(3)}@example.org"  # a rerun's own
    # Ana books through the app's data API, from its own page in her browser.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
    assert sign_up(phone, address, ana).evaluate(BOOK, {"name": "Ana", "cut": "short"}) == 201
    phone.close()

    # The owner opens the Data dialog from the project menu: the collection, then Ana's row, by her email.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)
    page.locator("#project-menu").click()
    page.locator("#menu-app-data").click()
    expect(page.get_by_role("dialog", name="Your app's data")).to_be_visible()
    collection = page.locator('.app-data-collection[data-name="bookings"]')
    expect(collection).to_contain_text("1 row")
    data_shot(page, "1-collections-1440")
    collection.click()
    row = page.locator(".app-data-row")
    expect(row).to_have_count(1)
    expect(row.locator(".app-data-who")).to_contain_text(ana)
    expect(row.locator(".app-data-text")).to_contain_text('"cut": "short"')
    data_shot(page, "2-rows-1440")
    accessible(page, "the Data dialog with one row", widths=(DESKTOP, PHONE))

    # Not JSON: a sentence, and the text stays to be fixed; then saved, in the app's data too.
    row.locator(".app-data-edit").click()
    draft = page.locator("#app-data-draft")
    draft.fill('{"name": "Ana", "cut": "fade"')
    page.locator("#app-data-save").click()
    expect(page.locator("#app-data-draft-error")).to_contain_text("This is not valid JSON")
    expect(draft).to_have_value('{"name": "Ana", "cut": "fade"')
    data_shot(page, "3-not-json-1440")
    draft.fill('{"name": "Ana", "cut": "fade"}')
    page.locator("#app-data-save").click()
    expect(page.locator("#app-data-notice")).to_contain_text("Saved")
    expect(row.locator(".app-data-text")).to_contain_text('"cut": "fade"')
    rows = httpx.get(f"{forja}/api/projects/{project}/app-data/bookings", timeout=30).json()["rows"]
    assert [r["data"] for r in rows] == [{"name": "Ana", "cut": "fade"}]

    # Download CSV: the browser follows the link itself, with its own cookies, and saves the collection as CSV.
    with page.expect_download() as download:
        page.locator("#app-data-csv").click()
    assert download.value.suggested_filename == "bookings.csv"
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "id,owner,created_at,updated_at,name,cut"
    assert lines[1].endswith(",Ana,fade")

    # On a phone: the rows, and Delete asks first.
    page.set_viewport_size(PHONE)
    data_shot(page, "4-rows-390")
    row.locator(".app-data-delete").click()
    expect(page.get_by_role("alertdialog")).to_contain_text("Delete this row?")
    page.locator(".app-data-delete-confirm").click()
    expect(page.locator("#app-data-notice")).to_contain_text("The row is deleted")
    expect(row).to_have_count(0)
    expect(page.locator("#app-data-no-rows")).to_be_visible()
    assert httpx.get(f"{forja}/api/projects/{project}/app-data", timeout=30).json() == []
    page.locator("#app-data-back").click()
    expect(page.locator("#app-data-empty")).to_contain_text("Nothing is saved in your published app yet")
    data_shot(page, "5-empty-390")
    page.locator("#app-data-scope").get_by_role("radio", name="In the preview").click()
    expect(page.locator("#app-data-empty")).to_contain_text("Nothing is saved in the preview yet")

    # The Publish dialog opens it too, beside People.
    page.get_by_role("button", name="Done").click()
    open_publish(page)
    page.get_by_role("dialog").evaluate("(d) => Promise.all(d.getAnimations({subtree: true}).map((a) => a.finished))")
    page.screenshot(path=str(ARTIFACTS / "app-data-6-publish-390.png"))
    page.locator("#open-app-data").click()
    expect(page.get_by_role("dialog", name="Your app's data")).to_be_visible()
    assert traffic.off_machine() == []
