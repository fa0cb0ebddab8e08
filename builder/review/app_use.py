"""A server app used in Chromium as the review's first person, each of its page's requests handed to the replay.

The page reaches its own address only (anything else is aborted, as the check's browser does); every request to it
gets the first person's X-Forja-User and token, as the edge would add them, and `/_forja/auth/me` is answered with
that person, as Forja's backend would on the app's host. The use is plain and bounded: each form gets filled (text
fields with the replay's marker, other fields with a valid value of their type) and sent, twice, so a list holds
rows; then each button outside a form is pressed once (but signing out), up to MAX_PRESSES, dialogs accepted. A
page that asks for a sign-in form of its own, or builds its requests from what it cannot fill, is used only so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time

from playwright.async_api import Browser, Dialog, Locator, Page, Route
from playwright.async_api import Error as PlaywrightError

from builder.review.replay import Replay, Sent
from preview_runtime.verify import VIEWPORT, origin_of

log = logging.getLogger(__name__)

USE_TIMEOUT_S = 40.0
MAX_FORMS = 4
MAX_FIELDS = 12
MAX_PRESSES = 10
QUIET_S = 0.3
SETTLE_MAX_S = 5.0
ACTION_TIMEOUT_MS = 2000
ME = "/_forja/auth/me"
_LEAVE = re.compile(r"sign\s*out|log\s*out", re.IGNORECASE)
# A valid value for each kind of field the page may ask for; text-like ones get the marker.
_VALUES = {
    "email": "first.person@review.invalid",
    "number": "2",
    "date": "2030-01-15",
    "time": "10:30",
    "datetime-local": "2030-01-15T10:30",
    "month": "2030-01",
    "url": "https://example.org/",
    "tel": "5550100",
    "password": "review-password-1",
}
_SKIPPED = {"hidden", "submit", "button", "reset", "file", "image", "color", "range"}
_SUBMIT = "button[type=submit], input[type=submit], button:not([type])"


class _Use:
    def __init__(self, replay: Replay, origin: str) -> None:
        self.replay = replay
        self.origin = origin
        self.busy = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.last = time.monotonic()
        self.step = 0

    async def on_route(self, route: Route) -> None:
        request = route.request
        if request.url.startswith(("data:", "blob:")):
            await route.continue_()
            return
        if origin_of(request.url) != self.origin:
            await route.abort("blockedbyclient")
            return
        target = request.url[len(self.origin) :] or "/"
        if target.split("?")[0] == ME:
            first = self.replay.ids.first
            user = {"id": first.id, "email": first.email, "role": "user"}
            await route.fulfill(status=200, content_type="application/json", body=json.dumps({"user": user}))
            return
        self.busy += 1
        self.idle.clear()
        try:
            await self._through(route, target)
        finally:
            self.busy -= 1
            self.last = time.monotonic()
            if not self.busy:
                self.idle.set()

    async def _through(self, route: Route, target: str) -> None:
        request = route.request
        sent = Sent(request.method, target, await request.all_headers(), request.post_data_buffer)
        await self.replay.before(sent)
        headers = {
            **{k: v for k, v in sent.headers.items() if not k.startswith(":")},
            **self.replay.ids.headers(self.replay.ids.first),
        }
        try:
            answer = await route.fetch(headers=headers, max_redirects=0, timeout=10_000)
            body = await answer.body()
        except PlaywrightError:
            await route.abort("failed")
            return
        if request.resource_type in ("fetch", "xhr"):
            await self.replay.after(sent, answer.status, body)
        await route.fulfill(response=answer, body=body)

    async def quiet(self) -> None:
        """Until no request of the page has been in flight for QUIET_S (at most SETTLE_MAX_S)."""
        deadline = time.monotonic() + SETTLE_MAX_S
        await asyncio.sleep(QUIET_S)  # what a click starts has begun by then
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self.idle.wait(), left)
            except TimeoutError:
                return
            calm = time.monotonic() - self.last
            if calm >= QUIET_S:
                return
            await asyncio.sleep(QUIET_S - calm)

    def text(self) -> str:
        self.step += 1
        return f"{self.replay.marker} {self.step}"

    async def fill(self, fields: Locator) -> Locator | None:
        """Fill each field of `fields`; the last one filled, where Enter sends its form."""
        last = None
        for index in range(min(await fields.count(), MAX_FIELDS)):
            field = fields.nth(index)
            kind = (await field.get_attribute("type") or "text").lower()
            with contextlib.suppress(PlaywrightError):
                if kind in _SKIPPED or not await field.is_editable():
                    continue
                if kind in ("checkbox", "radio"):
                    await field.check(timeout=ACTION_TIMEOUT_MS)
                    continue
                await field.fill(_VALUES.get(kind, self.text()), timeout=ACTION_TIMEOUT_MS)
                last = field
        return last

    async def send_forms(self, page: Page) -> None:
        forms = page.locator("form")
        for index in range(min(await forms.count(), MAX_FORMS)):
            form = forms.nth(index)
            last = await self.fill(form.locator("input:visible, textarea:visible"))
            button = form.locator(_SUBMIT).first
            with contextlib.suppress(PlaywrightError):
                if await button.count() and await button.is_visible():
                    await button.click(timeout=ACTION_TIMEOUT_MS)
                elif last is not None:
                    await last.press("Enter", timeout=ACTION_TIMEOUT_MS)
            await self.quiet()

    async def press_buttons(self, page: Page) -> None:
        pressed = index = 0
        while pressed < MAX_PRESSES:
            buttons = page.locator("button:visible:not(form button)")
            if index >= await buttons.count():
                return
            button = buttons.nth(index)
            index += 1
            with contextlib.suppress(PlaywrightError):
                if _LEAVE.search(await button.inner_text(timeout=ACTION_TIMEOUT_MS)):
                    continue
                await button.click(timeout=ACTION_TIMEOUT_MS)
                pressed += 1
                await self.quiet()


async def use_as_first_person(browser: Browser, base_url: str, replay: Replay) -> None:
    """Use the app at `base_url` as the replay's first person, every request of its page handed to `replay`."""
    origin = origin_of(base_url)
    use = _Use(replay, origin)
    context = await browser.new_context(viewport=VIEWPORT, service_workers="block")  # type: ignore[arg-type]
    try:
        await context.route("**/*", use.on_route)
        page = await context.new_page()

        async def accept(dialog: Dialog) -> None:
            await dialog.accept()

        page.on("dialog", accept)
        async with asyncio.timeout(USE_TIMEOUT_S):
            await page.goto(base_url, wait_until="load", timeout=15_000)
            await use.quiet()
            for _ in range(2):  # twice, so a list holds rows
                await use.send_forms(page)
            await use.fill(page.locator("input:visible:not(form input), textarea:visible:not(form textarea)"))
            await use.press_buttons(page)
    except (PlaywrightError, TimeoutError) as exc:
        log.info("the review's use of %s ended early: %s", base_url, str(exc).splitlines()[0] if str(exc) else "timeout")
    finally:
        with contextlib.suppress(PlaywrightError):
            await context.close()
