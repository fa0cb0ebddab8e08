"""The reaper of a PreviewManager: parks the previews nobody uses, or that ran too long, and removes long-parked ones.

A preview unused for `park_after_s`, or running for `ttl_s`, is parked (Runner.park: nothing of it runs, its files and
dependencies are kept); one parked for `remove_after_s` is removed. A published app counts its visits through the
proxy as use, as Forja never sees them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from preview_runtime.logs import LogHub
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewInfo, PreviewState, Runner

log = logging.getLogger(__name__)

REAP_EVERY_S = 30.0  # how often the reaper looks, at most (shorter when the park or removal time is)


@dataclass
class Reaped:
    """What one round of the reaper did."""

    parked: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def duration_words(seconds: float) -> str:
    """'45 s', '12 min', '3 h', '2 days': how long, for the log."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


class Tracked(Protocol):
    """What the reaper reads of a preview the manager tracks (manager.Tracked)."""

    @property
    def info(self) -> PreviewInfo: ...
    @property
    def runner(self) -> Runner: ...
    @property
    def started(self) -> float: ...
    @property
    def last_seen(self) -> float: ...
    @property
    def parked_at(self) -> float | None: ...


class Manager(Protocol):
    """What the reaper uses of its PreviewManager (a protocol: the manager imports this module)."""

    @property
    def logs(self) -> LogHub: ...
    @property
    def proxy(self) -> PreviewProxy: ...
    def tracked(self) -> Sequence[tuple[str, Tracked]]: ...
    def tracking(self, preview_id: str) -> Tracked | None: ...
    def waking(self, preview_id: str) -> bool: ...
    def visits_count(self, preview_id: str) -> bool: ...
    async def park(self, preview_id: str, why: str = "") -> bool: ...
    async def stop(self, preview_id: str) -> None: ...


class Reaper:
    def __init__(self, manager: Manager, park_after_s: float, remove_after_s: float, ttl_s: float) -> None:
        self._manager = manager
        self.park_after_s = park_after_s
        self.remove_after_s = remove_after_s
        self.ttl_s = ttl_s
        self.every_s = max(0.5, min(REAP_EVERY_S, park_after_s / 4, remove_after_s / 4))

    async def reap(self) -> Reaped:
        """Park the previews unused for park_after_s since they answered, or running for ttl_s (remove those that do
        not run: failed, or still starting after ttl_s), and remove the previews parked for remove_after_s."""
        manager, reaped = self._manager, Reaped()
        visited = await self._visited()
        for preview_id, running in manager.tracked():
            now = time.monotonic()
            if manager.tracking(preview_id) is not running or manager.waking(preview_id):
                continue
            project_id = running.info.project_id
            if running.info.state == PreviewState.parked:
                if running.parked_at is not None and now - running.parked_at > self.remove_after_s:
                    await manager.stop(preview_id)
                    manager.logs.emit(
                        project_id,
                        f"The preview was removed after {duration_words(now - running.parked_at)} parked; "
                        "open the Preview tab to start it again.",
                    )
                    reaped.removed.append(preview_id)
                continue
            idle, age = now - self._last_use(preview_id, running, visited), now - running.started
            if running.info.state in (PreviewState.starting, PreviewState.installing) and age <= self.ttl_s:
                # A start or a wake is not idleness (on a busy machine one outlasts a short park time, and stopping it
                # then left nothing to answer): its runner's own deadlines end one that hangs.
                continue
            # A published app in use runs on: ttl_s caps previews nobody may be looking at.
            if idle <= self.park_after_s and (age <= self.ttl_s or manager.visits_count(preview_id)):
                continue
            why = f"{duration_words(idle)} idle" if idle > self.park_after_s else f"{duration_words(age)} running"
            if await manager.park(preview_id, why):
                reaped.parked.append(preview_id)
            elif manager.tracking(preview_id) is not None:
                await manager.stop(preview_id)
                manager.logs.emit(project_id, "The preview was stopped after being idle; open the Preview tab to start it again.")
                reaped.removed.append(preview_id)
        return reaped

    async def _visited(self) -> dict[str, float]:
        """Traefik's visits to published apps' addresses (proxy.visits), read only when such an app runs."""
        manager = self._manager
        if any(manager.visits_count(p) and r.info.state == PreviewState.running for p, r in manager.tracked()):
            return await manager.proxy.visits()
        return {}

    def _last_use(self, preview_id: str, running: Tracked, visited: Mapping[str, float]) -> float:
        if not self._manager.visits_count(preview_id):
            return running.last_seen
        # The local runner's bridge sees each connection in; Traefik's counters see visits in every runner.
        inbound = max(running.runner.last_inbound(preview_id) or 0.0, visited.get(preview_id.lower(), 0.0))
        return max(running.last_seen, inbound)

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.reap()
            except Exception:
                log.exception("preview reaper failed")
