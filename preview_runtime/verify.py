"""Looking at a running preview the way a person would: in a real browser, on this machine.

`PageChecker` loads the preview's address in headless Chromium (through Playwright) and reports
what would make the app look broken: an uncaught exception, an error in the console, a request to
the app's own origin that failed or answered 4xx/5xx, a framework's error overlay, or a page with
nothing visible on it. It also asks the backend routes it is given for their status, and takes a
screenshot.

The browser may load only the preview's own origin: every other request is aborted, so a page
cannot reach Forja's API or anything else on the machine or the network through it. One browser
is kept for the process; each check gets a fresh context (no cookies or storage are shared).
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from playwright.async_api import Browser, ConsoleMessage, Playwright, Request, Response, Route, async_playwright
from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel

log = logging.getLogger(__name__)

# Debian's Chromium runs as root only without its own sandbox; the preview's page is further
# confined by the origin filter below.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
MOST_PROBLEMS = 20
_PAGE_SCRIPT = (Path(__file__).with_name("verify_page.js")).read_text()

ProblemKind = Literal["start", "exception", "console", "request", "blank", "overlay", "route", "check"]


class Problem(BaseModel):
    """One thing wrong with a running app, in words a person can read; `detail` is for the model."""

    kind: ProblemKind
    message: str
    detail: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.message)


@dataclass
class PageReport:
    problems: list[Problem] = field(default_factory=list)
    screenshot: bytes | None = None
    duration_s: float = 0.0

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MOST_PROBLEMS and problem.key not in {p.key for p in self.problems}:
            self.problems.append(problem)


def find_chromium(configured: str = "") -> str | None:
    """The Chromium to run: the configured path, else one on PATH, else None (Playwright's own build)."""
    return configured or shutil.which("chromium") or shutil.which("chromium-browser")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _first_frame(stack: str, origin: str) -> str:
    """Where in the app's own files an error was thrown: "/src/main.js:3" from its stack."""
    match = re.search(re.escape(origin) + r"(/[^\s)?:]*)(?:\?[^\s:)]*)?:(\d+)", stack)
    return f"{match[1]}:{match[2]}" if match else ""


class BrowserUnavailable(Exception):
    """Chromium could not be started; the message says why and what to install."""


class PageChecker:
    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()

    async def browser(self) -> Browser:
        """The shared browser, started on first use (and again if it died)."""
        async with self._lock:
            if self._browser is None or not self._browser.is_connected():
                try:
                    if self._playwright is None:
                        self._playwright = await async_playwright().start()
                    self._browser = await self._playwright.chromium.launch(executable_path=self.executable, args=CHROMIUM_ARGS)
                except PlaywrightError as exc:
                    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise BrowserUnavailable(
                        f"Chromium could not be started ({first_line}). Install it (apt-get install chromium) "
                        "or point FORJA_CHROMIUM at it."
                    ) from None
            return self._browser

    async def check(self, url: str, routes: Sequence[str] = (), settle_s: float = 1.0, timeout_s: float = 20.0) -> PageReport:
        """Load `url`, wait for it to settle (at most `settle_s` of network quiet), and report what is wrong."""
        started = time.monotonic()
        report = PageReport()
        origin = _origin(url)
        browser = await self.browser()
        context = await browser.new_context(viewport=VIEWPORT, service_workers="block")  # type: ignore[arg-type]
        try:

            async def own_origin_only(route: Route) -> None:
                target = route.request.url
                if target.startswith(("data:", "blob:")) or _origin(target) == origin:
                    await route.continue_()
                else:
                    await route.abort("blockedbyclient")

            await context.route("**/*", own_origin_only)
            page = await context.new_page()

            def on_error(error: PlaywrightError) -> None:
                where = _first_frame(error.stack or "", origin)
                message = f"The page stopped with an error: {error.message}" + (f" (at {where})" if where else "")
                report.add(Problem(kind="exception", message=message, detail=error.stack or ""))

            def on_console(message: ConsoleMessage) -> None:
                # Failed loads come again, with their address, from the request events below.
                if message.type == "error" and not message.text.startswith("Failed to load resource"):
                    where = message.location.get("url", "")
                    line = message.location.get("lineNumber")
                    at = f" ({_path(where)}:{line})" if where and _origin(where) == origin else ""
                    report.add(Problem(kind="console", message=f"The browser console shows an error: {message.text[:500]}{at}"))

            def on_response(response: Response) -> None:
                if _origin(response.url) == origin and response.status >= 400:
                    report.add(
                        Problem(
                            kind="request",
                            message=f"{_path(response.url)} answered {response.status} {response.status_text}".strip(),
                        )
                    )

            def on_failed(request: Request) -> None:
                if _origin(request.url) == origin:
                    report.add(
                        Problem(
                            kind="request", message=f"{_path(request.url)} could not be loaded ({request.failure or 'no answer'})"
                        )
                    )

            page.on("pageerror", on_error)
            page.on("console", on_console)
            page.on("response", on_response)
            page.on("requestfailed", on_failed)
            try:
                await page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except PlaywrightError as exc:
                report.add(Problem(kind="request", message=f"The page did not load: {str(exc).splitlines()[0]}"))
            try:
                await page.wait_for_load_state("networkidle", timeout=settle_s * 1000)
            except PlaywrightError:
                pass  # a page that keeps polling is still checked, after settle_s
            try:
                seen = await page.evaluate(_PAGE_SCRIPT)
                if seen["overlay"]:
                    report.add(Problem(kind="overlay", message=f"The page shows a build error: {seen['overlay'][:500]}"))
                elif not seen["visibleText"] and not seen["visibleMedia"]:
                    report.add(Problem(kind="blank", message="The page is blank: nothing is visible on it."))
                report.screenshot = await page.screenshot(type="jpeg", quality=70, timeout=timeout_s * 1000)
            except PlaywrightError as exc:
                report.add(Problem(kind="request", message=f"The page could not be read: {str(exc).splitlines()[0]}"))
            for route in routes:
                try:
                    answer = await context.request.get(origin + route, timeout=timeout_s * 1000, max_redirects=5)
                except PlaywrightError as exc:
                    report.add(Problem(kind="route", message=f"{route} did not answer ({str(exc).splitlines()[0]})"))
                    continue
                if answer.status >= 500:
                    body = (await answer.text())[:2000]
                    report.add(
                        Problem(
                            kind="route", message=f"{route} answered {answer.status} {answer.status_text}".strip(), detail=body
                        )
                    )
        finally:
            await context.close()
        report.duration_s = round(time.monotonic() - started, 3)
        return report

    async def close(self) -> None:
        async with self._lock:
            if self._browser is not None:
                await self._browser.close()
                self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None
