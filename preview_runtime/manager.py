"""Runs previews: picks a runner, routes the proxy, parks idle previews and wakes them, removes long-parked ones.

It knows projects only as ids and file trees; Forja's service layer tells it what to run. A running preview is reported
as reconnecting while the proxy does not answer (it is being started again: traefik.py), and each change of that is
told to the listener and said in the project's log.

A parked preview (reaping.py parks those nobody uses) answers the proxy's waking page at its address, whose first request
wakes it (Runner.wake); so do wake() and a start of its version by Forja's services.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import httpx

from preview_runtime.direct_http import direct_client
from preview_runtime.echoes import Echoes, probe_url
from preview_runtime.liveness import ALIVE_PATH, AnswerWatch
from preview_runtime.lockfile_mirror import for_sandbox
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import RunPlan
from preview_runtime.preview_headers import WAKING, app_answered
from preview_runtime.proxy import PreviewProxy
from preview_runtime.reaping import Reaped, Reaper
from preview_runtime.runner import CommandOutcome, PreviewInfo, PreviewSpec, PreviewState, Runner, RunnerError, Shell
from preview_runtime.runner_choice import choose_runner

log = logging.getLogger(__name__)

# Told each state a preview reaches, and once more when its address is routed (so it can answer).
ChangeListener = Callable[[PreviewInfo], None]
# Wakes the parked preview (its id) whose address was asked for, or decides it may not wake yet.
WakeRequest = Callable[[str], Awaitable[None]]

NOT_ANSWERING_DETAIL = (
    "The app stopped answering: its server runs but says nothing to a request. Its log may say why; restarting the "
    "preview starts it again."
)
RECONNECTING_DETAIL = (
    "The preview proxy does not answer, so the app cannot be reached; Forja is starting the proxy again, and the app "
    "shows again as soon as it answers."
)


@dataclass
class Tracked:
    """A preview the manager runs or keeps parked: what its runner last said of it, and the manager's own bookkeeping."""

    info: PreviewInfo
    runner: Runner
    reason: str = ""
    source: str = ""  # RunPlan.source of the plan it started with
    # The version it shows: the one it started with, then each saved one pushed to it (the runner knows only the first).
    version: int = 0
    started: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)
    parked_at: float | None = None
    waking_since: float | None = None  # from a wake until its address answers again, for the log's "Woke in"

    def __post_init__(self) -> None:
        self.version = self.version or self.info.version

    def news(self, info: PreviewInfo, url: str) -> PreviewInfo:
        """What the runner said of it, with what the manager knows on top (its address, why this runner, its version),
        kept as its latest state."""
        info.url, info.runner_reason, info.version, info.source = url, self.reason, self.version, self.source
        self.info = info
        return info


class PreviewManager:
    def __init__(
        self,
        runners: Mapping[str, Runner],
        proxy: PreviewProxy,
        logs: LogHub,
        park_after_s: float = 1800,
        remove_after_s: float = 7 * 86400,
        ttl_s: float = 4 * 3600,
        on_change: ChangeListener | None = None,
        on_wake_request: WakeRequest | None = None,
        visits_count: Callable[[str], bool] | None = None,
        npm_registry: str | None = None,
    ) -> None:
        """`npm_registry`: the registry mirror previews install from, which their yarn.lock is rewritten for
        (lockfile_mirror.py) on its way to any runner."""
        self.runners = dict(runners)
        self.npm_registry = npm_registry
        self.proxy = proxy
        self.logs = logs
        self.reaper = Reaper(self, park_after_s, remove_after_s, ttl_s)
        # Why a runner is missing, for the person who asks for it (see choose_runner).
        self.unavailable: dict[str, str] = {}
        self._previews: dict[str, Tracked] = {}
        # What each preview's dev server echoes of Forja's own doing, kept out of the project's log (echoes.py).
        self._echoes: dict[str, Echoes] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._on_change = on_change
        self._on_wake_request = on_wake_request
        # Previews (by id) whose visits through the proxy count as use, as Forja never sees them (published apps).
        self._visits_count = visits_count or (lambda _preview_id: False)
        # A preview is parked, woken or stopped one at a time; concurrent wakes share one task.
        self._locks: dict[str, asyncio.Lock] = {}
        self._waking: dict[str, asyncio.Task[PreviewInfo]] = {}
        proxy.on_wake = self._wake_request
        proxy.on_answering = self._proxy_answering
        self._liveness = AnswerWatch(self._answers_alive, self._asked_whether_answering, self._answering)
        self._liveness_task: asyncio.Task[None] | None = None

    def _reported(self, info: PreviewInfo) -> PreviewInfo:
        """A running preview as it can be used now: reconnecting while the proxy does not answer, not answering while
        its app does not (liveness.py)."""
        if info.state == PreviewState.running and not self.proxy.answering:
            return info.model_copy(update={"state": PreviewState.reconnecting, "detail": RECONNECTING_DETAIL})
        if info.state == PreviewState.running and info.preview_id in self._liveness.silent:
            return info.model_copy(update={"state": PreviewState.not_answering, "detail": NOT_ANSWERING_DETAIL})
        return info

    def _asked_whether_answering(self) -> list[str]:
        """The previews whose app the liveness watch asks: running, behind a proxy that answers, and not a published
        app, whose visits keep it awake (a question would count as one)."""
        if not self.proxy.answering:
            return []
        return [
            preview_id
            for preview_id, running in self._previews.items()
            if running.info.state == PreviewState.running
            and preview_id not in self._waking
            and not self._visits_count(preview_id)
        ]

    async def _answers_alive(self, preview_id: str) -> bool:
        return await self.answers(preview_id, ALIVE_PATH)

    def _answering(self, preview_id: str, answering: bool) -> None:
        """A running preview's app went silent or answers again: its state changed, said in its project's log."""
        running = self._previews.get(preview_id)
        if running is None:
            return
        if answering:
            self.logs.emit(running.info.project_id, "The app answers again.")
        else:
            self.logs.emit(running.info.project_id, NOT_ANSWERING_DETAIL, LogLevel.warning)
        self._changed(running.info)

    def _proxy_answering(self, answering: bool) -> None:
        """The proxy stopped or began answering again: every running preview's state changed with it, said in its
        project's log."""
        told: set[str] = set()
        for running in list(self._previews.values()):
            if running.info.state != PreviewState.running:
                continue
            if running.info.project_id not in told:
                told.add(running.info.project_id)
                if answering:
                    self.logs.emit(running.info.project_id, "The preview proxy answers again: the app is back at its address.")
                else:
                    self.logs.emit(
                        running.info.project_id,
                        "The app's address stopped answering: the preview proxy stopped, and Forja is starting it again.",
                        LogLevel.warning,
                    )
            self._changed(running.info)

    def _changed(self, info: PreviewInfo) -> None:
        info = self._reported(info)
        if self._on_change is not None:
            try:
                self._on_change(info)
            except Exception:  # a broken listener must not stop the watch or the stop
                log.exception("preview change listener failed for %s", info.preview_id)

    async def start_background(self) -> None:
        """Start the proxy, take back previews that outlived a restart, and begin reaping."""
        await self.proxy.start()
        for runner in self.runners.values():
            await self._adopt(runner)
        self._reaper = asyncio.create_task(self.reaper.run_forever(), name="preview-reaper")
        self._liveness_task = asyncio.create_task(self._liveness.run_forever(), name="preview-liveness")

    async def add_runner(self, runner: Runner) -> None:
        """A runner that became ready after start (the Docker image finished building): later starts may use it."""
        await self._adopt(runner)
        self.runners[runner.name] = runner
        self.unavailable.pop(runner.name, None)

    async def _adopt(self, runner: Runner) -> None:
        try:
            adopted = await runner.adopt()
        except RunnerError as exc:
            log.warning("could not adopt %s previews: %s", runner.name, exc)
            return
        for info in adopted:
            info.url = self.proxy.url_for(info.preview_id)
            if info.state == PreviewState.parked:
                # The time it was parked before the restart is not known: its removal counts from now.
                self._previews[info.preview_id] = Tracked(info, runner, parked_at=time.monotonic())
                await self.proxy.park(info.preview_id)
                continue
            self._previews[info.preview_id] = Tracked(info, runner)
            if info.upstream:
                await self.proxy.route(info.preview_id, info.upstream)

    async def close(self) -> None:
        for task in (self._reaper, self._liveness_task):
            if task is not None:
                task.cancel()
        for task in [*self._watchers.values(), *self._waking.values()]:
            task.cancel()
        for runner in self.runners.values():
            await runner.close()
        await self.proxy.stop()

    def _sink(self, project_id: str, preview_id: str = ""):
        echoes = self._echoes.setdefault(preview_id, Echoes()) if preview_id else None

        def write(_preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
            if echoes is None or source != "dev-server" or echoes.keep(text):
                self.logs.emit(project_id, text, level, source)

        return write

    async def start(
        self, preview_id: str, project_id: str, version: int, files: Mapping[str, bytes], plan: RunPlan, runner: str = "auto"
    ) -> PreviewInfo:
        chosen, reason = choose_runner(runner, self.runners, self.unavailable)
        files = for_sandbox(files, self.npm_registry)
        spec = PreviewSpec(preview_id=preview_id, project_id=project_id, version=version, files=files, plan=plan)
        what = f" ({plan.framework})" if plan.framework else ""
        self.logs.emit(
            project_id,
            f"Starting preview of version {version}{what} with the {chosen.name} runner: {plan.install or '(no install)'} && {plan.dev}",
        )
        if plan.source:
            self.logs.emit(project_id, f"Started with {plan.source}.")
        for note in plan.notes:
            self.logs.emit(project_id, note, LogLevel.warning)
        self.logs.emit(project_id, f"Why the {chosen.name} runner: {reason}")
        info = await chosen.start(spec, self._sink(project_id, preview_id))
        info.url = self.proxy.url_for(preview_id)
        info.runner_reason = reason
        info.source = plan.source
        self._previews[preview_id] = Tracked(info, chosen, reason, plan.source)
        self._watchers[preview_id] = asyncio.create_task(self._watch(preview_id), name=f"preview-{preview_id}")
        return info

    async def prepare(self, project_id: str, files: Mapping[str, bytes], plan: RunPlan, runner: str = "auto") -> None:
        """Install the project's dependencies with the runner its next preview gets, before that preview starts
        (see Runner.prepare); its lines go to the project's log."""
        chosen, _ = choose_runner(runner, self.runners, self.unavailable)
        await chosen.prepare(project_id, for_sandbox(files, self.npm_registry), plan, self._sink(project_id))

    async def _watch(self, preview_id: str) -> None:
        """Route the proxy once the dev server answers; report failure in plain words and each state to the listener."""
        running = self._previews.get(preview_id)
        reported: PreviewState | None = None
        while running is not None:
            info = running.news(await running.runner.status(preview_id), self.proxy.url_for(preview_id))
            if info.state != reported:
                reported = info.state
                self._changed(info)
            if info.state == PreviewState.running and info.upstream:
                await self.proxy.route(preview_id, info.upstream)
                # A route Traefik has not applied is written again while waiting; keep at it for as long as the
                # preview runs, or its URL would answer the catch-all page forever.
                while not await self.proxy.wait_routed(preview_id) and self.proxy.running and preview_id in self._previews:
                    self.logs.emit(
                        info.project_id, "The preview proxy has not picked up this preview yet; still trying.", LogLevel.warning
                    )
                # Unused counts from here: nobody could use it while it installed and started, however long that took.
                running.last_seen = time.monotonic()
                self._liveness.forget(preview_id)
                if running.waking_since is not None:
                    took, running.waking_since = time.monotonic() - running.waking_since, None
                    self.logs.emit(info.project_id, f"Woke in {took:.1f} s: the preview is running at {info.url} again.")
                else:
                    self.logs.emit(info.project_id, f"Preview is running at {info.url}")
                self._changed(info)
                return
            if info.state in (PreviewState.failed, PreviewState.stopped):
                if info.state == PreviewState.failed:
                    self.logs.emit(info.project_id, f"The preview failed: {info.detail or 'see the lines above'}", LogLevel.error)
                if running.waking_since is not None:  # its address would say it is starting forever
                    running.waking_since = None
                    await self.proxy.unroute(preview_id)
                return
            await asyncio.sleep(0.05)  # runners answer status from memory: asking often costs nothing, and a wake is short
            running = self._previews.get(preview_id)

    async def status(self, preview_id: str) -> PreviewInfo:
        """The preview's state now; asking counts as using it (it is not parked while someone asks)."""
        self.touch(preview_id)
        return await self.peek(preview_id)

    async def peek(self, preview_id: str) -> PreviewInfo:
        """The preview's state now, without counting as a use: for Forja's own bookkeeping."""
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        if preview_id in self._waking and running.info.state == PreviewState.parked:
            # Its runner is between parked and running (the local runner knows it as neither for a moment): parked it
            # stays until the wake says otherwise, never "not running", which would make Forja forget it.
            return running.info
        return self._reported(running.news(await running.runner.status(preview_id), self.proxy.url_for(preview_id)))

    async def wait_ready(self, preview_id: str) -> PreviewInfo:
        """Until the URL answers through the proxy or the preview fails (a parked one is woken); bound it with
        asyncio.timeout."""
        while True:
            info = await self.status(preview_id)
            if info.state == PreviewState.parked:
                info = await self.wake(preview_id)
            if info.state == PreviewState.failed:
                return info
            if info.state == PreviewState.running and await self.answers(preview_id):
                return info
            await asyncio.sleep(0.2)

    async def wait_installed(self, preview_id: str) -> PreviewInfo:
        """Until the preview's dependencies are installed, so its commands can run (run_command), or it fails or stops
        (a parked one is woken); its dev server may not answer yet. Bound it with asyncio.timeout."""
        while True:
            info = await self.status(preview_id)
            if info.state == PreviewState.parked:
                info = await self.wake(preview_id)
            if info.installed or info.state in (PreviewState.failed, PreviewState.stopped):
                return info
            # Runners answer status from memory (see _watch): a publish's build waits on this, so it asks often.
            await asyncio.sleep(0.01)

    async def answers(self, preview_id: str, path: str = "/") -> bool:
        """Whether the app answers `path` through the proxy, with any status of its own (see app_answered)."""
        try:
            # Loopback only: a proxy from the environment (HTTP_PROXY) must not carry these requests.
            async with direct_client(2) as client:
                url = probe_url(self.proxy.internal_url().rstrip("/") + path)
                response = await client.get(url, headers=self.proxy.own_headers(preview_id))
        except httpx.HTTPError:
            return False
        return app_answered(response)

    async def push_files(
        self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str], version: int | None = None, *, own: bool = False
    ) -> None:
        """Saved edits into the preview; a parked one is woken first (someone works on it). With `version`, the
        preview shows that version from now on (its status says so). `own`: files Forja changes for itself, whose
        reloads the dev server logs are kept out of the project's log."""
        running = self._previews.get(preview_id)
        if running is not None:
            running.last_seen = time.monotonic()
            if running.info.state == PreviewState.parked:
                await self.wake(preview_id)
            if echoes := self._echoes.get(preview_id):
                echoes.pushed([*changed, *deleted], own=own)
            await running.runner.push_files(preview_id, for_sandbox(changed, self.npm_registry), deleted)
            if version is not None:
                self.holds(preview_id, version)

    def holds(self, preview_id: str, version: int) -> None:
        """The preview's files are `version` now (a push, or a record from before a restart says so)."""
        if running := self._previews.get(preview_id):
            running.version = version
            running.info = running.info.model_copy(update={"version": version})
            self._changed(running.info)

    def expect_request(self, preview_id: str, method: str, target: str) -> None:
        """Forja itself is about to send this request to the preview (its checking browser): its access line is kept
        out of the project's log."""
        if echoes := self._echoes.get(preview_id):
            echoes.requested(method, target)

    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        """One shell line in the preview's root folder, beside its dev server (see Runner.run_command)."""
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()
        return await running.runner.run_command(preview_id, command, timeout_s)

    async def open_shell(self, preview_id: str, cols: int, rows: int) -> Shell:
        """An interactive shell in the preview's sandbox (see Runner.open_shell)."""
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()
        return await running.runner.open_shell(preview_id, cols, rows)

    async def collect(self, preview_id: str, folder: str, limit_bytes: int) -> dict[str, bytes]:
        """The files a build left in the preview's `folder` (see Runner.collect)."""
        if (running := self._previews.get(preview_id)) is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()  # a publish reading it is a use: not parked under it
        return await running.runner.collect(preview_id, folder, limit_bytes)

    async def stop(self, preview_id: str) -> None:
        """Remove the preview, running or parked: its processes, files and route."""
        async with self._lock(preview_id):
            await self._stop(preview_id)
        self._locks.pop(preview_id, None)

    async def _stop(self, preview_id: str) -> None:
        running = self._previews.pop(preview_id, None)
        self._echoes.pop(preview_id, None)
        self._liveness.forget(preview_id)
        if watcher := self._watchers.pop(preview_id, None):
            watcher.cancel()
        await self.proxy.unroute(preview_id)
        if running is not None:
            await running.runner.stop(preview_id)
            self.logs.emit(running.info.project_id, "Preview stopped.")
            self._changed(running.info.model_copy(update={"state": PreviewState.stopped}))

    def _lock(self, preview_id: str) -> asyncio.Lock:
        return self._locks.setdefault(preview_id, asyncio.Lock())

    # -- parking ---------------------------------------------------------------------------------

    async def park(self, preview_id: str, why: str = "") -> bool:
        """Park a running preview (Runner.park); its address answers the waking page until it is woken. False when it
        does not run (starting, failed...) or its runner could not park it (then it is removed, and says so).

        `why` ends the log's "Parked after ..." ("30 min idle").
        """
        async with self._lock(preview_id):
            running = self._previews.get(preview_id)
            if running is None or running.info.state == PreviewState.parked:
                return False
            try:
                state = (await running.runner.status(preview_id)).state
            except RunnerError:
                state = PreviewState.stopped
            if state != PreviewState.running:
                return False
            if watcher := self._watchers.pop(preview_id, None):
                watcher.cancel()
            project_id = running.info.project_id
            # First, so that a request arriving while it parks gets the waking page (and wakes it once parked); the app
            # is parked once Traefik sends its host there, or a visit in between would meet a 502 from a stopped app.
            await self.proxy.park(preview_id)
            self._liveness.forget(preview_id)
            await self.proxy.wait_served(preview_id, WAKING, quiet=True)
            try:
                info = await running.runner.park(preview_id)
            except RunnerError as exc:
                self.logs.emit(project_id, f"The preview could not be parked, so it is stopped: {exc}", LogLevel.warning)
                await self._stop(preview_id)
                return False
            info = running.news(info, self.proxy.url_for(preview_id))
            running.parked_at = time.monotonic()
            self.logs.emit(
                project_id,
                f"Parked after {why or 'a while unused'}: nothing of it runs now, and its files and dependencies are kept; "
                "the next visit to its address or share link wakes it.",
            )
            self._changed(info)
            return True

    async def wake(self, preview_id: str) -> PreviewInfo:
        """Wake a parked preview (Runner.wake) and follow it until its address answers again; returns at once with its
        state then (a preview that is not parked: as it is). Concurrent calls share one wake. RunnerError when it
        cannot wake: it is removed, and the caller starts its version afresh."""
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()
        task = self._waking.get(preview_id)
        if task is None:
            task = self._waking[preview_id] = asyncio.create_task(self._wake(preview_id), name=f"wake-{preview_id}")
            task.add_done_callback(lambda _: self._waking.pop(preview_id, None))
        return await asyncio.shield(task)

    async def _wake(self, preview_id: str) -> PreviewInfo:
        async with self._lock(preview_id):
            running = self._previews.get(preview_id)
            if running is None:
                raise RunnerError("That preview is not running; start it again.")
            if running.info.state != PreviewState.parked:
                return running.info
            project_id, since = running.info.project_id, time.monotonic()
            self.logs.emit(project_id, "Waking the parked preview up.")
            try:
                info = await running.runner.wake(preview_id, self._sink(project_id, preview_id))
            except RunnerError as exc:
                self.logs.emit(project_id, f"The parked preview could not wake ({exc}); it starts afresh.", LogLevel.warning)
                await self._stop(preview_id)
                raise
            info = running.news(info, self.proxy.url_for(preview_id))
            running.parked_at, running.waking_since = None, since
            running.started = running.last_seen = time.monotonic()
            self._changed(info)
            self._watchers[preview_id] = asyncio.create_task(self._watch(preview_id), name=f"preview-{preview_id}")
            return info

    async def _wake_request(self, preview_id: str) -> None:
        """A request reached the parked preview's address (the proxy's waking page): it wakes, or `on_wake_request`
        decides."""
        if self._on_wake_request is not None:
            await self._on_wake_request(preview_id)
            return
        with contextlib.suppress(RunnerError):  # said in the project's log; its address answers the catch-all page now
            await self.wake(preview_id)

    def running(self) -> list[PreviewInfo]:
        return [self._reported(r.info) for r in self._previews.values()]

    async def memory_bytes(self, preview_id: str) -> int | None:
        """The memory the preview uses now (bytes), if its runner can tell."""
        running = self._previews.get(preview_id)
        return await running.runner.memory_bytes(preview_id) if running is not None else None

    def touch(self, preview_id: str) -> None:
        if running := self._previews.get(preview_id):
            running.last_seen = time.monotonic()

    async def reap(self) -> Reaped:
        """One round of the reaper (reaping.py)."""
        return await self.reaper.reap()

    # -- for the reaper --------------------------------------------------------------------------

    def tracked(self) -> list[tuple[str, Tracked]]:
        """Every preview this manager runs or keeps parked, as it stands now."""
        return list(self._previews.items())

    def tracking(self, preview_id: str) -> Tracked | None:
        return self._previews.get(preview_id)

    def waking(self, preview_id: str) -> bool:
        return preview_id in self._waking

    def visits_count(self, preview_id: str) -> bool:
        """Whether visits through the proxy count as the preview's use (a published app's)."""
        return self._visits_count(preview_id)
