"""The review's scratch sandbox: a server app's code started on its own, with data of its own, for the doors check.

The doors probe (builder/review/doors.py) changes what it can reach (a DELETE to a guessed id really deletes), so it
never runs against the published app nor the preview: the review starts the version's code in a sandbox of its own,
through the same runner and RunPlan as the app's releases (PreviewHub.launch, release_run_plan), with the app's
variables (it may not start without them) but an empty /data folder made for this review alone and an SQLite database
in it. Not the app's PostgreSQL database, nor a scratch one there: that would be a role and a database made and
dropped at every review, and a fresh SQLite file is as empty. The probe asks the sandbox's own address (its
upstream), not the proxy's, which would ask for a preview's sign-in. The sandbox is stopped and its folder removed
when the probe ends, fails or is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx
from playwright.async_api import Browser

from builder.app_backend.user_token import KEY_ENV
from builder.app_secrets import runner_env
from builder.errors import PreviewError
from builder.review.app_use import use_as_first_person
from builder.review.doors import TIMEOUT_S, door_findings
from builder.review.findings import Finding, Severity, ordered
from builder.review.replay import Identities, Replay, asks_who_is_asking
from builder.services.app_data import appdata_root, remove_folder, scratch_data
from builder.services.preview_hub import PreviewHub, new_preview_id
from builder.services.server_apps import release_run_plan
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.direct_http import direct_client
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import RunPlan
from preview_runtime.production import production_plan
from preview_runtime.runner import PreviewState
from preview_runtime.verify import BrowserUnavailable

log = logging.getLogger(__name__)

REVIEW_KEY = "review:"  # review:<project>@<random>: one sandbox per review, never another's
SCRATCH = ".review-"  # its /data folder: <data dir>/appdata/<project>/.review-<random>, beside the app's scopes


def review_key(project_id: str, token: str) -> str:
    return f"{REVIEW_KEY}{project_id}@{token}"


def not_checked(why: str) -> Finding:
    """The one finding of a review whose sandbox did not start or answer: the review still finishes."""
    return Finding(
        check="doors",
        kind="not-checked",
        severity=Severity.low,
        message=f"The app's doors could not be checked: {why}.",
        fix="Make the app start with its start command and answer at its address (its Logs tab says why it did not), "
        "then review it again.",
    )


def not_replayed(why: str) -> Finding:
    return Finding(
        check="replay",
        kind="not-checked",
        severity=Severity.low,
        message=f"Whether one person can reach another's rows could not be tried: {why}.",
        fix="Ask whoever runs this Forja to install Chromium, then review the app again.",
    )


class DoorsSandbox:
    """Starts a server app's version in a scratch sandbox, probes its doors, and always takes it down again."""

    def __init__(self, store: ProjectStore, hub: PreviewHub, logs: LogHub, browser: Callable[[], Awaitable[Browser]]) -> None:
        self._store = store
        self._hub = hub
        self._logs = logs
        self._browser = browser  # the check's Chromium (VerificationService), for the cross-user replay
        self._cleaning: set[asyncio.Task[None]] = set()  # ends of sandboxes whose review was cancelled

    async def findings(self, project_id: str, version: int, tree: Mapping[str, bytes]) -> list[Finding]:
        """The doors findings of the version (a server app's files, `tree`), probed in a scratch sandbox of its own."""
        override = await self._store.run_override(project_id)
        plan = production_plan(tree, override)
        env = await runner_env(self._store, self._logs, project_id, quiet=True)
        token = secrets.token_hex(6)
        key, folder = review_key(project_id, token), appdata_root() / project_id / f"{SCRATCH}{token}"
        try:
            # In the loop, not a thread: a thread still making the folder when the review is dropped would make it
            # after its removal (a mkdir and a chmod: no wait worth a thread).
            run = scratch_data(release_run_plan(tree, override, plan, env), folder)
            # Its people's tokens verify with a key made for this review alone, so they are worth nothing elsewhere.
            ids = Identities(project_id)
            run = run.model_copy(update={"kept_env": {**run.kept_env, KEY_ENV: ids.public}})
            upstream, plain, why = await self._started(key, project_id, version, tree, run)
            if not upstream:
                self._logs.emit(project_id, f"The review could not check the app's doors: {why}", LogLevel.warning, "publish")
                return [not_checked(plain)]
            async with direct_client(TIMEOUT_S) as client:
                found = await door_findings(upstream, client, tree)
                if asks_who_is_asking(tree):
                    found += await self._replayed(upstream, client, ids)
                return ordered(found)
        finally:
            # Shielded: a cancelled review still takes its sandbox down (the task is kept until it has).
            ending = asyncio.create_task(self._end(key, folder), name=f"end-{key}")
            self._cleaning.add(ending)
            ending.add_done_callback(self._cleaning.discard)
            try:
                await asyncio.shield(ending)
            except asyncio.CancelledError:
                # Cancelled again while ending: who dropped the review still learns of it only once it is down.
                await asyncio.wait([ending])
                raise

    async def _replayed(self, upstream: str, client: httpx.AsyncClient, ids: Identities) -> list[Finding]:
        """The app used as one person, its requests tried as another and as nobody (builder/review/replay.py)."""
        try:
            browser = await self._browser()
        except BrowserUnavailable:
            return [not_replayed("this machine has no browser to use it with")]
        replay = Replay(upstream, client, ids)
        await use_as_first_person(browser, upstream, replay)
        return replay.findings()

    async def _started(
        self, key: str, project_id: str, version: int, tree: Mapping[str, bytes], run: RunPlan
    ) -> tuple[str, str, str]:
        """(the sandbox's own address, "", "") once it answers; else ("", why in plain words, why in the runner's
        words, redacted)."""
        try:
            async with asyncio.timeout(settings.publish_build_timeout_s):
                async with self._hub.lock(key):
                    await self._hub.launch(key, new_preview_id("review-"), project_id, version, dict(tree), run, "auto")
                info = await self._hub.wait_ready(key)
        except TimeoutError:
            return "", "it did not answer in time", f"it did not answer within {settings.publish_build_timeout_s} s."
        except PreviewError as exc:
            return "", "it did not start", self._logs.redacted(project_id, exc.message)
        if info.state != PreviewState.running or not info.upstream:
            return "", "it did not start", self._logs.redacted(project_id, info.detail or info.state.value)
        if not info.sandboxed:  # the local runner allowed to run apps as Forja's user: the probe could reach the host
            return "", "apps run without a sandbox on this machine", "the runner started it without a sandbox."
        return info.upstream, "", ""

    async def _end(self, key: str, folder: Path) -> None:
        try:
            await self._hub.stop(key)
        except Exception:  # the review has its answer: the log says what is left
            log.exception("stopping the review's sandbox %s failed", key)
        await asyncio.to_thread(remove_folder, folder)
