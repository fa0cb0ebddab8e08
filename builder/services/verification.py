"""Verification: run a project's current version and look at it, as a person would, before saying it works.

The version runs in the project's server preview (the same one the Preview tab shows), and a
headless Chromium on this machine loads it (preview_runtime.verify), then performs the project's
acceptance checks, `.forja/checks/` (preview_runtime.acceptance). What it finds, with
screenshots, is recorded per version; the last screenshot of a version that passed is the
project's thumbnail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from builder.errors import NotFound, PreviewError, PreviewRefused, QuotaExceeded
from builder.schemas import VerificationInfo, VerificationStatus
from builder.services.preview_access import PreviewAccess
from builder.services.previews import PreviewService
from builder.settings import settings
from builder.store import ProjectStore, stored_number
from preview_runtime.acceptance import AcceptanceOutcome, run_acceptance
from preview_runtime.check_script import is_check_path
from preview_runtime.detect.routes import main_routes
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import plan_for
from preview_runtime.runner import PreviewInfo, PreviewState
from preview_runtime.verify import BrowserUnavailable, PageChecker, PageReport, Problem, find_chromium

log = logging.getLogger(__name__)

T = TypeVar("T")

# Log lines sent to the model with the problems: the sources that tell what the app did.
LOG_SOURCES = ("install", "dev-server", "browser")
LOG_LINES = 40
# How long a running preview may take to answer its first page before it is looked at anyway.
ANSWER_WAIT_S = 5.0


def start_timeout_sentence(info: PreviewInfo | None) -> str:
    """Why a wait for the app ended at FORJA_PREVIEW_START_TIMEOUT_S, with what the preview was doing then."""
    doing = {
        PreviewState.installing: "it was still installing (or starting its dev server after the install)",
        PreviewState.starting: "its dev server was still starting and answered nothing yet",
        PreviewState.running: "it runs, but its address did not answer through the preview proxy",
    }.get(info.state if info else PreviewState.stopped, "it is not running")
    return (
        f"The app did not answer within {settings.preview_start_timeout_s} s: {doing}; its last lines are in the log "
        "(raise FORJA_PREVIEW_START_TIMEOUT_S if it needs longer)."
    )


def failure_sentence(info: PreviewInfo) -> str:
    return info.detail.split("\n", 1)[0].removesuffix(" Last lines:") or "the preview stopped."


class VerificationService:
    def __init__(self, store: ProjectStore, previews: PreviewService, access: PreviewAccess, logs: LogHub) -> None:
        self._store = store
        self._previews = previews
        self._access = access
        self._logs = logs
        self.checker = PageChecker(find_chromium(settings.chromium_path))
        self._warming: asyncio.Task[None] | None = None

    def warm(self) -> None:
        """Start the browser now (in the background), so the first check does not wait for it."""

        async def start() -> None:
            try:
                await self.checker.browser()
            except BrowserUnavailable as exc:
                log.warning("%s", exc)
            else:
                self.checker.make_spare()

        if self._warming is None or self._warming.done():
            self._warming = asyncio.create_task(start(), name="warm-browser")

    async def verify(
        self, project_id: str, attempts: int = 0, status: Callable[[str], None] = lambda _: None
    ) -> VerificationInfo:
        """Run the current version in the project's preview, look at it, and record what was seen.

        The project's own checks start as soon as its dependencies are installed, beside the dev
        server's start and the browser's look: they need the files and packages, not the page.
        """
        started = time.monotonic()
        project = await self._store.get_project(project_id)
        if not project.current_version:
            raise NotFound("This project has no version to check yet.")
        status("Starting the app to check it...")
        timings: dict[str, float] = {}
        own: list[asyncio.Task[list[Problem]]] = []

        def installed() -> None:
            if not own:
                own.append(asyncio.create_task(self._timed(timings, "own checks", self._project_checks(project_id))))

        try:
            state, problems, screenshot, acceptance = await self._look(project_id, started, timings, installed, status)
            if state in ("passed", "problems"):
                installed()
                problems += await own[0]
                state = "problems" if problems else "passed"
        finally:
            for task in own:
                task.cancel()
        result = await self._store.add_verification(
            project_id,
            project.current_version,
            state,
            problems,
            attempts,
            screenshot,
            round(time.monotonic() - started, 3),
            acceptance,
        )
        level = LogLevel.info if state == "passed" else LogLevel.warning
        spent = ", ".join(f"{what} {seconds:.1f} s" for what, seconds in timings.items())
        lines = [
            f"Checked version {project.current_version} in {result.duration_s:.1f} s"
            f"{f' ({spent})' if spent else ''}: {result.headline}"
        ]
        lines += [f"  - {p.message}" for p in problems]
        self._logs.emit(project_id, "\n".join(lines), level, source="check")
        return result

    async def _look(
        self,
        project_id: str,
        started: float,
        timings: dict[str, float],
        installed: Callable[[], None],
        status: Callable[[str], None],
    ) -> tuple[VerificationStatus, list[Problem], bytes | None, list[AcceptanceOutcome]]:
        """Start the app, look at its page and run its acceptance checks: the status, the problems seen, the
        screenshot, and how each acceptance check went."""
        try:
            info = await self._running(project_id, installed)
        except (PreviewRefused, QuotaExceeded) as exc:
            # Not the app's fault: a repair round would spend tokens on a machine that runs nothing (or on a person
            # whose previews are all in use).
            return "unchecked", [Problem(kind="check", message=str(exc))], None, []
        except (PreviewError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                message = start_timeout_sentence(await self._previews.status(project_id))
            else:
                message = f"The app could not be started: {exc}"
            return "failed", [Problem(kind="start", message=message, detail=self.log_tail(project_id))], None, []
        if info.state != PreviewState.running:
            message = f"The app did not start: {failure_sentence(info)}"
            return "failed", [Problem(kind="start", message=message, detail=self.log_tail(project_id))], None, []
        timings["app started"] = time.monotonic() - started
        status("Checking the app in a browser...")
        tree = await self._store.read_tree(project_id)
        routes = main_routes(tree) if plan_for(tree, await self._store.run_override(project_id)).has_server else []
        # Its requests are Forja's own, not the person's: the dev server's lines for them stay out of the log.
        expect = partial(self._previews.expect_request, project_id)
        try:
            cookie = await self._access.own_cookie(info)
            report = await self._timed(timings, "browser", self.checker.check(info.url, routes, expect=expect, cookie=cookie))
            scripts = {path: data.decode(errors="replace") for path, data in tree.items() if is_check_path(path)}
            acceptance: list[AcceptanceOutcome] = []
            # A page that shows a build error runs none of the app: each check would only sit out its steps' waits
            # (half a minute for a starter's six) before the repair round that mends the build could begin.
            if scripts and not any(problem.kind == "overlay" for problem in report.problems):
                status("Running the app's acceptance checks...")
                timeout_s = settings.acceptance_check_timeout_s
                run = run_acceptance(self.checker, info.url, scripts, timeout_s, cookie=cookie, tell=expect)
                # What the page showed may hold an app variable's value: kept and shown as the log shows it, redacted.
                hide = partial(self._logs.redacted, project_id)
                acceptance = [
                    o.model_copy(update={"message": hide(o.message), "detail": hide(o.detail)})
                    for o in await self._timed(timings, "acceptance checks", run)
                ]
        except BrowserUnavailable as exc:
            return "unchecked", [Problem(kind="check", message=str(exc))], None, []
        problems = list(report.problems) + [
            Problem(kind="acceptance", message=f"The acceptance check “{o.title}” failed: {o.message}", detail=o.detail)
            for o in acceptance
            if not o.passed
        ]
        return ("problems" if problems else "passed"), problems, report.screenshot, acceptance

    async def app_running(self, project_id: str) -> PreviewInfo:
        """The project's preview once it runs (or failed), started if need be (agent mode's commands and pages)."""
        return await self._running(project_id, lambda: None)

    async def look_at(self, project_id: str, path: str) -> PageReport:
        """A page of the project's running preview (what its working copy holds now) as the checking browser sees
        it: problems and a screenshot. PreviewError when the app does not run."""
        info = await self._running(project_id, lambda: None)
        if info.state != PreviewState.running:
            raise PreviewError(f"the app is not running: {failure_sentence(info)}")
        cookie = await self._access.own_cookie(info)
        expect = partial(self._previews.expect_request, project_id)
        try:
            return await self.checker.check(info.url.rstrip("/") + path, expect=expect, cookie=cookie)
        except BrowserUnavailable as exc:
            raise PreviewError(str(exc)) from None

    async def grade(
        self, project_id: str, scripts: dict[str, str], first_failure: bool = False
    ) -> tuple[list[AcceptanceOutcome], bytes | None]:
        """Checks that are not the project's (an evaluation's grader: builder/eval/grader.py) performed on its running
        preview as its acceptance checks are (none after the first failure, with `first_failure`), and the page's
        screenshot. PreviewError when the app does not run."""
        url, cookie, screenshot = await self.serving(project_id)
        expect = partial(self._previews.expect_request, project_id)
        try:
            timeout_s = settings.acceptance_check_timeout_s
            outcomes = await run_acceptance(
                self.checker, url, scripts, timeout_s, cookie=cookie, tell=expect, first_failure=first_failure
            )
        except BrowserUnavailable as exc:
            raise PreviewError(str(exc)) from None
        return outcomes, screenshot

    async def serving(self, project_id: str) -> tuple[str, str, bytes | None]:
        """The project's current version running in its preview (started if need be): its address, the Cookie header
        Forja's own requests to it hold ("" for a public one), and its page's screenshot. PreviewError when the app
        does not run."""
        info = await self._running(project_id, lambda: None)
        if info.state != PreviewState.running:
            raise PreviewError(f"the app did not start: {failure_sentence(info)}")
        cookie = await self._access.own_cookie(info)
        try:
            report = await self.checker.check(info.url, expect=partial(self._previews.expect_request, project_id), cookie=cookie)
        except BrowserUnavailable as exc:
            raise PreviewError(str(exc)) from None
        return info.url, cookie, report.screenshot

    async def _running(self, project_id: str, installed: Callable[[], None]) -> PreviewInfo:
        """The project's preview of its current version once it runs (or failed), started if need be;
        `installed` is called as soon as its dependencies are installed."""
        info = await self._previews.start(project_id)
        async with asyncio.timeout(settings.preview_start_timeout_s):
            while True:
                if info.installed:
                    installed()
                if info.state in (PreviewState.running, PreviewState.failed, PreviewState.stopped):
                    break
                await asyncio.sleep(0.05)
                info = await self._previews.status(project_id) or info.model_copy(update={"state": PreviewState.stopped})
        if info.state == PreviewState.running:
            # A dev server routes / as soon as it listens; a backend may answer it with an error, which the check reports.
            try:
                async with asyncio.timeout(ANSWER_WAIT_S):
                    while True:
                        if await self._previews.answers(project_id):
                            break
                        await asyncio.sleep(0.05)
            except TimeoutError:
                pass
            info = await self._previews.status(project_id) or info
        return info

    @staticmethod
    async def _timed(timings: dict[str, float], what: str, step: Awaitable[T]) -> T:
        began = time.monotonic()
        try:
            return await step
        finally:
            timings[what] = time.monotonic() - began

    async def _project_checks(self, project_id: str) -> list[Problem]:
        """The project's own build, lint, type-check and tests, in its preview, within the checks' time cap."""
        try:
            results = await self._previews.run_checks(project_id, settings.verify_checks_timeout_s)
        except PreviewError as exc:
            return [Problem(kind="check", message=f"The project's own checks could not run: {exc}")]
        problems = []
        for result in results:
            if result.skipped:
                self._logs.emit(
                    project_id,
                    f"`{result.command}` was not run: the checks' {settings.verify_checks_timeout_s:.0f} s "
                    "(FORJA_VERIFY_CHECKS_TIMEOUT_S) were used up.",
                    LogLevel.warning,
                    source="check",
                )
            elif result.timed_out:
                message = f"`{result.command}` did not finish within the checks' {settings.verify_checks_timeout_s:.0f} s."
                problems.append(Problem(kind="check", message=message, detail=result.output_tail))
            elif not result.passed:
                message = f"The project's {result.name} check failed (`{result.command}`)."
                problems.append(Problem(kind="check", message=message, detail=result.output_tail))
        return problems

    def log_tail(self, project_id: str) -> str:
        """The project's last lines from the install, the dev server and the browser, for the model."""
        lines = [line for line in self._logs.history(project_id) if line.source in LOG_SOURCES]
        return "\n".join(f"[{line.source}] {line.text}" for line in lines[-LOG_LINES:])

    async def latest(self, project_id: str) -> VerificationInfo | None:
        return await self._store.last_verification(project_id)

    async def records(self, project_id: str) -> list[VerificationInfo]:
        return await self._store.list_verifications(project_id)

    async def screenshot(self, project_id: str, verification_id: int) -> bytes:
        data = await self._store.verification_screenshot(project_id, verification_id) if stored_number(verification_id) else None
        if data is None:
            raise NotFound(f"Project {project_id} has no check {verification_id} with a screenshot.")
        return data

    async def acceptance_screenshot(self, project_id: str, verification_id: int, number: int) -> bytes:
        found = stored_number(verification_id) and stored_number(number)
        data = await self._store.acceptance_screenshot(project_id, verification_id, number) if found else None
        if data is None:
            raise NotFound(f"Project {project_id} has no acceptance check {number} with a screenshot in check {verification_id}.")
        return data

    async def thumbnail(self, project_id: str, version: int | None = None) -> bytes | None:
        """The screenshot of the project's last version that passed its check.

        With `version`, that version's own passing screenshot when it has one: a share link shows
        one version, and its image should be of that version when Forja saw it work.
        """
        if version is not None and (own := await self._store.thumbnail(project_id, version)) is not None:
            return own
        return await self._store.thumbnail(project_id)

    async def thumbnail_ids(self, project_ids: list[str]) -> dict[str, int]:
        """The id of each project's thumbnail check (absent for projects without one): it changes when the image does."""
        return await self._store.thumbnail_ids(project_ids)

    async def close(self) -> None:
        await self.checker.close()
