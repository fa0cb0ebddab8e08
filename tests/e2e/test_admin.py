"""The admin page in Chromium against a real Forja with accounts (FORJA_AUTH=password), and without them.

An admin builds an app with the offline starters (a generation, then its preview), opens the admin page from their
menu, reads that usage in the charts and the tables, invites someone who signs up with the link and, as an editor of
the admin's project with a key in its page, has their publish stopped by the review (the dialog offers Fix this but
not Publish anyway); the admin publishes anyway and reads the app among the live apps with open problems. Then the
admin changes that person's quotas, disables them, and stops the previews. Each section leaves screenshots,
`admin-<section>-<width>[-dark].png`, at 1440x900 and 390x844. Last, with no model yet, the home page's note sends the
admin to the Models section, where they connect an OpenAI-compatible server (tests/llm_server.py), test it, and build
with it at once, without a restart; its key is never in the page or Forja's log.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.e2e.accounts import setup_code, sign_in
from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE, Traffic, accessible, another_forja, choose_example
from tests.llm_server import ScriptedLLMServer, TextAnswer, ToolAnswer

ADMIN = {"email": "ana@example.org", "name": "Ana Admin", "password": "admin password 1"}
INVITED = {"email": "bo@example.org", "name": "Bo Member", "password": "member password 1"}
SECTIONS = ["users", "invitations", "quotas", "usage", "previews", "reviews", "evals", "health"]
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"  # in parts, so no scanner of this repository takes it for a real one
LEAKY = f"<!doctype html><html lang='en'><title>Key shop</title><h1>Key shop</h1>\n<script>const k='{AWS_KEY}'</script>\n"
REASON = "It is the example key from the cloud's own documentation."
LOG = "forja-admin.log"
# One key per run of the module: the log, which the tests share, must never hold it.
MODEL_KEY = f"sk-test-admin-page-{secrets.token_hex(12)}"
BARBER = "<!doctype html><html lang='en'><title>Barber bookings</title><h1>Book a cut</h1></html>\n"


def built(title: str) -> dict[str, Any]:
    """What the model answers to a build: one page."""
    return {"title": title, "summary": "A page to book a cut.", "files": [{"path": "index.html", "content": BARBER}]}


@pytest.fixture
def admin_forja(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Forja with accounts whose admin has signed up with the setup code; offline starters, generations unchecked.
    One per test, not per module: a second try of a test cut short counts its usage from nothing, as the first did."""
    log = ARTIFACTS / LOG
    since = log.stat().st_size if log.exists() else 0
    # No model from the environment: the admin connects one on the admin page.
    no_model = {"FORJA_PROVIDER": "", "ANTHROPIC_API_KEY": "", "OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    env = {"FORJA_AUTH": "password", "FORJA_VERIFY_GENERATIONS": "false", **no_model}
    with another_forja(tmp_path_factory.mktemp("admin"), LOG, env) as base:
        answer = httpx.post(f"{base}/api/auth/sign-up", json={**ADMIN, "setup_code": setup_code(log, since)}, timeout=30)
        assert answer.status_code == 200, answer.text
        yield base
    assert MODEL_KEY not in log.read_text()[since:], "a model's key is in Forja's log"


def shoot_sections(page: Page, width: int) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for section in SECTIONS:
            box = page.locator(f"#admin-{section}")
            box.scroll_into_view_if_needed()
            suffix = "" if scheme == "light" else "-dark"
            # The new scheme's transitions end at once instead of a fixed wait for them.
            box.screenshot(path=str(ARTIFACTS / f"admin-{section}-{width}{suffix}.png"), animations="disabled")
    page.emulate_media(color_scheme="light")


def fields_fill_the_card(page: Page) -> bool:
    """Whether the sign-in fields are as wide as the card's content."""
    inner = page.locator(".auth-card").evaluate(
        "card => { const s = getComputedStyle(card); return card.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); }"
    )
    boxes = [page.locator(f"#auth-{name}").bounding_box() for name in ("email", "password")]
    # The input sits inside its field's border, a pixel each side.
    return all(box is not None and abs(box["width"] - inner) <= 4 for box in boxes)


def no_sideways_scroll(page: Page, viewport: ViewportSize) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page scrolls sideways ({width} px wide)"


def test_an_admin_reads_the_usage_invites_someone_and_stops_a_preview(
    admin_forja: str, page: Page, browser: Browser, traffic: Traffic, llm: ScriptedLLMServer
) -> None:
    base = admin_forja
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/login")
    expect(page.locator("#auth-submit")).to_be_visible()
    accessible(page, "sign-in", widths=(DESKTOP, PHONE))
    # The fields fill the card from the first paint, and an error's sentence does not widen them.
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        assert fields_fill_the_card(page)
    page.locator("#auth-email").fill(ADMIN["email"])
    page.locator("#auth-password").fill("not the password")
    page.locator("#auth-submit").click()
    expect(page.locator(".auth-error")).to_be_visible()
    assert fields_fill_the_card(page)
    sign_in(page, base, ADMIN["email"], ADMIN["password"])

    # Usage: a generation from the home page (offline starters), and its preview.
    choose_example(page, "A todo list with dark mode")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=120_000)
    # Offline, a mode that needs a model tells the admin to connect one themselves, and links where.
    page.locator("#followup-mode").get_by_role("radio", name="Agent").click(force=True)
    refusal = page.get_by_role("alert").filter(has_text="Agent mode needs a model")
    expect(refusal).to_contain_text("you can connect one yourself in the Models section of the admin page")
    expect(refusal.get_by_role("link", name="Open the Models section.")).to_have_attribute("href", "/admin#admin-models")
    page.locator("#tab-preview").click()
    expect(page.frame_locator("#preview-frame").locator("body")).to_contain_text("Todo List", timeout=180_000)

    # The admin page, from the person's menu.
    page.locator("#user-menu").click()
    page.locator("#menu-admin").click()
    page.wait_for_url(f"{base}/admin")
    expect(page.locator("#admin-usage")).to_be_visible()

    # The charts draw a bar for today's generation and preview; offline starters cost no tokens.
    expect(page.locator("#chart-generations path.recharts-rectangle")).to_have_count(1)
    expect(page.locator("#chart-previews path.recharts-rectangle")).to_have_count(1)
    expect(page.locator("#chart-tokens path.recharts-rectangle")).to_have_count(0)
    expect(page.locator("#chart-generations .admin-total")).to_have_text("1")
    expect(page.locator("#chart-tokens .admin-total")).to_have_text("0")
    # Days under the bars, the last one today (UTC).
    now = datetime.now(UTC)
    expect(page.locator("#chart-generations svg.recharts-surface")).to_contain_text(f"{now.day} {now:%b}")
    page.locator(".admin-summary").click()
    today = page.locator("#usage-table .usage-day")
    expect(today).to_have_count(1)
    expect(today.locator("td")).to_have_text(["0", "$0.00", "1", "1"])

    # The people: the admin, with the project they own and today's tokens.
    ana = page.locator('.admin-user[data-email="ana@example.org"]')
    expect(ana).to_contain_text("Ana Admin")
    expect(ana.locator("td").nth(3)).to_have_text("1")  # projects
    expect(ana.locator(".user-tokens")).to_have_text("0")

    # The preview, with its memory (the local runner reads its processes').
    preview_row = page.locator(".admin-preview")
    expect(preview_row).to_have_count(1)
    expect(preview_row).to_contain_text("local")
    expect(preview_row.locator(".preview-memory")).to_have_text(re.compile(r"^\d+(\.\d)? (KB|MB|GB)$"))

    # Health: the store, the proxy and the local runner answer.
    expect(page.locator("#health-summary")).to_contain_text("Everything Forja needs answers", timeout=60_000)
    expect(page.locator('.admin-check[data-check="store"]')).to_contain_text("SQLite answered")
    expect(page.locator('.admin-check[data-check="preview proxy"]')).to_contain_text("Traefik answers")

    # Invite someone: the link is shown once, on the address the admin uses; they sign up with it.
    page.locator("#invite-email").fill(INVITED["email"])
    page.locator("#invite-button").click()
    link = page.locator("#invite-link")
    expect(link).to_have_value(re.compile(re.escape(f"{base}/signup?invite=") + r"[A-Za-z0-9_-]{40,}$"))
    expect(page.locator("#open-invitations")).to_contain_text(INVITED["email"])
    invited = browser.new_context(viewport=DESKTOP)
    newcomer = invited.new_page()
    newcomer.goto(link.input_value())
    expect(newcomer.locator("#auth-email")).to_have_value(INVITED["email"])
    accessible(newcomer, "sign-up from an invitation", widths=(DESKTOP, PHONE))
    newcomer.locator("#auth-name").fill(INVITED["name"])
    newcomer.locator("#auth-password").fill(INVITED["password"])
    newcomer.locator("#auth-submit").click()
    newcomer.wait_for_url(f"{base}/")
    # No model yet: a member is told, in words, who can connect one (the admin is sent to the admin page, below).
    expect(newcomer.locator("#mode-note .connect-model-ask")).to_have_text("Ask the person who runs this Forja to connect one.")
    expect(newcomer.locator("#mode-note a")).to_have_count(0)
    # A member is refused the admin page, in words.
    newcomer.goto(f"{base}/admin")
    expect(newcomer.locator("#admin-refused")).to_contain_text("Only admins of this Forja can open this page")
    expect(newcomer.locator("#admin-usage")).to_have_count(0)
    # The machine's report is the admins' too: a member learns only whether previews can run here.
    told = newcomer.request.get(f"{base}/api/doctor").json()
    assert set(told) == {"usable", "verdict"}
    newcomer.goto(f"{base}/doctor")
    expect(newcomer.locator("#doctor-verdict")).to_have_text(told["verdict"], timeout=60_000)
    expect(newcomer.locator(".doctor-runner")).to_have_count(0)
    expect(newcomer.locator(".doctor-check")).to_have_count(0)
    for width, size in (("1440", DESKTOP), ("390", PHONE)):
        newcomer.set_viewport_size(size)
        newcomer.screenshot(path=str(ARTIFACTS / f"doctor-member-{width}.png"), full_page=True)
    accessible(newcomer, "doctor for a member", widths=(DESKTOP, PHONE))
    newcomer.set_viewport_size(DESKTOP)
    newcomer.screenshot(path=str(ARTIFACTS / "admin-refused-1440.png"))
    accessible(newcomer, "the admin page, refused", widths=(DESKTOP, PHONE))

    # Bo edits a project of Ana's whose page holds a key: the review stops Bo's publish, and the dialog lists the
    # finding with Fix this but no Publish anyway, which is its owner's alone. Ana publishes anyway, saying why.
    made = page.request.post(f"{base}/api/projects", data={"name": "Key shop", "files": {"index.html": LEAKY}})
    project = made.json()["id"]
    added = page.request.post(f"{base}/api/projects/{project}/members", data={"email": INVITED["email"], "role": "editor"})
    assert added.status == 201, added.text()
    newcomer.goto(f"{base}/p/{project}")
    expect(newcomer.locator("#publish-button")).to_be_enabled(timeout=90_000)
    newcomer.locator("#publish-button").click()
    newcomer.locator("#publish-now").click()
    expect(newcomer.locator("#publish-error")).to_contain_text("so it was not published", timeout=60_000)
    findings = newcomer.locator("#review-findings")
    expect(findings.locator(".review-finding")).to_have_count(1)
    expect(findings.locator(".review-finding")).to_contain_text("An AWS Access Key is written in index.html")
    expect(findings.locator(".fix-finding")).to_be_visible()
    expect(findings.locator("#owner-only")).to_have_text(
        "Only the project's owner can publish it anyway. Fix the problems, or ask the owner."
    )
    expect(newcomer.locator("#publish-anyway")).to_have_count(0)
    newcomer.screenshot(path=str(ARTIFACTS / "admin-editor-stopped-1440.png"))
    newcomer.set_viewport_size(PHONE)
    findings.scroll_into_view_if_needed()
    newcomer.screenshot(path=str(ARTIFACTS / "admin-editor-stopped-390.png"))
    expect(page.locator("#no-live-findings")).to_be_visible()  # the admin page as it was loaded: nothing live yet
    anyway = page.request.post(f"{base}/api/projects/{project}/publish", data={"override_reason": REASON})
    assert anyway.status == 201, anyway.text()

    page.locator("#admin-refresh").click()
    # The app live with its open problem, its owner and her reason; its name leads to its project.
    live = page.locator(f'.admin-finding-app[data-project="{project}"]')
    expect(live).to_contain_text("ana@example.org")
    expect(live.locator(".finding-counts")).to_have_text("1 critical")
    expect(live).to_contain_text(REASON)
    expect(live.get_by_role("link", name="key-shop", exact=True)).to_have_attribute("href", f"/p/{project}")
    bo = page.locator('.admin-user[data-email="bo@example.org"]')
    expect(bo).to_contain_text("Bo Member")
    expect(page.locator("#open-invitations")).to_have_count(0)

    # A reset link for Bo, shown once; it opens the page that sets a new password.
    bo.get_by_role("button", name="Reset link").click()
    reset = page.locator("#reset-link")
    expect(reset).to_have_value(re.compile(re.escape(f"{base}/reset?token=") + r"[A-Za-z0-9_-]{40,}$"))
    newcomer.goto(reset.input_value())
    expect(newcomer.locator("#reset-form")).to_be_visible()
    accessible(newcomer, "set a new password", widths=(DESKTOP, PHONE))

    # The whole admin page, with the link shown and the health checked, wide and on a phone, light and dark.
    accessible(page, "admin", widths=(DESKTOP, PHONE))

    # Screenshots of every section, wide and on a phone, light and dark; on a phone nothing scrolls sideways.
    shoot_sections(page, 1440)
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(500)
    no_sideways_scroll(page, PHONE)
    shoot_sections(page, 390)
    page.set_viewport_size(DESKTOP)

    # Bo's own quotas: an empty field is the default.
    bo.locator(".edit-quotas").click()
    dialog = page.locator("#quotas-dialog")
    expect(dialog).to_be_visible()
    dialog.locator('input[name="tokens_day"]').fill("5,000")
    page.screenshot(path=str(ARTIFACTS / "admin-quotas-dialog-1440.png"))
    accessible(page, "quotas dialog", widths=(DESKTOP, PHONE))
    page.locator("#save-quotas").click()
    expect(dialog).to_have_count(0)
    bo.locator(".edit-quotas").click()
    expect(dialog.locator('input[name="tokens_day"]')).to_have_value("5000")
    expect(dialog.locator('input[name="projects"]')).to_have_value("")
    page.keyboard.press("Escape")

    # Disable Bo, after a confirmation: their open page is signed out at its next request.
    bo.locator(".disable-user").click()
    page.locator(".confirm-disable").click()
    expect(bo).to_contain_text("disabled")
    assert newcomer.request.get(f"{base}/api/auth/me").status == 401
    invited.close()

    # Stop the previews, each after a confirmation: the app's, and Key shop's, which started as Bo opened it (a project
    # opens on its running app).
    for left in range(preview_row.count(), 0, -1):
        preview_row.first.locator(".stop-preview").click()
        expect(page.locator(".confirm-stop")).to_be_visible()
        if left == 1:
            accessible(page, "confirmation dialog")
        page.locator(".confirm-stop").click()
        expect(preview_row).to_have_count(left - 1)
    expect(page.locator("#no-previews")).to_be_visible()

    # The admin reads the machine's report.
    page.goto(f"{base}/doctor")
    expect(page.locator(".doctor-runner").first).to_be_visible(timeout=60_000)
    expect(page.locator("#doctor-verdict")).to_have_count(0)

    connect_a_model_and_build_with_it(page, base, llm)
    assert traffic.off_machine() == []


def connect_a_model_and_build_with_it(page: Page, base: str, llm: ScriptedLLMServer) -> None:
    """No model yet: the home page's note sends the admin to the Models section; the model connected there answers
    its test and builds the next app, at once."""
    page.goto(base)
    note = page.locator("#mode-note")
    expect(note).to_contain_text("no AI model is connected")
    note.get_by_role("link", name="Connect one on the admin page.").click()
    page.wait_for_url(f"{base}/admin#admin-models")
    models = page.locator("#admin-models")
    expect(models.locator("#admin-no-models")).to_be_visible()
    models.get_by_text("OpenAI, or OpenAI-compatible").click()
    page.locator("#model-key").fill(MODEL_KEY)
    expect(page.locator("#model-key")).to_have_attribute("type", "password")
    page.locator("#model-url").fill(f"{llm.openai_base_url}/")
    page.locator("#model-name").fill("local-model")
    page.locator("#model-connect").click()
    row = models.locator(".admin-model")
    expect(row).to_contain_text("local-model \u00b7 " + llm.openai_base_url + " \u00b7 Key set (hidden)")
    expect(row).to_contain_text("Default")
    expect(page.locator("#model-key")).to_have_value("")
    llm.queue(TextAnswer("OK"))
    row.locator(".model-test").click()
    # Its first request loads the provider's SDK (imported lazily), seconds on a busy machine.
    expect(row.locator(".model-tested")).to_have_text(re.compile(r"^It answered in \d+ ms\.$"), timeout=30_000)
    assert llm.requests[-1].body["max_tokens"] == 1
    assert MODEL_KEY not in page.content()
    for width, size in (("1440", DESKTOP), ("390", PHONE)):
        page.set_viewport_size(size)
        models.scroll_into_view_if_needed()
        models.screenshot(path=str(ARTIFACTS / f"admin-models-{width}.png"), animations="disabled")
        no_sideways_scroll(page, size)
    page.set_viewport_size(DESKTOP)
    accessible(page, "admin models", widths=(DESKTOP, PHONE))

    # Built with it, no restart: the note is gone and the next build goes to the connected model.
    page.goto(base)
    expect(page.locator("#mode-note")).to_have_text("")
    llm.queue(ToolAnswer(built("Barber bookings")))
    page.locator("#prompt").fill("A booking page for my barber shop")
    page.locator("#build-button").click()
    page.wait_for_url(re.compile(r"/p/[0-9a-f]+$"))
    expect(page.locator("#version-badge")).to_have_text("v1", timeout=120_000)
    expect(page.locator("#provider-select")).to_have_text("OpenAI-compatible \u00b7 local-model")
    sent = llm.requests[-1]
    assert (sent.path, sent.body["model"], sent.headers["authorization"]) == (
        "/v1/chat/completions",
        "local-model",
        f"Bearer {MODEL_KEY}",
    )


def test_without_accounts_the_home_page_links_the_admin_page_of_usage_previews_and_health(forja: str, page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(forja)
    page.locator("#admin-link").click()
    page.wait_for_url(f"{forja}/admin")
    for section in ("usage", "previews", "evals", "health"):
        expect(page.locator(f"#admin-{section}")).to_be_visible()
    expect(page.locator("#no-evals")).to_contain_text("python -m builder eval --suite forja-smoke")
    for section in ("users", "invitations", "quotas"):
        expect(page.locator(f"#admin-{section}")).to_have_count(0)
    expect(page.locator("#chart-tokens .recharts-surface")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "admin-none-1440.png"), full_page=True)
    expect(page.locator("#health-summary")).to_be_visible(timeout=60_000)
    accessible(page, "admin without accounts", widths=(DESKTOP, PHONE))

    # The doctor page, from the same Forja: what this machine can run.
    page.goto(f"{forja}/doctor")
    expect(page.locator(".doctor-runner").first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "doctor-1440.png"), full_page=True)
    accessible(page, "doctor", widths=(DESKTOP, PHONE))
