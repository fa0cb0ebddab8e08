"""One local preview's process: its output into the log, when it answers, and how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from preview_runtime.common import exit_meaning
from preview_runtime.direct_http import direct_client
from preview_runtime.listening import (
    ELSEWHERE_AFTER_S,
    HOME_NOT_FOUND,
    Deadlines,
    HomePage,
    answer_overdue,
    answer_status,
    answer_wait,
    answering,
    elsewhere_message,
    error_answer,
    install_overdue,
    listeners_of,
    not_answering_hint,
    stuck_message,
)
from preview_runtime.local.network import EGRESS_PORT, SandboxNetwork
from preview_runtime.local.processes import kill_group
from preview_runtime.logs import LogLevel
from preview_runtime.runner import ANSI, LogSink, PreviewSpec, PreviewState

logger = logging.getLogger(__name__)

TAIL_LINES = 20
HINT_AFTER_S = 60  # nothing answers by then: say where the dev server must listen
LOOK_AFTER_S = 1.0  # $PORT silent this long: look for the port the dev server chose itself


@dataclass
class LocalRun:
    spec: PreviewSpec
    directory: Path
    port: int
    sink: LogSink
    sandboxed: bool
    process: asyncio.subprocess.Process | None = None
    state: PreviewState = PreviewState.starting
    detail: str = ""
    source: str = "install"
    started: float = field(default_factory=time.monotonic)
    touched: float = field(default_factory=time.monotonic)
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    stopping: bool = False
    dev_started: asyncio.Event = field(default_factory=asyncio.Event)
    # The dev server answers, or will not (failed, ended, stopped): the dependency cache's copy waits for it, so it
    # never shares the CPUs with the dev server's start, or with a publish's build (which runs before its stand-in).
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # its processes have ended (stopped or parked)
    supervisor: asyncio.Task[None] | None = None
    # Where to cache node_modules once the install succeeds; empty when not cached or restored.
    deps_cache: Path | None = None
    saving_deps: asyncio.Task[None] | None = None  # its node_modules copied into deps_cache (stop waits for it)
    # Where the dev server answers: 127.0.0.1:$PORT, or the socket it opened instead (listening.py).
    address: str = ""
    last_output: float = field(default_factory=time.monotonic)
    silent_s: float = 90
    deadlines: Deadlines = field(default_factory=Deadlines)
    gave_up: bool = False  # Forja ended it (silent, listening nowhere): its detail says why
    env: dict[str, str] = field(default_factory=dict)  # the dev server's environment: run_command's too
    watches_files: bool = False  # `node --watch`: a new hard link in its folder restarts it (deps_cache.NODE_WATCH)
    commands: set[int] = field(default_factory=set)  # process groups of run_command's commands still running
    # In bubblewrap: the preview's own network namespace; `address` is then an address inside it (see network.py).
    network: SandboxNetwork | None = None
    guard: asyncio.Task[str] | None = None  # watches its limits (limits.watch): returns the one it ran into

    def __post_init__(self) -> None:
        self.address = self.address or f"127.0.0.1:{self.port}"

    @property
    def preview_id(self) -> str:
        return self.spec.preview_id

    def emit(self, text: str, level: LogLevel | None = None, source: str | None = None) -> None:
        try:
            self.sink(self.preview_id, text, level, source or self.source)
        except Exception:  # a broken sink must not stop the preview
            logger.exception("log sink failed for preview %s", self.preview_id)


async def supervise(run: LocalRun, marker: str, on_dev_started: Callable[[LocalRun], None]) -> None:
    """Until the shell ends: read its output, mark the run running once it answers, then say how it ended.

    `marker` is the line the shell prints between the install and the dev command ("" without install).
    """
    assert run.process is not None and run.process.stdout is not None
    reader = asyncio.create_task(_read(run, marker, on_dev_started))
    ready = asyncio.create_task(_until_answering(run))
    install = asyncio.create_task(_install_deadline(run))
    code = await run.process.wait()
    ready.cancel()
    install.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(reader), timeout=1)
    except TimeoutError:
        # Something of the group still holds the output open though the shell is gone: end it all.
        kill_group(run.process.pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader, timeout=2)
    if not run.stopping:
        kill_group(run.process.pid)
    if run.stopping:
        run.state = PreviewState.stopped
        return
    if run.gave_up:
        return
    if run.guard is not None and (breach := await run.guard):  # already said in the log by the guard
        run.state = PreviewState.failed
        tail = "\n".join(run.tail)
        run.detail = breach + (f" Last lines:\n{tail}" if tail else "")
        return
    what = "The dev server" if run.dev_started.is_set() else "The install command"
    if code == 0:
        run.state = PreviewState.stopped
        run.detail = f"{what} ended on its own (exit code 0)."
        run.emit(run.detail, LogLevel.warning, "forja")
        return
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    if meaning := exit_meaning(code):
        how += f" ({meaning})"
    run.state = PreviewState.failed
    tail = "\n".join(run.tail)
    run.detail = f"{what} {how}." + (f" Last lines:\n{tail}" if tail else "")
    run.emit(f"{what} {how}.", LogLevel.error, "forja")


async def output_lines(stream: asyncio.StreamReader) -> AsyncIterator[tuple[str, LogLevel | None]]:
    """A process's output as plain text lines, each with its level (None: to be classified), until it closes."""
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # longer than the reader's limit (asyncio has already dropped it)
            yield "(a line longer than 1 MiB was left out)", LogLevel.warning
            continue
        if not raw:
            return
        yield ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip("\r\n"), None


async def _read(run: LocalRun, marker: str, on_dev_started: Callable[[LocalRun], None]) -> None:
    assert run.process is not None and run.process.stdout is not None
    async for text, level in output_lines(run.process.stdout):
        if level is not None:
            run.emit(text, level)
            continue
        if marker and text.endswith(marker):  # the install's last line may lack its newline
            text = text.removesuffix(marker)
            if text:
                run.tail.append(text)
                run.emit(text)
            run.source = "dev-server"
            if run.state == PreviewState.installing:
                run.state = PreviewState.starting
            run.dev_started.set()
            on_dev_started(run)
            continue
        run.tail.append(text)
        run.last_output = time.monotonic()
        run.emit(text)


def _give_up(run: LocalRun, why: str) -> None:
    """Forja ends the preview: `why` is its detail, said once in the log."""
    assert run.process is not None
    run.gave_up = True
    run.state = PreviewState.failed
    run.detail = why
    run.emit(why, LogLevel.error, "forja")
    kill_group(run.process.pid)


async def _install_deadline(run: LocalRun) -> None:
    """Ends an install still running at its deadline (the dev server's start ends this wait)."""
    began = time.monotonic()
    try:
        await asyncio.wait_for(run.dev_started.wait(), run.deadlines.install_s)
    except TimeoutError:
        if not run.stopping and run.state in (PreviewState.starting, PreviewState.installing):
            _give_up(run, install_overdue(run.spec.plan.install.strip(), time.monotonic() - began, run.tail))


async def _until_answering(run: LocalRun) -> None:
    """Running once the dev server answers: on $PORT, or on a port it listens on instead."""
    try:
        await _answering(run)
    finally:
        run.settled.set()


async def _answering(run: LocalRun) -> None:
    await run.dev_started.wait()
    assert run.process is not None
    waited_since = time.monotonic()
    hinted = named = False
    status: int | None = None
    home = HomePage(run.spec.plan.home_page)
    transport = run.network.transport() if run.network else None
    async with direct_client(2, transport) as client:
        while run.state in (PreviewState.starting, PreviewState.installing):
            if home.answered(status := await answer_status(client, f"http://{run.address}/"), time.monotonic()):
                break
            now = time.monotonic()
            if now - waited_since < LOOK_AFTER_S:
                # A refused connection costs next to nothing, and a woken dev server answers within the first second.
                await asyncio.sleep(0.05)
                continue
            listening = await asyncio.to_thread(listeners_of, run.process.pid)
            if run.network is not None:  # the sandbox's way to the egress proxy is no dev server
                listening = [listener for listener in listening if listener.port != EGRESS_PORT]
            chosen = await answering(
                client,
                listening,
                "127.0.0.1",
                run.port,
                any_answer=now - waited_since > answer_wait(not run.spec.plan.has_server),
                side_ports=run.spec.plan.side_ports,
            )
            mine = [listener for listener in listening if listener.port not in run.spec.plan.side_ports]
            if (
                chosen is None
                and not named
                and mine
                and all(listener.port != run.port for listener in mine)
                and now - waited_since > ELSEWHERE_AFTER_S
            ):
                named = True
                run.emit(elsewhere_message(run.port, mine), LogLevel.info, "forja")
            if chosen is not None:
                run.address = chosen.address("127.0.0.1")
                run.emit(
                    f"The dev server listens on port {chosen.port}, not on $PORT ({run.port}): the preview goes there.",
                    LogLevel.info,
                    "forja",
                )
                break
            if not listening and now - max(run.last_output, waited_since) > run.silent_s:
                _give_up(run, stuck_message(run.silent_s))
                return
            if now - waited_since > run.deadlines.answer_s:
                _give_up(run, answer_overdue(run.spec.plan.dev, now - waited_since, run.port, mine, run.tail))
                return
            if not hinted and now - waited_since > HINT_AFTER_S:
                hinted = True
                run.emit(not_answering_hint(run.port, listening), LogLevel.warning, "forja")
            await asyncio.sleep(0.2)
        if run.state in (PreviewState.starting, PreviewState.installing):
            if status is None:  # found on another port: its page not asked yet
                status = await answer_status(client, f"http://{run.address}/")
            if home.missing(status):
                _give_up(run, HOME_NOT_FOUND)
                return
            run.state = PreviewState.running
            port = int(run.address.rsplit(":", 1)[1])
            run.emit(f"The dev server answers on port {port}.", LogLevel.info, "forja")
            if status is not None and (said := error_answer(status, port)):
                run.emit(*said, "forja")
