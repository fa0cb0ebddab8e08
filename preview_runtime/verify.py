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
import contextlib
import logging
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    async_playwright,
)
from playwright.async_api import Error as PlaywrightError
from pydantic import BaseModel

log = logging.getLogger(__name__)

# Debian's Chromium runs as root only without its own sandbox; the preview's page is further
# confined by the origin filter below. Without the background-networking flags it tries Google's
# hosts at every start.
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
# A page whose requests have all ended this long ago has settled.
QUIET_S = 0.2
FORJA_PATH = "/_forja/"  # an app's own backend, which Forja serves on the app's address (builder/app_backend)
# Its answers that are no mistake of the app's: sign in first, the rules refuse, no such row (or nothing served yet);
# and the edge's own when Forja's server was not reached behind it (502, 503, 504): nothing the app's files can mend.
FORJA_REFUSALS = frozenset({401, 403, 404, 502, 503, 504})
# How long a page whose script answered 5xx gets to show its dev server's error overlay.
OVERLAY_WAIT_S = 10.0
_PAGE_SCRIPT = (Path(__file__).with_name("verify_page.js")).read_text()

# Told of each request a check is about to send the app: its method and target (path and query).
Expect = Callable[[str, str], None]


def _ignore(_method: str, _target: str) -> None:
    pass


ProblemKind = Literal["start", "exception", "console", "request", "blank", "overlay", "route", "check", "acceptance"]


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
    """The Chromium to run: the configured path, else one on PATH, else None (Playwright's own build).

    Chromium's headless shell first (Debian: chromium-headless-shell): the browser without its own user interface, as
    Playwright runs by default, takes about a third less of the machine than the whole browser in its headless mode
    for the same pages."""
    return configured or shutil.which("chromium-headless-shell") or shutil.which("chromium") or shutil.which("chromium-browser")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _forjas(url: str) -> bool:
    """Whether Forja answers `url` for the app (its people's sign-in and data, /_forja/...), not a file of the project.

    Its refusals are the app's rules at work (401 to someone not signed in, 403, a row not found), and where it serves
    nothing yet its 404 (a script's, which Chromium also reports as aborted) is no file the app lacks; an edge that did
    not reach Forja's server (502, 503, 504) is Forja's to mend: none of them is the app's problem, so no repair is
    asked for them (a repair would only drop the app's sign-in). A request it cannot answer (422, 413...) and its own
    500 are.
    """
    return urlsplit(url).path.startswith(FORJA_PATH)


def _first_frame(stack: str, origin: str) -> str:
    """Where in the app's own files an error was thrown: "/src/main.js:3" from its stack."""
    match = re.search(re.escape(origin) + r"(/[^\s)?:]*)(?:\?[^\s:)]*)?:(\d+)", stack)
    return f"{match[1]}:{match[2]}" if match else ""


async def own_origin_only(context: BrowserContext, origin: str, cookie: str = "", expect: Expect | None = None) -> None:
    """Let `context` load `origin` only (every other request is aborted), holding `cookie` (`name=value`) for it;
    `expect` is told of each request about to reach the origin's server."""
    tell = expect or _ignore

    async def guard(route: Route) -> None:
        target = route.request.url
        if target.startswith(("data:", "blob:")):
            await route.continue_()
        elif origin_of(target) == origin:
            tell(route.request.method, _path(target))
            await route.continue_()
        else:
            await route.abort("blockedbyclient")

    await context.route("**/*", guard)
    if cookie:
        name, _, value = cookie.partition("=")
        await context.add_cookies([{"name": name, "value": value, "url": origin}])


class BrowserUnavailable(Exception):
    """Chromium could not be started; the message says why and what to install."""


class _Watch:
    """What one page does while it loads: its problems as they happen, and whether its network is quiet."""

    def __init__(self, page: Page, origin: str, report: PageReport) -> None:
        self.origin = origin
        self.report = report
        self.in_flight: set[Request] = set()
        self.last_activity = time.monotonic()
        self.broken_scripts = 0
        page.on("pageerror", self.on_error)
        page.on("console", self.on_console)
        page.on("request", self.on_request)
        page.on("requestfinished", self.on_finished)
        page.on("response", self.on_response)
        page.on("requestfailed", self.on_failed)

    def own(self, url: str) -> bool:
        return origin_of(url) == self.origin

    def on_error(self, error: PlaywrightError) -> None:
        where = _first_frame(error.stack or "", self.origin)
        message = f"The page stopped with an error: {error.message}" + (f" (at {where})" if where else "")
        self.report.add(Problem(kind="exception", message=message, detail=error.stack or ""))

    def on_console(self, message: ConsoleMessage) -> None:
        # Failed loads come again, with their address, from the request events below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            where = message.location.get("url", "")
            line = message.location.get("lineNumber")
            at = f" ({_path(where)}:{line})" if where and self.own(where) else ""
            self.report.add(Problem(kind="console", message=f"The browser console shows an error: {message.text[:500]}{at}"))

    def on_request(self, request: Request) -> None:
        self.in_flight.add(request)
        self.last_activity = time.monotonic()

    def on_finished(self, request: Request) -> None:
        self.in_flight.discard(request)
        self.last_activity = time.monotonic()

    def on_response(self, response: Response) -> None:
        refused = response.status in FORJA_REFUSALS and _forjas(response.url)
        if self.own(response.url) and response.status >= 400 and not refused:
            message = f"{_path(response.url)} answered {response.status} {response.status_text}".strip()
            self.report.add(Problem(kind="request", message=message))
            if response.status >= 500 and response.request.resource_type == "script":
                self.broken_scripts += 1

    def on_failed(self, request: Request) -> None:
        self.on_finished(request)
        if self.own(request.url) and not _forjas(request.url):
            message = f"{_path(request.url)} could not be loaded ({request.failure or 'no answer'})"
            self.report.add(Problem(kind="request", message=message))

    async def quiet(self, settle_s: float) -> None:
        """Until no request has been under way for QUIET_S, or `settle_s` passed (a page may poll for ever)."""
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            if not self.in_flight and time.monotonic() - self.last_activity >= QUIET_S:
                return
            await asyncio.sleep(0.02)


class PageChecker:
    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._lock = asyncio.Lock()
        # A context and page made ahead, so a check does not wait for them (about 0.2 s).
        self._spare: asyncio.Task[tuple[BrowserContext, Page]] | None = None

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
                        f"Chromium could not be started ({first_line}). Install it (apt-get install chromium-headless-shell) "
                        "or point FORJA_CHROMIUM at it."
                    ) from None
            return self._browser

    async def _new_page(self) -> tuple[BrowserContext, Page]:
        context = await (await self.browser()).new_context(viewport=VIEWPORT, service_workers="block")  # type: ignore[arg-type]
        return context, await context.new_page()

    def make_spare(self) -> None:
        """Make the next check's context and page now, in the background."""
        if self._spare is None:
            self._spare = asyncio.create_task(self._new_page(), name="spare-browser-page")

    async def _page(self) -> tuple[BrowserContext, Page]:
        spare, self._spare = self._spare, None
        if spare is not None:
            with contextlib.suppress(PlaywrightError, BrowserUnavailable):
                return await spare
        return await self._new_page()

    async def check(
        self,
        url: str,
        routes: Sequence[str] = (),
        settle_s: float = 1.0,
        timeout_s: float = 20.0,
        expect: Expect | None = None,
        cookie: str = "",
    ) -> PageReport:
        """Load `url`, wait for its network to be quiet (at most `settle_s`), and report what is wrong. `expect` is
        told the method and target (path and query) of each request about to reach the page's server. `cookie`: a
        `name=value` the browser holds for the page's origin (a private preview's gate lets it through)."""
        started = time.monotonic()
        report = PageReport()
        origin = origin_of(url)
        context, page = await self._page()
        tell = expect or _ignore
        try:
            await own_origin_only(context, origin, cookie, tell)
            watch = _Watch(page, origin, report)
            try:
                await page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except PlaywrightError as exc:
                report.add(Problem(kind="request", message=f"The page did not load: {str(exc).splitlines()[0]}"))
            await watch.quiet(settle_s)
            try:
                seen = await page.evaluate(_PAGE_SCRIPT)
                # A dev server that could not build a module answers it 500 and shows its overlay a moment later
                # (later still on a busy machine); the overlay says what is wrong, the 500 does not.
                deadline = time.monotonic() + OVERLAY_WAIT_S
                while watch.broken_scripts and not seen["overlay"] and time.monotonic() < deadline:
                    await asyncio.sleep(0.25)
                    seen = await page.evaluate(_PAGE_SCRIPT)
                if seen["overlay"]:
                    report.add(Problem(kind="overlay", message=f"The page shows a build error: {seen['overlay'][:500]}"))
                elif not seen["visibleText"] and not seen["visibleMedia"]:
                    report.add(Problem(kind="blank", message="The page is blank: nothing is visible on it."))
                report.screenshot = await page.screenshot(type="jpeg", quality=70, timeout=timeout_s * 1000)
            except PlaywrightError as exc:
                report.add(Problem(kind="request", message=f"The page could not be read: {str(exc).splitlines()[0]}"))
            await self._ask_routes(context, origin, routes, timeout_s, report, tell)
        finally:
            await context.close()
            self.make_spare()
        report.duration_s = round(time.monotonic() - started, 3)
        return report

    @staticmethod
    async def _ask_routes(
        context: BrowserContext, origin: str, routes: Sequence[str], timeout_s: float, report: PageReport, tell: Expect
    ) -> None:
        for route in routes:
            tell("GET", route)
            try:
                answer = await context.request.get(origin + route, timeout=timeout_s * 1000, max_redirects=5)
            except PlaywrightError as exc:
                report.add(Problem(kind="route", message=f"{route} did not answer ({str(exc).splitlines()[0]})"))
                continue
            if answer.status >= 500:
                body = (await answer.text())[:2000]
                message = f"{route} answered {answer.status} {answer.status_text}".strip()
                report.add(Problem(kind="route", message=message, detail=body))

    async def close(self) -> None:
        async with self._lock:
            if self._spare is not None:
                self._spare.cancel()
                self._spare = None
            if self._browser is not None:
                await self._browser.close()
                self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
                self._playwright = None
