"""The bookings starter, published and used as its people would: a customer makes an account on the app's own sign-up
page and books a time on a wide screen; a second customer on a phone sees that time taken (not whose) and cannot
pick it, and is told in words when a time they picked is taken meanwhile; made the app's admin, they see everyone's
bookings and mark one done; the first customer then sees it done, and only their own, and cancels the other, which
frees its time while the done one stays taken. The app's code never sees a password: sign-up is Forja's page, and who
sees which booking is the starter's .forja/data.json."""

from __future__ import annotations

import secrets

import httpx
from playwright.sync_api import Browser, Page, expect

from builder.generation.providers.offline import personalise
from builder.generation.starters import get_starter, render_starter
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, accessible

PROMPT = "a booking page for my barber shop"
CUSTOMER = "sam@example.org"
BARBER = "kim@example.org"
SECRET = "a long secret of theirs"


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"bookings-{name}.png"), full_page=True)


def sign_up(page: Page, email: str) -> None:
    """From the app's own header to Forja's sign-up page and back to the app, signed in."""
    page.get_by_role("link", name="Make an account").click()
    page.locator("#email").fill(email)
    page.locator("#password").fill(SECRET)
    page.get_by_role("button", name="Make my account").click()
    expect(page.locator("#account")).to_contain_text(email)


def test_a_customer_books_and_the_barber_sees_it_and_marks_it_done(forja: str, browser: Browser, traffic: Traffic) -> None:
    files = render_starter(get_starter("bookings"), personalise(PROMPT))
    made = httpx.post(f"{forja}/api/projects", json={"name": "Barber Shop", "files": files}, timeout=30)
    assert made.status_code == 201, made.text
    project = made.json()["id"]
    name = f"barber-shop-{secrets.token_hex(3)}"  # a rerun's own: names stay taken
    published = httpx.post(f"{forja}/api/projects/{project}/publish", json={"name": name}, timeout=60)
    assert published.status_code == 201, published.text
    address = published.json()["app"]["url"]

    # A customer, on a wide screen: signed out, the app offers Forja's pages; signed up, they book.
    desktop = browser.new_context(viewport=DESKTOP)
    traffic.watch(desktop)
    customer = desktop.new_page()
    customer.goto(address)
    expect(customer.get_by_role("heading", level=1)).to_have_text("Barber Shop")
    expect(customer.locator("#list-lead")).to_have_text("Sign in to book and to see your appointments.")
    shot(customer, "1-signed-out-1440")
    sign_up(customer, CUSTOMER)
    customer.get_by_label("Day").select_option(index=1)
    day = customer.get_by_label("Day").locator("option:checked").inner_text()
    customer.get_by_text("10:00", exact=True).click()
    customer.get_by_label("Your name").fill("Sam Moreno")
    customer.get_by_role("button", name="Book", exact=True).click()
    expect(customer.get_by_role("status")).to_have_text(f"Booked: {day} at 10:00.")
    mine = customer.locator(".booking")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Sam Moreno")
    expect(mine.locator(".state")).to_have_text("Booked")
    # The time is theirs now: it cannot be picked twice.
    expect(customer.get_by_role("radio", name="10:00")).to_be_disabled()
    shot(customer, "2-booked-1440")
    accessible(customer, "the bookings starter with one booking")

    # The barber, on a phone: a customer like any other until the app's owner makes them its admin. They see the
    # first customer's time taken, not whose it is, and cannot pick it.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
    barber = phone.new_page()
    barber.goto(address)
    sign_up(barber, BARBER)
    expect(barber.locator("#list-heading")).to_have_text("Your appointments")
    expect(barber.locator(".booking")).to_have_count(0)
    barber.get_by_label("Day").select_option(index=1)
    expect(barber.get_by_role("radio", name="10:00 taken")).to_be_disabled()
    # A time taken after their page listed the taken ones is refused in words, then shown taken.
    barber.get_by_text("10:30", exact=True).click()
    barber.get_by_label("Your name").fill("Kim")
    customer.get_by_text("10:30", exact=True).click()
    customer.get_by_role("button", name="Book", exact=True).click()
    expect(customer.get_by_role("status")).to_have_text(f"Booked: {day} at 10:30.")
    barber.get_by_role("button", name="Book", exact=True).click()
    expect(barber.get_by_role("status")).to_have_text(
        f"Sorry, 10:30 on {day} was just taken by someone else. Please pick another time."
    )
    expect(barber.get_by_role("radio", name="10:30 taken")).to_be_disabled()
    shot(barber, "3-taken-390")
    people = httpx.get(f"{forja}/api/projects/{project}/app-users", timeout=30).json()
    kim = next(person["id"] for person in people if person["email"] == BARBER)
    role = httpx.put(f"{forja}/api/projects/{project}/app-users/{kim}/role", json={"role": "admin"}, timeout=30)
    assert role.status_code == 200, role.text
    barber.reload()
    expect(barber.locator("#list-heading")).to_have_text("All appointments")
    expect(barber.locator(".booking")).to_have_count(2)
    booking = barber.locator(".booking", has_text="10:00")
    expect(booking).to_contain_text("Sam Moreno")
    expect(booking).to_contain_text(CUSTOMER)
    shot(barber, "4-barber-390")
    booking.get_by_role("button", name=f"Mark done: Sam Moreno, {day} 10:00").click()
    expect(booking.locator(".state")).to_have_text("Done")
    expect(barber.locator("#list-count")).to_have_text("1 open")
    shot(barber, "5-done-390")
    accessible(barber, "the bookings starter as its admin sees it, on a phone")
    barber.get_by_role("button", name="Switch between light and dark mode").click()
    shot(barber, "6-done-390-dark")

    # The customer sees it done, and no cancel button on a booking that is over; cancelling the other frees its time,
    # while the done one's stays taken. A taken row holds the day and the time, nothing of who booked.
    customer.reload()
    done = mine.filter(has_text="10:00")
    expect(done.locator(".state")).to_have_text("Done")
    expect(done.get_by_role("button", name="Cancel", exact=False)).to_be_hidden()
    customer.get_by_role("button", name=f"Cancel appointment on {day} at 10:30").click()
    expect(mine).to_have_count(1)
    customer.get_by_label("Day").select_option(index=1)
    expect(customer.get_by_role("radio", name="10:00 taken")).to_be_disabled()
    expect(customer.get_by_role("radio", name="10:30")).to_be_enabled()
    iso = customer.get_by_label("Day").input_value()
    taken = customer.evaluate("async () => (await forja.data('taken').list()).rows.map((row) => row.data)")
    assert taken == [{"day": iso, "time": "10:00"}]
    phone.close()
    desktop.close()
    assert traffic.off_machine() == []
