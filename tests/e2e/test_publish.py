"""Publish from the workspace, as a person does: the React starter built for production, opened at its own address on
a phone, a second release, a rollback to the first, and the app taken down. At 1440x900 and 390x844."""

from __future__ import annotations

import json
import re
import secrets
import time

import httpx
from playwright.sync_api import Browser, Page, expect

from builder.generation.starters import StarterVariables, get_starter, render_starter
from tests.dns_server import LocalDNS
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
    address = page.locator("#app-address").inner_text()
    assert re.fullmatch(r"http://fade-barbers\.apps\.localhost:\d+", address), address
    expect(page.locator("#app-state")).to_have_text("Live")
    expect(page.locator(".release-row")).to_have_count(1)
    shot(page, "2-published-desktop")
    page.get_by_role("button", name="Done").click()

    # The app at its own address, on a phone: the built page, a handful of requests, no dev server's modules.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
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
    expect(page.locator('.release-row[data-release="1"] .rollback-release')).to_have_text("Roll back")
    page.locator('.release-row[data-release="1"] .rollback-release').click()
    expect(page.locator("#publish-notice")).to_contain_text("Release 1 is live again")
    visitor.reload()
    expect(visitor.get_by_text("Fade Barbers").first).to_be_visible()
    expect(visitor.get_by_text("now open Sundays")).to_have_count(0)
    # The newer release, rolled back from, goes live again forward, not "back".
    expect(page.locator('.release-row[data-release="2"] .rollback-release')).to_have_text("Make live again")
    expect(page.locator('.release-row[data-release="1"] .rollback-release')).to_have_count(0)
    shot(page, "4b-rolled-back-phone")

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

    # A build that fails says why, keeps nothing live it should not, and Fix this hands the error to the model.
    manifest = json.loads(files["package.json"])
    manifest["scripts"]["build"] = "echo 'Missing module ./Booking.jsx' >&2 && exit 1"
    put = httpx.put(f"{forja}/api/projects/{project}/files/package.json", json={"content": json.dumps(manifest)}, timeout=30)
    put.raise_for_status()
    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator("#version-badge")).to_contain_text("3", timeout=30_000)
    open_publish(page)
    page.locator("#publish-now").click()
    expect(page.locator("#publish-error")).to_contain_text("Missing module ./Booking.jsx", timeout=180_000)
    expect(page.locator('.release-row[data-release="3"]')).to_contain_text("failed")
    shot(page, "6-build-failed-desktop")
    page.locator("#fix-build").click()
    expect(page.get_by_role("dialog", name="Publish your app")).to_be_hidden()
    expect(page.get_by_text("The production build failed when publishing the app").first).to_be_visible()
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


def test_a_person_proves_their_domain_with_a_txt_record_before_it_serves_the_app(
    forja: str, page: Page, local_dns_server: LocalDNS, traffic: Traffic
) -> None:
    """Add a domain, make the record the dialog shows (here, in the test's DNS server that this Forja asks), Check:
    proved and served; pointed here, live. Before the record, the domain serves nothing."""
    app = f"tidy-{secrets.token_hex(3)}"  # a rerun's own: names and domains stay taken
    domain = f"{app}.example.test"
    shop = "<!doctype html><html lang='en'><title>Tidy shop</title><h1>Tidy shop</h1><p>Mended by noon.</p></html>"
    made = httpx.post(f"{forja}/api/projects", json={"name": "Tidy shop", "files": {"index.html": shop}}, timeout=30)
    project = made.json()["id"]
    published = httpx.post(f"{forja}/api/projects/{project}/publish", json={"name": app}, timeout=60)
    assert published.status_code == 201, published.text
    edge = "http://127.0.0.1:" + published.json()["app"]["url"].rsplit(":", 1)[1]  # Traefik, as a visitor reaches it

    def at_domain() -> httpx.Response:
        return httpx.get(edge, headers={"Host": domain}, timeout=10)

    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)
    open_publish(page)
    page.locator("#new-domain").fill(domain)
    page.locator("#add-domain").click()
    expect(page.locator("#domain-status")).to_have_text("Waiting for the record")
    expect(page.locator("#proof-type")).to_have_text("TXT")
    expect(page.locator("#proof-name")).to_have_text(f"_forja-verify.{domain}")
    expect(page.locator("#proof-value")).to_have_text(re.compile(r"^forja-verify=[0-9a-f]{32}$"))
    expect(page.locator("#cname-value")).to_have_text(f"{app}.apps.localhost")
    expect(page.locator("#domain-detail")).to_contain_text("Until then, nothing is served there.")
    page.locator("#proof-record").scroll_into_view_if_needed()
    shot(page, "domain-1-waiting-1440")
    accessible(page, "the Publish dialog with a domain waiting for its record", widths=(DESKTOP, PHONE))
    assert at_domain().status_code == 404  # Traefik's not-found: routed nowhere

    page.locator("#check-domain").click()
    expect(page.locator("#domain-detail")).to_contain_text(f"does not see the TXT record of {domain} yet")
    expect(page.locator("#domain-status")).to_have_text("Waiting for the record")

    # The owner makes the record at their provider (here: the DNS server this Forja asks), then checks again.
    local_dns_server.set(f"_forja-verify.{domain}", "TXT", page.locator("#proof-value").inner_text())
    page.locator("#check-domain").click()
    expect(page.locator("#domain-status")).to_have_text("Proved")
    expect(page.locator("#domain-detail")).to_contain_text("does not point here yet")
    deadline = time.monotonic() + 10
    while "Mended by noon" not in (answer := at_domain()).text:  # Traefik applies the new route within a second
        assert time.monotonic() < deadline, (answer.status_code, answer.text)
        time.sleep(0.1)

    local_dns_server.set(domain, "CNAME", f"{app}.apps.localhost.")
    local_dns_server.set(f"{app}.apps.localhost", "A", "127.0.0.1")
    page.set_viewport_size(PHONE)
    page.locator("#check-domain").click()
    expect(page.locator("#domain-status")).to_have_text("Live")
    expect(page.locator("#domain-detail")).to_have_text(f"{domain} is live: it points here and the app answers there.")
    page.locator("#cname-record").scroll_into_view_if_needed()
    shot(page, "domain-2-live-390")
    page.set_viewport_size(DESKTOP)
    page.locator("#domain-status").scroll_into_view_if_needed()
    shot(page, "domain-3-live-1440")
    accessible(page, "the Publish dialog with a live domain", widths=(DESKTOP, PHONE))
    assert traffic.off_machine() == []


def test_the_share_dialog_offers_the_published_app_live_or_pinned(
    forja: str, page: Page, browser: Browser, traffic: Traffic
) -> None:
    bakery = "<!doctype html><html lang='en'><title>Corner bakery</title><h1>Corner bakery</h1><p>Rye on {}.</p></html>"
    made = httpx.post(
        f"{forja}/api/projects", json={"name": "Corner bakery", "files": {"index.html": bakery.format("Fridays")}}, timeout=30
    )
    project = made.json()["id"]
    published = httpx.post(f"{forja}/api/projects/{project}/publish", json={"name": "corner-bakery"}, timeout=60)
    assert published.status_code == 201, published.text
    address = published.json()["app"]["url"]

    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    page.locator("#tab-preview").click()
    expect(page.locator("#share-button")).to_be_enabled(timeout=90_000)
    page.locator("#share-button").click()
    dialog = page.get_by_role("dialog", name="Share a live link")
    expect(dialog.get_by_role("radiogroup", name="What the link opens")).to_be_visible()
    page.get_by_role("radio", name="Release 1, pinned").click()
    expect(dialog).to_contain_text("opens release 1 of the published app")
    page.locator("#create-share").click()
    expect(page.locator("#share-link")).to_have_value(re.compile(r"/s/"))
    pinned = page.locator("#share-link").input_value()
    expect(page.locator(".share-row").first).to_contain_text("Release 1")
    shot(page, "share-release-1440")
    accessible(page, "the Share dialog of a published project")
    page.get_by_role("button", name="Done").click()

    # A later publish leaves the pinned link on release 1; the built files answer on the release's own host.
    httpx.put(
        f"{forja}/api/projects/{project}/files/index.html", json={"content": bakery.format("Saturdays")}, timeout=30
    ).raise_for_status()
    assert httpx.post(f"{forja}/api/projects/{project}/publish", json={}, timeout=60).status_code == 201
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
    visitor = phone.new_page()
    visitor.goto(pinned)
    release_host = address.replace("corner-bakery.", "corner-bakery--r1.")
    assert visitor.url.rstrip("/") == release_host, visitor.url
    expect(visitor.get_by_text("Rye on Fridays.")).to_be_visible()
    visitor.screenshot(path=str(ARTIFACTS / "publish-share-release-app-390.png"))

    # At phone width: a link to the live app, which opens today's release at the app's own address.
    page.set_viewport_size(PHONE)
    page.locator("#phone-tab-preview").click()
    page.locator("#share-button").click()
    expect(page.get_by_role("radio", name="Release 2, pinned")).to_be_visible()  # the release live now
    page.get_by_role("radio", name="The published app").click()
    expect(dialog).to_contain_text("It follows later publishes")
    page.locator("#create-share").click()
    expect(page.locator("#share-link")).to_have_value(re.compile(r"/s/"))
    live = page.locator("#share-link").input_value()
    expect(page.locator(".share-row").first).to_contain_text("The live app")
    shot(page, "share-live-390")
    accessible(page, "the Share dialog of a published project, at phone width", widths=(PHONE,))
    visitor.goto(live)
    assert visitor.url.rstrip("/") == address, visitor.url
    expect(visitor.get_by_text("Rye on Saturdays.")).to_be_visible()

    # Turned off: the link says so, and the release's own host answers nothing any more.
    page.locator('.share-row:has-text("Release 1") .revoke-share').click()
    page.locator(".confirm-revoke").click()
    expect(page.locator('.share-row:has-text("Release 1")')).to_contain_text("turned off")
    gone = visitor.goto(pinned)
    assert gone is not None and gone.status == 410
    answer = visitor.goto(release_host)
    assert answer is not None and answer.status == 404
    phone.close()
    assert traffic.off_machine() == []


# A server app a person might have: notes kept in its database (node:sqlite at DATABASE_PATH, in the app's /data), a
# greeting read from its Environment, and which edition of its code answers.
NOTES_SERVER = """const http = require('http')
const { DatabaseSync } = require('node:sqlite')
const db = new DatabaseSync(process.env.DATABASE_PATH)
db.exec('CREATE TABLE IF NOT EXISTS notes (text TEXT)')
const escape = (text) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
http.createServer((req, res) => {
  const note = new URL(req.url, 'http://app').searchParams.get('add')
  if (note) db.prepare('INSERT INTO notes VALUES (?)').run(note)
  const items = db.prepare('SELECT text FROM notes').all().map((row) => `<li>${escape(row.text)}</li>`).join('')
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.end(`<!doctype html><meta name="viewport" content="width=device-width"><title>Notes</title>
<h1>Team notes, edition EDITION</h1><p id="greeting">${escape(process.env.NOTES_GREETING || 'no greeting')}</p>
<ul>${items}</ul><form><input name="add" aria-label="New note"><button>Add</button></form>`)
}).listen(Number(process.env.PORT), process.env.HOST)
"""


def notes_files(edition: int) -> dict[str, str]:
    manifest = {"name": "team-notes", "version": "1.0.0", "scripts": {"start": "node server.js", "dev": "node server.js"}}
    return {"package.json": json.dumps(manifest), "server.js": NOTES_SERVER.replace("EDITION", str(edition))}


def test_a_server_app_is_published_reads_its_secret_and_keeps_its_data_across_releases(
    forja: str, page: Page, browser: Browser, traffic: Traffic
) -> None:
    files = notes_files(1)
    project = httpx.post(f"{forja}/api/projects", json={"name": "Team notes", "files": files}, timeout=30).json()["id"]
    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)

    # Its secret, set in the Environment panel before the first publish.
    page.locator("#project-menu").click()
    page.locator("#menu-env").click()
    page.locator("#env-name").fill("NOTES_GREETING")
    page.locator("#env-value").fill("Hello from the server")
    page.locator("#env-save").click()
    expect(page.locator("#env-notice")).to_contain_text("NOTES_GREETING is saved")
    page.keyboard.press("Escape")

    open_publish(page)
    publish_now(page, 1)
    expect(page.locator('.release-row[data-release="1"]')).to_contain_text("server")
    shot(page, "server-1-published-desktop")
    address = page.locator("#app-address").inner_text()
    page.get_by_role("button", name="Done").click()

    # On a phone: the server's page, its secret read by the server, a note added.
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    traffic.watch(phone)
    visitor = phone.new_page()
    response = visitor.goto(address)
    assert response is not None and response.status == 200
    expect(visitor.locator("h1")).to_have_text("Team notes, edition 1")
    expect(visitor.locator("#greeting")).to_have_text("Hello from the server")
    visitor.get_by_label("New note").fill("Order more coffee")
    visitor.get_by_role("button", name="Add").click()
    expect(visitor.get_by_text("Order more coffee")).to_be_visible()
    visitor.screenshot(path=str(ARTIFACTS / "publish-server-2-app-phone.png"))

    # A new release: new code, the same data.
    put = httpx.put(f"{forja}/api/projects/{project}/files/server.js", json={"content": notes_files(2)["server.js"]}, timeout=30)
    put.raise_for_status()
    page.reload()
    expect(page.locator("#version-badge")).to_contain_text("2", timeout=30_000)
    page.set_viewport_size(PHONE)
    open_publish(page)
    publish_now(page, 2)
    visitor.goto(address)
    expect(visitor.locator("h1")).to_have_text("Team notes, edition 2")
    expect(visitor.get_by_text("Order more coffee")).to_be_visible()

    # Rolled back: the first release's code again (its sandbox kept, no rebuild), and still the note.
    page.locator('.release-row[data-release="1"] .rollback-release').click()
    expect(page.locator("#publish-notice")).to_contain_text("Release 1 is live again")
    shot(page, "server-3-rolled-back-phone")
    visitor.goto(address)
    expect(visitor.locator("h1")).to_have_text("Team notes, edition 1", timeout=30_000)
    expect(visitor.get_by_text("Order more coffee")).to_be_visible()
    phone.close()
    assert traffic.off_machine() == []


def test_the_publish_dialog_tells_risky_data_rules_before_the_press(forja: str, page: Page, traffic: Traffic) -> None:
    """The current version's data rules in words as the dialog opens, above the publish button; a publish goes ahead and
    answers with them. Rules that cannot be read say why, and the publish button waits for them to be fixed. A private
    value pasted into the page stops the publish: the dialog lists the finding, its owner publishes anyway saying why,
    and Fix this sends the finding to the model."""
    shop = "<!doctype html><html lang='en'><title>Chair booking</title><h1>Chair booking</h1><p>Book a cut.</p></html>"
    # Anyone may read every booking: a risk told (a high finding of the review, which stops no publish).
    rules = {"collections": {"bookings": {"read": "public", "create": "signed-in", "update": "owner", "delete": "owner"}}}
    risk = "Anyone, even without signing in, can see every row of 'bookings'."
    files = {"index.html": shop, ".forja/data.json": json.dumps(rules)}
    project = httpx.post(f"{forja}/api/projects", json={"name": "Chair booking", "files": files}, timeout=30).json()["id"]

    page.set_viewport_size(DESKTOP)
    page.goto(f"{forja}/p/{project}")
    expect(page.locator("#publish-button")).to_be_enabled(timeout=90_000)
    open_publish(page)
    risks = page.locator("#rules-risks")
    expect(risks).to_contain_text("Check your app's data rules before you publish")
    expect(risks.locator(".rules-risk")).to_have_text([risk])
    # Above the button that publishes: read before the press.
    risks_box, button_box = risks.bounding_box(), page.locator("#publish-now").bounding_box()
    assert risks_box is not None and button_box is not None and risks_box["y"] < button_box["y"]
    shot(page, "rules-risky-1440")
    page.set_viewport_size(PHONE)
    expect(risks.locator(".rules-risk")).to_have_text([risk])
    shot(page, "rules-risky-390")
    accessible(page, "the Publish dialog telling risky data rules", widths=(DESKTOP, PHONE))
    page.set_viewport_size(DESKTOP)
    publish_now(page, 1)
    expect(risks.locator(".rules-risk")).to_have_text([risk])  # still there after it went live

    # Rules that cannot be read: the dialog says why as it opens, and the publish is refused with that sentence.
    broken = '{"collections": {"bookings": {"read": "everyone"}}}'
    put = httpx.put(f"{forja}/api/projects/{project}/files/.forja/data.json", json={"content": broken}, timeout=30)
    put.raise_for_status()
    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator("#version-badge")).to_contain_text("2", timeout=30_000)
    open_publish(page)
    sentence = 'In collection "bookings", "read" must be "public", "signed-in", "owner" or "admin"'
    expect(page.locator("#rules-error")).to_contain_text(sentence)
    expect(page.locator("#rules-risks")).to_have_count(0)
    expect(page.locator("#publish-now")).to_be_disabled()  # the API refuses it too (tests/integration/test_publish_rules.py)
    expect(page.locator(".release-row")).to_have_count(1)
    shot(page, "rules-broken-1440")
    page.set_viewport_size(PHONE)
    expect(page.locator("#rules-error")).to_contain_text(sentence)
    shot(page, "rules-broken-390")

    # A private value pasted into the page: the review stops the publish, and the dialog lists why, worst first.
    secret = "shop-" + "hush-41f9c2a7d3"  # in parts, so no scanner of this repository takes it for a real one
    env = httpx.put(f"{forja}/api/projects/{project}/env/SHOP_SECRET", json={"value": secret}, timeout=30)
    env.raise_for_status()
    pasted = shop.replace(
        "<p>Book a cut.</p>", f"<p>Book a cut.</p>\n<script>fetch('/pay', {{headers: {{key: '{secret}'}}}})</script>"
    )
    for path, content in ((".forja/data.json", json.dumps(rules)), ("index.html", pasted)):
        put = httpx.put(f"{forja}/api/projects/{project}/files/{path}", json={"content": content}, timeout=30)
        put.raise_for_status()
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="Done").click()
    page.reload()
    expect(page.locator("#version-badge")).to_contain_text("4", timeout=30_000)
    open_publish(page)
    page.locator("#publish-now").click()
    expect(page.locator("#publish-error")).to_contain_text("so it was not published", timeout=60_000)
    findings = page.locator("#review-findings .review-finding")
    expect(findings.first).to_contain_text("Must fix")
    expect(findings.first).to_contain_text("SHOP_SECRET")
    expect(findings.first).to_contain_text("in index.html, line 2")
    expect(findings.nth(1)).to_contain_text("Should fix")  # the rules' risk, after it
    expect(page.locator("#review-findings")).not_to_contain_text(secret)
    expect(page.locator("#fix-build")).to_have_count(0)  # not a build's failure
    expect(page.locator('.release-row[data-release="2"]')).to_contain_text("stopped by the review")
    page.locator("#publish-anyway").click()
    page.locator("#publish-anyway-now").click()  # with no reason: the service's sentence, next to the field
    expect(page.locator("#override-error")).to_contain_text("Say in a few words why")
    page.locator("#review-findings").scroll_into_view_if_needed()
    shot(page, "review-stopped-1440")
    page.set_viewport_size(PHONE)
    page.locator("#review-findings").scroll_into_view_if_needed()
    shot(page, "review-stopped-390")
    accessible(page, "the Publish dialog listing the review's findings", widths=(DESKTOP, PHONE))
    page.set_viewport_size(DESKTOP)  # the chat shows beside the code
    page.locator("#override-reason").fill("It is a test key that opens nothing.")
    page.locator("#publish-anyway-now").click()
    expect(page.locator("#publish-notice")).to_contain_text("Version 4 is live as release 3", timeout=60_000)
    expect(page.locator("#review-findings")).to_have_count(0)
    expect(page.locator("#app-state")).to_have_text("Live")

    # Stopped again (a reason holds for its own release only): Fix this asks the model to change the finding's place.
    page.locator("#publish-now").click()
    expect(page.locator('.release-row[data-release="4"]')).to_contain_text("stopped by the review", timeout=60_000)
    expect(findings.first).to_contain_text("Must fix")
    findings.first.locator(".fix-finding").click()
    expect(page.get_by_role("dialog", name="Publish your app")).to_be_hidden()
    expect(page.get_by_text("The review before publishing found a problem").first).to_be_visible()
    expect(page.get_by_text("(It is in index.html, line 2.)").first).to_be_visible()
    assert traffic.off_machine() == []
