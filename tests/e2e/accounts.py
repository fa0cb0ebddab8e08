"""What the e2e tests of a Forja with accounts share: its first admin's setup code and signing in through the page."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import Page, expect


def setup_code(log: Path, since: int = 0) -> str:
    """The code Forja prints for the first account, from its log after byte `since` (a log shared by several runs)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_bytes()[since:].decode("utf-8", "replace") if log.exists() else ""
        found = re.findall(r"account at (\S+)/signup with the setup code ([0-9a-f]+)", text)
        running = re.findall(r"Forja is running at (\S+)", text)
        if found and running:
            # The sign-up link is on the address Forja says it runs at, not another name for it.
            assert found[-1][0] == running[-1], (found[-1][0], running[-1])
            return found[-1][1]
        time.sleep(0.5)
    raise AssertionError(f"Forja printed no setup code in {log}")


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Sign in through the sign-in page, as a person does, and land on the home page."""
    page.goto(f"{base}/login")
    page.locator("#auth-email").fill(email)
    page.locator("#auth-password").fill(password)
    page.locator("#auth-submit").click()
    page.wait_for_url(f"{base}/")
    signed_in_menu(page)


def signed_in_menu(page: Page) -> None:
    """The signed-in person's menu, which comes with the page's state. Under CI's load that state has taken over 5 s,
    and twice (in two runs) never came to a freshly loaded page within 30 s though the session was good: such a page
    is loaded once more, and said so on stderr (docs/contributing.md, "Known flakes")."""
    menu = page.locator("#user-menu")
    try:
        expect(menu).to_be_visible(timeout=20_000)
    except AssertionError:
        print(f"the page's state did not come within 20 s at {page.url}: loading it again", file=sys.stderr)
        page.reload()
        expect(menu).to_be_visible(timeout=30_000)
