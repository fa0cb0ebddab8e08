"""Runs previews: picks a runner, routes the proxy, reaps idle and expired previews.

It knows projects only as ids and file trees; Forja's service layer tells it what to run.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import RunPlan
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import CommandOutcome, PreviewInfo, PreviewSpec, PreviewState, Runner, RunnerError

log = logging.getLogger(__name__)

# The runners on Forja's side, strongest first (the WebContainer runs in the person's browser).
SERVER_RUNNERS = ("swarm", "docker", "local")
RUNNER_CHOICES = ("auto", *SERVER_RUNNERS)

# Told each state a preview reaches, and once more when its address is routed (so it can answer).
ChangeListener = Callable[[PreviewInfo], None]

# What `auto` picks, strongest first, and what it tells the person.
AUTO_ORDER = (
    ("swarm", "Docker Swarm is ready: each preview runs as a hardened service of the swarm, on a network of its own."),
    ("docker", "Docker is ready: each preview runs in its own hardened container."),
)


def choose_runner(
    requested: str, available: Mapping[str, Runner], unavailable: Mapping[str, str] | None = None
) -> tuple[Runner, str]:
    """The runner for a preview and why that one; `auto` means the swarm when this Forja's engine is a swarm manager,
    else Docker when it is ready, else the local runner.

    `unavailable` says why a runner is missing (no engine, its image still building...), so the
    person reads the real reason rather than a guess.
    """
    why_not = dict(unavailable or {})
    if requested not in RUNNER_CHOICES:
        raise RunnerError(f"Unknown runner {requested!r}; use one of: {', '.join(RUNNER_CHOICES)}.")
    if requested == "auto":
        for name, why in AUTO_ORDER:
            if name in available:
                return available[name], why
        if "local" in available:
            return available["local"], f"Docker is not used: {why_not.get('docker', 'it is turned off in the settings.')}"
        reasons = "".join(f" The {name} runner cannot be used: {why_not[name]}" for name in SERVER_RUNNERS if name in why_not)
        raise RunnerError(f"No preview runner is available on this Forja.{reasons}")
    if requested not in available:
        default = {
            "docker": "no Docker engine is reachable",
            "swarm": "this Forja's Docker engine is not a swarm manager",
        }.get(requested, "it is turned off in the settings")
        raise RunnerError(f"The {requested} runner cannot be used: {why_not.get(requested, default)}")
    return available[requested], f"The {requested} runner was asked for."


@dataclass
class _Running:
    info: PreviewInfo
    runner: Runner
    reason: str = ""
    started: float = field(default_factory=time.monotonic)
    last_seen: float = field(default_factory=time.monotonic)


class PreviewManager:
    def __init__(
        self,
        runners: Mapping[str, Runner],
        proxy: PreviewProxy,
        logs: LogHub,
        idle_seconds: float = 1800,
        ttl_seconds: float = 4 * 3600,
        on_change: ChangeListener | None = None,
    ) -> None:
        self.runners = dict(runners)
        self.proxy = proxy
        self.logs = logs
        self.idle_seconds = idle_seconds
        self.ttl_seconds = ttl_seconds
        # Why a runner is missing, for the person who asks for it (see choose_runner).
        self.unavailable: dict[str, str] = {}
        self._previews: dict[str, _Running] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._on_change = on_change

    def _changed(self, info: PreviewInfo) -> None:
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
        self._reaper = asyncio.create_task(self._reap_forever(), name="preview-reaper")

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
            self._previews[info.preview_id] = _Running(info, runner)
            if info.upstream:
                await self.proxy.route(info.preview_id, info.upstream)

    async def close(self) -> None:
        if self._reaper:
            self._reaper.cancel()
        for watcher in self._watchers.values():
            watcher.cancel()
        for runner in self.runners.values():
            await runner.close()
        await self.proxy.stop()

    def _sink(self, project_id: str):
        def write(_preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
            self.logs.emit(project_id, text, level, source)

        return write

    async def start(
        self, preview_id: str, project_id: str, version: int, files: Mapping[str, bytes], plan: RunPlan, runner: str = "auto"
    ) -> PreviewInfo:
        chosen, reason = choose_runner(runner, self.runners, self.unavailable)
        spec = PreviewSpec(preview_id=preview_id, project_id=project_id, version=version, files=files, plan=plan)
        what = f" ({plan.framework})" if plan.framework else ""
        self.logs.emit(
            project_id,
            f"Starting preview of version {version}{what} with the {chosen.name} runner: {plan.install or '(no install)'} && {plan.dev}",
        )
        for note in plan.notes:
            self.logs.emit(project_id, note, LogLevel.warning)
        self.logs.emit(project_id, f"Why the {chosen.name} runner: {reason}")
        info = await chosen.start(spec, self._sink(project_id))
        info.url = self.proxy.url_for(preview_id)
        info.runner_reason = reason
        self._previews[preview_id] = _Running(info, chosen, reason)
        self._watchers[preview_id] = asyncio.create_task(self._watch(preview_id), name=f"preview-{preview_id}")
        return info

    async def prepare(self, project_id: str, files: Mapping[str, bytes], plan: RunPlan, runner: str = "auto") -> None:
        """Install the project's dependencies with the runner its next preview gets, before that preview starts
        (see Runner.prepare); its lines go to the project's log."""
        chosen, _ = choose_runner(runner, self.runners, self.unavailable)
        await chosen.prepare(project_id, files, plan, self._sink(project_id))

    async def _watch(self, preview_id: str) -> None:
        """Route the proxy once the dev server answers; report failure in plain words and each state to the listener."""
        running = self._previews.get(preview_id)
        reported: PreviewState | None = None
        while running is not None:
            info = await running.runner.status(preview_id)
            info.url = self.proxy.url_for(preview_id)
            info.runner_reason = running.reason
            running.info = info
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
                self.logs.emit(info.project_id, f"Preview is running at {info.url}")
                self._changed(info)
                return
            if info.state in (PreviewState.failed, PreviewState.stopped):
                if info.state == PreviewState.failed:
                    self.logs.emit(info.project_id, f"The preview failed: {info.detail or 'see the lines above'}", LogLevel.error)
                return
            await asyncio.sleep(0.2)
            running = self._previews.get(preview_id)

    async def status(self, preview_id: str) -> PreviewInfo:
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()
        info = await running.runner.status(preview_id)
        info.url = self.proxy.url_for(preview_id)
        info.runner_reason = running.reason
        running.info = info
        return info

    async def wait_ready(self, preview_id: str) -> PreviewInfo:
        """Until the URL answers through the proxy or the preview fails; bound it with asyncio.timeout."""
        while True:
            info = await self.status(preview_id)
            if info.state == PreviewState.failed:
                return info
            if info.state == PreviewState.running and await self.answers(preview_id):
                return info
            await asyncio.sleep(0.2)

    async def answers(self, preview_id: str) -> bool:
        try:
            # Loopback only: a proxy from the environment (HTTP_PROXY) must not carry these requests.
            async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
                response = await client.get(self.proxy.internal_url(), headers={"Host": self.proxy.host_for(preview_id)})
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        running = self._previews.get(preview_id)
        if running is not None:
            running.last_seen = time.monotonic()
            await running.runner.push_files(preview_id, changed, deleted)

    async def run_command(self, preview_id: str, command: str, timeout_s: float) -> CommandOutcome:
        """One shell line in the preview's root folder, beside its dev server (see Runner.run_command)."""
        running = self._previews.get(preview_id)
        if running is None:
            raise RunnerError("That preview is not running; start it again.")
        running.last_seen = time.monotonic()
        return await running.runner.run_command(preview_id, command, timeout_s)

    async def stop(self, preview_id: str) -> None:
        running = self._previews.pop(preview_id, None)
        if watcher := self._watchers.pop(preview_id, None):
            watcher.cancel()
        await self.proxy.unroute(preview_id)
        if running is not None:
            await running.runner.stop(preview_id)
            self.logs.emit(running.info.project_id, "Preview stopped.")
            self._changed(running.info.model_copy(update={"state": PreviewState.stopped}))

    def running(self) -> list[PreviewInfo]:
        return [r.info for r in self._previews.values()]

    async def memory_bytes(self, preview_id: str) -> int | None:
        """The memory the preview uses now (bytes), if its runner can tell."""
        running = self._previews.get(preview_id)
        return await running.runner.memory_bytes(preview_id) if running is not None else None

    def touch(self, preview_id: str) -> None:
        if running := self._previews.get(preview_id):
            running.last_seen = time.monotonic()

    async def reap(self) -> list[str]:
        """Stop previews idle longer than idle_seconds or older than ttl_seconds."""
        now = time.monotonic()
        expired = [
            pid
            for pid, r in self._previews.items()
            if now - r.last_seen > self.idle_seconds or now - r.started > self.ttl_seconds
        ]
        for preview_id in expired:
            project_id = self._previews[preview_id].info.project_id
            await self.stop(preview_id)
            self.logs.emit(project_id, "The preview was stopped after being idle; open the Preview tab to start it again.")
        return expired

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(30)
            try:
                await self.reap()
            except Exception:
                log.exception("preview reaper failed")
