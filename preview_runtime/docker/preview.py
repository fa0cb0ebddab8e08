"""One running Docker preview as the runner tracks it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from preview_runtime.local.egress import EgressProxy
from preview_runtime.logs import LogLevel
from preview_runtime.native import NativeBuild
from preview_runtime.runner import LogSink, PreviewInfo, PreviewState

TAIL_LINES = 20


@dataclass
class DockerPreview:
    preview_id: str
    project_id: str
    version: int
    container_id: str
    port: int  # where its dev server answers: the plan's port, or where it listens instead (readiness.py)
    log: LogSink
    ip: str = ""
    app_volume: str = ""
    deps_volume: str = ""
    deps_key: str = ""
    nonce: str = ""
    claim_volume: str = ""  # the claim record of a preview that runs in a pool container
    state: PreviewState = PreviewState.starting
    detail: str = ""
    source: str = "install"
    started_at: float = field(default_factory=time.monotonic)
    phase_at: float = field(default_factory=time.monotonic)
    stopping: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    save_task: asyncio.Task[None] | None = None  # copying freshly installed dependencies into the cache
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # answers, failed or stopped
    last_output: float = field(default_factory=time.monotonic)
    gave_up: bool = False  # Forja ended it (silent, listening nowhere): its detail says why
    ended: bool = False  # its container's run is over (exited or killed): /app, a tmpfs, went with it
    side_ports: list[int] = field(default_factory=list)  # the plan's side servers (an API): never the preview's address
    relayed: bool = False  # a relay to a dev server on the container's loopback was started (readiness.Watch._relay)
    page_expected: bool = True  # a front end's dev server: what answers without a page is not the app at first
    home_page: bool = False  # a front-end framework's dev server (RunPlan.home_page): a 404 at its page is a failure
    plan_port: int = 0  # the port its run plan gives it ($PORT); `port` until the dev server is found elsewhere
    install: str = ""  # its plan's commands, named when a step runs past its deadline ("" for one adopted after a restart)
    dev: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))  # its last lines, for why it ended
    # A line said a write found no space left (ENOSPC); `full` is the scratch place a line named, "" until one does.
    no_space: bool = False
    full: str = ""
    native: NativeBuild = field(default_factory=NativeBuild)  # its install's native builds (a package's failed one)
    # A parked preview's own variables (its Environment), held here and never in its park file (parking.py).
    app_env: bytes = field(default=b"", repr=False)
    egress: EgressProxy | None = None  # its installs' proxy, which says its refusals in its log (egress.py)

    def __post_init__(self) -> None:
        self.plan_port = self.plan_port or self.port

    @property
    def upstream(self) -> str:
        return f"http://{self.ip}:{self.port}" if self.ip else ""

    def emit(self, text: str, level: LogLevel | None, source: str | None = None) -> None:
        with contextlib.suppress(Exception):  # a broken sink must not stop the preview
            self.log(self.preview_id, text, level, source or self.source)

    def set_state(self, state: PreviewState) -> None:
        """Move on, unless the preview has failed or stopped already."""
        if self.state not in (PreviewState.failed, PreviewState.stopped):
            self.state = state

    def woken(self, log: LogSink) -> None:
        """Back to a start's first state, for its container's new run."""
        now = time.monotonic()
        self.log, self.state, self.detail, self.source, self.port = log, PreviewState.starting, "", "install", self.plan_port
        self.stopping = self.gave_up = self.relayed = self.no_space = self.ended = False
        self.full = ""
        self.native = NativeBuild()
        self.tail.clear()
        self.started_at = self.phase_at = self.last_output = now
        self.settled = asyncio.Event()
        self.save_task = None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A background task of this preview, cancelled when it stops."""
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def cancel_tasks(self, keep: asyncio.Task[None] | None = None) -> None:
        """Cancel the background tasks (but `keep`) and let their clean-up (e.g. a cache holder) finish."""
        tasks = [t for t in self.tasks if t is not asyncio.current_task() and t is not keep]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    async def halt(self, save_timeout_s: float) -> None:
        """Stopped: its tasks end, but a copy of freshly installed dependencies into the cache under way may finish
        first (within `save_timeout_s`): it is what makes the next start of the project fast."""
        self.stopping = True
        self.state = PreviewState.stopped
        self.settled.set()
        save = self.save_task
        await self.cancel_tasks(keep=save)
        if save is not None and not save.done():
            await asyncio.wait([save], timeout=save_timeout_s)
        await self.cancel_tasks()

    def info(self, runner: str) -> PreviewInfo:
        return PreviewInfo(
            preview_id=self.preview_id,
            project_id=self.project_id,
            version=self.version,
            runner=runner,
            state=self.state,
            upstream=self.upstream,
            detail=self.detail,
            handle=self.container_id,
            installed=self.state == PreviewState.running,
        )
