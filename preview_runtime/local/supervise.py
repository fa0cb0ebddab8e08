"""One local preview's process: its output into the log, when it answers, and how it ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from preview_runtime.common import exit_meaning, wait_until_answers
from preview_runtime.local.processes import kill_group
from preview_runtime.logs import LogLevel
from preview_runtime.runner import LogSink, PreviewSpec, PreviewState

logger = logging.getLogger(__name__)

TAIL_LINES = 20
HINT_AFTER_S = 60  # nothing answers on $PORT by then: say where the dev server must listen
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


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
    supervisor: asyncio.Task[None] | None = None
    # Where to cache node_modules once the install succeeds; empty when not cached or restored.
    deps_cache: Path | None = None

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
    code = await run.process.wait()
    ready.cancel()
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


async def _read(run: LocalRun, marker: str, on_dev_started: Callable[[LocalRun], None]) -> None:
    assert run.process is not None and run.process.stdout is not None
    stream = run.process.stdout
    while True:
        try:
            raw = await stream.readline()
        except ValueError:  # longer than the reader's limit (asyncio has already dropped it)
            run.emit("(a line longer than 1 MiB was left out)", LogLevel.warning)
            continue
        if not raw:
            return
        text = _ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip("\r\n")
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
        run.emit(text)


async def _until_answering(run: LocalRun) -> None:
    """Running once http://127.0.0.1:port/ answers anything at all."""
    await run.dev_started.wait()
    waited_since = time.monotonic()
    hinted = False

    def still_waiting() -> bool:
        nonlocal hinted
        if not hinted and time.monotonic() - waited_since > HINT_AFTER_S:
            hinted = True
            run.emit(
                f"Nothing answers on port {run.port} yet: the dev server must listen on $PORT ({run.port}).",
                LogLevel.warning,
                "forja",
            )
        return True

    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        await wait_until_answers(client, f"http://127.0.0.1:{run.port}/", interval=0.2, waiting=still_waiting)
    if run.state in (PreviewState.starting, PreviewState.installing):
        run.state = PreviewState.running
        run.emit(f"The dev server answers on port {run.port}.", LogLevel.info, "forja")
